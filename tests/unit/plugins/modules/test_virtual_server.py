# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The virtual_server module: its request building and main() on libvirt's test hypervisor."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import libvirt
import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.server.converger import server_request, server_requests
from ansible_collections.virtualiron.infra.plugins.modules import virtual_server

TEST_URI = 'test:///default'


@pytest.fixture
def run_module(run_main):
    def run(**args):
        args = dict({'uri': TEST_URI}, **args)
        args.setdefault('name', None if 'servers' in args else 'web1')
        if args['name'] is None:
            del args['name']
        return run_main(virtual_server.main, args)
    return run


def test_server_request_sizes_in_bytes(params):
    given = params(name='web1', memory='2GiB', max_memory='8G', vcpus=2)
    request = server_request(given)
    assert (request['memory'], request['max_memory'], request['vcpus']) == (2 * 1024 ** 3, 8 * 1024 ** 3, 2)
    assert given['memory'] == '2GiB'   # the module's parameters are left alone


def test_server_request_defaults(params):
    request = server_request(params(name='web1'))
    assert set(request) == set(virtual_server.SERVER_SPEC)
    assert (request['memory'], request['state'], request['hypervisor'], request['shutdown_timeout'], request['force']) == \
        (None, 'present', 'auto', 120, False)


def test_server_requests_top_level_options_are_defaults_for_entries(params):
    requests = server_requests(params(
        state='running', force=True, memory='1GiB',
        servers=[{'name': 'a'}, {'name': 'b', 'state': 'stopped', 'memory': '2GiB'}]))
    assert [(r['name'], r['state'], r['force'], r['memory']) for r in requests] == [
        ('a', 'running', True, 1024 ** 3), ('b', 'stopped', True, 2 * 1024 ** 3)]
    assert [r['shutdown_timeout'] for r in requests] == [120, 120]


@pytest.mark.parametrize('servers, message', [
    ([{'name': 'a'}, {'name': 'a'}], 'servers lists a more than once'),
    ([{'name': 'a'}, {'state': 'running'}], 'every virtual server needs a name'),
    ([{'name': 'a', 'memory': 'much'}], 'memory: cannot read'),
    ([{'name': 'a', 'shutdown_timeout': -1}], 'shutdown_timeout is a number of seconds, 0 or more, got -1'),
])
def test_server_requests_refuse(params, servers, message):
    with pytest.raises(VirtualIronError, match=message):
        server_requests(params(servers=servers))


@pytest.mark.parametrize('key, value, message', [
    ('memory', '0', 'memory must be greater than zero'),
    ('max_memory', '-2GiB', 'max_memory must be greater than zero'),
    ('memory', '2 gigs', "memory: unknown unit 'gigs'"),
    ('max_memory', 'a lot', 'max_memory: cannot read'),
])
def test_server_request_refuses_bad_sizes(params, key, value, message):
    with pytest.raises(VirtualIronError, match=message):
        server_request(params(name='web1', **{key: value}))


def test_main_creates_a_server(run_module, conn):
    exited = run_module(state='running', vcpus=2, console_password='pw')
    assert not exited.failed
    assert (exited.result['changed'], exited.result['changes']) == (True, ['created', 'started'])
    assert 'diff' not in exited.result
    assert (exited.result['server']['vcpus'], exited.result['server']['console']['password_set']) == (2, True)
    assert conn.lookupByName('web1').isActive()


def test_main_diff_and_check_mode(run_module, conn):
    exited = run_module(state='running', _ansible_check_mode=True, _ansible_diff=True)
    assert (exited.failed, exited.result['changed']) == (False, True)
    assert exited.result['diff'] == {'before': {}, 'after': exited.result['server'],
                                     'before_header': 'web1', 'after_header': 'web1'}
    assert [d.name() for d in conn.listAllDomains()] == ['test']


@pytest.mark.parametrize('args, message', [
    ({'memory': '0'}, 'memory must be greater than zero'),
    ({'hypervisor': 'xen'}, 'hypervisor xen is not available on this host'),
    ({'servers': [{'name': 'a', 'state': 'gone'}]}, 'value of state must be one of: present, running, stopped'),
    ({'servers': [{'name': 'a', 'disks': [{'path': '/x', 'format': 'vmdk'}]}]}, 'value of format must be one of'),
    ({'servers': [{'name': 'a', 'colour': 'red'}]}, 'servers.colour'),
])
def test_main_fails_with_a_message(run_module, conn, args, message):
    exited = run_module(**args)
    assert exited.failed
    assert message in exited.result['msg']
    assert [d.name() for d in conn.listAllDomains()] == ['test']


