# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""virtual_switch_hook: installs the collection's network hook, idempotently, and tells only libvirt daemons."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import subprocess
import sys

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.switch import hook_installer
from ansible_collections.virtualiron.infra.plugins.modules.virtual_switch_hook import main


def args(tmp_path, **extra):
    return dict({'hooks_dir': str(tmp_path), 'interpreter': sys.executable, 'pid_files': []}, **extra)


def test_install_is_idempotent_and_the_hook_runs(run_main, tmp_path):
    first = run_main(main, args(tmp_path))
    hook = tmp_path / 'network.d' / 'virtualiron-switch'
    assert (first.failed, first.result['changed'], first.result['changes'], first.result['path']) == \
        (False, True, ['installed'], str(hook))
    assert 'diff' not in first.result
    assert os.access(str(hook), os.X_OK)
    assert hook.read_bytes().startswith(b'#!' + sys.executable.encode() + b'\n')
    again = run_main(main, args(tmp_path, _ansible_diff=True)).result
    assert (again['changed'], again['changes']) == (False, [])
    assert again['diff']['before'] == again['diff']['after'] == hook.read_text()
    ran = subprocess.run([str(hook), 'lan', 'start', 'begin', '-'], input=b'<hookData><network/></hookData>',
                         check=False)
    assert ran.returncode == 0


def test_check_mode_writes_nothing(run_main, tmp_path):
    result = run_main(main, args(tmp_path, _ansible_check_mode=True)).result
    assert result['changed'] and not (tmp_path / 'network.d').exists()


def test_a_non_executable_hook_is_fixed(run_main, tmp_path):
    run_main(main, args(tmp_path))
    hook = tmp_path / 'network.d' / 'virtualiron-switch'
    hook.chmod(0o644)
    assert run_main(main, args(tmp_path)).result['changes'] == ['made executable']
    assert os.access(str(hook), os.X_OK)


def test_absent_removes_it(run_main, tmp_path):
    run_main(main, args(tmp_path))
    assert run_main(main, args(tmp_path, state='absent')).result['changes'] == ['removed']
    assert not (tmp_path / 'network.d' / 'virtualiron-switch').exists()
    assert run_main(main, args(tmp_path, state='absent')).result['changed'] is False


def test_missing_interpreter_is_refused(run_main, tmp_path):
    exited = run_main(main, args(tmp_path, interpreter=str(tmp_path / 'python9')))
    assert exited.failed
    assert 'is not on this host: set interpreter to its Python 3' in exited.result['msg']
    assert not (tmp_path / 'network.d').exists()


def test_only_libvirt_daemons_are_signalled(run_main, tmp_path, monkeypatch):
    not_libvirt = tmp_path / 'other.pid'
    not_libvirt.write_text(u'%d\n' % os.getpid())      # this test's Python: never signalled
    stale = tmp_path / 'stale.pid'
    stale.write_text(u'garbage')
    signalled = []
    monkeypatch.setattr(hook_installer.os, 'kill', lambda pid, sig: signalled.append(pid))
    result = run_main(main, args(tmp_path / 'hooks', pid_files=[str(not_libvirt), str(stale),
                                                                str(tmp_path / 'none.pid')])).result
    assert (result['changed'], result['reloaded'], signalled) == (True, [], [])
    with open('/proc/self/comm') as f:
        monkeypatch.setattr(hook_installer, 'HOOK_DAEMONS', (f.read().strip(),))   # as if it were one
    result = run_main(main, args(tmp_path / 'hooks', state='absent', pid_files=[str(not_libvirt)])).result
    assert (result['reloaded'], signalled) == ([str(not_libvirt)], [os.getpid()])


def test_a_failed_install_leaves_no_file_behind(run_main, tmp_path, monkeypatch):
    run_main(main, args(tmp_path))
    hook = tmp_path / 'network.d' / 'virtualiron-switch'
    hook.write_bytes(b'#!/bin/sh\n# an older hook\n')
    renamed = []

    def rename(source, target):
        renamed.append(source)
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(hook_installer.os, 'rename', rename)
    exited = run_main(main, args(tmp_path))
    assert exited.failed and renamed
    assert 'No space left on device' in exited.result['msg']
    assert os.listdir(str(tmp_path / 'network.d')) == ['virtualiron-switch']
    assert hook.read_bytes() == b'#!/bin/sh\n# an older hook\n'


@pytest.mark.parametrize('kind', ['symlink', 'directory', 'fifo'])
def test_something_else_at_the_hook_path_is_refused(run_main, tmp_path, kind):
    directory = tmp_path / 'network.d'
    directory.mkdir()
    hook = directory / 'virtualiron-switch'
    secret = tmp_path / 'secret'
    secret.write_text(u'root:x:0:0\n')
    {'symlink': lambda: hook.symlink_to(secret), 'directory': hook.mkdir, 'fifo': lambda: os.mkfifo(str(hook))}[kind]()
    exited = run_main(main, args(tmp_path, _ansible_diff=True))
    assert exited.failed
    assert exited.result['msg'].startswith('the network hook %s is ' % hook)
    assert 'root:x' not in str(exited.result)
    assert os.listdir(str(directory)) == ['virtualiron-switch']
    assert secret.read_text() == u'root:x:0:0\n'
