# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A virtual server as asked for: checked, merged onto the current one, and written as domain XML.

`desired_server` checks a request and merges it onto the current spec (server/domain_xml.py reads one);
`build_server_xml` writes a new domain from a spec; `update_server_xml` changes an existing domain's XML to
match a spec while keeping what libvirt added (UUID, PCI addresses, generated MACs), so guests do not see
their devices move. Everything here is pure: no libvirt connection.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import ipaddress
import re

from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.policy import DIRECTIONS, check_policy, given_policy
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.common.libvirt_xml import (
    etree, parse_xml, sub_element, to_string)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.units import format_size
from ansible_collections.virtualiron.infra.plugins.module_utils.common.validation import (
    check_absolute_path, check_file_name, check_free_text, check_interface_name, check_ip_address,
    check_object_name)
from ansible_collections.virtualiron.infra.plugins.module_utils.server.domain_xml import (
    BOOT_DEVICES, DISK_FORMATS, DISK_KEYS, METADATA_NS, METADATA_PREFIX, parse_console, parse_disk, parse_nic)

MAX_NICS = 8
MIN_PRIORITY, MAX_PRIORITY = -1000, 1000
TARGET_PREFIX = {'virtio': 'vd', 'sata': 'sd', 'scsi': 'sd', 'ide': 'hd', 'xen': 'xvd'}
MAC_RE = re.compile(r'([0-9a-f]{2}:){5}[0-9a-f]{2}')
# The characters libvirt allows in a NIC model name.
MODEL_RE = re.compile(r'[A-Za-z0-9_-]{1,32}')
# libvirt's domain schema keeps vCPU counts in an unsigned short.
LIBVIRT_MAX_VCPUS = 65535


# ---------------------------------------------------------------- desired state

def _check_disk(disk, hypervisor):
    """Fill a user's disk entry with defaults; refuse what libvirt would reject later, less clearly."""
    disk = dict(disk)
    device = disk.get('device') or 'disk'
    if device not in ('disk', 'cdrom', 'lun'):
        raise VirtualIronError('disk device must be disk, cdrom or lun, got %r' % (device,))
    _check_source(disk, device)
    if device == 'lun' and not str(disk.get('path') or '').startswith('/dev/'):
        raise VirtualIronError('a lun disk passes a host block device through; its path must be under /dev, '
                               'got %r' % (disk.get('path'),))
    default_bus = {'cdrom': 'sata', 'lun': 'scsi'}.get(device, 'xen' if hypervisor == 'xen' else 'virtio')
    disk['device'] = device
    disk['bus'] = disk.get('bus') or default_bus
    if device == 'lun' and (disk['bus'] != 'scsi' or disk.get('format') not in (None, 'raw')):
        raise VirtualIronError('a lun disk is passed through raw on bus scsi (virtio-scsi), got bus %r and format %r'
                               % (disk['bus'], disk.get('format')))
    if disk['bus'] not in TARGET_PREFIX:
        raise VirtualIronError('unknown disk bus %r; use one of %s' % (disk['bus'], ', '.join(sorted(TARGET_PREFIX))))
    disk['format'] = disk.get('format') or 'raw'
    if disk['format'] not in DISK_FORMATS:
        raise VirtualIronError('unknown disk format %r; use one of %s' % (disk['format'], ', '.join(DISK_FORMATS)))
    if device == 'cdrom':
        disk.pop('cache', None)
    else:
        disk['cache'] = disk.get('cache') or 'none'
    return dict((k, disk.get(k)) for k in DISK_KEYS)


def _check_source(disk, device):
    """A disk's source as the host will open it: an absolute, normalized path (a relative one would be
    resolved against the hypervisor's working directory), or a pool and a volume in it."""
    path, pool, volume = disk.get('path'), disk.get('pool'), disk.get('volume')
    if bool(path) == bool(pool or volume) or not (path or (pool and volume)):
        raise VirtualIronError('each disk needs a path, or a pool and a volume (not both)')
    if path:
        check_absolute_path(path, '%s path' % device)
    else:
        check_object_name(pool, 'storage pool')
        check_file_name(volume, 'volume')


