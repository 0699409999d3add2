# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""LiveCapacity's decision over synthetic histories: when a condition holds (gaps, coverage), where a server that
wants more capacity goes and why not, how hosts are emptied, and that a plan applied never calls for moving back."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import random

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.decisions import (
    by_server, check_options, condition, decide)
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.policy import resolve_policy
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError

NOW = 1800000000.0  # 08:00:00 UTC
GIB = 1024 ** 3


def at(*points):
    """Samples of web1 on lab1 at NOW + offset seconds with that CPU % (None: the figure is missing)."""
    return [{'time': NOW + offset, 'host': 'lab1', 'server': 'web1', 'cpu_percent': value} for offset, value in points]


def every(values, last=0, interval=10):
    """Samples one interval apart, oldest first, the last at NOW + last."""
    return at(*[(last - interval * (len(values) - 1 - i), v) for i, v in enumerate(values)])


# One-minute windows sampled every 10 s: 6 samples cover one (NOW-50 ... NOW), the first within 15 s of its start.
@pytest.mark.parametrize('samples, direction, threshold, holds, since, coverage, why', [
    (every([95] * 6), 'more', 90, True, NOW - 50, 1.0,
     'cpu_percent > 90 in all 6 samples since 07:59:10 UTC (1 min; lowest 95.0)'),
    (every([95] * 9), 'more', 90, True, NOW - 80, 1.0,
     'cpu_percent > 90 in all 6 samples since 07:59:00 UTC (1 min; lowest 95.0)'),
    (every([5, 9.9, 2, 3, 4, 1]), 'less', 10, True, NOW - 50, 1.0,
     'cpu_percent < 10 in all 6 samples since 07:59:10 UTC (1 min; highest 9.9)'),
    # The run must reach back to within 1.5 intervals of the window's start.
    (every([95] * 5, last=-5), 'more', 90, True, NOW - 45, 50 / 60.0,
     'cpu_percent > 90 in all 5 samples since 07:59:15 UTC (1 min; lowest 95.0)'),
    (every([95] * 5, last=-4), 'more', 90, False, NOW - 44, 50 / 60.0,
     'samples begin at 07:59:16 UTC; cpu_percent > 90 only since 07:59:16 UTC (0.7 of 1 min)'),
    (every([95] * 5), 'more', 90, False, NOW - 40, 50 / 60.0,
     'samples begin at 07:59:20 UTC; cpu_percent > 90 only since 07:59:20 UTC (0.7 of 1 min)'),
    # The latest sample must be at most 1.5 intervals old.
    (every([95] * 8, last=-15), 'more', 90, True, NOW - 85, 45 / 60.0,
     'cpu_percent > 90 in all 5 samples since 07:59:00 UTC (1 min; lowest 95.0)'),
    (every([95] * 8, last=-16), 'more', 90, False, NOW - 86, 44 / 60.0,
     'no sample since 07:59:44 UTC (sampling every 10 s): a gap never fires a policy'),
    # A gap of 2 intervals (one sample lost) is tolerated; more is not.
    (at((-50, 95), (-40, 95), (-30, 95), (-10, 95), (0, 95)), 'more', 90, True, NOW - 50, 50 / 60.0,
     'cpu_percent > 90 in all 5 samples since 07:59:10 UTC (1 min; lowest 95.0)'),
    (at((-50, 95), (-40, 95), (-10, 95), (0, 95)), 'more', 90, False, NOW - 10, 40 / 60.0,
     'a gap in sampling from 07:59:20 UTC to 07:59:50 UTC (more than 2 intervals of 10 s); '
     'cpu_percent > 90 only since 07:59:50 UTC (0.2 of 1 min)'),
    # A sample without the figure breaks the run like a gap.
    (every([95, 95, None, 95, 95, 95]), 'more', 90, False, NOW - 20, 50 / 60.0,
     'the sample at 07:59:30 UTC has no cpu_percent; cpu_percent > 90 only since 07:59:40 UTC (0.3 of 1 min)'),
    (every([95] * 5 + [None]), 'more', 90, False, None, 50 / 60.0,
     'the latest sample, at 08:00:00 UTC, has no cpu_percent'),
    # Every sample must be past the threshold; the threshold itself is not past it.
    (every([95, 95, 50, 95, 95, 95]), 'more', 90, False, NOW - 20, 1.0,
     'cpu_percent was 50.0 at 07:59:30 UTC; cpu_percent > 90 only since 07:59:40 UTC (0.3 of 1 min)'),
    (every([95] * 5 + [80]), 'more', 90, False, None, 1.0, 'cpu_percent was 80.0 at 08:00:00 UTC, not > 90'),
    (every([90] * 6), 'more', 90, False, None, 1.0, 'cpu_percent was 90.0 at 08:00:00 UTC, not > 90'),
    (every([10] * 6), 'less', 10, False, None, 1.0, 'cpu_percent was 10.0 at 08:00:00 UTC, not < 10'),
    ([], 'more', 90, False, None, 0.0, 'no cpu_percent samples'),
    (every([None] * 6), 'less', 10, False, None, 0.0, 'no cpu_percent samples'),
    # Samples after now do not count; the order of the samples given does not matter.
    (every([95] * 6) + at((10, 5)), 'more', 90, True, NOW - 50, 1.0,
     'cpu_percent > 90 in all 6 samples since 07:59:10 UTC (1 min; lowest 95.0)'),
    (list(reversed(every([95] * 6))), 'more', 90, True, NOW - 50, 1.0,
     'cpu_percent > 90 in all 6 samples since 07:59:10 UTC (1 min; lowest 95.0)'),
])
def test_condition(samples, direction, threshold, holds, since, coverage, why):
    result = condition(samples, direction, 'cpu_percent', threshold, 1, 10, NOW)
    assert result == {'holds': holds, 'since': since, 'coverage': round(coverage, 3), 'why': why}


