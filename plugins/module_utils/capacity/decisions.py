# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""When LiveCapacity moves a virtual server, and why: a pure function over a snapshot of hosts and servers and
their utilization history (no libvirt; the time is given, never read), so that every rule can be tested.

Conditions. A direction of a server's policy holds when every sample of its window [now - minutes, now] is past
the threshold (> for more, < for less) and the samples cover the window: the latest is at most 1.5 sampling
intervals old, the run reaches back to within 1.5 intervals of the window's start, and no two consecutive samples
are more than 2 intervals apart. A sample without the metric breaks the run like a gap: a gap never fires a policy.
Only a server's samples on its current host count, so after a move its window starts afresh.

Loads. A server's recent load is the mean of its samples over its policy's window ('more', else 'less'); a
server without samples there counts as fully busy, using all its memory, since nothing says otherwise. A host's
load in a metric is derived from its own running servers: CPU % = sum(server CPU % x vCPUs) / host CPUs, memory
% = sum(memory in use) / host memory. Real hosts add their own processes' load, which this does not see.

More capacity. Servers whose 'more' condition holds are taken from the most loaded source host down. A server
moves only when its host is at or above the limit below (below it, the server already has the headroom a move
could give it), and goes where it gets the most headroom in its policy's metric, among the hosts that take it:
within the memory and vCPU overcommit limits (migration/placement.py), predicted load after the move below
min(0.8 x high, high - margin) where high is its 'more' threshold (oVirt's rule), and the imbalance (source load
- destination load) narrowed by at least `improvement` points. When consolidating, an empty host is taken only
if no host in use takes the server. At most one server leaves a host per cycle; servers that moved less than
cooldown_minutes ago, that cannot live-migrate, or whose host is unavailable stay, each with its reason.
Each planned move changes the predicted loads the next server sees.

Less capacity. Hosts whose running servers all hold their 'less' condition (and may move) are emptied, least
loaded first: their servers, largest first, go to the first host that takes them among the hosts in use (the
most loaded first), below the same limit (high: the 'more' threshold on the same metric, else 90). A host is
emptied wholly or not at all; a host that takes servers, or gave or took one for more capacity, is not emptied
in the same cycle. An empty host is never a destination: filling it would not free a host.

No ping-pong: a destination ends below the limit and a source must be at or above it, so a server cannot be
sent back, and a host consolidation filled sends nothing away; a move must narrow the gap between its two hosts
by a margin; busy servers leave empty hosts empty when they can, so idle servers do not follow them around;
the cooldown keeps a server where it went. Ties go to the host listed first in the snapshot, then to names.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math
import time

from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.policy import DEFAULT_POLICY, DIRECTIONS
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.placement import host_limits, why_not

DEFAULT_OPTIONS = {'margin': 10.0, 'improvement': 10.0, 'cooldown_minutes': 30.0, 'memory_overcommit': 1.0,
                   'vcpu_overcommit': 4.0, 'consolidate': True, 'interval': 10.0}
POSITIVE_OPTIONS = ('memory_overcommit', 'vcpu_overcommit', 'interval')
SYMBOL = {'more': '>', 'less': '<'}
DEFAULT_RESOLVED = dict(DEFAULT_POLICY, **{'from': {'more': 'default', 'less': 'default'}})


def check_options(options):
    """decide's options with the defaults filled in (None means the default); refuses unknown keys and bad values."""
    unknown = sorted(str(k) for k in options or {} if k not in DEFAULT_OPTIONS)
    if unknown:
        raise VirtualIronError('unknown capacity option(s) %s; known: %s' % (
            ', '.join(unknown), ', '.join(sorted(DEFAULT_OPTIONS))))
    checked = dict(DEFAULT_OPTIONS)
    for key, value in (options or {}).items():
        if value is None:
            continue
        if key == 'consolidate':
            if not isinstance(value, bool):
                raise VirtualIronError('capacity option consolidate must be true or false, got %r' % (value,))
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise VirtualIronError('capacity option %s must be a number of 0 or more, got %r' % (key, value))
        elif key in POSITIVE_OPTIONS and value == 0:
            raise VirtualIronError('capacity option %s must be more than 0' % key)
        checked[key] = value
    return checked


def by_server(samples):
    """Samples (shapes of capacity/history.py) grouped for decide: {(host, server or None): [samples]}."""
    groups = {}
    for sample in samples:
        groups.setdefault((sample['host'], sample['server']), []).append(sample)
    return groups


