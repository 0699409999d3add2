#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: lvm_volume_group
short_description: Create, extend and remove LVM volume groups on a hypervisor host
version_added: 0.1.0
description:
  - Creates an LVM volume group from physical volumes (block devices), adds new physical volumes to it,
    or removes it.
  - Runs the LVM commands on the host where the module runs, so run it on the hypervisor host
    (its inventory host, or C(delegate_to)); it does not use libvirt.
  - A physical volume that the group has but O(pvs) does not list stays in the group; this module never
    takes a physical volume out of a group, so it never moves data.
  - On a kernel without device-mapper (containers, some test machines) LVM can still change its metadata;
    the module detects this and runs LVM with activation disabled, and says so in RV(activation) and a warning.
  - Idempotent; supports check mode and C(--diff).
author:
  - Virtual Iron revival team (@virtualiron)
attributes:
  check_mode:
    support: full
    description: Reports what would change without changing the host.
  diff_mode:
    support: full
    description: Shows the volume group before and after.
options:
  name:
    description:
      - Name of the volume group.
    type: str
    required: true
  pvs:
    description:
      - Block devices to be physical volumes of the group, for example V(/dev/sdb) or V(/dev/loop3).
      - Required to create the group; devices not yet in it are added (initialized as physical volumes first).
      - A device that belongs to another volume group is refused.
      - A device that holds a file system or another signature is refused by LVM (the module never answers
        LVM's "wipe it?" question with yes); wipe it yourself if you mean to.
    type: list
    elements: str
  extent_size:
    description:
      - Size of the group's extents, with a unit (for example V(4MiB), LVM's default); a bare number is MiB.
      - Used only when the group is created.
    type: str
  state:
    description:
      - V(present) creates or extends the group.
      - V(absent) removes the group, only when it holds no logical volumes, unless O(force=true).
        Its physical volumes keep their LVM labels and can join another group.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - With O(state=absent), remove the group with all its logical volumes, whose data is lost.
        LVM still refuses to remove a volume that is open.
    type: bool
    default: false
requirements:
  - LVM2 (the C(lvm) command) on the host
notes:
  - Use M(virtualiron.infra.lvm_volume) for the logical volumes in the group, and
    M(virtualiron.infra.storage_pool) with O(virtualiron.infra.storage_pool#module:type=logical) to give the
    group to libvirt as a storage pool.
seealso:
  - module: virtualiron.infra.lvm_volume
  - module: virtualiron.infra.storage_pool
'''

EXAMPLES = r'''
- name: A volume group for virtual disks, on the hypervisor host
  virtualiron.infra.lvm_volume_group:
    name: vmdisks
    pvs: [/dev/sdb, /dev/sdc]
  delegate_to: kvm1.example.com

- name: Later, extend it with a new disk (the others stay)
  virtualiron.infra.lvm_volume_group:
    name: vmdisks
    pvs: [/dev/sdb, /dev/sdc, /dev/sdd]
  delegate_to: kvm1.example.com

- name: Remove it (refused while it holds logical volumes)
  virtualiron.infra.lvm_volume_group:
    name: vmdisks
    state: absent
  delegate_to: kvm1.example.com
'''

RETURN = r'''
volume_group:
  description: The volume group after the task (in check mode, as far as it can be known before); null when absent.
  returned: always
  type: dict
  contains:
    name: {description: Name., type: str, sample: vmdisks}
    size: {description: Size., type: str, sample: 200GiB}
    size_bytes: {description: Size in bytes., type: int, sample: 214748364800}
    free: {description: Space not used by logical volumes., type: str, sample: 120GiB}
    free_bytes: {description: Free space in bytes., type: int, sample: 128849018880}
    extent_size: {description: Extent size., type: str, sample: 4MiB}
    extent_count: {description: Extents in the group., type: int, sample: 51200}
    free_extents: {description: Free extents., type: int, sample: 30720}
    lv_count: {description: Number of logical volumes., type: int, sample: 2}
    pvs: {description: Physical volumes., type: list, elements: str, sample: [/dev/sdb, /dev/sdc]}
changes:
  description: What the task did (or would do in check mode).
  returned: always
  type: list
  elements: str
  sample: ["volume group vmdisks extended with /dev/sdd"]
activation:
  description:
    - V(enabled) when LVM can activate volumes on this host; V(disabled) when the kernel has no device-mapper and
      LVM ran with activation disabled (metadata only).
  returned: always
  type: str
  sample: enabled
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virtualiron.infra.plugins.module_utils.storage.lvm import lvm_session
from ansible_collections.virtualiron.infra.plugins.module_utils.storage.lvm_converger import VolumeGroupConverger

ARGUMENT_SPEC = dict(
    name=dict(type='str', required=True),
    pvs=dict(type='list', elements='str'),
    extent_size=dict(type='str'),
    state=dict(type='str', default='present', choices=['present', 'absent']),
    force=dict(type='bool', default=False),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    with lvm_session(module) as lvm:
        result = VolumeGroupConverger(lvm, module.params, module.check_mode, module._diff).run()
    module.exit_json(**result)


if __name__ == '__main__':
    main()
