# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reports: bucketing, the report's data, the page (empty, one sample, hostile names), its CSV and JSON, and the
Prometheus textfile."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import csv
import io
import json
import os
import re
from html.parser import HTMLParser
from urllib.parse import unquote

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.events import append_events
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.history import open_history
from ansible_collections.virtualiron.infra.plugins.module_utils.report import export, metrics
from ansible_collections.virtualiron.infra.plugins.module_utils.report.buckets import (
    bucket_seconds, bucket_series, sampling_interval, summary)
from ansible_collections.virtualiron.infra.plugins.module_utils.report.data import build_report, event_view, lane
from ansible_collections.virtualiron.infra.plugins.module_utils.report.page import page_digest, render_page
from ansible_collections.virtualiron.infra.plugins.module_utils.report.run import make_report

T0 = 1800000000.0  # a multiple of 3600
HOSTILE = '<script>alert("x")</script>&\'"'


def sample(when, host, server, cpu, memory=50.0):
    return {'time': when, 'host': host, 'server': server, 'cpu_percent': cpu, 'memory_percent': memory,
            'memory_bytes': 1024, 'vcpus': 1}


def options(**extra):
    base = dict(since=T0, until=T0 + 3600, now=T0 + 3600, title='Rack', hosts=None, servers=None)
    base.update(extra)
    return base


@pytest.mark.parametrize('span, points, interval, expected', [
    (86400, 288, 60, 300),      # a day on a host chart: 5-minute buckets
    (86400, 72, 60, 1200),      # on a server chart: 20 minutes
    (3600, 288, 60, 60),        # an hour of one-minute samples: never shorter than the interval
    (3600, 288, 0, 15),         # no interval known: the bound alone
    (30 * 86400, 288, 60, 10800),
    (400 * 86400, 100, 60, 4 * 86400),  # past a day: whole days
])
def test_bucket_seconds(span, points, interval, expected):
    assert bucket_seconds(span, points, interval) == expected


@pytest.mark.parametrize('times, expected', [
    ([], 0), ([5.0], 0), ([0, 60, 120, 180], 60),
    ([0, 0.2, 60, 60.1, 120, 3600, 3660], 60),  # rounds of many hosts, and an outage: the median gap
])
def test_sampling_interval(times, expected):
    assert sampling_interval(times) == expected


def test_bucket_series_min_avg_max_and_gaps():
    samples = [sample(T0 + 10, 'h1', 'a', 10.0), sample(T0 + 70, 'h1', 'a', 30.0), sample(T0 + 130, 'h1', 'a', 20.0),
               sample(T0 + 400, 'h1', 'a', None), sample(T0 - 1, 'h1', 'a', 99.0), sample(T0 + 3601, 'h1', 'a', 99.0)]
    series = bucket_series(samples, T0, T0 + 600, 300)[('h1', 'a')]
    assert series['starts'] == [T0, T0 + 300]
    assert series['counts'] == [3, 1]
    assert series['cpu_percent']['min'] == [10.0, None]
    assert series['cpu_percent']['max'] == [30.0, None]
    assert series['cpu_percent']['avg'] == [20.0, None]
    assert series['last']['time'] == T0 + 400
    assert summary(series, 'cpu_percent') == {'avg': 20.0, 'min': 10.0, 'max': 30.0, 'last': None}
    assert summary(series, 'memory_percent') == {'avg': 50.0, 'min': 50.0, 'max': 50.0, 'last': 50.0}


def test_bucket_series_mean_is_of_samples_not_of_buckets():
    samples = [sample(T0 + i, 'h', None, 0.0) for i in range(3)] + [sample(T0 + 60, 'h', None, 100.0)]
    series = bucket_series(samples, T0, T0 + 120, 60)[('h', None)]
    assert series['cpu_percent']['avg'] == [0.0, 100.0]
    assert summary(series, 'cpu_percent')['avg'] == 25.0


def rack():
    return {'hosts': [{'name': 'h1', 'uri': 'qemu:///system', 'error': None, 'cpus': 4, 'memory_bytes': 8 << 30,
                       'maintenance': {'maintenance': True, 'reason': 'disk swap', 'since': '2027-01-15T07:00:00Z'},
                       'load': {'servers_running': 1, 'servers_defined': 2, 'vcpu_overcommit': 0.5,
                                'memory_overcommit': 0.1}},
                      {'name': 'h2', 'uri': 'qemu+tcp://x/system', 'error': 'cannot connect', 'cpus': None}],
            'servers': [{'name': 'a', 'host': 'h1', 'state': 'running', 'vcpus': 2, 'memory_bytes': 1 << 30, 'tags': {},
                         'capacity_policy': {'more': {'threshold': 80, 'minutes': 5}}},
                        {'name': 'b', 'host': 'h1', 'state': 'stopped', 'vcpus': 1, 'memory_bytes': 1 << 30, 'tags': {},
                         'capacity_policy': {'more': {'threshold': 'high'}}}]}


