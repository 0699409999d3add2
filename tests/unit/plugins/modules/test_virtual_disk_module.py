# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""virtual_disk end to end on real files (qemu-img) with libvirt's test hypervisor for the host questions."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import shutil
import stat
import subprocess

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.disk.converger import DiskConverger, disk_request
from ansible_collections.virtualiron.infra.plugins.modules.virtual_disk import ARGUMENT_SPEC

pytestmark = pytest.mark.skipif(shutil.which('qemu-img') is None or shutil.which('qemu-io') is None,
                                reason='qemu-img and qemu-io are not installed')
MIB = 1024 ** 2


def params(**options):
    checked = ArgumentSpecValidator(ARGUMENT_SPEC).validate(options)
    assert not checked.error_messages, checked.error_messages
    return checked.validated_parameters


def run_command(argv, environ_update=None):
    done = subprocess.run(argv, capture_output=True, text=True, check=False,
                          env=dict(os.environ, **environ_update or {}))
    return done.returncode, done.stdout, done.stderr


def task(conn, check_mode=False, diff=True, **options):
    return DiskConverger(conn, params(**options), check_mode, diff, run_command=run_command).run()


def test_create_is_idempotent_and_check_mode_writes_nothing(conn, tmp_path):
    path = str(tmp_path / 'd.vhd')
    checked = task(conn, check_mode=True, path=path, size='4MiB')
    assert (checked['changed'], checked['changes'], os.path.exists(path)) == (True, ['created 4MiB dynamic VHD'], False)
    created = task(conn, path=path, size='4MiB')
    assert created['disk']['virtual_size'] == 4 * MIB and created['disk']['vhd_type'] == 'dynamic'
    assert created['diff'] == {'before': {'state': 'absent'},
                               'after': {'state': 'present', 'format': 'vhd', 'vhd_type': 'dynamic', 'size': '4MiB'},
                               'before_header': path, 'after_header': path}
    assert checked['disk'] == dict(created['disk'], allocation=None)
    again = task(conn, diff=False, path=path, size='4MiB')
    assert (again['changed'], again['changes'], again['used_by'], 'diff' in again) == (False, [], [], False)


def test_grow_and_convert_predicted_then_done(conn, tmp_path):
    path = str(tmp_path / 'd.vhd')
    task(conn, path=path, size='4MiB')
    options = dict(path=path, size='6MiB', vhd_type='fixed')
    predicted = task(conn, check_mode=True, **options)
    done = task(conn, **options)
    assert done['changes'] == predicted['changes'] == ['converted to a fixed VHD', 'grown to 6MiB']
    assert dict(predicted['disk'], allocation=None) == dict(done['disk'], allocation=None)
    assert done['disk']['live_migratable']


def test_absent_refuses_while_a_server_has_the_disk(conn, tmp_path):
    path = str(tmp_path / 'd.vhd')
    task(conn, path=path, size='1MiB')
    conn.defineXML("<domain type='test'><name>vi3d-user</name><memory>65536</memory><os><type>hvm</type></os>"
                   "<devices><disk type='file' device='disk'><source file='%s'/><target dev='vda'/></disk></devices>"
                   "</domain>" % path)
    with pytest.raises(VirtualIronError, match='the definition of vi3d-user has it'):
        task(conn, path=path, state='absent')
    assert os.path.exists(path)
    removed = task(conn, path=path, state='absent', force=True)
    assert (removed['changed'], removed['used_by'], 'disk' in removed, os.path.exists(path)) == \
        (True, ['vi3d-user'], False, False)


def test_request_resolves_pool_and_size(conn):
    request = disk_request(params(pool='default-pool', name='x.vhd', size='1000B'), conn)
    assert (request['path'], request['size']) == ('/default-pool/x.vhd', 1024)
    with pytest.raises(VirtualIronError, match='vhd_type is for format vhd only'):
        disk_request(params(path='/x.raw', format='raw', vhd_type='fixed'), conn)


def test_a_missing_source_is_a_clear_error(conn, tmp_path):
    with pytest.raises(VirtualIronError, match='source .*missing.raw does not exist'):
        task(conn, path=str(tmp_path / 'd.vhd'), source=str(tmp_path / 'missing.raw'), source_format='raw')


# ---------------------------------------------------------------- hostile input: refused, nothing changed

def tree(root):
    """Everything under root as lstat sees it: kind, size, link target, contents; to compare before and after."""
    found = {}
    for directory, dirs, files in os.walk(str(root)):
        for name in dirs + files:
            path = os.path.join(directory, name)
            if os.path.islink(path):
                found[path] = ('link', os.readlink(path))
            elif os.path.isfile(path):
                with open(path, 'rb') as handle:
                    found[path] = ('file', handle.read())
            else:
                found[path] = ('other', os.lstat(path).st_mode)
    return found


