# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""server_xml without writing XML: names, parsing, the desired spec, device pairing, views."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.server.definition import (
    build_server_xml, comparable, desired_server, pair_disks, pair_nics)
from ansible_collections.virtualiron.infra.plugins.module_utils.server.domain_xml import DISK_KEYS, parse_server, user_view

MiB, GiB = 1024 ** 2, 1024 ** 3
IMAGES = '/var/lib/libvirt/images/'


def nic(switch=None, bridge=None, model=None, mac=None):
    return {'switch': switch, 'bridge': bridge, 'model': model, 'mac': mac}


def disk(path, **options):
    """A disk as the module passes it (every suboption present) or as parse_server returns it."""
    return dict(dict.fromkeys(DISK_KEYS), path=path, **options)


def desired(current=None, resolved='kvm', **request):
    """desired_server for web1; resolved is the hypervisor type the converger resolved (None: keep)."""
    return desired_server(dict({'name': 'web1'}, **request), current, resolved)


# ---------------------------------------------------------------- names

@pytest.mark.parametrize('name', ['web1', 'a', '9lives', 'db-1.example_2+x', 'A' * 64, 'a.b'])
def test_names_accepted(name):
    assert desired(name=name)['name'] == name


@pytest.mark.parametrize('name', ['a/b', '..', 'a..b', '', None, 'a' * 65, '.hidden', '-x', 'web 1', 'wéb',
                                  'web1\n'])
def test_names_refused(name):
    with pytest.raises(VirtualIronError, match='invalid virtual server name'):
        desired(name=name)


# ---------------------------------------------------------------- parsing

def test_parse_server(current):
    assert current == {
        'name': 'web1', 'uuid': '4dea22b3-1d52-d8f3-2516-782e98ab3fa0', 'hypervisor': 'kvm',
        'arch': 'x86_64', 'machine': 'pc-q35-8.2',
        'vcpus': 2, 'max_vcpus': 8, 'memory': 2 * GiB, 'max_memory': 8 * GiB, 'boot': ['disk'],
        'disks': [
            disk(IMAGES + 'web1.qcow2', device='disk', format='qcow2', bus='virtio', cache='none', target='vda'),
            disk(IMAGES + 'web1-data.raw', device='disk', format='raw', bus='virtio', cache='none', target='vdb'),
            disk(IMAGES + 'debian-12.iso', device='cdrom', format='raw', bus='sata', target='sda'),
        ],
        'nics': [nic('frontend', model='virtio', mac='52:54:00:6b:3c:58'),
                 nic(bridge='br0', model='virtio', mac='52:54:00:aa:bb:cc')],  # MACs read in lower case
        'console': {'type': 'vnc', 'listen': '127.0.0.1', 'password': 's3cret', 'port': None},
        'description': 'shop front end',
        'tags': {'owner': 'shop', 'role': 'web'},
        'capacity_policy': {'more': {'threshold': 80.0, 'minutes': 5.0}, 'less': False}, 'recovery': {},
    }


def test_parse_minimal_domain():
    spec = parse_server("<domain type='qemu'><name>tiny</name><memory>1024</memory><os><type>hvm</type></os>"
                        "<devices><graphics type='spice' port='5901'/></devices></domain>")
    assert (spec['vcpus'], spec['max_vcpus'], spec['memory'], spec['max_memory']) == (1, 1, MiB, MiB)
    assert (spec['boot'], spec['disks'], spec['nics'], spec['tags'], spec['description']) == ([], [], [], {}, '')
    assert spec['console'] == {'type': 'spice', 'listen': None, 'password': None, 'port': 5901}


