# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hypervisors inventory plugin: its decisions, its parallel queries, and whole runs on libvirt's test driver."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import threading

import pytest
from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader

from ansible_collections.virtualiron.infra.plugins.inventory import hypervisors as hv
from ansible_collections.virtualiron.infra.plugins.module_utils.libvirt_connection import VirtualIronError

TEST_URI = 'test:///default'
CLOSED_URI = 'qemu+tcp://127.0.0.1:1/system'


def facts(kind='kvm', vendor='Intel', maintenance=False):
    return {'hypervisor': {'type': kind}, 'cpu': {'vendor': vendor}, 'maintenance': {'maintenance': maintenance},
            'uri': 'reported-by-libvirt', 'memory': {'total_bytes': 1024}}


def record(name='kvm1', uri='qemu+ssh://root@kvm1.example.com/system', error=None, servers=None, **kwargs):
    return {'name': name, 'uri': uri, 'registration': None, 'error': error,
            'facts': None if error else facts(**kwargs), 'servers': servers}


# ---------------------------------------------------------------- pure decisions

@pytest.mark.parametrize('uri, name', [
    ('qemu+ssh://root@kvm1.example.com/system', 'kvm1.example.com'),
    ('qemu+tcp://10.213.0.11/system', '10.213.0.11'),
    ('qemu+tls://[fd00::1]:16514/system', 'fd00::1'),
    ('qemu:///system', 'localhost'),
    ('test:///default', 'localhost'),
])
def test_default_name(uri, name):
    assert hv.default_name(uri) == name


def test_targets_from_uris_and_registrations():
    registrations = [{'name': 'node7', 'uri': 'qemu+tcp://10.0.0.7/system', 'state': 'provisioned'},
                     {'name': 'node8', 'state': 'discovered'},
                     {'name': 'renamed', 'uri': 'qemu+tcp://10.0.0.2/system', 'state': 'provisioned'}]
    chosen, discovered = hv.targets(
        ['qemu+tcp://10.0.0.1/system', {'uri': 'qemu+tcp://10.0.0.2/system', 'name': 'kvm2'}], registrations)
    assert [(t['name'], t['uri'], (t['registration'] or {}).get('name')) for t in chosen] == [
        ('10.0.0.1', 'qemu+tcp://10.0.0.1/system', None),
        ('kvm2', 'qemu+tcp://10.0.0.2/system', 'renamed'),      # the name given in uris wins
        ('node7', 'qemu+tcp://10.0.0.7/system', 'node7')]
    assert discovered == [registrations[1]]


def test_targets_query_a_uri_listed_twice_once():
    chosen, _discovered = hv.targets(['test:///default', 'test:///default'], [])
    assert [t['name'] for t in chosen] == ['localhost']


@pytest.mark.parametrize('uris, registrations, message', [
    (['qemu+tcp://h/system', 'qemu+ssh://h/system'], [], 'more than one hypervisor or registered node is named h'),
    (['qemu+tcp://h/system'], [{'name': 'h', 'state': 'discovered'}], 'named h'),
    ([{'name': 'x'}], [], 'every entry of uris needs a uri'),
])
def test_targets_refuse(uris, registrations, message):
    with pytest.raises(VirtualIronError, match=message):
        hv.targets(uris, registrations)


def test_hypervisor_vars_prefix_every_fact():
    variables = hv.hypervisor_vars(dict(record(), registration={'name': 'kvm1'}))
    assert variables == {
        'virtualiron_uri': 'qemu+ssh://root@kvm1.example.com/system',   # the URI asked for, not libvirt's
        'virtualiron_registration': {'name': 'kvm1'},
        'virtualiron_hypervisor': {'type': 'kvm'}, 'virtualiron_cpu': {'vendor': 'Intel'},
        'virtualiron_maintenance': {'maintenance': False}, 'virtualiron_memory': {'total_bytes': 1024},
        'ansible_host': 'kvm1.example.com'}