def test_condition_over_memory():
    samples = [dict(s, memory_percent=s['cpu_percent'], cpu_percent=None) for s in every([97] * 61)]
    assert condition(samples, 'more', 'memory_percent', 95, 10, 10, NOW)['holds'] is True
    assert condition(samples, 'more', 'cpu_percent', 95, 10, 10, NOW)['why'] == 'no cpu_percent samples'


# Synthetic worlds: hosts and servers, each server sampled every 10 s over the last 10 minutes at a steady CPU %.

def host(name, cpus=4, memory_gib=16, unavailable=None):
    return {'name': name, 'cpus': cpus, 'memory': memory_gib * GIB, 'unavailable': unavailable}


def server(name, on, cpu, vcpus=1, memory_gib=1, sampled=True, **extra):
    spec = {'name': name, 'host': on, 'cpu': cpu, 'vcpus': vcpus, 'memory': memory_gib * GIB, 'state': 'running',
            'live_migratable': True, 'last_moved': None, 'sampled': sampled}
    spec.update(extra)
    return spec


def snapshot(hosts, servers):
    """The snapshot decide takes, with what each host gives its running servers."""
    running = [s for s in servers if s['state'] == 'running']
    listed = [dict(h, memory_used=sum(s['memory'] for s in running if s['host'] == h['name']),
                   vcpus_used=sum(s['vcpus'] for s in running if s['host'] == h['name'])) for h in hosts]
    return {'hosts': listed, 'servers': [dict((k, v) for k, v in s.items() if k not in ('cpu', 'sampled'))
                                         for s in servers]}


