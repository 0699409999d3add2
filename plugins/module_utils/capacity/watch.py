# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Watching capacity policies continuously, the core of the Event-Driven Ansible event source live_capacity: the
rack read every few seconds (RackSampler), and ConditionWatch, which keeps each server's recent samples and says
when a policy's condition starts to hold and when it stops ("CPU % > 90 for 10 minutes" is sustained here, since
rulebooks have no such operator).

A condition holds exactly when live_capacity's decision would say so (decisions.condition over the same samples:
every sample of the window past the threshold, the window covered, a gap never fires). It stops when a sample is
no longer past the threshold, when sampling has a gap (its host did not answer), when the server stops or leaves
the watched hosts, or when it moves to another host (its window starts afresh there).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import concurrent.futures

from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.cycle import read_server, with_policies
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.decisions import condition
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.events import format_time
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.policy import DIRECTIONS
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.sampling import (
    MAX_WORKERS, rates, read_counters)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    CONNECT_TIMEOUT, VirtualIronError, libvirt, on_host)

EVENT_KEY = 'live_capacity'


# ---------------------------------------------------------------- the pure core

class ConditionWatch(object):
    """Conditions of the servers' policies over the samples seen so far; observe() returns the events to emit.

    Events are {'live_capacity': {...}}: for a condition, 'event' ('started' or 'stopped'), 'server', 'host' (where
    it held), 'direction', 'metric', 'threshold', 'minutes', 'since' (ISO 8601 UTC, the first sample of the run past
    the threshold), 'time' (of the observation), 'figures' ({'samples', 'min', 'max', 'mean', 'latest'} of the
    metric in the window, 'coverage' 0 to 1), 'why' (in words), 'policy' (where the direction comes from);
    for a host, 'event' ('host_unreachable' once, then 'host_back' when it answers again), 'host', 'time', 'error'.
    """

    def __init__(self, interval):
        self.interval = float(interval)
        self.samples = {}  # server -> its samples on its latest host, oldest first, the longest window kept
        self.holding = {}  # (server, direction) -> the body of its 'started' event
        self.down = {}  # host -> the error it gave

    def observe(self, samples, policies, now, answered=(), errors=()):
        """The events of one reading of the rack at `now` (epoch s).

        samples: the new server and host rows (host rows are ignored); policies: {server: resolved policy} of the
        servers running on the hosts that answered; answered: names of the hosts that answered; errors:
        [{'host', 'error'}] of those that did not.
        """
        events = self._hosts(answered, errors, now)
        self._remember(samples, policies, now)
        for server in sorted(set(self.samples) | set(s for s, _d in self.holding)):
            for direction in DIRECTIONS:
                events.extend(self._direction(server, direction, policies.get(server) or {}, now))
        return events

    def _hosts(self, answered, errors, now):
        events = []
        for error in errors:
            if error['host'] not in self.down:
                events.append(_event('host_unreachable', host=error['host'], time=format_time(now),
                                     error=error['error']))
            self.down[error['host']] = error['error']
        for host in sorted(set(answered) & set(self.down)):
            del self.down[host]
            events.append(_event('host_back', host=host, time=format_time(now)))
        return events

    def _remember(self, samples, policies, now):
        for sample in sorted((s for s in samples if s['server'] is not None), key=lambda s: s['time']):
            kept = self.samples.setdefault(sample['server'], [])
            if kept and kept[-1]['host'] != sample['host']:
                del kept[:]  # it moved: only samples on its current host count, as in the decision
            kept.append(sample)
        for server in list(self.samples):
            rules = [(policies.get(server) or {}).get(d) for d in DIRECTIONS]
            minutes = max([rule['minutes'] for rule in rules if rule] or [0])
            start = now - minutes * 60.0 - 2 * self.interval
            self.samples[server] = [s for s in self.samples[server] if s['time'] >= start]
            if not minutes or not self.samples[server]:
                del self.samples[server]  # gone, or nothing to watch for it

    def _direction(self, server, direction, policy, now):
        key, rule = (server, direction), policy.get(direction)
        samples = self.samples.get(server, [])
        verdict = condition(samples, direction, rule['metric'], rule['threshold'], rule['minutes'], self.interval,
                            now) if rule and samples else None
        if verdict and verdict['holds'] and key not in self.holding:
            self.holding[key] = dict(
                server=server, host=samples[-1]['host'], direction=direction, metric=rule['metric'],
                threshold=rule['threshold'], minutes=rule['minutes'], since=format_time(verdict['since']),
                policy=policy.get('from', {}).get(direction, 'given'))
            return [_event('started', time=format_time(now), why=verdict['why'],
                           figures=_figures(samples, rule, now, verdict), **self.holding[key])]
        if key in self.holding and not (verdict and verdict['holds']):
            held = self.holding.pop(key)
            why = verdict['why'] if verdict else 'the server is no longer seen running with this policy direction'
            figures = _figures(samples, held, now, verdict) if verdict else {}
            return [_event('stopped', time=format_time(now), why=why, figures=figures, **held)]
        return []


def _event(kind, **body):
    return {EVENT_KEY: dict(body, event=kind)}


def _figures(samples, rule, now, verdict):
    """The metric's figures in the window (the decision's figures), and how much of the window samples cover."""
    start = now - rule['minutes'] * 60.0
    values = [s.get(rule['metric']) for s in samples if start < s['time'] <= now]
    known = [v for v in values if v is not None]
    if not known:
        return {'samples': len(values), 'coverage': verdict['coverage']}
    return {'samples': len(values), 'min': min(known), 'max': max(known),
            'mean': round(sum(known) / len(known), 1), 'latest': values[-1], 'coverage': verdict['coverage']}


def policies_of(servers, params):
    """({server: resolved policy}, [{'server', 'error'}]) of the running servers ([{'name', 'host', 'tags',
    'capacity_policy'}]), resolved as live_capacity does (params: tag_policies, group_policies, host_policies,
    groups). A server whose policy is wrong is left out and said so, and the others are watched all the same."""
    policies, problems = {}, []
    for server in servers:
        try:
            policies[server['name']] = with_policies([server], params)[0]['policy']
        except VirtualIronError as e:
            problems.append({'server': server['name'], 'error': str(e)})
    return policies, problems


# ---------------------------------------------------------------- reading the rack

class RackSampler(object):
    """Reads every host once per tick() (in parallel), keeping each host's previous reading, so that each tick
    gives the samples of the interval since the last one (sampling.rates) without waiting inside the tick."""

    def __init__(self, targets, connect_timeout=CONNECT_TIMEOUT):
        self.targets, self.connect_timeout, self.readings = targets, connect_timeout, {}

    def tick(self):
        """{'samples': [...], 'servers': [{'name', 'host', 'tags', 'capacity_policy'}] running now, 'answered':
        [host names], 'errors': [{'host', 'uri', 'error'}]} (the first tick of a host has no samples yet)."""
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(len(self.targets), MAX_WORKERS))) as pool:
            results = list(pool.map(self._read, self.targets))
        tick = {'samples': [], 'servers': [], 'answered': [], 'errors': []}
        for target, (samples, servers, error) in zip(self.targets, results):
            tick['samples'] += samples
            tick['servers'] += servers
            if error is None:
                tick['answered'].append(target['name'])
            else:
                tick['errors'].append(error)
        return tick

    def _read(self, target):
        name = target['name']

        def read(conn):
            return read_counters(conn, name), [read_server(dom, name) for dom in conn.listAllDomains(
                libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)]

        found, error = on_host(target['uri'], read, self.connect_timeout)
        if error is not None:
            self.readings.pop(name, None)  # the next interval would span the outage: start from the next reading
            return [], [], {'host': name, 'uri': target['uri'], 'error': error}
        reading, servers = found
        previous, self.readings[name] = self.readings.get(name), reading
        return (rates(previous, reading) if previous else []), servers, None
