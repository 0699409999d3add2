# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""LVM on the hypervisor host itself: volume groups and logical volumes.

LVM is driven through its own commands, run on the host where the module runs (libvirt's
"logical" storage pools cannot do it: they need device-mapper even to start, know no percentages
and cannot extend a volume group). The decisions are pure functions over LVM's JSON reports, so
they are unit-tested without LVM; every command line is declared once below, and `Lvm` only runs them.

A kernel without device-mapper (a container, or this project's lab machine) can still hold LVM
metadata: with activation disabled, LVM creates, extends and removes volumes without device nodes.
`Lvm` detects that once and then passes the setting to every command.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import json
import re

from ansible_collections.virtualiron.infra.plugins.module_utils.common.command import (
    Command, fixed, flag, option, positional)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.common.units import format_size, parse_size

ACTIVATION_OFF = 'global {activation=0}'
# LVM remembers which devices hold PVs in /run/lvm/hints. LVM run in another mount namespace (a container,
# or a libvirtd with its own /run, as in the lab, building a logical pool) changes PVs without updating
# this host's hints, which then hide the new PV; so every command scans the devices itself.
NO_HINTS = 'devices {hints="none"}'
# LVM warns about every inherited file descriptor (Ansible leaves some open); C locale keeps
# its messages in the words the parsing expects.
LVM_ENVIRONMENT = {'LVM_SUPPRESS_FD_WARNINGS': '1', 'LC_ALL': 'C'}
REPORT_OPTIONS = ['--reportformat', 'json', '--units', 'b', '--nosuffix']
VG_FIELDS = 'vg_name,vg_size,vg_free,vg_extent_size,vg_extent_count,vg_free_count,lv_count,pv_count'
LV_FIELDS = 'lv_name,vg_name,lv_size,lv_attr,lv_path,lv_dm_path,lv_active,lv_device_open'
PV_FIELDS = 'pv_name,vg_name'
PERCENT_RE = re.compile(r'^\s*(\d+(?:\.\d+)?)\s*%\s*(VG|PVS|FREE)\s*$', re.IGNORECASE)
# Names LVM accepts, minus what would need quoting in a path or a libvirt pool.
NAME_RE = re.compile(r'[A-Za-z0-9+_.][A-Za-z0-9+_.-]{0,126}')


def check_lvm_name(name, what):
    """Refuse a name LVM would not take (a volume group's, a logical volume's, or a pool's over a group)."""
    if not NAME_RE.fullmatch(name or '') or name in ('.', '..') or name.startswith('-'):
        raise VirtualIronError('invalid %s name %r: use letters, digits, "+", "_", "." and "-", '
                               'not starting with "-"' % (what, name))


# ---------------------------------------------------------------- reading reports

def report_rows(text, kind):
    """The rows of one kind ('vg', 'lv', 'pv') in `lvs/vgs/pvs --reportformat json` output."""
    try:
        data = json.loads(text)
    except ValueError:
        raise VirtualIronError('cannot read the LVM report: %r' % (text[:200],))
    rows = []
    for report in data.get('report', []):
        rows.extend(report.get(kind, []))
    return rows


def parse_vgs(text):
    """vgs JSON -> {name: volume group}; sizes in bytes, counts in extents."""
    groups = {}
    for row in report_rows(text, 'vg'):
        groups[row['vg_name']] = {
            'name': row['vg_name'],
            'size': int(row['vg_size']),
            'free': int(row['vg_free']),
            'extent_size': int(row['vg_extent_size']),
            'extent_count': int(row['vg_extent_count']),
            'free_count': int(row['vg_free_count']),
            'lv_count': int(row['lv_count']),
            'pv_count': int(row['pv_count']),
        }
    return groups


def _flag(value):
    """LVM's binary report fields: '1'/'active'/'open' true, ''/'0' false, 'unknown' when it cannot tell
    (no device-mapper)."""
    if value in ('unknown', None):
        return None
    return value not in ('', '0')


def parse_lvs(text):
    """lvs JSON -> {name: logical volume}. lv_attr's 5th and 6th letters are state and open; LVM
    writes 'X' (unknown) there without device-mapper."""
    volumes = {}
    for row in report_rows(text, 'lv'):
        volumes[row['lv_name']] = {
            'name': row['lv_name'],
            'volume_group': row['vg_name'],
            'size': int(row['lv_size']),
            'attr': row['lv_attr'],
            'path': row['lv_path'] or '/dev/%s/%s' % (row['vg_name'], row['lv_name']),
            'dm_path': row['lv_dm_path'],
            'active': _flag(row['lv_active']),
            'open': _flag(row['lv_device_open']),
        }
    return volumes


def parse_pvs(text):
    """pvs JSON -> {device: volume group name, or None for a PV in no group}."""
    return dict((row['pv_name'], row['vg_name'] or None) for row in report_rows(text, 'pv'))


def device_mapper_available(lvm_version_output):
    """`lvm version` prints the kernel driver's version only when it can talk to device-mapper."""
    return 'Driver version:' in lvm_version_output


# ---------------------------------------------------------------- sizes

def parse_lv_size(value):
    """'10GiB', '512' (MiB) -> ('bytes', n); '100%FREE', '50%VG', '20%PVS' -> ('percent', 100.0, 'FREE')."""
    match = PERCENT_RE.match(str(value))
    if not match:
        if '%' in str(value):
            raise VirtualIronError('size %r: a percentage is written like 100%%FREE, 50%%VG or 20%%PVS' % (value,))
        return ('bytes', parse_size(value, 'size'))
    percent = float(match.group(1))
    if not 0 < percent <= 100:
        raise VirtualIronError('size %r: a percentage must be more than 0 and at most 100' % (value,))
    return ('percent', percent, match.group(2).upper())


def target_extents(size, group, current=None):
    """The extents a volume should have for a parsed size, in a group; current = its extents now, or None.

    Bytes round up to whole extents (as lvcreate -L does); percentages round down (as LVM does).
    %VG and %PVS are shares of the whole group (this module puts no limit on the PVs a volume uses).
    %FREE is the share of the free space a new volume takes. On an existing volume only 100%FREE keeps a
    meaning ("all the free space": it grows whenever the group has free extents); a smaller %FREE
    leaves it as it is, since "half the free space" would grow it again on every run.
    """
    if size[0] == 'bytes':
        return -(-size[1] // group['extent_size'])
    percent, base = size[1], size[2]
    if base == 'FREE':
        if current is None:
            return int(group['free_count'] * percent // 100)
        return current + group['free_count'] if percent == 100 else current
    return int(group['extent_count'] * percent // 100)


def plan_volume(volume, group, size):
    """What to do for a volume that should exist: ('create' | 'extend' | None, extents).

    volume is the current volume (or None), size a parsed size (or None: keep the current size).
    Refuses, touching nothing, what LVM would refuse less clearly or what would lose data: a shrink,
    more extents than the group has free, a new volume without a size.
    """
    extent_size = group['extent_size']
    current = None if volume is None else volume['size'] // extent_size
    if size is None:
        if volume is None:
            raise VirtualIronError('a new logical volume needs a size')
        return None, current
    wanted = target_extents(size, group, current)
    if wanted < 1:
        raise VirtualIronError('size %s is less than one extent (%s) of volume group %s'
                               % (describe_size(size), format_size(extent_size), group['name']))
    if current is not None and wanted < current:
        raise VirtualIronError(
            'refusing to shrink logical volume %s/%s from %s to %s: shrinking loses the data at its end; '
            'nothing was changed' % (group['name'], volume['name'], format_size(volume['size']),
                                     format_size(wanted * extent_size)))
    needed = wanted - (current or 0)
    if needed > group['free_count']:
        raise VirtualIronError(
            'volume group %s has %s free, the logical volume needs %s more; extend the group with another '
            'physical volume' % (group['name'], format_size(group['free']), format_size(needed * extent_size)))
    if current is None:
        return 'create', wanted
    return ('extend' if wanted > current else None), wanted


def describe_size(size):
    if size[0] == 'bytes':
        return format_size(size[1])
    return '%g%%%s' % (size[1], size[2])


# ---------------------------------------------------------------- volume groups

def plan_group(group, members, wanted_pvs, pv_owner):
    """What to do for a group that should exist: ('create' | 'extend' | None, [new PVs]).

    members are the group's current PVs; pv_owner maps every known PV to its group (None if in none).
    A PV of another group is refused, never taken over.
    """
    taken = ['%s (in volume group %s)' % (pv, pv_owner[pv]) for pv in wanted_pvs
             if pv_owner.get(pv) not in (None, group and group['name'])]
    if taken:
        raise VirtualIronError('physical volumes already belong to another volume group: %s' % ', '.join(taken))
    new = [pv for pv in wanted_pvs if pv not in members]
    if group is None:
        if not wanted_pvs:
            raise VirtualIronError('a new volume group needs at least one physical volume in pvs')
        return 'create', new
    return ('extend' if new else None), new


def members(pv_owner, group):
    """The physical volumes of a group, from pv_owner (every known PV to its group)."""
    return [pv for pv, owner in pv_owner.items() if owner == group]


def group_view(group, members):
    """A volume group as the modules return it."""
    if group is None:
        return None
    return {
        'name': group['name'],
        'size': format_size(group['size']),
        'size_bytes': group['size'],
        'free': format_size(group['free']),
        'free_bytes': group['free'],
        'extent_size': format_size(group['extent_size']),
        'extent_count': group['extent_count'],
        'free_extents': group['free_count'],
        'lv_count': group['lv_count'],
        'pvs': sorted(members),
    }


def volume_view(volume, activation):
    """A logical volume as the module returns it."""
    if volume is None:
        return None
    return {
        'name': volume['name'],
        'volume_group': volume['volume_group'],
        'path': volume['path'],
        'size': format_size(volume['size']),
        'size_bytes': volume['size'],
        'active': volume['active'] if activation else False,
        'open': volume['open'] if activation else False,
    }


# ---------------------------------------------------------------- the commands, declared once

def lvm_settings(activation):
    """The --config of every command but `lvm version`: no hints, and activation off without device-mapper."""
    return ['--config', NO_HINTS if activation else '%s %s' % (NO_HINTS, ACTIVATION_OFF)]


class LvmCommand(object):
    """`lvm SUBCOMMAND`, its settings (the value of `settings`: whether activation is on) and its own
    arguments: (name, format) pairs in the order they are written."""

    def __init__(self, subcommand, *arguments):
        self.order = ['subcommand', 'settings'] + [argument[0] for argument in arguments]
        self.command = Command('lvm', dict(arguments, subcommand=fixed(subcommand), settings=lvm_settings),
                               environ=LVM_ENVIRONMENT)


# Every LVM command the modules run. `lvm version` has no settings: it tells whether LVM reaches device-mapper.
REPORT = ('report', fixed(*REPORT_OPTIONS))
VERSION = Command('lvm', {'subcommand': fixed('version')}, environ=LVM_ENVIRONMENT)
VGS = LvmCommand('vgs', REPORT, ('fields', fixed('-o', VG_FIELDS)))
PVS = LvmCommand('pvs', REPORT, ('fields', fixed('-o', PV_FIELDS)))
LVS = LvmCommand('lvs', REPORT, ('fields', fixed('-o', LV_FIELDS)), ('group', positional()))
VGCREATE = LvmCommand('vgcreate', ('extent_size', option('-s')), ('group', positional()), ('pvs', positional()))
VGEXTEND = LvmCommand('vgextend', ('group', positional()), ('pvs', positional()))
VGREMOVE = LvmCommand('vgremove', ('force', flag('-f')), ('group', positional()))
LVCREATE = LvmCommand('lvcreate', ('extents', option('-l')), ('name', option('-n')), ('yes', fixed('--yes')),
                      ('zero', option('--zero')), ('group', positional()))
LVEXTEND = LvmCommand('lvextend', ('extents', option('-l')), ('volume', positional()))
LVCHANGE_ACTIVATE = LvmCommand('lvchange', ('activate', fixed('-ay')), ('volume', positional()))
LVREMOVE = LvmCommand('lvremove', ('yes', fixed('--yes')), ('volume', positional()))


# ---------------------------------------------------------------- running LVM

class Lvm(object):
    """LVM commands on this host, through one AnsibleModule's run_command.

    `activation` is False on a kernel without device-mapper: every command then runs with activation
    disabled, which changes LVM metadata only (no device nodes, nothing to open).
    `lvm version` runs without settings: it reports whether LVM can reach device-mapper.
    """

    def __init__(self, module):
        self.module = module
        self.binary = module.get_bin_path('lvm', required=True)
        rc, out, err = VERSION.run(self.run_lvm, ['subcommand'], check_rc=False)
        self.activation = device_mapper_available(out + err)

    def run_lvm(self, argv, **kwargs):
        """The declared program `lvm` is the binary found on this host (get_bin_path also looks in /sbin)."""
        return self.module.run_command([self.binary] + argv[1:], **kwargs)

    def run(self, declared, what, **values):
        """Run a declared command; raise VirtualIronError with LVM's own words if it fails."""
        rc, out, err = declared.command.run(self.run_lvm, declared.order, check_rc=False,
                                            settings=self.activation, **values)
        if rc != 0:
            messages = [line.strip() for line in (err or out).splitlines()
                        if line.strip() and 'Activation disabled' not in line]
            raise VirtualIronError('%s failed: %s' % (what, ' '.join(messages) or 'exit code %d' % rc))
        return out

    def volume_groups(self):
        return parse_vgs(self.run(VGS, 'listing volume groups'))

    def physical_volumes(self):
        return parse_pvs(self.run(PVS, 'listing physical volumes'))

    def logical_volumes(self, group):
        return parse_lvs(self.run(LVS, 'listing the logical volumes of %s' % group, group=group))

    @property
    def activation_word(self):
        return 'enabled' if self.activation else 'disabled'

    def activation_note(self):
        if self.activation:
            return None
        return ('this host\'s kernel has no device-mapper: LVM runs with activation disabled (metadata only); '
                'logical volumes have no device node until activated on a kernel with device-mapper')


@contextlib.contextmanager
def lvm_session(module):
    """Yield the module's Lvm; an LVM failure fails the module, saying whether LVM ran with activation;
    without device-mapper the task warns what that means."""
    lvm = None
    try:
        lvm = Lvm(module)
        yield lvm
    except VirtualIronError as e:
        module.fail_json(msg=str(e), activation=lvm and lvm.activation_word)
    if lvm.activation_note():
        module.warn(lvm.activation_note())
