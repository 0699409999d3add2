# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where virtual servers go: a pure placement function over host and server figures.

Policy: a host can take a server when, with it, the memory its running servers are given stays within
its memory times the memory overcommit limit, and their vCPUs within its physical CPUs times the vCPU
overcommit limit. Among the hosts that can, the least loaded takes it (load = the larger of its memory
and vCPU shares of those limits, after the server is added); ties go to the host listed first.
The largest servers are placed first, so that many small ones cannot fill the room a large one needs.
Hosts in maintenance, or otherwise unavailable (unreachable), take nothing.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


def host_limits(host, memory_overcommit, vcpu_overcommit):
    """(memory bytes, vCPUs) a host may give to running servers under the overcommit limits."""
    return host['memory'] * memory_overcommit, host['cpus'] * vcpu_overcommit


def load_after(host, server, limits):
    """The host's load with the server added: its fuller resource, as a share of that limit."""
    memory_limit, vcpu_limit = limits
    memory = (host['memory_used'] + server['memory']) / memory_limit if memory_limit else float('inf')
    vcpus = (host['vcpus_used'] + server['vcpus']) / vcpu_limit if vcpu_limit else float('inf')
    return max(memory, vcpus)


def why_not(host, server, limits):
    """Why a host cannot take a server, or None if it can."""
    if host.get('unavailable'):
        return '%s %s' % (host['name'], host['unavailable'])
    memory_limit, vcpu_limit = limits
    if host['memory_used'] + server['memory'] > memory_limit:
        return '%s lacks memory' % host['name']
    if host['vcpus_used'] + server['vcpus'] > vcpu_limit:
        return '%s lacks vCPUs' % host['name']
    return None


def place(servers, hosts, memory_overcommit=1.0, vcpu_overcommit=4.0):
    """Choose a host for each server.

    servers: [{'name', 'memory' (bytes), 'vcpus'}]; hosts: [{'name', 'memory' (bytes), 'cpus',
    'memory_used', 'vcpus_used', 'unavailable'}] with what their running servers already use, and why the
    host takes nothing (for example 'is in maintenance'), or None.
    Returns (placements, unplaced): placements {server name: host name}; unplaced {server name: reason}.
    The hosts given are not changed.
    """
    hosts = [dict(h) for h in hosts]
    limits = dict((h['name'], host_limits(h, memory_overcommit, vcpu_overcommit)) for h in hosts)
    placements, unplaced = {}, {}
    for server in sorted(servers, key=lambda s: (-s['memory'], -s['vcpus'], s['name'])):
        fitting = [h for h in hosts if why_not(h, server, limits[h['name']]) is None]
        if not fitting:
            reasons = [why_not(h, server, limits[h['name']]) for h in hosts]
            unplaced[server['name']] = 'no host can take it: %s' % ('; '.join(reasons) or 'no other host')
            continue
        # min() keeps the first of equal loads: ties go to the host listed first.
        chosen = min(fitting, key=lambda h: load_after(h, server, limits[h['name']]))
        chosen['memory_used'] += server['memory']
        chosen['vcpus_used'] += server['vcpus']
        placements[server['name']] = chosen['name']
    return placements, unplaced
