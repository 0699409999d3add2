# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plan_live_changes: what a running server takes at once, and what waits for its next boot."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.server.live_changes import plan_live_changes

GiB = 1024 ** 3
NEW_MAC = '52:54:00:00:00:01'


@pytest.fixture
def live(current):
    """The running server: the fixture domain (2 of 8 vCPUs, 2 of 8 GiB, vda vdb sda(CD), 2 NICs), port 5900."""
    return dict(current, console=dict(current['console'], port=5900))


def plan(live, **changes):
    """plan_live_changes from live to a copy of it with these top-level values."""
    target = copy.deepcopy(live)
    target.update(changes)
    return plan_live_changes(live, target)


def new_disk(target, bus, device='disk'):
    return {'device': device, 'path': '/img/%s.img' % target, 'pool': None, 'volume': None, 'format': 'raw',
            'bus': bus, 'cache': 'none', 'target': target}


def test_nothing_to_do(live, current):
    assert plan(live) == ([], [])
    assert plan_live_changes(live, current) == ([], [])   # the console port exists only while running


@pytest.mark.parametrize('field, value', [('vcpus', 8), ('vcpus', 1), ('memory', 8 * GiB), ('memory', GiB)])
def test_within_the_running_maximum(live, field, value):
    assert plan(live, **{field: value}) == ([(field, value)], [])


@pytest.mark.parametrize('field, limit, value', [('vcpus', 'max_vcpus', 9), ('memory', 'max_memory', 9 * GiB)])
def test_above_the_running_maximum(live, field, limit, value):
    assert plan(live, **{field: value, limit: value}) == ([], [limit, '%s above the running maximum' % field])


@pytest.mark.parametrize('changes, pending', [
    ({'boot': ['network', 'disk']}, ['boot']),
    ({'max_vcpus': 16}, ['max_vcpus']),
    ({'max_memory': 16 * GiB}, ['max_memory']),
    ({'hypervisor': 'qemu'}, ['hypervisor']),
    ({'console': {'type': 'vnc', 'listen': '127.0.0.1', 'password': 'other', 'port': None}}, ['console']),
    ({'console': {'type': 'none', 'listen': None, 'password': None, 'port': None}}, ['console']),
    ({'boot': ['cdrom'], 'max_vcpus': 12}, ['max_vcpus', 'boot']),
])
def test_boot_time_fields(live, changes, pending):
    assert plan(live, **changes) == ([], pending)


def test_description_and_tags(live):
    target = dict(copy.deepcopy(live), description='db', tags={})
    assert plan_live_changes(live, target) == ([('metadata', target)], [])


@pytest.mark.parametrize('bus', ['virtio', 'scsi'])
def test_disk_hot_plug(live, bus):
    added = new_disk('vdc' if bus == 'virtio' else 'sdb', bus)
    assert plan(live, disks=live['disks'] + [added]) == ([('attach_disk', added)], [])
    assert plan(dict(live, disks=live['disks'] + [added])) == ([], [])
    assert plan(dict(live, disks=live['disks'] + [added]), disks=live['disks']) == ([('detach_disk', added)], [])


def test_disk_unplug(live):
    assert plan(live, disks=live['disks'][::2]) == ([('detach_disk', live['disks'][1])], [])


def test_sata_disks_wait_for_a_reboot(live):
    added = new_disk('sdb', 'sata')
    assert plan(live, disks=live['disks'] + [added]) == ([], ['disk sdb (bus sata cannot be hot-plugged)'])
    assert plan(live, disks=live['disks'][:2]) == ([], ['disk sda (bus sata cannot be hot-plugged)'])


def test_changed_disk_waits_for_a_reboot(live):
    disks = copy.deepcopy(live['disks'])
    disks[0]['cache'] = 'writeback'
    assert plan(live, disks=disks) == ([], ['disk vda'])


@pytest.mark.parametrize('iso', ['/iso/rescue.iso', None])
def test_cd_media_change(live, iso):
    disks = copy.deepcopy(live['disks'])
    disks[2]['path'] = iso
    assert plan(live, disks=disks) == ([('change_media', disks[2])], [])


def test_cd_drive_bus_change_waits_for_a_reboot(live):
    disks = copy.deepcopy(live['disks'])
    disks[2].update(path='/iso/rescue.iso', bus='ide')
    assert plan(live, disks=disks) == ([], ['disk sda'])


def test_nic_plug_and_unplug(live):
    added = {'switch': 'dmz', 'bridge': None, 'mac': NEW_MAC, 'model': 'virtio'}
    assert plan(live, nics=live['nics'] + [added]) == ([('attach_nic', added)], [])
    assert plan(live, nics=live['nics'][1:]) == ([('detach_nic', live['nics'][0])], [])


def test_nic_switch_change(live):
    nics = copy.deepcopy(live['nics'])
    nics[0]['switch'] = 'backend'
    nics[1].update(bridge=None, switch='frontend')
    assert plan(live, nics=nics) == ([('update_nic', nics[0]), ('update_nic', nics[1])], [])


def test_nic_model_change_waits_for_a_reboot(live):
    nics = copy.deepcopy(live['nics'])
    nics[1]['model'] = 'e1000'
    assert plan(live, nics=nics) == ([], ['NIC 52:54:00:aa:bb:cc model'])


def test_several_changes_in_order(live):
    added_disk, added_nic = new_disk('vdc', 'virtio'), {'switch': 'dmz', 'bridge': None, 'mac': NEW_MAC,
                                                        'model': 'virtio'}
    ops, pending = plan(live, vcpus=4, memory=4 * GiB, boot=['network'], disks=live['disks'] + [added_disk],
                        nics=[added_nic])
    assert [op[0] for op in ops] == ['vcpus', 'memory', 'attach_disk', 'attach_nic', 'detach_nic', 'detach_nic']
    assert pending == ['boot']