def test_build_report_hosts_servers_policies():
    samples = [sample(T0 + 60, 'h1', None, 40.0), sample(T0 + 60, 'h1', 'a', 80.0),
               sample(T0 + 60, 'h3', 'gone', 5.0)]
    report = build_report(samples, [], rack(), options(host_policies={'h1': {'less': False}}))
    assert [h['name'] for h in report['hosts']] == ['h1', 'h2', 'h3']
    h1 = report['hosts'][0]
    assert [s['name'] for s in h1['servers']] == ['a', 'b']
    assert [(t['direction'], t['threshold']) for t in h1['servers'][0]['thresholds']] == [('more', 80.0)]
    assert h1['servers'][0]['thresholds'][0]['label'] == 'CPU > 80 % for 5 min (server a)'
    assert h1['servers'][1]['policy'] is None and 'threshold' in h1['servers'][1]['policy_error']
    assert [t['direction'] for t in h1['thresholds']] == ['more']  # the host's policy turns "less" off
    assert report['hosts'][2]['servers'][0]['now'] is None  # known from the history only
    assert report['counts'] == {'hosts': 3, 'servers': 3, 'samples': 3, 'events': 0}


@pytest.mark.parametrize('hosts, servers, names', [
    (['h1'], None, ['h1']), (None, ['a'], ['h1', 'h2']), (['h3'], ['gone'], ['h3']),
])
def test_build_report_filters(hosts, servers, names):
    samples = [sample(T0 + 60, 'h1', 'a', 1.0), sample(T0 + 60, 'h3', 'gone', 1.0)]
    report = build_report(samples, [], rack(), options(hosts=hosts, servers=servers))
    assert [h['name'] for h in report['hosts']] == names
    assert all(s['name'] in (servers or ['a', 'b', 'gone']) for h in report['hosts'] for s in h['servers'])


def test_events_in_period_lanes_and_highlights():
    events = [{'time': T0 - 1, 'kind': 'capacity.move', 'server': 'a', 'hosts': {}, 'reason': '', 'figures': {}},
              {'time': '2027-01-15T08:10:00Z', 'kind': 'capacity.move', 'server': 'a',
               'hosts': {'source': 'h1', 'destination': 'h2'}, 'reason': 'busy',
               'figures': {'duration_seconds': 2.25, 'downtime_ms': 35, 'failed': True, 'error': 'timeout',
                           'direction': 'more'}},
              {'time': T0 + 20, 'kind': 'recovery.restart', 'server': 'b', 'hosts': {'host': 'h2'}, 'reason': 'r',
               'figures': {}},
              {'time': T0 + 30, 'kind': 'something.new', 'server': None, 'hosts': {}, 'reason': 'x', 'figures': []}]
    since = 1800000000.0
    report = build_report([], events, None, options(since=since, until=since + 86400))
    assert [e['kind'] for e in report['events']] == ['recovery.restart', 'something.new', 'capacity.move']
    assert [(x['name'], x['count']) for x in report['lanes']] == [('Recoveries', 1), ('something.new', 1),
                                                                  ('Migrations', 1)]
    move = report['events'][2]
    assert move['highlights'] == ['took 2.2 s', 'downtime 35 ms', 'failed: timeout', 'more capacity']
    assert move['hosts_text'] == 'h1 \u2192 h2' and move['failed'] is True
    assert report['events'][0]['hosts_text'] == 'host: h2'


@pytest.mark.parametrize('kind, expected', [
    ('capacity.move', 'Migrations'), ('capacity.refused', 'Refused moves'), ('capacity.maintenance', 'Maintenance'),
    ('provisioning.done', 'Provisioning'), ('odd', 'odd')])
def test_lane(kind, expected):
    assert lane(kind) == expected


def test_event_text_is_cut():
    view = event_view({'time': T0, 'kind': 'k', 'server': 'x' * 1000, 'hosts': {}, 'reason': 'r' * 1000,
                       'figures': {}}, T0)
    assert len(view['server']) == 400 and view['server'].endswith('\u2026') and len(view['reason']) == 400


