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
from ansible.template import Templar

try:
    from ansible.template import trust_as_template
except ImportError:  # before ansible-core 2.19 every string is a template unless marked unsafe
    def trust_as_template(template):
        return template

from ansible_collections.virtualiron.infra.plugins.inventory import hypervisors as hv
from ansible_collections.virtualiron.infra.plugins.module_utils.common import connection
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError

TEST_URI = 'test:///default'
CLOSED_URI = 'qemu+tcp://127.0.0.1:1/system'
DOMAIN = "<domain type='test'><name>%s</name><description>%s</description><memory unit='MiB'>16</memory>" \
         "<os><type>hvm</type></os></domain>"


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
    registrations = [{'name': 'node7', 'uri': 'qemu+ssh://10.0.0.7/system', 'state': 'provisioned'},
                     {'name': 'node8', 'state': 'discovered'},
                     {'name': 'renamed', 'uri': 'qemu+ssh://10.0.0.2/system', 'state': 'provisioned'},
                     {'name': 'other', 'uri': 'qemu+ssh://10.0.0.1/system', 'state': 'provisioned'}]
    chosen, discovered, refused = hv.targets(
        ['qemu+ssh://10.0.0.1/system', {'uri': 'qemu+ssh://10.0.0.2/system', 'name': 'kvm2'}], registrations)
    assert [(t['name'], t['uri'], (t['registration'] or {}).get('name')) for t in chosen] == [
        ('10.0.0.1', 'qemu+ssh://10.0.0.1/system', 'other'),    # a registration never renames an entry of uris
        ('kvm2', 'qemu+ssh://10.0.0.2/system', 'renamed'),
        ('node7', 'qemu+ssh://10.0.0.7/system', 'node7')]
    assert discovered == [registrations[1]]
    assert refused == {}


def test_targets_query_a_uri_listed_twice_once():
    chosen, _discovered, _refused = hv.targets(['test:///default', 'test:///default'], [])
    assert [t['name'] for t in chosen] == ['localhost']


@pytest.mark.parametrize('uris, registrations, message', [
    (['qemu+tcp://h/system', 'qemu+ssh://h/system'], [], 'more than one entry of uris is named h'),
    ([{'name': 'x'}], [], 'every entry of uris needs a uri'),
])
def test_targets_refuse(uris, registrations, message):
    with pytest.raises(VirtualIronError, match=message):
        hv.targets(uris, registrations)


def _node(name, uri=None):
    return dict({'version': 1, 'name': name, 'state': 'provisioned' if uri else 'discovered'}, **({'uri': uri} if uri else {}))


# A registration is data from outside: it never takes a name that is taken, nor another's URI; it is
# refused (the plugin skips it with a warning, or fails with strict), and the others are kept.
@pytest.mark.parametrize('registrations, refused, kept', [
    ([_node('kvm1')], {'kvm1.json': 'kvm1 is the name of a hypervisor'}, []),
    ([_node('h', 'qemu+ssh://10.0.0.9/system')], {'h.json': 'h is the name of a hypervisor'}, []),  # h: the URI's
    ([_node('localhost', 'qemu+ssh://10.0.0.9/system')],
     {'localhost.json': 'localhost is a name of the controller (localhost)'}, []),
    ([_node('127.0.0.1')], {'127.0.0.1.json': '127.0.0.1 is a name of the controller (localhost)'}, []),
    ([_node('n1'), _node('n1', 'qemu+ssh://10.0.0.9/system')],
     {'n1.json': 'n1 is the name of another registered node'}, ['n1']),
    ([_node('n1', 'qemu+ssh://10.0.0.9/system'), _node('n2', 'qemu+ssh://10.0.0.9/system')],
     {'n2.json': 'node n1 is registered with the same uri'}, ['n1']),
])
def test_targets_refuse_registrations(registrations, refused, kept):
    uris = [{'uri': 'qemu+ssh://root@kvm1.example.com/system', 'name': 'kvm1'}, 'qemu+ssh://h/system']
    chosen, discovered, got = hv.targets(uris, registrations)
    assert got == refused
    assert [t['name'] for t in chosen] + [r['name'] for r in discovered] == ['kvm1', 'h'] + kept
    assert chosen[0]['uri'] == 'qemu+ssh://root@kvm1.example.com/system' and chosen[0]['registration'] is None


