# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rack now, for a report: each host's CPUs, memory, maintenance state and load (as host_info reports them), and
every server defined on it with its state, size, tags and own capacity policy. Hosts are read in parallel, each over
a connection of its own; a host that cannot be read is in the report with the reason."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import concurrent.futures

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    CONNECT_TIMEOUT, VirtualIronError, is_libvirt_error, libvirt, on_host)
from ansible_collections.virtualiron.infra.plugins.module_utils.host.facts import load_facts, server_allocation
from ansible_collections.virtualiron.infra.plugins.module_utils.host.maintenance_state import read_host_state
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.facts import node_memory
from ansible_collections.virtualiron.infra.plugins.module_utils.server.describe import power_state, saved_xml
from ansible_collections.virtualiron.infra.plugins.module_utils.server.domain_xml import parse_server

MAX_WORKERS = 20


def read_rack(targets, connect_timeout=CONNECT_TIMEOUT):
    """{'hosts': [{'name', 'uri', 'error', 'cpus', 'memory_bytes', 'maintenance', 'load'}], 'servers': [{'name',
    'host', 'state', 'vcpus', 'memory_bytes', 'tags', 'capacity_policy'}]} of targets ([{'name', 'uri'}]), hosts in
    the order given; a host that cannot be read has its error and no figures."""
    if not targets:
        return {'hosts': [], 'servers': []}
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(len(targets), MAX_WORKERS)) as pool:
        read = list(pool.map(lambda t: on_host(t['uri'], lambda conn: _read_host(conn, t['name']), connect_timeout),
                             targets))
    hosts, servers = [], []
    for target, (answer, error) in zip(targets, read):
        host = {'name': target['name'], 'uri': target['uri'], 'error': error}
        if answer is not None:
            host.update(answer[0])
            servers += answer[1]
        hosts.append(host)
    return {'hosts': hosts, 'servers': servers}


def _read_host(conn, name):
    memory = node_memory(conn)['total_bytes']
    cpus = conn.getInfo()[2]
    groups = libvirt.VIR_DOMAIN_STATS_STATE | libvirt.VIR_DOMAIN_STATS_VCPU | libvirt.VIR_DOMAIN_STATS_BALLOON
    records = conn.getAllDomainStats(groups)
    servers = [s for s in (_read_server(dom, stats, name) for dom, stats in records) if s is not None]
    load = load_facts([server_allocation(stats, dom.info) for dom, stats in records], cpus, memory)
    host = {'cpus': cpus, 'memory_bytes': memory, 'maintenance': read_host_state(conn), 'load': load}
    return host, sorted(servers, key=lambda s: s['name'])


def _read_server(dom, stats, host):
    """A server as the report shows it; None for one that left while the host was read. A definition that cannot
    be read leaves the server listed without tags or policy."""
    try:
        _running, vcpus, memory = server_allocation(stats, dom.info)
        server = {'name': dom.name(), 'host': host, 'state': power_state(dom), 'vcpus': vcpus, 'memory_bytes': memory,
                  'tags': {}, 'capacity_policy': None}
        xml = saved_xml(dom)
    except libvirt.libvirtError as e:
        if is_libvirt_error(e, libvirt.VIR_ERR_NO_DOMAIN):
            return None
        raise
    try:
        spec = parse_server(xml)
        server.update(tags=spec['tags'], capacity_policy=spec['capacity_policy'])
    except VirtualIronError:
        pass
    return server
