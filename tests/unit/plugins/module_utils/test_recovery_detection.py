# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""LiveRecovery's failure detection: the tracker's states over a series of probes, and the one-shot watch."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.recovery import detection
from ansible_collections.virtualiron.infra.plugins.module_utils.recovery.detection import FailureTracker, watch_hosts


@pytest.mark.parametrize('probes, events, final', [
    ([(0, None), (1, None)], [None, None], 'up'),
    ([(0, 'refused'), (5, 'refused'), (9.9, 'refused')], [None, None, None], 'unanswered'),
    ([(0, 'refused'), (5, 'refused'), (10, 'refused'), (11, 'refused')], [None, None, 'failed', None], 'failed'),
    # An answer within the grace period starts the count again.
    ([(0, 'x'), (9, None), (10, 'x'), (19, 'x'), (20, 'x')], [None, None, None, None, 'failed'], 'failed'),
    ([(0, 'x'), (10, 'x'), (11, None)], [None, 'failed', 'back'], 'up'),
    ([(0, 'x'), (5, None)], [None, None], 'up'),  # never failed: no 'back'
])
def test_tracker(probes, events, final):
    tracker = FailureTracker(10)
    assert [tracker.observe('h', error, now) for now, error in probes] == events
    assert tracker.state('h')['state'] == final


def test_tracker_assume_silent_fails_at_first_missed_probe():
    tracker = FailureTracker(10)
    tracker.assume_silent('h', 90)
    assert tracker.observe('h', 'refused', 100) == 'failed'


class FakeTime(object):
    def __init__(self):
        self.now = 1000.0

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


@pytest.mark.parametrize('already, answers, expected_state, expected_elapsed', [
    ((), {'a': [None], 'b': [None]}, {'a': 'up', 'b': 'up'}, 0),
    ((), {'a': [None], 'b': ['x'] * 20}, {'a': 'up', 'b': 'failed'}, 3),
    ((), {'a': [None], 'b': ['x', 'x', None]}, {'a': 'up', 'b': 'up'}, 2),
    (('b',), {'a': [None], 'b': ['x']}, {'a': 'up', 'b': 'failed'}, 0),
    (('b',), {'a': [None], 'b': [None]}, {'a': 'up', 'b': 'up'}, 0),
])
def test_watch_hosts(monkeypatch, already, answers, expected_state, expected_elapsed):
    fake = FakeTime()
    asked = dict((name, list(seq)) for name, seq in answers.items())
    monkeypatch.setattr(detection, 'probe_host', lambda uri, timeout: asked[uri].pop(0))
    hosts = [{'name': n, 'uri': n} for n in sorted(answers)]
    states = watch_hosts(hosts, 3, 1, 0.5, already_silent=already, clock=fake.clock, sleep=fake.sleep)
    assert dict((n, s['state']) for n, s in states.items()) == expected_state
    assert fake.now - 1000.0 == expected_elapsed
