# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""disk_image: temporary file + rename, recognizing VHDs, qemu-img round trips, servers using a disk,
the raw slice of a fixed VHD."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import shutil
import subprocess

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils import disk_image, vhd

MIB = 1024 ** 2
needs_qemu = pytest.mark.skipif(shutil.which('qemu-img') is None or shutil.which('qemu-io') is None,
                                reason='qemu-img and qemu-io are not installed')


def run(argv):
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return done.returncode, done.stdout, done.stderr


def fixed_vhd(path, size):
    with open(path, 'wb') as handle:
        handle.truncate(size)
        handle.seek(size)
        handle.write(vhd.pack_footer(vhd.new_footer(size, 'fixed')))


# ---------------------------------------------------------------- temporary file + rename

def test_a_finished_write_is_renamed_into_place(tmp_path):
    target = str(tmp_path / 'd.vhd')

    def write(temp):
        assert os.path.dirname(temp) == str(tmp_path) and os.path.basename(temp).startswith('.d.vhd.partial-')
        with open(temp, 'wb') as handle:
            handle.write(b'disk')
    disk_image.write_then_rename(target, write)
    assert os.listdir(str(tmp_path)) == ['d.vhd']
    with open(target, 'rb') as handle:
        assert handle.read() == b'disk'


@pytest.mark.parametrize('error', [RuntimeError('qemu-img failed'), KeyboardInterrupt()])
def test_an_interrupted_write_leaves_neither_target_nor_temporary_file(tmp_path, error):
    def write(temp):
        with open(temp, 'wb') as handle:
            handle.write(b'half')
        raise error
    with pytest.raises(type(error)):
        disk_image.write_then_rename(str(tmp_path / 'd.vhd'), write)
    assert os.listdir(str(tmp_path)) == []


# ---------------------------------------------------------------- recognizing images

def test_a_fixed_vhd_is_recognized_though_qemu_img_would_say_raw(tmp_path):
    path = str(tmp_path / 'f.vhd')
    fixed_vhd(path, MIB)
    info = disk_image.inspect(run, path)
    assert (info['format'], info['vhd_type'], info['virtual_size'], info['live_migratable'], info['block_device']) == \
        ('vhd', 'fixed', MIB, True, False)


def test_a_damaged_vhd_is_reported_not_taken_for_raw(tmp_path):
    path = str(tmp_path / 'f.vhd')
    fixed_vhd(path, MIB)
    with open(path, 'r+b') as handle:
        handle.seek(-400, os.SEEK_END)
        handle.write(b'\x01')
    with pytest.raises(vhd.VhdError, match='checksum'):
        disk_image.inspect(run, path)


def test_a_loop_backing_file_is_none_for_other_devices():
    assert disk_image.loop_backing_file('/dev/vi3d-no-such-device') is None


@needs_qemu
@pytest.mark.parametrize('fmt, vhd_type', [('vhd', 'dynamic'), ('vhd', 'fixed'), ('qcow2', None), ('raw', None)])
def test_create_inspect_and_round_trip_through_qemu_img(tmp_path, fmt, vhd_type):
    path = str(tmp_path / ('d.' + fmt))
    disk_image.create(run, path, fmt, vhd_type, 3 * MIB + 512)
    info = disk_image.inspect(run, path)
    assert (info['format'], info['vhd_type'], info['virtual_size']) == (fmt, vhd_type, 3 * MIB + 512)
    assert run(['qemu-io', '-f', disk_image.QEMU_FORMATS[fmt], '-c', 'write -P 0x61 0 1M', path])[0] == 0
    copy = str(tmp_path / 'copy.vhd')
    disk_image.convert(run, path, copy, 'vhd', 'fixed')
    assert os.path.getsize(copy) == vhd.fixed_length(3 * MIB + 512)  # aligned for direct I/O
    assert run(['qemu-img', 'compare', '-f', disk_image.QEMU_FORMATS[fmt], '-F', 'vpc', path, copy])[0] == 0


@needs_qemu
def test_grow_of_qcow2_uses_qemu_img_and_of_vhd_the_library(tmp_path):
    for fmt in ('qcow2', 'vhd'):
        path = str(tmp_path / ('d.' + fmt))
        disk_image.create(run, path, fmt, 'dynamic', MIB)
        disk_image.grow(run, path, fmt, 5 * MIB)
        assert disk_image.inspect(run, path)['virtual_size'] == 5 * MIB


@needs_qemu
def test_an_unlocked_image_is_not_locked(tmp_path):
    path = str(tmp_path / 'd.raw')
    disk_image.create(run, path, 'raw', None, MIB)
    assert disk_image.locked_by_qemu(run, path) is False


# ---------------------------------------------------------------- what the libvirt host knows

def domain_with_disks(conn, name, sources):
    disks = ''.join("<disk type='%s' device='disk'><source %s/><target dev='vd%s' bus='virtio'/></disk>"
                    % (kind, source, chr(ord('a') + i)) for i, (kind, source) in enumerate(sources))
    return conn.defineXML("<domain type='test'><name>%s</name><memory>65536</memory><os><type>hvm</type></os>"
                          "<devices>%s</devices></domain>" % (name, disks))


def test_servers_using_a_disk_by_path_or_by_pool_volume(conn):
    domain_with_disks(conn, 'vi3d-a', [('file', "file='/default-pool/x.vhd'")])
    domain_with_disks(conn, 'vi3d-b', [('volume', "pool='default-pool' volume='x.vhd'")]).create()
    domain_with_disks(conn, 'vi3d-c', [('file', "file='/default-pool/y.vhd'")])
    assert disk_image.servers_using(conn, '/default-pool/x.vhd') == {'vi3d-a': False, 'vi3d-b': True}
    assert disk_image.servers_using(conn, '/elsewhere/x.vhd') == {}


def test_pool_path(conn):
    assert disk_image.pool_path(conn, 'default-pool', 'a.vhd') == '/default-pool/a.vhd'
    with pytest.raises(disk_image.VirtualIronError, match='no storage pool vi3d-none'):
        disk_image.pool_path(conn, 'vi3d-none', 'a.vhd')


def test_vhd_slice_of_a_fixed_vhd_is_its_virtual_size(conn, tmp_path):
    path = str(tmp_path / 'f.vhd')
    fixed_vhd(path, 3 * MIB)
    assert disk_image.vhd_slice(conn, {'path': path}) == 3 * MIB


def test_vhd_slice_of_a_dynamic_or_unreachable_vhd_is_none(conn, tmp_path):
    path = str(tmp_path / 'd.vhd')
    raw = vhd.pack_footer(vhd.new_footer(3 * MIB, 'dynamic'))
    with open(path, 'wb') as handle:
        handle.write(raw + b'\0' * 1024 + raw)
    assert disk_image.vhd_slice(conn, {'path': path}) is None
    assert disk_image.vhd_slice(conn, {'path': str(tmp_path / 'missing.vhd')}) is None
    # a disk this machine cannot read keeps what the caller knows (the slice it has)
    assert disk_image.vhd_slice(conn, {'path': str(tmp_path / 'missing.vhd')}, default=MIB) == MIB
    assert disk_image.vhd_slice(conn, {'path': path}, default=MIB) is None
