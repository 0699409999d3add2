# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""From a node's discovery report to its registration: what the discovery ramdisk posts (ramdisk_init.py) is
turned into a node registration (host/registration.py) and written where the inventory reads it.

A report comes from a machine nobody vouched for yet: its size, types and strings are bounded and checked,
strings are cleaned of control characters and cut to the format's length, lists are capped, and the
result must pass validate_registration before anything is written. The node's address is the one its
report came from, not one it claims.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re

from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal.image import write_atomic
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.host.registration import (
    REGISTRATION_SUFFIX, REGISTRATION_VERSION, read_registration, validate_registration)

MAX_REPORT_BYTES = 64 * 1024
MAX_NICS = 64
MAX_DISKS = 256
MAX_TEXT = 255
_MAC = re.compile(r'^([0-9a-f]{2}:){5}[0-9a-f]{2}$')
_CONTROL = re.compile(u'[\x00-\x1f\x7f]')
BOOT_MODES = ('bios', 'uefi')


def parse_report(body):
    """The JSON object a node posted (bytes), bounded in size."""
    if len(body) > MAX_REPORT_BYTES:
        raise VirtualIronError('report larger than %d bytes' % MAX_REPORT_BYTES)
    try:
        report = json.loads(body.decode('utf-8'))
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        raise VirtualIronError('report is not JSON: %s' % e)
    if not isinstance(report, dict):
        raise VirtualIronError('report must be a JSON object')
    return report


def node_name(mac):
    """The name of a node after the MAC address of its NIC: 52:54:00:a1:b2:c3 -> node-525400a1b2c3."""
    return 'node-' + mac.replace(':', '')


def registration_from_report(report, address, now):
    """The registration (state discovered) of the node whose report this is, sent from address at now (ISO 8601)."""
    nics = [nic for nic in (_nic(n) for n in _items(report.get('nics'), MAX_NICS)) if nic]
    if not nics:
        raise VirtualIronError('report has no NIC with a MAC address, so the node cannot be named')
    boot_mac = _text(report.get('boot_mac'))
    first = boot_mac if boot_mac in [n['mac'] for n in nics] else nics[0]['mac']
    hardware = {'nics': nics, 'disks': [d for d in (_disk(d) for d in _items(report.get('disks'), MAX_DISKS)) if d]}
    for key in ('cpus', 'memory_bytes'):
        if _count(report.get(key)) is not None:
            hardware[key] = report[key]
    system = _texts(report.get('system'), ('manufacturer', 'product', 'serial', 'uuid'))
    if system:
        hardware['system'] = system
    registration = {'version': REGISTRATION_VERSION, 'name': node_name(first), 'state': 'discovered',
                    'address': address, 'discovered_at': now, 'updated_at': now, 'hardware': hardware}
    if report.get('boot_mode') in BOOT_MODES:
        registration['labels'] = {'boot_mode': report['boot_mode']}
    bmc = _texts(report.get('bmc'), ('address',))
    if bmc:
        registration['bmc'] = {'type': 'redfish', 'address': bmc['address']}
    return validate_registration(registration)


def merge_registration(old, new):
    """What to write for a node registered as old (None: not yet) that reported new; None when nothing changed.
    A node keeps when it was first discovered, and what provisioning gave it since (state, uri, labels, bmc)."""
    if old is None:
        return new
    merged = dict(old, hardware=new['hardware'], address=new['address'])
    for key in ('labels', 'bmc'):
        if key in new:
            merged[key] = dict(new[key], **old.get(key, {}))
    if _without_times(merged) == _without_times(old):
        return None
    merged['updated_at'] = new['updated_at']
    return validate_registration(merged)


def record_report(directory, report, address, now):
    """Register the node of a report in directory -> (registration, changed). Written atomically (a temporary
    file, then a rename), so the inventory never reads half a file."""
    new = registration_from_report(report, address, now)
    path = os.path.join(directory, new['name'] + REGISTRATION_SUFFIX)
    old = None
    if os.path.lexists(path):
        try:
            old = read_registration(path)
        except VirtualIronError:
            old = None  # a broken file is replaced by what the node says now
    merged = merge_registration(old, new)
    if merged is None:
        return old, False
    write_atomic(path, (json.dumps(merged, indent=2, sort_keys=True) + '\n').encode('utf-8'))
    return merged, True


# ---------------------------------------------------------------- a booted image's state report

# What an image booted on a node (the stateless hypervisor's /init) may say of itself, and the libvirt transports
# its uri may use (the transport is the node's word; the host in the uri is the address its report came from).
REPORTED_STATES = ('provisioned', 'failed')
REPORTED_TRANSPORTS = ('tls', 'tcp')


def is_state_report(report):
    """True for a booted image's state report (it has a state), False for a discovery report."""
    return 'state' in report


