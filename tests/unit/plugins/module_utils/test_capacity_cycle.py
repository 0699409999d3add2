# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.capacity import cycle
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.events import append_events, read_events
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.history import open_history
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError

GiB = 1024 ** 3
NOW = 1800000000.0
INTERVAL = 10.0


def server(name, host, tags=None, policy=None):
    return {'name': name, 'host': host, 'state': 'running', 'vcpus': 1, 'memory': GiB, 'tags': tags or {},
            'capacity_policy': policy or {}, 'live_migratable': True, 'why_not_live': ''}


def host(name):
    return {'name': name, 'cpus': 2, 'memory': 16 * GiB, 'memory_used': 0, 'vcpus_used': 0, 'unavailable': None}


def params(tmp_path, **overrides):
    values = {'hosts': [{'name': 'kvm1', 'uri': 'test:///kvm1'}, {'name': 'kvm2', 'uri': 'test:///kvm2'}],
              'history': str(tmp_path / 'history.sqlite'), 'events': str(tmp_path / 'events.jsonl'),
              'interval': INTERVAL, 'tag_policies': {}, 'group_policies': {}, 'groups': {}, 'host_policies': {},
              'margin': 10.0, 'improvement': 10.0, 'cooldown_minutes': 30.0, 'consolidate': False,
              'maintenance_emptied': False, 'memory_overcommit': 1.0, 'vcpu_overcommit': 4.0, 'concurrency': 1,
              'connect_timeout': 5, 'storage': 'shared'}
    values.update(overrides)
    return values


def test_with_policies_most_specific_first(tmp_path):
    servers = [server('web1', 'kvm1', tags={'role': 'web'}, policy={'less': False}), server('db1', 'kvm2')]
    given = params(tmp_path, tag_policies={'role=web': {'more': {'threshold': 80}}},
                   group_policies={'databases': {'more': {'threshold': 70, 'minutes': 5}}},
                   groups={'databases': ['db1']}, host_policies={'kvm1': {'more': {'threshold': 60}}})
    web1, db1 = cycle.with_policies(servers, given)
    assert (web1['policy']['more']['threshold'], web1['policy']['less']) == (80.0, False)
    assert web1['policy']['from'] == {'more': 'tag role=web', 'less': 'server web1'}
    assert (db1['policy']['more']['threshold'], db1['policy']['more']['minutes']) == (70.0, 5.0)
    assert db1['policy']['from'] == {'more': 'group databases', 'less': 'default'}


def test_last_moves_from_the_event_log(tmp_path):
    log = str(tmp_path / 'events.jsonl')
    append_events(log, [
        {'time': NOW - 600, 'kind': cycle.MOVE_EVENT, 'server': 'web1', 'figures': {'failed': False}},
        {'time': NOW - 60, 'kind': cycle.MOVE_EVENT, 'server': 'web1', 'figures': {'failed': False}},
        {'time': NOW - 30, 'kind': cycle.MOVE_EVENT, 'server': 'db1', 'figures': {'failed': True}},   # did not move
        {'time': NOW - 20, 'kind': cycle.REFUSED_EVENT, 'server': 'app1', 'figures': {}},             # stayed
        {'time': NOW - cycle.COOLDOWN_LOOKBACK - 1, 'kind': cycle.MOVE_EVENT, 'server': 'old1', 'figures': {}},
    ])
    assert cycle.last_moves(log, NOW) == {'web1': NOW - 60}
    assert cycle.last_moves(str(tmp_path / 'none.jsonl'), NOW) == {}


