# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One LiveCapacity cycle, live_capacity's run: read the rack (hosts, their running servers and the servers'
policies), the utilization history and the moves of earlier cycles, let capacity/decisions.py decide, make the
moves (migration/move.py), and append every decision, taken or refused, to the event log."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import concurrent.futures
import time

from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.decisions import DEFAULT_OPTIONS, decide
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.events import (
    append_events, format_time, parse_time, read_events)
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.prometheus import open_backend
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.policy import resolve_policy
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import close_connection, libvirt, open_connection
from ansible_collections.virtualiron.infra.plugins.module_utils.common.converger import Converger
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.host.maintenance_state import (
    read_host_state, write_host_state)
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.decisions import disk_live_problems
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.evacuation import host_placement
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.maintenance import wanted_state
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.move import migrate_many
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.options import migration_options
from ansible_collections.virtualiron.infra.plugins.module_utils.server.describe import power_state, saved_xml
from ansible_collections.virtualiron.infra.plugins.module_utils.server.domain_xml import parse_server

MOVE_EVENT, REFUSED_EVENT, MAINTENANCE_EVENT = 'capacity.move', 'capacity.refused', 'capacity.maintenance'
# How far back the moves of earlier cycles are read: the longest cooldown anyone would set.
COOLDOWN_LOOKBACK = 7 * 86400


# ---------------------------------------------------------------- reading the rack

def read_host(target, storage, connect_timeout):
    """(host, servers) of one host for decide(): its placement figures, and its running servers with what each
    needs, its tags and its own policy, and whether it can move live (a host that does not answer: no servers,
    and the reason it takes none)."""
    host, servers = host_placement(target['name'], target['uri'], connect_timeout, lambda conn: [
        read_server(dom, target['name'], storage) for dom in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)])
    return host, servers or []


def read_server(dom, host_name, storage=None):
    """A running server as LiveCapacity sees it: what it needs, its tags and policy, whether it can move live."""
    spec = parse_server(saved_xml(dom))
    info = dom.info()
    problems = disk_live_problems(spec, storage)
    # A suspended server is active too: it keeps its memory (host_load counts it) but takes no CPU, and stays.
    return {'name': spec['name'], 'host': host_name, 'state': power_state(dom), 'vcpus': info[3], 'memory': info[2] * 1024,
            'tags': spec['tags'], 'capacity_policy': spec['capacity_policy'], 'live_migratable': not problems,
            'why_not_live': '; '.join(problems)}


