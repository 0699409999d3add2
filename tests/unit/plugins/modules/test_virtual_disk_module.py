# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""virtual_disk end to end on real files (qemu-img) with libvirt's test hypervisor for the host questions."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import shutil
import subprocess

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.virtualiron.infra.plugins.module_utils.libvirt_connection import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.modules.virtual_disk import ARGUMENT_SPEC, disk_request, run

pytestmark = pytest.mark.skipif(shutil.which('qemu-img') is None or shutil.which('qemu-io') is None,
                                reason='qemu-img and qemu-io are not installed')
MIB = 1024 ** 2


class FakeModule(object):
    """What run() uses of AnsibleModule: params, check_mode, run_command."""

    def __init__(self, check_mode=False, **options):
        checked = ArgumentSpecValidator(ARGUMENT_SPEC).validate(options)
        assert not checked.error_messages, checked.error_messages
        self.params = checked.validated_parameters
        self.check_mode = check_mode

    @staticmethod
    def run_command(argv):
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        return done.returncode, done.stdout, done.stderr


def task(conn, check_mode=False, **options):
    return run(FakeModule(check_mode, **options), conn)


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
    again = task(conn, path=path, size='4MiB')
    assert (again['changed'], again['changes'], again['used_by']) == (False, [], [])


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
    assert (removed['changed'], removed['used_by'], removed['disk'], os.path.exists(path)) == \
        (True, ['vi3d-user'], None, False)


def test_request_resolves_pool_and_size(conn):
    module = FakeModule(pool='default-pool', name='x.vhd', size='1000B')
    request = disk_request(module.params, conn)
    assert (request['path'], request['size']) == ('/default-pool/x.vhd', 1024)
    with pytest.raises(VirtualIronError, match='vhd_type is for format vhd only'):
        disk_request(FakeModule(path='/x.raw', format='raw', vhd_type='fixed').params, conn)


def test_a_missing_source_is_a_clear_error(conn, tmp_path):
    with pytest.raises(VirtualIronError, match='source .*missing.raw does not exist'):
        task(conn, path=str(tmp_path / 'd.vhd'), source=str(tmp_path / 'missing.raw'))
