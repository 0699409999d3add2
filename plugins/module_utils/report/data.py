# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a report shows, as plain data: the hosts and their servers (the rack now, where it was read, and the
history of the period), each with its figures in buckets, a summary and the thresholds of its capacity policy,
and the events of the period. Pure functions over the history's samples, the event log's events and the rack;
everything in them is untrusted text, which the page escapes."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.events import format_time, parse_time
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.policy import resolve_policy
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.report.buckets import (
    FIGURES, bucket_seconds, bucket_series, sampling_interval, summary)

# Points per chart: a host's chart is wide, a server's is one of many small ones.
HOST_POINTS, SERVER_POINTS = 288, 72
# The events table shows the latest ones; every event of the period is in its CSV and JSON.
TABLE_EVENTS = 300
# Untrusted text is cut to this many characters on the page (and the event log's figures, as JSON text).
TEXT_LIMIT = 400
# Event kinds grouped into the timeline's lanes by their first part; other kinds get a lane of their own.
LANES = (('capacity.move', 'Migrations'), ('migration.', 'Migrations'), ('capacity.refused', 'Refused moves'),
         ('capacity.condition', 'Conditions'), ('capacity.maintenance', 'Maintenance'), ('maintenance', 'Maintenance'),
         ('recovery', 'Recoveries'), ('provisioning', 'Provisioning'))
MAX_LANES = 10
WORDS = {'cpu_percent': 'CPU', 'memory_percent': 'memory'}


def build_report(samples, events, rack, options):
    """The report's data. samples: History.samples rows; events: read_events' events (the whole log); rack:
    {'hosts': [...], 'servers': [...]} as report/rack.py reads it, or None; options: since, until (epoch s),
    title, hosts and servers (names to keep, or None for all), and the policies as live_capacity takes them
    (tag_policies, group_policies, host_policies, groups)."""
    since, until = options['since'], options['until']
    samples = [s for s in samples if _kept(s['host'], s['server'], options)]
    interval = sampling_interval(s['time'] for s in samples if s['server'] is None)
    seconds = {'host': bucket_seconds(until - since, HOST_POINTS, interval),
               'server': bucket_seconds(until - since, SERVER_POINTS, interval)}
    hosts = _hosts(samples, rack, options, seconds)
    in_period = _events(events, options, set(h['name'] for h in hosts))
    return {
        'title': options['title'], 'notes': options.get('notes') or [], 'generated': format_time(options.get('now', until)),
        'window': {'since': since, 'until': until, 'seconds': until - since,
                   'since_text': format_time(since), 'until_text': format_time(until)},
        'interval': interval, 'bucket_seconds': seconds, 'rack_read': rack is not None,
        'hosts': hosts, 'events': in_period, 'lanes': _lanes(in_period),
        'counts': {'hosts': len(hosts), 'servers': sum(len(h['servers']) for h in hosts), 'samples': len(samples),
                   'events': len(in_period)},
    }


def _kept(host, server, options):
    return (not options.get('hosts') or host in options['hosts']) and \
        (server is None or not options.get('servers') or server in options['servers'])


def _hosts(samples, rack, options, seconds):
    """The hosts of the rack (in its order) and of the history, each with its servers."""
    rack = rack or {'hosts': [], 'servers': []}
    host_series = bucket_series([s for s in samples if s['server'] is None], options['since'], options['until'],
                                seconds['host'])
    server_series = bucket_series([s for s in samples if s['server'] is not None], options['since'],
                                  options['until'], seconds['server'])
    now = dict((h['name'], h) for h in rack['hosts'] if _kept(h['name'], None, options))
    names = list(now) + sorted(set(h for h, _s in list(host_series) + list(server_series)) - set(now))
    servers_now = [s for s in rack['servers'] if _kept(s['host'], s['name'], options)]
    groups_of = _groups_of(options.get('groups') or {})
    hosts = []
    for name in names:
        servers = [(s, server_series.get((name, s['name']))) for s in servers_now if s['host'] == name]
        placed = set(s['name'] for s, _series in servers)
        servers += [({'name': server, 'host': name}, series) for (host, server), series in sorted(server_series.items())
                    if host == name and server not in placed]
        host = _view(name, now.get(name), host_series.get((name, None)), _host_policy(name, options))
        host['servers'] = [_view(s['name'], s if 'state' in s else None, series, _server_policy(s, options, groups_of))
                           for s, series in servers]
        hosts.append(host)
    return hosts


def _view(name, now, series, policy):
    """One host's or server's entry: the rack now, its series, a summary of each figure, its policy and the
    thresholds a chart draws."""
    policy, error = policy
    return {'name': name, 'now': now, 'series': series, 'samples': sum(series['counts']) if series else 0,
            'summary': dict((f, summary(series, f) if series else dict.fromkeys(('avg', 'min', 'max', 'last')))
                            for f in FIGURES),
            'policy': policy, 'policy_error': error, 'thresholds': thresholds(policy)}


