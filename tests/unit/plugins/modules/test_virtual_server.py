# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The virtual_server module: its request building and main() on libvirt's test hypervisor."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.virtualiron.infra.plugins.module_utils.libvirt_connection import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.modules import virtual_server

TEST_URI = 'test:///default'


class Exited(Exception):
    """exit_json or fail_json was called; args holds its keyword arguments."""

    def __init__(self, failed, **result):
        super(Exited, self).__init__(result)
        self.failed, self.result = failed, result


@pytest.fixture
def run_module(monkeypatch):
    def exit_json(_module, **result):
        raise Exited(False, **result)

    def fail_json(_module, **result):
        raise Exited(True, **result)

    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)

    def run(**args):
        with patch_module_args(dict({'name': 'web1', 'uri': TEST_URI}, **args)), pytest.raises(Exited) as exited:
            virtual_server.main()
        return exited.value
    return run


def test_server_request_sizes_in_bytes(params):
    given = params(name='web1', memory='2GiB', max_memory='8G', vcpus=2)
    request = virtual_server.server_request(given)
    assert (request['memory'], request['max_memory']) == (2 * 1024 ** 3, 8 * 1024 ** 3)
    assert dict(request, memory=given['memory'], max_memory=given['max_memory']) == given
    assert given['memory'] == '2GiB'   # the module's parameters are left alone


def test_server_request_without_sizes(params):
    given = params(name='web1')
    assert virtual_server.server_request(given) == given
    assert (given['memory'], given['state'], given['hypervisor'], given['shutdown_timeout'], given['force']) == \
        (None, 'present', 'auto', 120, False)


@pytest.mark.parametrize('key, value, message', [
    ('memory', '0', 'memory must be greater than zero'),
    ('max_memory', '-2GiB', 'max_memory must be greater than zero'),
    ('memory', '2 gigs', "memory: unknown unit 'gigs'"),
    ('max_memory', 'a lot', 'max_memory: cannot read'),
])
def test_server_request_refuses_bad_sizes(params, key, value, message):
    with pytest.raises(VirtualIronError, match=message):
        virtual_server.server_request(params(name='web1', **{key: value}))


def test_console_password_is_not_logged():
    assert virtual_server.ARGUMENT_SPEC['console_password']['no_log'] is True


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
    assert exited.result['diff'] == {'before': {}, 'after': exited.result['server']}
    assert [d.name() for d in conn.listAllDomains()] == ['test']


@pytest.mark.parametrize('args, message', [
    ({'memory': '0'}, 'memory must be greater than zero'),
    ({'hypervisor': 'xen'}, 'hypervisor xen is not available on this host'),
])
def test_main_fails_with_a_message(run_module, conn, args, message):
    exited = run_module(**args)
    assert exited.failed
    assert message in exited.result['msg']
    assert [d.name() for d in conn.listAllDomains()] == ['test']
