# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sampling: counters read through libvirt, the rates of two readings (synthetic counters, exact figures), and
hosts sampled in parallel on libvirt's test hypervisor."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.capacity import sampling
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.history import open_history
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import open_connection
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError

TEST_URI = 'test:///default'
UNREACHABLE = 'qemu+tcp://127.0.0.1:1/system'
MIB = 1024 ** 2
NS = 10 ** 9
FIGURES = ('cpu_percent', 'memory_bytes', 'memory_percent', 'vcpus',
           'disk_read_bps', 'disk_write_bps', 'net_rx_bps', 'net_tx_bps')
RATES = ('cpu_percent', 'disk_read_bps', 'disk_write_bps', 'net_rx_bps', 'net_tx_bps')


def counters(cpu_s, vcpus=1, rss_mib=100, current_mib=200, maximum_mib=200, disk=(0, 0), net=(0, 0)):
    """A server's counters as read_counters keeps them: cumulative CPU seconds, disk and network bytes."""
    return {'cpu_time_ns': None if cpu_s is None else int(cpu_s * NS), 'vcpus': vcpus,
            'memory_rss_bytes': None if rss_mib is None else rss_mib * MIB,
            'memory_current_bytes': None if current_mib is None else current_mib * MIB,
            'memory_maximum_bytes': None if maximum_mib is None else maximum_mib * MIB,
            'disk_read_bytes': disk[0], 'disk_write_bytes': disk[1], 'net_rx_bytes': net[0], 'net_tx_bytes': net[1]}


def reading(monotonic, servers, host='lab1', cpus=4, memory_mib=1000):
    return {'host': host, 'time': 1700000000.0 + monotonic, 'monotonic': monotonic, 'cpus': cpus,
            'memory_bytes': memory_mib * MIB, 'servers': servers}


def row(server, time_=1700000002.0, host='lab1', **figures):
    return dict(dict((f, None) for f in FIGURES), time=time_, host=host, server=server, **figures)


def by_server(samples):
    return dict((s['server'], s) for s in samples)


# ---------------------------------------------------------------- rates

def test_rates_of_busy_idle_and_half_busy_servers_and_the_host_derived_from_them():
    first = reading(0.0, {
        'busy': counters(10, disk=(1000, 0), net=(0, 500)),
        'idle': counters(50, rss_mib=300, maximum_mib=400),
        'half': counters(7, vcpus=2, rss_mib=None, current_mib=250, maximum_mib=500, disk=(0, 4000), net=(100, 0)),
    })
    second = reading(2.0, {
        'busy': counters(12, disk=(3048, 0), net=(0, 1500)),         # 2 s of CPU in 2 s: one vCPU fully busy
        'idle': counters(50.04, rss_mib=300, maximum_mib=400),       # 0.04 s in 2 s: 2 %
        'half': counters(9, vcpus=2, rss_mib=None, current_mib=250, maximum_mib=500, disk=(0, 5000), net=(101, 0)),
    })
    assert sampling.rates(first, second) == [
        # (2 + 0.04 + 2) s of CPU over 2 s x 4 CPUs; 100 + 300 + 250 MiB of 1000 MiB
        row(None, cpu_percent=50.5, memory_bytes=650 * MIB, memory_percent=65.0, vcpus=4,
            disk_read_bps=1024.0, disk_write_bps=500.0, net_rx_bps=0.5, net_tx_bps=500.0),
        row('busy', cpu_percent=100.0, memory_bytes=100 * MIB, memory_percent=50.0, vcpus=1,
            disk_read_bps=1024.0, disk_write_bps=0.0, net_rx_bps=0.0, net_tx_bps=500.0),
        row('half', cpu_percent=50.0, memory_bytes=250 * MIB, memory_percent=50.0, vcpus=2,
            disk_read_bps=0.0, disk_write_bps=500.0, net_rx_bps=0.5, net_tx_bps=0.0),
        # memory in use of its maximum (400 MiB), not of its balloon (200 MiB)
        row('idle', cpu_percent=2.0, memory_bytes=300 * MIB, memory_percent=75.0, vcpus=1,
            disk_read_bps=0.0, disk_write_bps=0.0, net_rx_bps=0.0, net_tx_bps=0.0),
    ]


def test_a_restarted_server_has_memory_but_no_rates_and_adds_no_cpu_to_its_host():
    first = reading(0.0, {'busy': counters(10), 'restarted': counters(500, disk=(10, 10), net=(10, 10))})
    second = reading(2.0, {'busy': counters(12), 'restarted': counters(1, disk=(5000, 5000), net=(5000, 5000))})
    rows = by_server(sampling.rates(first, second))
    assert rows['restarted'] == row('restarted', memory_bytes=100 * MIB, memory_percent=50.0, vcpus=1)
    # The host: only the busy server's 2 s of CPU (of 4 CPUs x 2 s), both servers' memory, the busy one's I/O.
    assert rows[None] == row(None, cpu_percent=25.0, memory_bytes=200 * MIB, memory_percent=20.0, vcpus=4,
                             disk_read_bps=0.0, disk_write_bps=0.0, net_rx_bps=0.0, net_tx_bps=0.0)


