# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One LiveRecovery run over every host of the pool: detect the failed hosts (detection.py), read their servers
from the definition store (store.py) and what the answering hosts run, fence the failed hosts (fencing.py), decide
(decisions.py), start the servers by priority, and reconcile the copies a returning host still defines. Each step
goes to the event log (capacity/events.py, the file LiveCapacity writes)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.events import DEFAULT_PATH, append_events
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    close_connection, is_libvirt_error, libvirt, lookup_or_none, on_host, open_connection)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.converger import Converger
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.evacuation import host_placement
from ansible_collections.virtualiron.infra.plugins.module_utils.recovery import store
from ansible_collections.virtualiron.infra.plugins.module_utils.recovery.decisions import plan_recovery
from ansible_collections.virtualiron.infra.plugins.module_utils.recovery.detection import watch_hosts
from ansible_collections.virtualiron.infra.plugins.module_utils.recovery.fencing import fence
from ansible_collections.virtualiron.infra.plugins.module_utils.server.converger import undefine_server

WORDS = {'fence': 'host %s fenced (%s)', 'start': 'server %s restarted on %s',
         'reconcile': 'stale copy of server %s removed from %s'}


def _servers(conn):
    """[(uuid, name, running)] of every server the host defines or runs."""
    return [(dom.UUIDString(), dom.name(), bool(dom.isActive())) for dom in conn.listAllDomains(0)]


def check_parameters(params):
    """Refuse before anything is probed: names that are no host, and times that cannot work."""
    names = [h['name'] for h in params['hosts']]
    twice = sorted(set(n for n in names if names.count(n) > 1))
    if twice:
        raise VirtualIronError('hosts: %s listed twice' % ', '.join(twice))
    for option in ('failed_hosts', 'confirmed_hosts'):
        unknown = sorted(set(params[option]) - set(names))
        if unknown:
            raise VirtualIronError('%s: %s not among hosts' % (option, ', '.join(unknown)))
    for option, least in (('grace_seconds', 0), ('probe_interval', 0.1), ('probe_timeout', 0.1), ('fence_timeout', 1)):
        if not params[option] >= least:  # also refuses NaN
            raise VirtualIronError('%s must be at least %s, got %s' % (option, least, params[option]))


