# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""disk_image: temporary file + rename, recognizing VHDs, qemu-img round trips, servers using a disk,
the raw slice of a fixed VHD."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import shutil
import subprocess

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.disk import image as disk_image
from ansible_collections.virtualiron.infra.plugins.module_utils.disk import vhd

MIB = 1024 ** 2
needs_qemu = pytest.mark.skipif(shutil.which('qemu-img') is None or shutil.which('qemu-io') is None,
                                reason='qemu-img and qemu-io are not installed')


def run(argv, environ_update=None):
    done = subprocess.run(argv, capture_output=True, text=True, check=False,
                          env=dict(os.environ, **environ_update or {}))
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

def test_a_fixed_vhd_is_read_as_the_vhd_it_is_said_to_be(tmp_path):
    path = str(tmp_path / 'f.vhd')
    fixed_vhd(path, MIB)
    info = disk_image.inspect(run, path, 'vhd')
    assert (info['format'], info['vhd_type'], info['virtual_size'], info['live_migratable'], info['block_device']) == \
        ('vhd', 'fixed', MIB, True, False)


def test_a_damaged_vhd_is_reported_not_taken_for_raw(tmp_path):
    path = str(tmp_path / 'f.vhd')
    fixed_vhd(path, MIB)
    with open(path, 'r+b') as handle:
        handle.seek(-400, os.SEEK_END)
        handle.write(b'\x01')
    with pytest.raises(vhd.VhdError, match='cannot read .* as a vhd image .*checksum'):
        disk_image.inspect(run, path, 'vhd')


def test_a_loop_backing_file_is_none_for_other_devices():
    assert disk_image.loop_backing_file('/dev/vi3d-no-such-device') is None


@needs_qemu
@pytest.mark.parametrize('fmt, vhd_type', [('vhd', 'dynamic'), ('vhd', 'fixed'), ('qcow2', None), ('raw', None)])
def test_create_inspect_and_round_trip_through_qemu_img(tmp_path, fmt, vhd_type):
    path = str(tmp_path / ('d.' + fmt))
    disk_image.create(run, path, fmt, vhd_type, 3 * MIB + 512)
    info = disk_image.inspect(run, path, fmt)
    assert (info['format'], info['vhd_type'], info['virtual_size']) == (fmt, vhd_type, 3 * MIB + 512)
    assert run(['qemu-io', '-f', disk_image.QEMU_FORMATS[fmt], '-c', 'write -P 0x61 0 1M', path])[0] == 0
    copy = str(tmp_path / 'copy.vhd')
    disk_image.convert(run, path, fmt, copy, 'vhd', 'fixed')
    assert os.path.getsize(copy) == vhd.fixed_length(3 * MIB + 512)  # aligned for direct I/O
    assert run(['qemu-img', 'compare', '-f', disk_image.QEMU_FORMATS[fmt], '-F', 'vpc', path, copy])[0] == 0


@needs_qemu
def test_grow_of_qcow2_uses_qemu_img_and_of_vhd_the_library(tmp_path):
    for fmt in ('qcow2', 'vhd'):
        path = str(tmp_path / ('d.' + fmt))
        disk_image.create(run, path, fmt, 'dynamic', MIB)
        disk_image.grow(run, path, fmt, 5 * MIB)
        assert disk_image.inspect(run, path, fmt)['virtual_size'] == 5 * MIB


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


# ---------------------------------------------------------------- hostile images and paths

SECRET = b'host secret: root password\n' * 100


def secret_and_overlay(tmp_path):
    """A host file with a secret, and a qcow2 whose backing file it is (what a guest can write onto its disk)."""
    secret = tmp_path / 'secret.txt'
    secret.write_bytes(SECRET)
    overlay = str(tmp_path / 'overlay.qcow2')
    assert run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', str(secret), '-F', 'raw', overlay, '1M'])[0] == 0
    return str(secret), overlay


@needs_qemu
def test_a_qcow2_naming_a_host_file_as_backing_file_is_refused(tmp_path):
    _secret, overlay = secret_and_overlay(tmp_path)
    with pytest.raises(disk_image.VirtualIronError, match='refusing .*overlay.qcow2: its header names another file '
                                                          '\\(backing file .*secret.txt\\)'):
        disk_image.inspect(run, overlay, 'qcow2')


@needs_qemu
def test_a_qcow2_with_an_external_data_file_is_refused(tmp_path):
    data = str(tmp_path / 'data.raw')
    image = str(tmp_path / 'd.qcow2')
    assert run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-o', 'data_file=%s,data_file_raw=on' % data, image,
                '1M'])[0] == 0
    with pytest.raises(disk_image.VirtualIronError, match='external data file .*data.raw'):
        disk_image.inspect(run, image, 'qcow2')


@needs_qemu
def test_a_raw_disk_holding_a_qcow2_header_stays_raw(tmp_path):
    """A guest wrote a qcow2 header naming a host file onto its raw disk: read as raw, it is just bytes."""
    _secret, overlay = secret_and_overlay(tmp_path)
    guest = str(tmp_path / 'guest.raw')
    shutil.copy(overlay, guest)
    os.truncate(guest, MIB)
    info = disk_image.inspect(run, guest, 'raw')
    assert (info['format'], info['virtual_size']) == ('raw', MIB)
    copy = str(tmp_path / 'copy.raw')
    disk_image.convert(run, guest, 'raw', copy, 'raw', None)
    with open(guest, 'rb') as a, open(copy, 'rb') as b:
        assert a.read() == b.read()