@pytest.mark.parametrize('only_in', ['first', 'second'])
def test_a_server_in_one_reading_only_has_no_row_and_adds_nothing_to_its_host(only_in):
    both = {'stays': counters(10)}
    extra = dict(both, passing=counters(1000, vcpus=8, rss_mib=500, disk=(10 ** 9, 0)))
    first, second = (extra, {'stays': counters(11)}) if only_in == 'first' else (both, dict(extra, stays=counters(11)))
    rows = by_server(sampling.rates(reading(0.0, first), reading(2.0, second)))
    assert sorted(rows, key=str) == [None, 'stays']
    host = rows[None]
    assert (host['cpu_percent'], host['memory_bytes'], host['disk_read_bps']) == (12.5, 100 * MIB, 0.0)


def test_a_counter_that_went_down_alone_gives_no_figure_for_it():
    # A disk unplugged in between: its bytes leave the sum. The CPU figure and the others stay.
    first = reading(0.0, {'web': counters(10, disk=(9000, 100), net=(10, 20))})
    second = reading(2.0, {'web': counters(11, disk=(1000, 300), net=(30, 60))})
    rows = by_server(sampling.rates(first, second))
    assert [rows['web'][f] for f in RATES] == [50.0, None, 100.0, 10.0, 20.0]
    assert [rows[None][f] for f in RATES] == [12.5, None, 100.0, 10.0, 20.0]


def test_counters_the_host_does_not_report_give_none_and_a_host_without_servers_is_idle():
    unknown = dict((k, None) for k in counters(0))
    rows = sampling.rates(reading(0.0, {'test': unknown}), reading(1.0, {'test': unknown}))
    assert rows == [row(None, time_=1700000001.0, vcpus=4), row('test', time_=1700000001.0)]
    empty = sampling.rates(reading(0.0, {}), reading(1.0, {}))
    assert empty == [row(None, time_=1700000001.0, cpu_percent=0.0, memory_bytes=0, memory_percent=0.0, vcpus=4,
                         disk_read_bps=0.0, disk_write_bps=0.0, net_rx_bps=0.0, net_tx_bps=0.0)]


def test_memory_falls_back_to_the_balloon_when_the_host_reports_no_rss_or_maximum():
    server = counters(0, rss_mib=None, current_mib=64, maximum_mib=None)
    rows = by_server(sampling.rates(reading(0.0, {'s': server}), reading(1.0, {'s': server})))
    assert (rows['s']['memory_bytes'], rows['s']['memory_percent']) == (64 * MIB, 100.0)


@pytest.mark.parametrize('second_monotonic', [100.0, 99.5])
def test_rates_refuse_readings_not_in_order(second_monotonic):
    with pytest.raises(VirtualIronError, match='second reading of lab1 must be taken after the first'):
        sampling.rates(reading(100.0, {}), reading(second_monotonic, {}))


def test_rates_refuse_readings_of_two_hosts():
    with pytest.raises(VirtualIronError, match=r'readings of two hosts \(lab1 and lab2\)'):
        sampling.rates(reading(0.0, {}), reading(1.0, {}, host='lab2'))


# ---------------------------------------------------------------- counters

# A record as libvirt 9.0's QEMU driver gives it for a server with a disk, a CD drive without a medium and two NICs.
QEMU_STATS = {
    'cpu.time': 5012345678, 'cpu.user': 10000000, 'cpu.system': 20000000,
    'balloon.current': 65536, 'balloon.maximum': 131072, 'balloon.rss': 40960,
    'vcpu.current': 2, 'vcpu.maximum': 4, 'vcpu.0.state': 1, 'vcpu.0.time': 2500000000,
    'net.count': 2, 'net.0.name': 'vnet0', 'net.0.rx.bytes': 1000, 'net.0.tx.bytes': 2000,
    'net.1.name': 'vnet1', 'net.1.rx.bytes': 30, 'net.1.tx.bytes': 40,
    'block.count': 2, 'block.0.name': 'vda', 'block.0.rd.bytes': 512, 'block.0.wr.bytes': 1024,
    'block.0.rd.reqs': 1, 'block.1.name': 'sda',
}


def test_server_counters_sum_devices_and_turn_kib_into_bytes():
    assert sampling.server_counters(QEMU_STATS) == {
        'cpu_time_ns': 5012345678, 'vcpus': 2, 'memory_current_bytes': 64 * MIB, 'memory_rss_bytes': 40 * MIB,
        'memory_maximum_bytes': 128 * MIB, 'disk_read_bytes': 512, 'disk_write_bytes': 1024,
        'net_rx_bytes': 1030, 'net_tx_bytes': 2040}


