# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a move needs to know, read from both hosts: where the server is, and whether the destination
can take it (maintenance, memory, CPU, disks, storage pools, switches, backing files)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import threading

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    is_libvirt_error, libvirt, lookup_or_none)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.libvirt_xml import (
    capabilities_uuid, etree, host_capabilities, parse_xml)
from ansible_collections.virtualiron.infra.plugins.module_utils.host.facts import memory_facts
from ansible_collections.virtualiron.infra.plugins.module_utils.host.maintenance_state import read_host_state
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.decisions import (
    migrated_disks, volume_format)
from ansible_collections.virtualiron.infra.plugins.module_utils.server.describe import find_server, power_state
from ansible_collections.virtualiron.infra.plugins.module_utils.server.domain_xml import parse_server
from ansible_collections.virtualiron.infra.plugins.module_utils.storage.pools import active_pools_by_dir, path_exists

# storage.path_exists may start a transient probe pool for a directory; two at once on the same host
# and directory collide, so the moves of one evacuation ask their disk questions one at a time.
_PROBE_LOCK = threading.Lock()


def _server_facts(conn, name):
    """What a host has of the server: None, or its state, UUID, persistence and spec."""
    dom = find_server(conn, name)
    if dom is None:
        return None
    active = bool(dom.isActive())
    xml = dom.XMLDesc(0 if active else libvirt.VIR_DOMAIN_XML_INACTIVE)
    return {'state': power_state(dom), 'active': active, 'uuid': dom.UUIDString(),
            'persistent': bool(dom.isPersistent()), 'spec': parse_server(xml), 'cpu': _cpu_xml(xml)}


def _cpu_xml(domain_xml):
    cpu = parse_xml(domain_xml).find('cpu')
    return etree.tostring(cpu, encoding='unicode') if cpu is not None else None


def node_memory(conn):
    """The host's memory figures in bytes (host.facts.memory_facts: total_bytes, available_bytes, ...)."""
    return memory_facts(conn.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS))


def _cpu_compatible(dconn, server):
    """libvirt's comparison of the server's CPU with what the destination's hypervisor offers."""
    spec = server['spec']
    if not server['cpu']:
        return True  # no CPU model: QEMU's default model, which every host offers
    try:
        result = dconn.compareHypervisorCPU(None, spec['arch'], spec['machine'], spec['hypervisor'],
                                            server['cpu'], 0)
    except libvirt.libvirtError as e:
        if is_libvirt_error(e, libvirt.VIR_ERR_NO_SUPPORT):
            return None  # the driver cannot compare: libvirt itself checks again during the move
        return e.get_error_message()
    return result != libvirt.VIR_CPU_COMPARE_INCOMPATIBLE


def _switch_active(conn, switch):
    try:
        return bool(conn.networkLookupByName(switch).isActive())
    except libvirt.libvirtError as e:
        if is_libvirt_error(e, libvirt.VIR_ERR_NO_NETWORK):
            return False
        raise


def gather_facts(sconn, dconn, name):
    """Where the server is: what decide() needs, read from both hosts."""
    return {'source': _server_facts(sconn, name), 'destination': _server_facts(dconn, name),
            'same_host': capabilities_uuid(host_capabilities(sconn)) == capabilities_uuid(host_capabilities(dconn))}


def gather_target_facts(dconn, server):
    """What preflight_problems() needs of the destination to take the server (facts['source'])."""
    return {
        'maintenance': bool(read_host_state(dconn)['maintenance']),
        'available_memory': node_memory(dconn)['available_bytes'],
        'cpu_compatible': _cpu_compatible(dconn, server) if server['active'] else True,
        'disks': _disks_exist(dconn, migrated_disks(server['spec'])),
        'pool_dirs': sorted(active_pools_by_dir(dconn)),
        'switches': dict((n['switch'], _switch_active(dconn, n['switch']))
                         for n in server['spec']['nics'] if n['switch']),
    }


def gather_backing_facts(sconn, dconn, server):
    """{disk path: {'path', 'on_destination'}} for each qcow2 disk that has a backing file (an overlay), from the
    source's volume, and whether the destination has that file: a stopped server's disk is copied alone.
    Only disks the definition states as qcow2: libvirt probes the format of a file from its contents, which
    for a raw disk the guest writes (a qcow2 header naming any host file as its backing file)."""
    backing = {}
    for disk in migrated_disks(server['spec']):
        if volume_format(disk) != 'qcow2':
            continue
        volume = lookup_or_none(sconn.storageVolLookupByPath, disk['path'], libvirt.VIR_ERR_NO_STORAGE_VOL)
        path = volume is not None and parse_xml(volume.XMLDesc(0)).findtext('backingStore/path')
        if path:
            with _PROBE_LOCK:
                backing[disk['path']] = {'path': path, 'on_destination': path_exists(dconn, path)}
    return backing


def _disks_exist(conn, disks):
    with _PROBE_LOCK:
        return dict((d['path'], path_exists(conn, d['path'])) for d in disks)
