# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""lvm_volume and lvm_volume_group: the LVM commands they run (or, in check mode, do not run), and the
"used by a virtual server" refusal against libvirt's test hypervisor."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.modules import lvm_volume, lvm_volume_group

MIB = 1024 ** 2
TEST_URI = 'test:///default'


class FakeLvm(object):
    """An Lvm over one volume group held in memory; records the commands that change the host and applies
    the logical volume ones, so that what a module reads back afterwards is what LVM would list."""

    def __init__(self, activation=False, volumes=None, free=10, pv_owner=None):
        self.activation = activation
        self.group = {'name': 'vmdisks', 'size': 15 * 4 * MIB, 'free': free * 4 * MIB, 'extent_size': 4 * MIB,
                      'extent_count': 15, 'free_count': free, 'lv_count': len(volumes or {}), 'pv_count': 1}
        self.volumes = volumes or {}
        self.pv_owner = pv_owner if pv_owner is not None else {'/dev/loop0': 'vmdisks'}
        self.commands = []

    def run(self, command, args, what):
        self.commands.append([command] + list(args))
        if command in ('lvcreate', 'lvextend'):
            extents = int(args[args.index('-l') + 1])
            name = args[args.index('-n') + 1] if command == 'lvcreate' else args[-1].split('/')[1]
            self.volumes[name] = a_volume(extents, name)
        elif command == 'lvremove':
            del self.volumes[args[-1].split('/')[1]]
        return ''

    @property
    def activation_word(self):
        return 'enabled' if self.activation else 'disabled'

    def activation_note(self):
        return None

    def volume_groups(self):
        return {'vmdisks': self.group}

    def logical_volumes(self, group):
        return dict(self.volumes)

    def physical_volumes(self):
        return dict(self.pv_owner)

    def members(self, group, pv_owner=None):
        return [pv for pv, owner in (pv_owner or self.pv_owner).items() if owner == group]


class FakeModule(object):
    def __init__(self, check_mode=False, **params):
        self.check_mode = check_mode
        self.params = dict({'uri': TEST_URI, 'name': 'lv1', 'volume_group': 'vmdisks', 'size': None,
                            'state': 'present', 'force': False}, **params)

    def fail_json(self, **result):
        raise AssertionError('fail_json: %r' % (result,))


def a_volume(extents, name='lv1', active=None, is_open=None):
    return {'name': name, 'volume_group': 'vmdisks', 'size': extents * 4 * MIB, 'attr': '-wi-XX----',
            'path': '/dev/vmdisks/' + name, 'dm_path': '/dev/mapper/vmdisks-' + name, 'active': active,
            'open': is_open}


# ---------------------------------------------------------------- lvm_volume

def test_create_without_activation_does_not_zero():
    lvm = FakeLvm()
    before, after, changes = lvm_volume.run(FakeModule(size='20MiB'), lvm)
    assert lvm.commands == [['lvcreate', '-l', '5', '-n', 'lv1', '--yes', '--zero', 'n', 'vmdisks']]
    assert (before, after, changes) == (None, a_volume(5), ['logical volume vmdisks/lv1 created with 20MiB'])


@pytest.mark.parametrize('volumes, size, changes', [
    ({}, '20MiB', ['logical volume vmdisks/lv1 created with 20MiB']),
    ({'lv1': a_volume(2)}, '12MiB', ['logical volume vmdisks/lv1 grown from 8MiB to 12MiB']),
])
def test_module_returns_the_volume_as_lvm_lists_it_after_the_change(run_main, monkeypatch, volumes, size, changes):
    lvm = FakeLvm(volumes=dict(volumes))
    monkeypatch.setattr(lvm_volume, 'Lvm', lambda module: lvm)
    result = run_main(lvm_volume.main, {'name': 'lv1', 'volume_group': 'vmdisks', 'size': size}).result
    assert (result['changed'], result['changes']) == (True, changes)
    assert result['volume'] == {'name': 'lv1', 'volume_group': 'vmdisks', 'path': '/dev/vmdisks/lv1',
                                'size': size, 'size_bytes': int(size[:-3]) * MIB, 'active': False, 'open': False}


@pytest.mark.parametrize('name', ['vmdisks', 'vi3l-vg', 'a.b_c+d', 'x' * 127])
def test_valid_names_reach_lvm_as_given(name):
    lvm = FakeLvm()
    lvm_volume.run(FakeModule(name=name, size='4MiB'), lvm)
    assert lvm.commands == [['lvcreate', '-l', '1', '-n', name, '--yes', '--zero', 'n', 'vmdisks']]


