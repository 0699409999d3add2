# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report's current figures and the event log's counters in the Prometheus text format, for node_exporter's
textfile collector (the metric names are documented in docs/reports.md). The text comes from prometheus_client,
which escapes label values (server names are untrusted text) and writes the file as the collector wants it: to a
temporary file, then renamed over the old one, so that a scrape never reads half a file."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import traceback

from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import MissingLibrary

try:
    from prometheus_client import CollectorRegistry, generate_latest, write_to_textfile
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
except ImportError:
    CollectorRegistry = generate_latest = write_to_textfile = CounterMetricFamily = GaugeMetricFamily = MissingLibrary(
        'prometheus_client', traceback.format_exc())

PREFIX = 'virtualiron_'
# (name, help, the rack host's key or a function of it) of the hosts the rack was read from.
HOST_NOW = (
    ('host_up', 'Whether the host answered when the report read the rack (1) or not (0).', lambda h: 0 if h['error'] else 1),
    ('host_maintenance', 'Whether the host is in maintenance (1) or not (0).',
     lambda h: 1 if (h.get('maintenance') or {}).get('maintenance') else 0),
    ('host_cpus', 'CPUs of the host.', lambda h: h.get('cpus')),
    ('host_memory_bytes', 'Memory of the host, in bytes.', lambda h: h.get('memory_bytes')),
    ('host_servers_running', 'Servers running (or paused) on the host.', lambda h: _load(h, 'servers_running')),
    ('host_servers_defined', 'Servers defined on the host.', lambda h: _load(h, 'servers_defined')),
    ('host_vcpu_overcommit_ratio', 'vCPUs of running servers per CPU of the host.', lambda h: _load(h, 'vcpu_overcommit')),
    ('host_memory_overcommit_ratio', 'Memory of running servers per byte of host memory.',
     lambda h: _load(h, 'memory_overcommit')),
)
# (name, help, summary figure) from the latest sample of each host and server in the period.
LATEST = (
    ('cpu_percent', 'CPU %% of the %s in its latest sample of the period (a host: its servers\' CPU time over its CPUs).',
     'cpu_percent'),
    ('memory_percent', 'Memory %% in use of the %s in its latest sample of the period.', 'memory_percent'),
)


def metric_families(report, all_events, skipped):
    """The metric families of a report (data.build_report's) and of the whole event log (all_events, skipped:
    read_events' answer with no period): event counters count every event the log holds, so that they only grow
    until the log is rotated (a counter reset to Prometheus)."""
    families = _host_now(report) + _latest(report)
    counter = CounterMetricFamily(PREFIX + 'events', 'Events in the LiveCapacity event log, by kind.', labels=['kind'])
    counts = {}
    for event in all_events:
        counts[event['kind']] = counts.get(event['kind'], 0) + 1
    for kind in sorted(counts):
        counter.add_metric([kind], counts[kind])
    skipped_family = GaugeMetricFamily(PREFIX + 'event_log_skipped_lines',
                                       'Lines of the event log that are not events (damaged or cut short).', value=skipped)
    samples = GaugeMetricFamily(PREFIX + 'report_samples', 'Utilization samples in the period of the report.',
                                value=report['counts']['samples'])
    return families + [counter, skipped_family, samples]


def _host_now(report):
    families = []
    hosts = [h for h in report['hosts'] if h['now']]
    for name, text, value in HOST_NOW:
        family = GaugeMetricFamily(PREFIX + name, text, labels=['host'])
        for host in hosts:
            figure = None if host['now']['error'] and name != 'host_up' else value(host['now'])
            if figure is not None:
                family.add_metric([host['name']], figure)
        families.append(family)
    return families


def _latest(report):
    families = []
    for name, text, figure in LATEST:
        hosts = GaugeMetricFamily(PREFIX + 'host_' + name, text % 'host', labels=['host'])
        servers = GaugeMetricFamily(PREFIX + 'server_' + name, text % 'server', labels=['host', 'server'])
        for host in report['hosts']:
            _add(hosts, [host['name']], host, figure)
            for server in host['servers']:
                _add(servers, [host['name'], server['name']], server, figure)
        families += [hosts, servers]
    stamps = GaugeMetricFamily(PREFIX + 'host_sample_timestamp_seconds',
                               'Time of the latest sample of the host in the period (epoch seconds).', labels=['host'])
    for host in report['hosts']:
        if host['series']:
            stamps.add_metric([host['name']], host['series']['last']['time'])
    return families + [stamps]


def _add(family, labels, entry, figure):
    value = (entry['summary'].get(figure) or {}).get('last')
    if value is not None:
        family.add_metric(labels, value)


def _load(host, key):
    return (host.get('load') or {}).get(key)


class _Families(object):
    """A collector of fixed metric families, for a registry of their own."""

    def __init__(self, families):
        self.families = families

    def collect(self):
        return iter(self.families)


def textfile_text(families):
    """The families in the Prometheus text format, as write_textfile writes them."""
    return generate_latest(_registry(families)).decode('utf-8')


def write_textfile(path, families):
    """Write the families to path for the textfile collector (a temporary file in the same directory, renamed)."""
    write_to_textfile(path, _registry(families))


def _registry(families):
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(families))
    return registry