def _check_nic(nic, hypervisor):
    nic = dict(nic)
    if bool(nic.get('switch')) == bool(nic.get('bridge')):
        raise VirtualIronError('each NIC is attached to exactly one of switch or bridge, got %r' % (nic,))
    if nic.get('switch'):
        check_object_name(nic['switch'], 'virtual switch')
    else:
        check_interface_name(nic['bridge'], 'bridge')
    if nic.get('model') and not MODEL_RE.fullmatch(nic['model']):
        raise VirtualIronError('invalid NIC model %r: use up to 32 letters, digits, "_" or "-"' % (nic['model'],))
    nic['mac'] = _check_mac(nic['mac']) if nic.get('mac') else None
    nic['model'] = nic.get('model') or (None if hypervisor == 'xen' else 'virtio')
    return nic


def _check_mac(mac):
    mac = mac.lower()
    if not MAC_RE.fullmatch(mac):
        raise VirtualIronError('invalid MAC address %r: write six hex pairs like 52:54:00:12:34:56' % mac)
    if int(mac[:2], 16) & 1:
        raise VirtualIronError('MAC address %s is a multicast address; a NIC needs a unicast one (first byte even)'
                               % mac)
    return mac


def desired_server(request, current, hypervisor):
    """Merge a request (options the user set; None = not set) over the current spec or creation defaults.

    hypervisor is the resolved domain type for a new server (ignored when current exists and the
    request does not name one). Returns a complete spec, or raises VirtualIronError on bad input.
    """
    check_object_name(request['name'], 'virtual server')
    base = current or {
        'name': request['name'], 'uuid': None, 'hypervisor': hypervisor, 'arch': None, 'machine': None,
        'vcpus': 1, 'max_vcpus': None, 'memory': 512 * 1024 ** 2, 'max_memory': None, 'boot': ['disk'],
        'disks': [], 'nics': [], 'console': {'type': 'vnc', 'listen': '127.0.0.1', 'password': None, 'port': None},
        'description': '', 'tags': {}, 'capacity_policy': {}, 'recovery': {},
    }
    spec = copy.deepcopy(base)
    if request.get('hypervisor') not in (None, 'auto'):
        spec['hypervisor'] = request['hypervisor']
    for key in ('vcpus', 'max_vcpus', 'memory', 'max_memory', 'boot'):
        if request.get(key) is not None:
            spec[key] = request[key]
    _merge_labels(spec, request)
    _merge_sizes(spec, request, current)
    _merge_console(spec, request, current)
    _merge_disks(spec, request)
    if request.get('nics') is not None:
        if len(request['nics']) > MAX_NICS:
            raise VirtualIronError('a virtual server has 0 to %d NICs, got %d' % (MAX_NICS, len(request['nics'])))
        spec['nics'] = [_check_nic(n, spec['hypervisor']) for n in request['nics']]
    _keep_device_identity(spec, current)
    unknown = [b for b in spec['boot'] if b not in BOOT_DEVICES]
    if unknown:
        raise VirtualIronError('unknown boot device %s; use disk, network or cdrom' % ', '.join(map(repr, unknown)))
    return spec


def _merge_labels(spec, request):
    """description and tags: free text, but only what XML can hold; tag names on one line. The capacity policy:
    only the directions it names, so that its tags', groups' and host's policies decide the others."""
    if request.get('description') is not None:
        spec['description'] = check_free_text(request['description'], 'description')
    if request.get('tags') is not None:
        spec['tags'] = dict((_tag_name(k), check_free_text(str(v), 'tag %s' % k)) for k, v in request['tags'].items())
    if request.get('capacity_policy') is not None:
        spec['capacity_policy'] = given_policy(request['capacity_policy'], 'capacity_policy')
        if len(spec['capacity_policy']) == len(DIRECTIONS):  # what it leaves out is other levels' to say
            check_policy(spec['capacity_policy'], 'capacity_policy')
    if request.get('recovery') is not None:
        spec['recovery'] = _recovery_policy(request['recovery'])