def state_update(old, report, address, now):
    """The registration of a node registered as old (None: never discovered) once it reported its state from
    address -> the new registration, or None when nothing changed. Refused unless the node was discovered and the
    report comes from the address it was discovered at (its DHCP lease): a report is untrusted, and must not
    turn another node, or an unknown machine, into a hypervisor."""
    mac = (_text(report.get('mac')) or '').lower()
    if not _MAC.match(mac):
        raise VirtualIronError('state report without a valid mac')
    if old is None or mac not in [n['mac'] for n in old.get('hardware', {}).get('nics', [])]:
        raise VirtualIronError('no node with MAC %s was discovered; a node reports its state only after discovery' % mac)
    if old.get('address') != address:
        raise VirtualIronError('the state report of %s came from %s, not from %s where it was discovered'
                               % (old['name'], address, old.get('address')))
    state, transport = report.get('state'), report.get('transport')
    if state not in REPORTED_STATES:
        raise VirtualIronError('a node may report the state %s, not %r' % (' or '.join(REPORTED_STATES), state))
    new = dict(old, state=state)
    new.pop('uri', None)
    if state == 'provisioned':
        if transport not in REPORTED_TRANSPORTS:
            raise VirtualIronError('transport must be one of %s, got %r' % (', '.join(REPORTED_TRANSPORTS), transport))
        new['uri'] = 'qemu+%s://%s/system' % (transport, '[%s]' % address if ':' in address else address)
    if _without_times(new) == _without_times(old):
        return None
    new['updated_at'] = now
    return validate_registration(new)


def record_state(directory, report, address, now):
    """Apply a booted image's state report to its node's registration in directory -> (registration, changed)."""
    mac = (_text(report.get('mac')) or '').lower()
    path = os.path.join(directory, node_name(mac) + REGISTRATION_SUFFIX) if _MAC.match(mac) else None
    old = read_registration(path) if path and os.path.lexists(path) else None
    new = state_update(old, report, address, now)
    if new is None:
        return old, False
    write_atomic(path, (json.dumps(new, indent=2, sort_keys=True) + '\n').encode('utf-8'))
    return new, True


def _without_times(registration):
    return dict((k, v) for k, v in registration.items() if k not in ('updated_at', 'discovered_at'))


def _items(value, limit):
    """The dicts of a report's list, at most limit of them; anything else counts as no list."""
    return [v for v in value[:limit] if isinstance(v, dict)] if isinstance(value, list) else []


def _text(value):
    """A report's string, without control characters, cut to MAX_TEXT; None for anything else or empty."""
    if not isinstance(value, str):
        return None
    value = _CONTROL.sub('', value).strip()[:MAX_TEXT]
    return value or None


def _texts(value, keys):
    """The non-empty strings among keys of a report's object."""
    if not isinstance(value, dict):
        return {}
    return dict((k, _text(value.get(k))) for k in keys if _text(value.get(k)))


def _count(value):
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2 ** 63 else None


def _nic(value):
    mac = (_text(value.get('mac')) or '').lower()
    if not _MAC.match(mac):
        return None
    nic = dict(_texts(value, ('name', 'driver')), mac=mac)
    if _count(value.get('speed_mbps')) is not None:
        nic['speed_mbps'] = value['speed_mbps']
    return nic


def _disk(value):
    disk = _texts(value, ('name', 'model', 'serial'))
    if 'name' not in disk or _count(value.get('size_bytes')) is None:
        return None
    disk['size_bytes'] = value['size_bytes']
    return disk


# ---------------------------------------------------------------- where a node's discovery stopped

STAGES = ('no DHCP request', 'DHCP lease but no boot file fetched', 'boot script fetched but no kernel',
          'kernel fetched but no report', 'report refused', 'registered')


def boot_stage(mac, leases, requests, registered):
    """How far the network boot of the node with mac got -> (stage, detail), stage one of STAGES.
    leases: [{mac, ipaddr}] (libvirt's DHCP leases); requests: the receiver's log entries."""
    if registered:
        return 'registered', None
    addresses = set(lease.get('ipaddr') for lease in leases if lease.get('mac') == mac)
    mine = [r for r in requests if r.get('mac') == mac or r.get('client') in addresses]
    refused = [r for r in mine if r.get('stage') == 'report' and r.get('status') != 200]
    fetched = set(r.get('stage') for r in mine if r.get('status') == 200)
    if refused:
        return 'report refused', refused[-1].get('error')
    if fetched & set(['kernel', 'initrd']):
        return 'kernel fetched but no report', _last_path(mine)
    if fetched & set(['boot-script', 'file']):
        return 'boot script fetched but no kernel', _last_path(mine)
    if addresses:
        return 'DHCP lease but no boot file fetched', 'address %s' % ', '.join(sorted(addresses))
    return 'no DHCP request', None


def _last_path(requests):
    last = requests[-1]
    return '%s %s: %s' % (last.get('method'), last.get('path'), last.get('status'))


def read_request_log(path, limit=8 * 1024 * 1024):
    """The receiver's request log entries (the last `limit` bytes of it); unreadable lines are skipped."""
    try:
        with open(path, 'rb') as handle:
            handle.seek(max(0, os.fstat(handle.fileno()).st_size - limit))
            lines = handle.read().splitlines()
    except (IOError, OSError):
        return []
    entries = []
    for line in lines:
        try:
            entry = json.loads(line.decode('utf-8'))
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries
