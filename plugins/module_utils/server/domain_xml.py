# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A virtual server's libvirt domain XML read into the user's words.

`parse_server` reads domain XML into a plain dict (the "spec"); `user_view` gives a spec as modules and
the inventory return it. Writing domain XML is server/definition.py's: reading alone is what the
inventory plugin loads. Everything here is pure: no libvirt connection.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy

from ansible_collections.virtualiron.infra.plugins.module_utils.common.libvirt_xml import element_bytes, etree, parse_xml
from ansible_collections.virtualiron.infra.plugins.module_utils.common.units import format_size

METADATA_NS = 'https://virtualiron.example/xmlns/server/1'
METADATA_PREFIX = 'virtualiron'
BOOT_DEVICES = {'disk': 'hd', 'network': 'network', 'cdrom': 'cdrom'}
DISK_FORMATS = {'raw': 'raw', 'qcow2': 'qcow2', 'vhd': 'vpc'}
# slice: a fixed VHD is attached as a raw slice of this many bytes from offset 0 (its virtual size),
# which hides the footer from the guest and, unlike QEMU's vpc driver, live-migrates.
DISK_KEYS = ('device', 'path', 'pool', 'volume', 'format', 'bus', 'cache', 'target', 'slice')


# ---------------------------------------------------------------- parsing

def parse_disk(disk):
    entry = dict.fromkeys(DISK_KEYS)
    entry['device'] = disk.get('device', 'disk')
    source = disk.find('source')
    if source is not None:
        entry['path'] = source.get('file') or source.get('dev')
        entry['pool'], entry['volume'] = source.get('pool'), source.get('volume')
    driver = disk.find('driver')
    if driver is not None:
        fmt = driver.get('type')
        entry['format'] = {v: k for k, v in DISK_FORMATS.items()}.get(fmt, fmt)
        entry['cache'] = driver.get('cache')
    # The collection writes a storage slice from offset 0 only for a fixed VHD: read it back as one.
    piece = disk.find("source/slices/slice[@type='storage']")
    if piece is not None and entry['format'] == 'raw' and piece.get('offset', '0') == '0':
        entry['format'], entry['slice'] = 'vhd', int(piece.get('size'))
    target = disk.find('target')
    if target is not None:
        entry['bus'], entry['target'] = target.get('bus'), target.get('dev')
    return entry


def parse_nic(interface):
    source = interface.find('source')
    mac = interface.find('mac')
    model = interface.find('model')
    entry = {'switch': None, 'bridge': None,
             'mac': mac.get('address').lower() if mac is not None else None,
             'model': model.get('type') if model is not None else None}
    if source is not None:
        if interface.get('type') == 'network':
            entry['switch'] = source.get('network')
        elif interface.get('type') == 'bridge':
            entry['bridge'] = source.get('bridge')
    return entry


def parse_console(devices):
    graphics = devices.find('graphics') if devices is not None else None
    if graphics is None:
        return {'type': 'none', 'listen': None, 'password': None, 'port': None}
    port = graphics.get('port')
    return {'type': graphics.get('type'),
            'listen': graphics.get('listen'),
            'password': graphics.get('passwd'),
            'port': int(port) if port and int(port) > 0 else None}


def _parse_metadata(root):
    """(tags, capacity policy, recovery policy) from the collection's metadata element."""
    server = root.find('metadata/{%s}server' % METADATA_NS)
    if server is None:
        return {}, {}, {}
    # libvirt qualifies only the root of a metadata element: its children are read by local name.
    children = [(etree.QName(child).localname, child) for child in server]
    tags = dict((tag.get('name'), tag.text or '') for name, tag in children if name == 'tag')
    policy = dict((element.get('direction'), _policy_direction(element)) for name, element in children if name == 'capacity')
    recovery = [_recovery_policy(element) for name, element in children if name == 'recovery']
    return tags, policy, recovery[0] if recovery else {}


def _recovery_policy(element):
    """The LiveRecovery policy as virtual_server wrote it: whether the server is restarted elsewhere when its host
    fails, its priority (higher first) and the storage pool that keeps its definition (recovery/store.py)."""
    priority = element.get('priority', '0')
    return {'protected': element.get('protected') == 'yes',
            'priority': int(priority) if priority.lstrip('-').isdigit() else 0,
            'store': element.get('store')}


def _policy_direction(element):
    """A direction of the capacity policy as virtual_server wrote it; capacity/policy.py checks it where it is used."""
    if element.get('enabled') == 'no':
        return False
    return dict((key, _number(element.get(key)) if key != 'metric' else element.get(key))
                for key in ('metric', 'threshold', 'minutes') if element.get(key) is not None)


def _number(text):
    try:
        return float(text)
    except ValueError:
        return text  # refused, with its value, by the policy check


def parse_server(xml):
    """Domain XML -> spec dict (sizes in bytes). Unknown devices are ignored, not lost: see update."""
    root = parse_xml(xml)
    vcpu = root.find('vcpu')
    max_vcpus = int(vcpu.text) if vcpu is not None else 1
    devices = root.find('devices')
    os_type = root.find('os/type')
    spec = {
        'name': root.findtext('name'),
        'uuid': root.findtext('uuid'),
        'hypervisor': root.get('type'),
        'arch': os_type.get('arch') if os_type is not None else None,
        'machine': os_type.get('machine') if os_type is not None else None,
        'vcpus': int(vcpu.get('current', max_vcpus)) if vcpu is not None else 1,
        'max_vcpus': max_vcpus,
        'max_memory': element_bytes(root.find('memory'), default=0),
        'memory': element_bytes(root.find('currentMemory'), default=element_bytes(root.find('memory'), default=0)),
        'boot': [{v: k for k, v in BOOT_DEVICES.items()}.get(b.get('dev'), b.get('dev'))
                 for b in root.findall('os/boot')],
        'disks': [parse_disk(d) for d in root.findall('devices/disk')],
        'nics': [parse_nic(i) for i in root.findall('devices/interface')],
        'console': parse_console(devices),
        'description': root.findtext('description') or '',
    }
    spec['tags'], spec['capacity_policy'], spec['recovery'] = _parse_metadata(root)
    return spec


def user_view(spec):
    """A spec as modules return it: sizes as strings with units, the console password hidden."""
    view = copy.deepcopy(spec)
    for key in ('memory', 'max_memory'):
        view[key] = format_size(view[key])
    view['console']['password_set'] = bool(view['console'].pop('password', None))
    for disk in view['disks']:
        disk['live_migratable'] = live_migratable(disk)
    return view


def live_migratable(disk):
    """QEMU refuses to live-migrate a guest with a disk on its vpc (VHD) driver: a VHD attached
    without a raw slice, that is a dynamic one."""
    return disk['format'] != 'vhd' or bool(disk.get('slice'))