def condition(samples, direction, metric, threshold, minutes, interval, now):
    """Whether one direction of a policy holds at now over one server's samples (any order).

    Returns {'holds', 'since': the time of the first sample of the latest run of samples past the threshold
    with no gap (None when the latest sample is not past it), 'coverage': the share of the window that samples
    carrying the metric measured (0 to 1), 'why': what decided, in words and figures}.
    """
    start = now - minutes * 60.0
    # (time, value) of every sample up to now; one without the metric stays, to break a run.
    points = sorted(((s['time'], s.get(metric)) for s in samples if s['time'] <= now), key=_time)
    past = (lambda v: v is not None and v > threshold) if direction == 'more' else \
        (lambda v: v is not None and v < threshold)
    since, stop = _run(points, past, interval)
    fresh = bool(points) and points[-1][0] >= now - 1.5 * interval
    holds = fresh and since is not None and since <= start + 1.5 * interval
    facts = {'metric': metric, 'symbol': SYMBOL[direction], 'threshold': threshold, 'minutes': minutes,
             'interval': interval, 'now': now, 'since': since}
    why = _holds_why(points, start, direction, facts) if holds else _why_not(points, fresh, stop, facts)
    return {'holds': holds, 'since': since, 'coverage': round(_coverage(points, start, now, interval), 3), 'why': why}


def _time(point):
    return point[0]


def _run(points, past, interval):
    """(first time, what stopped the walk back) of the latest unbroken run of points past the threshold."""
    if not points or not past(points[-1][1]):
        return None, None
    first = points[-1][0]
    for when, value in reversed(points[:-1]):
        if first - when > 2 * interval:
            return first, ('gap', when)
        if not past(value):
            return first, ('value', when, value)
        first = when
    return first, ('start', None)


def _coverage(points, start, now, interval):
    # Each sample measured the interval before its time; overlapping samples count once.
    covered, edge = 0.0, start
    for when, value in points:
        if when > start and value is not None:
            covered += max(0.0, when - max(edge, when - interval))
            edge = when
    return min(1.0, covered / (now - start)) if now > start else 0.0


def _holds_why(points, start, direction, f):
    values = [v for t, v in points if t > start]
    extreme = ('lowest %.1f' % min(values)) if direction == 'more' else ('highest %.1f' % max(values))
    return '%s %s %g in all %d samples since %s (%g min; %s)' % (
        f['metric'], f['symbol'], f['threshold'], len(values), _clock(max(f['since'], start)), f['minutes'], extreme)


def _why_not(points, fresh, stop, f):
    if all(value is None for _when, value in points):
        return 'no %s samples' % f['metric']
    if not fresh:
        return 'no sample since %s (sampling every %g s): a gap never fires a policy' % (
            _clock(points[-1][0]), f['interval'])
    when, value = points[-1]
    if f['since'] is None:
        if value is None:
            return 'the latest sample, at %s, has no %s' % (_clock(when), f['metric'])
        return '%s was %.1f at %s, not %s %g' % (f['metric'], value, _clock(when), f['symbol'], f['threshold'])
    span = '%s %s %g only since %s (%.1f of %g min)' % (
        f['metric'], f['symbol'], f['threshold'], _clock(f['since']), (f['now'] - f['since']) / 60.0, f['minutes'])
    if stop[0] == 'gap':
        return 'a gap in sampling from %s to %s (more than 2 intervals of %g s); %s' % (
            _clock(stop[1]), _clock(f['since']), f['interval'], span)
    if stop[0] == 'value' and stop[2] is None:
        return 'the sample at %s has no %s; %s' % (_clock(stop[1]), f['metric'], span)
    if stop[0] == 'value':
        return '%s was %.1f at %s; %s' % (f['metric'], stop[2], _clock(stop[1]), span)
    return 'samples begin at %s; %s' % (_clock(f['since']), span)


def _clock(when):
    return time.strftime('%H:%M:%S UTC', time.gmtime(when))


