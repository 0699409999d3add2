# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live_recovery event source: its arguments, the events a series of probes gives, its schedule, and main() as
ansible-rulebook runs it, over fake probes (a silent host, a hung one, one whose probe raises a bug)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import asyncio
import threading
import time

import pytest

from ansible_collections.virtualiron.infra.extensions.eda.plugins.event_source import live_recovery as source
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.recovery.detection import FailureTracker

T0 = 1800000000.0  # 2027-01-15T08:00:00Z
LAB1 = {'name': 'lab1', 'uri': 'qemu+tcp://10.213.0.11/system'}
LAB2 = {'name': 'lab2', 'uri': 'qemu+tcp://10.213.0.12/system'}
SILENT = 'no answer within 2 s'


@pytest.mark.parametrize('args, expected', [
    ({'hosts': [LAB1]}, {'hosts': [LAB1], 'grace': 10.0, 'interval': 1.0, 'timeout': 2.0}),
    # Templated numbers may come as text; extra keys of a host are dropped.
    ({'hosts': [dict(LAB1, bmc='x')], 'grace': '3', 'interval': 0.5, 'timeout': 1},
     {'hosts': [LAB1], 'grace': 3.0, 'interval': 0.5, 'timeout': 1.0}),
])
def test_check_args_gives_defaults_and_numbers(args, expected):
    assert source.check_args(args) == expected


@pytest.mark.parametrize('args, message', [
    ({}, 'hosts must be a list of {name, uri}, got None'),
    ({'hosts': []}, 'hosts must be a list of {name, uri}, got []'),
    ({'hosts': [{'name': 'lab1'}]}, "hosts must be a list of {name, uri}, got [{'name': 'lab1'}]"),
    ({'hosts': ['lab1']}, "hosts must be a list of {name, uri}, got ['lab1']"),
    ({'hosts': [{'name': 1, 'uri': 'x'}]}, "hosts must be a list of {name, uri}, got [{'name': 1, 'uri': 'x'}]"),
    ({'hosts': [LAB1, LAB2, dict(LAB1, uri='qemu:///system')]}, 'host names must be unique; given more than once: lab1'),
    ({'hosts': [LAB1], 'grace': 0}, 'grace must be a number of seconds above 0, got 0'),
    ({'hosts': [LAB1], 'interval': -1}, 'interval must be a number of seconds above 0, got -1'),
    ({'hosts': [LAB1], 'timeout': 'soon'}, "timeout must be a number of seconds above 0, got 'soon'"),
    ({'hosts': [LAB1], 'timeout': True}, 'timeout must be a number of seconds above 0, got True'),
    ({'hosts': [LAB1], 'grace': None}, 'grace must be a number of seconds above 0, got None'),
])
def test_check_args_refuses_with_the_reason(args, message):
    with pytest.raises(VirtualIronError) as raised:
        source.check_args(args)
    assert str(raised.value) == 'live_recovery: ' + message


def failed(since, now, error=SILENT):
    return ('host_failed', source.format_time(T0 + since), source.format_time(T0 + now), now - since, error)


def back(since, now, error=SILENT):
    return ('host_back', source.format_time(T0 + since), source.format_time(T0 + now), now - since, error)


@pytest.mark.parametrize('probes, expected', [
    # (error or None, sent at, answered at), seconds after T0; grace 3.
    ([(None, 0, 0.1), (None, 1, 1.1)], []),
    # Silent from the first unanswered probe's sending: 10 -> 13.5 is past grace at the second miss's end.
    ([(None, 9, 9.1), (SILENT, 10, 12), (SILENT, 12, 13.5), (SILENT, 13.5, 15.5)], [(2, failed(10, 13.5))]),
    # Once failed, more misses emit nothing; the answer says it is back, with how long it was silent.
    ([(SILENT, 10, 12), (SILENT, 12, 14), (SILENT, 14, 16), (None, 16, 16.25)],
     [(1, failed(10, 14)), (3, back(10, 16.25))]),
    # Silent for less than grace: neither failed nor back.
    ([(SILENT, 10, 12), (None, 12, 12.5), (SILENT, 13, 15), (None, 15, 15.2)], []),
    # The error of the latest miss is the one told; a refused connection answers at once.
    ([('refused', 10, 10.01), ('refused', 11, 11.01), ('no route', 13, 13.01)], [(2, failed(10, 13.01, 'no route'))]),
    # Failed, back, failed again: each transition once, the second with its own start.
    ([(SILENT, 0, 2), (SILENT, 2, 4), (None, 4, 4.5), (SILENT, 5, 7), (SILENT, 7, 9)],
     [(1, failed(0, 4)), (2, back(0, 4.5)), (4, failed(5, 9))]),
])
def test_probes_give_one_event_per_transition(probes, expected):
    tracker, emitted = FailureTracker(3), []
    for step, (error, asked, answered) in enumerate(probes):
        event = source.observe(tracker, LAB1, error, T0 + asked, T0 + answered)
        if event:
            body = event['live_recovery']
            assert (body['host'], body['uri']) == (LAB1['name'], LAB1['uri'])
            emitted.append((step, (body['event'], body['since'], body['time'], body['seconds_silent'],
                                   body['error'])))
    assert [(s, e[:3] + (pytest.approx(e[3], abs=0.001), e[4])) for s, e in emitted] == expected


