# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Emptying a host: the servers it has to move, the load of the hosts they may go to, the plan
(migration.placement) and the moves, at most `concurrency` at a time."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    CONNECT_TIMEOUT, close_connection, libvirt, open_connection)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.host.maintenance_state import read_host_state
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.facts import node_memory
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.move import migrate_many
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.options import migration_options
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.placement import place


def host_load(conn):
    """A host's figures for placement: its memory and CPUs, and what its running servers use."""
    # The node's memory statistics, not virNodeGetInfo: that one reports only the memory of the
    # host's NUMA cells that libvirt could read (a fraction of it in some containers).
    infos = [dom.info() for dom in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)]
    return {'memory': node_memory(conn)['total_bytes'], 'cpus': conn.getInfo()[2],
            'memory_used': sum(i[2] for i in infos) * 1024, 'vcpus_used': sum(i[3] for i in infos)}


def host_placement(name, uri, connect_timeout=CONNECT_TIMEOUT, also=None):
    """(host, also(conn)): the host's placement figures, or why it takes nothing (maintenance, unreachable), and
    what also reads while the connection is open (None when there is no also or the host does not answer)."""
    host = {'name': name, 'memory': 0, 'cpus': 0, 'memory_used': 0, 'vcpus_used': 0, 'unavailable': None}
    try:
        conn = open_connection(uri, connect_timeout)
    except VirtualIronError as e:
        host['unavailable'] = 'is unreachable (%s)' % e
        return host, None
    try:
        host.update(host_load(conn))
        if read_host_state(conn)['maintenance']:
            host['unavailable'] = 'is in maintenance'
        return host, also(conn) if also else None
    finally:
        close_connection(conn)


def candidate_hosts(uris, connect_timeout=CONNECT_TIMEOUT):
    """Placement figures of each destination host (named by its URI), or why it takes nothing."""
    return [host_placement(uri, uri, connect_timeout)[0] for uri in uris]


def servers_to_move(conn, move_stopped, names=None):
    """The host's servers an evacuation moves (only those named, if names is given), with what each needs of
    its next host: a running server its memory and vCPUs; a stopped one nothing until it starts."""
    servers = []
    for dom in conn.listAllDomains(0):
        if names is not None and dom.name() not in names:
            continue
        active = bool(dom.isActive())
        if not active and not (move_stopped and dom.isPersistent()):
            continue
        info = dom.info()
        servers.append({'name': dom.name(), 'running': active,
                        'memory': info[2] * 1024 if active else 0, 'vcpus': info[3] if active else 0})
    return sorted(servers, key=lambda s: s['name'])


def evacuation_plan(servers, hosts, params):
    """(placements {name: URI}, not_moved [{name, reason}]) from the placement function."""
    placements, unplaced = place(servers, hosts, params['memory_overcommit'], params['vcpu_overcommit'])
    not_moved = [{'name': name, 'reason': reason} for name, reason in sorted(unplaced.items())]
    return placements, not_moved


def evacuate(params, servers, check_mode=False):
    """Move the servers of the host params['uri'] that fit on params['destinations'] (the host itself left
    out), at most params['concurrency'] at a time. Returns the evacuation's part of host_maintenance's result;
    its results say what each move did."""
    started = time.time()
    destinations = [u for u in params['destinations'] if u != params['uri']]
    placements, not_moved = evacuation_plan(servers, candidate_hosts(destinations, params['connect_timeout']), params)
    jobs = [(params['uri'], placements[s['name']], s['name']) for s in servers if s['name'] in placements]
    moves = migrate_many(jobs, migration_options(params), params['concurrency'], check_mode)
    not_moved.extend({'name': r['name'], 'reason': r['msg']} for r in moves['results'] if r['failed'])
    return {
        'placements': placements,
        'moved': [r['name'] for r in moves['results'] if not r['failed']],
        'not_moved': sorted(not_moved, key=lambda n: n['name']),
        'results': moves['results'],
        'duration_seconds': round(time.time() - started, 3),
    }