def read_rack(targets, storage, connect_timeout, workers=20):
    """decide()'s snapshot of every host, read in parallel, in the order given (ties go to the host listed first)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(workers, len(targets)))) as pool:
        read = list(pool.map(lambda t: read_host(t, storage, connect_timeout), targets))
    return {'hosts': [host for host, _servers in read], 'servers': [s for _host, servers in read for s in servers]}


def with_policies(servers, params):
    """The servers with their resolved policies (the server's own, its tags', its groups', its host's, the
    default's) and when LiveCapacity last moved each."""
    groups_of = {}
    for group, members in sorted((params['groups'] or {}).items()):
        for name in members or []:
            groups_of.setdefault(name, []).append(group)
    return [dict(server, policy=resolve_policy(server, server['capacity_policy'], params['tag_policies'],
                                               params['group_policies'], params['host_policies'],
                                               groups_of.get(server['name'], [])))
            for server in servers]


def last_moves(events_path, now):
    """{server: epoch seconds of its last LiveCapacity move} from the event log."""
    moved = {}
    events, _skipped = read_events(events_path, since=now - COOLDOWN_LOOKBACK, kinds=[MOVE_EVENT])
    for event in events:
        if not (event['figures'] or {}).get('failed'):
            moved[event['server']] = parse_time(event['time'])
    return moved


def history_window(params, servers, now, interval):
    """The samples decide() reads: the longest window of the servers' policies, and two intervals before it, from
    the history params choose (the SQLite file or Prometheus)."""
    minutes = [rule['minutes'] for s in servers for rule in (s['policy']['more'], s['policy']['less']) if rule]
    since = now - max(minutes or [0]) * 60 - 2 * interval
    with open_backend(params, interval) as history:
        return history.samples(since=since, until=now, kind='server')


# ---------------------------------------------------------------- the cycle

class LiveCapacity(Converger):
    """Where the rack's running servers are, brought to what the policies ask: before and after are
    {server: host}; each move is a change of the server's host."""

    result_key = 'placement'

    def __init__(self, params, check_mode=False, diff=False):
        super(LiveCapacity, self).__init__(None, params, check_mode, diff)
        self.uris = dict((t['name'], t['uri']) for t in params['hosts'])
        self.options = dict((k, params[k]) for k in DEFAULT_OPTIONS)
        self.now = time.time()
        self.plan = self.moves = None

    def read(self):
        snapshot = read_rack(self.params['hosts'], self.params['storage'], self.params['connect_timeout'])
        moved = last_moves(self.params['events'], self.now)
        servers = with_policies(snapshot['servers'], self.params)
        snapshot['servers'] = [dict(s, last_moved=moved.get(s['name'])) for s in servers]
        samples = history_window(self.params, snapshot['servers'], self.now, self.options['interval'])
        self.plan = decide(snapshot, samples, self.options, self.now)
        return dict((s['name'], s['host']) for s in snapshot['servers'])

    def converge(self, before):
        jobs = [(self.uris[m['source']], self.uris[m['destination']], m['server']) for m in self.plan['moves']]
        for move in self.plan['moves']:
            self.changes.add(move['server'], move['source'], move['destination'])
        self.moves = migrate_many(jobs, migration_options(self.params), self.params['concurrency'], self.check_mode)
        failed = set(self.moves['failed_servers'])
        after = dict(before, **dict((m['server'], m['destination']) for m in self.plan['moves']
                                    if m['server'] not in failed))
        emptied = [h for h in self.plan['emptied_hosts'] if h not in after.values()]
        if self.params['maintenance_emptied']:
            for host in emptied:
                self.act(host, False, True, self._enter_maintenance, host)
        if not self.check_mode:
            append_events(self.params['events'], self._events(failed, emptied))
        return after

    def describe(self, change):
        if change.old is False:
            return 'host %s put in maintenance (emptied)' % change.field
        return '%s moved from %s to %s' % change[:3]

    def run(self):
        """A move that failed fails the task, after every other move was made and every decision logged."""
        result = super(LiveCapacity, self).run()
        if result['failed_servers']:
            raise VirtualIronError('%d moves failed: %s' % (len(result['failed_servers']), '; '.join(
                '%s (%s)' % (r['name'], r['msg']) for r in result['results'] if r['failed'])), result)
        return result

    def result(self, before, after):
        result = super(LiveCapacity, self).result(before, after)
        result.update(plan=self.plan, results=self.moves['results'], failed_servers=self.moves['failed_servers'])
        return result

    def _enter_maintenance(self, host):
        conn = open_connection(self.uris[host], self.params['connect_timeout'])
        try:
            state = wanted_state({'state': 'present', 'reason': 'emptied by LiveCapacity'}, read_host_state(conn),
                                 format_time())
            write_host_state(conn, state)
        finally:
            close_connection(conn)

    def _events(self, failed, emptied):
        """Every decision of the cycle, in the event log's fields."""
        results = dict((r['name'], r) for r in self.moves['results'])
        events = []
        for move in self.plan['moves']:
            outcome = results.get(move['server'], {})
            figures = dict(move['figures'], direction=move['direction'], failed=move['server'] in failed,
                           duration_seconds=outcome.get('duration_seconds'), error=outcome.get('msg'),
                           migration_seconds=outcome.get('migration_seconds'), downtime_ms=outcome.get('downtime_ms'))
            events.append({'time': self.now, 'kind': MOVE_EVENT, 'server': move['server'], 'reason': move['reason'],
                           'hosts': {'source': move['source'], 'destination': move['destination']},
                           'figures': figures})
        events.extend({'time': self.now, 'kind': REFUSED_EVENT, 'server': r['server'], 'hosts': {'source': r['host']},
                       'reason': r['reason'], 'figures': {'direction': r['direction']}} for r in self.plan['refused'])
        if self.params['maintenance_emptied']:
            events.extend({'time': self.now, 'kind': MAINTENANCE_EVENT, 'server': None, 'hosts': {'source': host},
                           'reason': 'emptied by consolidation', 'figures': {}} for host in emptied)
        return events