def test_hypervisor_vars_of_an_unreachable_local_host():
    assert hv.hypervisor_vars(record(uri='qemu:///system', error='boom')) == {
        'virtualiron_uri': 'qemu:///system', 'virtualiron_error': 'boom'}


@pytest.mark.parametrize('given, groups', [
    (record(), ['hypervisors', 'hypervisor_kvm', 'cpu_intel', 'in_service']),
    (record(kind='xen', vendor='AMD', maintenance=True), ['hypervisors', 'hypervisor_xen', 'cpu_amd', 'maintenance']),
    (record(kind='qemu', vendor=None), ['hypervisors', 'hypervisor_qemu', 'in_service']),
    (record(vendor='Some Vendor.'), ['hypervisors', 'hypervisor_kvm', 'cpu_some_vendor_', 'in_service']),
    (record(error='connection refused'), ['hypervisors', 'unreachable']),
])
def test_hypervisor_groups(given, groups):
    assert hv.hypervisor_groups(given) == groups


def test_server_group_is_a_valid_group_name():
    assert hv.server_group('10.213.0.11') == 'servers_on_10_213_0_11'


def test_server_vars():
    server = {'name': 'web1', 'state': 'running', 'vcpus': 2, 'addresses': ['192.168.1.5', 'fd00::5']}
    assert hv.server_vars(server, 'kvm1', 'qemu:///system') == {
        'virtualiron_host': 'kvm1', 'virtualiron_uri': 'qemu:///system', 'virtualiron_state': 'running',
        'virtualiron_addresses': ['192.168.1.5', 'fd00::5'],
        'virtualiron_server': {'name': 'web1', 'state': 'running', 'vcpus': 2},
        'ansible_host': '192.168.1.5'}
    assert 'ansible_host' not in hv.server_vars(dict(server, addresses=[]), 'kvm1', 'qemu:///system')


def test_place_servers_once_each_where_they_run():
    first = record('kvm1', servers=[{'name': 'a', 'state': 'stopped'}, {'name': 'b', 'state': 'running'}])
    second = record('kvm2', servers=[{'name': 'a', 'state': 'running'}, {'name': 'b', 'state': 'stopped'},
                                     {'name': 'c', 'state': 'stopped'}])
    placed, duplicates = hv.place_servers([first, second, record('kvm3', error='down')])
    assert [(name, r['name']) for name, r, _s in placed] == [('a', 'kvm2'), ('b', 'kvm1'), ('c', 'kvm2')]
    assert duplicates == ['a', 'b']


def test_keep_hypervisor():
    variables = hv.hypervisor_vars(record())
    assert hv.keep_hypervisor(variables, [])
    assert hv.keep_hypervisor(variables, ["virtualiron_cpu.vendor == 'Intel'", 'virtualiron_memory.total_bytes > `1000`'])
    assert not hv.keep_hypervisor(variables, ["virtualiron_cpu.vendor == 'Intel'", "virtualiron_hypervisor.type == 'xen'"])
    with pytest.raises(VirtualIronError, match='invalid query'):
        hv.keep_hypervisor(variables, ['virtualiron_cpu[?'])


def test_lease_addresses_ipv4_first():
    addrs = [{'addr': 'fd00::9', 'type': 1}, {'addr': '10.0.0.9', 'type': 0}]
    interfaces = {'vnet0': {'hwaddr': '52:54:00:00:00:01', 'addrs': addrs},
                  'vnet1': {'hwaddr': '52:54:00:00:00:02', 'addrs': None}}
    assert hv.lease_addresses(interfaces) == ['10.0.0.9', 'fd00::9']
    assert hv.lease_addresses(None) == []


# ---------------------------------------------------------------- querying

def test_query_hypervisor_on_the_test_driver(conn):
    result = hv.query_hypervisor({'name': 'local', 'uri': TEST_URI, 'registration': None}, True)
    assert result['error'] is None
    assert result['facts']['hypervisor']['type'] == 'test'
    assert [s['name'] for s in result['servers']] == [d.name() for d in conn.listAllDomains(0)]
    assert all(isinstance(s['addresses'], list) for s in result['servers'])


