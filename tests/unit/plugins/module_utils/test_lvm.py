# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""lvm: LVM's JSON reports, sizes and percentages in extents, the plans, and the commands it runs."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.storage.lvm import (
    ACTIVATION_OFF, NO_HINTS, Lvm, device_mapper_available, format_size, group_view, members, parse_lv_size, parse_lvs,
    parse_pvs, parse_vgs, plan_group, plan_volume, report_rows, target_extents, check_lvm_name, volume_view)

MIB = 1024 ** 2
# fixtures/{vgs,pvs,lvs-no-device-mapper}.json: reports as LVM 2.03.16 wrote them on a kernel without
# device-mapper (activation disabled).


def group(extents=15, free=10, extent_size=4 * MIB, name='vmdisks'):
    return {'name': name, 'size': extents * extent_size, 'free': free * extent_size, 'extent_size': extent_size,
            'extent_count': extents, 'free_count': free, 'lv_count': 0, 'pv_count': 1}


def volume(extents, name='lv1', extent_size=4 * MIB):
    return {'name': name, 'volume_group': 'vmdisks', 'size': extents * extent_size, 'path': '/dev/vmdisks/' + name,
            'dm_path': None, 'active': True, 'open': False, 'attr': '-wi-a-----'}


# ---------------------------------------------------------------- reports

def test_parse_vgs_in_bytes_and_extents(fixture_text):
    assert parse_vgs(fixture_text('vgs.json')) == {'vmdisks': {
        'name': 'vmdisks', 'size': 60 * MIB, 'free': 40 * MIB, 'extent_size': 4 * MIB, 'extent_count': 15,
        'free_count': 10, 'lv_count': 2, 'pv_count': 1}}


def test_parse_lvs_without_device_mapper_state_is_unknown(fixture_text):
    volumes = parse_lvs(fixture_text('lvs-no-device-mapper.json'))
    assert sorted(volumes) == ['lv1', 'lv2']
    assert volumes['lv1'] == {
        'name': 'lv1', 'volume_group': 'vmdisks', 'size': 12 * MIB, 'attr': '-wi-XX----',
        'path': '/dev/vmdisks/lv1', 'dm_path': '/dev/mapper/vmdisks--lv1', 'active': None, 'open': None}


def test_parse_lvs_on_a_host_with_device_mapper():
    row = {'lv_name': 'web1', 'vg_name': 'vmdisks', 'lv_size': '1073741824', 'lv_attr': '-wi-ao----',
           'lv_path': '/dev/vmdisks/web1', 'lv_dm_path': '/dev/mapper/vmdisks-web1', 'lv_active': 'active',
           'lv_device_open': 'open'}
    closed = dict(row, lv_name='web2', lv_active='', lv_device_open='')
    volumes = parse_lvs(json.dumps({'report': [{'lv': [row, closed]}]}))
    assert (volumes['web1']['active'], volumes['web1']['open']) == (True, True)
    assert (volumes['web2']['active'], volumes['web2']['open']) == (False, False)


def test_parse_pvs_maps_devices_to_groups(fixture_text):
    assert parse_pvs(fixture_text('pvs.json')) == {'/dev/loop0': 'vmdisks'}
    orphan = json.dumps({'report': [{'pv': [{'pv_name': '/dev/sdc', 'vg_name': ''}]}]})
    assert parse_pvs(orphan) == {'/dev/sdc': None}


def test_report_rows_of_an_empty_report_and_garbage():
    assert report_rows('{"report": [{"vg": []}]}', 'vg') == []
    with pytest.raises(VirtualIronError, match='cannot read the LVM report'):
        report_rows('  Volume group "x" not found', 'vg')


@pytest.mark.parametrize('output, available', [
    ('  LVM version:     2.03.16(2)\n  Library version: 1.02.185\n  Driver version:  4.47.0\n', True),
    ('  LVM version:     2.03.16(2)\n  Library version: 1.02.185\n  Configuration: ...\n'
     '/dev/mapper/control: open failed: No such device\n', False),
])
def test_device_mapper_detected_from_lvm_version(output, available):
    assert device_mapper_available(output) is available


# Valid names: test_lvm_modules.py checks that they reach LVM as given.