def test_server_counters_without_devices_or_groups():
    assert sampling.server_counters({'cpu.time': 7, 'block.count': 0, 'net.count': 0}) == {
        'cpu_time_ns': 7, 'vcpus': None, 'memory_current_bytes': None, 'memory_rss_bytes': None,
        'memory_maximum_bytes': None, 'disk_read_bytes': 0, 'disk_write_bytes': 0, 'net_rx_bytes': 0, 'net_tx_bytes': 0}
    assert set(sampling.server_counters({}).values()) == {None}


def test_read_counters_on_the_test_hypervisor():
    # The test driver: 16 CPUs, 3072 MiB from virNodeGetInfo (it has no memory statistics), one running server
    # 'test' for which its bulk statistics report no counters at all.
    conn = open_connection(TEST_URI)
    try:
        before, started = time.time(), time.monotonic()
        counted = sampling.read_counters(conn, 'test-host')
        after, ended = time.time(), time.monotonic()
    finally:
        conn.close()
    assert before <= counted.pop('time') <= after and started <= counted.pop('monotonic') <= ended
    assert counted == {'host': 'test-host', 'cpus': 16, 'memory_bytes': 3072 * MIB,
                       'servers': {'test': sampling.server_counters({})}}


# ---------------------------------------------------------------- sampling hosts

def test_sample_hosts_samples_all_at_once_and_reports_an_unreachable_one():
    targets = [{'name': 'a', 'uri': TEST_URI}, {'name': 'down', 'uri': UNREACHABLE}, {'name': 'b', 'uri': TEST_URI}]
    started = time.monotonic()
    result = sampling.sample_hosts(targets, 1.0, connect_timeout=5)
    # In parallel: the two intervals overlap (one after the other would take 2 s).
    assert time.monotonic() - started < 1.8
    sampled = [(s['host'], s['server']) for s in result['samples']]
    assert sampled == [('a', None), ('a', 'test'), ('b', None), ('b', 'test')]
    assert result['samples'][0] == dict(row(None, time_=result['samples'][0]['time'], host='a'), vcpus=16)
    assert len(result['errors']) == 1
    error = result['errors'][0]
    assert (error['host'], error['uri']) == ('down', UNREACHABLE)
    assert 'cannot connect to the hypervisor host at %s' % UNREACHABLE in error['error']


@pytest.mark.parametrize('targets, interval, message', [
    ([{'name': 'a', 'uri': TEST_URI}], 0, 'interval must be more than 0 seconds, got 0'),
    ([{'name': 'a', 'uri': TEST_URI}], -1.5, 'interval must be more than 0 seconds, got -1.5'),
    ([{'name': '', 'uri': TEST_URI}], 1, 'every host needs a name'),
    ([{'name': 'a', 'uri': TEST_URI}, {'name': 'b', 'uri': TEST_URI}, {'name': 'a', 'uri': UNREACHABLE}], 1,
     'host names must be unique, and a is given more than once'),
])
def test_sample_hosts_refuses_bad_requests(targets, interval, message):
    with pytest.raises(VirtualIronError, match=message):
        sampling.sample_hosts(targets, interval)


def test_sample_hosts_of_no_host():
    assert sampling.sample_hosts([], 1) == {'samples': [], 'errors': []}


def test_sample_and_record_writes_the_samples_to_the_history(tmp_path):
    path = str(tmp_path / 'history' / 'utilization.sqlite')
    targets = [{'name': 'a', 'uri': TEST_URI}, {'name': 'down', 'uri': UNREACHABLE}]
    result = sampling.sample_and_record(targets, 0.1, path, 3600, connect_timeout=5)
    assert (result['recorded'], len(result['samples']), len(result['errors'])) == (2, 2, 1)
    with open_history(path, 3600) as history:
        assert history.samples() == result['samples']


def test_sample_and_record_without_a_history_records_nothing(tmp_path):
    result = sampling.sample_and_record([{'name': 'a', 'uri': TEST_URI}], 0.1, None, 3600)
    assert (result['recorded'], len(result['samples']), list(tmp_path.iterdir())) == (0, 2, [])


def test_sample_and_record_fails_when_no_host_could_be_sampled(tmp_path):
    path = str(tmp_path / 'utilization.sqlite')
    with pytest.raises(VirtualIronError, match=r'no host could be sampled: down \(qemu\+tcp://127.0.0.1:1/system\): '
                                               r'cannot connect') as raised:
        sampling.sample_and_record([{'name': 'down', 'uri': UNREACHABLE}], 0.1, path, 3600, connect_timeout=5)
    assert raised.value.details['samples'] == [] and raised.value.details['errors'][0]['host'] == 'down'
    assert not (tmp_path / 'utilization.sqlite').exists()
