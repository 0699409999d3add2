# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How long the report takes over a synthetic day: 24 hours of one-minute samples of 20 hosts and 200 servers
(10 a host) in an SQLite history, and a day of LiveCapacity events (moves, refusals, a maintenance). The issue's
targets: rendered in under 3 s, a page under 3 MB, which Chromium loads in under 2 s.

Run:  . scripts/env.sh && python benchmarks/report.py [--hosts 20] [--servers 200] [--hours 24] [--no-chromium] [--keep]
Needs no lab. Prints the time to read the history, to build the report's data, to render the page and to write it
(make_report, as the module runs it, is their sum), the page's size, and Chromium's load time: the page opened
headless with --dump-dom, minus Chromium's time to open an empty page (its own start-up), median of 3 runs each.
"""

import argparse
import math
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time

from ansible.plugins.loader import init_plugin_loader

init_plugin_loader()  # makes ansible_collections.* importable from ANSIBLE_COLLECTIONS_PATH (scripts/env.sh)
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.events import append_events  # noqa: E402
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.history import open_history  # noqa: E402
from ansible_collections.virtualiron.infra.plugins.module_utils.report.run import make_report  # noqa: E402

GIB = 1024 ** 3
NOW = float(int(time.time()) // 3600 * 3600)


def samples(host_count, server_count, hours, rng):
    """One row per server and per host each minute: each server follows a daily curve of its own plus noise."""
    servers = [('host%02d' % (i % host_count), 'server%03d' % i, rng.uniform(2, 60), rng.uniform(0, 2 * math.pi))
               for i in range(server_count)]
    rows = []
    for minute in range(hours * 60):
        when = NOW - hours * 3600 + minute * 60
        per_host = {}
        for host, name, level, phase in servers:
            cpu = min(100.0, max(0.0, level * (1 + 0.8 * math.sin(when / 13751.0 + phase)) + rng.uniform(-3, 3)))
            memory = 40 + level / 2
            rows.append({'time': when, 'host': host, 'server': name, 'cpu_percent': round(cpu, 1),
                         'memory_bytes': int(memory / 100 * 4 * GIB), 'memory_percent': round(memory, 1), 'vcpus': 2})
            per_host.setdefault(host, []).append(cpu)
        for host, cpus in per_host.items():
            rows.append({'time': when, 'host': host, 'server': None, 'cpu_percent': round(sum(cpus) * 2 / 32, 1),
                         'memory_bytes': len(cpus) * 2 * GIB, 'memory_percent': round(len(cpus) * 2 * 100 / 256, 1),
                         'vcpus': 32})
    return rows


def events(host_count, server_count, hours, rng):
    """A move every 20 minutes, a refusal every 5, and one host put in maintenance."""
    out = []
    for minute in range(0, hours * 60, 5):
        when = NOW - hours * 3600 + minute * 60
        server, source = rng.randrange(server_count), rng.randrange(host_count)
        if minute % 20 == 0:
            out.append({'time': when, 'kind': 'capacity.move', 'server': 'server%03d' % server,
                        'hosts': {'source': 'host%02d' % source, 'destination': 'host%02d' % ((source + 1) % host_count)},
                        'reason': 'CPU % above 90 for 10 min', 'figures': {'direction': 'more', 'failed': False,
                                                                           'duration_seconds': rng.uniform(1, 5)}})
        else:
            out.append({'time': when, 'kind': 'capacity.refused', 'server': 'server%03d' % server,
                        'hosts': {'source': 'host%02d' % source}, 'reason': 'no host has room',
                        'figures': {'direction': 'more'}})
    out.append({'time': NOW - 3600, 'kind': 'capacity.maintenance', 'hosts': {'source': 'host01'},
                'reason': 'emptied by consolidation'})
    return out


def chromium_seconds(path, runs=3):
    """Median seconds Chromium takes to load and lay out the page, above its time for an empty page."""
    chromium = shutil.which('chromium')
    if chromium is None:
        return None
    blank = os.path.join(os.path.dirname(path), 'blank.html')
    with open(blank, 'w') as f:
        f.write('<!DOCTYPE html><title>blank</title>')

    def load(page):
        started = time.perf_counter()
        subprocess.run([chromium, '--headless', '--disable-gpu', '--no-sandbox', '--dump-dom', 'file://' + page],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        return time.perf_counter() - started
    return statistics.median(load(path) for _run in range(runs)) - statistics.median(load(blank) for _run in range(runs))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hosts', type=int, default=20)
    parser.add_argument('--servers', type=int, default=200)
    parser.add_argument('--hours', type=int, default=24)
    parser.add_argument('--no-chromium', action='store_true')
    parser.add_argument('--keep', action='store_true', help='keep the history, event log and page made')
    args = parser.parse_args()
    rng = random.Random(15)
    work = tempfile.mkdtemp(prefix='vi-report-bench-')
    history, log, page = (os.path.join(work, n) for n in ('utilization.sqlite', 'events.jsonl', 'report.html'))
    rows = samples(args.hosts, args.servers, args.hours, rng)
    with open_history(history, retention_seconds=10 * 365 * 86400) as store:
        store.record(rows)
    append_events(log, events(args.hosts, args.servers, args.hours, rng))
    params = {'window': '%dh' % args.hours, 'hosts': None, 'servers': None, 'history': history, 'events': log,
              'output': page, 'textfile': os.path.join(work, 'virtualiron.prom'), 'title': 'Benchmark'}
    result = make_report(params, now=NOW)
    print('%d samples (%d hosts, %d servers, %d h of one-minute samples), %d events' % (
        len(rows), args.hosts, args.servers, args.hours, result['counts']['events']))
    for step, seconds in result['timings'].items():
        print('  %-8s %.3f s' % (step, seconds))
    print('report made in %.3f s (target: under 3 s)' % sum(result['timings'].values()))
    print('page %.2f MB (target: under 3 MB); textfile %.1f kB' % (result['size'] / 1e6, result['textfile_size'] / 1e3))
    if not args.no_chromium:
        seconds = chromium_seconds(page)
        print('Chromium load %s (target: under 2 s)' % ('not installed' if seconds is None else '%.2f s' % seconds))
    if args.keep:
        print('kept in %s' % work)
    else:
        shutil.rmtree(work)


if __name__ == '__main__':
    main()