@pytest.mark.parametrize('uri, transports, refused', [
    ('qemu+tcp://10.0.0.9/system', hv.AUTHENTICATED_TRANSPORTS, 'uses the transport tcp, which does not authenticate'),
    ('qemu+tcp://10.0.0.9/system', ['ssh', 'tcp'], None),   # the operator allows it (a closed lab network)
    ('qemu://10.0.0.9/system', hv.AUTHENTICATED_TRANSPORTS, None),   # no transport: TLS
    ('qemu+tls://10.0.0.9/system', ['ssh'], 'uses the transport tls'),
    ('qemu+libssh2://10.0.0.9/system', hv.AUTHENTICATED_TRANSPORTS, None),
])
def test_targets_take_registrations_over_the_transports_allowed(uri, transports, refused):
    chosen, _discovered, got = hv.targets([], [_node('n1', uri)], transports)
    if refused:
        assert list(got) == ['n1.json'] and refused in got['n1.json'] and chosen == []
    else:
        assert got == {} and [t['uri'] for t in chosen] == [uri]


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


SERVER = {'name': 'web1', 'uuid': 'c7a5fdbd-cdaf-9455-926a-d65c16db1809', 'state': 'running', 'autostart': True,
          'reboot_required': False, 'vcpus': 2, 'max_vcpus': 4, 'memory': '1GiB', 'max_memory': '2GiB',
          'hypervisor': 'kvm', 'arch': 'x86_64', 'machine': 'pc-q35-7.2', 'description': 'web front',
          'tags': {'role': 'web'}, 'boot': ['disk'], 'disks': [{'path': '/srv/web1.vhd', 'format': 'vhd'}],
          'nics': [{'switch': 'lan', 'mac': '52:54:00:12:34:56'}],
          'console': {'type': 'vnc', 'listen': '127.0.0.1', 'port': 5900, 'password_set': True},
          'addresses': ['192.168.1.5', 'fd00::5']}


def test_server_vars_in_full():
    assert hv.server_vars(SERVER, 'kvm1', 'qemu:///system', 'full') == {
        'virtualiron_host': 'kvm1', 'virtualiron_uri': 'qemu:///system', 'virtualiron_state': 'running',
        'virtualiron_addresses': ['192.168.1.5', 'fd00::5'],
        'virtualiron_server': dict((k, v) for k, v in SERVER.items() if k != 'addresses'),
        'ansible_host': '192.168.1.5'}
    assert 'ansible_host' not in hv.server_vars(dict(SERVER, addresses=[]), 'kvm1', 'qemu:///system', 'full')


def test_server_vars_in_summary():
    variables = hv.server_vars(SERVER, 'kvm1', 'qemu:///system', 'summary')
    assert variables['virtualiron_server'] == {
        'name': 'web1', 'uuid': 'c7a5fdbd-cdaf-9455-926a-d65c16db1809', 'state': 'running', 'autostart': True,
        'reboot_required': False, 'vcpus': 2, 'memory': '1GiB', 'hypervisor': 'kvm', 'description': 'web front',
        'tags': {'role': 'web'}}
    assert variables['ansible_host'] == '192.168.1.5'
    assert variables['virtualiron_addresses'] == ['192.168.1.5', 'fd00::5']
    # a server described with an error (its definition unreadable) keeps what it has
    broken = {'name': 'odd', 'uuid': 'u', 'state': 'stopped', 'autostart': False, 'reboot_required': False,
              'error': 'bad XML'}
    assert hv.server_vars(broken, 'kvm1', 'qemu:///system', 'summary')['virtualiron_server'] == dict(
        (k, v) for k, v in broken.items() if k != 'error')


def test_place_servers_once_each_where_they_run():
    first = record('kvm1', servers=[{'name': 'a', 'state': 'stopped'}, {'name': 'b', 'state': 'running'}])
    second = record('kvm2', servers=[{'name': 'a', 'state': 'running'}, {'name': 'b', 'state': 'stopped'},
                                     {'name': 'c', 'state': 'stopped'}])
    placed, warnings = hv.place_servers([first, second, record('kvm3', error='down')], {})
    assert [(name, r['name']) for name, r, _s in placed] == [('a', 'kvm2'), ('b', 'kvm1'), ('c', 'kvm2')]
    assert warnings == ['virtual server %s is defined on more than one hypervisor; it is listed where it runs '
                        '(or on the first one)' % name for name in ('a', 'b')]


