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

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    CONNECTION_ARGUMENT_SPEC, VirtualIronError, libvirt_session)
from ansible_collections.virtualiron.infra.plugins.module_utils.storage.lvm import (
    Lvm, check_lvm_name, format_size, parse_lv_size, plan_volume, volume_view)
from ansible_collections.virtualiron.infra.plugins.module_utils.disk.image import servers_using


def ensure_present(lvm, params, group, volume, check_mode):
    """Create, grow and activate; returns (the volume as it will be, changes)."""
    size = parse_lv_size(params['size']) if params['size'] is not None else None
    action, extents = plan_volume(volume, group, size)
    full_name = '%s/%s' % (group['name'], params['name'])
    after = dict(volume or predicted_volume(group['name'], params['name']),
                 size=extents * group['extent_size'])
    changes = []
    if action == 'create':
        changes.append('logical volume %s created with %s' % (full_name, format_size(after['size'])))
        if not check_mode:
            lvm.run('lvcreate', create_args(lvm, extents, params['name'], group['name']),
                    'creating logical volume %s' % full_name)
    elif action == 'extend':
        changes.append('logical volume %s grown from %s to %s'
                       % (full_name, format_size(volume['size']), format_size(after['size'])))
        if not check_mode:
            lvm.run('lvextend', ['-l', str(extents), full_name], 'growing logical volume %s' % full_name)
    if lvm.activation and volume is not None and volume['active'] is False:
        changes.append('logical volume %s activated' % full_name)
        if not check_mode:
            lvm.run('lvchange', ['-ay', full_name], 'activating logical volume %s' % full_name)
    return after, changes


def create_args(lvm, extents, name, group):
    # Without activation LVM cannot zero the start of the volume; say so rather than let it abort.
    zero = [] if lvm.activation else ['--zero', 'n']
    return ['-l', str(extents), '-n', name, '--yes'] + zero + [group]


def predicted_volume(group, name):
    return {'name': name, 'volume_group': group, 'path': '/dev/%s/%s' % (group, name), 'dm_path': None,
            'size': 0, 'active': True, 'open': False}


def ensure_absent(module, lvm, volume, check_mode):
    """Remove the volume unless it is open or a virtual server uses it (force skips the second check)."""
    full_name = '%s/%s' % (volume['volume_group'], volume['name'])
    if volume['open']:
        raise VirtualIronError('refusing to remove logical volume %s: it is open (a running virtual server or '
                               'a mount uses it); nothing was changed' % full_name)
    if not module.params['force']:
        with libvirt_session(module) as conn:
            users = sorted(set(name for path in volume_paths(volume) for name in servers_using(conn, path)))
        if users:
            raise VirtualIronError(
                'refusing to remove logical volume %s: virtual servers on %s have it in their definition: %s; '
                'detach it first, or set force=true' % (full_name, module.params['uri'], ', '.join(users)))
    if not check_mode:
        lvm.run('lvremove', ['--yes', full_name], 'removing logical volume %s' % full_name)
    return ['logical volume %s removed' % full_name]


def volume_paths(volume):
    """Every path a domain may name the volume by: /dev/VG/LV, /dev/mapper/VG-LV and the node they lead to.
    (A domain naming it as a volume of a logical pool over the group is found through /dev/VG/LV.)"""
    paths = set(p for p in (volume['path'], volume['dm_path']) if p)
    paths.update(os.path.realpath(p) for p in list(paths) if os.path.exists(p))
    return paths


def run(module, lvm):
    params = module.params
    check_lvm_name(params['name'], 'logical volume')
    check_lvm_name(params['volume_group'], 'volume group')
    group = lvm.volume_groups().get(params['volume_group'])
    if group is None:
        if params['state'] == 'absent':
            return None, None, []
        raise VirtualIronError('volume group %s does not exist on this host; create it with lvm_volume_group'
                               % params['volume_group'])
    before = lvm.logical_volumes(group['name']).get(params['name'])
    if params['state'] == 'absent':
        changes = ensure_absent(module, lvm, before, module.check_mode) if before else []
        return before, None, changes
    after, changes = ensure_present(lvm, params, group, before, module.check_mode)
    if changes and not module.check_mode:
        after = lvm.logical_volumes(group['name']).get(params['name'])
    return before, after, changes


def main():
    module = AnsibleModule(argument_spec=dict(
        CONNECTION_ARGUMENT_SPEC,
        name=dict(type='str', required=True),
        volume_group=dict(type='str', required=True, aliases=['vg']),
        size=dict(type='str'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        force=dict(type='bool', default=False),
    ), supports_check_mode=True)
    lvm = None
    try:
        lvm = Lvm(module)
        before, after, changes = run(module, lvm)
    except VirtualIronError as e:
        module.fail_json(msg=str(e), activation=lvm and lvm.activation_word)
    if lvm.activation_note():
        module.warn(lvm.activation_note())
    before, after = volume_view(before, lvm.activation), volume_view(after, lvm.activation)
    module.exit_json(changed=bool(changes), volume=after, changes=changes, activation=lvm.activation_word,
                     diff={'before': before or {}, 'after': after or {}})


if __name__ == '__main__':
    main()
