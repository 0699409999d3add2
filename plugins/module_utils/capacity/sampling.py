# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How busy hosts and their virtual servers are: each host read twice through libvirt, `interval` seconds apart
(one bulk statistics call per reading for all its servers), and the figures of the interval between the two
readings as utilization samples: CPU %, memory in use, disk and network bytes per second.

A host's own row is derived from its servers' figures (their CPU time over the interval as a share of the host's
CPUs, the sum of their memory), not from the host's node statistics: hosts that share one machine, as the lab's
do, report the same node figures, which would make every host look equally busy. On a real host the figure
leaves out the host's own processes (libvirtd, QEMU's I/O threads outside the vCPUs, anything else it runs).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import concurrent.futures
import time

from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.history import open_history
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    CONNECT_TIMEOUT, VirtualIronError, is_libvirt_error, libvirt, on_host)
from ansible_collections.virtualiron.infra.plugins.module_utils.host.facts import memory_facts
from ansible_collections.virtualiron.infra.plugins.module_utils.host.utilization import cpu_percent, server_figures

# Threads sampling hosts at once; more hosts are sampled as threads come free (each host still gets its interval).
MAX_WORKERS = 64
RATES = (('disk_read_bps', 'disk_read_bytes'), ('disk_write_bps', 'disk_write_bytes'),
         ('net_rx_bps', 'net_rx_bytes'), ('net_tx_bps', 'net_tx_bytes'))


# ---------------------------------------------------------------- reading a host's counters

def read_counters(conn, host_name):
    """One reading of a host: its CPUs and memory, and every active server's cumulative counters from one
    getAllDomainStats call.

    Returns {'host', 'time' (epoch s), 'monotonic' (s, for the interval), 'cpus', 'memory_bytes',
    'servers': {name: server_counters(...)}}. memory_bytes is the host's total memory as its kernel counts it
    (virNodeGetMemoryStats, the figure host_info and placement use); virNodeGetInfo's only where the driver has
    no memory statistics, since it can be far off (5.3 GiB on a 24 GiB lab machine).
    """
    node = conn.getInfo()
    memory = _host_memory(conn, node)
    records = conn.getAllDomainStats(stats_groups(), libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE)
    # Taken after the call, in both readings alike, so that the call's own duration cancels out.
    return {'host': host_name, 'time': time.time(), 'monotonic': time.monotonic(), 'cpus': node[2],
            'memory_bytes': memory, 'servers': dict((dom.name(), server_counters(stats)) for dom, stats in records)}


def stats_groups():
    """The getAllDomainStats groups a reading asks for (a function: libvirt may be missing at import)."""
    return (libvirt.VIR_DOMAIN_STATS_CPU_TOTAL | libvirt.VIR_DOMAIN_STATS_VCPU | libvirt.VIR_DOMAIN_STATS_BALLOON
            | libvirt.VIR_DOMAIN_STATS_BLOCK | libvirt.VIR_DOMAIN_STATS_INTERFACE)


def _host_memory(conn, node):
    try:
        return memory_facts(conn.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS))['total_bytes']
    except libvirt.libvirtError as e:
        if not is_libvirt_error(e, libvirt.VIR_ERR_NO_SUPPORT):
            raise
        return node[1] * 1024 ** 2  # MiB


def server_counters(stats):
    """One server's virDomainGetStats record -> its counters: CPU time (ns), vCPUs online, memory (bytes) and
    disk and network bytes summed over its devices. A counter the host does not report is None."""
    figures = server_figures(stats)
    counters = {
        'cpu_time_ns': stats.get('cpu.time'),
        'vcpus': figures['vcpus_online'],
        'memory_current_bytes': figures['memory_current_bytes'],
        'memory_rss_bytes': figures['memory_rss_bytes'],
        'memory_maximum_bytes': stats['balloon.maximum'] * 1024 if 'balloon.maximum' in stats else None,
    }
    for group, name, counter in (('block', 'disk_read_bytes', 'rd.bytes'), ('block', 'disk_write_bytes', 'wr.bytes'),
                                 ('net', 'net_rx_bytes', 'rx.bytes'), ('net', 'net_tx_bytes', 'tx.bytes')):
        counters[name] = _device_total(stats, group, counter)
    return counters


def _device_total(stats, group, counter):
    """A counter summed over a group's devices (block.0.rd.bytes + block.1.rd.bytes...); a device without it (a CD
    drive with no medium) adds 0. None when the record has no such group."""
    count = stats.get('%s.count' % group)
    if count is None:
        return None
    return sum(stats.get('%s.%d.%s' % (group, index, counter), 0) for index in range(count))


# ---------------------------------------------------------------- from two readings to samples

def rates(first, second):
    """Samples of the interval between two readings of one host (read_counters): the host's row first, then
    one row per server, by name.

    Only servers in both readings get a row: one that started, arrived, stopped or left in between was not
    there the whole interval. A server whose CPU time went down restarted (or went and came back) in between:
    its row has its memory and vCPUs but None for CPU, disk and network rates. A counter that went down alone
    (a disk or NIC unplugged) gives None for that figure. The host's row adds up its servers' rows (see the
    module's docstring); a server whose figure is None adds nothing, and a figure none of them has is None.
    """
    elapsed = _elapsed(first, second)
    pairs = [(name, first['servers'][name], second['servers'][name])
             for name in sorted(set(first['servers']) & set(second['servers']))]
    servers = [_server_row(second, name, old, new, elapsed) for name, old, new in pairs]
    return [_host_row(second, pairs, servers, elapsed)] + servers