def test_query_hypervisor_skips_a_server_that_goes_away_meanwhile(conn, monkeypatch):
    """Another run migrates or removes a server between the listing and its description."""
    import libvirt
    from ansible_collections.virtualiron.infra.plugins.module_utils import virtual_server
    real, gone = virtual_server.describe_server, conn.listAllDomains(0)[0].name()

    def describe(dom):
        if dom.name() == gone:
            error = libvirt.libvirtError('Domain not found')
            error.err = (libvirt.VIR_ERR_NO_DOMAIN, 0, 'Domain not found', 0, '', None, None, 0, 0)
            raise error
        return real(dom)
    monkeypatch.setattr(virtual_server, 'describe_server', describe)
    result = hv.query_hypervisor({'name': 'local', 'uri': TEST_URI, 'registration': None}, True)
    assert result['error'] is None
    assert gone not in [s['name'] for s in result['servers']]


def test_query_hypervisor_that_is_unreachable():
    result = hv.query_hypervisor({'name': 'gone', 'uri': CLOSED_URI, 'registration': None}, True)
    assert result['facts'] is None and result['servers'] is None
    assert 'cannot connect to the hypervisor host at %s' % CLOSED_URI in result['error']


def test_query_hypervisors_asks_all_hosts_at_once(monkeypatch):
    """Each query waits until all 20 are under way: done one after another, the barrier breaks."""
    barrier = threading.Barrier(20, timeout=10)

    def query(target, _with_servers, _connect_timeout):
        barrier.wait()
        return dict(target, error=None)
    monkeypatch.setattr(hv, 'query_hypervisor', query)
    chosen = [{'name': 'h%02d' % i, 'uri': 'test:///h%02d' % i} for i in range(20)]
    assert [r['name'] for r in hv.query_hypervisors(chosen, False, 20)] == [t['name'] for t in chosen]


def test_query_hypervisors_of_nothing():
    assert hv.query_hypervisors([], True, 20) == []


# ---------------------------------------------------------------- the plugin, whole runs

def new_plugin():
    """The plugin as Ansible loads it (with its option definitions)."""
    return inventory_loader.get('virtualiron.infra.hypervisors')


@pytest.fixture
def run(tmp_path):
    """Write a configuration, run the plugin over it, return the inventory (InventoryData)."""
    def parse(config, name='lab.hypervisors.yml', cache=True, plugin=None):
        path = tmp_path / name
        path.write_text(json.dumps(dict({'plugin': 'virtualiron.infra.hypervisors'}, **config)))
        inventory, plugin = InventoryData(), plugin or new_plugin()
        plugin.parse(inventory, DataLoader(), str(path), cache=cache)
        return inventory
    return parse


def _members(inventory, group):
    return sorted(h.name for h in inventory.groups[group].get_hosts())


@pytest.mark.parametrize('name, accepted', [
    ('lab.hypervisors.yml', True), ('hypervisors.yaml', True), ('lab.hypervisors.json', False),
    ('lab.yml', False), ('missing.hypervisors.yml', False)])
def test_verify_file(tmp_path, name, accepted):
    path = tmp_path / name
    if not name.startswith('missing'):
        path.write_text('plugin: virtualiron.infra.hypervisors\n')
    assert new_plugin().verify_file(str(path)) is accepted


