# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""server_xml writing XML: build_server_xml for new servers, update_server_xml on libvirt's own XML."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

import pytest
from lxml import etree

from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.common.libvirt_xml import to_string
from ansible_collections.virtualiron.infra.plugins.module_utils.server.definition import (
    build_server_xml, comparable, desired_server, update_server_xml)
from ansible_collections.virtualiron.infra.plugins.module_utils.server.domain_xml import METADATA_NS, parse_server, user_view
from ansible_collections.virtualiron.infra.plugins.module_utils.server.converger import server_request

IMAGES = '/var/lib/libvirt/images/'
ISO = IMAGES + 'debian-12.iso'
SYSTEM = {'path': IMAGES + 'web1.qcow2', 'format': 'qcow2'}
CD = {'path': ISO, 'device': 'cdrom'}
FRONTEND_MAC, BR0_MAC = '52:54:00:6b:3c:58', '52:54:00:aa:bb:cc'


@pytest.fixture
def spec_for(params):
    """Module options -> the spec the converger wants: through the argument spec and server_request."""
    def build(current=None, resolved='kvm', **options):
        request = server_request(params(name='web1', **options))
        return desired_server(dict(request, hypervisor=resolved), current, resolved)
    return build


@pytest.fixture
def updated(domain_xml, current, spec_for):
    """Module options -> the fixture domain's XML updated to them, as an element tree."""
    def update(**options):
        return tree(update_server_xml(domain_xml, spec_for(current, resolved=None, **options)))
    return update


def tree(xml):
    """XML text -> its root element, without the blanks of pretty printing."""
    return etree.fromstring(xml.encode(), etree.XMLParser(remove_blank_text=True))


def disk_rows(root):
    return [(d.get('type'), d.get('device'), dict(d.find('source').attrib), d.find('driver').get('type'),
             d.find('target').get('dev'), d.find('target').get('bus'), d.find('readonly') is not None)
            for d in root.findall('devices/disk')]


def nic_rows(root):
    return [(i.get('type'), dict(i.find('source').attrib), i.find('model').get('type') if i.find('model') is not None
             else None, i.find('mac').get('address') if i.find('mac') is not None else None)
            for i in root.findall('devices/interface')]


def address(element):
    found = element.find('address')
    return dict(found.attrib) if found is not None else None


def device(root, xpath):
    found = root.xpath(xpath)
    assert len(found) == 1, xpath
    return found[0]


def pci_bus(root, xpath):
    """The PCI bus of the one device at xpath, or None when it has no address."""
    found = address(device(root, xpath))
    return found and found['bus']


# ---------------------------------------------------------------- new servers

@pytest.fixture
def built(spec_for):
    spec = spec_for(vcpus=2, max_vcpus=4, memory='1GiB', max_memory='2GiB', boot=['cdrom', 'disk'],
                    disks=[{'path': IMAGES + 'web1.vhd', 'format': 'vhd'},
                           {'path': '/dev/vg0/web1-data'},
                           {'path': '/dev/disk/by-id/wwn-0x5000c500a1b2c3d4', 'device': 'lun'},
                           {'pool': 'images', 'volume': 'web1-logs.qcow2', 'format': 'qcow2'}],
                    cdrom=ISO,
                    nics=[{'switch': 'frontend'}, {'bridge': 'br0', 'model': 'e1000', 'mac': '52:54:00:12:34:56'}],
                    console_password='pw', description='shop front end', tags={'role': 'web', 'owner': 'shop'})
    return tree(build_server_xml(spec, 'x86_64'))


def test_build_scalars(built):
    assert (built.tag, built.get('type'), built.findtext('name')) == ('domain', 'kvm', 'web1')
    assert built.findtext('description') == 'shop front end'
    memory, current = built.find('memory'), built.find('currentMemory')
    assert (memory.text, memory.get('unit'), current.text, current.get('unit')) == ('2097152', 'KiB', '1048576', 'KiB')
    assert (built.findtext('vcpu'), built.find('vcpu').get('current')) == ('4', '2')
    assert (built.findtext('os/type'), built.find('os/type').get('arch')) == ('hvm', 'x86_64')
    assert [b.get('dev') for b in built.findall('os/boot')] == ['cdrom', 'hd']


