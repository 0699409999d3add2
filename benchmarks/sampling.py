# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sampling one host with 50 running servers: the time of a reading and of a sample, against bare libvirt.

Run with the lab up:  . scripts/env.sh && python benchmarks/sampling.py [--count 50] [--repeat 21]
Starts --count idle OS-less guests (transient, 16 MiB, one 1 MiB disk each, named bench-smp-*) on the host, lets
them boot, then times, as medians of --repeat runs over one connection: libvirt's bare getAllDomainStats call with
the same statistics groups (the floor), read_counters (one reading: that call, the host's CPUs and memory, and the
counters of every server), rates (the samples of two readings) and a whole sample less its interval (two readings
and the rates); sample_hosts with an interval of 1 ms, connecting included; and the bare call for each statistics
group alone. Prints each and the ratio of a reading to the bare call. The guests and their disks are removed at
the end.
"""

import argparse
import os
import statistics
import time

import libvirt

from ansible.plugins.loader import init_plugin_loader

init_plugin_loader()  # makes ansible_collections.* importable from ANSIBLE_COLLECTIONS_PATH (scripts/env.sh)
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity import sampling  # noqa: E402
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import open_connection  # noqa: E402

PREFIX = 'bench-smp-'
IDLE_SECTOR = bytes.fromhex('FAF4EBFD') + bytes(506) + b'\x55\xaa'
GUEST_XML = """<domain type='{kind}'><name>{name}</name><memory unit='MiB'>16</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type><boot dev='hd'/></os><devices>
<disk type='file' device='disk'><driver name='qemu' type='raw' cache='none'/><source file='{disk}'/>
<target dev='vda' bus='virtio'/></disk></devices></domain>"""


def start_guests(conn, names, disk_dir, kind):
    os.makedirs(disk_dir, exist_ok=True)
    for name in names:
        disk = os.path.join(disk_dir, name + '.raw')
        with open(disk, 'wb') as handle:
            handle.write(IDLE_SECTOR + bytes(1024 * 1024 - 512))
        conn.createXML(GUEST_XML.format(kind=kind, name=name, disk=disk), 0)


def remove_guests(conn, names, disk_dir):
    for name in names:
        try:
            conn.lookupByName(name).destroy()  # transient: destroying removes it
        except libvirt.libvirtError:
            pass
        path = os.path.join(disk_dir, name + '.raw')
        if os.path.exists(path):
            os.remove(path)


def median_seconds(function, repeat):
    times = []
    for _run in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(conn, uri, repeat):
    first = sampling.read_counters(conn, 'bench')
    second = sampling.read_counters(conn, 'bench')
    return len(second['servers']), {
        'bare getAllDomainStats (same groups, active servers)': median_seconds(
            lambda: conn.getAllDomainStats(sampling.stats_groups(), libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE), repeat),
        'read_counters (one reading)': median_seconds(lambda: sampling.read_counters(conn, 'bench'), repeat),
        'rates (samples of two readings)': median_seconds(lambda: sampling.rates(first, second), repeat),
        'one sample less its interval (two readings + rates)': median_seconds(
            lambda: sampling.rates(sampling.read_counters(conn, 'bench'), sampling.read_counters(conn, 'bench')),
            repeat),
        'sample_hosts, interval 1 ms, connecting included': median_seconds(
            lambda: sampling.sample_hosts([{'name': 'bench', 'uri': uri}], 0.001), repeat) - 0.001,
    }


def by_group(conn, repeat):
    """The bare call's median for each statistics group alone: where a reading's time goes."""
    groups = [name for name in ('CPU_TOTAL', 'VCPU', 'BALLOON', 'BLOCK', 'INTERFACE')
              if getattr(libvirt, 'VIR_DOMAIN_STATS_' + name) & sampling.stats_groups()]
    return dict(('bare call, %s group only' % name.lower(), median_seconds(
        lambda: conn.getAllDomainStats(getattr(libvirt, 'VIR_DOMAIN_STATS_' + name),
                                       libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE), repeat))
                for name in groups)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--count', type=int, default=50)
    parser.add_argument('--repeat', type=int, default=21)
    parser.add_argument('--uri', default='qemu+tcp://10.213.0.11/system')
    parser.add_argument('--type', default='kvm', help="the guests' domain type: kvm, qemu (TCG), test (test:///default)")
    parser.add_argument('--disk-dir', default='/var/lib/virtualiron-lab/shared/benchmark-sampling')
    parser.add_argument('--settle', type=float, default=10, help='seconds to let the guests finish booting')
    args = parser.parse_args()
    names = ['%s%03d' % (PREFIX, i) for i in range(args.count)]
    conn = open_connection(args.uri)  # also keeps libvirt's own error printing quiet
    try:
        start_guests(conn, names, args.disk_dir, args.type)
        time.sleep(args.settle)
        servers, figures = measure(conn, args.uri, args.repeat)
        figures.update(by_group(conn, args.repeat))
    finally:
        remove_guests(conn, names, args.disk_dir)
        conn.close()
    print('%d active servers on %s (%d of them ours), medians of %d runs' % (servers, args.uri, args.count, args.repeat))
    for label, seconds in figures.items():
        print('  %-56s %8.2f ms' % (label, seconds * 1000))
    bare = figures['bare getAllDomainStats (same groups, active servers)']
    print('  %-56s %8.2f' % ('read_counters / bare call', figures['read_counters (one reading)'] / bare))


if __name__ == '__main__':
    main()
