#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: pxe_boot
short_description: Choose what a bare-metal node boots from the network (discover, an image, its local disk)
version_added: 0.2.0
description:
  - Writes, in the boot directory O(root) of the provisioning server, the iPXE script
    (C(nodes/<mac>.ipxe), or C(default.ipxe)) and the pxelinux configuration (C(pxelinux.cfg/01-<mac>), or
    C(pxelinux.cfg/default)) that decide what the node with MAC address O(mac) boots, and the entry script
    C(boot.ipxe) that DHCP hands out.
  - V(discover) boots the discovery image of M(virtualiron.infra.discovery_image), which reports the node's hardware
    to O(server_url) and then does O(after). V(image) boots O(kernel) and O(initrd) with O(cmdline). V(local)
    hands the node back to its firmware, which boots its next device (the local disk).
  - The pxelinux files are for C(lpxelinux.0), which fetches C(http://) URLs.
  - Runs on the provisioning server. Idempotent; supports check mode and C(--diff).
author:
  - Virtual Iron revival team (@virtualiron)
attributes:
  check_mode:
    support: full
    description: Reports which files would be written or removed.
  diff_mode:
    support: full
    description: Shows the files before and after.
options:
  root:
    description: The boot directory (served over TFTP and HTTP).
    type: path
    required: true
  mac:
    description: MAC address of the node (V(52:54:00:a1:b2:c3)), or V(default) for nodes without a choice of their own.
    type: str
    required: true
  boot:
    description: What the node boots.
    type: str
    choices: [discover, image, local]
    default: discover
  server_url:
    description: The receiver's URL on the provisioning network, V(http://ADDRESS:PORT); boot files and reports go there.
    type: str
    required: true
  kernel:
    description: For O(boot=image), the kernel (a URL, or a path under O(root)).
    type: str
  initrd:
    description: For O(boot=image), the initial ramdisk (a URL, or a path under O(root)).
    type: str
  cmdline:
    description: Kernel command line for O(boot=image); for O(boot=discover), words added to the discovery one.
    type: str
  after:
    description: What a discovered node does once its report is accepted.
    type: str
    choices: [poweroff, wait, reboot]
    default: poweroff
  bmc_address:
    description: The node's BMC address, which discovery then records in the registration.
    type: str
  state:
    description: V(present) writes the node's files; V(absent) removes them (the node then gets the default).
    type: str
    choices: [present, absent]
    default: present
'''

EXAMPLES = r'''
- name: Node 52:54:00:a1:b2:c3 is discovered at its next network boot, then powers off
  virtualiron.infra.pxe_boot:
    root: /var/lib/virtualiron/pxe/boot
    server_url: http://10.0.5.1:8080
    mac: "52:54:00:a1:b2:c3"
    boot: discover

- name: Afterwards it boots from its disk
  virtualiron.infra.pxe_boot:
    root: /var/lib/virtualiron/pxe/boot
    server_url: http://10.0.5.1:8080
    mac: "52:54:00:a1:b2:c3"
    boot: local
'''

RETURN = r'''
boot:
  description: The node's boot choice after the task; null when absent.
  returned: always
  type: dict
  contains:
    mac: {description: The MAC address (or default)., type: str}
    boot: {description: "discover, image or local.", type: str}
    files: {description: Path -> contents of the node's iPXE script and pxelinux configuration., type: dict}
changes:
  description: What the task did.
  returned: always
  type: list
  elements: str
  sample: ["nodes/52-54-00-a1-b2-c3.ipxe written", "pxelinux.cfg/01-52-54-00-a1-b2-c3 written"]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal.pxe import (
    AFTER_CHOICES, BOOT_CHOICES, PxeBootConverger)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError

ARGUMENT_SPEC = dict(
    root=dict(type='path', required=True),
    mac=dict(type='str', required=True),
    boot=dict(type='str', default='discover', choices=list(BOOT_CHOICES)),
    server_url=dict(type='str', required=True),
    kernel=dict(type='str'),
    initrd=dict(type='str'),
    cmdline=dict(type='str'),
    after=dict(type='str', default='poweroff', choices=list(AFTER_CHOICES)),
    bmc_address=dict(type='str'),
    state=dict(type='str', default='present', choices=['present', 'absent']),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = PxeBootConverger(None, module.params, module.check_mode, module._diff).run()
    except VirtualIronError as e:
        module.fail_json(msg=str(e))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
