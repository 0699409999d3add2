# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The placement function: fits within overcommit limits, least loaded first, ties, nothing fits."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.virtualiron.infra.plugins.module_utils.migration.placement import load_after, place, why_not

GIB = 1024 ** 3


def host(name, memory_gib=16, cpus=4, used_gib=0, vcpus_used=0, unavailable=None):
    return {'name': name, 'memory': memory_gib * GIB, 'cpus': cpus, 'memory_used': used_gib * GIB,
            'vcpus_used': vcpus_used, 'unavailable': unavailable}


def server(name, memory_gib=1, vcpus=1):
    return {'name': name, 'memory': memory_gib * GIB, 'vcpus': vcpus}


def test_least_loaded_host_takes_the_server():
    placements, unplaced = place([server('web1')], [host('kvm1', used_gib=8), host('kvm2', used_gib=2)])
    assert (placements, unplaced) == ({'web1': 'kvm2'}, {})


def test_ties_go_to_the_host_listed_first():
    hosts = [host('kvm2'), host('kvm1')]
    assert place([server('web1')], hosts)[0] == {'web1': 'kvm2'}
    assert place([server('web1')], list(reversed(hosts)))[0] == {'web1': 'kvm1'}


def test_servers_spread_as_hosts_fill():
    placements = place([server('a', 4), server('b', 4), server('c', 4)], [host('kvm1'), host('kvm2')])[0]
    assert placements == {'a': 'kvm1', 'b': 'kvm2', 'c': 'kvm1'}


def test_largest_servers_are_placed_first():
    # Listed small first, the small ones would split the hosts and leave no room for the big one.
    servers = [server('small1', 6), server('small2', 6), server('big', 12)]
    placements, unplaced = place(servers, [host('kvm1'), host('kvm2')])
    assert unplaced == {}
    assert placements['big'] != placements['small1'] == placements['small2']


def test_no_host_fits_lists_the_reason_of_each_host():
    placements, unplaced = place([server('db1', 32)], [host('kvm1'), host('kvm2', unavailable='is in maintenance')])
    assert placements == {}
    assert unplaced == {'db1': 'no host can take it: kvm1 lacks memory; kvm2 is in maintenance'}


def test_no_other_host_at_all():
    assert place([server('db1')], []) == ({}, {'db1': 'no host can take it: no other host'})


def test_what_fits_is_placed_and_the_rest_is_not():
    placements, unplaced = place([server('s%d' % i, 6) for i in range(4)], [host('kvm1', memory_gib=16)])
    assert sorted(placements) == ['s0', 's1']
    assert sorted(unplaced) == ['s2', 's3']


def test_memory_overcommit_limit():
    servers = [server('a', 10), server('b', 10)]
    assert place(servers, [host('kvm1', memory_gib=16)], memory_overcommit=1.0)[1].keys() == {'b'}
    assert place(servers, [host('kvm1', memory_gib=16)], memory_overcommit=1.5) == ({'a': 'kvm1', 'b': 'kvm1'}, {})


def test_vcpu_overcommit_limit():
    servers = [server('a', vcpus=4), server('b', vcpus=4)]
    hosts = [host('kvm1', cpus=2)]
    assert place(servers, hosts, vcpu_overcommit=4.0)[1] == {}
    assert place(servers, hosts, vcpu_overcommit=3.0)[1] == {'b': 'no host can take it: kvm1 lacks vCPUs'}


def test_load_counts_the_fuller_resource():
    kvm1 = host('kvm1', memory_gib=16, cpus=4, used_gib=0, vcpus_used=12)  # vCPUs nearly full
    kvm2 = host('kvm2', memory_gib=16, cpus=4, used_gib=8, vcpus_used=0)   # memory half full
    assert load_after(kvm1, server('x'), (16 * GIB, 16)) > load_after(kvm2, server('x'), (16 * GIB, 16))
    assert place([server('x')], [kvm1, kvm2])[0] == {'x': 'kvm2'}


def test_stopped_servers_need_nothing_and_go_to_the_least_loaded():
    assert place([server('off', 0, 0)], [host('kvm1', used_gib=16), host('kvm2', used_gib=1)])[0] == {'off': 'kvm2'}


def test_hosts_given_are_not_changed():
    hosts = [host('kvm1')]
    place([server('a', 4)], hosts)
    assert hosts[0]['memory_used'] == 0


def test_why_not():
    assert why_not(host('kvm1'), server('a'), (16 * GIB, 16)) is None
    assert why_not(host('kvm1', unavailable='is unreachable (refused)'), server('a'), (16 * GIB, 16)) \
        == 'kvm1 is unreachable (refused)'
