#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: lvm_volume
short_description: Create, grow and remove LVM logical volumes for virtual disks on a hypervisor host
version_added: 0.1.0
description:
  - Creates an LVM logical volume, grows it, or removes it; a logical volume makes a fast virtual disk
    (attach its RV(volume.path) with M(virtualiron.infra.virtual_server), O(virtualiron.infra.virtual_server#module:disks[].path)).
  - Never shrinks a volume (that loses the data at its end) and never removes one that is open or that a
    virtual server has in its definition, unless O(force=true) for removal.
  - Runs the LVM commands on the host where the module runs, so run it on the hypervisor host (its inventory
    host, or C(delegate_to)). Only the removal check "is it used by a virtual server" asks libvirt, through
    O(uri), which must therefore reach the same host (the default C(qemu:///system) does).
  - On a kernel without device-mapper (containers, some test machines) LVM can still change its metadata;
    the module detects this and runs LVM with activation disabled (volumes then have no device node),
    and says so in RV(activation) and a warning. On a normal host a volume is active after the task.
  - Idempotent; supports check mode and C(--diff).
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
    description: Shows the volume before and after.
options:
  name:
    description: Name of the logical volume.
    type: str
    required: true
  volume_group:
    description: Name of the volume group that holds it (see M(virtualiron.infra.lvm_volume_group)).
    type: str
    required: true
    aliases: [vg]
  size:
    description:
      - Size of the volume. Required to create it; a larger size grows it; a smaller size fails and changes nothing.
      - A size with a unit (V(10GiB), V(512MiB); a bare number is MiB; single letters are binary, V(GB) decimal),
        rounded up to whole extents.
      - Or a percentage, rounded down to whole extents, of the whole group (V(50%VG), or V(50%PVS), the same here)
        or of the group's free space (V(100%FREE)).
      - "V(N%FREE) is the share of the free space that a new volume takes. On an existing volume only V(100%FREE)
        has a lasting meaning: the volume grows by all the free space whenever the group has some (after the group
        was extended, say); a smaller V(N%FREE) leaves an existing volume as it is, so that the task stays idempotent."
      - Left out, an existing volume keeps its size.
    type: str
  state:
    description:
      - V(present) creates or grows the volume (and activates it where the host can).
      - V(absent) removes it and its data, refused while it is open or a virtual server of the O(uri) host has it
        in its definition, unless O(force=true).
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - With O(state=absent), remove the volume even if a virtual server's definition names it; the libvirt check is
        skipped. LVM itself still refuses to remove a volume that is open.
    type: bool
    default: false
requirements:
  - LVM2 (the C(lvm) command) on the host
  - libvirt-python on the host, for O(state=absent) without O(force)
notes:
  - "Why not libvirt's C(logical) storage pools: they need device-mapper even to start, know no percentages, and
    cannot grow a volume group; LVM's own commands do all that, also where device-mapper is missing.
    A volume group can still be given to libvirt as a pool with M(virtualiron.infra.storage_pool)."
  - A virtual server that uses a grown volume sees the new size after C(virsh blockresize) or its next start.
seealso:
  - module: virtualiron.infra.lvm_volume_group
  - module: virtualiron.infra.virtual_server
'''

EXAMPLES = r'''
- name: A 20 GiB volume for a virtual server's disk, on the hypervisor host
  virtualiron.infra.lvm_volume:
    volume_group: vmdisks
    name: web1-system
    size: 20GiB
  delegate_to: kvm1.example.com
  register: web1_lv

- name: Attach it (the module reaches the host through libvirt)
  virtualiron.infra.virtual_server:
    uri: qemu+ssh://root@kvm1.example.com/system
    name: web1
    disks: [{path: "{{ web1_lv.volume.path }}"}]

- name: Give the data volume all the free space of the group
  virtualiron.infra.lvm_volume:
    volume_group: vmdisks
    name: web1-data
    size: 100%FREE
  delegate_to: kvm1.example.com

- name: Remove a volume (refused while open or in a virtual server's definition)
  virtualiron.infra.lvm_volume:
    volume_group: vmdisks
    name: old-disk
    state: absent
  delegate_to: kvm1.example.com
'''

RETURN = r'''
volume:
  description: The volume after the task (in check mode, what it would be); null when absent.
  returned: always
  type: dict
  contains:
    name: {description: Name., type: str, sample: web1-system}
    volume_group: {description: Volume group., type: str, sample: vmdisks}
    path: {description: Device path for virtual_server disks., type: str, sample: /dev/vmdisks/web1-system}
    size: {description: Size., type: str, sample: 20GiB}
    size_bytes: {description: Size in bytes., type: int, sample: 21474836480}
    active: {description: Whether it is active (has a device node); always false with activation disabled., type: bool}
    open: {description: Whether something has it open; always false with activation disabled., type: bool}
changes:
  description: What the task did (or would do in check mode).
  returned: always
  type: list
  elements: str
  sample: ["logical volume vmdisks/web1-system grown from 10GiB to 20GiB"]
activation:
  description:
    - V(enabled) when LVM can activate volumes on this host; V(disabled) when the kernel has no device-mapper and
      LVM ran with activation disabled (metadata only, no device node).
  returned: always
  type: str
  sample: enabled
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import CONNECTION_ARGUMENT_SPEC
from ansible_collections.virtualiron.infra.plugins.module_utils.storage.lvm import lvm_session
from ansible_collections.virtualiron.infra.plugins.module_utils.storage.lvm_converger import LogicalVolumeConverger

ARGUMENT_SPEC = dict(
    CONNECTION_ARGUMENT_SPEC,
    name=dict(type='str', required=True),
    volume_group=dict(type='str', required=True, aliases=['vg']),
    size=dict(type='str'),
    state=dict(type='str', default='present', choices=['present', 'absent']),
    force=dict(type='bool', default=False),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    with lvm_session(module) as lvm:
        result = LogicalVolumeConverger(lvm, module.params, module.check_mode, module._diff).run()
    module.exit_json(**result)


if __name__ == '__main__':
    main()
