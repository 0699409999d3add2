# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report as one self-contained HTML page: the data of report/data.py drawn as SVG charts (report/charts.py)
through a Jinja2 template (report/template.py) with autoescaping on, the figures of every chart and the events as
CSV and JSON data: URIs, and nothing fetched from anywhere (no script, font, style sheet or image from outside)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import re
import traceback

from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import MissingLibrary
from ansible_collections.virtualiron.infra.plugins.module_utils.report import charts, export
from ansible_collections.virtualiron.infra.plugins.module_utils.report.data import TABLE_EVENTS
from ansible_collections.virtualiron.infra.plugins.module_utils.report.template import TEMPLATE

try:
    import jinja2
except ImportError:
    jinja2 = MissingLibrary('jinja2', traceback.format_exc())

# Chart sizes in pixels: (width, height, plot left, plot top, plot width, plot height, decimals of coordinates).
HOST_CHART = (960, 170, 40, 8, 910, 140, 1)
SERVER_CHART = (224, 60, 2, 4, 220, 52, 0)
TIMELINE = {'width': 960, 'left': 150, 'lane': 22}
# Events closer than this many pixels on the timeline share one mark (its title counts them).
MARK_PIXELS = 4
# Stand-ins replaced after rendering: the digest covers the page without its generation time.
GENERATED_MARK, DIGEST_MARK = '@@virtualiron-generated@@', '@@virtualiron-digest@@'
DIGEST_RE = re.compile(r'<meta name="virtualiron-report-digest" content="([0-9a-f]{64})">')


def render_page(report):
    """(html, digest): the page of report (data.build_report's), and the SHA-256 of everything in it but its
    generation time, which tells whether a page already written shows the same."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(pct=_pct, size=_size, seconds=_seconds)
    html = env.from_string(TEMPLATE).render(report=dict(report, generated=GENERATED_MARK), view=page_view(report),
                                            digest=DIGEST_MARK, table_events=TABLE_EVENTS)
    digest = hashlib.sha256(html.encode('utf-8')).hexdigest()
    # Both marks come before any data in the page: the first occurrence is the template's own.
    return html.replace(DIGEST_MARK, digest, 1).replace(GENERATED_MARK, report['generated'], 1), digest


def page_digest(head):
    """The digest of a page render_page wrote, from its beginning (None for anything else)."""
    match = DIGEST_RE.search(head)
    return match.group(1) if match else None


def page_view(report):
    """The charts and downloads of every host and server, and the events' timeline and downloads."""
    window = report['window']
    moves = [e for e in report['events'] if e['lane'] == 'Migrations']
    hosts = []
    for host in report['hosts']:
        times = [e['time'] for e in moves if host['name'] in (e['source'], e['destination'])]
        view = dict(chart=chart(host, HOST_CHART, window, report['bucket_seconds']['host'], report['interval'], times),
                    downloads=downloads(host['name'], None, host, report['bucket_seconds']['host']))
        view['servers'] = [dict(chart=chart(s, SERVER_CHART, window, report['bucket_seconds']['server'],
                                            report['interval'], [e['time'] for e in moves if e['server'] == s['name']]),
                                downloads=downloads(s['name'], host['name'], s, report['bucket_seconds']['server']))
                           for s in host['servers']]
        hosts.append(view)
    return {'hosts': hosts, 'timeline': timeline(report),
            'events_csv': export.data_uri(export.events_csv(report['events']), 'text/csv'),
            'events_json': export.data_uri(export.events_json(report['events']), 'application/json')}


def chart(entry, size, window, seconds, interval, event_times):
    """The geometry of one entry's chart (None without samples in the period)."""
    series = entry['series']
    if not series:
        return None
    width, height, left, top, plot_width, plot_height, digits = size
    frame = charts.Frame(window['since'], window['until'], plot_width, plot_height, left, top, digits)
    gap = charts.GAP_BUCKETS * max(seconds, interval)
    cpu, memory = series['cpu_percent'], series['memory_percent']
    return {'width': width, 'height': height, 'plot': {'x': left, 'y': top, 'width': plot_width, 'height': plot_height},
            'band': charts.bands(frame, series['starts'], cpu['min'], cpu['max'], seconds, gap),
            'cpu': charts.polylines(frame, charts.segments(series['starts'], cpu['avg'], seconds, gap)),
            'memory': charts.polylines(frame, charts.segments(series['starts'], memory['avg'], seconds, gap)),
            'thresholds': charts.threshold_lines(frame, entry['thresholds']), 'marks': charts.marks(frame, event_times),
            'xticks': charts.time_ticks(frame), 'yticks': charts.percent_ticks(frame)}


def downloads(name, host, entry, seconds):
    """data: URIs of the CSV and JSON of an entry's chart, and their file names."""
    if not entry['series']:
        return None
    stem = _file_stem(name if host is None else '%s-%s' % (host, name))
    return {'csv': export.data_uri(export.series_csv(entry['series']), 'text/csv'), 'csv_name': stem + '.csv',
            'json': export.data_uri(export.series_json(name if host else None, host or name, entry['series'], seconds),
                                    'application/json'), 'json_name': stem + '.json'}


def timeline(report):
    """The events' timeline: one lane per kind of event, a mark per event (events a few pixels apart share one)."""
    lanes = [lane['name'] for lane in report['lanes']]
    width, left, lane_height = TIMELINE['width'], TIMELINE['left'], TIMELINE['lane']
    frame = charts.Frame(report['window']['since'], report['window']['until'], width - left - 10, 0, left, 0)
    marks = {}
    for event in report['events']:
        key = (lanes.index(event['lane']), int(frame.x(event['time']) // MARK_PIXELS))
        marks.setdefault(key, []).append(event)
    return {'width': width, 'height': lane_height * len(lanes) + 24, 'left': left, 'right': width - 10,
            'lanes': [{'name': n, 'y': lane_height * i + lane_height // 2} for i, n in enumerate(lanes)],
            'xticks': [dict(t, y=lane_height * len(lanes)) for t in charts.time_ticks(frame)],
            'marks': [_mark(frame, lane_height * index + lane_height // 2, group)
                      for (index, _slot), group in sorted(marks.items())]}


def _mark(frame, y, group):
    first = group[0]
    what = '%s %s' % (first['kind'], first['server'] or first['hosts_text'])
    title = '%s: %s' % (first['time_text'], what) if len(group) == 1 else '%d events from %s, first %s' % (
        len(group), first['time_text'], what)
    return {'x': frame.x(first['time']), 'y': y, 'count': len(group), 'failed': any(e['failed'] for e in group),
            'title': title}


def _file_stem(name):
    """A download's file name from a host or server name (which may hold anything a name can)."""
    return re.sub(r'[^A-Za-z0-9._-]+', '_', name).strip('._') or 'figures'


def _pct(value):
    return '\u2013' if value is None else '%.1f %%' % value


def _size(value):
    if value is None:
        return '\u2013'
    for unit, factor in (('TiB', 1024 ** 4), ('GiB', 1024 ** 3), ('MiB', 1024 ** 2), ('KiB', 1024)):
        if value >= factor:
            return '%.1f %s' % (value / factor, unit)
    return '%d B' % value


def _seconds(value):
    for unit, factor in (('d', 86400), ('h', 3600), ('min', 60)):
        if value >= factor and value % factor == 0:
            return '%d %s' % (value // factor, unit)
    return '%g s' % value