def test_the_event_has_exactly_the_documented_fields():
    assert source.host_event('host_failed', LAB2, T0, T0 + 11.23456, SILENT) == {'live_recovery': {
        'event': 'host_failed', 'host': 'lab2', 'uri': 'qemu+tcp://10.213.0.12/system', 'since': '2027-01-15T08:00:00Z',
        'time': '2027-01-15T08:00:11Z', 'seconds_silent': 11.235, 'error': SILENT}}


@pytest.mark.parametrize('due, interval, now, expected', [
    (100.0, 1.0, 100.2, 101.0),   # a quick probe: the next one on the grid
    (100.0, 1.0, 100.999, 101.0),
    (100.0, 1.0, 102.0, 102.0),   # a probe that took longer than the interval: the next one at once
    (100.0, 0.5, 100.5, 100.5),
])
def test_the_schedule_keeps_to_its_grid(due, interval, now, expected):
    assert source.next_due(due, interval, now) == expected


class FakeHosts(object):
    """probe_host for the source: lab1 answers at once; lab2 answers as self.lab2 says: 'silent' (its probe waits
    0.3 s, as a stopped libvirtd), 'hang' (never returns), 'bug' (raises), or 'up'."""

    def __init__(self):
        self.lab2 = 'up'
        self.asked = {'lab1': [], 'lab2': []}
        self.release = threading.Event()

    def __call__(self, uri, timeout):
        name = 'lab1' if uri == LAB1['uri'] else 'lab2'
        self.asked[name].append(time.time())
        if name == 'lab1' or self.lab2 == 'up':
            return None
        if self.lab2 == 'bug':
            raise KeyError('a bug')
        if self.lab2 == 'hang':
            self.release.wait(10)
            return None
        time.sleep(0.3)
        return SILENT


def run_source(monkeypatch, script, args):
    """Run main() with FakeHosts; script(hosts, queue) drives it. Returns script's result."""
    hosts = FakeHosts()
    monkeypatch.setattr(source, 'probe_host', hosts)

    async def go():
        queue = asyncio.Queue()
        task = asyncio.ensure_future(source.main(queue, args))
        try:
            return await script(hosts, queue)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            hosts.release.set()
    return asyncio.run(go())


def test_a_silent_host_fails_once_comes_back_and_never_slows_the_others(monkeypatch):
    args = {'hosts': [LAB1, LAB2], 'grace': 0.5, 'interval': 0.05, 'timeout': 0.3}

    async def script(hosts, queue):
        await asyncio.sleep(0.2)
        hosts.lab2, stopped = 'silent', time.time()
        failed = (await asyncio.wait_for(queue.get(), 5))['live_recovery']
        detected = time.time() - stopped
        await asyncio.sleep(0.7)  # still silent: no second event
        assert queue.empty()
        during = [t for t in hosts.asked['lab1'] if stopped < t < time.time()]
        lab2_probes = len([t for t in hosts.asked['lab2'] if t > stopped])
        hosts.lab2 = 'up'
        returned = (await asyncio.wait_for(queue.get(), 5))['live_recovery']
        return failed, detected, during, lab2_probes, returned

    failed, detected, during, lab2_probes, returned = run_source(monkeypatch, script, args)
    assert (failed['event'], failed['host'], failed['uri'], failed['error']) == ('host_failed', 'lab2', LAB2['uri'], SILENT)
    assert 0.5 <= failed['seconds_silent'] < 1.5 and 0.5 <= detected < 2.0
    assert (returned['event'], returned['host'], returned['since']) == ('host_back', 'lab2', failed['since'])
    # lab1 kept its 0.05 s schedule (about 27 probes in 1.35 s) while each of lab2's took 0.3 s (waiting for lab2
    # would give lab1 one probe every 0.3 s, 5 in all).
    gaps = sorted(b - a for a, b in zip(during, during[1:]))
    assert len(during) >= 12 and gaps[len(gaps) // 2] < 0.1, gaps
    assert 3 <= lab2_probes <= 8


def test_a_hung_call_counts_as_silence_and_a_bug_neither_counts_nor_stops_the_source(monkeypatch, caplog):
    monkeypatch.setattr(source, 'CALL_SECONDS', 0.1)
    args = {'hosts': [LAB1, LAB2], 'grace': 0.3, 'interval': 0.05, 'timeout': 0.1}

    async def script(hosts, queue):
        hosts.lab2 = 'bug'
        await asyncio.sleep(0.6)  # more than grace of bugs: no event, the source goes on
        assert queue.empty()
        hosts.lab2 = 'hang'
        failed = (await asyncio.wait_for(queue.get(), 5))['live_recovery']
        hosts.lab2 = 'up'
        hosts.release.set()
        return failed, (await asyncio.wait_for(queue.get(), 5))['live_recovery']

    failed, returned = run_source(monkeypatch, script, args)
    assert (failed['event'], failed['host'], failed['error']) == (
        'host_failed', 'lab2', 'no answer within 0.2 s (the connection opened, its call hangs)')
    assert (returned['event'], returned['host']) == ('host_back', 'lab2')
    bugs = [r for r in caplog.records if 'could not be probed' in r.getMessage()]
    assert bugs and bugs[0].exc_info[0] is KeyError