def _groups_of(groups):
    groups_of = {}
    for group, members in sorted(groups.items()):
        for name in members or []:
            groups_of.setdefault(name, []).append(group)
    return groups_of


def _server_policy(server, options, groups_of):
    """(policy, None) as live_capacity resolves it, or (None, why) for a policy that cannot be read: a report
    shows a bad policy instead of failing on it."""
    try:
        return resolve_policy({'name': server['name'], 'host': server['host'], 'tags': server.get('tags') or {}},
                              server.get('capacity_policy'), options.get('tag_policies'),
                              options.get('group_policies'), options.get('host_policies'),
                              groups_of.get(server['name'], [])), None
    except VirtualIronError as e:
        return None, str(e)


def _host_policy(name, options):
    """The policy of a server on this host that has none of its own, of its tags or groups: the host's or the
    default's."""
    return _server_policy({'name': name, 'host': name}, {'host_policies': options.get('host_policies')}, {})


def thresholds(policy):
    """[{'direction', 'metric', 'threshold', 'label'}] of a resolved policy's directions that are on."""
    lines = []
    for direction, sign in (('more', '>'), ('less', '<')):
        rule = (policy or {}).get(direction)
        if rule:
            words = (WORDS[rule['metric']], sign, rule['threshold'], rule['minutes'], policy['from'][direction])
            label = '%s %s %g %% for %g min (%s)' % words
            lines.append({'direction': direction, 'metric': rule['metric'], 'threshold': rule['threshold'],
                          'label': label})
    return lines


# ---------------------------------------------------------------- events

def _events(events, options, hosts):
    """The events of the period that concern the report's hosts or servers, oldest first, as the page shows
    them."""
    shown = []
    for event in events:
        when = parse_time(event['time'])
        if options['since'] <= when <= options['until'] and _concerns(event, options, hosts):
            shown.append(event_view(event, when))
    return sorted(shown, key=lambda e: e['time'])


def _concerns(event, options, hosts):
    names = [n for n in (event.get('hosts') or {}).values() if isinstance(n, str)]
    if options.get('servers') and event.get('server') not in options['servers']:
        return False
    return not options.get('hosts') or not names or bool(set(names) & hosts)


def event_view(event, when):
    """An event of the log as the page shows it: its fields as text (cut to TEXT_LIMIT), the hosts by role,
    its lane, and the figures people look for first (duration, downtime, outcome)."""
    hosts = dict((str(k), v) for k, v in (event.get('hosts') or {}).items() if isinstance(v, str))
    figures = event.get('figures') if isinstance(event.get('figures'), dict) else {}
    return {'time': when, 'time_text': format_time(when), 'kind': _text(event['kind']), 'lane': lane(event['kind']),
            'server': _text(event.get('server')) if event.get('server') is not None else None,
            'source': hosts.get('source'), 'destination': hosts.get('destination'),
            'hosts_text': _hosts_text(hosts), 'reason': _text(event.get('reason') or ''),
            'highlights': highlights(figures), 'failed': figures.get('failed') is True,
            'figures': figures, 'figures_text': _text(json.dumps(figures, sort_keys=True, default=str))}


def lane(kind):
    return next((name for prefix, name in LANES if str(kind).startswith(prefix)), str(kind))


def _lanes(events):
    """[{'name', 'count'}] of the timeline, in order of first appearance; kinds past MAX_LANES share 'Other'."""
    lanes = []
    for event in events:
        if event['lane'] not in lanes:
            lanes.append(event['lane'])
    overflow = set(lanes[MAX_LANES - 1:]) if len(lanes) > MAX_LANES else set()
    for event in events:
        if event['lane'] in overflow:
            event['lane'] = 'Other'
    names = [n for n in lanes if n not in overflow] + (['Other'] if overflow else [])
    return [{'name': n, 'count': sum(1 for e in events if e['lane'] == n)} for n in names]


def highlights(figures):
    """Short words for the figures of a move or a recovery: how long, the downtime, the outcome, the direction."""
    words = []
    for key, fmt in (('duration_seconds', 'took %.1f s'), ('migration_seconds', 'migration %.1f s'),
                     ('downtime_ms', 'downtime %g ms')):
        if _number(figures.get(key)):
            words.append(fmt % figures[key])
    if figures.get('failed') is True:
        words.append('failed' + (': %s' % _text(figures['error']) if figures.get('error') else ''))
    if figures.get('direction') in ('more', 'less'):
        words.append('%s capacity' % figures['direction'])
    return words


def _hosts_text(hosts):
    if set(hosts) <= {'source', 'destination'} and hosts:
        return ' \u2192 '.join(_text(hosts[k]) for k in ('source', 'destination') if k in hosts)
    return ', '.join('%s: %s' % (_text(k), _text(v)) for k, v in sorted(hosts.items()))


def _text(value):
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT - 1] + '\u2026'


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)
