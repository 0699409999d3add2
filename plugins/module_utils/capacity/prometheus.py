# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Utilization history read from a Prometheus server that scrapes prometheus-libvirt-exporter on each host,
for fleets that already run Prometheus: the same samples as the SQLite history gives (History.samples), so that
LiveCapacity decides the same way whichever keeps the history. Read-only.

The exporter's counters are read at each step of the window (query_range) together with the time of the scrape
each value comes from, and consecutive scrapes of a host become samples through sampling.rates, the function the
SQLite history's samples come from: the figures are computed in one place. Each target needs a label naming its
host as the inventory does (host_label, 'host' by default); see docs/capacity-history.md for the scrape config.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import math
import time
from urllib.parse import urlencode

from ansible.module_utils.urls import open_url

from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.history import KINDS, open_history
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.sampling import rates
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.common.validation import check_object_name

# prometheus-libvirt-exporter 0.2 (Debian 12): the sampling.server_counters key each metric fills, and how its series
# are joined per server: devices are summed, as sampling does (max elsewhere: a target scraped twice counts once).
# Memory is the balloon's current size: this exporter has no RSS.
SERVER_QUERIES = (
    ('cpu_time_ns', 'max', 'libvirt_domain_info_cpu_time_seconds_total', 1e9),
    ('vcpus', 'max', 'libvirt_domain_info_virtual_cpus', None),
    ('memory_current_bytes', 'max', 'libvirt_domain_info_memory_usage_bytes', None),
    ('memory_maximum_bytes', 'max', 'libvirt_domain_info_maximum_memory_bytes', None),
    ('disk_read_bytes', 'sum', 'libvirt_domain_block_stats_read_bytes_total', None),
    ('disk_write_bytes', 'sum', 'libvirt_domain_block_stats_write_bytes_total', None),
    ('net_rx_bytes', 'sum', 'libvirt_domain_interface_stats_receive_bytes_total', None),
    ('net_tx_bytes', 'sum', 'libvirt_domain_interface_stats_transmit_bytes_total', None),
)
# The host's CPUs and memory come from prometheus-node-exporter when it is scraped with the same host label;
# without it a host's row has no CPU % nor memory %.
HOST_QUERIES = (
    ('cpus', 'count by (%s) (node_cpu_seconds_total{mode="idle", %s})'),
    ('memory_bytes', 'max by (%s) (node_memory_MemTotal_bytes{%s})'),
)
INT_COUNTERS = ('vcpus', 'memory_current_bytes', 'memory_maximum_bytes', 'cpus', 'memory_bytes')
SERVER_FIGURES = tuple(key for key, _how, _metric, _scale in SERVER_QUERIES)
HOST_FIGURES = tuple(key for key, _query in HOST_QUERIES)
# 'scraped': the time of the scrape each step's values come from.
FIGURES = ('scraped',) + SERVER_FIGURES + HOST_FIGURES
SCALES = dict((key, scale) for key, _how, _metric, scale in SERVER_QUERIES if scale)
SERVER_LABEL = 'domain'
# The label that tells the figures apart in the answer to the one query of all of them.
FIGURE_LABEL = 'virtualiron_figure'
# The options of the modules that read the history (doc fragment virtualiron.infra.history_backend).
HISTORY_BACKEND_ARGUMENT_SPEC = dict(
    history_backend=dict(type='str', default='sqlite', choices=['sqlite', 'prometheus']),
    prometheus_url=dict(type='str'),
    prometheus_step=dict(type='float'),
    prometheus_host_label=dict(type='str', default='host'),
    prometheus_username=dict(type='str'),
    prometheus_password=dict(type='str', no_log=True),
    prometheus_token=dict(type='str', no_log=True),
    validate_certs=dict(type='bool', default=True),
)
# Prometheus answers at most 11,000 points per series.
MAX_POINTS = 11000
MAX_RESPONSE_BYTES = 256 * 1024 ** 2
TIMEOUT = 30


def open_backend(params, interval):
    """The history a module reads, as a context manager with samples(): the SQLite file params['history'], or
    the Prometheus server params['prometheus_url'] (step: params['prometheus_step'], else interval)."""
    if params.get('history_backend', 'sqlite') == 'sqlite':
        return open_history(params['history'], create=False)
    if not params.get('prometheus_url'):
        raise VirtualIronError('history_backend prometheus needs prometheus_url, the Prometheus server to read from')
    return Prometheus(params['prometheus_url'], params.get('prometheus_step') or interval,
                      username=params.get('prometheus_username'), password=params.get('prometheus_password'),
                      token=params.get('prometheus_token'), validate_certs=params.get('validate_certs', True),
                      host_label=params.get('prometheus_host_label') or 'host')