def test_qemu_img_info_runs_limited_with_the_stated_format():
    seen = []

    def fake_run(argv):
        seen.append(argv)
        return 0, '{"virtual-size": 512, "format": "raw"}', ''
    assert disk_image.image_info(fake_run, '/srv/d.qcow2', 'qcow2')['virtual-size'] == 512
    assert seen == [['prlimit', '--as=1073741824', '--cpu=30', 'qemu-img', 'info', '-f', 'qcow2', '-U',
                     '--output=json', '/srv/d.qcow2']]


@needs_qemu
def test_a_vhd_read_as_qcow2_is_a_clear_error(tmp_path):
    path = str(tmp_path / 'f.vhd')
    fixed_vhd(path, MIB)
    with pytest.raises(disk_image.VirtualIronError, match='cannot read .*f.vhd as a qcow2 image .*set the format'):
        disk_image.inspect(run, path, 'qcow2')


@pytest.mark.parametrize('info', [
    {'backing-filename': '/etc/shadow'},
    {'full-backing-filename': 'json:{"file": {"driver": "file", "filename": "/etc/shadow"}}'},
    {'format-specific': {'type': 'qcow2', 'data': {'data-file': '/etc/shadow'}}},
])
def test_images_naming_other_files_are_not_self_contained(info):
    with pytest.raises(disk_image.VirtualIronError, match='names another file'):
        disk_image.check_self_contained(dict(info, format='qcow2'), '/srv/d.qcow2')


def test_a_self_contained_image_is_read():
    info = {'format': 'qcow2', 'virtual-size': MIB, 'format-specific': {'type': 'qcow2', 'data': {'compat': '1.1'}}}
    assert disk_image.image_info(lambda argv: (0, json.dumps(info), ''), '/srv/d.qcow2', 'qcow2') == info


def kinds_fixture(tmp_path):
    (tmp_path / 'file').write_bytes(b'x')
    os.symlink(str(tmp_path / 'file'), str(tmp_path / 'link'))
    os.mkfifo(str(tmp_path / 'fifo'))
    os.mkdir(str(tmp_path / 'dir'))
    return tmp_path


@pytest.mark.parametrize('name, kind', [('file', 'file'), ('missing', 'missing')])
def test_a_disk_is_a_regular_file_or_missing(tmp_path, name, kind):
    assert disk_image.check_disk_kind(str(kinds_fixture(tmp_path) / name), 'path') == kind


@pytest.mark.parametrize('name, message', [
    ('link', 'is a symbolic link'),
    ('fifo', 'is a device, FIFO or socket'),
    ('dir', 'is a directory'),
])
def test_links_fifos_and_directories_are_not_disks(tmp_path, name, message):
    with pytest.raises(disk_image.VirtualIronError, match=message):
        disk_image.check_disk_kind(str(kinds_fixture(tmp_path) / name), 'path')


def test_dev_null_is_not_a_disk():
    with pytest.raises(disk_image.VirtualIronError, match='/dev/null is a device, FIFO or socket'):
        disk_image.check_disk_kind('/dev/null', 'path')


def test_a_link_under_dev_to_a_character_device_is_refused():
    with pytest.raises(disk_image.VirtualIronError, match='/dev/stdin is a symbolic link'):
        disk_image.check_disk_kind('/dev/stdin', 'path')


def file_pool(conn, directory, name='vi3d-files'):
    xml = "<pool type='dir'><name>%s</name><target><path>%s</path></target></pool>" % (name, directory)
    pool = conn.storagePoolDefineXML(xml, 0)
    pool.create(0)
    return pool


@pytest.fixture
def pool_dir(conn, tmp_path):
    directory = tmp_path / 'pool'
    directory.mkdir()
    pool = file_pool(conn, str(directory))
    yield directory
    pool.destroy()
    pool.undefine()


@pytest.mark.parametrize('name, message', [
    ('../victim.raw', 'invalid disk name'),
    ('/victim.raw', 'invalid disk name'),
    ('..', 'invalid disk name'),
    ('a/b.raw', 'invalid disk name'),
    ('outside.raw', 'disk outside.raw of storage pool vi3d-files .* is outside'),
])
def test_pool_path_stays_inside_the_pool(conn, pool_dir, name, message):
    victim = pool_dir.parent / 'victim.raw'
    victim.write_bytes(b'victim')
    os.symlink(str(victim), str(pool_dir / 'outside.raw'))
    with pytest.raises(disk_image.VirtualIronError, match=message):
        disk_image.pool_path(conn, 'vi3d-files', name)


def test_pool_path_refuses_a_pool_on_a_system_directory(conn):
    pool = file_pool(conn, '/etc', 'vi3d-etc')
    try:
        with pytest.raises(disk_image.VirtualIronError, match='refusing storage pool vi3d-etc directory /etc'):
            disk_image.pool_path(conn, 'vi3d-etc', 'passwd')
    finally:
        pool.destroy()
        pool.undefine()
