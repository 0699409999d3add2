# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's own state of a hypervisor host (maintenance mode), kept on the host itself.

libvirt has no metadata for a host, only for its objects. The state is kept in a libvirt secret of the
host (usage type tls, usage name below, not private), whose value is a small JSON document. So every
run and every inventory sees it through the same libvirt connection, on any URI, with no other store,
and it survives restarts of libvirtd. `virsh secret-list` shows it; it holds nothing secret.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    VirtualIronError, is_libvirt_error, libvirt)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.validation import check_free_text

STATE_USAGE = 'virtualiron-host-state'
DEFAULT_STATE = {'maintenance': False, 'reason': '', 'since': None}
MAX_REASON_LENGTH = 1000
# What write_host_state stores is far smaller; whoever else writes the secret may store up to libvirt's
# 64 KiB of anything, which inventories must still list.
MAX_STATE_BYTES = 8 * 1024
SINCE_RE = re.compile(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ')
_SECRET_XML = ("<secret ephemeral='no' private='no'><description>virtualiron.infra host state "
               "(maintenance mode); not a secret</description><usage type='tls'><name>%s</name></usage></secret>"
               % STATE_USAGE)


def _secret(conn):
    try:
        return conn.secretLookupByUsage(libvirt.VIR_SECRET_USAGE_TYPE_TLS, STATE_USAGE)
    except libvirt.libvirtError as e:
        # No secret yet, or a driver without secrets (libvirt's test driver): the default state.
        if is_libvirt_error(e, libvirt.VIR_ERR_NO_SECRET, libvirt.VIR_ERR_NO_SUPPORT):
            return None
        raise


def read_host_state(conn):
    """The host's state: DEFAULT_STATE's keys, filled from what is stored (see parse_host_state)."""
    secret = _secret(conn)
    if secret is None:
        return dict(DEFAULT_STATE)
    try:
        return parse_host_state(secret.value())
    except libvirt.libvirtError as e:
        if is_libvirt_error(e, libvirt.VIR_ERR_NO_SECRET):  # defined, value never set
            return dict(DEFAULT_STATE)
        raise


def parse_host_state(value):
    """A stored value (bytes) -> the state. A value write_host_state would not have stored (not JSON, nested
    without end, other keys or types, a reason that is not one line of text) is reported as an unreadable
    state: in maintenance, so that no placement picks a host whose state is unknown, with no time since, so
    that host_maintenance rewrites it (see is_unreadable)."""
    try:
        if len(value) > MAX_STATE_BYTES:
            raise ValueError('%d bytes, more than %d' % (len(value), MAX_STATE_BYTES))
        stored = json.loads(value.decode('utf-8'))
        if not isinstance(stored, dict) or set(stored) - set(DEFAULT_STATE):
            raise ValueError('not an object of %s' % ', '.join(sorted(DEFAULT_STATE)))
        return check_host_state(dict(DEFAULT_STATE, **stored))
    except (ValueError, RecursionError, VirtualIronError) as e:  # UnicodeDecodeError is a ValueError
        return {'maintenance': True, 'since': None,
                'reason': 'unreadable host state in libvirt secret %s (%s); host_maintenance rewrites it'
                          % (STATE_USAGE, str(e)[:200])}


def is_unreadable(state):
    """Whether the state is parse_host_state's unreadable one: write_host_state stores since with maintenance."""
    return state['maintenance'] and not state['since']


def check_reason(reason):
    """Why a host is in maintenance: one line of text, at most MAX_REASON_LENGTH characters."""
    check_free_text(reason, 'reason', multiline=False)
    if len(reason) > MAX_REASON_LENGTH:
        raise VirtualIronError('reason has %d characters; at most %d' % (len(reason), MAX_REASON_LENGTH))
    return reason


def check_host_state(state):
    """A host state to store, or read back: its keys with their types; returns it."""
    if not isinstance(state['maintenance'], bool):
        raise VirtualIronError('maintenance must be true or false')
    check_reason(state['reason'])
    if state['since'] is not None and not (isinstance(state['since'], str) and SINCE_RE.fullmatch(state['since'])):
        raise VirtualIronError('since must be a UTC time like 2026-11-24T05:00:00Z')
    return state


def write_host_state(conn, state):
    """Store the host's state (keys of DEFAULT_STATE)."""
    unknown = set(state) - set(DEFAULT_STATE)
    if unknown:
        raise VirtualIronError('unknown host state keys: %s' % ', '.join(sorted(unknown)))
    state = check_host_state(dict(DEFAULT_STATE, **state))
    secret = _secret(conn) or conn.secretDefineXML(_SECRET_XML)
    secret.setValue(json.dumps(state, sort_keys=True).encode('utf-8'))
