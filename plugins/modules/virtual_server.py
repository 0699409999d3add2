#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: virtual_server
short_description: Create, change, start, stop, suspend and remove virtual servers
version_added: 0.1.0
description:
  - Brings one virtual server (a libvirt domain) on one hypervisor host to the state you describe,
    definition and power state together, in one call.
  - Idempotent; supports check mode and C(--diff).
  - Options you leave out keep the server's current setting; a new server gets the default each option names.
  - A change to a running server is applied live where the hypervisor can (vCPUs up to O(max_vcpus),
    memory up to O(max_memory), plugging and unplugging NICs and virtio or SCSI disks, changing the ISO in
    a CD drive, description and tags). The rest is saved in the definition, takes effect at the next boot,
    and the result says so with RV(reboot_required=true) and RV(pending_changes).
  - Unplugging a device or removing vCPUs from a running server needs the guest's cooperation (ACPI
    hot-unplug); until the guest completes it, it stays in RV(pending_changes). A live memory change is a
    request to the guest's balloon driver, which the guest follows only if it has the driver.
  - Removing a server (O(state=absent)) removes its definition only; disk files are never deleted.
  - A task that defines a new server and then fails (the hypervisor refuses to start it, say) removes that definition
    again, and its error says so; a server that existed before the task is never removed.
  - O(servers) converges many servers of one host in one task, over one connection, which is much faster
    than a loop (see the README's performance figures).
author:
  - Virtual Iron revival team (@virtualiron)
extends_documentation_fragment:
  - virtualiron.infra.connection
attributes:
  check_mode:
    support: full
    description: Reports what would change without changing the host.
  diff_mode:
    support: full
    description: Shows the server's settings before and after.
options:
  name:
    description:
      - Name of the virtual server, unique on its host.
      - 1 to 64 letters, digits, C(.), C(_), C(+) or C(-), starting with a letter or digit; no C(/) or C(..).
      - Required unless O(servers) is set.
    type: str
  servers:
    description:
      - Many servers at once, each a dict of this module's options (C(name) required, except O(uri)).
      - Options set at the top level apply to every entry that does not set them, so
        O(state), O(force) or O(shutdown_timeout) can be given once for all.
      - All entries are checked (in a dry run) before any server is changed; a bad entry fails the task
        and nothing is changed.
      - Mutually exclusive with O(name).
      - Each entry's options mean what the top-level options of the same name mean (see there); they are
        declared here so that Ansible checks them and hides O(servers[].console_password) from logs and output.
    type: list
    elements: dict
    suboptions:
      name: {description: "As O(name); required in every entry.", type: str}
      state: {description: "As O(state).", type: str, choices: [present, running, stopped, suspended, restarted, absent]}
      hypervisor: {description: "As O(hypervisor).", type: str, choices: [auto, kvm, qemu, xen]}
      vcpus: {description: "As O(vcpus).", type: int}
      max_vcpus: {description: "As O(max_vcpus).", type: int}
      memory: {description: "As O(memory).", type: str}
      max_memory: {description: "As O(max_memory).", type: str}
      boot: {description: "As O(boot).", type: list, elements: str, choices: [disk, network, cdrom]}
      cdrom: {description: "As O(cdrom).", type: str}
      disks:
        description: As O(disks).
        type: list
        elements: dict
        suboptions:
          path: {description: "As O(disks[].path).", type: str}
          pool: {description: "As O(disks[].pool).", type: str}
          volume: {description: "As O(disks[].volume).", type: str}
          format: {description: "As O(disks[].format).", type: str, choices: [raw, qcow2, vhd], default: raw}
          device: {description: "As O(disks[].device).", type: str, choices: [disk, cdrom, lun], default: disk}
          bus: {description: "As O(disks[].bus).", type: str, choices: [virtio, sata, scsi, ide, xen]}
          cache:
            description: As O(disks[].cache).
            type: str
            choices: [none, writeback, writethrough, directsync, unsafe]
      nics:
        description: As O(nics).
        type: list
        elements: dict
        suboptions:
          switch: {description: "As O(nics[].switch).", type: str}
          bridge: {description: "As O(nics[].bridge).", type: str}
          model: {description: "As O(nics[].model).", type: str}
          mac: {description: "As O(nics[].mac).", type: str}
      console: {description: "As O(console).", type: str, choices: [vnc, spice, none]}
      console_listen: {description: "As O(console_listen).", type: str}
      console_password: {description: "As O(console_password); never logged or returned.", type: str}
      console_insecure: {description: "As O(console_insecure).", type: bool}
      autostart: {description: "As O(autostart).", type: bool}
      description: {description: "As O(description).", type: str}
      tags: {description: "As O(tags).", type: dict}
      capacity_policy: {description: "As O(capacity_policy).", type: dict}
      recovery: {description: "As O(recovery).", type: dict}
      force: {description: "As O(force).", type: bool}
      shutdown_timeout: {description: "As O(shutdown_timeout).", type: int}
  state:
    description:
      - V(present) defines the server and leaves its power state as it is (a new server stays stopped).
      - V(running) defines and starts it (resumes it if suspended).
      - V(stopped) shuts it down gracefully (ACPI power button), waiting O(shutdown_timeout) seconds;
        if it is still running then, a hard power-off is done only with O(force=true), otherwise the task fails.
      - V(suspended) pauses its vCPUs (starting it paused if it was stopped).
      - V(restarted) stops it as V(stopped) does and starts it again; always reports a change.
      - V(absent) stops it as V(stopped) does and removes its definition. Disk files are kept.
      - Default V(present).
    type: str
    choices: [present, running, stopped, suspended, restarted, absent]
  hypervisor:
    description:
      - The virtualization type. V(auto) picks what the host offers, preferring V(kvm), then V(xen),
        then V(qemu) (software emulation, TCG).
      - On an existing server V(auto) keeps its current type.
      - Default V(auto).
    type: str
    choices: [auto, kvm, qemu, xen]
  vcpus:
    description:
      - Number of virtual CPUs. May exceed the host's physical cores (overcommit).
      - Neither O(vcpus) nor O(max_vcpus) may exceed what the host's hypervisor gives one server (libvirt's
        domain capabilities for the machine type, or C(virsh maxvcpus)); a server with more would not start.
      - Default for a new server is V(1).
    type: int
  max_vcpus:
    description:
      - Most vCPUs the server can have without a reboot; O(vcpus) can be raised live up to it.
      - Defaults to O(vcpus) (and grows with it when not set).
    type: int
  memory:
    description:
      - Memory of the server, as a size with a unit such as V(512MiB) or V(2GiB); a bare number is MiB.
      - Single-letter units (V(K), V(M), V(G), V(T)) are binary; V(KB), V(MB), V(GB), V(TB) are decimal.
      - Default for a new server is V(512MiB).
    type: str
  max_memory:
    description:
      - Most memory the server can have without a reboot; O(memory) can be changed live up to it
        (through the balloon driver, which the guest must have for the change to reach it).
      - Defaults to O(memory) (and grows with it when not set).
    type: str
  boot:
    description:
      - Boot devices in order. Default for a new server is V([disk]).
    type: list
    elements: str
    choices: [disk, network, cdrom]
  cdrom:
    description:
      - Path on the host of an ISO image to put in the server's CD drive, for installs (absolute, without
        C(.) or C(..) parts).
      - Replaces the ISO in the existing CD drive (live on a running server); other disks are kept.
      - An empty string removes the CD drive.
    type: str
  disks:
    description:
      - The complete list of the server's disks, in order. Disks not listed are detached (their files stay).
      - A disk is the same disk when its O(disks[].path) (or O(disks[].pool) and O(disks[].volume)) is the same.
    type: list
    elements: dict
    suboptions:
      path:
        description:
          - Path on the host of the image file, or of a block device (paths under C(/dev) attach as block devices).
          - Absolute, without C(.) or C(..) parts (a relative path would depend on the hypervisor's working directory).
        type: str
      pool:
        description: Storage pool of the volume, instead of O(disks[].path).
        type: str
      volume:
        description: Volume name in O(disks[].pool), a file name without C(/).
        type: str
      format:
        description:
          - Image format. V(vhd) is the Microsoft VHD format (see M(virtualiron.infra.virtual_disk)).
          - A fixed VHD is attached as a raw storage slice (offset 0, its virtual size, read from its footer on the
            host, through a libvirt storage volume when a pool holds it). That is fast, live-migratable, and keeps
            the footer out of the guest's reach. A dynamic VHD goes through QEMU's C(vpc) driver, with which QEMU
            refuses live migration. C(live_migratable) in the returned RV(server.disks) says which.
          - After a fixed VHD grows, run this module again so that the definition gets the larger slice (a running
            server sees it after a restart).
        type: str
        choices: [raw, qcow2, vhd]
        default: raw
      device:
        description:
          - V(disk) a hard disk; V(cdrom) a read-only CD/DVD drive; V(lun) passes a host block device through
            with SCSI commands (virtio-scsi, raw format only), so the guest sees the real device's SCSI identity.
          - For V(lun) the host must provide a block device that answers SCSI commands (SG_IO) - a SCSI, SAS,
            iSCSI or Fibre Channel LUN (C(/dev/sdX), better its C(/dev/disk/by-id/) name) or a multipath device
            over such LUNs (C(/dev/mapper/mpathX)). Loop devices, LVM volumes, partitions and files do not answer
            SCSI commands and QEMU refuses to start the server ("cannot get SG_IO version number"); attach those
            with V(disk).
        type: str
        choices: [disk, cdrom, lun]
        default: disk
      bus:
        description:
          - The disk's bus. Default V(virtio) for disks (V(xen) on Xen), V(sata) for CD drives, V(scsi) for LUNs.
          - Only V(virtio) and V(scsi) disks can be plugged into and out of a running server.
        type: str
        choices: [virtio, sata, scsi, ide, xen]
      cache:
        description:
          - Host cache mode. V(none) (the default for disks) uses direct I/O, which live migration with shared
            storage needs; file systems without direct I/O (tmpfs) need V(writeback).
        type: str
        choices: [none, writeback, writethrough, directsync, unsafe]
  nics:
    description:
      - The complete list of the server's virtual NICs, 0 to 8. An empty list leaves the server with no network.
      - NICs pair with the existing ones by O(nics[].mac) where given, otherwise in order;
        a NIC keeps its MAC address when only its switch or model changes.
    type: list
    elements: dict
    suboptions:
      switch:
        description: Name of the virtual switch (libvirt network) to attach to.
        type: str
      bridge:
        description: Name of a Linux bridge on the host to attach to, instead of a switch (a Linux interface name).
        type: str
      model:
        description:
          - NIC model as the guest sees it, for example V(virtio), V(e1000) or V(rtl8139).
          - Default V(virtio); on Xen, libvirt's default.
        type: str
      mac:
        description: MAC address, unicast. Generated by libvirt (prefix 52:54:00) when not set.
        type: str
  console:
    description:
      - Graphical console protocol. Default for a new server is V(vnc). V(none) removes it; the serial text
        console (C(virsh console)) is always there.
    type: str
    choices: [vnc, spice, none]
  console_listen:
    description:
      - IP address the graphical console listens on. Default V(127.0.0.1), reachable only from the host
        (use an SSH tunnel); set another address only on a trusted management network.
      - An IPv4 or IPv6 address (V(0.0.0.0) or V(::) for every address of the host); host names are refused.
      - A console on an address other than loopback needs O(console_password), or O(console_insecure=true),
        since whoever reaches that address gets the server's screen and keyboard. The module checks this when it
        writes the console (a new server, or a changed console), not for a console it leaves as it is.
    type: str
  console_password:
    description:
      - Password of the graphical console. An empty string removes it.
      - VNC allows at most 8 characters; SPICE allows longer passwords. One line, no control characters.
      - Never logged or returned (C(password_set) in RV(server.console) says whether one is set).
    type: str
  console_insecure:
    description:
      - Allow a console without O(console_password) on an address other than loopback (see O(console_listen)).
      - Default V(false).
    type: bool
  autostart:
    description: Start the server when the host boots.
    type: bool
  description:
    description: Free text describing the server (several lines allowed; control characters are refused).
    type: str
  tags:
    description:
      - Free-form key/value labels kept in the server's libvirt metadata (namespace
        C(https://virtualiron.example/xmlns/server/1)), for inventories and policies.
      - Replaces all tags when given; V({}) removes them.
      - Names are one line of text, values free text; control characters are refused.
    type: dict
  capacity_policy:
    description:
      - The server's own LiveCapacity policy, kept beside its tags in its libvirt metadata, so that it
        travels with the server when it migrates. M(virtualiron.infra.live_capacity) acts on it.
      - "C(more): move the server to a host where it gets more capacity when its C(metric) stays above
        C(threshold) % for C(minutes); C(less): consolidate it (pack servers onto fewer hosts) when the metric
        stays below C(threshold) % for C(minutes). C(metric) is V(cpu_percent) (of its vCPUs, the default) or
        V(memory_percent)."
      - Each direction is a dictionary of C(metric), C(threshold) and C(minutes) (those left out are the
        default's, more than 90 % or less than 10 % CPU for 10 minutes), or V(false) to turn it off.
      - A direction left out is not the server's to say; its tags', inventory groups' or host's policy decides
        it (see M(virtualiron.infra.live_capacity)). Replaces the server's policy when given; V({}) removes it.
    type: dict
  recovery:
    description:
      - The server's LiveRecovery policy, kept beside its tags in its libvirt metadata (it travels with the server
        when it migrates). M(virtualiron.infra.live_recovery) restarts a protected server on another host when its
        host fails, after fencing that host.
      - C(protected) (default V(true)) says whether it is restarted; C(priority) (V(-1000) to V(1000), default
        V(0)) orders the restarts, highest first, and the higher priority gets the room when not every server
        fits; C(store) names the storage pool, seen by every host under that name, that keeps the server's
        definition so that it can be read while its host is down (required when protected).
      - The definition in C(store) is rewritten after every change this module makes to the server, live or not,
        and after every migration by this collection; see C(docs/live-recovery.md).
      - A server with C(protected=false) and a C(store) is reported, not restarted, when its host fails.
        V({}) removes the policy and the stored definition.
    type: dict
  force:
    description:
      - Allow a hard power-off when a graceful shutdown does not finish within O(shutdown_timeout).
      - Default V(false).
    type: bool
  shutdown_timeout:
    description:
      - Seconds to wait for a graceful shutdown, V(0) or more. V(0) with O(force=true) powers off at once.
      - Default V(120).
    type: int
notes:
  - Needs a read-write libvirt connection; the console password is read back with the secure XML flag.
  - Memory and vCPU changes beyond the running maximum, boot order, console and hypervisor type take effect
    at the next boot; so do disk changes on SATA or IDE buses.
seealso:
  - module: virtualiron.infra.virtual_server_info
'''

EXAMPLES = r'''
- name: Set the connection of every virtualiron module once
  module_defaults:
    group/virtualiron.infra.libvirt:
      uri: qemu+ssh://root@kvm1.example.com/system
  block:
    - name: A running web server with one disk and one NIC
      virtualiron.infra.virtual_server:
        name: web1
        state: running
        vcpus: 2
        max_vcpus: 8
        memory: 2GiB
        max_memory: 8GiB
        disks:
          - path: /var/lib/libvirt/images/web1.vhd
            format: vhd
        nics:
          - switch: frontend
        tags:
          role: web
          owner: shop

    - name: Give it two more vCPUs while it runs (no reboot needed up to max_vcpus)
      virtualiron.infra.virtual_server:
        name: web1
        state: running
        vcpus: 4

- name: Install from an ISO, booting from CD first
  virtualiron.infra.virtual_server:
    uri: qemu:///system
    name: db1
    state: running
    memory: 4GiB
    boot: [cdrom, disk]
    cdrom: /var/lib/libvirt/images/debian-12.iso
    disks:
      - path: /var/lib/libvirt/images/db1.qcow2
        format: qcow2
    console: vnc
    console_password: "{{ vault_console_password }}"

- name: Stop it, powering off if the guest ignores the power button for 60 s
  virtualiron.infra.virtual_server:
    name: db1
    state: stopped
    shutdown_timeout: 60
    force: true

- name: Many servers in one task (one connection; all checked before any is changed)
  virtualiron.infra.virtual_server:
    state: running        # top-level options apply to every entry that does not set them
    memory: 1GiB
    servers:
      - name: app1
        disks: [{path: /var/lib/libvirt/images/app1.qcow2, format: qcow2}]
      - name: app2
        disks: [{path: /var/lib/libvirt/images/app2.qcow2, format: qcow2}]
      - name: app3
        vcpus: 4
        disks: [{path: /var/lib/libvirt/images/app3.qcow2, format: qcow2}]

- name: Remove the server (its disk files are kept)
  virtualiron.infra.virtual_server:
    name: db1
    state: absent
    force: true
'''

RETURN = r'''
results:
  description:
    - With O(servers), one result per server, in order, each with C(name) and the keys below
      (RV(server), RV(changes), RV(reboot_required), RV(pending_changes), C(changed)).
    - The keys below are then not returned at the top level, except RV(reboot_required) (true if any server's is).
  returned: when O(servers) is set
  type: list
  elements: dict
server:
  description:
    - The server's definition and state after the task (in check mode, what they would be).
    - Absent after O(state=absent).
  returned: when the server exists after the task
  type: dict
  contains:
    name: {description: Name., type: str, sample: web1}
    uuid: {description: libvirt UUID., type: str, sample: 4dea22b3-1d52-d8f3-2516-782e98ab3fa0}
    state: {description: "running, suspended, stopped or crashed.", type: str, sample: running}
    hypervisor: {description: "kvm, qemu or xen.", type: str, sample: kvm}
    vcpus: {description: vCPUs now., type: int, sample: 2}
    max_vcpus: {description: Most vCPUs without reboot., type: int, sample: 8}
    memory: {description: Memory., type: str, sample: 2GiB}
    max_memory: {description: Most memory without reboot., type: str, sample: 8GiB}
    boot: {description: Boot order., type: list, elements: str, sample: [disk]}
    disks:
      description:
        - Disks with path, format, bus, device, cache and the guest's device name (target).
        - C(slice) is the size of the raw slice a fixed VHD is attached as (null otherwise); C(live_migratable) is
          false for a disk on QEMU's VHD driver (a dynamic VHD), with which the server cannot live-migrate.
      type: list
      elements: dict
    nics:
      description: NICs with switch or bridge, model and MAC.
      type: list
      elements: dict
    console:
      description: Graphical console type, listen address, port (while running) and whether a password is set.
      type: dict
      sample: {type: vnc, listen: 127.0.0.1, port: 5900, password_set: false}
    autostart: {description: Starts with the host., type: bool, sample: false}
    description: {description: Description., type: str}
    tags: {description: Tags., type: dict, sample: {role: web}}
    capacity_policy:
      description: The server's own capacity policy (the directions it sets; V(false) is off).
      type: dict
      sample: {more: {metric: cpu_percent, threshold: 80.0, minutes: 5.0}, less: false}
    recovery:
      description: The server's recovery policy, V({}) when it has none.
      type: dict
      sample: {protected: true, priority: 10, store: shared}
changes:
  description: What the task did (or would do in check mode), in order.
  returned: without O(servers)
  type: list
  elements: str
  sample: ["definition updated", "vcpus set to 4 (live)"]
reboot_required:
  description: True when the running server differs from its saved definition until it is restarted.
  returned: always
  type: bool
  sample: false
pending_changes:
  description: What waits for the next boot, and why.
  returned: without O(servers)
  type: list
  elements: str
  sample: ["boot"]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    CONNECTION_ARGUMENT_SPEC, libvirt_session)
from ansible_collections.virtualiron.infra.plugins.module_utils.server.converger import (
    POWER_STATES, converge_servers)

# One server's options. None means "not set": a servers entry falls back to the top-level option,
# then to server.converger's SERVER_DEFAULTS, so top-level options act as defaults for every entry.
SERVER_SPEC = dict(
    name=dict(type='str'),
    state=dict(type='str', choices=list(POWER_STATES)),
    hypervisor=dict(type='str', choices=['auto', 'kvm', 'qemu', 'xen']),
    vcpus=dict(type='int'),
    max_vcpus=dict(type='int'),
    memory=dict(type='str'),
    max_memory=dict(type='str'),
    boot=dict(type='list', elements='str', choices=['disk', 'network', 'cdrom']),
    cdrom=dict(type='str'),
    disks=dict(type='list', elements='dict', options=dict(
        path=dict(type='str'),
        pool=dict(type='str'),
        volume=dict(type='str'),
        format=dict(type='str', default='raw', choices=['raw', 'qcow2', 'vhd']),
        device=dict(type='str', default='disk', choices=['disk', 'cdrom', 'lun']),
        bus=dict(type='str', choices=['virtio', 'sata', 'scsi', 'ide', 'xen']),
        cache=dict(type='str', choices=['none', 'writeback', 'writethrough', 'directsync', 'unsafe']),
    )),
    nics=dict(type='list', elements='dict', options=dict(
        switch=dict(type='str'),
        bridge=dict(type='str'),
        model=dict(type='str'),
        mac=dict(type='str'),
    )),
    console=dict(type='str', choices=['vnc', 'spice', 'none']),
    console_listen=dict(type='str'),
    console_password=dict(type='str', no_log=True),
    console_insecure=dict(type='bool'),
    autostart=dict(type='bool'),
    description=dict(type='str'),
    tags=dict(type='dict'),
    capacity_policy=dict(type='dict'),
    recovery=dict(type='dict'),
    force=dict(type='bool'),
    shutdown_timeout=dict(type='int'),
)
# Entries of servers take the same options, declared so that Ansible checks them and hides their
# console passwords (no_log) from the log and the result before anything else runs.
ARGUMENT_SPEC = dict(CONNECTION_ARGUMENT_SPEC, servers=dict(type='list', elements='dict', options=SERVER_SPEC),
                     **SERVER_SPEC)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                           mutually_exclusive=[('name', 'servers')], required_one_of=[('name', 'servers')])
    with libvirt_session(module) as conn:
        result = converge_servers(conn, module.params, module.check_mode, module._diff)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
