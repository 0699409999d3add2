# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live_capacity event source: when ConditionWatch says a condition starts and stops over synthetic samples
(sustained, broken, a gap, a move, a server gone, hosts down and back), the rack read on libvirt's test hypervisor,
and the source's main() over a fake rack, as ansible-rulebook runs it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import asyncio

import pytest

from ansible_collections.virtualiron.infra.extensions.eda.plugins.event_source import live_capacity as source
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.history import open_history
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.policy import resolve_policy
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.watch import (
    ConditionWatch, RackSampler, policies_of)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError

T0 = 1800000000.0  # 08:00:00 UTC
INTERVAL = 10
# One minute, more than 90 % CPU; less than 10 % off, so that one direction is watched.
MORE = {'more': {'metric': 'cpu_percent', 'threshold': 90.0, 'minutes': 1.0}, 'less': False,
        'from': {'more': 'server web1', 'less': 'server web1'}}
BOTH = {'more': {'metric': 'cpu_percent', 'threshold': 90.0, 'minutes': 1.0},
        'less': {'metric': 'cpu_percent', 'threshold': 10.0, 'minutes': 0.5}, 'from': {'more': 'default', 'less': 'default'}}


def sample(step, cpu, host='lab1', server='web1'):
    return {'time': T0 + step * INTERVAL, 'host': host, 'server': server, 'cpu_percent': cpu}


def run(ticks, policy=None):
    """Feed one tick per entry: None (the host did not answer), or (cpu, host) of web1 (cpu None: web1 is gone).
    Returns [(step, event, direction or host, since or error)] of what was emitted."""
    watch, emitted, policy = ConditionWatch(INTERVAL), [], policy or MORE
    for step, tick in enumerate(ticks):
        now = T0 + step * INTERVAL + 0.5
        if tick is None:
            events = watch.observe([], {}, now, errors=[{'host': 'lab1', 'error': 'no route'}])
        else:
            cpu, host = tick
            samples = [] if cpu is None else [sample(step, cpu, host), dict(sample(step, 50.0, host), server=None)]
            events = watch.observe(samples, {} if cpu is None else {'web1': policy}, now, answered=[host])
        for event in events:
            body = event['live_capacity']
            emitted.append((step, body['event'], body.get('direction', body['host']),
                            body.get('since', body.get('error'))))
    return emitted


def busy(n, host='lab1'):
    return [(95.0, host)] * n


@pytest.mark.parametrize('ticks, expected', [
    # Each sample measured the interval before it, so 6 samples at 95 % cover the minute (as in the decision).
    (busy(5), []),
    (busy(6), [(5, 'started', 'more', '2027-01-15T08:00:00Z')]),
    (busy(9), [(5, 'started', 'more', '2027-01-15T08:00:00Z')]),  # once, not at every sample
    (busy(6) + [(50.0, 'lab1')] + busy(2),
     [(5, 'started', 'more', '2027-01-15T08:00:00Z'), (6, 'stopped', 'more', '2027-01-15T08:00:00Z')]),
    # One sample under the threshold in the middle: the window starts again after it.
    (busy(3) + [(80.0, 'lab1')] + busy(5), []),
    (busy(3) + [(80.0, 'lab1')] + busy(6), [(9, 'started', 'more', '2027-01-15T08:00:40Z')]),
    # A host that does not answer: said once; its servers are not seen, so the condition stops; back when it answers.
    (busy(6) + [None, None] + busy(1),
     [(5, 'started', 'more', '2027-01-15T08:00:00Z'), (6, 'host_unreachable', 'lab1', 'no route'),
      (6, 'stopped', 'more', '2027-01-15T08:00:00Z'), (8, 'host_back', 'lab1', None)]),
    # The server stopped or left the watched hosts.
    (busy(6) + [(None, 'lab1')], [(5, 'started', 'more', '2027-01-15T08:00:00Z'),
                                  (6, 'stopped', 'more', '2027-01-15T08:00:00Z')]),
    # It moved: its window starts afresh on its new host, and holds again there a full window later.
    (busy(6) + busy(7, 'lab2'),
     [(5, 'started', 'more', '2027-01-15T08:00:00Z'), (6, 'stopped', 'more', '2027-01-15T08:00:00Z'),
      (11, 'started', 'more', '2027-01-15T08:01:00Z')]),
    # Idle: 'less' is off in this policy, so nothing.
    ([(2.0, 'lab1')] * 8, []),
])
def test_conditions_start_and_stop_once(ticks, expected):
    assert run(ticks) == expected


def test_both_directions_are_watched_each_with_its_window():
    # 3 samples at 2 %: the 'less' window of 30 s is covered at step 2; the 'more' one never holds.
    assert run([(2.0, 'lab1')] * 5 + [(95.0, 'lab1')], BOTH) == [
        (2, 'started', 'less', '2027-01-15T08:00:00Z'), (5, 'stopped', 'less', '2027-01-15T08:00:00Z')]


def test_a_started_event_carries_the_decision_figures():
    watch = ConditionWatch(INTERVAL)
    for step, cpu in enumerate([92.0, 99.0, 95.0, 91.0, 93.0, 97.0]):
        events = watch.observe([sample(step, cpu)], {'web1': MORE}, T0 + step * INTERVAL + 0.5, answered=['lab1'])
    assert events == [{'live_capacity': {
        'event': 'started', 'server': 'web1', 'host': 'lab1', 'direction': 'more', 'metric': 'cpu_percent',
        'threshold': 90.0, 'minutes': 1.0, 'since': '2027-01-15T08:00:00Z', 'time': '2027-01-15T08:00:50Z',
        'policy': 'server web1',
        # The window 07:59:50.5 ... 08:00:50.5 holds all 6; the first measured from 07:59:50, 0.5 s before it.
        'figures': {'samples': 6, 'min': 91.0, 'max': 99.0, 'mean': 94.5, 'latest': 97.0, 'coverage': 0.992},
        'why': 'cpu_percent > 90 in all 6 samples since 08:00:00 UTC (1 min; lowest 91.0)'}}]