# ---------------------------------------------------------------- the page

class Dom(HTMLParser):
    """Tags and attributes of a page, and its text."""

    def __init__(self, html):
        HTMLParser.__init__(self)
        self.tags, self.text = [], []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def find(self, tag, **attrs):
        return [a for t, a in self.tags if t == tag and all(a.get(k.replace('_', '-')) == v for k, v in attrs.items())]


@pytest.mark.parametrize('samples, events', [([], []), ([sample(T0 + 60, 'h1', None, 12.5)], [])])
def test_empty_history_and_one_sample_make_a_clear_page(samples, events):
    html, _digest = render_page(build_report(samples, events, None, options()))
    dom = Dom(html)
    assert '<!DOCTYPE html>' in html and 'No events in this period.' in html
    if samples:
        assert dom.find('article', data_host='h1')[0]['data-cpu-avg'] == '12.5'
        assert len(dom.find('polyline')) == 2  # one point of CPU and one of memory, drawn as short lines
    else:
        assert 'No samples in this period and no hosts were read' in html
        assert not dom.find('svg')


def test_page_is_self_contained():
    html, _digest = render_page(build_report([sample(T0 + 60, 'h1', 'a', 1.0)], [], rack(), options()))
    dom = Dom(html)
    assert not dom.find('script') and not dom.find('link') and not dom.find('img') and 'url(' not in html
    assert all(a['href'].startswith(('#', 'data:')) for a in dom.find('a'))
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_hostile_strings_are_escaped():
    hostile_rack = rack()
    hostile_rack['hosts'][0]['maintenance']['reason'] = HOSTILE
    hostile_rack['servers'][0]['name'] = HOSTILE
    samples = [sample(T0 + 60, 'h1', HOSTILE, 1.0)]
    events = [{'time': T0 + 60, 'kind': HOSTILE, 'server': HOSTILE, 'hosts': {'source': HOSTILE}, 'reason': HOSTILE,
               'figures': {HOSTILE: HOSTILE}}]
    html, _digest = render_page(build_report(samples, events, hostile_rack, options(title=HOSTILE)))
    assert '<script' not in html and 'alert("x")' not in html
    dom = Dom(html)
    assert dom.find('figure', data_server=HOSTILE)  # the name comes back whole once unescaped
    assert HOSTILE in ''.join(dom.text)
    assert not dom.find('script')


def test_digest_leaves_out_the_generation_time():
    samples = [sample(T0 + 60, 'h1', 'a', 1.0)]
    first, digest = render_page(build_report(samples, [], None, options(now=T0 + 100)))
    second, same = render_page(build_report(samples, [], None, options(now=T0 + 200)))
    _third, other = render_page(build_report(samples + [sample(T0 + 120, 'h1', 'a', 2.0)], [], None, options()))
    assert first != second and digest == same != other
    assert page_digest(first[:4096]) == digest and page_digest('<html>') is None
    assert '2027-01-15T08:01:40Z' in first


def links(html):
    return dict((a['download'], unquote(a['href'].split(',', 1)[1])) for a in Dom(html).find('a') if 'download' in a)


def test_csv_and_json_hold_the_chart_figures():
    samples = [sample(T0 + 10, 'h1', 'a', 10.0, 40.0), sample(T0 + 20, 'h1', 'a', 20.04, 60.0),
               sample(T0 + 2000, 'h1', 'a', 5.0, 50.0)]
    report = build_report(samples, [], None, options())
    files = links(render_page(report)[0])
    seconds = report['bucket_seconds']['server']
    assert seconds == 60
    rows = list(csv.reader(io.StringIO(files['h1-a.csv'])))
    assert rows == [list(export.SERIES_COLUMNS),
                    ['2027-01-15T08:00:00Z', '2', '10.0', '15.0', '20.0', '50.0'],
                    ['2027-01-15T08:33:00Z', '1', '5.0', '5.0', '5.0', '50.0']]
    data = json.loads(files['h1-a.json'])
    assert data == {'host': 'h1', 'server': 'a', 'bucket_seconds': 60, 'columns': list(export.SERIES_COLUMNS),
                    'rows': [[int(T0), 2, 10.0, 15.0, 20.0, 50.0], [int(T0 + 1980), 1, 5.0, 5.0, 5.0, 50.0]]}


