#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: virtual_switch
short_description: Create, change and remove virtual switches (isolated, private, bridged, NAT)
version_added: 0.1.0
description:
  - Brings one virtual switch (a libvirt network) on one hypervisor host to the state you describe.
    Virtual servers attach to it by name (M(virtualiron.infra.virtual_server) O(virtualiron.infra.virtual_server#module:nics[].switch)).
  - Idempotent; supports check mode and C(--diff).
  - A switch of the same name on several hosts is one logical switch, so a server live-migrated between
    them keeps its network; define it on every host with the same options (a bridged switch's uplinks
    must be on the same physical LAN on every host).
  - Options you leave out keep the switch's current setting; a new switch gets the default each option names.
    A change of O(mode) to or from V(bridged) starts the addressing afresh.
  - Static DHCP hosts (O(dhcp_hosts)) change live. Any other change to a running switch is saved and applied by
    restarting the switch, which would disconnect its running servers; while servers run on it the restart
    waits, and the result says so with RV(restart_required=true).
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
    description: Shows the switch's settings before and after.
options:
  name:
    description:
      - Name of the switch (the libvirt network), unique on its host.
      - 1 to 64 letters, digits, C(.), C(_), C(+) or C(-), starting with a letter or digit.
    type: str
    required: true
  state:
    description:
      - V(present) defines the switch and starts it.
      - V(absent) stops and removes it. This is refused while defined virtual servers have a NIC on it
        (the error names them) unless O(force=true).
    type: str
    choices: [present, absent]
    default: present
  mode:
    description:
      - V(isolated) connects the servers on it to each other only. With a O(subnet) and DHCP the host has an
        address on it, from which it answers DHCP only (no DNS, nothing routed).
      - V(private) connects the servers to each other and to the host, which serves DHCP and DNS on it.
        Needs O(subnet). Nothing is routed beyond the host.
      - V(bridged) puts the servers on a physical LAN through host NICs (O(uplinks)), as if they were
        plugged into the LAN's own switch; they take addresses from the LAN (its DHCP server).
        Where the host already has a Linux bridge over the uplinks (over a bond of them when there are several),
        the switch stands on it and leaves it as it is. Otherwise the switch has a bridge of its own, which the
        collection's libvirt network hook (install it with M(virtualiron.infra.virtual_switch_hook)) makes over
        the uplinks whenever libvirt starts the switch, also at boot for an autostarted switch, and removes it when
        libvirt stops the switch; several uplinks are bonded (active-backup, which needs nothing from the physical
        switch). Uplinks of a switch's own bridge must be NICs that nothing else uses; one that carries the host's
        addresses or is a port of another bridge is refused. The hook marks the bridge and bond it makes, and
        removes only those it made for this switch; it refuses to start the switch on a bridge or bond that is
        already there and was not made for it (a bridge of the host, or another switch's).
      - V(nat) connects the servers to each other and the host, with DHCP and DNS, and routes them out
        through the host's own addresses (masquerading; needs iptables or nftables on the host). Needs O(subnet).
      - Required to create a switch.
    type: str
    choices: [isolated, private, bridged, nat]
  uplinks:
    description:
      - Host NICs a V(bridged) switch stands on, 1 to 8, by their Linux interface names. Several are bonded. A bridge the host provides must have one
        bond whose slaves are exactly these NICs; the switch's own bridge has the bond C(bond-<first uplink>), with
        the first uplink as its primary.
      - Only for V(bridged).
    type: list
    elements: str
  bridge:
    description:
      - For V(bridged), the host's Linux bridge over the uplinks, found from O(uplinks) when not set. When the host
        has none, the name of the switch's own bridge, which must not be taken on the host; default
        C(br-<first uplink>) for a new switch.
      - For the other modes, the name of the bridge libvirt creates for the switch, which must not be taken on the
        host. libvirt picks a free C(virbrN) when not set.
      - A Linux interface name (1 to 15 letters, digits, C(_), C(.) or C(-)). Only a bridge the host provides can
        carry several switches; the bridge of another switch is refused.
    type: str
  subnet:
    description:
      - IPv4 subnet of the switch, like V(192.168.100.0/24). The host takes the first address on it, or the
        address you write, like V(192.168.100.254/24). Multicast, loopback, reserved ranges and subnets smaller than
        V(/30) are refused.
      - Required for V(private) and V(nat); optional for V(isolated) (needed there only for DHCP);
        not for V(bridged).
      - It must not overlap the subnet of another switch on the host.
    type: str
  dhcp:
    description:
      - Serve DHCP on the switch (libvirt's dnsmasq).
      - Default V(true) for V(private) and V(nat) switches, V(false) for V(isolated) ones unless
        O(dhcp_range) or O(dhcp_hosts) is set.
    type: bool
  dhcp_range:
    description:
      - Addresses DHCP hands out. Default the upper half of the subnet's addresses (the lower half stays free
        for static addresses). It must not include the host's address.
    type: dict
    suboptions:
      start:
        description: First address.
        type: str
        required: true
      end:
        description: Last address.
        type: str
        required: true
  dhcp_hosts:
    description:
      - Static DHCP leases by MAC address; the complete list (V([]) removes them). They change live.
    type: list
    elements: dict
    suboptions:
      mac:
        description: MAC address of the server's NIC, like V(52:54:00:12:34:56).
        type: str
        required: true
      ip:
        description: Address it gets; inside the subnet (it may be outside O(dhcp_range)).
        type: str
        required: true
      name:
        description: Host name DHCP gives it, a DNS name (letters, digits and inner C(-), in dot-separated labels).
        type: str
  mtu:
    description:
      - MTU of the switch (and of the servers' NICs on it), 68 to 65535. Default the host's (1500).
      - For a V(bridged) switch only with its own bridge, whose uplinks (and bond) get it too and keep it after the
        switch is gone; a bridge the host provides has the host's MTU.
    type: int
  autostart:
    description: Start the switch when the host boots (libvirtd starts).
    type: bool
  force:
    description:
      - With O(state=absent), remove the switch even while servers use it.
    type: bool
    default: false
notes:
  - VLAN tagging is not offered. libvirt tags VLANs only on Open vSwitch bridges or SR-IOV devices, and a host
    without Open vSwitch or 802.1Q support (as the project's lab) cannot do it at all. A bridged switch can
    stand on a host's VLAN bridge (for example a bridge over C(eth1.100)) that the host provides.
  - Kernel-level checks (a subnet already routed on a host NIC, a missing iptables, the network hook's refusals,
    a kernel without bonding) surface when libvirt starts the switch; a new switch that fails to start is removed
    again, so nothing is left behind.
  - A switch with its own bridge that runs without it (started before the host had the network hook) is restarted
    to get it, once no server runs on it.
seealso:
  - module: virtualiron.infra.virtual_switch_info
  - module: virtualiron.infra.virtual_switch_hook
  - module: virtualiron.infra.virtual_server
'''

EXAMPLES = r'''
- name: Switches of a host
  module_defaults:
    group/virtualiron.infra.libvirt:
      uri: qemu+ssh://root@kvm1.example.com/system
  block:
    - name: A private switch with DHCP and a static lease
      virtualiron.infra.virtual_switch:
        name: backend
        mode: private
        subnet: 192.168.100.0/24
        dhcp_range: {start: 192.168.100.100, end: 192.168.100.199}
        dhcp_hosts:
          - {mac: "52:54:00:00:00:10", ip: 192.168.100.10, name: db1}
        autostart: true

    - name: Servers on the physical LAN through a bonded pair of NICs (the host bridges bond0 over eno1 and eno2)
      virtualiron.infra.virtual_switch:
        name: frontend
        mode: bridged
        uplinks: [eno1, eno2]
        autostart: true

    - name: Servers on a storage LAN through NICs of their own (the switch makes bridge br-eno3 over a bond of them)
      virtualiron.infra.virtual_switch:
        name: storage
        mode: bridged
        uplinks: [eno3, eno4]
        mtu: 9000
        autostart: true

    - name: A NAT switch for servers that only need to reach out
      virtualiron.infra.virtual_switch:
        name: outbound
        mode: nat
        subnet: 10.50.0.0/24

    - name: A switch for a cluster's heartbeat, reachable by nothing else
      virtualiron.infra.virtual_switch:
        name: heartbeat
        mode: isolated

    - name: Remove a switch (refused while servers use it)
      virtualiron.infra.virtual_switch:
        name: outbound
        state: absent
'''

RETURN = r'''
switch:
  description:
    - The switch after the task (in check mode, what it would be), as M(virtualiron.infra.virtual_switch_info)
      returns each switch. Absent after O(state=absent).
  returned: when the switch exists after the task
  type: dict
  contains:
    name: {description: Name., type: str, sample: backend}
    mode:
      description: "isolated, private, bridged or nat (for a libvirt network made otherwise, libvirt's forward mode)."
      type: str
      sample: private
    bridge: {description: The Linux bridge of the switch on the host., type: str, sample: virbr3}
    host_bridge:
      description: For a bridged switch, whether it stands on a bridge the host provides (true) or on its own (false).
      type: bool
    uplinks: {description: Host NICs of a bridged switch., type: list, elements: str, sample: [eno1, eno2]}
    bond: {description: The bond of the uplinks of a bridged switch's own bridge., type: str, sample: bond-eno3}
    subnet: {description: IPv4 subnet., type: str, sample: 192.168.100.0/24}
    address: {description: The host's address on the switch., type: str, sample: 192.168.100.1}
    dhcp: {description: Whether the switch serves DHCP., type: bool, sample: true}
    dhcp_range: {description: Addresses DHCP hands out., type: dict, sample: {start: 192.168.100.128, end: 192.168.100.254}}
    dhcp_hosts: {description: Static leases., type: list, elements: dict}
    mtu: {description: MTU when set., type: int}
    active: {description: Running., type: bool, sample: true}
    autostart: {description: Starts with the host., type: bool}
    persistent: {description: Defined (not a transient network)., type: bool}
    leases: {description: Current DHCP leases., type: list, elements: dict}
    servers: {description: Names of the servers with a NIC on it., type: list, elements: str}
changes:
  description: What the task did (or would do in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["created", "started", "autostart enabled"]
restart_required:
  description: The running switch waits for a restart to take its new definition.
  returned: always
  type: bool
  sample: false
pending_changes:
  description: Why the switch waits.
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    CONNECTION_ARGUMENT_SPEC, libvirt_session)
from ansible_collections.virtualiron.infra.plugins.module_utils.switch.network_xml import MODES
from ansible_collections.virtualiron.infra.plugins.module_utils.switch.converger import SwitchConverger

ARGUMENT_SPEC = dict(
    CONNECTION_ARGUMENT_SPEC,
    name=dict(type='str', required=True),
    state=dict(type='str', default='present', choices=['present', 'absent']),
    mode=dict(type='str', choices=list(MODES)),
    uplinks=dict(type='list', elements='str'),
    bridge=dict(type='str'),
    subnet=dict(type='str'),
    dhcp=dict(type='bool'),
    dhcp_range=dict(type='dict', options=dict(start=dict(type='str', required=True),
                                              end=dict(type='str', required=True))),
    dhcp_hosts=dict(type='list', elements='dict', options=dict(
        mac=dict(type='str', required=True),
        ip=dict(type='str', required=True),
        name=dict(type='str'),
    )),
    mtu=dict(type='int'),
    autostart=dict(type='bool'),
    force=dict(type='bool', default=False),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    with libvirt_session(module) as conn:
        result = SwitchConverger(conn, module.params, module.check_mode, module._diff).run()
    module.exit_json(**result)


if __name__ == '__main__':
    main()