def decide(snapshot, history, options, now):
    """The plan of one cycle over a snapshot (shapes: hosts and servers, see the module's docstring for the rules).

    snapshot: {'hosts': [...], 'servers': [...]}, each server with its resolved policy (capacity/policy.py; none
    means the default). history: samples (a list, as History.samples gives them) or by_server's grouping of them.
    options: see DEFAULT_OPTIONS (check_options). now: epoch seconds.
    Returns {'moves': [{'server', 'source', 'destination', 'direction', 'reason', 'figures'}], 'refused':
    [{'server', 'host', 'direction', 'reason'}], 'conditions': [each condition that holds, with its server,
    host, direction, metric, threshold, minutes and 'policy' (where it comes from), beside condition()'s
    holds, since, coverage and why], 'emptied_hosts': [names]}.
    Only running servers count. The snapshot is not changed.
    """
    options = check_options(options)
    groups = history if isinstance(history, dict) else by_server(history)
    hosts = _host_states(snapshot['hosts'], options)
    running = [s for s in snapshot['servers'] if s.get('state') == 'running']
    servers = [_server_state(s, hosts, groups, options, now) for s in running]
    plan = {'moves': [], 'refused': [], 'conditions': [], 'emptied_hosts': []}
    wanting = _wanting(servers, plan)
    _more_capacity(wanting['more'], hosts, options, now, plan)
    if options['consolidate']:
        _less_capacity(wanting['less'], hosts, options, now, plan)
    return plan


def _host_states(hosts, options):
    """{name: a copy of the host with its running servers and loads}, in the snapshot's order."""
    states = {}
    for index, host in enumerate(hosts):
        states[host['name']] = dict(host, index=index, servers=[], cpu_units=0.0, memory_in_use=0.0, gave=None,
                                    took=None, limits=host_limits(host, options['memory_overcommit'],
                                                                  options['vcpu_overcommit']))
    return states


def _server_state(server, hosts, groups, options, now):
    host = hosts.get(server['host'])
    if host is None:
        raise VirtualIronError('server %s is on host %s, which the snapshot does not list' % (
            server['name'], server['host']))
    policy = server.get('policy') or DEFAULT_RESOLVED
    samples = groups.get((server['host'], server['name']), [])
    state = dict(server, policy=policy, conditions={})
    lead = policy['more'] or policy['less'] or DEFAULT_POLICY['more']
    state.update(_recent(samples, server, lead['minutes'], now))
    for direction in DIRECTIONS:
        rule = policy[direction]
        if rule:
            state['conditions'][direction] = condition(samples, direction, rule['metric'], rule['threshold'],
                                                       rule['minutes'], options['interval'], now)
    host['servers'].append(state)
    _shift(host, state, 1, placed=False)
    return state


def _recent(samples, server, minutes, now):
    """The server's mean load over the window; without samples, fully busy and using all its memory."""
    start = now - minutes * 60.0
    window = [s for s in samples if start < s['time'] <= now]
    cpu = [s['cpu_percent'] for s in window if s.get('cpu_percent') is not None]
    memory = [s['memory_bytes'] for s in window if s.get('memory_bytes') is not None]
    cpu_percent = sum(cpu) / len(cpu) if cpu else 100.0
    return {'cpu_percent': cpu_percent, 'cpu_units': cpu_percent * server['vcpus'], 'measured': bool(cpu),
            'memory_in_use': sum(memory) / len(memory) if memory else float(server['memory'])}


def _wanting(servers, plan):
    """{direction: servers whose condition holds}; each condition that holds goes into the plan."""
    wanting = {'more': [], 'less': []}
    for server in servers:
        for direction in DIRECTIONS:
            result = server['conditions'].get(direction)
            if result and result['holds']:
                rule = server['policy'][direction]
                plan['conditions'].append(dict(result, server=server['name'], host=server['host'], direction=direction,
                                               policy=_source(server, direction), **rule))
                wanting[direction].append(server)
    return wanting


def _source(server, direction):
    return (server['policy'].get('from') or {}).get(direction, 'snapshot')


def _load(host, metric, plus=None, minus=None):
    """The host's predicted load in percent, with a server added (plus) or taken away (minus)."""
    key, capacity = ('cpu_units', host['cpus']) if metric == 'cpu_percent' else ('memory_in_use', host['memory'] / 100.0)
    used = host[key] + (plus[key] if plus else 0.0) - (minus[key] if minus else 0.0)
    return used / capacity if capacity else float('inf')


def _shift(host, server, sign, placed=True):
    """Count a server on a host (sign 1) or take it off (-1); placed: also in the memory and vCPUs given."""
    amounts = [('cpu_units', server['cpu_units']), ('memory_in_use', server['memory_in_use'])]
    if placed:
        amounts += [('memory_used', server['memory']), ('vcpus_used', server['vcpus'])]
    for key, amount in amounts:
        host[key] += sign * amount


def _move(server, source, destination):
    _shift(source, server, -1)
    _shift(destination, server, 1)
    source['servers'] = [s for s in source['servers'] if s is not server]
    destination['servers'].append(server)
    server['host'] = destination['name']