# A guest names itself: it never becomes (or merges into) another host, and its name must be a host name.
@pytest.mark.parametrize('name, why', [
    ('kvm1', 'virtual server kvm1 has the name of a hypervisor'),
    ('node9', 'virtual server node9 has the name of a registered node'),
    ('localhost', 'virtual server localhost has a name of the controller (localhost)'),
    ('::1', "invalid virtual server name '::1'"),
    ("{{ lookup('pipe', 'id') }}", 'invalid virtual server name "{{ lookup'),
    ('web1:22', "invalid virtual server name 'web1:22'"),
    ('web[1:3]', 'invalid virtual server name'),
    ('all,!kvm1', 'invalid virtual server name'),
    ('', "invalid virtual server name ''"),
    ('../x', 'invalid virtual server name'),
])
def test_place_servers_leaves_out_a_server_that_cannot_be_a_host(name, why):
    records = [record('kvm1', servers=[{'name': name, 'state': 'running'}, {'name': 'web1', 'state': 'running'}]),
               record('kvm2', error='down')]
    placed, warnings = hv.place_servers(records, hv.host_names(records, [{'name': 'node9'}]))
    assert [n for n, _r, _s in placed] == ['web1']
    assert len(warnings) == 1 and warnings[0].startswith('a virtual server on kvm1 is not listed: ' + why)


def test_keep_hypervisor():
    variables = hv.hypervisor_vars(record())
    assert hv.keep_hypervisor(variables, [])
    assert hv.keep_hypervisor(variables, ["virtualiron_cpu.vendor == 'Intel'", 'virtualiron_memory.total_bytes > `1000`'])
    assert not hv.keep_hypervisor(variables, ["virtualiron_cpu.vendor == 'Intel'", "virtualiron_hypervisor.type == 'xen'"])
    with pytest.raises(VirtualIronError, match='invalid query'):
        hv.keep_hypervisor(variables, ['virtualiron_cpu[?'])


def test_lease_addresses_ipv4_first():
    addrs = [{'addr': 'fd00::9', 'type': 1}, {'addr': '10.0.0.9', 'type': 0}, {'addr': '10.0.0.9 -oProxyCommand=x'},
             {'addr': 'kvm1'}, {'addr': '224.0.0.1'}, {'addr': '0.0.0.0'}, {'addr': 'fe80::1%vnet0'}, {'addr': None}]
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
    from ansible_collections.virtualiron.infra.plugins.module_utils.server import describe as virtual_server
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


def test_servers_take_state_and_flags_from_the_bulk_calls(conn):
    """What three bulk calls per host report is what asking each server would: state, running, autostart."""
    conn.defineXML(DOMAIN % ('idle', '')).setAutostart(1)
    paused = conn.defineXML(DOMAIN % ('paused', ''))
    paused.create()
    paused.suspend()
    servers = dict((s['name'], s) for s in hv._servers(conn))  # pylint: disable=protected-access
    assert dict((n, (s['state'], s['autostart'])) for n, s in servers.items()) == {
        'test': ('running', False), 'idle': ('stopped', True), 'paused': ('suspended', False)}
    from ansible_collections.virtualiron.infra.plugins.module_utils.server.describe import describe_server
    for dom in conn.listAllDomains(0):
        assert dict(describe_server(dom), addresses=servers[dom.name()]['addresses']) == servers[dom.name()]


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
    # before ansible-core 2.19, compose gives text
    assert (int(host['cpus']), host['virtualiron_uri'], host['virtualiron_hypervisor']['type']) == (16, TEST_URI, 'test')
    gone = inventory.get_host('127.0.0.1').get_vars()
    assert 'Connection refused' in gone['virtualiron_error'] and 'virtualiron_cpu' not in gone
    server = inventory.get_host(servers[0]).get_vars()
    assert (server['virtualiron_host'], server['virtualiron_uri'], server['virtualiron_server']['name']) == \
        ('testhost', TEST_URI, servers[0])