def _elapsed(first, second):
    if first['host'] != second['host']:
        raise VirtualIronError('cannot compare readings of two hosts (%s and %s)' % (first['host'], second['host']))
    elapsed = second['monotonic'] - first['monotonic']
    if elapsed <= 0:
        raise VirtualIronError('the second reading of %s must be taken after the first (%.3f s between them): '
                               'pass the readings in the order they were taken' % (first['host'], elapsed))
    return elapsed


def _server_row(end, name, old, new, elapsed):
    restarted = _restarted(old, new)
    memory = _first_known(new['memory_rss_bytes'], new['memory_current_bytes'])
    row = _row(end, name, new['vcpus'], memory,
               _percent(memory, _first_known(new['memory_maximum_bytes'], new['memory_current_bytes'])))
    if _cpu_seconds(old, new) is not None:
        row['cpu_percent'] = cpu_percent(old['cpu_time_ns'], new['cpu_time_ns'], elapsed, new['vcpus'])
    for figure, counter in RATES:
        row[figure] = None if restarted else _per_second(old[counter], new[counter], elapsed)
    return row


def _host_row(end, pairs, servers, elapsed):
    memory = _known_sum([s['memory_bytes'] for s in servers], 0)
    row = _row(end, None, end['cpus'], memory, _percent(memory, end['memory_bytes']))
    busy = _known_sum([_cpu_seconds(old, new) for _name, old, new in pairs], 0.0)
    if busy is not None:
        row['cpu_percent'] = cpu_percent(0, busy * 1e9, elapsed, end['cpus'])
    for figure, _counter in RATES:
        total = _known_sum([s[figure] for s in servers], 0.0)
        row[figure] = None if total is None else round(total, 1)
    return row


def _row(end, server, vcpus, memory_bytes, memory_percent):
    return {'time': end['time'], 'host': end['host'], 'server': server, 'cpu_percent': None,
            'memory_bytes': memory_bytes, 'memory_percent': memory_percent, 'vcpus': vcpus,
            'disk_read_bps': None, 'disk_write_bps': None, 'net_rx_bps': None, 'net_tx_bps': None}


def _restarted(old, new):
    """The server's CPU time went down: a new QEMU process (restarted, or migrated away and back)."""
    return None not in (old['cpu_time_ns'], new['cpu_time_ns']) and new['cpu_time_ns'] < old['cpu_time_ns']


def _cpu_seconds(old, new):
    """CPU seconds a server used over the interval; None if unknown or it restarted."""
    if None in (old['cpu_time_ns'], new['cpu_time_ns']) or _restarted(old, new):
        return None
    return (new['cpu_time_ns'] - old['cpu_time_ns']) / 1e9


def _per_second(old, new, elapsed):
    if old is None or new is None or new < old:
        return None
    return round((new - old) / elapsed, 1)


def _percent(part, whole):
    if part is None or not whole:
        return None
    return round(100.0 * part / whole, 1)


def _first_known(*values):
    return next((v for v in values if v is not None), None)


def _known_sum(values, empty):
    """The sum of the known values; `empty` when there are no values at all, None when none is known."""
    known = [v for v in values if v is not None]
    if values and not known:
        return None
    return sum(known, empty)


# ---------------------------------------------------------------- sampling hosts

def sample_hosts(targets, interval, connect_timeout=CONNECT_TIMEOUT):
    """Sample every host of targets ([{'name', 'uri'}]) over `interval` seconds, all hosts at once (a thread and
    a connection each). Returns {'samples': [...], 'errors': [{'host', 'uri', 'error'}]}: a host that cannot be
    reached or read is in errors, and the others are sampled all the same."""
    _check_request(targets, interval)
    if not targets:
        return {'samples': [], 'errors': []}
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(len(targets), MAX_WORKERS)) as pool:
        results = list(pool.map(lambda target: _sample_host(target, interval, connect_timeout), targets))
    return {'samples': [sample for samples, _error in results for sample in samples],
            'errors': [error for _samples, error in results if error is not None]}


def sample_and_record(targets, interval, history_path, retention_seconds, connect_timeout=CONNECT_TIMEOUT):
    """sample_hosts, then the samples recorded in the utilization history at history_path (None: not recorded).
    Returns sample_hosts' result and 'recorded' (rows written); raises VirtualIronError when no host could be
    sampled, with the errors in its details."""
    result = sample_hosts(targets, interval, connect_timeout)
    result['recorded'] = 0
    if result['errors'] and not result['samples']:
        raise VirtualIronError('no host could be sampled: %s' % '; '.join(
            '%s (%s): %s' % (e['host'], e['uri'], e['error']) for e in result['errors']), details=result)
    if history_path is not None and result['samples']:
        with open_history(history_path, retention_seconds) as history:
            result['recorded'] = history.record(result['samples'])
    return result


def _check_request(targets, interval):
    if not interval or interval <= 0:
        raise VirtualIronError('interval must be more than 0 seconds, got %s' % interval)
    names = [target.get('name') for target in targets]
    if not all(names):
        raise VirtualIronError('every host needs a name (the name its samples are recorded under)')
    doubles = sorted(set(name for name in names if names.count(name) > 1))
    if doubles:
        raise VirtualIronError('host names must be unique, and %s is given more than once' % ', '.join(doubles))


def _sample_host(target, interval, connect_timeout):
    """(samples, None) for one host, or ([], {'host', 'uri', 'error'}) saying why it could not be sampled."""
    def sample(conn):
        first = read_counters(conn, target['name'])
        time.sleep(interval)
        return rates(first, read_counters(conn, target['name']))

    samples, error = on_host(target['uri'], sample, connect_timeout)
    if error is not None:
        return [], {'host': target['name'], 'uri': target['uri'], 'error': error}
    return samples, None
