# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""LiveRecovery's decisions: which servers of a failed host restart where, in which order, and which are reported."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.recovery.decisions import belongs_to, plan_recovery

GiB = 1024 ** 3
FAILED = {'name': 'lab3', 'uri': 'qemu+tcp://10.213.0.13/system', 'fenced': True, 'why': None}


def record(name, priority=0, protected=True, memory=1, vcpus=1, host='lab3', running=True):
    return {'uuid': 'u-' + name, 'name': name, 'memory': memory * GiB, 'vcpus': vcpus, 'running': running,
            'host': {'name': host, 'uri': 'qemu+tcp://x/%s' % host},
            'recovery': {'protected': protected, 'priority': priority, 'store': 'shared'}}


def host(name, memory=8, cpus=2, used=0, vcpus_used=0, unavailable=None):
    return {'name': name, 'memory': memory * GiB, 'cpus': cpus, 'memory_used': used * GiB,
            'vcpus_used': vcpus_used, 'unavailable': unavailable}


def plan(records, hosts, running=None, failed=None):
    return plan_recovery(failed or [FAILED], dict((r['uuid'], r) for r in records), hosts, running or {})


def names(entries, *keys):
    return [tuple(e[k] for k in keys) if len(keys) > 1 else e[keys[0]] for e in entries]


def test_restarts_by_priority_highest_first():
    result = plan([record('low', 1), record('high', 9), record('mid', 5)], [host('lab1'), host('lab2')])
    assert names(result['restart'], 'server', 'priority') == [('high', 9), ('mid', 5), ('low', 1)]
    assert all(e['from'] == 'lab3' for e in result['restart'])


def test_higher_priority_gets_the_room():
    # Room for 3 GiB on lab1 only: the priority-9 server of 2 GiB goes first even though the 3 GiB one is larger.
    result = plan([record('big', 1, memory=3), record('vip', 9, memory=2)], [host('lab1', memory=3)])
    assert names(result['restart'], 'server', 'to') == [('vip', 'lab1')]
    assert names(result['unplaced'], 'server') == ['big']
    assert 'lab1 lacks memory' in result['unplaced'][0]['reason']


def test_maintenance_host_takes_nothing():
    result = plan([record('a')], [host('lab1', unavailable='is in maintenance'), host('lab2')])
    assert names(result['restart'], 'server', 'to') == [('a', 'lab2')]


def test_nowhere_to_go_is_reported_not_dropped():
    result = plan([record('a'), record('b')], [host('lab1', unavailable='is in maintenance')])
    assert result['restart'] == []
    assert names(result['unplaced'], 'server') == ['a', 'b']
    assert 'lab1 is in maintenance' in result['unplaced'][0]['reason']


def test_unprotected_reported():
    result = plan([record('a', protected=False), record('b')], [host('lab1')])
    assert names(result['unprotected'], 'server') == ['a']
    assert names(result['restart'], 'server') == ['b']


def test_never_twice_when_it_already_runs():
    result = plan([record('a'), record('b')], [host('lab1')], running={'u-a': 'lab1'})
    assert names(result['skipped'], 'server', 'reason') == [('a', 'already runs on lab1')]
    assert names(result['restart'], 'server') == ['b']


def test_stopped_servers_stay_stopped():
    result = plan([record('a', running=False), record('b')], [host('lab1')])
    assert names(result['skipped'], 'server', 'reason') == [('a', 'it was stopped when its definition was last saved')]
    assert names(result['restart'], 'server') == ['b']


def test_not_fenced_restarts_nothing():
    failed = [dict(FAILED, fenced=False, why='BMC unreachable')]
    result = plan([record('a'), record('b', protected=False)], [host('lab1')], failed=failed)
    assert result['restart'] == []
    assert names(result['skipped'], 'server') == ['a']
    assert 'not fenced (BMC unreachable)' in result['skipped'][0]['reason']
    assert names(result['unprotected'], 'server') == ['b']


def test_only_the_failed_hosts_servers():
    result = plan([record('a'), record('other', host='lab1')], [host('lab1'), host('lab2')])
    assert names(result['restart'], 'server') == ['a']


def test_spreads_over_hosts_by_load():
    result = plan([record('a', memory=2), record('b', memory=2)], [host('lab1'), host('lab2')])
    assert sorted(e['to'] for e in result['restart']) == ['lab1', 'lab2']


@pytest.mark.parametrize('where, expected', [
    ({'uri': 'qemu+tcp://10.213.0.13/system', 'name': 'other'}, True),
    ({'uri': 'qemu:///system', 'name': 'lab3'}, True),
    ({'uri': 'qemu:///system', 'name': 'lab1'}, False),
    ({}, False),
])
def test_belongs_to(where, expected):
    assert belongs_to({'host': where}, FAILED) is expected
