# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A hypervisor host's hardware, hypervisor and load, read through its libvirt connection only.

The parsing and arithmetic are pure functions (XML or numbers in, dicts out); `host_facts` is the one
function that talks to libvirt. A part the host cannot report (DMI without /dev/mem, a driver without
node devices) is left empty and explained in `unavailable`; the other parts are still returned.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible_collections.virtualiron.infra.plugins.module_utils.host.maintenance_state import read_host_state
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import is_libvirt_error, libvirt
from ansible_collections.virtualiron.infra.plugins.module_utils.common.libvirt_xml import (
    capabilities_guests, element_bytes, hvm_domain_types, int_text, parse_xml)
from ansible_collections.virtualiron.infra.plugins.module_utils.server.describe import resolve_hypervisor

HARDWARE_ASSIST = ('vmx', 'svm')  # Intel VT-x, AMD-V
VENDOR_WORDS = {'AuthenticAMD': 'AMD', 'GenuineIntel': 'Intel'}


# ---------------------------------------------------------------- capabilities

def parse_capabilities(xml):
    """virConnectGetCapabilities XML -> {'cpu', 'numa', 'iommu', 'guests'} (CPU without node info)."""
    root = parse_xml(xml)
    return {
        'cpu': _parse_host_cpu(root.find('host/cpu')),
        'numa': [_parse_cell(c) for c in root.findall('host/topology/cells/cell')],
        'iommu': root.find("host/iommu[@support='yes']") is not None,
        'guests': capabilities_guests(root),
    }


def _parse_host_cpu(cpu):
    topology = cpu.find('topology')
    signature = cpu.find('signature')
    counter = cpu.find("counter[@name='tsc']")
    topo = topology.attrib if topology is not None else {}
    sig = signature.attrib if signature is not None else {}
    return {
        'arch': cpu.findtext('arch'),
        'model': cpu.findtext('model'),
        'vendor': cpu.findtext('vendor'),
        'family': int_text(sig.get('family')),
        'model_number': int_text(sig.get('model')),
        'stepping': int_text(sig.get('stepping')),
        'sockets': int_text(topo.get('sockets')),
        'dies': int_text(topo.get('dies')),
        'cores': int_text(topo.get('cores')),
        'threads': int_text(topo.get('threads')),
        'tsc_frequency_hz': int_text(counter.get('frequency')) if counter is not None else None,
        'features': sorted(f.get('name') for f in cpu.findall('feature')),
    }


def _parse_cell(cell):
    return {'id': int(cell.get('id')),
            'memory_bytes': element_bytes(cell.find('memory')),
            'cpus': sorted(int(c.get('id')) for c in cell.findall('cpus/cpu'))}


def host_domain_types(caps):
    """Domain types offered for full virtualization (hvm) of the host's own architecture."""
    return hvm_domain_types(caps['guests'], caps['cpu']['arch'])


def cpu_facts(caps, node_info):
    """The host CPU in the user's words; node_info is virNodeGetInfo's list (its MHz and CPU count)."""
    cpu = dict(caps['cpu'], count=node_info[2], frequency_mhz=node_info[3])
    cpu['vendor'] = VENDOR_WORDS.get(cpu['vendor'], cpu['vendor'])
    return cpu


def virtualization_facts(caps):
    """What the host offers to run servers: hardware assist (CPU flag), KVM, IOMMU for pass-through."""
    assist = [f for f in HARDWARE_ASSIST if f in caps['cpu']['features']]
    return {'hardware_assist': assist[0] if assist else None,
            'kvm': 'kvm' in host_domain_types(caps),
            'iommu': caps['iommu'],
            'domain_types': sorted(set(host_domain_types(caps)))}


def hypervisor_facts(driver, version, libvirt_version, caps):
    offered = host_domain_types(caps)
    return {'type': resolve_hypervisor(None, offered) if offered else driver.lower(),
            'driver': driver,
            'version': version_string(version),
            'libvirt_version': version_string(libvirt_version)}


