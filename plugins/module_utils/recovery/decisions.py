# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a recovery must do, as pure functions over plain data: which servers a failed host had (from the
definition store), which of them restart where (by priority, through the placement function), and which are
reported instead: unprotected, already running elsewhere, their host not fenced, or no room anywhere.

Never twice: a server runs on at most one host. A server is restarted only when its failed host is fenced (powered
off and confirmed so) and no answering host runs it; the lock manager's disk leases refuse a start that slips past."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.virtualiron.infra.plugins.module_utils.migration.placement import place


def belongs_to(record, host):
    """True when the store says the server is defined on host ({'name', 'uri'})."""
    where = record.get('host') or {}
    return where.get('uri') == host['uri'] or where.get('name') == host['name']


def plan_recovery(failed, records, hosts, running, memory_overcommit=1.0, vcpu_overcommit=4.0):
    """failed: [{'name', 'uri', 'fenced' (bool), 'why' (why not fenced, or None)}]; records: {uuid: store record};
    hosts: placement figures of the answering hosts (migration.placement's shape, 'unavailable' for maintenance);
    running: {uuid: host name} of the servers the answering hosts run.
    Returns {'restart': [{'server', 'uuid', 'from', 'to', 'priority'}] in the order to start them (priority, highest
    first), 'unplaced', 'unprotected', 'skipped': [{'server', 'uuid', 'from', 'reason'}]}."""
    plan = {'restart': [], 'unplaced': [], 'unprotected': [], 'skipped': []}
    candidates = []
    for host in failed:
        for record in sorted((r for r in records.values() if belongs_to(r, host)), key=lambda r: r['name']):
            entry = {'server': record['name'], 'uuid': record['uuid'], 'from': host['name']}
            reason = _not_restarted(record, host, running)
            if reason == 'unprotected':
                plan['unprotected'].append(dict(entry, reason='its recovery policy does not protect it'))
            elif reason:
                plan['skipped'].append(dict(entry, reason=reason))
            else:
                candidates.append((record, entry))
    hosts = [dict(h) for h in hosts]
    for priority in sorted(set(r['recovery']['priority'] for r, _e in candidates), reverse=True):
        group = [(r, e) for r, e in candidates if r['recovery']['priority'] == priority]
        _place_group(plan, group, hosts, priority, (memory_overcommit, vcpu_overcommit))
    return plan


def _not_restarted(record, host, running):
    """Why a failed host's server is not restarted, or None."""
    if not record['recovery'].get('protected'):
        return 'unprotected'
    if record['uuid'] in running:
        return 'already runs on %s' % running[record['uuid']]
    if not record.get('running'):
        return 'it was stopped when its definition was last saved'
    if not host['fenced']:
        return 'its host %s is not fenced (%s); it may still run there' % (host['name'], host['why'])
    return None


def _place_group(plan, group, hosts, priority, overcommit):
    """Place one priority's servers on the hosts' room left by higher priorities, and take that room."""
    servers = [{'name': r['uuid'], 'memory': r['memory'], 'vcpus': r['vcpus']} for r, _e in group]
    placements, unplaced = place(servers, hosts, *overcommit)
    by_name = dict((h['name'], h) for h in hosts)
    for record, entry in sorted(group, key=lambda g: g[1]['server']):
        target = placements.get(record['uuid'])
        if target is None:
            plan['unplaced'].append(dict(entry, reason=unplaced[record['uuid']]))
            continue
        by_name[target]['memory_used'] += record['memory']
        by_name[target]['vcpus_used'] += record['vcpus']
        plan['restart'].append(dict(entry, to=target, priority=priority))