@pytest.mark.parametrize('unit, amount, expected', [
    ('KiB', 2048, 2 * MiB), ('k', 2048, 2 * MiB), ('MiB', 512, 512 * MiB), ('M', 512, 512 * MiB),
    ('GiB', 2, 2 * GiB), ('G', 2, 2 * GiB), ('bytes', 4 * MiB, 4 * MiB), ('b', 4 * MiB, 4 * MiB),
    # libvirt's other units (docs: formatdomain.html#memory-allocation)
    ('TiB', 1, 1024 * GiB), ('T', 1, 1024 * GiB),
    ('KB', 4000, 4 * 10 ** 6), ('MB', 2000, 2 * 10 ** 9), ('GB', 2, 2 * 10 ** 9), ('TB', 1, 10 ** 12),
])
def test_parse_memory_units(unit, amount, expected):
    spec = parse_server("<domain type='kvm'><name>a</name><memory unit='%s'>%d</memory></domain>" % (unit, amount))
    assert spec['max_memory'] == spec['memory'] == expected


# ---------------------------------------------------------------- desired spec

def test_new_server_defaults():
    assert desired() == {
        'name': 'web1', 'uuid': None, 'hypervisor': 'kvm', 'arch': None, 'machine': None,
        'vcpus': 1, 'max_vcpus': 1, 'memory': 512 * MiB, 'max_memory': 512 * MiB, 'boot': ['disk'],
        'disks': [], 'nics': [],
        'console': {'type': 'vnc', 'listen': '127.0.0.1', 'password': None, 'port': None},
        'description': '', 'tags': {}, 'capacity_policy': {}, 'recovery': {},
    }


def test_unset_options_keep_current_values(current):
    before = copy.deepcopy(current)
    assert desired(current, resolved=None, vcpus=3, description='new text') == dict(
        current, vcpus=3, description='new text')
    assert current == before  # not modified in place


def test_empty_request_on_existing_server_changes_nothing(current):
    assert desired(current, resolved=None) == current


@pytest.mark.parametrize('request_, maxima', [
    ({'vcpus': 4}, (4, 512 * MiB)),
    ({'vcpus': 4, 'max_vcpus': 16}, (16, 512 * MiB)),
    ({'memory': 2 * GiB}, (1, 2 * GiB)),
    ({'memory': 2 * GiB, 'max_memory': 4 * GiB}, (1, 4 * GiB)),
    ({'max_vcpus': 4, 'max_memory': GiB}, (4, GiB)),
])
def test_new_server_maxima(request_, maxima):
    spec = desired(**request_)
    assert (spec['max_vcpus'], spec['max_memory']) == maxima


@pytest.mark.parametrize('request_, sizes', [
    # (vcpus, max_vcpus, memory, max_memory); the fixture has 2 of 8 vCPUs and 2 of 8 GiB
    ({'vcpus': 12}, (12, 12, 2 * GiB, 8 * GiB)),        # a maximum grows with its value...
    ({'vcpus': 1}, (1, 8, 2 * GiB, 8 * GiB)),           # ...and never shrinks with it
    ({'memory': 16 * GiB}, (2, 8, 16 * GiB, 16 * GiB)),
    ({'memory': GiB}, (2, 8, GiB, 8 * GiB)),
    ({'max_vcpus': 4, 'max_memory': 4 * GiB}, (2, 4, 2 * GiB, 4 * GiB)),
])
def test_existing_server_maxima(current, request_, sizes):
    spec = desired(current, resolved=None, **request_)
    assert (spec['vcpus'], spec['max_vcpus'], spec['memory'], spec['max_memory']) == sizes