@pytest.mark.parametrize('detail, keys', [
    ({}, sorted(hv.SERVER_SUMMARY)),
    ({'server_variables': 'full'}, sorted(hv.SERVER_SUMMARY + (
        'arch', 'boot', 'capacity_policy', 'console', 'disks', 'machine', 'max_memory', 'max_vcpus', 'nics', 'recovery'))),
])
def test_plugin_server_variables(run, conn, detail, keys):
    inventory = run(dict({'uris': [{'uri': TEST_URI, 'name': 'testhost'}], 'virtual_servers': True}, **detail))
    name = conn.listAllDomains(0)[0].name()
    assert sorted(inventory.get_host(name).get_vars()['virtualiron_server']) == keys


def test_plugin_strict_fails_on_an_unreachable_host(run):
    with pytest.raises(AnsibleParserError, match='cannot query 127.0.0.1 .*Connection refused'):
        run({'uris': [TEST_URI, CLOSED_URI], 'strict': True})


def test_plugin_filters(run, conn):
    inventory = run({'uris': [TEST_URI, CLOSED_URI], 'virtual_servers': True,
                     'filters': ["virtualiron_hypervisor.type == 'kvm'"]})
    assert _members(inventory, 'hypervisors') == ['127.0.0.1']   # unreachable hosts stay visible
    assert 'virtual_servers' not in inventory.groups


def test_plugin_registrations(run, tmp_path, monkeypatch):
    real_open, node_uri = connection.open_connection, 'qemu+ssh://10.0.0.1/system'   # the test driver plays the node
    monkeypatch.setattr(connection, 'open_connection',
                        lambda uri, timeout: real_open(TEST_URI if uri == node_uri else uri, timeout))
    directory = tmp_path / 'registrations'
    directory.mkdir()
    (directory / 'node1.json').write_text(json.dumps({'version': 1, 'name': 'node1', 'state': 'provisioned',
                                                      'uri': node_uri, 'labels': {'rack': 'r1'}}))
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


@pytest.fixture
def warnings(monkeypatch):
    """The warnings the plugin gives."""
    seen = []
    monkeypatch.setattr(new_plugin().display, 'warning', lambda message, *args, **kwargs: seen.append(message))
    return seen


def _registrations(tmp_path, **files):
    directory = tmp_path / 'registrations'
    directory.mkdir(parents=True)
    for name, document in files.items():
        (directory / (name + '.json')).write_text(json.dumps(document))
    return str(directory)


def test_plugin_never_runs_a_program_a_registration_names(run, tmp_path, warnings):
    """Issue 10, case 1: the URI of a registration ran a program on the controller."""
    marker = tmp_path / 'ran'
    program = tmp_path / 'program.sh'
    program.write_text('#!/bin/sh\ntouch %s\n' % marker)
    program.chmod(0o755)
    directory = _registrations(tmp_path, **{
        'ext': _node('ext', 'qemu+ext:///system?command=%s' % program),
        'ssh': _node('ssh', 'qemu+ssh://127.0.0.1/system?command=%s&no_verify=1' % program),
        'good': _node('good')})
    inventory = run({'registrations': directory})
    assert not marker.exists()
    assert sorted(inventory.hosts) == ['good']
    assert [w.split(': registration.uri')[0] for w in warnings] == [
        'skipped registration %s/%s.json: invalid registration' % (directory, name) for name in ('ext', 'ssh')]
    assert 'parameter command=%s is not accepted from data' % program in warnings[1]


def test_plugin_skips_a_registration_whose_name_is_taken(run, tmp_path, warnings):
    """Issue 10, case 9: two files with one node name (or a hypervisor's, or localhost's) failed the inventory."""
    directory = _registrations(tmp_path, node1=_node('node1'), copy=_node('node1'), testhost=_node('testhost'),
                               localhost=_node('localhost', 'qemu+ssh://127.0.0.1:1/system'))
    config = {'uris': [{'uri': TEST_URI, 'name': 'testhost'}], 'registrations': directory}
    inventory = run(config)
    assert (_members(inventory, 'hypervisors'), _members(inventory, 'discovered')) == (['testhost'], ['node1'])
    assert 'virtualiron_registration' not in inventory.get_host('testhost').get_vars()
    assert warnings == ['skipped registration %s' % w for w in (
        '%s/copy.json: it registers node node1, which belongs in node1.json' % directory,
        '%s/localhost.json: localhost is a name of the controller (localhost)' % directory,
        '%s/testhost.json: testhost is the name of a hypervisor' % directory)]
    with pytest.raises(AnsibleParserError, match='copy.json: it registers node node1'):
        run(dict(config, strict=True))
    with pytest.raises(AnsibleParserError, match='localhost.json: localhost is a name of the controller'):
        run(dict(config, strict=True, registrations=_registrations(tmp_path / 'x', localhost=_node('localhost'))))


