# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""lvm_volume_group and lvm_volume: a volume group and a logical volume brought to the state asked for,
through LVM's own commands on this host (the converger's `conn` is the Lvm runner)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import stat

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import libvirt_session
from ansible_collections.virtualiron.infra.plugins.module_utils.common.converger import Converger
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.common.units import format_size, parse_size
from ansible_collections.virtualiron.infra.plugins.module_utils.common.validation import check_absolute_path
from ansible_collections.virtualiron.infra.plugins.module_utils.disk.image import servers_using
from ansible_collections.virtualiron.infra.plugins.module_utils.storage.lvm import (
    LVCHANGE_ACTIVATE, LVCREATE, LVEXTEND, LVREMOVE, VGCREATE, VGEXTEND, VGREMOVE, check_lvm_name, group_view,
    members, parse_lv_size, plan_group, plan_volume, volume_view)


class LvmConverger(Converger):
    """A converger over the Lvm runner: its result also says whether LVM ran with activation."""

    def result(self, before, after):
        result = super(LvmConverger, self).result(before, after)
        result['activation'] = self.conn.activation_word
        return result


# ---------------------------------------------------------------- volume groups

def resolve_devices(paths):
    """The devices as LVM reports them (symlinks such as /dev/disk/by-id/... resolved); refuse non-devices and
    paths that are relative (to whatever directory the module runs in) or not normalized."""
    devices = []
    for path in paths or []:
        real = os.path.realpath(check_absolute_path(path, 'physical volume'))
        try:
            mode = os.stat(real).st_mode
        except OSError:
            raise VirtualIronError('physical volume %s does not exist on this host' % path)
        if not stat.S_ISBLK(mode):
            raise VirtualIronError('physical volume %s is not a block device' % path)
        devices.append(real)
    return devices