@pytest.mark.parametrize('name', ['', '-x', '.', '..', 'a/b', 'a b', 'x' * 128, None])
def test_invalid_names(name):
    with pytest.raises(VirtualIronError, match='invalid volume group name'):
        check_lvm_name(name, 'volume group')


# ---------------------------------------------------------------- sizes

@pytest.mark.parametrize('text, parsed', [
    ('10GiB', ('bytes', 10 * 1024 * MIB)),
    ('512', ('bytes', 512 * MIB)),
    ('1.5G', ('bytes', 1536 * MIB)),
    ('100%FREE', ('percent', 100.0, 'FREE')),
    ('50%vg', ('percent', 50.0, 'VG')),
    (' 20 % PVS ', ('percent', 20.0, 'PVS')),
    ('12.5%VG', ('percent', 12.5, 'VG')),
])
def test_parse_lv_size(text, parsed):
    assert parse_lv_size(text) == parsed


@pytest.mark.parametrize('text, message', [
    ('0%FREE', 'more than 0 and at most 100'),
    ('101%VG', 'more than 0 and at most 100'),
    ('50%ORIGIN', 'written like 100%FREE'),
    ('50%', 'written like 100%FREE'),
    ('lots', "cannot read 'lots' as a size"),
    ('0', 'greater than zero'),
])
def test_parse_lv_size_refuses(text, message):
    with pytest.raises(VirtualIronError, match=message):
        parse_lv_size(text)


@pytest.mark.parametrize('size, current, extents', [
    (('bytes', 8 * MIB), None, 2),
    (('bytes', 9 * MIB), None, 3),             # bytes round up to whole extents
    (('bytes', 1), None, 1),
    (('percent', 50.0, 'VG'), None, 7),        # percentages round down: 7.5 -> 7
    (('percent', 100.0, 'PVS'), 3, 15),
    (('percent', 100.0, 'FREE'), None, 10),
    (('percent', 30.0, 'FREE'), None, 3),
    (('percent', 100.0, 'FREE'), 5, 15),       # an existing volume takes all the free space
    (('percent', 50.0, 'FREE'), 5, 5),         # a smaller share leaves it as it is (idempotent)
])
def test_target_extents(size, current, extents):
    assert target_extents(size, group(extents=15, free=10), current) == extents


# ---------------------------------------------------------------- plans

def test_plan_new_volume():
    assert plan_volume(None, group(), ('bytes', 20 * MIB)) == ('create', 5)
    assert plan_volume(None, group(), ('percent', 100.0, 'FREE')) == ('create', 10)


def test_plan_grow_and_keep():
    assert plan_volume(volume(3), group(), ('bytes', 20 * MIB)) == ('extend', 5)
    assert plan_volume(volume(5), group(), ('bytes', 20 * MIB)) == (None, 5)
    assert plan_volume(volume(5), group(), ('bytes', 17 * MIB)) == (None, 5)   # rounds up to what it has
    assert plan_volume(volume(5), group(), None) == (None, 5)
    assert plan_volume(volume(5), group(free=0), ('percent', 100.0, 'FREE')) == (None, 5)


def test_plan_refuses_shrink():
    with pytest.raises(VirtualIronError, match='refusing to shrink logical volume vmdisks/lv1 from 20MiB to 8MiB'):
        plan_volume(volume(5), group(), ('bytes', 8 * MIB))
    with pytest.raises(VirtualIronError, match='refusing to shrink'):
        plan_volume(volume(10), group(), ('percent', 50.0, 'VG'))


def test_plan_refuses_more_than_free():
    with pytest.raises(VirtualIronError, match='volume group vmdisks has 40MiB free, the logical volume needs 44MiB more'):
        plan_volume(None, group(), ('bytes', 44 * MIB))
    with pytest.raises(VirtualIronError, match='has 0B free'):
        plan_volume(volume(5), group(free=0), ('bytes', 24 * MIB))


def test_plan_refuses_new_volume_without_size_and_less_than_an_extent():
    with pytest.raises(VirtualIronError, match='a new logical volume needs a size'):
        plan_volume(None, group(), None)
    with pytest.raises(VirtualIronError, match='less than one extent'):
        plan_volume(None, group(free=1), ('percent', 50.0, 'FREE'))


