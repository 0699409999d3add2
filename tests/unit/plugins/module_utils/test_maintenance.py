# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""migration.maintenance: the host state host_maintenance stores, its parameters, its changes and words."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.common.converger import Change
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.host.maintenance_state import (
    DEFAULT_STATE, parse_host_state)
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.maintenance import (
    MaintenanceConverger, Move, check_parameters, describe_maintenance, state_change, wanted_state)

NOW = '2026-11-24T05:00:00Z'
IN = {'maintenance': True, 'reason': 'DIMM', 'since': '2026-11-20T00:00:00Z'}
UNREADABLE = parse_host_state(b'garbage')


def params(**given):
    result = {'state': 'present', 'reason': '', 'evacuate': False, 'destinations': None, 'servers': None,
              'concurrency': 2, 'memory_overcommit': 1.0, 'vcpu_overcommit': 4.0}
    result.update(given)
    return result


def test_entering_records_reason_and_time():
    assert wanted_state(params(reason='DIMM'), DEFAULT_STATE, NOW) == {'maintenance': True, 'reason': 'DIMM',
                                                                       'since': NOW}


def test_staying_keeps_the_time_it_entered_and_its_reason():
    assert wanted_state(params(), IN, NOW) == IN


def test_leaving_clears_the_state():
    assert wanted_state(params(state='absent', reason='x'), IN, NOW) == dict(DEFAULT_STATE)


@pytest.mark.parametrize('state, reason, after, words', [
    ('present', '', {'maintenance': True, 'reason': '', 'since': NOW}, 'unreadable host state rewritten'),
    ('present', 'DIMM', {'maintenance': True, 'reason': 'DIMM', 'since': NOW}, 'unreadable host state rewritten'),
    ('absent', '', dict(DEFAULT_STATE), 'maintenance left'),
])
def test_an_unreadable_state_is_rewritten(state, reason, after, words):
    """Its reason (our explanation) is not kept as the operator's, nor is it left in place unchanged."""
    wanted = wanted_state(params(state=state, reason=reason), UNREADABLE, NOW)
    assert wanted == after
    assert describe_maintenance(state_change(UNREADABLE, wanted)) == words


@pytest.mark.parametrize('before, after, change', [
    (DEFAULT_STATE, dict(IN), Change('maintenance', False, True, None)),
    (IN, dict(DEFAULT_STATE), Change('maintenance', True, False, None)),
    (IN, dict(IN, reason='fan'), Change('reason', 'DIMM', 'fan', None)),
    (IN, dict(IN), None),
    (DEFAULT_STATE, dict(DEFAULT_STATE), None),
])
def test_state_change(before, after, change):
    assert state_change(before, after) == change


@pytest.mark.parametrize('change, words', [
    (Change('maintenance', False, True, None), 'maintenance entered'),
    (Change('maintenance', True, False, None), 'maintenance left'),
    (Change('reason', 'DIMM', 'fan', None), 'reason updated'),
    (Change('server', 'uri1', Move('web1', 'uri2', ['live-migrated']), None), 'web1 live-migrated to uri2'),
    (Change('server', 'uri1', Move('db1', 'uri3', ['shut down', 'definition moved']), None),
     'db1 shut down, definition moved to uri3'),
])
def test_words_of_a_change(change, words):
    assert describe_maintenance(change) == words


@pytest.mark.parametrize('changed, message', [
    ({'reason': 'rack 4\x1b]0;owned\x07'}, 'reason must not contain control characters or line breaks'),
    ({'reason': 'one\ntwo'}, 'reason must not contain control characters or line breaks'),
    ({'reason': 'x' * 1001}, 'reason has 1001 characters; at most 1000'),
    ({'memory_overcommit': float('nan')}, 'memory_overcommit must be a number greater than 0, got nan'),
    ({'vcpu_overcommit': float('inf')}, 'vcpu_overcommit must be a number greater than 0, got inf'),
    ({'vcpu_overcommit': 0.0}, 'vcpu_overcommit must be a number greater than 0'),
    ({'memory_overcommit': -1.0}, 'memory_overcommit must be a number greater than 0'),
    ({'evacuate': True, 'destinations': []}, 'evacuate needs destinations'),
    ({'evacuate': True, 'destinations': ['uri2'], 'concurrency': 0}, 'concurrency must be at least 1, got 0'),
])
def test_parameters_refused_before_anything_changes(changed, message):
    with pytest.raises(VirtualIronError, match=message):
        check_parameters(params(reason='DIMM', **changed) if 'reason' not in changed else params(**changed))


def test_leaving_ignores_the_evacuation_parameters():
    check_parameters(params(state='absent', evacuate=True, destinations=[], concurrency=0))


class HostWithState(object):
    """The test hypervisor with a secret store holding the host's state (stored: bytes, or None)."""

    def __init__(self, conn, stored=None):
        self.conn, self.stored = conn, stored

    def secretLookupByUsage(self, _type, _usage):
        return None if self.stored is None else self

    def secretDefineXML(self, _xml):
        return self

    def value(self):
        return self.stored

    def setValue(self, value):
        self.stored = value

    def __getattr__(self, name):
        return getattr(self.conn, name)


@pytest.mark.parametrize('stored, given, check_mode, changes, maintenance', [
    (None, {'reason': 'DIMM'}, False, ['maintenance entered'], True),
    (None, {'reason': 'DIMM'}, True, ['maintenance entered'], None),
    (IN, {}, False, [], True),
    (IN, {'reason': 'fan'}, False, ['reason updated'], True),
    (IN, {'state': 'absent'}, False, ['maintenance left'], False),
    (IN, {'state': 'absent'}, True, ['maintenance left'], True),
    (b'garbage', {}, False, ['unreadable host state rewritten'], True),
])
def test_converger_stores_the_state_and_says_what_changed(conn, stored, given, check_mode, changes, maintenance):
    host = HostWithState(conn, json.dumps(stored).encode() if isinstance(stored, dict) else stored)
    result = MaintenanceConverger(host, params(**given), check_mode).run()
    assert (result['changed'], result['changes'], 'diff' in result) == (bool(changes), changes, False)
    assert (json.loads(host.stored)['maintenance'] if host.stored else None) == maintenance


def test_diff_shows_the_state_before_and_after_only_when_asked(conn):
    result = MaintenanceConverger(HostWithState(conn, json.dumps(IN).encode()), params(state='absent'),
                                  diff=True).run()
    assert result['diff'] == {'before': IN, 'after': dict(DEFAULT_STATE)}