@pytest.mark.parametrize('request_, message', [
    ({'name': 'a/b'}, 'invalid virtual server name'),
    ({'vcpus': 0}, 'vcpus must be at least 1, got 0'),
    ({'vcpus': -2}, 'vcpus must be at least 1'),
    ({'vcpus': 4, 'max_vcpus': 2}, r'vcpus \(4\) cannot exceed max_vcpus \(2\)'),
    ({'memory': 2 * GiB, 'max_memory': GiB}, r'memory \(2GiB\) cannot exceed max_memory \(1GiB\)'),
    ({'max_memory': 256 * MiB}, r'memory \(512MiB\) cannot exceed max_memory \(256MiB\)'),
    ({'memory': MiB - 1}, 'memory must be at least 1MiB'),
    ({'nics': [nic('lan')] * 9}, 'a virtual server has 0 to 8 NICs, got 9'),
    ({'nics': [nic('lan', bridge='br0')]}, 'exactly one of switch or bridge'),
    ({'nics': [nic()]}, 'exactly one of switch or bridge'),
    ({'nics': [nic('lan', mac='52:54:00:12:34')]}, 'invalid MAC address'),
    ({'nics': [nic('lan', mac='52:54:00:12:34:zz')]}, 'invalid MAC address'),
    ({'nics': [nic('lan', mac='52-54-00-12-34-56')]}, 'invalid MAC address'),
    ({'nics': [nic('lan', mac='52:54:00:12:34:56\n')]}, 'invalid MAC address'),
    ({'boot': ['disk', 'floppy']}, "unknown boot device 'floppy'"),
    ({'disks': [disk(IMAGES + 'pass.img', device='lun')]}, 'its path must be under /dev'),
    ({'disks': [disk(None, pool='default', volume='v', device='lun')]}, 'its path must be under /dev'),
    ({'disks': [disk('/dev/sdb', device='lun', bus='virtio')]}, "a lun disk is passed through raw on bus scsi .*got bus 'virtio'"),
    ({'disks': [disk(IMAGES + 'a.vmdk', format='vmdk')]}, "unknown disk format 'vmdk'"),
    ({'disks': [disk(IMAGES + 'a.img', bus='usb')]}, "unknown disk bus 'usb'"),
    ({'disks': [disk(IMAGES + 'a.img', device='floppy')]}, "disk device must be disk, cdrom or lun, got 'floppy'"),
    ({'disks': [disk(None)]}, 'each disk needs a path, or a pool and a volume'),
    ({'disks': [disk(None, pool='default')]}, 'each disk needs a path, or a pool and a volume'),
])
def test_desired_refuses(request_, message):
    with pytest.raises(VirtualIronError, match=message):
        desired(**request_)


@pytest.mark.parametrize('request_, message', [
    ({'max_vcpus': 1}, r'vcpus \(2\) cannot exceed max_vcpus \(1\)'),
    ({'max_memory': GiB}, r'memory \(2GiB\) cannot exceed max_memory \(1GiB\)'),
])
def test_desired_refuses_maximum_below_current_value(current, request_, message):
    with pytest.raises(VirtualIronError, match=message):
        desired(current, resolved=None, **request_)


def test_tags_become_strings_and_replace_all(current):
    assert desired(current, resolved=None, tags={'tier': 1, 2: True})['tags'] == {'tier': '1', '2': 'True'}
    assert desired(current, resolved=None, tags={})['tags'] == {}


@pytest.mark.parametrize('wanted, expected', [(None, 'kvm'), ('auto', 'kvm'), ('qemu', 'qemu')])
def test_hypervisor_of_existing_server(current, wanted, expected):
    assert desired(current, resolved=None, hypervisor=wanted)['hypervisor'] == expected


@pytest.mark.parametrize('request_, console', [
    ({'console': 'none', 'console_password': 'x'}, {'type': 'none', 'listen': None, 'password': None, 'port': None}),
    ({'console': 'spice'}, {'type': 'spice', 'listen': '127.0.0.1', 'password': 's3cret', 'port': None}),
    ({'console_password': ''}, {'type': 'vnc', 'listen': '127.0.0.1', 'password': None, 'port': None}),
    ({'console_listen': '10.0.0.5', 'console_password': 'new'},
     {'type': 'vnc', 'listen': '10.0.0.5', 'password': 'new', 'port': None}),
])
def test_console(current, request_, console):
    assert desired(current, resolved=None, **request_)['console'] == console


def test_console_back_from_none_listens_on_localhost():
    without = desired(console='none')
    assert desired(without, resolved=None, console='vnc')['console'] == {
        'type': 'vnc', 'listen': '127.0.0.1', 'password': None, 'port': None}


# ---------------------------------------------------------------- disks in the desired spec