def _limit(server, direction, options):
    """(metric, highest predicted load a destination may reach): min(0.8 x high, high - margin), oVirt's rule."""
    policy = server['policy']
    metric = policy[direction]['metric']
    more = policy['more']
    high = more['threshold'] if more and more['metric'] == metric else DEFAULT_POLICY['more']['threshold']
    return metric, min(0.8 * high, high - options['margin'])


def _stays(server, host, options, now):
    """Why a server may not move at all this cycle, or None."""
    if host.get('unavailable'):
        return '%s %s: its servers stay where they are' % (host['name'], host['unavailable'])
    if not server.get('live_migratable'):
        return '%s cannot live-migrate' % server['name']
    moved = server.get('last_moved')
    if moved is not None and now - moved < options['cooldown_minutes'] * 60:
        return '%s moved %.1f min ago: it stays until its %g-minute cooldown is over' % (
            server['name'], (now - moved) / 60.0, options['cooldown_minutes'])
    return None


def _refuse(plan, server, direction, reason):
    plan['refused'].append({'server': server['name'], 'host': server['host'], 'direction': direction, 'reason': reason})


def _more_capacity(wanting, hosts, options, now, plan):
    """Move each server that wants more capacity where it gets the most headroom, most loaded source first."""
    def urgency(server):
        source = hosts[server['host']]
        return (-_load(source, server['policy']['more']['metric']), source['index'], server['name'])
    for server in sorted(wanting, key=urgency):
        source = hosts[server['host']]
        reason = _stays(server, source, options, now) or _not_short(server, source, options)
        destination, reasons = (None, []) if reason else _most_headroom(server, source, hosts, options)
        if destination is None:
            reason = reason or 'no host gives it more capacity: %s' % ('; '.join(reasons) or 'no other host')
            _refuse(plan, server, 'more', reason)
            continue
        _plan_move(plan, server, source, destination, 'more', options)
        source['gave'] = server['name']


def _not_short(server, source, options):
    """Why moving cannot give the server more capacity, or None: its host is below the limit a destination must
    stay under, so the server already has that headroom (and a consolidated host never sends a server away)."""
    if source['gave']:
        return '%s already gives up %s this cycle: at most one server leaves a host per cycle' % (
            source['name'], source['gave'])
    metric, limit = _limit(server, 'more', options)
    load = _load(source, metric)
    if load < limit:
        return '%s is at %.1f %% %s, below the limit of %.1f %%: a move would give %s no more capacity' % (
            source['name'], load, _word(metric), limit, server['name'])
    return None


def _most_headroom(server, source, hosts, options):
    """(the host that leaves the server the most headroom, or None; why each other host does not take it).
    When consolidating, an empty host is taken only if no host in use takes the server: filling the hosts that
    consolidation emptied would have their idle servers follow the busy one there, again and again."""
    metric, limit = _limit(server, 'more', options)
    best, best_key, reasons = None, None, []
    for host in hosts.values():
        if host is source:
            continue
        reason = _cannot_take(server, host, metric, limit) or _too_little_gain(server, source, host, metric, options)
        if reason:
            reasons.append(reason)
            continue
        key = (options['consolidate'] and not host['servers'], _load(host, metric, plus=server))
        if best is None or key < best_key:
            best, best_key = host, key
    return best, reasons


def _cannot_take(server, host, metric, limit):
    reason = why_not(host, server, host['limits'])
    if reason:
        return reason
    after = _load(host, metric, plus=server)
    if after >= limit:
        return '%s would be at %.1f %% %s (limit %.1f %%)' % (host['name'], after, _word(metric), limit)
    return None


def _too_little_gain(server, source, host, metric, options):
    before = _load(source, metric) - _load(host, metric)
    after = abs(_load(source, metric, minus=server) - _load(host, metric, plus=server))
    if before - after < options['improvement']:
        return '%s: the imbalance would go from %.1f to %.1f points, narrowing by less than %g' % (
            host['name'], before, after, options['improvement'])
    return None


def _less_capacity(wanting, hosts, options, now, plan):
    """Empty whole hosts whose servers all want less capacity, least loaded first."""
    groups = {}
    for server in wanting:
        groups.setdefault(server['host'], []).append(server)
    ready = []
    for name in sorted(groups, key=lambda n: hosts[n]['index']):
        blocker = _blocker(hosts[name], options, now)
        if blocker:
            _refuse_all(plan, groups[name], '%s cannot be emptied: %s; none of its servers move' % (name, blocker))
        else:
            ready.append(hosts[name])
    for host in sorted(ready, key=lambda h: (_load(h, 'cpu_percent'), _load(h, 'memory_percent'), h['index'])):
        placements, blocker = (None, None) if host['took'] else _pack(host, hosts, options)
        if placements is None:
            blocker = blocker or 'it takes %s this cycle, and a host that takes servers is not emptied' % host['took']
            _refuse_all(plan, groups[host['name']], '%s cannot be emptied: %s; none of its servers move' % (
                host['name'], blocker))
            continue
        for server, destination in placements:
            _plan_move(plan, server, host, hosts[destination], 'less', options)
        plan['emptied_hosts'].append(host['name'])