def _recovery_policy(recovery):
    """recovery: {} (none) or protected, priority and the store (a storage pool every host sees); a protected
    server needs a store, where its definition outlives its host."""
    if not recovery:
        return {}
    unknown = sorted(set(recovery) - set(('protected', 'priority', 'store')))
    if unknown:
        raise VirtualIronError('recovery: unknown key %s; use protected, priority and store' % ', '.join(unknown))
    policy = {'protected': recovery.get('protected', True), 'priority': recovery.get('priority', 0),
              'store': recovery.get('store')}
    if not isinstance(policy['protected'], bool):
        raise VirtualIronError('recovery.protected must be true or false, got %r' % (policy['protected'],))
    if isinstance(policy['priority'], bool) or not isinstance(policy['priority'], int) \
            or not MIN_PRIORITY <= policy['priority'] <= MAX_PRIORITY:
        raise VirtualIronError('recovery.priority must be a whole number from %d to %d (higher restarts first), got %r'
                               % (MIN_PRIORITY, MAX_PRIORITY, policy['priority']))
    if policy['store'] is None and policy['protected']:
        raise VirtualIronError('recovery.store is needed for a protected server: the storage pool, seen by every '
                               'host, that keeps its definition while its host is down')
    if policy['store'] is not None:
        check_object_name(policy['store'], 'storage pool')
    return policy


def _tag_name(name):
    if not str(name):
        raise VirtualIronError('a tag needs a name')
    return check_free_text(str(name), 'tag name', multiline=False)


def _merge_sizes(spec, request, current):
    """vCPUs and memory: maxima grow with the current values unless the user set them."""
    if spec['vcpus'] < 1:
        raise VirtualIronError('vcpus must be at least 1, got %d' % spec['vcpus'])
    if request.get('max_vcpus') is None and (spec['max_vcpus'] or 0) < spec['vcpus']:
        spec['max_vcpus'] = spec['vcpus']
    if spec['max_vcpus'] < spec['vcpus']:
        raise VirtualIronError('vcpus (%d) cannot exceed max_vcpus (%d)' % (spec['vcpus'], spec['max_vcpus']))
    if spec['max_vcpus'] > LIBVIRT_MAX_VCPUS:
        raise VirtualIronError('a virtual server has at most %d vCPUs (libvirt\'s limit), got %d'
                               % (LIBVIRT_MAX_VCPUS, spec['max_vcpus']))
    for key in ('memory', 'max_memory'):  # libvirt keeps memory in KiB
        if spec[key] is not None:
            spec[key] -= spec[key] % 1024
    if request.get('max_memory') is None and (spec['max_memory'] or 0) < spec['memory']:
        spec['max_memory'] = spec['memory']
    if spec['memory'] < 1024 ** 2:
        raise VirtualIronError('memory must be at least 1MiB')
    if spec['max_memory'] < spec['memory']:
        raise VirtualIronError('memory (%s) cannot exceed max_memory (%s)'
                               % (format_size(spec['memory']), format_size(spec['max_memory'])))


def _merge_console(spec, request, current):
    console = spec['console']
    if request.get('console') is not None:
        console['type'] = request['console']
    if request.get('console_listen') is not None:
        console['listen'] = str(check_ip_address(request['console_listen'], 'console_listen', unicast=False))
    if request.get('console_password') is not None:
        console['password'] = check_free_text(request['console_password'], 'console_password', multiline=False) or None
    if console['type'] == 'none':
        spec['console'] = {'type': 'none', 'listen': None, 'password': None, 'port': None}
        return
    if console['type'] == 'vnc' and len(console['password'] or '') > 8:
        raise VirtualIronError('a VNC console password has at most 8 characters (a limit of the VNC protocol); '
                               'use SPICE for a longer one')
    console['listen'] = console.get('listen') or '127.0.0.1'
    if _open_to_network(console) and not request.get('console_insecure') and (
            current is None or console_settings(current['console']) != console_settings(console)):
        raise VirtualIronError(
            'the console would listen on %s without a password: whoever reaches that address gets the server\'s '
            'screen and keyboard. Set console_password, or keep console_listen on 127.0.0.1 (reach it through an '
            'SSH tunnel), or set console_insecure: true' % console['listen'])


