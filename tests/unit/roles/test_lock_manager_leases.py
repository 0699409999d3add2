# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role lock_manager's lease check (roles/lock_manager/files/lease_check.py): which running servers hold no
lease of lockd."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest

from ansible_collections.virtualiron.infra.tests.unit.loader import load

lease_check = load('lease_check', 'roles', 'lock_manager', 'files', 'lease_check.py')

LOCKS = """\
1: POSIX  ADVISORY  WRITE 25312 fe:00:2302784 0 0
1: -> POSIX  ADVISORY  WRITE 25400 fe:00:2302785 0 0
2: OFDLCK ADVISORY  READ -1 fe:00:2302842 100 101
3: FLOCK  ADVISORY  WRITE 812 00:19:1043 0 EOF
4: POSIX  ADVISORY  READ 26084 00:2d:63 0 EOF
5: POSIX  ADVISORY  WRITE 1 zz:00:1 0 0
"""


def test_posix_locks_only():
    # QEMU's own OFD locks, flock locks and waiters do not count; hex device numbers, decimal inodes.
    assert lease_check.posix_locks(LOCKS) == {(0xfe, 0, 2302784), (0, 0x2d, 63)}


def domain(disks):
    return '<domain><name>s</name><devices>%s<interface type="network"/></devices></domain>' % ''.join(disks)


@pytest.mark.parametrize('disks, expected', [
    (['<disk type="file" device="disk"><source file="/s/a.raw"/></disk>'], ['/s/a.raw']),
    (['<disk type="file"><source file="/s/a.raw"/></disk>',
      '<disk type="file" device="disk"><source file="/s/b.qcow2"/></disk>'], ['/s/a.raw', '/s/b.qcow2']),
    (['<disk type="file" device="cdrom"><source file="/s/cd.iso"/><readonly/></disk>'], []),
    (['<disk type="file" device="disk"><source file="/s/ro.raw"/><readonly/></disk>'], []),
    (['<disk type="block" device="disk"><source dev="/dev/sdb"/></disk>'], []),
    (['<disk type="file" device="cdrom"/>'], []),
    (['<disk type="file" device="disk"/>'], []),
    ([], []),
])
def test_leased_disks(disks, expected):
    assert lease_check.leased_disks(domain(disks)) == expected


@pytest.mark.parametrize('lockspace, expected', [
    ('/shared/lockspace', '/shared/lockspace/c95fa415d1cf493c276675e79518bd656a17d6943ddabcbd371a5bfaa5f3f9d1'),
    ('', '/tmp/lockd-spike/shared/disk.raw'),
])
def test_lease_path(lockspace, expected):
    # The name the spike's virtlockd gave the lease of /tmp/lockd-spike/shared/disk.raw.
    assert lease_check.lease_path('/tmp/lockd-spike/shared/disk.raw', lockspace) == expected


def test_unleased():
    keys = {'/ls/' + lease_check.hashlib.sha256(p.encode()).hexdigest(): k
            for p, k in (('/d/a', (1, 0, 1)), ('/d/b', (1, 0, 2)), ('/d/c', (1, 0, 3)))}
    servers = {'web': ['/d/a', '/d/b'], 'db': ['/d/c'], 'old': ['/d/a', '/d/x'], 'diskless': []}
    held = {(1, 0, 1), (1, 0, 2)}
    assert lease_check.unleased(servers, held, '/ls', key=keys.get) == [
        {'name': 'db', 'disks': ['/d/c']}, {'name': 'old', 'disks': ['/d/x']}]


def test_file_key(tmp_path):
    path = tmp_path / 'lease'
    assert lease_check.file_key(str(path)) is None
    path.write_text('')
    st = os.stat(str(path))
    assert lease_check.file_key(str(path)) == (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
