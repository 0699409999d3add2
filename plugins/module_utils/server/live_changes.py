# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which changes to a running virtual server can be applied live, and which wait for a reboot.

Pure: compares the running server's spec with its new persistent spec (both from domain_xml.parse_server).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

# QEMU hot-plugs disks on these buses; SATA and IDE drives are fixed at boot.
HOTPLUG_BUSES = ('virtio', 'scsi', 'usb')
# Fields that only take effect at the next boot.
BOOT_TIME_FIELDS = ('hypervisor', 'max_vcpus', 'max_memory', 'boot', 'console')
# Fields kept in the definition's metadata, which libvirt changes on a running server too.
METADATA_FIELDS = ('description', 'tags', 'capacity_policy', 'recovery')


def _pair_by(current, target, key):
    """[(current or None, target or None)] pairing items with equal key(item)."""
    left = list(current)
    pairs = []
    for want in target:
        have = next((c for c in left if key(c) == key(want)), None)
        if have is not None:
            left.remove(have)
        pairs.append((have, want))
    return pairs + [(c, None) for c in left]


def _disk_ops(live, target):
    ops, pending = [], []
    for have, want in _pair_by(live, target, lambda d: d['target']):
        if have == want:
            continue
        disk = want or have
        if have is not None and want is not None:
            if disk['device'] == 'cdrom' and dict(have, path=None) == dict(want, path=None):
                ops.append(('change_media', want))
            else:
                pending.append('disk %s' % want['target'])
        elif disk['bus'] in HOTPLUG_BUSES:
            ops.append(('attach_disk' if want else 'detach_disk', disk))
        else:
            pending.append('disk %s (bus %s cannot be hot-plugged)' % (disk['target'], disk['bus']))
    return ops, pending


def _nic_ops(live, target):
    ops, pending = [], []
    for have, want in _pair_by(live, target, lambda n: n['mac']):
        if have == want:
            continue
        if have is None:
            ops.append(('attach_nic', want))
        elif want is None:
            ops.append(('detach_nic', have))
        elif have['model'] == want['model']:
            ops.append(('update_nic', want))
        else:
            pending.append('NIC %s model' % want['mac'])
    return ops, pending


def plan_live_changes(live, target):
    """Return (ops, pending): ops are (action, value) tuples to apply to the running server, in order;
    pending names what differs and can only take effect at the next boot."""
    ops, pending = [], [f for f in BOOT_TIME_FIELDS if _boot_value(live, f) != _boot_value(target, f)]
    for field, limit in (('vcpus', 'max_vcpus'), ('memory', 'max_memory')):
        if live[field] != target[field]:
            if target[field] <= live[limit]:
                ops.append((field, target[field]))
            else:
                pending.append('%s above the running maximum' % field)
    if [live.get(k) for k in METADATA_FIELDS] != [target.get(k) for k in METADATA_FIELDS]:
        ops.append(('metadata', target))
    for plan in (_disk_ops(live['disks'], target['disks']), _nic_ops(live['nics'], target['nics'])):
        ops.extend(plan[0])
        pending.extend(plan[1])
    return ops, pending


def outstanding_changes(live, target):
    """plan_live_changes, less what only the guest can complete: a running server's memory is what its
    balloon driver gave back, which never meets the target without the driver, reboot or not."""
    ops, pending = plan_live_changes(live, target)
    return [op for op in ops if op[0] != 'memory'], pending


def _boot_value(spec, field):
    value = spec[field]
    if field == 'console':
        return dict((k, v) for k, v in value.items() if k != 'port')
    return value