def _open_to_network(console):
    """A console without a password on an address other than loopback (a host name counts as one)."""
    if console['password']:
        return False
    try:
        return not ipaddress.ip_address(console['listen']).is_loopback
    except ValueError:
        return True


def console_settings(console):
    """What defines a console (its port is libvirt's choice while it runs)."""
    return tuple(console[k] for k in ('type', 'listen', 'password'))


def _merge_disks(spec, request):
    """`disks` replaces the disk list; `cdrom` replaces only the CD drives, keeping the other disks."""
    if request.get('disks') is not None:
        spec['disks'] = [_check_disk(d, spec['hypervisor']) for d in request['disks']]
    if request.get('cdrom') is not None:
        spec['disks'] = [d for d in spec['disks'] if d['device'] != 'cdrom']
        if request['cdrom']:
            spec['disks'].append(_check_disk({'path': request['cdrom'], 'device': 'cdrom'}, spec['hypervisor']))


# ---------------------------------------------------------------- pairing devices

def _keep_device_identity(spec, current):
    """A device the user did not re-describe keeps what libvirt gave it: a disk its guest device name
    (target) while its bus is the same, a NIC its generated MAC."""
    if current is None:
        return
    for have, want in pair_disks(current['disks'], spec['disks']):
        if have is not None and want is not None and have['bus'] == want['bus']:
            want['target'] = have['target']
    for have, want in pair_nics(current['nics'], spec['nics']):
        if have is not None and want is not None and not want['mac']:
            want['mac'] = have['mac']


def disk_key(disk):
    """What makes two disk entries the same disk: its source, or for a CD drive its target."""
    if disk.get('pool'):
        return ('volume', disk['pool'], disk['volume'])
    return ('path', disk.get('path'))


def pair_disks(current, desired):
    """[(current or None, desired or None)]: disks pair by source; CD drives pair in order, since
    changing the ISO in a drive is a media change, not a new drive."""
    pairs, left = [], list(current)
    cdroms = [d for d in left if d['device'] == 'cdrom']
    for want in desired:
        if want['device'] == 'cdrom':
            have = cdroms.pop(0) if cdroms else None
        else:
            have = next((d for d in left if d['device'] != 'cdrom' and disk_key(d) == disk_key(want)), None)
        if have is not None:
            left.remove(have)
        pairs.append((have, want))
    return pairs + [(d, None) for d in left]


def pair_nics(current, desired):
    """NICs with a MAC the user named pair by MAC; the others pair in order."""
    pairs, left = [None] * len(desired), list(current)
    for i, want in enumerate(desired):
        have = next((n for n in left if want['mac'] and n['mac'] == want['mac']), None)
        if have is not None:
            left.remove(have)
            pairs[i] = (have, want)
    for i, want in enumerate(desired):
        if pairs[i] is None:
            have = next((n for n in left if not want['mac'] or n['mac'] == want['mac']), None)
            if have is not None:
                left.remove(have)
            pairs[i] = (have, want)
    return pairs + [(n, None) for n in left]


def disk_matches(have, want):
    keys = ('path', 'pool', 'volume', 'device', 'format', 'bus', 'cache', 'slice')
    return all(have.get(k) == want.get(k) for k in keys)


def nic_matches(have, want):
    return (have['switch'], have['bridge'], have['model']) == (want['switch'], want['bridge'], want['model']) \
        and (not want['mac'] or have['mac'] == want['mac'])


# ---------------------------------------------------------------- writing XML

def disk_element(disk, target):
    block = str(disk.get('path') or '').startswith('/dev/')
    kind = 'volume' if disk.get('pool') else ('block' if block else 'file')
    element = etree.Element('disk', type=kind, device=disk['device'])
    fmt = 'raw' if disk.get('slice') else DISK_FORMATS[disk['format']]
    sub_element(element, 'driver', name='qemu', type=fmt, cache=disk.get('cache'))
    if kind == 'volume':
        source = sub_element(element, 'source', pool=disk['pool'], volume=disk['volume'])
    else:
        source = sub_element(element, 'source', **{'dev' if block else 'file': disk['path']})
    if disk.get('slice'):
        sub_element(sub_element(source, 'slices'), 'slice', type='storage', offset=0, size=disk['slice'])
    sub_element(element, 'target', dev=target, bus=disk['bus'])
    if disk['device'] == 'cdrom':
        sub_element(element, 'readonly')
    return element