class VolumeGroupConverger(LvmConverger):
    """A volume group created, extended with new physical volumes, or removed; never a PV taken out of it."""

    result_key = 'volume_group'

    def read(self):
        self.name = self.params['name']
        check_lvm_name(self.name, 'volume group')
        self.group = self.conn.volume_groups().get(self.name)
        self.pv_owner = self.conn.physical_volumes()
        return group_view(self.group, members(self.pv_owner, self.name))

    def converge(self, before):
        if self.params['state'] == 'absent':
            self.remove()
            return None
        action, self.new_pvs = plan_group(self.group, members(self.pv_owner, self.name),
                                          resolve_devices(self.params['pvs']), self.pv_owner)
        if action == 'create':
            self.act('exists', False, True, self.conn.run, VGCREATE, 'creating volume group %s' % self.name,
                     extent_size=self.extent_size(), group=self.name, pvs=self.new_pvs)
        elif action == 'extend':
            self.act('pvs', before['pvs'], sorted(before['pvs'] + self.new_pvs), self.conn.run, VGEXTEND,
                     'extending volume group %s' % self.name, group=self.name, pvs=self.new_pvs)
        if self.changes and not self.check_mode:
            return group_view(self.conn.volume_groups().get(self.name),
                              members(self.conn.physical_volumes(), self.name))
        # Sizes are LVM's to compute: check mode knows only the members of a group it would change.
        return dict(before or {'name': self.name}, pvs=sorted((before['pvs'] if before else []) + self.new_pvs))

    def extent_size(self):
        if not self.params['extent_size']:
            return None
        return '%dk' % (parse_size(self.params['extent_size'], 'extent_size') // 1024)

    def remove(self):
        if self.group is None:
            return
        if self.group['lv_count'] and not self.params['force']:
            volumes = sorted(self.conn.logical_volumes(self.name))
            raise VirtualIronError('refusing to remove volume group %s: it holds logical volumes (%s); remove them '
                                   'first, or set force=true to remove them with it' % (self.name, ', '.join(volumes)))
        self.act('exists', True, False, self.conn.run, VGREMOVE, 'removing volume group %s' % self.name,
                 force=self.params['force'], group=self.name)

    def describe(self, change):
        if change.field == 'exists':
            return ('volume group %s created on %s' % (self.name, ', '.join(self.new_pvs)) if change.new
                    else 'volume group %s removed' % self.name)
        return 'volume group %s extended with %s' % (self.name, ', '.join(self.new_pvs))


# ---------------------------------------------------------------- logical volumes

def volume_paths(volume):
    """Every path a domain may name the volume by: /dev/VG/LV, /dev/mapper/VG-LV and the node they lead to.
    (A domain naming it as a volume of a logical pool over the group is found through /dev/VG/LV.)"""
    paths = set(p for p in (volume['path'], volume['dm_path']) if p)
    paths.update(os.path.realpath(p) for p in list(paths) if os.path.exists(p))
    return paths


class LogicalVolumeConverger(LvmConverger):
    """A logical volume created, grown (never shrunk) and activated where the host can, or removed."""

    result_key = 'volume'

    def read(self):
        params = self.params
        check_lvm_name(params['name'], 'logical volume')
        check_lvm_name(params['volume_group'], 'volume group')
        self.full_name = '%s/%s' % (params['volume_group'], params['name'])
        self.group = self.conn.volume_groups().get(params['volume_group'])
        if self.group is None:
            if params['state'] == 'absent':
                self.volume = None
                return None
            raise VirtualIronError('volume group %s does not exist on this host; create it with lvm_volume_group'
                                   % params['volume_group'])
        self.volume = self.conn.logical_volumes(self.group['name']).get(params['name'])
        return volume_view(self.volume, self.conn.activation)

    def converge(self, before):
        if self.params['state'] == 'absent':
            if self.volume is not None:
                self.remove()
            return None
        after = self.grow()
        if self.conn.activation and self.volume is not None and self.volume['active'] is False:
            self.act('active', False, True, self.conn.run, LVCHANGE_ACTIVATE,
                     'activating logical volume %s' % self.full_name, volume=self.full_name)
            after['active'] = True
        if self.changes and not self.check_mode:
            after = self.conn.logical_volumes(self.group['name']).get(self.params['name'])
        return volume_view(after, self.conn.activation)

    def grow(self):
        """Create or grow the volume to its size; returns the volume as it will be."""
        group, name = self.group, self.params['name']
        size = parse_lv_size(self.params['size']) if self.params['size'] is not None else None
        action, extents = plan_volume(self.volume, group, size)
        after = dict(self.volume or new_volume(group['name'], name), size=extents * group['extent_size'])
        if action == 'create':
            # 'exists' records the size it is created with. Without activation LVM cannot zero the start of
            # the volume: say so rather than let it abort.
            self.act('exists', False, after['size'], self.conn.run, LVCREATE,
                     'creating logical volume %s' % self.full_name, extents=extents, name=name,
                     zero=None if self.conn.activation else 'n', group=group['name'])
        elif action == 'extend':
            self.act('size', self.volume['size'], after['size'], self.conn.run, LVEXTEND,
                     'growing logical volume %s' % self.full_name, extents=extents, volume=self.full_name)
        return after

    def remove(self):
        """Remove the volume unless it is open or a virtual server uses it (force skips the second check)."""
        if self.volume['open']:
            raise VirtualIronError('refusing to remove logical volume %s: it is open (a running virtual server or '
                                   'a mount uses it); nothing was changed' % self.full_name)
        users = [] if self.params['force'] else self.users()
        if users:
            raise VirtualIronError(
                'refusing to remove logical volume %s: virtual servers on %s have it in their definition: %s; '
                'detach it first, or set force=true' % (self.full_name, self.params['uri'], ', '.join(users)))
        self.act('exists', True, False, self.conn.run, LVREMOVE, 'removing logical volume %s' % self.full_name,
                 volume=self.full_name)

    def users(self):
        """The virtual servers of the uri host that have the volume in their definition."""
        with libvirt_session(self.conn.module) as host:
            return sorted(set(name for path in volume_paths(self.volume) for name in servers_using(host, path)))

    def describe(self, change):
        name = 'logical volume %s' % self.full_name
        if change.field == 'exists':
            return '%s created with %s' % (name, format_size(change.new)) if change.new else '%s removed' % name
        if change.field == 'size':
            return '%s grown from %s to %s' % (name, format_size(change.old), format_size(change.new))
        return '%s activated' % name


def new_volume(group, name):
    """A volume LVM has yet to create, as far as it can be known before."""
    return {'name': name, 'volume_group': group, 'path': '/dev/%s/%s' % (group, name), 'dm_path': None,
            'size': 0, 'active': True, 'open': False}