def test_build_disks(built):
    assert disk_rows(built) == [
        ('file', 'disk', {'file': IMAGES + 'web1.vhd'}, 'vpc', 'vda', 'virtio', False),
        ('block', 'disk', {'dev': '/dev/vg0/web1-data'}, 'raw', 'vdb', 'virtio', False),
        ('block', 'lun', {'dev': '/dev/disk/by-id/wwn-0x5000c500a1b2c3d4'}, 'raw', 'sda', 'scsi', False),
        ('volume', 'disk', {'pool': 'images', 'volume': 'web1-logs.qcow2'}, 'qcow2', 'vdc', 'virtio', False),
        ('file', 'cdrom', {'file': ISO}, 'raw', 'sdb', 'sata', True),
    ]
    assert [d.find('driver').get('cache') for d in built.findall('devices/disk')] == ['none'] * 4 + [None]
    assert [dict(c.attrib) for c in built.findall('devices/controller')] == [{'type': 'scsi', 'model': 'virtio-scsi'}]


def test_build_nics(built):
    assert nic_rows(built) == [('network', {'network': 'frontend'}, 'virtio', None),   # libvirt generates the MAC
                               ('bridge', {'bridge': 'br0'}, 'e1000', '52:54:00:12:34:56')]


def test_build_console_and_serial(built):
    graphics = built.findall('devices/graphics')
    assert len(graphics) == 1
    assert (graphics[0].get('type'), graphics[0].get('listen'), graphics[0].get('passwd')) == ('vnc', '127.0.0.1', 'pw')
    assert [dict(listen.attrib) for listen in graphics[0]] == [{'type': 'address', 'address': '127.0.0.1'}]
    assert built.find('devices/serial').get('type') == 'pty'
    assert built.find('devices/console/target').get('type') == 'serial'


def test_build_tags(built):
    server = built.find('metadata/{%s}server' % METADATA_NS)
    assert server.prefix == 'virtualiron'
    assert [(t.tag, t.get('name'), t.text) for t in server] == [('tag', 'owner', 'shop'), ('tag', 'role', 'web')]


def test_build_bare_server(spec_for):
    root = tree(build_server_xml(spec_for(console='none'), None))
    for path in ('description', 'metadata', 'devices/disk', 'devices/interface', 'devices/graphics',
                 'devices/controller'):
        assert root.find(path) is None, path
    assert root.find('os/type').get('arch') is None
    assert [b.get('dev') for b in root.findall('os/boot')] == ['hd']
    assert (root.findtext('memory'), root.findtext('currentMemory'), root.findtext('vcpu')) == ('524288', '524288', '1')


def test_build_xen(spec_for):
    spec = spec_for(resolved='xen', disks=[SYSTEM], nics=[{'bridge': 'xenbr0'}])
    root = tree(build_server_xml(spec, 'x86_64'))
    assert root.get('type') == 'xen'
    assert disk_rows(root) == [('file', 'disk', {'file': SYSTEM['path']}, 'qcow2', 'xvda', 'xen', False)]
    assert nic_rows(root) == [('bridge', {'bridge': 'xenbr0'}, None, None)]


