# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_maintenance: the state it stores and the evacuation plan it makes."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.host.maintenance_state import DEFAULT_STATE, parse_host_state
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.modules.host_maintenance import (
    check_parameters, evacuation_plan, state_changes, wanted_state)

NOW = '2026-11-24T05:00:00Z'
GIB = 1024 ** 3
LIMITS = {'memory_overcommit': 1.0, 'vcpu_overcommit': 4.0}


def test_entering_records_reason_and_time():
    assert wanted_state({'state': 'present', 'reason': 'DIMM'}, DEFAULT_STATE, NOW) == {
        'maintenance': True, 'reason': 'DIMM', 'since': NOW}


def test_staying_keeps_the_time_it_entered_and_its_reason():
    current = {'maintenance': True, 'reason': 'DIMM', 'since': 'earlier'}
    assert wanted_state({'state': 'present', 'reason': ''}, current, NOW) == current


def test_leaving_clears_the_state():
    current = {'maintenance': True, 'reason': 'DIMM', 'since': 'earlier'}
    assert wanted_state({'state': 'absent', 'reason': 'x'}, current, NOW) == dict(DEFAULT_STATE)


UNREADABLE = parse_host_state(b'garbage')


@pytest.mark.parametrize('state, reason, after, changes', [
    ('present', '', {'maintenance': True, 'reason': '', 'since': NOW}, ['unreadable host state rewritten']),
    ('present', 'DIMM', {'maintenance': True, 'reason': 'DIMM', 'since': NOW}, ['unreadable host state rewritten']),
    ('absent', '', dict(DEFAULT_STATE), ['maintenance left']),
])
def test_an_unreadable_state_is_rewritten(state, reason, after, changes):
    """Its reason (our explanation) is not kept as the operator's, nor is it left in place unchanged."""
    wanted = wanted_state({'state': state, 'reason': reason}, UNREADABLE, NOW)
    assert wanted == after
    assert state_changes(UNREADABLE, wanted) == changes


@pytest.mark.parametrize('changed, message', [
    ({'reason': 'rack 4\x1b]0;owned\x07'}, 'reason must not contain control characters or line breaks'),
    ({'reason': 'one\ntwo'}, 'reason must not contain control characters or line breaks'),
    ({'reason': 'x' * 1001}, 'reason has 1001 characters; at most 1000'),
    ({'memory_overcommit': float('nan')}, 'memory_overcommit must be a number greater than 0, got nan'),
    ({'vcpu_overcommit': float('inf')}, 'vcpu_overcommit must be a number greater than 0, got inf'),
    ({'vcpu_overcommit': 0.0}, 'vcpu_overcommit must be a number greater than 0'),
    ({'memory_overcommit': -1.0}, 'memory_overcommit must be a number greater than 0'),
])
def test_parameters_refused_before_anything_changes(changed, message):
    params = dict({'reason': 'DIMM'}, **LIMITS)
    params.update(changed)
    with pytest.raises(VirtualIronError, match=message):
        check_parameters(params)


def test_plan_lists_what_does_not_fit():
    servers = [{'name': 'big', 'memory': 20 * GIB, 'vcpus': 1}, {'name': 'small', 'memory': GIB, 'vcpus': 1}]
    hosts = [{'name': 'uri2', 'memory': 16 * GIB, 'cpus': 2, 'memory_used': 0, 'vcpus_used': 0, 'unavailable': None}]
    placements, not_moved = evacuation_plan(servers, hosts, LIMITS)
    assert placements == {'small': 'uri2'}
    assert not_moved == [{'name': 'big', 'reason': 'no host can take it: uri2 lacks memory'}]
