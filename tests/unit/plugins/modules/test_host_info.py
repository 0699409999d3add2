# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host_info module: main() on libvirt's test hypervisor."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.host import facts as host_facts
from ansible_collections.virtualiron.infra.plugins.modules import host_info

TEST_URI = 'test:///default'


@pytest.fixture
def run_module(run_main):
    return lambda **args: run_main(host_info.main, dict({'uri': TEST_URI}, **args))


def test_main_returns_the_host(run_module, conn):
    exited = run_module(_ansible_check_mode=True)
    assert not exited.failed and exited.result['changed'] is False
    host = exited.result['host']
    assert (host['hypervisor']['type'], host['cpu']['count']) == ('test', 16)
    assert host['load']['servers_defined'] == len(conn.listAllDomains(0))
    assert 'query_result' not in exited.result


@pytest.mark.parametrize('args, load', [({}, {}), ({'cpu_sample': 0.5}, {'cpu_percent': 'sampled over 0.5 s'})])
def test_main_samples_cpu_only_when_asked(run_module, monkeypatch, args, load):
    monkeypatch.setattr(host_facts, '_cpu_percent', lambda conn, seconds: 'sampled over %s s' % seconds)
    host = run_module(**args).result['host']
    assert dict((k, v) for k, v in host['load'].items() if k == 'cpu_percent') == load


def test_main_query(run_module):
    exited = run_module(query='host.numa[].id')
    assert exited.result['query_result'] == [0, 1]


@pytest.mark.parametrize('args, message', [
    ({'query': 'host.numa[?'}, 'invalid query'),
    ({'cpu_sample': -1}, 'cpu_sample must be 0 or more seconds'),
    ({'uri': 'qemu+tcp://127.0.0.1:1/system'}, 'cannot connect to the hypervisor host at qemu\\+tcp://127.0.0.1:1/system'),
])
def test_main_fails_with_a_message(run_module, args, message):
    exited = run_module(**args)
    assert exited.failed
    assert re.search(message, exited.result['msg'])