def busy_history(path, name, where, percent, minutes=2):
    """Samples every INTERVAL seconds over the last `minutes`, all at `percent` CPU."""
    samples = [{'time': NOW - i * INTERVAL, 'host': where, 'server': name, 'cpu_percent': percent, 'vcpus': 1,
                'memory_bytes': GiB // 4} for i in range(int(minutes * 60 / INTERVAL) + 1)]
    with open_history(path) as history:
        history.record(samples)


@pytest.fixture
def rack(monkeypatch, tmp_path):
    """Two hosts; kvm1 runs two busy servers, kvm2 is idle. Moves are recorded, not made."""
    snapshot = {'hosts': [host('kvm1'), host('kvm2')], 'servers': [server('busy1', 'kvm1'), server('busy2', 'kvm1')]}
    for name in ('busy1', 'busy2'):
        busy_history(str(tmp_path / 'history.sqlite'), name, 'kvm1', 100.0)
    monkeypatch.setattr(cycle, 'read_rack', lambda targets, storage, timeout: snapshot)
    monkeypatch.setattr(cycle.time, 'time', lambda: NOW)
    made = []

    def migrate_many(jobs, options, concurrency, check_mode=False, diff=False):
        made.append((jobs, check_mode))
        return {'changed': bool(jobs) and not check_mode, 'failed_servers': [],
                'results': [{'name': n, 'source': s, 'destination': d, 'failed': False, 'changed': not check_mode,
                             'duration_seconds': 2.0, 'migration_seconds': 1.5, 'downtime_ms': 40} for s, d, n in jobs]}
    monkeypatch.setattr(cycle, 'migrate_many', migrate_many)
    return made


POLICY = {'more': {'threshold': 90, 'minutes': 1}}


def test_a_cycle_moves_one_busy_server_and_logs_every_decision(rack, tmp_path):
    given = params(tmp_path, tag_policies={}, host_policies={'kvm1': POLICY})
    result = cycle.LiveCapacity(given).run()
    assert rack == [([('test:///kvm1', 'test:///kvm2', 'busy1')], False)]
    assert result['placement'] == {'busy1': 'kvm2', 'busy2': 'kvm1'}
    assert result['changes'] == ['busy1 moved from kvm1 to kvm2'] and result['changed']
    events, skipped = read_events(given['events'])
    assert skipped == 0
    assert [(e['kind'], e['server'], e['hosts']) for e in events] == [
        (cycle.MOVE_EVENT, 'busy1', {'source': 'kvm1', 'destination': 'kvm2'}),
        (cycle.REFUSED_EVENT, 'busy2', {'source': 'kvm1'})]   # one move per source host and cycle
    move = events[0]['figures']
    assert (move['duration_seconds'], move['migration_seconds'], move['downtime_ms'], move['failed']) == (2.0, 1.5, 40, False)


def test_check_mode_moves_nothing_and_logs_nothing(rack, tmp_path):
    given = params(tmp_path, host_policies={'kvm1': POLICY})
    result = cycle.LiveCapacity(given, check_mode=True).run()
    assert rack == [([('test:///kvm1', 'test:///kvm2', 'busy1')], True)]
    assert result['changes'] == ['busy1 moved from kvm1 to kvm2']
    assert read_events(given['events']) == ([], 0)


def test_a_failed_move_fails_the_task_after_logging_it(rack, tmp_path, monkeypatch):
    def failing(jobs, options, concurrency, check_mode=False, diff=False):
        return {'changed': False, 'failed_servers': ['busy1'],
                'results': [{'name': 'busy1', 'source': 'test:///kvm1', 'destination': 'test:///kvm2', 'failed': True,
                             'changed': False, 'msg': 'the destination has 0 MiB of memory available'}]}
    monkeypatch.setattr(cycle, 'migrate_many', failing)
    given = params(tmp_path, host_policies={'kvm1': POLICY})
    with pytest.raises(VirtualIronError, match=r'1 moves failed: busy1 \(the destination has 0 MiB') as raised:
        cycle.LiveCapacity(given).run()
    assert raised.value.details['placement'] == {'busy1': 'kvm1', 'busy2': 'kvm1'}
    move = read_events(given['events'])[0][0]
    assert (move['server'], move['figures']['failed'], move['figures']['error']) == (
        'busy1', True, 'the destination has 0 MiB of memory available')


def test_the_cooldown_comes_from_the_event_log(rack, tmp_path):
    append_events(str(tmp_path / 'events.jsonl'), [
        {'time': NOW - 60, 'kind': cycle.MOVE_EVENT, 'server': 'busy1', 'figures': {'failed': False}}])
    result = cycle.LiveCapacity(params(tmp_path, host_policies={'kvm1': POLICY})).run()
    # busy1 moved a minute ago and stays; busy2 goes instead
    assert result['changes'] == ['busy2 moved from kvm1 to kvm2']


def test_without_history_nothing_moves(rack, tmp_path):
    with pytest.raises(VirtualIronError, match='there is no utilization history'):
        cycle.LiveCapacity(params(tmp_path, history=str(tmp_path / 'missing.sqlite'))).run()


@pytest.mark.parametrize('maintenance_emptied, entered', [(True, ['kvm1']), (False, [])])
def test_an_emptied_host_enters_maintenance_when_asked(rack, tmp_path, monkeypatch, maintenance_emptied, entered):
    idle = {'more': False, 'less': {'threshold': 10, 'minutes': 1}}
    snapshot = {'hosts': [host('kvm1'), host('kvm2')],
                'servers': [server('idle1', 'kvm1', policy=idle), server('idle2', 'kvm2', policy=idle)]}
    for name, where in (('idle1', 'kvm1'), ('idle2', 'kvm2')):
        busy_history(str(tmp_path / 'history.sqlite'), name, where, 1.0)
    monkeypatch.setattr(cycle, 'read_rack', lambda targets, storage, timeout: snapshot)
    put = []
    monkeypatch.setattr(cycle.LiveCapacity, '_enter_maintenance', lambda self, name: put.append(name))
    given = params(tmp_path, consolidate=True, maintenance_emptied=maintenance_emptied)
    result = cycle.LiveCapacity(given).run()
    # equal loads: the host listed first is emptied
    assert result['plan']['emptied_hosts'] == ['kvm1'] and result['placement'] == {'idle1': 'kvm2', 'idle2': 'kvm2'}
    assert put == entered
    assert result['changes'] == ['idle1 moved from kvm1 to kvm2'] + ['host kvm1 put in maintenance (emptied)'] * len(entered)
    logged = [(e['kind'], e['hosts']) for e in read_events(given['events'])[0] if e['kind'] == cycle.MAINTENANCE_EVENT]
    assert logged == [(cycle.MAINTENANCE_EVENT, {'source': 'kvm1'})] * len(entered)