def nic_element(nic):
    kind = 'network' if nic['switch'] else 'bridge'
    element = etree.Element('interface', type=kind)
    if nic['mac']:
        sub_element(element, 'mac', address=nic['mac'])
    sub_element(element, 'source', **{kind: nic['switch'] or nic['bridge']})
    if nic['model']:
        sub_element(element, 'model', type=nic['model'])
    return element


def _graphics_element(console):
    element = etree.Element('graphics', type=console['type'], autoport='yes', listen=console['listen'])
    if console.get('password'):
        element.set('passwd', console['password'])
    sub_element(element, 'listen', type='address', address=console['listen'])
    return element


def _free_target(bus, used):
    prefix = TARGET_PREFIX[bus]
    for i in range(26 * 27):
        name = prefix + ('' if i < 26 else chr(ord('a') + i // 26 - 1)) + chr(ord('a') + i % 26)
        if name not in used:
            used.add(name)
            return name
    raise VirtualIronError('no free disk name left on bus %s' % bus)


def _set_text(root, tag, text, before=None):
    element = root.find(tag)
    if element is None:
        element = etree.Element(tag)
        anchor = root.find(before) if before else None
        if anchor is not None:
            anchor.addprevious(element)
        else:
            root.append(element)
    element.text = str(text)
    return element


def _apply_scalars(root, spec):
    root.set('type', spec['hypervisor'])
    if spec['description']:
        _set_text(root, 'description', spec['description'], before='memory')
    elif root.find('description') is not None:
        root.remove(root.find('description'))
    _apply_metadata(root, spec)
    _set_text(root, 'memory', spec['max_memory'] // 1024).set('unit', 'KiB')
    _set_text(root, 'currentMemory', spec['memory'] // 1024).set('unit', 'KiB')
    vcpu = _set_text(root, 'vcpu', spec['max_vcpus'])
    vcpu.set('placement', vcpu.get('placement', 'static'))
    vcpu.set('current', str(spec['vcpus']))
    os = root.find('os')
    for boot in os.findall('boot'):
        os.remove(boot)
    for device in spec['boot']:
        sub_element(os, 'boot', dev=BOOT_DEVICES[device])


def _apply_metadata(root, spec):
    metadata = root.find('metadata')
    old = metadata.find('{%s}server' % METADATA_NS) if metadata is not None else None
    if old is not None:
        metadata.remove(old)
    element = metadata_element(spec)
    if element is None:
        if metadata is not None and len(metadata) == 0:
            root.remove(metadata)
        return
    if metadata is None:
        metadata = etree.Element('metadata')
        root.find('memory').addprevious(metadata)
    metadata.append(element)


def metadata_element(spec, qualified=True):
    """The collection's metadata element (tags, capacity and recovery policies), or None when there is nothing to keep.
    libvirt's setMetadata wants it unqualified (it adds the namespace itself); in a domain definition it is
    qualified. Children stay unqualified in both."""
    tags, policy, recovery = spec['tags'], spec.get('capacity_policy') or {}, spec.get('recovery') or {}
    if not tags and not policy and not recovery:
        return None
    server = etree.Element('{%s}server' % METADATA_NS if qualified else 'server',
                           nsmap={METADATA_PREFIX: METADATA_NS} if qualified else None)
    for name in sorted(tags):
        sub_element(server, 'tag', tags[name], name=name)
    for direction in sorted(policy):
        fields = policy[direction] or {'enabled': 'no'}
        sub_element(server, 'capacity', direction=direction, **fields)
    if recovery:
        attributes = {'protected': 'yes' if recovery['protected'] else 'no', 'priority': str(recovery['priority'])}
        if recovery['store']:
            attributes['store'] = recovery['store']
        sub_element(server, 'recovery', **attributes)
    return server


def _apply_disks(devices, spec):
    elements = devices.findall('disk')
    current = [parse_disk(e) for e in elements]
    used = set(d['target'] for d in current if d['target'])
    anchor = elements[-1] if elements else None
    for have, want in pair_disks(current, spec['disks']):
        element = elements[current.index(have)] if have is not None else None
        if want is None:
            used.discard(have['target'])
            devices.remove(element)
            continue
        if have is not None and disk_matches(have, want):
            anchor = element
            continue
        target = have['target'] if have is not None and have['bus'] == want['bus'] else None
        if have is not None and target is None:
            used.discard(have['target'])
        new = disk_element(want, target or _free_target(want['bus'], used))
        anchor = _put_device(devices, new, element, anchor, keep_address=bool(target))


def _put_device(devices, new, old, anchor, keep_address):
    """Put a device element in place of the old one (keeping its PCI or drive address, so the guest sees
    the same device where it was), or after anchor, or first. Returns it, the next anchor."""
    if old is not None:
        address = old.find('address') if keep_address else None
        if address is not None:
            new.append(address)
        old.addprevious(new)
        devices.remove(old)
    elif anchor is not None:
        anchor.addnext(new)
    else:
        devices.insert(0, new)
    return new


def _ensure_scsi_controller(devices, spec):
    """SCSI disks and LUN pass-through go on virtio-scsi; libvirt's own default is an emulated LSI."""
    if any(d['bus'] == 'scsi' for d in spec['disks']) and devices.find("controller[@type='scsi']") is None:
        sub_element(devices, 'controller', type='scsi', model='virtio-scsi')


def _apply_nics(devices, spec):
    elements = devices.findall('interface')
    current = [parse_nic(e) for e in elements]
    anchor = elements[-1] if elements else (devices.findall('disk') or [None])[-1]
    for have, want in pair_nics(current, spec['nics']):
        element = elements[current.index(have)] if have is not None else None
        if want is None:
            devices.remove(element)
            continue
        if have is not None and nic_matches(have, want):
            anchor = element
            continue
        new = nic_element(dict(want, mac=want['mac'] or (have or {}).get('mac')))
        same_model = have is not None and have['model'] == want['model']
        anchor = _put_device(devices, new, element, anchor, keep_address=same_model)


def _apply_console(devices, console):
    if console_settings(parse_console(devices)) == console_settings(console):
        return
    for old in devices.findall('graphics'):
        devices.remove(old)
    if console['type'] != 'none':
        devices.append(_graphics_element(console))


def update_server_xml(xml, spec):
    """Return domain XML that is `xml` changed to match `spec`, keeping everything libvirt added."""
    root = parse_xml(xml)
    _apply_scalars(root, spec)
    devices = root.find('devices')
    _apply_disks(devices, spec)
    _ensure_scsi_controller(devices, spec)
    _apply_nics(devices, spec)
    _apply_console(devices, spec['console'])
    return to_string(root)


def build_server_xml(spec, arch):
    """Domain XML for a new virtual server (update_server_xml fills in the spec's values)."""
    root = etree.Element('domain', type=spec['hypervisor'])
    sub_element(root, 'name', spec['name'])
    for tag in ('memory', 'currentMemory', 'vcpu'):
        sub_element(root, tag, 0)
    sub_element(sub_element(root, 'os'), 'type', 'hvm', arch=arch)
    features = sub_element(root, 'features')
    sub_element(features, 'acpi')
    sub_element(features, 'apic')
    for event, action in (('on_poweroff', 'destroy'), ('on_reboot', 'restart'), ('on_crash', 'destroy')):
        sub_element(root, event, action)
    devices = sub_element(root, 'devices')
    # A serial console gives every server a text console (virsh console), with or without graphics.
    sub_element(devices, 'serial', type='pty')
    sub_element(sub_element(devices, 'console', type='pty'), 'target', type='serial')
    return update_server_xml(to_string(root), spec)


def comparable(spec):
    """The parts of a spec that define the server: what idempotence and reboot_required compare."""
    view = copy.deepcopy(spec)
    for key in ('uuid', 'arch', 'machine'):
        view.pop(key, None)
    view['console'].pop('port', None)
    # libvirt keeps disks sorted by bus and name, whatever order they were listed in.
    view['disks'].sort(key=lambda d: tuple(str(d[k]) for k in DISK_KEYS))
    return view