def test_plugin_groups_and_variables(run, conn):
    inventory = run({'uris': [{'uri': TEST_URI, 'name': 'testhost'}, CLOSED_URI], 'virtual_servers': True,
                     'compose': {'cpus': 'virtualiron_cpu.count'},
                     'groups': {'many_cpus': 'virtualiron_cpu.count | default(0) > 8'},
                     'keyed_groups': [{'key': 'virtualiron_state', 'prefix': 'state'}]})
    assert _members(inventory, 'hypervisors') == ['127.0.0.1', 'testhost']
    assert _members(inventory, 'hypervisor_test') == ['testhost']
    assert _members(inventory, 'in_service') == ['testhost']
    assert _members(inventory, 'unreachable') == ['127.0.0.1']
    assert _members(inventory, 'many_cpus') == ['testhost']
    servers = sorted(d.name() for d in conn.listAllDomains(0))
    assert _members(inventory, 'servers_on_testhost') == servers
    assert _members(inventory, 'virtual_servers') == servers
    assert _members(inventory, 'state_running') == servers
    host = inventory.get_host('testhost').get_vars()
    assert (host['cpus'], host['virtualiron_uri'], host['virtualiron_hypervisor']['type']) == (16, TEST_URI, 'test')
    gone = inventory.get_host('127.0.0.1').get_vars()
    assert 'Connection refused' in gone['virtualiron_error'] and 'virtualiron_cpu' not in gone
    server = inventory.get_host(servers[0]).get_vars()
    assert (server['virtualiron_host'], server['virtualiron_uri'], server['virtualiron_server']['name']) == \
        ('testhost', TEST_URI, servers[0])


def test_plugin_strict_fails_on_an_unreachable_host(run):
    with pytest.raises(AnsibleParserError, match='cannot query 127.0.0.1 .*Connection refused'):
        run({'uris': [TEST_URI, CLOSED_URI], 'strict': True})


def test_plugin_filters(run, conn):
    inventory = run({'uris': [TEST_URI, CLOSED_URI], 'virtual_servers': True,
                     'filters': ["virtualiron_hypervisor.type == 'kvm'"]})
    assert _members(inventory, 'hypervisors') == ['127.0.0.1']   # unreachable hosts stay visible
    assert 'virtual_servers' not in inventory.groups


def test_plugin_registrations(run, tmp_path):
    directory = tmp_path / 'registrations'
    directory.mkdir()
    (directory / 'node1.json').write_text(json.dumps({'version': 1, 'name': 'node1', 'state': 'provisioned',
                                                      'uri': TEST_URI, 'labels': {'rack': 'r1'}}))
    (directory / 'node2.json').write_text(json.dumps({'version': 1, 'name': 'node2', 'state': 'discovered'}))
    (directory / 'bad.json').write_text('{}')
    inventory = run({'registrations': str(directory), 'keyed_groups': [
        {'key': 'virtualiron_registration.labels.rack | default(omit)', 'prefix': 'rack'}]})
    assert _members(inventory, 'hypervisors') == ['node1']
    assert _members(inventory, 'discovered') == ['node2']
    assert _members(inventory, 'rack_r1') == ['node1']
    assert inventory.get_host('node2').get_vars()['virtualiron_registration']['state'] == 'discovered'
    assert inventory.get_host('node1').get_vars()['virtualiron_cpu']['count'] == 16
    with pytest.raises(AnsibleParserError, match='bad.json: invalid registration'):
        run({'registrations': str(directory), 'strict': True})


def test_plugin_cache(run, monkeypatch, tmp_path):
    calls = []
    real = hv.query_hypervisors

    def counting(*args):
        calls.append(args)
        return real(*args)
    monkeypatch.setattr(hv, 'query_hypervisors', counting)
    config = {'uris': [TEST_URI], 'cache': True, 'cache_plugin': 'ansible.builtin.jsonfile',
              'cache_connection': str(tmp_path / 'cache'), 'cache_timeout': 3600}

    def parse(cache=True):
        plugin = new_plugin()
        inventory = run(config, plugin=plugin, cache=cache)
        plugin.update_cache_if_changed()   # as ansible-inventory does after parsing
        return inventory
    first = parse()
    second = parse()
    assert len(calls) == 1   # the second run read the cache
    assert first.get_host('localhost').get_vars() == second.get_host('localhost').get_vars()
    parse(cache=False)   # --flush-cache or refresh_inventory: ask the hosts again
    assert len(calls) == 2


def test_plugin_reports_bad_configuration(run):
    with pytest.raises(AnsibleParserError, match='every entry of uris needs a uri'):
        run({'uris': [{'name': 'x'}]})
    with pytest.raises(AnsibleParserError, match='filters: invalid query'):
        run({'uris': [TEST_URI], 'filters': ['[?']})
