#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: host_info
short_description: Discover a hypervisor host's hardware, hypervisor and load through libvirt
version_added: 0.1.0
description:
  - Returns what a hypervisor host has and how loaded it is, asked through its libvirt connection only
    (no SSH to the host, no agent on it).
  - "Hardware: CPU (model, vendor, sockets, cores, threads, frequency, flags), virtualization features,
    memory, NUMA cells, network interfaces (MAC, link state, speed, bridge membership) and block devices
    with their sizes."
  - "Hypervisor: type and version, guest types and machine types (capabilities)."
  - "Load: servers running and defined, vCPUs and memory given to them against the host's CPUs and memory
    (overcommit ratios), and optionally the host's CPU use over a short sample."
  - A part the host cannot report does not fail the module; it is left empty and explained in
    RV(host.unavailable). For example the system's manufacturer and serial come from DMI (SMBIOS),
    which many hosts and containers cannot read.
  - The same facts are the host variables of the inventory plugin P(virtualiron.infra.hypervisors#inventory).
author:
  - Virtual Iron revival team (@virtualiron)
extends_documentation_fragment:
  - virtualiron.infra.connection
  - virtualiron.infra.attributes.info_module
options:
  cpu_sample:
    description:
      - Seconds to measure the host's CPU use over, to report RV(host.load.cpu_percent). V(0) skips it.
    type: float
    default: 0
  query:
    description:
      - A JMESPath expression over the result (with key C(host)); its value is returned in RV(query_result).
      - For example V(host.nics[?link_state=='up'].name).
    type: str
requirements:
  - jmespath (for O(query))
seealso:
  - module: virtualiron.infra.virtual_server_info
  - plugin: virtualiron.infra.hypervisors
    plugin_type: inventory
'''

EXAMPLES = r'''
- name: Everything about a host, with its CPU use over 2 seconds
  virtualiron.infra.host_info:
    uri: qemu+ssh://root@kvm1.example.com/system
    cpu_sample: 2
  register: kvm1

- name: Refuse to place more servers on a host whose memory is already overcommitted
  ansible.builtin.assert:
    that: kvm1.host.load.memory_overcommit < 1

- name: MAC addresses of the NICs whose link is up
  virtualiron.infra.host_info:
    uri: qemu+ssh://root@kvm1.example.com/system
    query: "host.nics[?link_state=='up'].mac"
  register: up_macs
'''

RETURN = r'''
host:
  description: The host's facts.
  returned: always
  type: dict
  contains:
    hostname: {description: Host name the host reports., type: str, sample: kvm1}
    uri: {description: libvirt URI of the connection., type: str, sample: "qemu+ssh://root@kvm1/system"}
    hypervisor:
      description: The hypervisor.
      type: dict
      contains:
        type: {description: "V(kvm), V(qemu) (software emulation only), V(xen) or the driver's own type.", type: str, sample: kvm}
        driver: {description: libvirt driver., type: str, sample: QEMU}
        version: {description: Hypervisor version., type: str, sample: 7.2.22}
        libvirt_version: {description: Version of libvirtd on the host., type: str, sample: 9.0.0}
    cpu:
      description: The host's CPU.
      type: dict
      contains:
        arch: {description: Architecture., type: str, sample: x86_64}
        model: {description: "libvirt's name for the CPU model (the closest named model, not the marketing name).", type: str, sample: Skylake-Server}
        vendor: {description: "Vendor (V(Intel), V(AMD), ...).", type: str, sample: Intel}
        family: {description: CPUID family., type: int}
        model_number: {description: CPUID model., type: int}
        stepping: {description: CPUID stepping., type: int}
        sockets: {description: "Sockets (per NUMA cell on some hosts, as libvirt counts them).", type: int}
        dies: {description: Dies per socket., type: int}
        cores: {description: Cores per die., type: int}
        threads: {description: Threads per core., type: int}
        count: {description: Logical CPUs online., type: int}
        frequency_mhz: {description: Nominal frequency., type: int}
        tsc_frequency_hz: {description: Time stamp counter frequency where libvirt reports it., type: int}
        features: {description: CPU flags libvirt knows by name., type: list, elements: str}
    virtualization:
      description: What the host offers to run virtual servers.
      type: dict
      contains:
        hardware_assist: {description: "V(vmx) (Intel VT-x), V(svm) (AMD-V), or null when the CPU shows neither.", type: str}
        kvm: {description: The hypervisor can run servers accelerated by KVM., type: bool}
        iommu: {description: An IOMMU is on (device pass-through)., type: bool}
        domain_types: {description: Server types offered for the host's architecture., type: list, elements: str, sample: [kvm, qemu]}
    memory:
      description: Memory of the host, in bytes.
      type: dict
      contains:
        total_bytes: {description: Total memory., type: int}
        free_bytes: {description: Unused memory., type: int}
        buffers_bytes: {description: Buffers., type: int}
        cached_bytes: {description: Page cache., type: int}
        available_bytes: {description: Free plus buffers and page cache (reclaimable)., type: int}
    numa:
      description: NUMA cells.
      type: list
      elements: dict
      contains:
        id: {description: Cell number., type: int}
        memory_bytes: {description: Memory of the cell., type: int}
        free_bytes: {description: Free memory of the cell., type: int}
        cpus: {description: Logical CPUs of the cell., type: list, elements: int}
    nics:
      description: Network interfaces, sorted by name; a bridge's ports are listed too.
      type: list
      elements: dict
      contains:
        name: {description: Interface name., type: str, sample: eth0}
        type: {description: "V(ethernet), V(bridge), V(bond), V(vlan)...", type: str}
        mac: {description: "MAC address, lower case.", type: str}
        active: {description: libvirt counts the interface as active (null for a bridge port)., type: bool}
        link_state: {description: "V(up), V(down), V(unknown)... where known.", type: str}
        speed_mbps: {description: Link speed where known., type: int}
        mtu: {description: MTU., type: int}
        bridge: {description: "The bridge this interface is a port of, or null.", type: str}
        members: {description: "For a bridge, its ports.", type: list, elements: str}
    disks:
      description: Block devices of the host, sorted by name.
      type: list
      elements: dict
      contains:
        name: {description: libvirt's node device name., type: str, sample: block_sda}
        path: {description: Device path., type: str, sample: /dev/sda}
        type: {description: Drive type., type: str, sample: disk}
        size_bytes: {description: Size., type: int}
        vendor: {description: Vendor where known., type: str}
        model: {description: Model where known., type: str}
    system:
      description: The machine from DMI (C(manufacturer), C(product), C(serial), C(uuid)); null when DMI cannot be read.
      type: dict
    capabilities:
      description: What servers the hypervisor can run.
      type: dict
      contains:
        guests:
          description: One entry per guest OS type and architecture.
          type: list
          elements: dict
          contains:
            os_type: {description: "V(hvm) (full virtualization), V(xen) (paravirtualized), V(exe) (containers).", type: str}
            arch: {description: Architecture., type: str}
            wordsize: {description: Bits., type: int}
            emulator: {description: Emulator binary., type: str}
            domain_types: {description: "Server types (V(kvm), V(qemu), V(xen)...).", type: list, elements: str}
            machine_types: {description: "Machine types, aliases included.", type: list, elements: str, sample: [pc-q35-7.2, q35]}
    load:
      description: Servers on the host and what they are given.
      type: dict
      contains:
        servers_defined: {description: Servers defined (running or not)., type: int}
        servers_running: {description: Servers running (or paused)., type: int}
        vcpus_running: {description: vCPUs of the running servers., type: int}
        vcpus_defined: {description: vCPUs of all servers., type: int}
        memory_running_bytes: {description: Memory of the running servers., type: int}
        memory_defined_bytes: {description: Memory of all servers., type: int}
        vcpu_overcommit: {description: vCPUs of running servers per logical CPU (above 1 = overcommitted)., type: float}
        vcpu_overcommit_defined: {description: The same if every defined server ran., type: float}
        memory_overcommit: {description: Memory of running servers per byte of host memory., type: float}
        memory_overcommit_defined: {description: The same if every defined server ran., type: float}
        cpu_percent: {description: "Host CPU busy over O(cpu_sample) seconds, 0-100. Only with O(cpu_sample).", type: float}
    maintenance:
      description: The host's maintenance state (C(maintenance), C(reason), C(since)), as the collection keeps it on the host.
      type: dict
    unavailable:
      description: Parts the host could not report, each with libvirt's reason.
      type: dict
      sample: {system: "unsupported configuration: Host SMBIOS information is not available"}
query_result:
  description: The value of O(query).
  returned: when O(query) is set
  type: raw
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virtualiron.infra.plugins.module_utils.host.facts import host_facts
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    CONNECTION_ARGUMENT_SPEC, libvirt_session)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.query import exit_with_query


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CONNECTION_ARGUMENT_SPEC,
            cpu_sample=dict(type='float', default=0),
            query=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    if module.params['cpu_sample'] < 0:
        module.fail_json(msg='cpu_sample must be 0 or more seconds, got %s' % module.params['cpu_sample'])
    with libvirt_session(module) as conn:
        facts = host_facts(conn, module.params['cpu_sample'])
    exit_with_query(module, dict(changed=False, host=facts), 'host')


if __name__ == '__main__':
    main()
