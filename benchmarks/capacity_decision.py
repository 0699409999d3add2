# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How long LiveCapacity's decision takes over a synthetic rack: 50 hosts x 1,000 servers, a 10-minute window of
10-second samples (60 per server, plus each host's own row, as the history store gives them back).

Run:  . scripts/env.sh && python benchmarks/capacity_decision.py [--hosts 50] [--servers 1000] [--repeat 7]
Needs no lab. A fifth of the hosts run mostly busy servers (some must move), a third only idle ones (they are
emptied), the rest a mix; the figures are the same on every run for a given --seed. Prints the median time of
decide() over --repeat runs, from the samples as a list and from samples already grouped by server (by_server),
and what the plan holds. The target (issue 12) is under 1 s.
"""

import argparse
import random
import statistics
import time

from ansible.plugins.loader import init_plugin_loader

init_plugin_loader()  # makes ansible_collections.* importable from ANSIBLE_COLLECTIONS_PATH (scripts/env.sh)
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.decisions import by_server, decide  # noqa: E402

GIB = 1024 ** 3
NOW = 1800000000.0


def rack(host_count, server_count, rng):
    """(hosts, servers): each server with the CPU % it runs at, by the kind of its host."""
    kinds = ['busy' if i < host_count // 5 else 'idle' if i < host_count // 5 + host_count // 3 else 'mixed'
             for i in range(host_count)]
    hosts = [{'name': 'host%02d' % i, 'cpus': 32, 'memory': 256 * GIB, 'unavailable': None, 'kind': kinds[i]}
             for i in range(host_count)]
    levels = {'busy': (92, 100, 40, 60), 'idle': (1, 8, 1, 8), 'mixed': (1, 8, 20, 95)}
    servers = []
    for i in range(server_count):
        on = hosts[i % host_count]
        low, high, other_low, other_high = levels[on['kind']]
        cpu = rng.uniform(low, high) if rng.random() < 0.6 else rng.uniform(other_low, other_high)
        servers.append({'name': 'server%04d' % i, 'host': on['name'], 'vcpus': rng.choice([1, 2, 4]),
                        'memory': rng.choice([2, 4, 8]) * GIB, 'state': 'running', 'live_migratable': True,
                        'last_moved': None, 'policy': None, 'cpu': cpu})
    return hosts, servers


def snapshot(hosts, servers):
    listed = [dict((k, v) for k, v in h.items() if k != 'kind') for h in hosts]
    for host in listed:
        mine = [s for s in servers if s['host'] == host['name']]
        host['memory_used'] = sum(s['memory'] for s in mine)
        host['vcpus_used'] = sum(s['vcpus'] for s in mine)
    return {'hosts': listed, 'servers': [dict((k, v) for k, v in s.items() if k != 'cpu') for s in servers]}


def history(hosts, servers, minutes, interval, rng):
    """The samples of the window, sorted by (time, host, server) like History.samples; each figure jitters by
    up to 2 points around the server's level, so busy servers stay busy and idle ones idle."""
    samples = []
    for step in range(int(minutes * 60 // interval) + 1):
        when = NOW - minutes * 60 + step * interval
        for server in servers:
            cpu = min(100.0, max(0.0, server['cpu'] + rng.uniform(-2, 2)))
            samples.append({'time': when, 'host': server['host'], 'server': server['name'], 'cpu_percent': cpu,
                            'memory_bytes': server['memory'] // 2, 'memory_percent': 50.0, 'vcpus': server['vcpus'],
                            'disk_read_bps': 0.0, 'disk_write_bps': 0.0, 'net_rx_bps': 0.0, 'net_tx_bps': 0.0})
        for host in hosts:
            samples.append({'time': when, 'host': host['name'], 'server': None, 'cpu_percent': None,
                            'memory_bytes': None, 'memory_percent': None, 'vcpus': host['cpus'], 'disk_read_bps': None,
                            'disk_write_bps': None, 'net_rx_bps': None, 'net_tx_bps': None})
    samples.sort(key=lambda s: (s['time'], s['host'], s['server'] or ''))
    return samples


def median_seconds(function, repeat):
    times = []
    for _run in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hosts', type=int, default=50)
    parser.add_argument('--servers', type=int, default=1000)
    parser.add_argument('--minutes', type=float, default=10, help='the window')
    parser.add_argument('--interval', type=float, default=10, help='seconds between samples')
    parser.add_argument('--repeat', type=int, default=7)
    parser.add_argument('--seed', type=int, default=12)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    hosts, servers = rack(args.hosts, args.servers, rng)
    given = snapshot(hosts, servers)
    samples = history(hosts, servers, args.minutes, args.interval, rng)
    options = {'interval': args.interval}
    grouped = by_server(samples)
    from_list, plan = median_seconds(lambda: decide(given, samples, options, NOW), args.repeat)
    from_groups, _plan = median_seconds(lambda: decide(given, grouped, options, NOW), args.repeat)
    print('%d hosts x %d servers, %d samples (%g-minute window, every %g s), medians of %d runs' % (
        args.hosts, args.servers, len(samples), args.minutes, args.interval, args.repeat))
    print('  %-52s %7.3f s' % ('decide(), samples as a list', from_list))
    print('  %-52s %7.3f s' % ('decide(), samples grouped by server (by_server)', from_groups))
    print('  plan: %d moves (%d for more capacity, %d consolidating), %d refused, %d conditions hold, '
          '%d hosts emptied' % (len(plan['moves']), sum(m['direction'] == 'more' for m in plan['moves']),
                                sum(m['direction'] == 'less' for m in plan['moves']), len(plan['refused']),
                                len(plan['conditions']), len(plan['emptied_hosts'])))


if __name__ == '__main__':
    main()
