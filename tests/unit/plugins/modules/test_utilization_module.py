# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The utilization module: main() on libvirt's test hypervisor, recording into a temporary history."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
import sqlite3

import pytest

from ansible_collections.virtualiron.infra.plugins.modules import utilization

TEST_URI = 'test:///default'
UNREACHABLE = 'qemu+tcp://127.0.0.1:1/system'


@pytest.fixture
def history(tmp_path):
    return str(tmp_path / 'capacity' / 'utilization.sqlite')


@pytest.fixture
def run_module(run_main, history):
    return lambda **args: run_main(utilization.main, dict({'interval': 0.1, 'history': history, 'connect_timeout': 5},
                                                          **args))


def rows(path):
    db = sqlite3.connect(path)
    try:
        query = "SELECT host, server, vcpus FROM samples ORDER BY time, host, COALESCE(server, '')"
        return db.execute(query).fetchall()
    finally:
        db.close()


def test_check_mode_samples_and_records_nothing(run_module, history, tmp_path):
    exited = run_module(uri=TEST_URI, name='lab1', _ansible_check_mode=True)
    assert not exited.failed
    assert (exited.result['changed'], exited.result['recorded'], exited.result['errors']) == (True, 0, [])
    sampled = [(s['host'], s['server'], s['vcpus']) for s in exited.result['samples']]
    assert sampled == [('lab1', None, 16), ('lab1', 'test', None)]
    assert list(tmp_path.iterdir()) == []


def test_each_run_records_its_samples(run_module, history):
    for _run in range(2):
        exited = run_module(uri=TEST_URI, name='lab1')
        assert (exited.failed, exited.result['changed'], exited.result['recorded']) == (False, True, 2)
    assert rows(history) == [('lab1', None, 16), ('lab1', 'test', None)] * 2


def test_record_false_only_returns_the_samples(run_module, history, tmp_path):
    exited = run_module(uri=TEST_URI, name='lab1', record=False)
    assert (exited.result['changed'], exited.result['recorded'], len(exited.result['samples'])) == (False, 0, 2)
    assert list(tmp_path.iterdir()) == []


def test_several_hosts_and_one_unreachable(run_module, history):
    hosts = [{'name': 'lab1', 'uri': TEST_URI}, {'name': 'lab9', 'uri': UNREACHABLE}, {'name': 'lab2', 'uri': TEST_URI}]
    exited = run_module(hosts=hosts, uri='qemu:///ignored-with-hosts')
    assert (exited.failed, exited.result['changed'], exited.result['recorded']) == (False, True, 4)
    assert [(e['host'], e['uri']) for e in exited.result['errors']] == [('lab9', UNREACHABLE)]
    assert sorted(rows(history), key=str) == sorted([('lab1', None, 16), ('lab1', 'test', None),
                                                     ('lab2', None, 16), ('lab2', 'test', None)], key=str)


def test_the_default_history_is_in_the_users_home(run_main, monkeypatch, tmp_path):
    monkeypatch.setenv('HOME', str(tmp_path))
    exited = run_main(utilization.main, {'uri': TEST_URI, 'name': 'lab1', 'interval': 0.1})
    assert exited.result['recorded'] == 2
    assert len(rows(str(tmp_path / '.ansible' / 'virtualiron' / 'utilization.sqlite'))) == 2


@pytest.mark.parametrize('retention, seconds', [(None, 7 * 86400), ('10m', 600), ('2h', 7200), (3600, 3600),
                                                ('90', 90)])
def test_retention_in_seconds_or_with_a_unit(run_module, monkeypatch, history, retention, seconds):
    calls = []
    monkeypatch.setattr(utilization, 'sample_and_record',
                        lambda *args: calls.append(args) or {'samples': [], 'errors': [], 'recorded': 0})
    args = {} if retention is None else {'retention': retention}
    exited = run_module(uri=TEST_URI, name='lab1', **args)
    assert not exited.failed and exited.result['changed'] is False
    assert calls == [([{'name': 'lab1', 'uri': TEST_URI}], 0.1, history, seconds, 5)]


@pytest.mark.parametrize('args, message', [
    ({'uri': TEST_URI, 'name': 'lab1', 'interval': 0}, 'interval must be more than 0 seconds'),
    ({'uri': TEST_URI, 'name': 'lab1', 'interval': -2}, 'interval must be more than 0 seconds'),
    ({'uri': TEST_URI, 'name': 'lab1', 'retention': 'a week'}, 'retention: cannot read'),
    ({'uri': TEST_URI, 'name': 'lab1', 'retention': '0d'}, 'retention must be longer than zero'),
    ({'uri': TEST_URI}, 'one of the following is required: name, hosts'),
    ({'name': 'lab1', 'hosts': [{'name': 'lab2', 'uri': TEST_URI}]}, 'mutually exclusive: name\\|hosts'),
    ({'hosts': [{'name': 'lab1'}]}, 'missing required arguments: uri'),
    ({'hosts': [{'name': 'a', 'uri': TEST_URI}, {'name': 'a', 'uri': TEST_URI}]}, 'a is given more than once'),
    ({'uri': UNREACHABLE, 'name': 'lab9'}, 'no host could be sampled: lab9 \\(qemu\\+tcp://127.0.0.1:1/system\\)'),
])
def test_bad_input_fails_with_a_message_and_records_nothing(run_module, tmp_path, args, message):
    exited = run_module(**args)
    assert exited.failed
    assert re.search(message, exited.result['msg'])
    assert list(tmp_path.iterdir()) == []