class RecoveryRun(Converger):
    """params: the live_recovery module's; run_command: AnsibleModule.run_command (fence commands)."""

    result_key = 'plan'
    clock = staticmethod(time.time)

    def __init__(self, params, run_command, check_mode=False):
        check_parameters(params)
        super(RecoveryRun, self).__init__(None, params, check_mode)
        self.run_command = run_command
        self.hosts = dict((h['name'], h) for h in params['hosts'])
        self.timeline = {}
        self.events = []
        self.outcome = {'fenced': [], 'restarted': [], 'failed_starts': [], 'reconciled': [], 'runs_twice': [],
                        'store_errors': []}

    # ------------------------------------------------------------ facts
    def read(self):
        started = self.clock()
        self.states = watch_hosts(self.params['hosts'], self.params['grace_seconds'], self.params['probe_interval'],
                                  self.params['probe_timeout'], already_silent=self.params['failed_hosts'])
        self.failed = [self.hosts[n] for n, s in sorted(self.states.items()) if s['state'] == 'failed']
        self.timeline['detection'] = round(self.clock() - started, 3)
        answering = [h for h in self.params['hosts'] if self.states[h['name']]['state'] == 'up']
        with ThreadPoolExecutor(max_workers=max(1, min(32, len(answering)))) as pool:
            read = list(pool.map(lambda h: host_placement(h['name'], h['uri'], self.params['probe_timeout'] + 5,
                                                          _servers), answering))
        self.placement = [p for p, _s in read]
        self.defined = dict((p['name'], servers or []) for p, servers in read)
        self.running = dict((uuid, host) for host, servers in sorted(self.defined.items()) for uuid, _n, on in servers if on)
        self.records = self._read_store(answering)
        return {'failed': [h['name'] for h in self.failed], 'hosts': self.states}

    def _read_store(self, answering):
        """The store's records, read through the first answering host that has it."""
        errors = []
        for host in answering:
            records, error = on_host(host['uri'], lambda conn: store.load(conn, self.params['store']),
                                     self.params['probe_timeout'] + 5)
            if error is None:
                return records
            errors.append(error)
        if self.failed:
            raise VirtualIronError('cannot read the recovery store %s through any answering host: %s'
                                   % (self.params['store'], '; '.join(errors) or 'no host answers'))
        return {}

    # ------------------------------------------------------------ acting
    def converge(self, before):
        self._log_failures()
        if self.failed:
            self._fence_all()
        started = self.clock()
        plan = plan_recovery([dict(h, **self._fence_state(h['name'])) for h in self.failed], self.records,
                             self.placement, self.running, self.params['memory_overcommit'],
                             self.params['vcpu_overcommit'])
        self.timeline['placement'] = round(self.clock() - started, 3)
        started = self.clock()
        if not self.check_mode:
            self._start_all(plan['restart'])
        for entry in plan['restart'] if self.check_mode else self.outcome['restarted']:
            self.changes.add('start', entry['server'], entry['to'])
        self.timeline['starts'] = round(self.clock() - started, 3)
        self._reconcile()
        self._log_plan(plan)
        if self.failed:
            self._event('recovery.run', None, {}, 'failed: %s' % ', '.join(h['name'] for h in self.failed),
                        dict(self.timeline, restarted=len(self.outcome['restarted'])))
        if self.events and not self.check_mode:
            append_events(self.params['events'] or DEFAULT_PATH, self.events)
        return plan

    def _fence_all(self):
        started = self.clock()
        if self.check_mode:
            self.outcome['fenced'] = [{'host': h['name'], 'method': self.params['fencing'], 'fenced': False,
                                       'why': 'check mode', 'acted': False, 'seconds': 0} for h in self.failed]
        else:
            with ThreadPoolExecutor(max_workers=len(self.failed)) as pool:
                self.outcome['fenced'] = list(pool.map(lambda h: fence(h, self.params, self.run_command), self.failed))
        for result in self.outcome['fenced']:
            if result['acted']:
                self.changes.add('fence', result['host'], result['method'])
            self._event('recovery.fenced' if result['fenced'] else 'recovery.not_fenced', None,
                        {'source': result['host']}, result['why'] or 'fenced by %s' % result['method'],
                        {'seconds': result['seconds']})
        self.timeline['fencing'] = round(self.clock() - started, 3)

    def _fence_state(self, name):
        found = [r for r in self.outcome['fenced'] if r['host'] == name]
        # Check mode fences nothing: it shows what a run would do once the hosts are fenced.
        fenced = self.check_mode or bool(found and found[0]['fenced'])
        return {'fenced': fenced, 'why': found[0]['why'] if found else 'not tried'}

    def _start_all(self, restarts):
        """Start the servers on their new hosts, each host's one after the other in priority order, the hosts at the
        same time (starting several at once on one host finished sooner in total, 4.2 s against 5.8 s for ten, but
        no longer in priority order)."""
        by_host = {}
        for entry in restarts:
            by_host.setdefault(entry['to'], []).append(entry)
        with ThreadPoolExecutor(max_workers=len(by_host) or 1) as pool:
            for started in pool.map(self._start_on, sorted(by_host.items())):
                self.outcome['restarted'].extend(started)
        self.outcome['restarted'].sort(key=lambda e: (-e['priority'], e['server']))

    def _start_on(self, host_entries):
        """One host's starts; then their records in the store say where they run (off the path to running)."""
        host, entries = host_entries
        conn = open_connection(self.hosts[host]['uri'], self.params['probe_timeout'] + 5)
        try:
            started = [(entry, dom) for entry, dom in ((e, self._start(conn, e)) for e in entries) if dom is not None]
            try:
                store.keep_current(conn, [dom for _e, dom in started])
            except Exception as e:  # pylint: disable=broad-exception-caught  # they run: say so, and that the store lags
                if not isinstance(e, VirtualIronError) and not is_libvirt_error(e):
                    raise
                why = e.get_error_message() if is_libvirt_error(e) else str(e)
                self._event('recovery.store_failed', None, {'destination': host}, why, {})
                self.outcome['store_errors'].append({'host': host, 'error': why})
            return [entry for entry, _dom in started]
        finally:
            close_connection(conn)

    def _start(self, conn, entry):
        """Define the stored server on conn's host and start it; the server, or None when its start failed (a start
        that fails leaves no definition we made)."""
        record, started = self.records[entry['uuid']], self.clock()
        new = not any(uuid == entry['uuid'] for uuid, _n, _r in self.defined.get(entry['to'], []))
        try:
            dom = conn.defineXML(record['xml'])
            try:
                dom.create()
            except Exception:
                if new:
                    undefine_server(dom)
                raise
            dom.setAutostart(1 if record['autostart'] else 0)
        except Exception as e:  # pylint: disable=broad-exception-caught
            if not is_libvirt_error(e):
                raise
            self.outcome['failed_starts'].append(dict(entry, reason=e.get_error_message()))
            self._event('recovery.start_failed', entry['server'], {'source': entry['from'], 'destination': entry['to']},
                        e.get_error_message(), {})
            return None
        entry['seconds'] = round(self.clock() - started, 3)
        self._event('recovery.restart', entry['server'], {'source': entry['from'], 'destination': entry['to']},
                    'host %s failed; priority %d' % (entry['from'], entry['priority']), {'seconds': entry['seconds']})
        return dom

    def _reconcile(self):
        """Remove the stopped copy a host still defines of a server the store places on another host that defines
        it: the copy a host that came back kept. A server running on two hosts is reported, never touched."""
        runs_on = {}
        for host, servers in sorted(self.defined.items()):
            for uuid, name, running in servers:
                if running:
                    runs_on.setdefault(uuid, []).append(host)
                elif self.params['reconcile'] and self._owner(uuid, host):
                    self.act('reconcile', name, host, self._remove_copy, host, uuid)
        for uuid, hosts in sorted(runs_on.items()):
            if len(hosts) > 1:
                name = self.records.get(uuid, {}).get('name', uuid)
                self._event('recovery.runs_twice', name, {'source': hosts[0], 'destination': hosts[1]},
                            'runs on %s: check the hosts and stop all copies but one' % ', '.join(hosts), {})
                self.outcome['runs_twice'].append({'server': name, 'hosts': hosts})

    def _owner(self, uuid, host):
        """The host the store places the server on, when it is another answering host that defines it."""
        record = self.records.get(uuid)
        if record is None:
            return None
        owners = [h for h, servers in self.defined.items() if h != host
                  and (record['host'].get('uri') == self.hosts[h]['uri'] or record['host'].get('name') == h)
                  and any(u == uuid for u, _n, _r in servers)]
        return owners[0] if owners else None

    def _remove_copy(self, host, uuid):
        conn = open_connection(self.hosts[host]['uri'], self.params['probe_timeout'] + 5)
        try:
            dom = lookup_or_none(conn.lookupByUUIDString, uuid, libvirt.VIR_ERR_NO_DOMAIN)
            if dom is not None and not dom.isActive():  # not removed or started since it was read
                undefine_server(dom)
                self.outcome['reconciled'].append({'server': dom.name(), 'host': host})
                self._event('recovery.reconciled', dom.name(), {'source': host}, 'stale copy removed', {})
        finally:
            close_connection(conn)

    # ------------------------------------------------------------ reporting
    def _log_failures(self):
        for host in self.failed:
            state = self.states[host['name']]
            self._event('recovery.host_failed', None, {'source': host['name']}, state['error'] or 'no answer',
                        {'silent_seconds': round(self.clock() - state['since'], 3)})

    def _log_plan(self, plan):
        for kind in ('unplaced', 'unprotected', 'skipped'):
            for entry in plan[kind]:
                self._event('recovery.' + kind, entry['server'], {'source': entry['from']}, entry['reason'], {})

    def _event(self, kind, server, hosts, reason, figures):
        self.events.append({'kind': kind, 'server': server, 'hosts': hosts, 'reason': reason, 'figures': figures})

    def describe(self, change):
        return WORDS[change.field] % (change.old, change.new)

    def result(self, before, after):
        result = super(RecoveryRun, self).result(before, after)
        result.update(self.outcome, hosts=before['hosts'], failed_hosts=before['failed'], timeline=self.timeline,
                      unplaced=after['unplaced'], unprotected=after['unprotected'], skipped=after['skipped'])
        return result