@pytest.fixture
def lab(conn, tmp_path):
    """A file pool 'vi3d-files' in tmp_path/pool, and next to it a victim file and a host secret."""
    pool_dir = tmp_path / 'pool'
    pool_dir.mkdir()
    (tmp_path / 'victim.raw').write_bytes(b'victim' * 1000)
    (tmp_path / 'secret.txt').write_bytes(b'host secret\n' * 1000)
    pool = conn.storagePoolDefineXML("<pool type='dir'><name>vi3d-files</name><target><path>%s</path></target>"
                                     "</pool>" % pool_dir, 0)
    pool.create(0)
    yield tmp_path
    pool.destroy()
    pool.undefine()


def refused(conn, lab, message, **options):
    before = tree(lab)
    with pytest.raises(VirtualIronError, match=message):
        task(conn, **options)
    assert tree(lab) == before


@pytest.mark.parametrize('name', ['../victim.raw', 'VICTIM'])
def test_a_pool_name_cannot_reach_outside_the_pool(conn, lab, name):
    name = name.replace('VICTIM', str(lab / 'victim.raw'))
    refused(conn, lab, 'invalid disk name', pool='vi3d-files', name=name, format='raw', state='absent')


def test_a_link_in_the_pool_to_a_file_outside_is_neither_grown_nor_removed(conn, lab):
    os.symlink(str(lab / 'victim.raw'), str(lab / 'pool' / 'link.raw'))
    for state, size in (('present', '10MiB'), ('absent', None)):
        refused(conn, lab, 'is outside', pool='vi3d-files', name='link.raw', format='raw', size=size, state=state)


@pytest.mark.parametrize('state, size', [('present', '10MiB'), ('absent', None)])
def test_a_path_that_is_a_link_is_not_followed(conn, lab, state, size):
    os.symlink(str(lab / 'victim.raw'), str(lab / 'link.raw'))
    refused(conn, lab, 'link.raw is a symbolic link', path=str(lab / 'link.raw'), format='raw', size=size,
            state=state)


def test_a_device_node_is_not_removed(conn, lab):
    os.mknod(str(lab / 'null'), stat.S_IFCHR | 0o600, os.makedev(1, 3))
    refused(conn, lab, 'null is a device, FIFO or socket', path=str(lab / 'null'), format='raw', state='absent')


@pytest.mark.parametrize('path', ['relative.vhd', '/srv/../victim.vhd', '/srv//x.vhd', '/srv/./x.vhd'])
def test_a_path_must_be_absolute_and_normalized(conn, lab, path, monkeypatch):
    monkeypatch.chdir(str(lab))
    refused(conn, lab, 'path must be an absolute path', path=path, size='1MiB')


def overlay_of_the_secret(lab, path=None):
    """A qcow2 (at path, default lab/overlay.qcow2) whose backing file is the host secret lab/secret.txt."""
    overlay = str(path or lab / 'overlay.qcow2')
    assert subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', str(lab / 'secret.txt'), '-F', 'raw',
                           overlay, '1M'], check=False).returncode == 0
    return overlay


@pytest.mark.parametrize('fmt', ['raw', 'vhd', 'qcow2'])
def test_a_copy_of_an_image_with_a_host_file_as_backing_file_is_refused(conn, lab, fmt):
    overlay = overlay_of_the_secret(lab)
    refused(conn, lab, 'its header names another file \\(backing file %s' % (lab / 'secret.txt'),
            pool='vi3d-files', name='leak.' + fmt, format=fmt, source=overlay, source_format='qcow2')


def test_a_copy_needs_the_source_format(conn, lab):
    overlay = overlay_of_the_secret(lab)
    refused(conn, lab, 'source_format is required with source', path=str(lab / 'pool' / 'x.raw'), format='raw',
            source=overlay)


def test_a_raw_source_holding_a_qcow2_header_is_copied_as_raw(conn, lab):
    guest = overlay_of_the_secret(lab, lab / 'guest.raw')
    os.truncate(guest, MIB)
    copy = task(conn, pool='vi3d-files', name='copy.raw', format='raw', source=guest, source_format='raw')
    with open(guest, 'rb') as a, open(copy['disk']['path'], 'rb') as b:
        assert a.read() == b.read()


def test_an_existing_qcow2_with_a_backing_file_is_not_grown(conn, lab):
    overlay_of_the_secret(lab, lab / 'pool' / 'overlay.qcow2')
    refused(conn, lab, 'names another file', pool='vi3d-files', name='overlay.qcow2', format='qcow2', size='2MiB')


def test_a_qcow2_said_to_be_raw_is_grown_as_raw_not_probed(conn, lab):
    overlay = overlay_of_the_secret(lab, lab / 'pool' / 'overlay.qcow2')
    with open(overlay, 'rb') as handle:
        header = handle.read(4096)
    grown = task(conn, path=overlay, format='raw', size='2MiB')
    assert (grown['changes'], grown['disk']['format'], os.path.getsize(overlay)) == (['grown to 2MiB'], 'raw', 2 * MIB)
    with open(overlay, 'rb') as handle:
        assert handle.read(4096) == header