def version_string(number):
    """libvirt's packed version (major * 1000000 + minor * 1000 + release) -> '7.2.22'."""
    return '%d.%d.%d' % (number // 1000000, number // 1000 % 1000, number % 1000)


# ---------------------------------------------------------------- memory and NUMA

def memory_facts(stats):
    """virNodeGetMemoryStats (KiB) -> bytes; available counts page cache and buffers as reclaimable."""
    figures = dict(('%s_bytes' % k, stats[k] * 1024) for k in ('total', 'free', 'buffers', 'cached') if k in stats)
    figures['available_bytes'] = sum(stats.get(k, 0) for k in ('free', 'buffers', 'cached')) * 1024
    return figures


def numa_facts(cells, free_bytes):
    """NUMA cells from the capabilities, each with its free memory (virNodeGetCellsFreeMemory)."""
    return [dict(cell, free_bytes=free) for cell, free in zip(cells, free_bytes)]


# ---------------------------------------------------------------- network interfaces and block devices

def parse_interface_nics(xml):
    """One virInterface XML -> its NICs: the interface, and for a bridge also its member ports."""
    root = parse_xml(xml)
    nic = _nic(root)
    members = [_nic(m, bridge=nic['name']) for m in root.findall('bridge/interface')]
    nic['members'] = [m['name'] for m in members]
    return [nic] + members


def _nic(element, bridge=None):
    mtu = element.find('mtu')
    mac = element.find('mac')
    return _nic_entry(element.get('name'), element.get('type'), mac.get('address') if mac is not None else None,
                      element.find('link'), int_text(mtu.get('size')) if mtu is not None else None, bridge)


def _nic_entry(name, kind, mac, link, mtu=None, bridge=None):
    return {'name': name,
            'type': kind,
            'mac': mac.lower() if mac else None,
            'active': None,
            'link_state': link.get('state') if link is not None else None,
            'speed_mbps': int_text(link.get('speed')) if link is not None else None,
            'mtu': mtu,
            'bridge': bridge,
            'members': []}


def parse_node_device(xml):
    """A node device XML -> ('nic', dict) for a network device, ('disk', dict) for a block device,
    or (None, None) for anything else."""
    root = parse_xml(xml)
    cap = root.find('capability')
    kind = cap.get('type') if cap is not None else None
    if kind == 'net':
        return 'nic', _nic_entry(cap.findtext('interface'), 'ethernet', cap.findtext('address'), cap.find('link'))
    if kind == 'storage':
        return 'disk', {'name': root.findtext('name'),
                        'path': cap.findtext('block'),
                        'type': cap.findtext('drive_type'),
                        'size_bytes': int_text(cap.findtext('size')),
                        'vendor': cap.findtext('vendor'),
                        'model': cap.findtext('model')}
    return None, None


def merge_nics(from_interfaces, from_devices):
    """The interface driver knows bridges and their ports; node devices may know NICs it does not
    list (a driver without interface support): each name once, the interface driver's entry first."""
    known = set(n['name'] for n in from_interfaces)
    return sorted(from_interfaces + [n for n in from_devices if n['name'] not in known], key=lambda n: n['name'])


def parse_sysinfo(xml):
    """virConnectGetSysinfo XML (SMBIOS) -> the system's manufacturer, product, serial and UUID."""
    root = parse_xml(xml)
    entries = dict((e.get('name'), (e.text or '').strip()) for e in root.findall('system/entry'))
    return {'manufacturer': entries.get('manufacturer'), 'product': entries.get('product'),
            'serial': entries.get('serial'), 'uuid': entries.get('uuid')}


# ---------------------------------------------------------------- load

def load_facts(allocations, cpus, memory_bytes):
    """Servers and what they are given, against the host's CPUs and memory.

    allocations: (running, vcpus, memory_bytes) per defined server. An overcommit ratio above 1
    means the servers are given more than the host has; "_defined" ratios count every defined
    server as if it ran.
    """
    running = [a for a in allocations if a[0]]
    load = {'servers_defined': len(allocations), 'servers_running': len(running),
            'vcpus_running': sum(a[1] for a in running), 'vcpus_defined': sum(a[1] for a in allocations),
            'memory_running_bytes': sum(a[2] for a in running),
            'memory_defined_bytes': sum(a[2] for a in allocations)}
    load.update(vcpu_overcommit=_ratio(load['vcpus_running'], cpus),
                vcpu_overcommit_defined=_ratio(load['vcpus_defined'], cpus),
                memory_overcommit=_ratio(load['memory_running_bytes'], memory_bytes),
                memory_overcommit_defined=_ratio(load['memory_defined_bytes'], memory_bytes))
    return load


def _ratio(part, whole):
    return round(part / whole, 3) if whole else None


def server_allocation(stats, info):
    """(running, vcpus, memory bytes) of one server from its bulk stats, or from virDomainGetInfo
    when the driver leaves the vcpu/balloon groups out (info: a callable, asked only then)."""
    running = stats.get('state.state') in (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_BLOCKED,
                                           libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PMSUSPENDED)
    if 'vcpu.current' in stats and 'balloon.current' in stats:
        return running, stats['vcpu.current'], stats['balloon.current'] * 1024
    _state, _max_kib, memory_kib, vcpus, _cpu = info()
    return running, vcpus, memory_kib * 1024


def cpu_busy_percent(first, second):
    """Share of the host's CPU time not idle between two virNodeGetCPUStats samples (ns counters)."""
    total = sum(second.values()) - sum(first.values())
    if total <= 0:
        return None
    idle = second.get('idle', 0) - first.get('idle', 0) + second.get('iowait', 0) - first.get('iowait', 0)
    return round(100.0 * (total - idle) / total, 1)


# ---------------------------------------------------------------- asking the host

def _optional(unavailable, part, call, default):
    """call(); a libvirt error means the host cannot report this part: note why, return default."""
    try:
        return call()
    except Exception as e:  # libvirt.libvirtError
        if not is_libvirt_error(e):
            raise
        unavailable[part] = e.get_error_message()
        return default


def _interfaces(conn):
    active = set(iface.name() for iface in conn.listAllInterfaces(libvirt.VIR_CONNECT_LIST_INTERFACES_ACTIVE))
    interfaces = []
    for iface in conn.listAllInterfaces(0):
        entries = parse_interface_nics(iface.XMLDesc(0))
        entries[0]['active'] = iface.name() in active  # one call for all rather than one each
        interfaces.extend(entries)
    return interfaces


def _devices(conn):
    flags = libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET | libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_STORAGE
    return [parse_node_device(d.XMLDesc(0)) for d in conn.listAllDevices(flags)]


def _allocations(conn):
    groups = libvirt.VIR_DOMAIN_STATS_STATE | libvirt.VIR_DOMAIN_STATS_VCPU | libvirt.VIR_DOMAIN_STATS_BALLOON
    return [server_allocation(stats, dom.info) for dom, stats in conn.getAllDomainStats(groups)]


def _cpu_percent(conn, sample_seconds):
    first = conn.getCPUStats(libvirt.VIR_NODE_CPU_STATS_ALL_CPUS)
    time.sleep(sample_seconds)
    return cpu_busy_percent(first, conn.getCPUStats(libvirt.VIR_NODE_CPU_STATS_ALL_CPUS))


def host_facts(conn, cpu_sample=0):
    """Everything host_info returns about the host behind conn. cpu_sample: seconds to measure CPU use
    over (0: not measured)."""
    unavailable = {}
    caps = parse_capabilities(conn.getCapabilities())
    node_info = conn.getInfo()
    memory = _optional(unavailable, 'memory', lambda: memory_facts(
        conn.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS)), {})
    memory.setdefault('total_bytes', node_info[1] * 1024 ** 2)  # MiB: a driver without memory stats
    devices = _optional(unavailable, 'devices', lambda: _devices(conn), [])
    cells_free = _optional(unavailable, 'numa', lambda: conn.getCellsFreeMemory(0, len(caps['numa'])),
                           [None] * len(caps['numa']))
    load = load_facts(_allocations(conn), node_info[2], memory['total_bytes'])
    if cpu_sample > 0:
        load['cpu_percent'] = _optional(unavailable, 'cpu_percent', lambda: _cpu_percent(conn, cpu_sample), None)
    return {
        'hostname': conn.getHostname(),
        'uri': conn.getURI(),
        'hypervisor': hypervisor_facts(conn.getType(), conn.getVersion(), conn.getLibVersion(), caps),
        'cpu': cpu_facts(caps, node_info),
        'virtualization': virtualization_facts(caps),
        'memory': memory,
        'numa': numa_facts(caps['numa'], cells_free),
        'nics': merge_nics(_optional(unavailable, 'interfaces', lambda: _interfaces(conn), []),
                           [d for kind, d in devices if kind == 'nic']),
        'disks': sorted((d for kind, d in devices if kind == 'disk'), key=lambda d: d['name']),
        'system': _optional(unavailable, 'system', lambda: parse_sysinfo(conn.getSysinfo(0)), None),
        'capabilities': {'guests': caps['guests']},
        'load': load,
        'maintenance': read_host_state(conn),
        'unavailable': unavailable,
    }