ROUND_TRIPS = [
    {},
    {'vcpus': 3, 'max_vcpus': 6, 'memory': '3GiB', 'max_memory': '6GiB', 'boot': ['network', 'cdrom', 'disk']},
    {'memory': '1GB'},  # decimal: not a whole number of KiB
    {'memory': '1.1GiB'},
    {'disks': [SYSTEM, {'path': '/dev/sdb', 'device': 'lun'}, {'path': '/dev/vg0/x', 'bus': 'sata'}], 'cdrom': ISO},
    {'disks': [{'pool': 'default', 'volume': 'a.img', 'cache': 'writeback'}]},
    {'nics': [{'switch': 'a'}, {'bridge': 'br0', 'model': 'e1000', 'mac': '52:54:00:AB:CD:EF'}]},
    {'console': 'spice', 'console_listen': '0.0.0.0', 'console_password': 'pw'},
    {'console': 'none'},
    {'description': 'x & <y>', 'tags': {'a': '1', 'b': ''}},
]


@pytest.mark.parametrize('options', ROUND_TRIPS)
def test_build_round_trip(spec_for, options):
    spec = spec_for(**options)
    parsed = parse_server(build_server_xml(spec, 'x86_64'))
    # targets are chosen when the XML is written; everything else comes back as it was asked for
    assert comparable(dict(parsed, disks=[dict(d, target=None) for d in parsed['disks']])) == comparable(spec)
    # and asking again for the same changes nothing
    assert comparable(spec_for(parsed, resolved=None, **options)) == comparable(parsed)


# ---------------------------------------------------------------- updating libvirt's XML

KEPT = ('uuid', 'cpu', 'clock', 'features', 'on_crash', 'devices/emulator', 'devices/memballoon',
        "devices/controller[@type='sata']", 'devices/serial', 'devices/console', 'devices/video')


def test_update_without_changes_keeps_the_xml(domain_xml, current):
    assert etree.tostring(tree(update_server_xml(domain_xml, current))) == etree.tostring(tree(domain_xml))


def test_update_keeps_what_libvirt_added(domain_xml, updated):
    original = tree(domain_xml)
    root = updated(vcpus=4, memory='4GiB', boot=['network'], disks=[SYSTEM], nics=[{'switch': 'backend'}],
                   console='spice', description='', tags={}, capacity_policy={})
    for path in KEPT:
        assert etree.tostring(root.find(path)) == etree.tostring(original.find(path)), path
    assert root.findtext('uuid') == '4dea22b3-1d52-d8f3-2516-782e98ab3fa0'
    assert root.find('metadata/{http://libosinfo.org/xmlns/libvirt/domain/1.0}libosinfo') is not None
    assert root.find('metadata/{%s}server' % METADATA_NS) is None
    assert root.find('description') is None


def test_update_scalars(updated):
    root = updated(vcpus=6, memory='4GiB', boot=['cdrom', 'disk'], description='new', tags={'role': 'db'})
    assert (root.findtext('vcpu'), root.find('vcpu').get('current'), root.find('vcpu').get('placement')) == \
        ('8', '6', 'static')
    assert (root.findtext('memory'), root.findtext('currentMemory')) == ('8388608', '4194304')
    assert [b.get('dev') for b in root.findall('os/boot')] == ['cdrom', 'hd']
    assert root.findtext('description') == 'new'
    assert [(t.get('name'), t.text) for t in root.findall('metadata/{%s}server/tag' % METADATA_NS)] == [('role', 'db')]


def test_update_disks(updated):
    root = updated(disks=[SYSTEM, {'path': IMAGES + 'web1-new.raw'}, CD])
    assert disk_rows(root) == [
        ('file', 'disk', {'file': IMAGES + 'web1.qcow2'}, 'qcow2', 'vda', 'virtio', False),
        # vdb, of the dropped disk, is not reused: it still names that disk in the running server
        ('file', 'disk', {'file': IMAGES + 'web1-new.raw'}, 'raw', 'vdc', 'virtio', False),
        ('file', 'cdrom', {'file': ISO}, 'raw', 'sda', 'sata', True),
    ]
    assert pci_bus(root, "devices/disk[target/@dev='vda']") == '0x04'
    assert device(root, "devices/disk[target/@dev='vda']/alias").get('name') == 'ua-system'
    assert pci_bus(root, "devices/disk[target/@dev='vdc']") is None   # libvirt assigns one
    assert address(device(root, "devices/disk[target/@dev='sda']"))['type'] == 'drive'