def _refuse_all(plan, servers, reason):
    for server in sorted(servers, key=lambda s: s['name']):
        _refuse(plan, server, 'less', reason)


def _blocker(host, options, now):
    """Why a host whose servers want less capacity cannot be emptied, or None."""
    if host.get('unavailable'):
        return '%s %s' % (host['name'], host['unavailable'])
    if host['gave']:
        return 'it gives up %s for more capacity this cycle' % host['gave']
    if host['took']:
        return 'it takes %s for more capacity this cycle' % host['took']
    for server in sorted(host['servers'], key=lambda s: s['name']):
        more, less = server['conditions'].get('more'), server['conditions'].get('less')
        if more and more['holds']:
            return '%s wants more capacity' % server['name']
        if not less:
            return '%s has no "less" policy' % server['name']
        if not less['holds']:
            return '%s does not want less capacity: %s' % (server['name'], less['why'])
        reason = _stays(server, host, options, now)
        if reason:
            return reason
    return None


def _pack(host, hosts, options):
    """([(server, destination name)] for all the host's servers, largest first, first fit over the hosts in use,
    most loaded first; or (None, which server fits nowhere and why))."""
    trial = [dict(h) for h in hosts.values() if h is not host and h['servers'] and not h.get('unavailable')]
    placements = []
    for server in sorted(host['servers'], key=lambda s: (-s['memory'], -s['vcpus'], s['name'])):
        metric, limit = _limit(server, 'less', options)
        reasons, chosen = [], None
        for candidate in sorted(trial, key=lambda h: (-_load(h, metric), h['index'])):
            reason = _cannot_take(server, candidate, metric, limit)
            if reason is None:
                chosen = candidate
                break
            reasons.append(reason)
        if chosen is None:
            return None, '%s fits nowhere (%s)' % (server['name'], '; '.join(reasons) or 'no other host in use')
        _shift(chosen, server, 1)
        placements.append((server, chosen['name']))
    return placements, None


def _plan_move(plan, server, source, destination, direction, options):
    """Add the move to the plan with its reason and figures, and count it in the predicted loads."""
    metric, limit = _limit(server, direction, options)
    rule = server['policy'][direction]
    figures = {'metric': metric, 'threshold': rule['threshold'], 'minutes': rule['minutes'],
               'server_percent': _server_percent(server, metric), 'measured': server['measured'], 'limit': limit,
               'source_before': _load(source, metric), 'source_after': _load(source, metric, minus=server),
               'destination_before': _load(destination, metric),
               'destination_after': _load(destination, metric, plus=server)}
    figures['imbalance_before'] = figures['source_before'] - figures['destination_before']
    figures['imbalance_after'] = abs(figures['source_after'] - figures['destination_after'])
    figures = dict((k, round(v, 1) if isinstance(v, float) else v) for k, v in figures.items())
    why = 'the host where it gets the most headroom' if direction == 'more' else \
        'emptying %s (largest servers first, to the most loaded host in use that takes them)' % source['name']
    reason = '%s: %s, policy from %s; moves to %s, %s: %s' % (
        server['name'], server['conditions'][direction]['why'], _source(server, direction), destination['name'], why,
        _loads_in_words(figures, source['name'], destination['name']))
    plan['moves'].append({'server': server['name'], 'source': source['name'], 'destination': destination['name'],
                          'direction': direction, 'reason': reason, 'figures': figures})
    _move(server, source, destination)
    destination['took'] = server['name']


def _loads_in_words(f, source, destination):
    return '%s %s %.1f %% -> %.1f %% (limit %.1f %%), %s %.1f %% -> %.1f %%, imbalance %.1f -> %.1f points' % (
        _word(f['metric']), destination, f['destination_before'], f['destination_after'], f['limit'], source,
        f['source_before'], f['source_after'], f['imbalance_before'], f['imbalance_after'])


def _server_percent(server, metric):
    if metric == 'cpu_percent':
        return server['cpu_percent']
    return 100.0 * server['memory_in_use'] / server['memory'] if server['memory'] else 0.0


def _word(metric):
    return 'CPU' if metric == 'cpu_percent' else 'memory'