def test_events_csv_and_json():
    events = [{'time': T0 + 60, 'kind': 'capacity.move', 'server': '=cmd()', 'hosts': {'source': 'h1', 'destination': 'h2'},
               'reason': 'busy, "very"', 'figures': {'duration_seconds': 2}}]
    files = links(render_page(build_report([], events, None, options()))[0])
    assert list(csv.reader(io.StringIO(files['events.csv']))) == [
        list(export.EVENT_COLUMNS),
        ['2027-01-15T08:01:00Z', 'capacity.move', "'=cmd()", 'h1', 'h2', 'h1 \u2192 h2', 'busy, "very"',
         '{"duration_seconds": 2}']]
    assert json.loads(files['events.json']) == [{'time': '2027-01-15T08:01:00Z', 'kind': 'capacity.move',
                                                 'server': '=cmd()', 'source': 'h1', 'destination': 'h2',
                                                 'reason': 'busy, "very"', 'figures': {'duration_seconds': 2}}]


# ---------------------------------------------------------------- Prometheus textfile

def test_textfile_parses_and_holds_the_figures():
    samples = [sample(T0 + 60, 'h1', None, 40.0, 30.0), sample(T0 + 60, 'h1', 'a\n"b', 80.0, 20.0)]
    report = build_report(samples, [], rack(), options())
    log = [{'kind': 'capacity.move'}, {'kind': 'capacity.move'}, {'kind': 'capacity.refused'}]
    text = metrics.textfile_text(metrics.metric_families(report, log, 2))
    values = dict(((s.name, tuple(sorted(s.labels.items()))), s.value)
                  for family in text_string_to_metric_families(text) for s in family.samples)
    assert values[('virtualiron_host_cpu_percent', (('host', 'h1'),))] == 40.0
    assert values[('virtualiron_server_cpu_percent', (('host', 'h1'), ('server', 'a\n"b')))] == 80.0
    assert values[('virtualiron_server_memory_percent', (('host', 'h1'), ('server', 'a\n"b')))] == 20.0
    assert values[('virtualiron_host_up', (('host', 'h1'),))] == 1 and values[('virtualiron_host_up', (('host', 'h2'),))] == 0
    assert values[('virtualiron_host_maintenance', (('host', 'h1'),))] == 1
    assert ('virtualiron_host_cpus', (('host', 'h2'),)) not in values  # unreachable: no figures
    assert values[('virtualiron_events_total', (('kind', 'capacity.move'),))] == 2
    assert values[('virtualiron_event_log_skipped_lines', ())] == 2
    assert values[('virtualiron_host_sample_timestamp_seconds', (('host', 'h1'),))] == T0 + 60
    assert '_created' not in text


# ---------------------------------------------------------------- make_report, as the module runs it

def test_make_report_writes_when_changed_and_not_in_check_mode(tmp_path):
    history, log = str(tmp_path / 'h.sqlite'), str(tmp_path / 'e.jsonl')
    with open_history(history) as store:
        store.record([sample(T0 + 60, 'h1', None, 10.0), sample(T0 + 60, 'h1', 'a', 20.0)])
    append_events(log, [{'time': T0 + 30, 'kind': 'capacity.move', 'server': 'a'}])
    params = {'window': '1h', 'hosts': None, 'servers': None, 'history': history, 'events': log,
              'output': str(tmp_path / 'r.html'), 'textfile': str(tmp_path / 'v.prom'), 'title': 'T'}
    checked = make_report(params, now=T0 + 100, check_mode=True)
    assert checked['changed'] and not os.path.exists(params['output']) and not os.path.exists(params['textfile'])
    first = make_report(params, now=T0 + 100)
    assert first['changed'] and first['counts'] == {'hosts': 1, 'servers': 1, 'samples': 2, 'events': 1}
    assert os.stat(params['output']).st_mode & 0o777 == 0o644
    again = make_report(params, now=T0 + 110)
    assert not again['changed'] and again['digest'] == first['digest']
    with open(params['output']) as f:
        assert '2027-01-15T08:01:40Z' in f.read()  # the page of the run that wrote it


def test_make_report_without_history(tmp_path):
    params = {'window': '1d', 'history': str(tmp_path / 'none.sqlite'), 'events': str(tmp_path / 'none.jsonl'),
              'output': str(tmp_path / 'r.html')}
    result = make_report(params, now=T0)
    with open(params['output']) as f:
        html = f.read()
    assert result['counts']['samples'] == 0 and 'There is no utilization history at' in html
    assert not os.path.exists(params['history'])
