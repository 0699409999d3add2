#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: storage_pool
short_description: Define, build, start, stop and remove libvirt storage pools (directories and LVM volume groups)
version_added: 0.1.0
description:
  - Brings a libvirt storage pool on one hypervisor host to the state you describe, through libvirt (O(uri)).
  - A V(dir) pool is a directory of disk images; a V(logical) pool is an LVM volume group.
  - A new pool is defined and built (the directory is made; a logical pool with O(devices) gets its volume group
    created on them, never over a device that holds data), then started and, unless O(autostart=false), set to
    start with the host.
  - Live migration without shared storage needs, on the destination host, an active pool whose directory holds
    the disk's path; a pool per disk directory on every host is what this module is for.
  - A pool that exists with another type, directory or volume group is refused, not redefined, since its volumes would
    be orphaned.
  - Removing a pool only removes libvirt's definition; the directory, its files and the volume group stay.
    It is refused while the pool holds volumes, unless O(force=true).
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
    description: Shows the pool before and after.
options:
  name:
    description: Name of the pool, unique on its host.
    type: str
    required: true
  type:
    description:
      - V(dir) a directory; V(logical) an LVM volume group.
      - Default V(dir) for a new pool; an existing pool of another type is refused.
    type: str
    choices: [dir, logical]
  path:
    description:
      - For V(dir), the directory on the host (required to define the pool; made when missing). Absolute,
        without C(.) or C(..) parts.
      - "M(virtualiron.infra.virtual_disk) creates and removes files in it by name, so a system directory is refused
        (as written and as it resolves where the module runs): C(/), C(/home), C(/root), C(/tmp), C(/var),
        C(/var/lib), C(/var/log), C(/var/tmp), and C(/bin), C(/boot), C(/dev), C(/etc), C(/lib), C(/lib32),
        C(/lib64), C(/proc), C(/run), C(/sbin), C(/sys), C(/usr) with everything in them. Use a directory of
        its own, such as C(/srv/images) or C(/var/lib/libvirt/images)."
      - For V(logical), leave it out (it is C(/dev/) + the volume group).
    type: path
  volume_group:
    description:
      - For V(logical), the LVM volume group. Defaults to O(name).
    type: str
  devices:
    description:
      - For V(logical), block devices to create the volume group on when the pool is defined. Leave it out for a
        volume group that exists (made with M(virtualiron.infra.lvm_volume_group), for example).
      - libvirt refuses devices that already hold a file system or an LVM label.
      - Absolute paths under C(/dev) only (not C(/dev/shm) and the like), because libvirt overwrites the first MiB of
        whatever it builds a pool on, a regular file too, before LVM finds it is no block device.
    type: list
    elements: str
  state:
    description:
      - V(active) defines, builds and starts the pool.
      - V(inactive) defines and builds it, and stops it if it runs (its volumes stay).
      - V(present) defines and builds it and leaves it running or stopped as it is (a new pool stays stopped).
      - V(absent) stops it and removes its definition (the directory, files and volume group stay); refused while
        it holds volumes, or while it is stopped (libvirt can then not tell what it holds), unless O(force=true).
    type: str
    choices: [active, inactive, present, absent]
    default: active
  autostart:
    description:
      - Start the pool when the host's libvirt starts.
      - Left out, an existing pool keeps its setting and a new pool autostarts when O(state=active).
    type: bool
  refresh:
    description:
      - Rescan an active pool's contents (files copied into its directory, volumes made outside libvirt).
      - A refresh changes no configuration, so it does not count as a change.
    type: bool
    default: false
  force:
    description: With O(state=absent), remove the definition even if the pool holds volumes, which are kept.
    type: bool
    default: false
notes:
  - "A V(logical) pool needs device-mapper on the host to start (libvirt activates the volume group); on a kernel
    without it the start fails and the module says so. M(virtualiron.infra.lvm_volume) works there too."
seealso:
  - module: virtualiron.infra.storage_pool_info
  - module: virtualiron.infra.lvm_volume_group
'''

EXAMPLES = r'''
- name: A directory pool for disk images, started and autostarted
  virtualiron.infra.storage_pool:
    uri: qemu+ssh://root@kvm2.example.com/system
    name: images
    path: /srv/images

- name: The destination of a live migration without shared storage needs the disk's directory as a pool
  virtualiron.infra.storage_pool:
    uri: "{{ item }}"
    name: vmdisks-dir
    path: /srv/vmdisks
  loop: [qemu+ssh://root@kvm1.example.com/system, qemu+ssh://root@kvm2.example.com/system]

- name: An LVM volume group as a pool
  virtualiron.infra.storage_pool:
    uri: qemu+ssh://root@kvm1.example.com/system
    name: vmdisks
    type: logical
    volume_group: vmdisks

- name: Remove a pool's definition (refused while it holds volumes; files stay)
  virtualiron.infra.storage_pool:
    uri: qemu+ssh://root@kvm2.example.com/system
    name: images
    state: absent
'''

RETURN = r'''
pool:
  description: The pool after the task (in check mode, what it would be); null when absent.
  returned: always
  type: dict
  contains:
    name: {description: Name., type: str, sample: images}
    type: {description: dir or logical., type: str, sample: dir}
    path: {description: Directory (dir) or /dev/VG (logical)., type: str, sample: /srv/images}
    volume_group: {description: Volume group of a logical pool., type: str}
    devices: {description: Devices a logical pool was built on., type: list, elements: str}
    state: {description: "active, inactive, building, degraded or inaccessible.", type: str, sample: active}
    autostart: {description: Starts with the host., type: bool, sample: true}
    persistent: {description: Defined (not transient)., type: bool, sample: true}
    capacity: {description: Size of the storage under the pool., type: str, sample: 100GiB}
    capacity_bytes: {description: Capacity in bytes., type: int}
    allocation: {description: Space used., type: str}
    allocation_bytes: {description: Allocation in bytes., type: int}
    available: {description: Space free., type: str}
    available_bytes: {description: Available space in bytes., type: int}
    volumes: {description: Names of its volumes; null while inactive., type: list, elements: str, sample: [web1.vhd]}
changes:
  description: What the task did (or would do in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["defined", "built", "started", "autostart enabled"]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    CONNECTION_ARGUMENT_SPEC, libvirt_session)
from ansible_collections.virtualiron.infra.plugins.module_utils.storage.pool_converger import PoolConverger

ARGUMENT_SPEC = dict(
    CONNECTION_ARGUMENT_SPEC,
    name=dict(type='str', required=True),
    type=dict(type='str', choices=['dir', 'logical']),
    path=dict(type='path'),
    volume_group=dict(type='str'),
    devices=dict(type='list', elements='str'),
    state=dict(type='str', default='active', choices=['active', 'inactive', 'present', 'absent']),
    autostart=dict(type='bool'),
    refresh=dict(type='bool', default=False),
    force=dict(type='bool', default=False),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    with libvirt_session(module) as conn:
        result = PoolConverger(conn, module.params, module.check_mode, module._diff).run()
    module.exit_json(**result)


if __name__ == '__main__':
    main()