def test_create_with_activation_zeroes():
    lvm = FakeLvm(activation=True)
    lvm_volume.run(FakeModule(size='100%FREE'), lvm)
    assert lvm.commands == [['lvcreate', '-l', '10', '-n', 'lv1', '--yes', 'vmdisks']]


def test_check_mode_runs_nothing_and_predicts():
    lvm = FakeLvm(volumes={'lv1': a_volume(2)})
    before, after, changes = lvm_volume.run(FakeModule(check_mode=True, size='100%FREE'), lvm)
    assert lvm.commands == []
    assert (before['size'], after['size']) == (8 * MIB, 48 * MIB)
    assert changes == ['logical volume vmdisks/lv1 grown from 8MiB to 48MiB']


def test_grow_passes_absolute_extents():
    lvm = FakeLvm(volumes={'lv1': a_volume(2)})
    lvm_volume.run(FakeModule(size='30M'), lvm)
    assert lvm.commands == [['lvextend', '-l', '8', 'vmdisks/lv1']]


def test_same_size_changes_nothing():
    lvm = FakeLvm(volumes={'lv1': a_volume(5)})
    assert lvm_volume.run(FakeModule(size='20MiB'), lvm)[2] == []
    assert lvm.commands == []


def test_shrink_refused_and_nothing_run():
    lvm = FakeLvm(volumes={'lv1': a_volume(5)})
    with pytest.raises(VirtualIronError, match='refusing to shrink'):
        lvm_volume.run(FakeModule(size='8MiB'), lvm)
    assert lvm.commands == []


def test_inactive_volume_activated_where_the_host_can():
    lvm = FakeLvm(activation=True, volumes={'lv1': a_volume(5, active=False, is_open=False)})
    assert lvm_volume.run(FakeModule(), lvm)[2] == ['logical volume vmdisks/lv1 activated']
    assert lvm.commands == [['lvchange', '-ay', 'vmdisks/lv1']]


def test_missing_group():
    lvm = FakeLvm()
    lvm.group = None
    lvm.volume_groups = lambda: {}
    with pytest.raises(VirtualIronError, match='volume group vmdisks does not exist on this host'):
        lvm_volume.run(FakeModule(size='1G'), lvm)
    assert lvm_volume.run(FakeModule(state='absent'), lvm) == (None, None, [])


def test_remove_refused_while_open():
    lvm = FakeLvm(activation=True, volumes={'lv1': a_volume(5, active=True, is_open=True)})
    with pytest.raises(VirtualIronError, match='refusing to remove logical volume vmdisks/lv1: it is open'):
        lvm_volume.run(FakeModule(state='absent', force=True), lvm)
    assert lvm.commands == []


@pytest.fixture
def server_with_volume(conn):
    """A server on the test hypervisor whose definition has the volume by its /dev/mapper name."""
    conn.defineXML(
        "<domain type='test'><name>vi3l-user</name><memory>65536</memory><os><type>hvm</type></os><devices>"
        "<disk type='block' device='disk'><source dev='/dev/mapper/vmdisks-lv1'/><target dev='vda'/></disk>"
        "</devices></domain>")
    return conn


def test_remove_refused_while_a_server_has_it(server_with_volume):
    lvm = FakeLvm(volumes={'lv1': a_volume(5), 'lv2': a_volume(2, name='lv2')})
    with pytest.raises(VirtualIronError, match='virtual servers on test:///default have it in their definition: '
                                               'vi3l-user; detach it first, or set force=true'):
        lvm_volume.run(FakeModule(state='absent'), lvm)
    assert lvm.commands == []
    lvm_volume.run(FakeModule(state='absent', name='lv2'), lvm)
    assert lvm.commands == [['lvremove', '--yes', 'vmdisks/lv2']]


def test_remove_refused_while_a_server_has_it_as_a_pool_volume(conn):
    """A server may name the volume as a volume of a logical pool over the group, not by its path."""
    pool = conn.storagePoolCreateXML(
        "<pool type='logical'><name>vi3l-vmdisks</name><source><name>vmdisks</name></source>"
        "<target><path>/dev/vmdisks</path></target></pool>", 0)
    try:
        conn.defineXML(
            "<domain type='test'><name>vi3l-pool-user</name><memory>65536</memory><os><type>hvm</type></os>"
            "<devices><disk type='volume' device='disk'><source pool='vi3l-vmdisks' volume='lv1'/>"
            "<target dev='vda'/></disk></devices></domain>")
        with pytest.raises(VirtualIronError, match='have it in their definition: vi3l-pool-user'):
            lvm_volume.run(FakeModule(state='absent'), FakeLvm(volumes={'lv1': a_volume(5)}))
    finally:
        pool.destroy()


