#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: pxe_network
short_description: The provisioning network of a host, with DHCP, a network boot file and TFTP (libvirt's dnsmasq)
version_added: 0.2.0
description:
  - Defines, starts and autostarts a libvirt network for network-booting bare-metal nodes. The host routes it
    (C(<forward mode='open'/>), no firewall rules), libvirt's dnsmasq answers DHCP in O(dhcp_start) to
    O(dhcp_end) with the boot file O(boot_file) and serves O(tftp_root) over TFTP.
  - O(boot_file) is a file under O(tftp_root) (V(undionly.kpxe), V(lpxelinux.0)) or, for nodes whose firmware is
    iPXE (QEMU guests, most current NICs), an C(http://) URL such as the receiver's C(boot.ipxe).
  - O(ipv6_address) makes dnsmasq send IPv6 router advertisements, which spares about 13 s per boot where iPXE
    would otherwise wait for an IPv6 router.
  - A network that differs is redefined and restarted. Idempotent; supports check mode and C(--diff).
author:
  - Virtual Iron revival team (@virtualiron)
extends_documentation_fragment:
  - virtualiron.infra.connection
attributes:
  check_mode:
    support: full
    description: Reports what would change.
  diff_mode:
    support: full
    description: Shows the network before and after.
options:
  name: {description: Name of the libvirt network., type: str, required: true}
  bridge: {description: Name of its bridge., type: str, default: vipxe0}
  address: {description: The host's IPv4 address on the network (the gateway and TFTP server); required for V(active)., type: str}
  prefix: {description: Prefix length of the network., type: int, default: 24}
  dhcp_start: {description: First address DHCP hands out; required for V(active)., type: str}
  dhcp_end: {description: Last address DHCP hands out; required for V(active)., type: str}
  tftp_root: {description: Directory served over TFTP (world-readable files; dnsmasq runs as nobody); required for V(active)., type: path}
  boot_file: {description: The boot file DHCP names., type: str, default: undionly.kpxe}
  boot_server: {description: The TFTP server DHCP names when it is another host., type: str}
  ipv6_address: {description: "An IPv6 address of the host on the network (a ULA such as fd00:5::1), for router advertisements.", type: str}
  ipv6_prefix: {description: Prefix length of O(ipv6_address)., type: int, default: 64}
  state: {description: V(active) or V(absent)., type: str, choices: [active, absent], default: active}
'''

EXAMPLES = r'''
- name: Provisioning network
  virtualiron.infra.pxe_network:
    uri: qemu:///system
    name: provisioning
    address: 10.0.5.1
    dhcp_start: 10.0.5.100
    dhcp_end: 10.0.5.200
    tftp_root: /var/lib/virtualiron/pxe/boot
    boot_file: http://10.0.5.1:8080/boot.ipxe
    ipv6_address: "fd00:5::1"
'''

RETURN = r'''
network:
  description: The network after the task; null when absent.
  returned: always
  type: dict
changes:
  description: What the task did.
  returned: always
  type: list
  elements: str
  sample: ["created", "active set to True", "autostart enabled"]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal.network import PxeNetworkConverger
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    CONNECTION_ARGUMENT_SPEC, libvirt_session)

ARGUMENT_SPEC = dict(
    CONNECTION_ARGUMENT_SPEC,
    name=dict(type='str', required=True),
    bridge=dict(type='str', default='vipxe0'),
    address=dict(type='str'),
    prefix=dict(type='int', default=24),
    dhcp_start=dict(type='str'),
    dhcp_end=dict(type='str'),
    tftp_root=dict(type='path'),
    boot_file=dict(type='str', default='undionly.kpxe'),
    boot_server=dict(type='str'),
    ipv6_address=dict(type='str'),
    ipv6_prefix=dict(type='int', default=64),
    state=dict(type='str', default='active', choices=['active', 'absent']),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                           required_if=[('state', 'active', ('address', 'dhcp_start', 'dhcp_end', 'tftp_root'))])
    with libvirt_session(module) as conn:
        result = PxeNetworkConverger(conn, module.params, module.check_mode, module._diff).run()
    module.exit_json(**result)


if __name__ == '__main__':
    main()