@pytest.mark.parametrize('hypervisor, given, bus, cache', [
    ('kvm', {}, 'virtio', 'none'),
    ('kvm', {'device': 'disk', 'bus': 'sata', 'cache': 'writeback'}, 'sata', 'writeback'),
    ('kvm', {'device': 'cdrom'}, 'sata', None),
    ('kvm', {'device': 'cdrom', 'cache': 'writeback'}, 'sata', None),   # a read-only drive has no cache mode
    ('xen', {}, 'xen', 'none'),
    ('xen', {'device': 'cdrom'}, 'sata', None),
])
def test_disk_defaults(hypervisor, given, bus, cache):
    spec = desired(resolved=hypervisor, disks=[disk(IMAGES + 'a.img', **given)])
    assert spec['disks'] == [disk(IMAGES + 'a.img', device=given.get('device', 'disk'), format='raw',
                                  bus=bus, cache=cache)]


def test_lun_defaults_to_scsi():
    assert desired(disks=[disk('/dev/mapper/mpatha', device='lun')])['disks'] == [
        disk('/dev/mapper/mpatha', device='lun', format='raw', bus='scsi', cache='none')]


def test_disk_from_a_pool():
    spec = desired(disks=[{'pool': 'images', 'volume': 'web1.qcow2', 'format': 'qcow2'}])
    assert spec['disks'] == [disk(None, pool='images', volume='web1.qcow2', device='disk', format='qcow2',
                                  bus='virtio', cache='none')]


def test_xen_nic_model_is_left_to_libvirt():
    assert desired(resolved='xen', nics=[nic(bridge='xenbr0')])['nics'] == [nic(bridge='xenbr0')]
    assert desired(nics=[nic(bridge='br0')])['nics'] == [nic(bridge='br0', model='virtio')]


def test_cdrom_replaces_only_the_cd_drive(current):
    spec = desired(current, resolved=None, cdrom=IMAGES + 'rescue.iso')
    assert spec['disks'] == current['disks'][:2] + [
        disk(IMAGES + 'rescue.iso', device='cdrom', format='raw', bus='sata', target='sda')]


def test_cdrom_empty_string_removes_the_drive(current):
    assert desired(current, resolved=None, cdrom='')['disks'] == current['disks'][:2]


def test_cdrom_on_a_new_server():
    assert desired(cdrom='/iso/debian.iso', disks=[disk(IMAGES + 'a.img')])['disks'] == [
        disk(IMAGES + 'a.img', device='disk', format='raw', bus='virtio', cache='none'),
        disk('/iso/debian.iso', device='cdrom', format='raw', bus='sata')]


def test_relisted_disks_keep_their_targets_while_on_the_same_bus(current):
    listed = [disk(IMAGES + 'web1-data.raw'), disk(IMAGES + 'web1.qcow2', format='qcow2', bus='sata'),
              disk(IMAGES + 'new.raw')]
    assert [d['target'] for d in desired(current, resolved=None, disks=listed)['disks']] == ['vdb', None, None]


def test_nics_keep_their_macs(current):
    spec = desired(current, resolved=None, nics=[
        nic(bridge='br0', mac='52:54:00:AA:BB:CC'),   # named by MAC (any case): pairs with the second NIC
        nic('backend', model='e1000'),                # in order: the remaining NIC, whose MAC it keeps
        nic('dmz')])                                  # a new NIC: libvirt generates its MAC
    assert [n['mac'] for n in spec['nics']] == ['52:54:00:aa:bb:cc', '52:54:00:6b:3c:58', None]


# ---------------------------------------------------------------- pairing

def test_pair_nics_by_mac_then_in_order():
    a, b, c = (nic('lan', mac='52:54:00:00:00:0%d' % i) for i in (1, 2, 3))
    wanted = [nic('lan'), nic('wan', mac=c['mac']), nic('dmz', mac='52:54:00:00:00:09'), nic('x')]
    assert pair_nics([a, b, c], wanted) == [(a, wanted[0]), (c, wanted[1]), (None, wanted[2]), (b, wanted[3])]