def test_plugin_never_merges_a_guest_into_another_host(run, conn, tmp_path, monkeypatch, warnings):
    """Issue 10, case 3: a guest named like its hypervisor took over its entry (ansible_host above all)."""
    for name in ('testhost', 'node1', 'localhost', 'web:22'):
        conn.defineXML(DOMAIN % (name, ''))
    monkeypatch.setattr(hv, '_addresses', lambda dom: ['192.0.2.66'])
    inventory = run({'uris': [{'uri': TEST_URI, 'name': 'testhost'}], 'virtual_servers': True,
                     'registrations': _registrations(tmp_path, node1=_node('node1'))})
    assert sorted(inventory.hosts) == ['node1', 'test', 'testhost']
    assert _members(inventory, 'virtual_servers') == ['test']
    for name in ('testhost', 'node1'):
        assert not {'ansible_host', 'virtualiron_server', 'virtualiron_host'} & set(inventory.get_host(name).get_vars())
    assert inventory.get_host('test').get_vars()['ansible_host'] == '192.0.2.66'
    assert sorted(warnings) == ['a virtual server on testhost is not listed: %s' % w for w in (
        "invalid virtual server name 'web:22': use 1 to 64 letters, digits, \".\", \"_\", \"+\" or \"-\", starting "
        'with a letter or digit, without "/" or ".."',
        'virtual server localhost has a name of the controller (localhost)',
        'virtual server node1 has the name of a registered node',
        'virtual server testhost has the name of a hypervisor')]


def _template_every_variable(inventory):
    """What a play does with host variables: template them ({{ name }}, hostvars[host].name)."""
    for host in inventory.hosts.values():
        variables = host.get_vars()
        templar = Templar(loader=DataLoader(), variables=variables)
        for name in variables:
            templar.template(trust_as_template('{{ %s }}' % name))


def test_plugin_never_runs_a_template_from_outside(run, conn, tmp_path, monkeypatch):
    """Issue 10, case 2: values from registrations and libvirt were templated on ansible-core before 2.19."""
    marker = tmp_path / 'ran'
    run_program = "{{ lookup('pipe', 'touch %s') }}" % marker
    answer = '{{ 6 * 7 }}'
    conn.defineXML(DOMAIN % ('guest', run_program))
    real_facts = hv.host_facts
    monkeypatch.setattr(hv, 'host_facts', lambda c: dict(real_facts(c), hostname=run_program))
    node = dict(_node('node1'), labels={'rack': answer, 'owner': run_program},
                hardware={'system': {'product': run_program}})
    inventory = run({'uris': [{'uri': TEST_URI, 'name': 'testhost'}], 'virtual_servers': True,
                     'registrations': _registrations(tmp_path, node1=node),
                     'compose': {'described': 'virtualiron_server.description', 'named': 'virtualiron_hostname',
                                 'rack': 'virtualiron_registration.labels.rack'},
                     'keyed_groups': [{'key': 'virtualiron_registration.labels.rack | default(omit)', 'prefix': 'rack'}],
                     'groups': {'answered': "virtualiron_registration.labels.rack | default('') == '42'"}})
    _template_every_variable(inventory)
    assert not marker.exists()
    guest, node1 = inventory.get_host('guest').get_vars(), inventory.get_host('node1').get_vars()
    assert (guest['described'], guest['virtualiron_server']['description']) == (run_program, run_program)
    assert inventory.get_host('testhost').get_vars()['named'] == run_program
    assert (node1['rack'], node1['virtualiron_registration']['hardware']['system']['product']) == (answer, run_program)
    assert 'rack_42' not in inventory.groups and 'answered' not in inventory.groups


def test_plugin_never_runs_a_template_in_its_own_file(run):
    """The file is trusted as the operator's, yet its values become host variables, which plays template."""
    uri = CLOSED_URI + '{{ 6 * 7 }}'
    variables = run({'uris': [{'uri': uri, 'name': 'odd'}]}).get_host('odd').get_vars()
    templar = Templar(loader=DataLoader(), variables=variables)
    assert templar.template(trust_as_template('{{ virtualiron_uri }}')) == uri


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