def history(servers, now=NOW, count=61):
    return [{'time': now - 10 * i, 'host': s['host'], 'server': s['name'], 'cpu_percent': s['cpu'],
             'memory_bytes': s['memory'] // 2, 'memory_percent': 50.0}
            for s in servers if s['sampled'] and s['state'] == 'running' for i in range(count)]


def plan_of(hosts, servers, now=NOW, **options):
    return decide(snapshot(hosts, servers), history(servers, now), options, now)


def moves(plan):
    return [(m['server'], m['source'], m['destination'], m['direction']) for m in plan['moves']]


def refused(plan):
    return dict((r['server'], r['reason']) for r in plan['refused'])


def test_one_busy_server_moves_and_the_other_stays():
    servers = [server('web1', 'lab1', 100, vcpus=2), server('web2', 'lab1', 100, vcpus=2)]
    plan = plan_of([host('lab1'), host('lab2')], servers)
    assert moves(plan) == [('web1', 'lab1', 'lab2', 'more')]
    assert plan['moves'][0]['figures'] == {
        'metric': 'cpu_percent', 'threshold': 90.0, 'minutes': 10.0, 'server_percent': 100.0, 'measured': True,
        'limit': 72.0, 'source_before': 100.0, 'source_after': 50.0, 'destination_before': 0.0,
        'destination_after': 50.0, 'imbalance_before': 100.0, 'imbalance_after': 0.0}
    assert plan['moves'][0]['reason'] == (
        'web1: cpu_percent > 90 in all 60 samples since 07:50:00 UTC (10 min; lowest 100.0), policy from default; '
        'moves to lab2, the host where it gets the most headroom: CPU lab2 0.0 % -> 50.0 % (limit 72.0 %), '
        'lab1 100.0 % -> 50.0 %, imbalance 100.0 -> 0.0 points')
    assert refused(plan) == {'web2': 'lab1 already gives up web1 this cycle: at most one server leaves a host per cycle'}
    assert [(c['server'], c['direction'], c['policy']) for c in plan['conditions']] == [
        ('web1', 'more', 'default'), ('web2', 'more', 'default')]
    assert plan['emptied_hosts'] == []


BUSY = server('web1', 'lab1', 100, vcpus=2)
APP = server('app1', 'lab1', 50, vcpus=2)
BUSY_LAB1 = [BUSY, APP]  # lab1 at 75 %: web1 gives 50 points, app1 25
HOT = [BUSY, server('app1', 'lab1', 90, vcpus=2)]  # lab1 at 95 %
STRICT = {'more': {'metric': 'cpu_percent', 'threshold': 99.0, 'minutes': 10.0},
          'less': {'metric': 'cpu_percent', 'threshold': 10.0, 'minutes': 10.0}}
NOWHERE = 'no host gives it more capacity: '


@pytest.mark.parametrize('hosts, servers, options, expected_moves, expected_refused', [
    # A host in maintenance is never a destination.
    ([host('lab1'), host('lab2', unavailable='is in maintenance'), host('lab3')], BUSY_LAB1, {},
     [('web1', 'lab1', 'lab3', 'more')], {}),
    ([host('lab1'), host('lab2', unavailable='is in maintenance')], BUSY_LAB1, {}, [],
     {'web1': NOWHERE + 'lab2 is in maintenance'}),
    # The servers of a host in maintenance or unreachable stay where they are.
    ([host('lab1', unavailable='is unreachable'), host('lab2')], BUSY_LAB1, {}, [],
     {'web1': 'lab1 is unreachable: its servers stay where they are'}),
    # Nothing fits: the reason of each host.
    ([host('lab1'), host('lab2', memory_gib=2), host('lab3', cpus=1), host('lab4', cpus=32), host('lab5')],
     BUSY_LAB1 + [server('db1', 'lab2', 50, memory_gib=2), server('hpc1', 'lab4', 89, vcpus=20),
                  server('db2', 'lab5', 50, vcpus=2)], {}, [],
     {'web1': NOWHERE + 'lab2 lacks memory; lab3 would be at 200.0 % CPU (limit 72.0 %); '
      'lab4: the imbalance would go from 19.4 to 36.9 points, narrowing by less than 10; '
      'lab5 would be at 75.0 % CPU (limit 72.0 %)'}),
    ([host('lab1', cpus=1), host('lab2', cpus=1)], [server('web1', 'lab1', 100, vcpus=3), server('x', 'lab2', 50, vcpus=2)],
     {}, [], {'web1': NOWHERE + 'lab2 lacks vCPUs'}),
    ([host('lab1')], BUSY_LAB1, {}, [], {'web1': NOWHERE + 'no other host'}),
    # A server without samples counts as fully busy: lab2 would be at 25 + 50 %.
    ([host('lab1'), host('lab2')], BUSY_LAB1 + [server('new1', 'lab2', 0, sampled=False)], {}, [],
     {'web1': NOWHERE + 'lab2 would be at 75.0 % CPU (limit 72.0 %)'}),
    # Cooldown: a server that moved less than cooldown_minutes ago stays.
    ([host('lab1'), host('lab2')], [dict(BUSY, last_moved=NOW - 300), APP], {}, [],
     {'web1': 'web1 moved 5.0 min ago: it stays until its 30-minute cooldown is over'}),
    ([host('lab1'), host('lab2')], [dict(BUSY, last_moved=NOW - 300), APP], {'cooldown_minutes': 4},
     [('web1', 'lab1', 'lab2', 'more')], {}),
    ([host('lab1'), host('lab2')], [dict(BUSY, last_moved=NOW - 1800), APP], {}, [('web1', 'lab1', 'lab2', 'more')], {}),
    ([host('lab1'), host('lab2')], [dict(BUSY, live_migratable=False), APP], {}, [], {'web1': 'web1 cannot live-migrate'}),
    # Memory-bound hosts: lab2 has the most CPU headroom but not the memory, unless memory may be overcommitted.
    ([host('lab1'), host('lab2', memory_gib=4), host('lab3')],
     BUSY_LAB1 + [server('db1', 'lab2', 50, memory_gib=4), server('db2', 'lab3', 30, vcpus=2)], {},
     [('web1', 'lab1', 'lab3', 'more')], {}),
    ([host('lab1'), host('lab2', memory_gib=4), host('lab3')],
     BUSY_LAB1 + [server('db1', 'lab2', 50, memory_gib=4), server('db2', 'lab3', 30, vcpus=2)],
     {'memory_overcommit': 1.5}, [('web1', 'lab1', 'lab2', 'more')], {}),
    # Ties go to the host listed first; otherwise the most headroom wins, among the hosts in use when consolidating.
    ([host('lab1'), host('lab2'), host('lab3')], BUSY_LAB1, {}, [('web1', 'lab1', 'lab2', 'more')], {}),
    ([host('lab1'), host('lab3'), host('lab2')], BUSY_LAB1, {}, [('web1', 'lab1', 'lab3', 'more')], {}),
    ([host('lab1'), host('lab2'), host('lab3')], BUSY_LAB1 + [server('x', 'lab2', 20)], {'consolidate': False},
     [('web1', 'lab1', 'lab3', 'more')], {}),
    ([host('lab1'), host('lab2'), host('lab3')], BUSY_LAB1 + [server('x', 'lab2', 20)], {},
     [('web1', 'lab1', 'lab2', 'more')], {}),
    ([host('lab1'), host('lab2'), host('lab3')], BUSY_LAB1 + [server('x', 'lab2', 20), server('y', 'lab3', 40)], {},
     [('web1', 'lab1', 'lab2', 'more')], {}),
    # A server on a host below the limit already has the headroom a move could give it (a lone busy server).
    ([host('lab1', cpus=16), host('lab2', cpus=16)], [server('web1', 'lab1', 100)], {}, [],
     {'web1': 'lab1 is at 6.2 % CPU, below the limit of 72.0 %: a move would give web1 no more capacity'}),
    # The improvement needed, in points of the gap between source and destination: lab2 (50 CPUs at 45 %)
    # would narrow it from 30 to 24 points.
    ([host('lab1'), host('lab2', cpus=50)], BUSY_LAB1 + [server('hpc1', 'lab2', 90, vcpus=25)], {}, [],
     {'web1': NOWHERE + 'lab2: the imbalance would go from 30.0 to 24.0 points, narrowing by less than 10'}),
    ([host('lab1'), host('lab2', cpus=50)], BUSY_LAB1 + [server('hpc1', 'lab2', 90, vcpus=25)], {'improvement': 6},
     [('web1', 'lab1', 'lab2', 'more')], {}),
    # The oVirt limit on the destination's predicted load: min(0.8 x high, high - margin), strictly below.
    ([host('lab1'), host('lab2')], HOT + [server('x', 'lab2', 80)], {}, [('web1', 'lab1', 'lab2', 'more')], {}),
    ([host('lab1'), host('lab2')], HOT + [server('x', 'lab2', 90)], {}, [],
     {'web1': NOWHERE + 'lab2 would be at 72.5 % CPU (limit 72.0 %)'}),
    ([host('lab1'), host('lab2')], HOT + [server('x', 'lab2', 88)], {}, [],
     {'web1': NOWHERE + 'lab2 would be at 72.0 % CPU (limit 72.0 %)'}),
    ([host('lab1'), host('lab2')], HOT + [server('x', 'lab2', 80)], {'margin': 30}, [],
     {'web1': NOWHERE + 'lab2 would be at 70.0 % CPU (limit 60.0 %)'}),
    ([host('lab1'), host('lab2')], [dict(BUSY, policy=STRICT)] + HOT[1:] + [server('x', 'lab2', 90)], {},
     [('web1', 'lab1', 'lab2', 'more')], {}),
])
def test_more_capacity(hosts, servers, options, expected_moves, expected_refused):
    plan = plan_of(hosts, servers, **options)
    assert (moves(plan), refused(plan)) == (expected_moves, expected_refused)


def test_two_servers_wanting_the_same_room():
    # web1 takes lab3 (the most headroom); web2 then sees lab3 at 55 % and goes to lab4 instead.
    hosts = [host('lab1'), host('lab2'), host('lab3', cpus=8), host('lab4', cpus=8)]
    servers = [server('web2', 'lab2', 100, vcpus=4), server('web1', 'lab1', 100, vcpus=4), server('c', 'lab3', 40),
               server('d', 'lab4', 48)]
    plan = plan_of(hosts, servers)
    assert moves(plan) == [('web1', 'lab1', 'lab3', 'more'), ('web2', 'lab2', 'lab4', 'more')]
    assert [m['figures']['destination_after'] for m in plan['moves']] == [55.0, 56.0]
    assert refused(plan) == {}


def test_the_most_loaded_source_goes_first():
    hosts = [host('lab1'), host('lab2'), host('lab3', cpus=8)]
    servers = [server('web1', 'lab1', 95, vcpus=2), server('web2', 'lab2', 100, vcpus=4)]
    plan = plan_of(hosts, servers, improvement=0)
    assert moves(plan)[0] == ('web2', 'lab2', 'lab3', 'more')


def test_more_memory():
    # m1 uses 95 % of its 8 GiB for 10 minutes; lab1's servers use 13.1 of its 16 GiB (81.9 %), lab2's 1 GiB.
    policy = resolve_policy({'name': 'm1', 'host': 'lab1', 'tags': {'role': 'cache'}}, None,
                            {'role=cache': {'more': {'metric': 'memory_percent', 'threshold': 90}}}, {}, {}, [])
    servers = [server('m1', 'lab1', 50, memory_gib=8, policy=policy), server('m2', 'lab1', 50, memory_gib=6),
               server('x', 'lab2', 50, memory_gib=2)]
    used = {'m1': 7.6 * GIB, 'm2': 5.5 * GIB, 'x': 1.0 * GIB}
    samples = [dict(s, memory_bytes=used[s['server']], memory_percent=100.0 * used[s['server']] / (
        [v['memory'] for v in servers if v['name'] == s['server']][0])) for s in history(servers)]
    plan = decide(snapshot([host('lab1'), host('lab2')], servers), samples, {}, NOW)
    assert moves(plan) == [('m1', 'lab1', 'lab2', 'more')]
    figures = plan['moves'][0]['figures']
    assert (figures['metric'], figures['server_percent'], figures['source_before'], figures['destination_after']) == (
        'memory_percent', 95.0, 81.9, 53.8)
    assert plan['moves'][0]['reason'].startswith(
        'm1: memory_percent > 90 in all 60 samples since 07:50:00 UTC (10 min; lowest 95.0), policy from tag '
        'role=cache; moves to lab2, the host where it gets the most headroom: memory lab2 6.2 % -> 53.8 %')


def test_a_server_moves_on_only_after_a_full_window_on_its_new_host():
    # Samples on its former host do not count: web1 moved to lab1 and was sampled there for 5 minutes only.
    servers = BUSY_LAB1
    samples = [dict(s, host='lab3') if s['server'] == 'web1' and s['time'] <= NOW - 300 else s for s in history(servers)]
    plan = decide(snapshot([host('lab1'), host('lab2'), host('lab3')], servers), samples, {}, NOW)
    assert moves(plan) == []
    assert plan['conditions'] == []


def test_history_grouped_or_not_gives_the_same_plan_and_the_snapshot_is_left_alone():
    hosts, servers = [host('lab1'), host('lab2'), host('lab3')], BUSY_LAB1 + [server('idle', 'lab3', 1)]
    given = snapshot(hosts, servers)
    kept = copy.deepcopy(given)
    plan = decide(given, history(servers), {}, NOW)
    assert given == kept
    assert decide(given, by_server(history(servers)), {}, NOW) == plan
    # lab3 is in use: it takes web1, so its idle server stays.
    assert moves(plan) == [('web1', 'lab1', 'lab3', 'more')]


def test_servers_not_running_do_not_count():
    servers = BUSY_LAB1 + [server('off', 'lab2', 0, vcpus=4, state='shut off')]
    assert moves(plan_of([host('lab1'), host('lab2')], servers)) == [('web1', 'lab1', 'lab2', 'more')]


def test_a_server_on_a_host_the_snapshot_does_not_list():
    with pytest.raises(VirtualIronError) as error:
        decide({'hosts': [], 'servers': [dict(BUSY, policy=None)]}, [], {}, NOW)
    assert str(error.value) == 'server web1 is on host lab1, which the snapshot does not list'


def idle(name, on, cpu=2, **extra):
    return server(name, on, cpu, **extra)


LESS = 'less'


@pytest.mark.parametrize('hosts, servers, options, expected_moves, emptied, expected_refused', [
    # lab3 (1 %) then lab2 (1.2 %) are emptied onto lab1, the host in use that stays (busy1 does not want less).
    ([host('lab1'), host('lab2'), host('lab3')],
     [server('busy1', 'lab1', 60, vcpus=2), idle('i1', 'lab2', 2), idle('i2', 'lab2', 3), idle('i3', 'lab3', 4)], {},
     [('i3', 'lab3', 'lab1', LESS), ('i1', 'lab2', 'lab1', LESS), ('i2', 'lab2', 'lab1', LESS)], ['lab3', 'lab2'], {}),
    # Largest first, to the most loaded host in use that takes it: big goes to lab2 (lab1 lacks memory), small to lab1.
    ([host('lab1'), host('lab2'), host('lab3')],
     [server('busy1', 'lab1', 60, vcpus=2, memory_gib=12), server('busy2', 'lab2', 40),
      idle('small', 'lab3'), idle('big', 'lab3', memory_gib=6)], {},
     [('big', 'lab3', 'lab2', LESS), ('small', 'lab3', 'lab1', LESS)], ['lab3'], {}),
    # One server does not fit: none of lab2's servers move; lab3 is still emptied.
    ([host('lab1'), host('lab2'), host('lab3')],
     [server('busy1', 'lab1', 60, vcpus=2, memory_gib=8), idle('big', 'lab2', memory_gib=10), idle('i2', 'lab2'),
      idle('i3', 'lab3', 1)], {},
     [('i3', 'lab3', 'lab1', LESS)], ['lab3'],
     {'big': 'lab2 cannot be emptied: big fits nowhere (lab1 lacks memory); none of its servers move',
      'i2': 'lab2 cannot be emptied: big fits nowhere (lab1 lacks memory); none of its servers move'}),
    # A host with a server that does not want less capacity is not emptied.
    ([host('lab1'), host('lab2')], [server('busy1', 'lab1', 60, vcpus=2), idle('i1', 'lab2'), server('b', 'lab2', 50)], {},
     [], [], {'i1': 'lab2 cannot be emptied: b does not want less capacity: cpu_percent was 50.0 at 08:00:00 UTC, '
              'not < 10; none of its servers move'}),
    # Cooldown and servers that cannot live-migrate hold the whole host.
    ([host('lab1'), host('lab2')], [server('busy1', 'lab1', 60, vcpus=2), idle('i1', 'lab2'),
                                    idle('i2', 'lab2', last_moved=NOW - 60)], {},
     [], [], dict((name, 'lab2 cannot be emptied: i2 moved 1.0 min ago: it stays until its 30-minute cooldown is over; '
                   'none of its servers move') for name in ('i1', 'i2'))),
    ([host('lab1'), host('lab2')], [server('busy1', 'lab1', 60, vcpus=2), idle('i1', 'lab2'),
                                    idle('i2', 'lab2', policy={'more': False, 'less': False})], {},
     [], [], {'i1': 'lab2 cannot be emptied: i2 has no "less" policy; none of its servers move'}),
    ([host('lab1'), host('lab2')], [server('busy1', 'lab1', 60, vcpus=2), idle('i1', 'lab2', live_migratable=False)], {},
     [], [], {'i1': 'lab2 cannot be emptied: i1 cannot live-migrate; none of its servers move'}),
    # Destinations stay below the limit: lab1 at 70 % cannot take 2.5 more points.
    ([host('lab1'), host('lab2')], [server('busy1', 'lab1', 70, vcpus=4), idle('i1', 'lab2', 9)], {}, [], [],
     {'i1': 'lab2 cannot be emptied: i1 fits nowhere (lab1 would be at 72.2 % CPU (limit 72.0 %)); '
            'none of its servers move'}),
    # An empty host is never a destination, nor one in maintenance; a host in maintenance is not emptied.
    ([host('lab1'), host('lab2'), host('lab3', unavailable='is in maintenance')],
     [idle('i1', 'lab1'), idle('i3', 'lab3')], {}, [], [],
     {'i1': 'lab1 cannot be emptied: i1 fits nowhere (no other host in use); none of its servers move',
      'i3': 'lab3 cannot be emptied: lab3 is in maintenance; none of its servers move'}),
    # Two idle hosts: the less loaded one is emptied onto the other, which then stays.
    ([host('lab1'), host('lab2')], [idle('i1', 'lab1', 3), idle('i2', 'lab2', 2)], {},
     [('i2', 'lab2', 'lab1', LESS)], ['lab2'],
     {'i1': 'lab1 cannot be emptied: it takes i2 this cycle, and a host that takes servers is not emptied; '
            'none of its servers move'}),
    # Ties: the host listed first is emptied first.
    ([host('lab1'), host('lab2')], [idle('i1', 'lab1'), idle('i2', 'lab2')], {}, [('i1', 'lab1', 'lab2', LESS)], ['lab1'],
     {'i2': 'lab2 cannot be emptied: it takes i1 this cycle, and a host that takes servers is not emptied; '
            'none of its servers move'}),
    ([host('lab1'), host('lab2')], [idle('i1', 'lab1'), idle('i2', 'lab2')], {'consolidate': False}, [], [], {}),
])
def test_less_capacity(hosts, servers, options, expected_moves, emptied, expected_refused):
    plan = plan_of(hosts, servers, **options)
    assert (moves(plan), plan['emptied_hosts'], refused(plan)) == (expected_moves, emptied, expected_refused)


def test_a_host_that_gives_or_takes_for_more_capacity_is_not_emptied():
    servers = BUSY_LAB1 + [idle('i1', 'lab2')]
    plan = plan_of([host('lab1'), host('lab2')], servers)
    assert moves(plan) == [('web1', 'lab1', 'lab2', 'more')]
    assert refused(plan) == {
        'i1': 'lab2 cannot be emptied: it takes web1 for more capacity this cycle; none of its servers move'}


def test_consolidation_reason_and_figures():
    plan = plan_of([host('lab1'), host('lab2')], [server('busy1', 'lab1', 60, vcpus=2), idle('i1', 'lab2', 4)])
    assert plan['moves'] == [{
        'server': 'i1', 'source': 'lab2', 'destination': 'lab1', 'direction': 'less',
        'reason': 'i1: cpu_percent < 10 in all 60 samples since 07:50:00 UTC (10 min; highest 4.0), policy from '
                  'default; moves to lab1, emptying lab2 (largest servers first, to the most loaded host in use that '
                  'takes them): CPU lab1 30.0 % -> 31.0 % (limit 72.0 %), lab2 1.0 % -> 0.0 %, imbalance -29.0 -> '
                  '31.0 points',
        'figures': {'metric': 'cpu_percent', 'threshold': 10.0, 'minutes': 10.0, 'server_percent': 4.0,
                    'measured': True, 'limit': 72.0, 'source_before': 1.0, 'source_after': 0.0,
                    'destination_before': 30.0, 'destination_after': 31.0, 'imbalance_before': -29.0,
                    'imbalance_after': 31.0}}]


def apply(plan, servers, now):
    """The world a plan predicts: its servers on their destinations (sampled there, as if they always had been)."""
    where = dict((m['server'], m['destination']) for m in plan['moves'])
    return [dict(s, host=where[s['name']], last_moved=now) if s['name'] in where else s for s in servers]


def cycles(hosts, servers, count, **options):
    """The moves of `count` cycles a minute apart, each plan applied before the next decision."""
    done = []
    for cycle in range(count):
        now = NOW + 60 * cycle
        plan = plan_of(hosts, servers, now, **options)
        done.append(moves(plan))
        servers = apply(plan, servers, now)
    return done


@pytest.mark.parametrize('hosts, servers', [
    ([host('lab1'), host('lab2')], [server('web1', 'lab1', 100, vcpus=2), server('web2', 'lab1', 100, vcpus=2)]),
    ([host('lab1'), host('lab2'), host('lab3', cpus=8), host('lab4', cpus=8)],
     [server('web2', 'lab2', 100, vcpus=4), server('web1', 'lab1', 100, vcpus=4), server('c', 'lab4', 40)]),
    ([host('lab1'), host('lab2'), host('lab3')],
     [server('busy1', 'lab1', 60, vcpus=2), idle('i1', 'lab2', 2), idle('i2', 'lab2', 3), idle('i3', 'lab3', 4)]),
    ([host('lab1'), host('lab2'), host('lab3')],
     [server('web1', 'lab1', 100, vcpus=2), server('app1', 'lab1', 50, vcpus=2), idle('i1', 'lab2'), idle('i3', 'lab3')]),
])
def test_no_ping_pong_over_five_cycles(hosts, servers):
    # No cooldown: the predicted-load rules alone must keep every server where the first plan put it.
    done = cycles(hosts, servers, 6, cooldown_minutes=0)
    assert done[0] != []
    assert done[1:] == [[]] * 5


# Racks: (hosts, servers, the CPU % servers run at); the second and third are mostly idle, so they consolidate.
RACKS = [(6, 24, [1, 3, 5, 40, 60, 95, 100]), (8, 16, [1, 2, 3, 5, 8, 30, 95, 100]),
         (10, 40, [1, 2, 5, 8, 20, 50, 70, 92, 100])]


@pytest.mark.parametrize('rack', range(len(RACKS)))
@pytest.mark.parametrize('seed', range(10))
def test_random_racks_settle_and_never_move_a_server_back(rack, seed):
    rng = random.Random(seed)
    host_count, server_count, levels = RACKS[rack]
    hosts = [host('lab%d' % i, cpus=rng.choice([4, 8, 16]), memory_gib=rng.choice([16, 32])) for i in range(host_count)]
    servers = [server('s%02d' % i, rng.choice(hosts)['name'], rng.choice(levels), vcpus=rng.choice([1, 2, 4]),
                      memory_gib=rng.choice([1, 2, 4])) for i in range(server_count)]
    done = cycles(hosts, servers, 10, cooldown_minutes=0)
    # Moves only in the first cycles (one server per source host per cycle), then none.
    settled = done.index([])
    assert settled <= 6 and done[settled:] == [[]] * (10 - settled)
    for name in set(s['name'] for s in servers):
        path = [(source, destination) for cycle in done for s, source, destination, _d in cycle if s == name]
        visited = [path[0][0]] + [destination for _source, destination in path] if path else []
        assert len(visited) == len(set(visited)), (name, path)


@pytest.mark.parametrize('options, message', [
    ({'margins': 5}, 'unknown capacity option(s) margins; known: consolidate, cooldown_minutes, improvement, interval, '
                     'margin, memory_overcommit, vcpu_overcommit'),
    ({'margin': '10'}, "capacity option margin must be a number of 0 or more, got '10'"),
    ({'margin': -1}, 'capacity option margin must be a number of 0 or more, got -1'),
    ({'improvement': True}, 'capacity option improvement must be a number of 0 or more, got True'),
    ({'interval': 0}, 'capacity option interval must be more than 0'),
    ({'vcpu_overcommit': float('inf')}, 'capacity option vcpu_overcommit must be a number of 0 or more, got inf'),
    ({'consolidate': 'yes'}, "capacity option consolidate must be true or false, got 'yes'"),
])
def test_check_options_refuses(options, message):
    with pytest.raises(VirtualIronError) as error:
        check_options(options)
    assert str(error.value) == message


def test_check_options_fills_the_defaults():
    assert check_options({'margin': 5, 'consolidate': None}) == {
        'margin': 5, 'improvement': 10.0, 'cooldown_minutes': 30.0, 'memory_overcommit': 1.0, 'vcpu_overcommit': 4.0,
        'consolidate': True, 'interval': 10.0}