def test_update_disk_bus_change_gets_a_new_target_and_address(updated):
    root = updated(disks=[dict(SYSTEM, bus='sata'), {'path': IMAGES + 'web1-data.raw'}, CD])
    assert [row[4:6] for row in disk_rows(root)] == [('sdb', 'sata'), ('vdb', 'virtio'), ('sda', 'sata')]
    assert address(device(root, "devices/disk[target/@dev='sdb']")) is None
    assert pci_bus(root, "devices/disk[target/@dev='vdb']") == '0x05'


def test_update_adds_one_scsi_controller(domain_xml, current, spec_for):
    spec = spec_for(current, resolved=None, disks=[SYSTEM, {'path': '/dev/sdc', 'device': 'lun'}])
    root = tree(update_server_xml(update_server_xml(domain_xml, spec), spec))
    assert [row[4:6] for row in disk_rows(root)] == [('vda', 'virtio'), ('sdb', 'scsi')]
    assert len(root.findall("devices/controller[@type='scsi']")) == 1


def test_update_cd_media_keeps_the_drive(updated):
    root = updated(cdrom=IMAGES + 'rescue.iso')
    cd = device(root, "devices/disk[@device='cdrom']")
    assert disk_rows(root)[2] == ('file', 'cdrom', {'file': IMAGES + 'rescue.iso'}, 'raw', 'sda', 'sata', True)
    assert address(cd) == {'type': 'drive', 'controller': '0', 'bus': '0', 'target': '0', 'unit': '0'}
    assert [row[4] for row in disk_rows(root)] == ['vda', 'vdb', 'sda']


def test_update_nic_switch_keeps_mac_and_address(updated):
    root = updated(nics=[{'switch': 'backend'}, {'bridge': 'br0'}])
    assert nic_rows(root) == [('network', {'network': 'backend'}, 'virtio', FRONTEND_MAC),
                              ('bridge', {'bridge': 'br0'}, 'virtio', '52:54:00:AA:BB:CC')]   # untouched
    assert [pci_bus(root, 'devices/interface[%d]' % i) for i in (1, 2)] == ['0x01', '0x02']


def test_update_nic_by_mac_from_switch_to_bridge(updated):
    root = updated(nics=[{'bridge': 'br1', 'mac': FRONTEND_MAC.upper()}])
    assert nic_rows(root) == [('bridge', {'bridge': 'br1'}, 'virtio', FRONTEND_MAC)]
    assert pci_bus(root, 'devices/interface') == '0x01'


def test_update_nic_model_keeps_mac_not_address(updated):
    root = updated(nics=[{'switch': 'frontend', 'model': 'e1000'}, {'bridge': 'br0'}])
    assert nic_rows(root)[0] == ('network', {'network': 'frontend'}, 'e1000', FRONTEND_MAC)
    assert address(root.find('devices/interface')) is None


def test_update_adds_and_removes_nics(updated):
    root = updated(nics=[{'bridge': 'br0'}, {'switch': 'dmz', 'mac': '52:54:00:00:00:01'}])
    # in order: the first NIC (frontend) becomes br0 keeping its MAC; the bridge NIC is removed
    assert nic_rows(root) == [('bridge', {'bridge': 'br0'}, 'virtio', FRONTEND_MAC),
                              ('network', {'network': 'dmz'}, 'virtio', '52:54:00:00:00:01')]
    assert updated(nics=[]).find('devices/interface') is None


@pytest.mark.parametrize('options, graphics', [
    ({'console': 'none'}, []),
    ({'console_password': ''}, [('vnc', '127.0.0.1', None)]),
    ({'console': 'spice', 'console_listen': '192.0.2.10'}, [('spice', '192.0.2.10', 's3cret')]),
])
def test_update_console(updated, options, graphics):
    root = updated(**options)
    assert [(g.get('type'), g.get('listen'), g.get('passwd')) for g in root.findall('devices/graphics')] == graphics
    assert [root.find(path) is not None for path in ('devices/serial', 'devices/console')] == [True, True]