def test_pair_nics_leftovers_are_removed():
    a, b = nic('lan', mac='52:54:00:00:00:01'), nic('wan', mac='52:54:00:00:00:02')
    assert pair_nics([a, b], [dict(b, switch='dmz')]) == [(b, dict(b, switch='dmz')), (a, None)]
    assert pair_nics([a], []) == [(a, None)]
    assert pair_nics([], [b]) == [(None, b)]


def test_pair_disks_by_source_and_cd_drives_in_order():
    system = disk('/img/system.img', device='disk')
    data = disk('/img/data.img', device='disk')
    pooled = disk(None, pool='p', volume='v', device='disk')
    cd1, cd2 = disk('/iso/a.iso', device='cdrom'), disk('/iso/b.iso', device='cdrom')
    new_cd, other = disk('/iso/c.iso', device='cdrom'), disk('/img/other.img', device='disk')
    same_pooled = disk(None, pool='p', volume='v', device='disk', cache='writeback')
    assert pair_disks([system, cd1, data, cd2, pooled], [new_cd, data, same_pooled, other, system]) == [
        (cd1, new_cd), (data, data), (pooled, same_pooled), (None, other), (system, system), (cd2, None)]


def test_pair_disks_never_pairs_a_cd_with_a_disk_of_the_same_path():
    iso_disk, iso_cd = disk('/iso/a.iso', device='disk'), disk('/iso/a.iso', device='cdrom')
    assert pair_disks([iso_cd], [iso_disk]) == [(None, iso_disk), (iso_cd, None)]


# ---------------------------------------------------------------- views

def test_comparable(current):
    before = copy.deepcopy(current)
    view = comparable(current)
    assert not {'uuid', 'arch', 'machine'} & set(view)
    assert view['console'] == {'type': 'vnc', 'listen': '127.0.0.1', 'password': 's3cret'}
    assert current == before
    shuffled = dict(current, disks=current['disks'][::-1], uuid='other', console=dict(current['console'], port=5900))
    assert comparable(shuffled) == view
    assert comparable(dict(current, boot=['network'])) != view


def test_user_view(current):
    before = copy.deepcopy(current)
    view = user_view(current)
    assert (view['memory'], view['max_memory']) == ('2GiB', '8GiB')
    assert view['console'] == {'type': 'vnc', 'listen': '127.0.0.1', 'port': None, 'password_set': True}
    assert 's3cret' not in repr(view)
    assert current == before
    assert user_view(dict(current, console=dict(current['console'], password=None)))['console']['password_set'] is False


# ---------------------------------------------------------------- recovery policy

@pytest.mark.parametrize('given, expected', [
    ({'store': 'shared'}, {'protected': True, 'priority': 0, 'store': 'shared'}),
    ({'protected': True, 'priority': 10, 'store': 'shared'}, {'protected': True, 'priority': 10, 'store': 'shared'}),
    ({'protected': False}, {'protected': False, 'priority': 0, 'store': None}),
    ({}, {}),
])
def test_recovery_policy_accepted(given, expected):
    spec = desired(recovery=given)
    assert spec['recovery'] == expected
    assert parse_server(build_server_xml(spec, 'x86_64'))['recovery'] == expected


@pytest.mark.parametrize('given, message', [
    ({'protected': True}, 'recovery.store is needed'),
    ({'store': 'shared', 'priority': 1001}, 'whole number from -1000 to 1000'),
    ({'store': 'shared', 'priority': '5'}, 'whole number'),
    ({'store': 'shared', 'priority': True}, 'whole number'),
    ({'store': 'shared', 'protected': 'yes'}, 'true or false'),
    ({'store': 'a/b'}, 'invalid storage pool name'),
    ({'store': 'shared', 'when': 'always'}, 'unknown key when'),
])
def test_recovery_policy_refused(given, message):
    with pytest.raises(VirtualIronError, match=message):
        desired(recovery=given)