class Prometheus(object):
    """A Prometheus server's HTTP API, read as a utilization history (see the module's docstring)."""

    def __init__(self, url, step, username=None, password=None, token=None, validate_certs=True, host_label='host',
                 timeout=TIMEOUT):
        if not isinstance(url, str) or not url.startswith(('http://', 'https://')):
            raise VirtualIronError('prometheus_url must be an http:// or https:// URL, got %r' % (url,))
        if isinstance(step, bool) or not isinstance(step, (int, float)) or not 0 < step < math.inf:
            raise VirtualIronError('prometheus_step must be a number of seconds above 0, got %r' % (step,))
        if token and username:
            raise VirtualIronError('give prometheus_token or prometheus_username and password, not both')
        self.url, self.step, self.timeout = url.rstrip('/') + '/api/v1/query_range', float(step), timeout
        self.host_label = _check_label(host_label)
        self.auth = dict(url_username=username, url_password=password, force_basic_auth=bool(username),
                         validate_certs=validate_certs)
        self.headers = {'Content-Type': 'application/x-www-form-urlencoded'}
        if token:
            self.headers['Authorization'] = 'Bearer %s' % token

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        pass

    def samples(self, since=None, until=None, hosts=None, servers=None, kind=None):
        """As History.samples: the samples with since <= time <= until (since is needed here: Prometheus keeps
        more than anyone wants read at once), of these hosts and servers, of one kind or both, sorted."""
        until = time.time() if until is None else until
        if not (_is_number(since) and _is_number(until)) or since > until:
            raise VirtualIronError('reading Prometheus needs a window: since and until in epoch seconds, since '
                                   'first, got %r and %r' % (since, until))
        if kind not in KINDS + (None,):
            raise VirtualIronError('kind must be one of %s or None, got %r' % (', '.join(KINDS), kind))
        # Steps end at until, so that the latest scrape is read, and begin a step before since: the window's first
        # sample needs the scrape before it.
        steps = math.ceil((until - since) / self.step) + 1
        if steps >= MAX_POINTS:
            raise VirtualIronError('a window of %d s read every %g s is more than the %d points Prometheus answers '
                                   'per series: raise prometheus_step' % (until - since, self.step, MAX_POINTS))
        start = until - steps * self.step
        readings = self._readings(start, until, _names(hosts, 'host'))
        rows = [row for host in sorted(readings) for row in _host_samples(readings[host])]
        return sorted((r for r in rows if _wanted(r, since, until, hosts, servers, kind)),
                      key=lambda r: (r['time'], r['host'], r['server'] or ''))

    def _readings(self, start, until, hosts):
        """{host: [readings as sampling.read_counters gives them, one per scrape, oldest first]}. One query_range for
        every figure: a value that is not a finite number, and a series without valid names, are left out (the
        figure is then unknown, which never fires a policy)."""
        form = {'query': self._query_text(hosts), 'start': '%.3f' % start, 'end': '%.3f' % until, 'step': '%g' % self.step}
        answers = dict((figure, {}) for figure in FIGURES)
        for item in _matrix(self._query(form)):
            figure = item['metric'].get(FIGURE_LABEL)
            key = _series_key(item, self.host_label, figure in HOST_FIGURES) if figure in answers else None
            if key is not None:
                values = answers[figure].setdefault(key, {})
                for when, value in _points(item):
                    values[when] = value * SCALES.get(figure, 1)
        return _assemble(answers.pop('scraped'), dict((k, answers.pop(k)) for k in SERVER_FIGURES), answers)

    def _query_text(self, hosts):
        """The queries of every figure joined by 'or', each series labelled with its figure (FIGURE_LABEL)."""
        matcher = '%s=~"%s"' % (self.host_label, '|'.join(hosts)) if hosts else '%s!=""' % self.host_label
        by = '%s, %s' % (self.host_label, SERVER_LABEL)
        # A server counts while it is active, as sampling's (libvirt's state 5 is shut off).
        queries = [('scraped', 'timestamp(%s{%s}) and on (%s) (libvirt_domain_state_code{%s} != 5)' % (
            SERVER_QUERIES[0][2], matcher, by, matcher))]
        queries += [(key, '%s by (%s) (%s{%s})' % (how, by, metric, matcher)) for key, how, metric, _s in SERVER_QUERIES]
        queries += [(key, query % (self.host_label, matcher)) for key, query in HOST_QUERIES]
        return ' or '.join('label_replace(%s, "%s", "%s", "", "")' % (query, FIGURE_LABEL, key) for key, query in queries)

    def _query(self, form):
        try:
            response = open_url(self.url, data=urlencode(form), headers=self.headers, method='POST',
                                timeout=self.timeout, **self.auth)
            body = response.read(MAX_RESPONSE_BYTES + 1)
        except Exception as e:  # pylint: disable=broad-exception-caught
            raise VirtualIronError('Prometheus at %s did not answer the query %s: %s' % (
                self.url, form['query'], _http_error(e)))
        if len(body) > MAX_RESPONSE_BYTES:
            raise VirtualIronError('Prometheus at %s answered more than %d MiB for %s: narrow the window or raise '
                                   'prometheus_step' % (self.url, MAX_RESPONSE_BYTES // 1024 ** 2, form['query']))
        try:
            return json.loads(body)
        except ValueError:
            raise VirtualIronError('Prometheus at %s answered %s with something that is not JSON: is prometheus_url '
                                   'the server (http://host:9090), not a page in front of it?' % (self.url, form['query']))


def _http_error(e):
    body = getattr(e, 'read', None)
    if callable(body):
        try:
            answer = json.loads(body(65536))
            return '%s (%s)' % (e, answer.get('error') if isinstance(answer, dict) else answer)
        except Exception:  # pylint: disable=broad-exception-caught
            pass
    return str(e)


def _matrix(body):
    """The series of a query_range answer, after checking its shape."""
    data = body.get('data') if isinstance(body, dict) else None
    if not isinstance(data, dict) or body.get('status') != 'success' or data.get('resultType') != 'matrix' \
            or not isinstance(data.get('result'), list):
        raise VirtualIronError('Prometheus answered a range query with an unexpected shape (status %r): %s' % (
            body.get('status') if isinstance(body, dict) else None, json.dumps(body)[:300]))
    return [item for item in data['result'] if isinstance(item, dict) and isinstance(item.get('metric'), dict)
            and isinstance(item.get('values'), list)]


def _series_key(item, host_label, host_row):
    labels = item['metric']
    names = [labels.get(host_label)] + ([] if host_row else [labels.get(SERVER_LABEL)])
    try:
        for name in names:
            check_object_name(name, 'host or server')
    except VirtualIronError:
        return None
    return (names[0], None if host_row else names[1])


def _points(item):
    """(time, value) pairs of a series whose time and value are finite numbers (Prometheus gives values as text)."""
    for point in item['values']:
        if isinstance(point, list) and len(point) == 2 and _is_number(point[0]) and isinstance(point[1], str):
            try:
                value = float(point[1])
            except ValueError:
                continue
            if math.isfinite(value) and value >= 0:
                yield float(point[0]), value


def _assemble(scraped, counters, host_figures):
    """Readings per host, one per scrape: at each step, the servers whose scrape time is known, with their counters
    at that step. Steps answered by the same scrape (a step shorter than the scrape interval, or Prometheus down)
    make one reading, so that a rate always spans two different scrapes."""
    readings = {}
    for (host, server), times in scraped.items():
        for step, scrape in times.items():
            reading = readings.setdefault(host, {}).setdefault(scrape, _reading(host, scrape, step, host_figures))
            reading['servers'][server] = _counters(counters, host, server, step)
    return dict((host, [by_scrape[t] for t in sorted(by_scrape)]) for host, by_scrape in readings.items())


def _reading(host, scrape, step, host_figures):
    figures = dict((key, _integer(host_figures[key].get((host, None), {}).get(step))) for key in host_figures)
    return {'host': host, 'time': scrape, 'monotonic': scrape, 'cpus': figures['cpus'],
            'memory_bytes': figures['memory_bytes'], 'servers': {}}


def _counters(counters, host, server, step):
    values = dict((key, counters[key].get((host, server), {}).get(step)) for key in counters)
    values['cpu_time_ns'] = None if values['cpu_time_ns'] is None else int(values['cpu_time_ns'])
    values.update((key, _integer(values[key])) for key in INT_COUNTERS if key in values)
    values['memory_rss_bytes'] = None
    return values


def _host_samples(readings):
    """sampling.rates over each two consecutive scrapes of one host."""
    return [row for first, second in zip(readings, readings[1:]) for row in rates(first, second)]


def _wanted(row, since, until, hosts, servers, kind):
    return (since <= row['time'] <= until and (not hosts or row['host'] in hosts)
            and (not servers or row['server'] in servers)
            and (kind is None or (kind == 'host') == (row['server'] is None)))


def _names(names, what):
    """Names for a label matcher, checked: they go into a PromQL regular expression."""
    if names and (isinstance(names, str) or not isinstance(names, (list, tuple))):
        raise VirtualIronError('%ss must be a list of names, got %r' % (what, names))
    return [check_object_name(name, what).replace('.', '\\\\.').replace('+', '\\\\+') for name in names or []]


def _check_label(label):
    if not isinstance(label, str) or not label or not (label[0].isalpha() or label[0] == '_') \
            or not all(c.isalnum() and c.isascii() or c == '_' for c in label):
        raise VirtualIronError('prometheus_host_label must be a Prometheus label name (letters, digits, "_"), '
                               'got %r' % (label,))
    return label


def _integer(value):
    return None if value is None else int(round(value))


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