UPDATES = [
    {},
    {'vcpus': 8, 'memory': '8GiB', 'boot': ['network', 'disk']},
    {'vcpus': 16, 'memory': '16GiB', 'hypervisor': 'qemu'},
    {'disks': [SYSTEM, {'path': IMAGES + 'web1-new.raw'}, CD]},
    {'disks': [{'path': '/dev/sdc', 'device': 'lun'}, dict(SYSTEM, bus='sata')]},
    {'cdrom': IMAGES + 'rescue.iso'},
    {'cdrom': ''},
    {'nics': [{'switch': 'backend'}, {'bridge': 'br0', 'model': 'e1000'}, {'switch': 'dmz'}]},
    {'nics': [{'bridge': 'br0', 'mac': BR0_MAC}]},
    {'console': 'none'},
    {'console': 'spice', 'console_password': ''},
    {'description': '', 'tags': {}},
    {'description': 'db', 'tags': {'role': 'db', 'tier': '2'}},
]


@pytest.mark.parametrize('options', UPDATES)
def test_update_is_idempotent(domain_xml, current, spec_for, options):
    resolved = options.pop('hypervisor', None)
    once = update_server_xml(domain_xml, spec_for(current, resolved=resolved, **options))
    parsed = parse_server(once)
    # what the converger checks next time: the updated server is what the options ask for...
    again = spec_for(parsed, resolved=resolved, **options)
    assert comparable(parsed) == comparable(again)
    # ...so nothing changes any more
    assert update_server_xml(once, again) == once


# ---------------------------------------------------------------- VHD disks

FIXED_VHD = IMAGES + 'fixed.vhd'


def with_slice(spec, size):
    """What the converger does for a fixed VHD: attach it as a raw slice of its virtual size."""
    for disk in spec['disks']:
        if disk['path'] == FIXED_VHD:
            disk['slice'] = size
    return spec


def test_fixed_vhd_is_a_raw_slice_from_offset_0(spec_for):
    spec = with_slice(spec_for(disks=[{'path': FIXED_VHD, 'format': 'vhd'}]), 10 * 1024 ** 3)
    disk = device(tree(build_server_xml(spec, 'x86_64')), 'devices/disk')
    assert disk.find('driver').get('type') == 'raw'
    assert disk.find('source').get('file') == FIXED_VHD
    assert [dict(s.attrib) for s in disk.findall('source/slices/slice')] == \
        [{'type': 'storage', 'offset': '0', 'size': str(10 * 1024 ** 3)}]


def test_dynamic_vhd_uses_the_vpc_driver_without_slice(spec_for):
    disk = device(tree(build_server_xml(spec_for(disks=[{'path': IMAGES + 'd.vhd', 'format': 'vhd'}]), 'x86_64')),
                  'devices/disk')
    assert disk.find('driver').get('type') == 'vpc'
    assert disk.find('source/slices') is None


def test_vhd_disks_read_back_with_their_slice_and_say_if_they_live_migrate(spec_for):
    spec = with_slice(spec_for(disks=[{'path': FIXED_VHD, 'format': 'vhd'},
                                      {'path': IMAGES + 'd.vhd', 'format': 'vhd'}, SYSTEM]), 4096 * 512)
    parsed = parse_server(build_server_xml(spec, 'x86_64'))
    assert [(d['format'], d['slice']) for d in parsed['disks']] == [('vhd', 4096 * 512), ('vhd', None), ('qcow2', None)]
    assert [d['live_migratable'] for d in user_view(parsed)['disks']] == [True, False, True]
    assert comparable(dict(parsed, disks=[dict(d, target=None) for d in parsed['disks']])) == comparable(spec)