def test_main_converges_many_servers(run_module, conn):
    exited = run_module(state='running', vcpus=2, servers=[{'name': 'a'}, {'name': 'b', 'vcpus': 3},
                                                           {'name': 'c', 'state': 'present'}])
    assert not exited.failed and exited.result['changed']
    assert [(r['name'], r['changes']) for r in exited.result['results']] == [
        ('a', ['created', 'started']), ('b', ['created', 'started']), ('c', ['created'])]
    assert [(d.name(), d.isActive(), d.vcpus()[0].__len__() if d.isActive() else None)
            for d in sorted(conn.listAllDomains(), key=lambda d: d.name()) if d.name() != 'test'] == [
        ('a', True, 2), ('b', True, 3), ('c', False, None)]
    again = run_module(state='running', vcpus=2, servers=[{'name': 'a'}, {'name': 'b', 'vcpus': 3},
                                                          {'name': 'c', 'state': 'present'}])
    assert not again.result['changed']
    assert 'diff' not in again.result and not any('diff' in r for r in again.result['results'])
    assert sorted(again.result['results'][0]) == ['changed', 'changes', 'name', 'pending_changes', 'reboot_required',
                                                  'server']


def test_main_many_servers_bad_entry_changes_nothing(run_module, conn):
    exited = run_module(state='running', servers=[{'name': 'a'}, {'name': 'b', 'nics': [{'switch': 'default'}] * 9}])
    assert exited.failed
    assert exited.result['msg'] == 'server b: a virtual server has 0 to 8 NICs, got 9'
    assert [d.name() for d in conn.listAllDomains()] == ['test']


def test_main_many_servers_check_mode_and_diff(run_module, conn):
    exited = run_module(state='running', servers=[{'name': 'a'}, {'name': 'b'}],
                        _ansible_check_mode=True, _ansible_diff=True)
    assert exited.result['changed']
    assert [d['after_header'] for d in exited.result['diff']] == ['a', 'b']
    assert [d.name() for d in conn.listAllDomains()] == ['test']


@pytest.fixture
def refuse_start(monkeypatch):
    """Every server start fails with a real libvirt error (the test driver refusing to resume a server that is not
    paused), as QEMU fails to start a server whose disk another one writes."""
    monkeypatch.setattr(libvirt.virDomain, 'create', lambda dom: dom.resume())


def test_main_a_new_server_that_cannot_start_is_removed_again(run_module, conn, refuse_start):
    exited = run_module(state='running')
    assert exited.failed
    assert exited.result['msg'] == \
        "internal error: domain 'web1' not paused; server web1 was new, so its definition was removed again"
    assert [d.name() for d in conn.listAllDomains()] == ['test']


def test_main_many_servers_a_new_one_that_cannot_start_is_removed_again(run_module, conn, monkeypatch):
    start = libvirt.virDomain.create
    monkeypatch.setattr(libvirt.virDomain, 'create', lambda dom: dom.resume() if dom.name() == 'b' else start(dom))
    exited = run_module(state='running', servers=[{'name': 'a'}, {'name': 'b'}])
    assert exited.failed
    assert exited.result['msg'] == \
        "server b: internal error: domain 'b' not paused; server b was new, so its definition was removed again"
    assert [(r['name'], r['changes']) for r in exited.result['results']] == [('a', ['created', 'started'])]
    assert sorted((d.name(), d.isActive()) for d in conn.listAllDomains()) == [('a', True), ('test', True)]


def test_main_many_servers_one_that_existed_is_kept_as_it_was(run_module, conn, refuse_start):
    assert not run_module(name='b', vcpus=2).failed
    definition = conn.lookupByName('b').XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE)
    exited = run_module(state='running', servers=[{'name': 'b'}])
    assert exited.result['msg'] == "server b: internal error: domain 'b' not paused"
    assert conn.lookupByName('b').XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE) == definition


@pytest.mark.parametrize('second, failed', [
    ({'name': 'b'}, False),
    ({'name': 'b', 'state': 'gone'}, True),             # refused by Ansible, before the module runs
    ({'name': 'b', 'memory': 'lots'}, True),             # refused by the module
])
def test_console_passwords_of_entries_are_neither_logged_nor_returned(monkeypatch, capsys, conn, second, failed):
    """Through Ansible's own argument handling, exit_json and fail_json: what the module prints (what -vvv
    shows, invocation included) and the "Invoked with" message it sends to syslog."""
    logged = []
    monkeypatch.setattr(basic.AnsibleModule, 'log', lambda module, msg, log_args=None: logged.append(msg))
    servers = [{'name': 'a', 'console_password': 'entrypw1'}, second]
    with patch_module_args({'uri': TEST_URI, 'servers': servers}), pytest.raises(SystemExit):
        virtual_server.main()
    printed = capsys.readouterr().out
    result = json.loads(printed)
    assert bool(result.get('failed')) == failed
    assert result['invocation']['module_args']['servers'][0]['console_password'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
    assert 'entrypw1' not in printed and not any('entrypw1' in m for m in logged)
    assert logged or 'value of state' in result['msg']   # what is logged once Ansible has checked the options