def test_plan_group():
    owners = {'/dev/sdb': 'vmdisks', '/dev/sdc': None, '/dev/sdd': 'other'}
    assert plan_group(None, [], ['/dev/sdc'], owners) == ('create', ['/dev/sdc'])
    assert plan_group(group(), ['/dev/sdb'], ['/dev/sdb', '/dev/sdc'], owners) == ('extend', ['/dev/sdc'])
    assert plan_group(group(), ['/dev/sdb'], ['/dev/sdb'], owners) == (None, [])
    assert plan_group(group(), ['/dev/sdb'], [], owners) == (None, [])   # unlisted PVs stay in the group


def test_plan_group_refuses():
    owners = {'/dev/sdd': 'other'}
    with pytest.raises(VirtualIronError, match=r'already belong to another volume group: /dev/sdd \(in volume group other\)'):
        plan_group(group(), [], ['/dev/sdd'], owners)
    with pytest.raises(VirtualIronError, match='needs at least one physical volume'):
        plan_group(None, [], [], owners)


def test_views():
    assert group_view(group(free=0), ['/dev/sdc', '/dev/sdb'])['free'] == '0B'
    assert group_view(group(), ['/dev/sdc', '/dev/sdb'])['pvs'] == ['/dev/sdb', '/dev/sdc']
    assert group_view(None, []) is None
    view = volume_view(volume(5), activation=True)
    assert (view['size'], view['size_bytes'], view['path']) == ('20MiB', 20 * MIB, '/dev/vmdisks/lv1')
    assert volume_view(dict(volume(5), active=None, open=None), activation=False)['active'] is False
    assert format_size(0) == '0B' and format_size(4 * MIB) == '4MiB'


# ---------------------------------------------------------------- commands

class FakeModule(object):
    """Records the commands Lvm runs and answers from a script: {subcommand: (rc, out, err)}."""

    def __init__(self, answers):
        self.answers, self.commands = answers, []

    def get_bin_path(self, name, required=False):
        return '/sbin/' + name

    def run_command(self, argv, environ_update=None):
        assert environ_update['LVM_SUPPRESS_FD_WARNINGS'] == '1'
        self.commands.append(argv)
        return self.answers.get(argv[1], (0, '', ''))


NO_DM = (0, '  LVM version: 2.03.16(2)\n', '/dev/mapper/control: open failed: No such device\n')
WITH_DM = (0, '  LVM version: 2.03.16(2)\n  Driver version: 4.47.0\n', '')


def test_commands_without_device_mapper_disable_activation(fixture_text):
    module = FakeModule({'version': NO_DM, 'vgs': (0, fixture_text('vgs.json'), '')})
    lvm = Lvm(module)
    assert (lvm.activation, lvm.activation_word) == (False, 'disabled')
    assert 'activation disabled' in lvm.activation_note()
    assert list(lvm.volume_groups()) == ['vmdisks']
    assert module.commands[-1][:4] == ['/sbin/lvm', 'vgs', '--config', NO_HINTS + ' ' + ACTIVATION_OFF]


def test_commands_with_device_mapper_activate(fixture_text):
    module = FakeModule({'version': WITH_DM, 'pvs': (0, fixture_text('pvs.json'), '')})
    lvm = Lvm(module)
    assert (lvm.activation, lvm.activation_note()) == (True, None)
    assert members(lvm.physical_volumes(), 'vmdisks') == ['/dev/loop0']
    assert module.commands[-1][:4] == ['/sbin/lvm', 'pvs', '--config', NO_HINTS]


def test_failed_command_reports_lvm_words_without_its_warnings():
    err = ('  WARNING: Activation disabled. No device-mapper interaction will be attempted.\n'
           '  Volume group "nope" not found\n  Cannot process volume group nope\n')
    lvm = Lvm(FakeModule({'version': NO_DM, 'lvs': (5, '', err)}))
    with pytest.raises(VirtualIronError) as failed:
        lvm.logical_volumes('nope')
    assert str(failed.value) == ('listing the logical volumes of nope failed: Volume group "nope" not found '
                                 'Cannot process volume group nope')