def test_a_grown_fixed_vhd_gets_a_larger_slice(spec_for):
    spec = with_slice(spec_for(disks=[{'path': FIXED_VHD, 'format': 'vhd'}]), 1024 ** 3)
    xml = build_server_xml(spec, 'x86_64')
    grown = with_slice(spec_for(parse_server(xml), resolved=None, disks=[{'path': FIXED_VHD, 'format': 'vhd'}]),
                       2 * 1024 ** 3)
    root = tree(update_server_xml(xml, grown))
    assert device(root, 'devices/disk/source/slices/slice').get('size') == str(2 * 1024 ** 3)
    assert device(root, 'devices/disk/target').get('dev') == 'vda'


def test_a_raw_slice_at_another_offset_stays_raw():
    xml = ("<domain type='kvm'><name>x</name><os><type>hvm</type></os><devices><disk type='file' device='disk'>"
           "<driver name='qemu' type='raw'/><source file='/x.img'><slices><slice type='storage' offset='512' "
           "size='1024'/></slices></source><target dev='vda' bus='virtio'/></disk></devices></domain>")
    assert parse_server(xml)['disks'][0]['format'] == 'raw'


def test_fixed_vhd_on_a_block_device_is_a_raw_slice_of_the_device(spec_for):
    spec = spec_for(disks=[{'path': '/dev/loop7', 'format': 'vhd'}])
    spec['disks'][0]['slice'] = 64 * 1024 ** 2
    root = tree(build_server_xml(spec, 'x86_64'))
    assert disk_rows(root) == [('block', 'disk', {'dev': '/dev/loop7'}, 'raw', 'vda', 'virtio', False)]
    assert device(root, 'devices/disk/source/slices/slice').get('size') == str(64 * 1024 ** 2)
    assert parse_server(to_string(root))['disks'][0]['slice'] == 64 * 1024 ** 2


@pytest.mark.parametrize('policy, elements, read_back', [
    # what a server says of its capacity policy is kept, and only that: the other direction is its tags' or host's
    ({'more': {'threshold': 75, 'minutes': 2.5}},
     [{'direction': 'more', 'metric': 'cpu_percent', 'threshold': '75.0', 'minutes': '2.5'}],
     {'more': {'metric': 'cpu_percent', 'threshold': 75.0, 'minutes': 2.5}}),
    ({'less': False, 'more': {'metric': 'memory_percent'}},
     [{'direction': 'less', 'enabled': 'no'},
      {'direction': 'more', 'metric': 'memory_percent', 'threshold': '90.0', 'minutes': '10.0'}],
     {'less': False, 'more': {'metric': 'memory_percent', 'threshold': 90.0, 'minutes': 10.0}}),
    ({'less': 'off'}, [{'direction': 'less', 'enabled': 'no'}], {'less': False}),
    ({}, [], {}),
])
def test_capacity_policy_kept_in_metadata(updated, policy, elements, read_back):
    root = updated(capacity_policy=policy)
    assert [dict(c.attrib) for c in root.findall('metadata/{%s}server/capacity' % METADATA_NS)] == elements
    assert parse_server(to_string(root))['capacity_policy'] == read_back
    # the tags stay as they were
    assert [t.get('name') for t in root.findall('metadata/{%s}server/tag' % METADATA_NS)] == ['owner', 'role']


@pytest.mark.parametrize('policy, message', [
    ({'more': {'threshold': '90'}}, 'capacity_policy, more: threshold must be a number'),
    ({'more': {'threshold': 120}}, 'threshold 120 is not a percentage'),
    ({'sideways': {}}, 'unknown key'),
    ({'less': {'threshold': 95}, 'more': {}}, 'the "less" threshold'),
])
def test_capacity_policy_refused(current, spec_for, policy, message):
    with pytest.raises(VirtualIronError, match=re.escape(message)):
        spec_for(current, capacity_policy=policy)
