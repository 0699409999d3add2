# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""migration.evacuation: what a host has to move, the hosts' load, and the plan (libvirt's test driver)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.migration.evacuation import (
    candidate_hosts, evacuation_plan, host_load, servers_to_move)

GIB = 1024 ** 3
LIMITS = {'memory_overcommit': 1.0, 'vcpu_overcommit': 4.0}
# The test driver's running server 'test': 2 GiB (2097152 KiB) and 2 vCPUs.
RUNNING = {'name': 'test', 'running': True, 'memory': 2 * GIB, 'vcpus': 2}
STOPPED = {'name': 'idle', 'running': False, 'memory': 0, 'vcpus': 0}
IDLE = "<domain type='test'><name>idle</name><memory>65536</memory><vcpu>3</vcpu><os><type>hvm</type></os></domain>"


class WithNodeMemory(object):
    """The test hypervisor, which has no node memory statistics, with these (KiB)."""

    def __init__(self, conn, stats):
        self.conn, self.stats = conn, stats

    def getMemoryStats(self, _cells):
        return self.stats

    def __getattr__(self, name):
        return getattr(self.conn, name)


def test_host_load_counts_its_running_servers(conn):
    conn.defineXML(IDLE)  # stopped: it uses nothing
    load = host_load(WithNodeMemory(conn, {'total': 16 * 1024 ** 2, 'free': 1024}))
    assert load == {'memory': 16 * GIB, 'cpus': 16, 'memory_used': 2 * GIB, 'vcpus_used': 2}


@pytest.mark.parametrize('move_stopped, names, expected', [
    (True, None, [STOPPED, RUNNING]),
    (False, None, [RUNNING]),
    (True, ['idle'], [STOPPED]),
    (True, ['test', 'web9'], [RUNNING]),
    (True, [], []),
])
def test_servers_to_move(conn, move_stopped, names, expected):
    conn.defineXML(IDLE)
    assert servers_to_move(conn, move_stopped, names) == expected


def test_an_unreachable_host_takes_nothing():
    uri = 'qemu+tcp://127.0.0.1:1/system'
    host, = candidate_hosts([uri], connect_timeout=5)
    why = 'is unreachable (cannot connect to the hypervisor host at %s' % uri
    assert dict(host, unavailable=host['unavailable'][:len(why)]) == {
        'name': uri, 'memory': 0, 'cpus': 0, 'memory_used': 0, 'vcpus_used': 0, 'unavailable': why}


def test_plan_lists_what_does_not_fit():
    servers = [{'name': 'big', 'memory': 20 * GIB, 'vcpus': 1}, {'name': 'small', 'memory': GIB, 'vcpus': 1}]
    hosts = [{'name': 'uri2', 'memory': 16 * GIB, 'cpus': 2, 'memory_used': 0, 'vcpus_used': 0, 'unavailable': None}]
    placements, not_moved = evacuation_plan(servers, hosts, LIMITS)
    assert placements == {'small': 'uri2'}
    assert not_moved == [{'name': 'big', 'reason': 'no host can take it: uri2 lacks memory'}]
