# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host state kept in a libvirt secret: what any value there reads as, and what may be stored."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.host import facts as host_facts
from ansible_collections.virtualiron.infra.plugins.module_utils.host.maintenance_state import (
    DEFAULT_STATE, read_host_state, write_host_state)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError


class Secret(object):
    def __init__(self, value):
        self.stored = value

    def value(self):
        return self.stored

    def setValue(self, value):
        self.stored = value


class WithSecret(object):
    """A connection (libvirt's test driver has no secrets) whose host state secret holds `value`."""

    def __init__(self, conn, value):
        self.conn, self.secret = conn, Secret(value)

    def secretLookupByUsage(self, _usage_type, _usage):
        return self.secret

    def __getattr__(self, name):
        return getattr(self.conn, name)


STORED = {'maintenance': True, 'reason': 'DIMM in slot 3', 'since': '2026-11-24T05:00:00Z'}


@pytest.mark.parametrize('value, expected', [
    (json.dumps(STORED).encode(), STORED),
    (b'{"maintenance": false}', DEFAULT_STATE),   # written before reason and since were kept
    (b'{}', DEFAULT_STATE),
])
def test_stored_states_read_back(conn, value, expected):
    assert read_host_state(WithSecret(conn, value)) == expected


@pytest.mark.parametrize('value, why', [
    (b'not json', 'Expecting value'),
    (b'\xff\xfe', "can't decode"),
    (b'[' * 3000 + b']' * 3000, 'recursion'),       # nested deeper than the parser goes
    (b'[1, 2]', 'not an object'),
    (b'"ab"', 'not an object'),
    (b'{"maintenance": "no"}', 'maintenance must be true or false'),
    (b'{"maintenance": false, "owner": "x"}', 'not an object'),
    (b'{"reason": "a\\u001b[2Jb"}', 'reason must not contain control characters'),
    (b'{"reason": "two\\nlines"}', 'or line breaks'),
    (b'{"reason": {"x": 1}}', 'reason must be a string'),
    (json.dumps({'reason': 'x' * 1001}).encode(), 'reason has 1001 characters'),
    (b'{"since": "tomorrow"}', 'since must be a UTC time'),
    (b'{"reason": "' + b'x' * 65000 + b'"}', 'bytes, more than'),
])
def test_unreadable_states_read_as_maintenance_saying_why(conn, value, why):
    """Whoever else writes the secret may store anything: reading it never fails, the host takes no placement."""
    state = read_host_state(WithSecret(conn, value))
    assert state['maintenance'] is True and state['since'] is None
    assert state['reason'].startswith('unreadable host state in libvirt secret virtualiron-host-state (')
    assert why in state['reason'] and len(state['reason']) < 400


def test_an_unreadable_state_does_not_break_the_host_facts(conn):
    """The inventory and host_info list the host, in maintenance, instead of failing."""
    facts = host_facts.host_facts(WithSecret(conn, b'[' * 3000 + b']' * 3000))
    assert facts['maintenance']['maintenance'] is True
    assert facts['hypervisor']['type']


@pytest.mark.parametrize('state, message', [
    ({'reason': 'line\nbreak'}, 'reason must not contain control characters or line breaks'),
    ({'reason': 'x' * 1001}, 'reason has 1001 characters; at most 1000'),
    ({'maintenance': 'yes'}, 'maintenance must be true or false'),
])
def test_only_well_formed_states_are_stored(conn, state, message):
    target = WithSecret(conn, b'{}')
    with pytest.raises(VirtualIronError, match=message):
        write_host_state(target, state)
    assert target.secret.stored == b'{}'