def test_only_the_longest_window_is_kept():
    watch = ConditionWatch(INTERVAL)
    for step in range(30):
        watch.observe([sample(step, 95.0)], {'web1': BOTH}, T0 + step * INTERVAL + 0.5, answered=['lab1'])
    # At 08:04:50.5, the 60 s window and 2 intervals before it: the samples of 08:03:30.5 ... 08:04:50.
    assert [s['time'] - T0 for s in watch.samples['web1']] == [220.0 + 10 * i for i in range(8)]


def test_policies_are_resolved_as_live_capacity_does_and_a_wrong_one_is_left_out():
    servers = [{'name': 'web1', 'host': 'lab1', 'tags': {'role': 'web'}, 'capacity_policy': None},
               {'name': 'db1', 'host': 'lab1', 'tags': {}, 'capacity_policy': {'more': {'threshold': 'high'}}},
               {'name': 'app1', 'host': 'lab2', 'tags': {}, 'capacity_policy': {'less': 'off'}}]
    params = {'tag_policies': {'role=web': {'more': {'minutes': 2}}}, 'group_policies': {}, 'groups': {},
              'host_policies': {'lab2': {'more': {'threshold': 80}}}}
    policies, problems = policies_of(servers, params)
    assert policies == {
        'web1': resolve_policy(servers[0], None, params['tag_policies'], {}, params['host_policies'], []),
        'app1': resolve_policy(servers[2], {'less': 'off'}, params['tag_policies'], {}, params['host_policies'], [])}
    assert policies['web1']['more']['minutes'] == 2.0 and policies['web1']['from']['more'] == 'tag role=web'
    assert policies['app1']['more']['threshold'] == 80.0 and policies['app1']['less'] is False
    assert [p['server'] for p in problems] == ['db1'] and "must be a number, got 'high'" in problems[0]['error']


def test_the_rack_is_read_on_the_test_hypervisor_with_one_host_down():
    sampler = RackSampler([{'name': 'test1', 'uri': 'test:///default'},
                           {'name': 'down', 'uri': 'qemu+tcp://127.0.0.1:1/system'}], connect_timeout=5)
    first, second = sampler.tick(), sampler.tick()
    assert first['samples'] == [] and first['answered'] == ['test1'] == second['answered']
    assert [e['host'] for e in second['errors']] == ['down']
    assert [(s['host'], s['server']) for s in second['samples']] == [('test1', None), ('test1', 'test')]
    assert second['servers'] == [{'name': 'test', 'host': 'test1', 'state': 'running', 'vcpus': 2, 'memory': 2 * 1024 ** 3,
                                  'tags': {}, 'capacity_policy': {}, 'live_migratable': True, 'why_not_live': ''}]


@pytest.mark.parametrize('args, message', [
    ({}, 'hosts must be a list of {name, uri}'),
    ({'hosts': [{'name': 'lab1'}]}, 'hosts must be a list of {name, uri}'),
    ({'hosts': [{'name': 'lab1', 'uri': 'test:///default'}], 'interval': 0}, 'interval must be a number'),
    ({'hosts': [{'name': 'lab1', 'uri': 'test:///default'}], 'interval': '10'}, 'interval must be a number'),
    ({'hosts': [{'name': 'lab1', 'uri': 'test:///default'}], 'tag_policies': ['x']}, 'tag_policies must be a dict'),
])
def test_wrong_arguments_are_refused(args, message):
    with pytest.raises(VirtualIronError, match=message.replace('{', r'\{').replace('}', r'\}')):
        source.check_args(args)


class FakeSampler(object):
    """web1 at 95 % CPU for `busy` ticks, then idle, then gone; one tick every call."""

    def __init__(self, targets, connect_timeout):
        self.step = 0

    def tick(self):
        self.step += 1
        cpu = 95.0 if self.step <= 4 else 5.0
        server = {'name': 'web1', 'host': 'lab1', 'tags': {}, 'capacity_policy': None}
        row = {'time': source.time.time(), 'host': 'lab1', 'server': 'web1', 'cpu_percent': cpu}
        return {'samples': [row], 'servers': [server], 'answered': ['lab1'], 'errors': []}


def test_main_puts_started_then_stopped_on_the_queue_and_records_the_samples(monkeypatch, tmp_path):
    monkeypatch.setattr(source, 'RackSampler', FakeSampler)
    history = str(tmp_path / 'utilization.sqlite')
    args = {'hosts': [{'name': 'lab1', 'uri': 'test:///default'}], 'interval': 0.05, 'history': history,
            'host_policies': {'lab1': {'more': {'minutes': 0.002}, 'less': 'off'}}}  # a window of 0.12 s

    async def two_events():
        queue = asyncio.Queue()
        task = asyncio.ensure_future(source.main(queue, args))
        events = [await asyncio.wait_for(queue.get(), 5), await asyncio.wait_for(queue.get(), 5)]
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return events

    events = [e['live_capacity'] for e in asyncio.run(two_events())]
    assert [(e['event'], e['server'], e['host'], e['direction'], e['policy']) for e in events] == [
        ('started', 'web1', 'lab1', 'more', 'host lab1'), ('stopped', 'web1', 'lab1', 'more', 'host lab1')]
    assert events[1]['why'].startswith('cpu_percent was 5.0 at ')
    with open_history(history) as recorded:
        assert [s['cpu_percent'] for s in recorded.samples()][:4] == [95.0] * 4
