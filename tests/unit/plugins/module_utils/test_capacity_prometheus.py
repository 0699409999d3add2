# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Prometheus history backend against a fake Prometheus (an HTTP server in a thread): answers recorded from a
real Prometheus 2.42 scraping prometheus-libvirt-exporter 0.2, exact figures, gaps, and bad or hostile answers."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.capacity import cycle, prometheus
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.history import FIGURES, History, open_history
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.prometheus import Prometheus, open_backend
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.modules import utilization_info

FIXTURE = os.path.join(os.path.dirname(__file__), 'fixtures', 'prometheus_query_range.json')


class FakePrometheus(object):
    """Answers POST /api/v1/query_range as Prometheus answers the backend's one query: the series of answers
    ({figure: [series]}) labelled with their figure, or body (a dict, or bytes as is) when set; status is the
    HTTP status of the answer. Keeps the requests (form and headers)."""

    def __init__(self):
        self.answers, self.body, self.status, self.requests = {}, None, 200, []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK wait

            def do_POST(self):
                length = int(self.headers['Content-Length'])
                form = dict((k, v[0]) for k, v in parse_qs(self.rfile.read(length).decode()).items())
                fake.requests.append({'path': self.path, 'form': form, 'headers': dict(self.headers)})
                body = fake.body if fake.body is not None else matrix(
                    [dict(item, metric=dict(item['metric'], virtualiron_figure=figure))
                     for figure, items in sorted(fake.answers.items()) for item in items])
                body = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(fake.status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={'poll_interval': 0.01}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    server = FakePrometheus()
    yield server
    server.close()


def matrix(series):
    return {'status': 'success', 'data': {'resultType': 'matrix', 'result': series}}


def series(values, host='kvm1', domain='web1', **labels):
    """A series of (time, value) pairs; values are text, as Prometheus gives them."""
    metric = dict(labels, host=host, **({} if domain is None else {'domain': domain}))
    return {'metric': metric, 'values': [[t, v if isinstance(v, str) else repr(v)] for t, v in values]}


def row(time, host, server=None, **figures):
    return dict(dict.fromkeys(FIGURES), time=time, host=host, server=server, **figures)


def rack(fake, scrapes, cpu, vcpus=None, domain='web1', host='kvm1'):
    """Answers for one server: scrape times and CPU seconds at the steps 100, 105, 110..."""
    steps = [100.0 + 5 * i for i in range(len(scrapes))]
    fake.answers['scraped'] = [series(zip(steps, scrapes), host, domain)]
    fake.answers['cpu_time_ns'] = [series(zip(steps, cpu), host, domain)]
    if vcpus:
        fake.answers['vcpus'] = [series([(t, vcpus) for t in steps], host, domain)]


# ---------------------------------------------------------------- recorded answers of a real Prometheus

def recorded():
    with open(FIXTURE) as f:
        return json.load(f)


def test_recorded_answers_give_the_exporters_figures(fake):
    answer = recorded()
    fake.body = answer['response']
    got = Prometheus(fake.url, answer['step']).samples(answer['since'], answer['until'])
    host_memory, memory = 25276502016, 2147483648
    expected = []
    # Scrapes at ...017.911, 019.911 and 021.911: a sample for each of the last two, over 2 s, of 2 vCPUs.
    for end, cpu, read, write, rx, tx in (
            (1796067019.911, (1796067019.913515 - 1796067017.914669), 99942, 49971, 199884, 99942),
            (1796067021.911, (1796067021.913712 - 1796067019.913515), 100010, 50005, 200021, 100011)):
        rates = dict(cpu_percent=round(cpu / 2 / 2 * 100, 1), vcpus=2, memory_bytes=memory,
                     disk_read_bps=read / 2.0, disk_write_bps=write / 2.0, net_rx_bps=rx / 2.0, net_tx_bps=tx / 2.0)
        expected += [row(end, 'test1', **dict(rates, memory_percent=round(100.0 * memory / host_memory, 1))),
                     row(end, 'test1', 'test', **dict(rates, memory_percent=25.0))]
    assert got == expected
    assert [r['cpu_percent'] for r in got] == [50.0] * 4
    assert [r['memory_percent'] for r in got] == [8.5, 25.0] * 2


def test_the_query_asked_is_the_one_prometheus_answered(fake):
    answer = recorded()
    Prometheus(fake.url + '/', 2).samples(1000.5, 1004.0)
    assert [r['path'] for r in fake.requests] == ['/api/v1/query_range']
    form = fake.requests[0]['form']
    assert form['query'] == answer['form']['query']
    # The steps end at until and start at least a step before since, on the same grid.
    assert (form['start'], form['end'], form['step']) == ('998.000', '1004.000', '2')


# ---------------------------------------------------------------- exact figures, gaps

def test_exact_figures_of_two_servers_and_their_host(fake):
    steps = [100.0, 105.0, 110.0]
    fake.answers['scraped'] = [series(zip(steps, ['99.5', '104.5', '109.5'])),
                               series(zip(steps, ['99.5', '104.5', '109.5']), domain='db1')]
    fake.answers['cpu_time_ns'] = [series(zip(steps, [10, 15, 20])), series(zip(steps, [0, 5, 7.5]), domain='db1')]
    fake.answers['vcpus'] = [series([(t, 2) for t in steps]), series([(t, 1) for t in steps], domain='db1')]
    fake.answers['memory_current_bytes'] = [series([(t, 2 ** 30) for t in steps]),
                                            series([(t, 2 ** 29) for t in steps], domain='db1')]
    fake.answers['memory_maximum_bytes'] = [series([(t, 2 ** 31) for t in steps])]
    fake.answers['disk_read_bytes'] = [series(zip(steps, [0, 1000, 3000]))]
    fake.answers['cpus'] = [series([(t, 4) for t in steps], domain=None)]
    fake.answers['memory_bytes'] = [series([(t, 2 ** 33) for t in steps], domain=None)]
    got = Prometheus(fake.url, 5).samples(100.0, 110.0)
    web = dict(vcpus=2, memory_bytes=2 ** 30, memory_percent=50.0)
    db = dict(vcpus=1, memory_bytes=2 ** 29, memory_percent=100.0)  # no maximum: of its current memory
    host = dict(vcpus=4, memory_bytes=2 ** 30 + 2 ** 29, memory_percent=18.8)
    assert got == [
        row(104.5, 'kvm1', **dict(host, cpu_percent=50.0, disk_read_bps=200.0)),
        row(104.5, 'kvm1', 'db1', **dict(db, cpu_percent=100.0)),
        row(104.5, 'kvm1', 'web1', **dict(web, cpu_percent=50.0, disk_read_bps=200.0)),
        row(109.5, 'kvm1', **dict(host, cpu_percent=37.5, disk_read_bps=400.0)),
        row(109.5, 'kvm1', 'db1', **dict(db, cpu_percent=50.0)),
        row(109.5, 'kvm1', 'web1', **dict(web, cpu_percent=50.0, disk_read_bps=400.0)),
    ]


@pytest.mark.parametrize('scrapes, cpu, expected', [
    # every step a new scrape: a sample each
    (['100', '105', '110', '115'], [0, 5, 10, 15], [(105.0, 100.0), (110.0, 100.0), (115.0, 100.0)]),
    # Prometheus was down: steps 110 and 115 still answer the scrape of 105; one sample spans 105 to 120
    (['100', '105', '105', '105', '120'], [0, 5, 5, 5, 20], [(105.0, 100.0), (120.0, 100.0)]),
    # the scrape at 110 failed (no value at that step): the next sample spans 105 to 115
    (['100', '105', 'NaN', '115'], [0, 5, 10, 10], [(105.0, 100.0), (115.0, 50.0)]),
    # the server restarted (its CPU time went down): no CPU % for that sample, as sampling says
    (['100', '105', '110'], [50, 55, 1], [(105.0, 100.0), (110.0, None)]),
    # a step shorter than the scrape interval reads each scrape twice: a sample per scrape
    (['100', '100', '105', '105', '110'], [0, 0, 5, 5, 10], [(105.0, 100.0), (110.0, 100.0)]),
])
def test_gaps_and_repeated_scrapes(fake, scrapes, cpu, expected):
    rack(fake, scrapes, cpu, vcpus=1)
    got = Prometheus(fake.url, 5).samples(101.0, 125.0, kind='server')
    assert [(r['time'], r['cpu_percent']) for r in got] == expected


def test_a_gap_in_sampling_leaves_the_server_out_around_it(fake):
    steps = [100.0, 105.0, 110.0, 115.0]
    fake.answers['scraped'] = [series(zip(steps, ['100', '105', '110', '115'])),
                               series([(100.0, '100'), (105.0, '105'), (115.0, '115')], domain='db1')]
    fake.answers['cpu_time_ns'] = [series(zip(steps, [0, 5, 10, 15])),
                                   series([(100.0, 0), (105.0, 5), (115.0, 15)], domain='db1')]
    got = Prometheus(fake.url, 5).samples(101.0, 120.0, kind='server')
    assert [(r['time'], r['server']) for r in got] == [
        (105.0, 'db1'), (105.0, 'web1'), (110.0, 'web1'), (115.0, 'web1')]


@pytest.mark.parametrize('filters, expected', [
    ({}, [(105.0, 'kvm1', None), (105.0, 'kvm1', 'web1'), (105.0, 'kvm2', None), (105.0, 'kvm2', 'db1')]),
    ({'kind': 'server'}, [(105.0, 'kvm1', 'web1'), (105.0, 'kvm2', 'db1')]),
    ({'kind': 'host'}, [(105.0, 'kvm1', None), (105.0, 'kvm2', None)]),
    ({'servers': ['db1']}, [(105.0, 'kvm2', 'db1')]),
    ({'hosts': ['kvm1']}, [(105.0, 'kvm1', None), (105.0, 'kvm1', 'web1')]),
    ({'since': 106.0}, []),
    ({'until': 104.0}, []),
])
def test_filters(fake, filters, expected):
    steps = [100.0, 105.0]
    fake.answers['scraped'] = [series(zip(steps, ['100', '105'])),
                               series(zip(steps, ['100', '105']), 'kvm2', 'db1')]
    fake.answers['cpu_time_ns'] = [series(zip(steps, [0, 1])), series(zip(steps, [0, 1]), 'kvm2', 'db1')]
    window = dict({'since': 101.0, 'until': 110.0}, **filters)
    got = Prometheus(fake.url, 5).samples(**window)
    assert [(r['time'], r['host'], r['server']) for r in got] == expected


def test_hosts_are_asked_for_by_label_escaped(fake):
    Prometheus(fake.url, 5, host_label='hypervisor').samples(100.0, 110.0, hosts=['kvm1.example.com', 'a+b'])
    query = fake.requests[0]['form']['query']
    matcher = 'hypervisor=~"kvm1\\\\.example\\\\.com|a\\\\+b"'
    assert 'label_replace(timestamp(libvirt_domain_info_cpu_time_seconds_total{%s}) and on (hypervisor, domain) ' \
        '(libvirt_domain_state_code{%s} != 5), "virtualiron_figure", "scraped", "", "")' % (matcher, matcher) in query
    assert 'count by (hypervisor) (node_cpu_seconds_total{mode="idle", %s})' % matcher in query
    assert query.count(matcher) == 12 and 'host' not in query.replace('hypervisor', '')


def test_series_of_unknown_figures_are_left_out(fake):
    rack(fake, ['100', '105'], [0, 5], vcpus=1)
    fake.answers['__proto__'] = fake.answers['vcpus']
    fake.answers['memory_bytes'] = [series([(105.0, 7)])]  # a host figure on a server's series: its host is kvm1
    got = Prometheus(fake.url, 5).samples(101.0, 110.0)
    assert [(r['server'], r['vcpus'], r['cpu_percent']) for r in got] == [(None, None, None), ('web1', 1, 100.0)]


# ---------------------------------------------------------------- bad and hostile answers

@pytest.mark.parametrize('values, cpu', [
    ([[100.0, '0'], [105.0, 'NaN']], None),
    ([[100.0, '0'], [105.0, '+Inf']], None),
    ([[100.0, '0'], [105.0, '-5']], None),
    ([[100.0, '0'], [105.0, 'five']], None),
    ([[100.0, '0'], [105.0, 5]], None),  # a number, not text: not what Prometheus sends
    ([[100.0, '0'], ['105', '5']], None),
    ([[100.0, '0'], [105.0]], None),
    ([[100.0, '0'], [105.0, '5', 'x']], None),
    ([[100.0, '0'], {'105': '5'}], None),
    ('not a list', None),
    ([[100.0, '0'], [105.0, '5']], 100.0),
])
def test_bad_values_leave_the_figure_unknown(fake, values, cpu):
    rack(fake, ['100', '105'], [0, 5], vcpus=1)
    fake.answers['cpu_time_ns'][0]['values'] = values
    got = Prometheus(fake.url, 5).samples(101.0, 110.0, kind='server')
    assert [(r['time'], r['cpu_percent']) for r in got] == [(105.0, cpu)]


@pytest.mark.parametrize('scraped', [[105.0, 'NaN'], [105.0, '1e400'], [105.0, None], 'x'])
def test_a_bad_scrape_time_leaves_the_sample_out(fake, scraped):
    rack(fake, ['100', '105'], [0, 5], vcpus=1)
    fake.answers['scraped'][0]['values'][1] = scraped
    assert Prometheus(fake.url, 5).samples(101.0, 110.0) == []


@pytest.mark.parametrize('labels', [
    {'domain': '../../etc/passwd'}, {'domain': 'a b'}, {'domain': 7}, {'domain': ''}, {'domain': None},
    {'domain': 'x' * 65}, {'host': 'kvm1;rm'}, {'host': None},
])
def test_series_with_bad_names_are_left_out(fake, labels):
    rack(fake, ['100', '105'], [0, 5], vcpus=1)
    bad = dict(fake.answers['scraped'][0], metric=dict({'host': 'kvm1', 'domain': 'web1'}, **labels))
    fake.answers['scraped'].append(bad)
    fake.answers['cpu_time_ns'].append(dict(fake.answers['cpu_time_ns'][0], metric=bad['metric']))
    got = Prometheus(fake.url, 5).samples(101.0, 110.0, kind='server')
    assert [(r['host'], r['server']) for r in got] == [('kvm1', 'web1')]


@pytest.mark.parametrize('body, status, message', [
    ({'status': 'error', 'errorType': 'bad_data', 'error': 'parse error'}, 200, "unexpected shape \\(status 'error'\\)"),
    ({'status': 'success', 'data': {'resultType': 'vector', 'result': []}}, 200, 'unexpected shape'),
    ({'status': 'success', 'data': {'resultType': 'matrix', 'result': {}}}, 200, 'unexpected shape'),
    ({'status': 'success', 'data': []}, 200, 'unexpected shape'),
    ([1, 2], 200, 'unexpected shape'),
    (b'<html>login</html>', 200, 'not JSON'),
    ({'status': 'error', 'errorType': 'bad_data', 'error': 'invalid parameter "query"'}, 400,
     'did not answer .* HTTP Error 400.*invalid parameter "query"'),
    (b'denied', 401, 'did not answer .*HTTP Error 401'),
])
def test_bad_answers_fail_saying_so(fake, body, status, message):
    fake.body = body
    fake.status = status
    with pytest.raises(VirtualIronError, match=message):
        Prometheus(fake.url, 5).samples(100.0, 110.0)


def test_an_answer_too_large_is_refused(fake, monkeypatch):
    monkeypatch.setattr(prometheus, 'MAX_RESPONSE_BYTES', 100)
    rack(fake, ['100', '105'], [0, 5])
    with pytest.raises(VirtualIronError, match='more than 0 MiB'):
        Prometheus(fake.url, 5).samples(100.0, 110.0)


def test_no_server_there():
    with pytest.raises(VirtualIronError, match='Prometheus at http://127.0.0.1:1/api/v1/query_range did not answer'):
        Prometheus('http://127.0.0.1:1', 5).samples(100.0, 110.0)


# ---------------------------------------------------------------- credentials and arguments

@pytest.mark.parametrize('credentials, header', [
    ({}, None),
    ({'username': 'ops', 'password': 's3cret'}, 'Basic ' + base64.b64encode(b'ops:s3cret').decode()),
    ({'token': 'tok3n'}, 'Bearer tok3n'),
])
def test_credentials(fake, credentials, header):
    Prometheus(fake.url, 5, **credentials).samples(100.0, 110.0)
    assert set(r['headers'].get('Authorization') for r in fake.requests) == {header}


@pytest.mark.parametrize('args, kwargs, message', [
    (('ftp://x', 5), {}, 'must be an http'),
    ((None, 5), {}, 'must be an http'),
    (('http://x', 0), {}, 'prometheus_step must be'),
    (('http://x', True), {}, 'prometheus_step must be'),
    (('http://x', float('nan')), {}, 'prometheus_step must be'),
    (('http://x', 5), {'token': 't', 'username': 'u'}, 'not both'),
    (('http://x', 5), {'host_label': 'host"}'}, 'label name'),
    (('http://x', 5), {'host_label': '1host'}, 'label name'),
])
def test_bad_arguments(args, kwargs, message):
    with pytest.raises(VirtualIronError, match=message):
        Prometheus(*args, **kwargs)


@pytest.mark.parametrize('window, message', [
    ({'since': None, 'until': 100.0}, 'needs a window'),
    ({'since': 200.0, 'until': 100.0}, 'needs a window'),
    ({'since': float('inf'), 'until': 100.0}, 'needs a window'),
    ({'since': 0.0, 'until': 11000.0}, 'raise prometheus_step'),
    ({'since': 0.0, 'until': 10.0, 'kind': 'vm'}, 'kind must be'),
    ({'since': 0.0, 'until': 10.0, 'hosts': 'kvm1'}, 'hosts must be a list'),
    ({'since': 0.0, 'until': 10.0, 'hosts': ['kvm1"}) or vector(1']}, 'invalid host name'),
])
def test_bad_windows(window, message):
    with pytest.raises(VirtualIronError, match=message):
        Prometheus('http://127.0.0.1:1', 1).samples(**window)


def test_open_backend(tmp_path):
    path = str(tmp_path / 'h.sqlite')
    open_history(path).close()
    with open_backend({'history': path}, 5) as history:
        assert isinstance(history, History)
    given = {'history_backend': 'prometheus', 'prometheus_url': 'https://p:9090', 'prometheus_step': None,
             'prometheus_token': 't', 'validate_certs': False, 'prometheus_host_label': 'node'}
    backend = open_backend(given, 5)
    assert (backend.url, backend.step, backend.host_label) == ('https://p:9090/api/v1/query_range', 5.0, 'node')
    assert backend.auth['validate_certs'] is False and backend.headers['Authorization'] == 'Bearer t'
    assert open_backend(dict(given, prometheus_step=15), 5).step == 15.0
    with pytest.raises(VirtualIronError, match='needs prometheus_url'):
        open_backend(dict(given, prometheus_url=None), 5)


# ---------------------------------------------------------------- the modules' use of it

def test_live_capacity_reads_the_window_from_prometheus(fake):
    rack(fake, ['100', '105', '110'], [0, 5, 10], vcpus=1)
    servers = [{'name': 'web1', 'policy': {'more': {'minutes': 0.25}, 'less': None}}]
    given = {'history_backend': 'prometheus', 'prometheus_url': fake.url, 'prometheus_step': None}
    got = cycle.history_window(given, servers, 111.0, 5.0)
    assert [(r['time'], r['server'], r['cpu_percent']) for r in got] == [(105.0, 'web1', 100.0), (110.0, 'web1', 100.0)]
    form = fake.requests[0]['form']
    # the policy's 15 s and two intervals before it, in steps of the interval ending now
    assert (form['start'], form['end'], form['step']) == ('81.000', '111.000', '5')


@pytest.mark.parametrize('aggregate, expected', [
    ('none', [105.0, 110.0]),
    ('max', [{'host': 'kvm1', 'server': 'web1', 'samples': 2, 'first': 105.0, 'last': 110.0, 'cpu_percent': 100.0}]),
])
def test_utilization_info_reads_prometheus(fake, aggregate, expected):
    rack(fake, ['100', '105', '110'], [0, 5, 10], vcpus=1)
    given = {'history_backend': 'prometheus', 'prometheus_url': fake.url, 'prometheus_step': 5, 'window': '20s',
             'hosts': None, 'servers': ['web1'], 'aggregate': aggregate}
    result = utilization_info.read_history(given, 111.0)
    if aggregate == 'none':
        assert [r['time'] for r in result['samples']] == expected
    else:
        assert [dict((k, a[k]) for k in expected[0]) for a in result['aggregates']] == expected
    assert fake.requests[0]['form']['step'] == '5'