def test_remove_with_force_skips_libvirt(server_with_volume):
    lvm = FakeLvm(volumes={'lv1': a_volume(5)})
    before, after, changes = lvm_volume.run(FakeModule(state='absent', force=True, uri='test:///nowhere'), lvm)
    assert (before['name'], after, changes) == ('lv1', None, ['logical volume vmdisks/lv1 removed'])
    assert lvm.commands == [['lvremove', '--yes', 'vmdisks/lv1']]


def test_remove_in_check_mode_still_checks_and_runs_nothing(server_with_volume):
    lvm = FakeLvm(volumes={'lv1': a_volume(5)})
    with pytest.raises(VirtualIronError, match='vi3l-user'):
        lvm_volume.run(FakeModule(check_mode=True, state='absent'), lvm)
    assert lvm.commands == []


# ---------------------------------------------------------------- lvm_volume_group

def group_params(**params):
    return dict({'name': 'vmdisks', 'pvs': None, 'extent_size': None, 'state': 'present', 'force': False}, **params)


@pytest.fixture
def block_devices(monkeypatch):
    """Every path under /dev counts as a block device."""
    monkeypatch.setattr(lvm_volume_group, 'resolve_devices', lambda paths: list(paths or []))


def test_group_created_with_extent_size(block_devices):
    lvm = FakeLvm(pv_owner={})
    lvm.volume_groups = lambda: {}
    action, new = lvm_volume_group.ensure_present(lvm, group_params(pvs=['/dev/loop0'], extent_size='8MiB'), False)
    assert (action, new) == ('create', ['/dev/loop0'])
    assert lvm.commands == [['vgcreate', '-s', '8192k', 'vmdisks', '/dev/loop0']]


def test_group_extended_only_with_new_pvs(block_devices):
    lvm = FakeLvm()
    params = group_params(pvs=['/dev/loop0', '/dev/loop1'])
    assert lvm_volume_group.ensure_present(lvm, params, True) == ('extend', ['/dev/loop1'])
    assert lvm.commands == []
    lvm_volume_group.ensure_present(lvm, params, False)
    assert lvm.commands == [['vgextend', 'vmdisks', '/dev/loop1']]


def test_group_with_volumes_not_removed_without_force():
    lvm = FakeLvm(volumes={'lv1': a_volume(5), 'data': a_volume(2, name='data')})
    with pytest.raises(VirtualIronError, match=r'holds logical volumes \(data, lv1\)'):
        lvm_volume_group.ensure_absent(lvm, group_params(state='absent'), False)
    assert lvm.commands == []
    assert lvm_volume_group.ensure_absent(lvm, group_params(state='absent', force=True), False) == 'remove'
    assert lvm.commands == [['vgremove', '-f', 'vmdisks']]


def test_empty_group_removed_without_force():
    lvm = FakeLvm()
    lvm_volume_group.ensure_absent(lvm, group_params(state='absent'), False)
    assert lvm.commands == [['vgremove', 'vmdisks']]


def test_resolve_devices_refuses_files_and_missing(tmp_path):
    image = tmp_path / 'disk.img'
    image.write_bytes(b'')
    with pytest.raises(VirtualIronError, match='is not a block device'):
        lvm_volume_group.resolve_devices([str(image)])
    with pytest.raises(VirtualIronError, match='does not exist on this host'):
        lvm_volume_group.resolve_devices([str(tmp_path / 'nope')])


@pytest.mark.parametrize('path, message', [
    ('loop0', 'must be an absolute path'),
    ('./loop0', 'must be an absolute path'),
    ('/dev/../dev/loop0', 'must be an absolute path'),
    ('/dev/loop0\0', 'must not contain control characters'),   # was a crash (ValueError) in realpath
])
def test_resolve_devices_refuses_relative_and_unnormalized_paths(monkeypatch, path, message):
    monkeypatch.chdir('/dev')  # where a relative name would find a block device
    with pytest.raises(VirtualIronError, match='physical volume ' + message):
        lvm_volume_group.resolve_devices([path])


def test_predicted_group_in_check_mode():
    before = {'name': 'vmdisks', 'pvs': ['/dev/loop0']}
    assert lvm_volume_group.predicted(before, 'extend', ['/dev/loop1'], 'vmdisks')['pvs'] == ['/dev/loop0', '/dev/loop1']
    assert lvm_volume_group.predicted(None, 'create', ['/dev/loop1'], 'x') == {'name': 'x', 'pvs': ['/dev/loop1']}
    assert lvm_volume_group.predicted(before, 'remove', [], 'vmdisks') is None
