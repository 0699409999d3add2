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

from ansible_collections.virtualiron.infra.plugins.module_utils.libvirt_connection import (
    VirtualIronError, is_libvirt_error, libvirt)

STATE_USAGE = 'virtualiron-host-state'
DEFAULT_STATE = {'maintenance': False, 'reason': '', 'since': None}
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
    """The host's state: DEFAULT_STATE's keys, filled from what is stored."""
    state = dict(DEFAULT_STATE)
    secret = _secret(conn)
    if secret is not None:
        try:
            state.update(json.loads(secret.value().decode('utf-8')))
        except libvirt.libvirtError as e:
            if not is_libvirt_error(e, libvirt.VIR_ERR_NO_SECRET):  # defined, value never set
                raise
        except ValueError as e:
            raise VirtualIronError('the host state kept in libvirt secret %s is not JSON: %s' % (STATE_USAGE, e))
    return state


def write_host_state(conn, state):
    """Store the host's state (keys of DEFAULT_STATE)."""
    unknown = set(state) - set(DEFAULT_STATE)
    if unknown:
        raise VirtualIronError('unknown host state keys: %s' % ', '.join(sorted(unknown)))
    secret = _secret(conn) or conn.secretDefineXML(_SECRET_XML)
    secret.setValue(json.dumps(dict(DEFAULT_STATE, **state), sort_keys=True).encode('utf-8'))
