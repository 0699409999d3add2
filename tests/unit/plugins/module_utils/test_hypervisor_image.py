# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of baremetal/hypervisor_image.py: apt's dependency closure, what goes into the root, the built image."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import gzip
import json
import os
import subprocess

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal import hypervisor_image as hv
from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal.hypervisor_init import HYPERVISOR_INIT
from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal.ramdisk_init import NETWORK_UP
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.tests.unit.plugins.module_utils.test_image import parse_cpio

CLOSURE = '''libvirt-daemon
  Depends: libvirt0
 |Depends: debconf
  Depends: <debconf-2.0>
libvirt0
  Depends: libc6
<debconf-2.0>
debconf
libc6
libc6
busybox-static
'''


def test_dependency_closure():
    assert hv.dependency_closure(CLOSURE) == ['busybox-static', 'debconf', 'libc6', 'libvirt-daemon', 'libvirt0']
    with pytest.raises(VirtualIronError, match='listed no packages'):
        hv.dependency_closure('<debconf-2.0>\n  Depends: x\n')


@pytest.mark.parametrize('names, message', [
    (['--option'], "got '--option'"), (['ok', 'Bad'], "got 'Bad'"), (['a;b'], "got 'a;b'"), ([], 'got none'),
])
def test_check_packages_refuses(names, message):
    with pytest.raises(VirtualIronError, match=message):
        hv.check_packages(names)


def test_check_packages():
    assert hv.check_packages(('qemu-system-x86', 'libstdc++6', 'ovmf')) == ['qemu-system-x86', 'libstdc++6', 'ovmf']


@pytest.mark.parametrize('path, expected', [
    ('usr/share/doc', True), ('usr/share/doc/libc6/copyright', True), ('usr/share/locale/de/LC_MESSAGES/x.mo', True),
    ('usr/share/docs', False), ('usr/share/qemu/bios-256k.bin', False), ('usr/sbin/libvirtd', False), ('usr/share', False),
])
def test_pruned(path, expected):
    assert hv.pruned(path) is expected


def make_tree(root, files, links=()):
    for path, data in files.items():
        full = os.path.join(root, path)
        if not os.path.isdir(os.path.dirname(full)):
            os.makedirs(os.path.dirname(full))
        with open(full, 'wb') as handle:
            handle.write(data)
        os.chmod(full, 0o755 if '/bin/' in full else 0o644)
    for path, target in links:
        os.symlink(target, os.path.join(root, path))
    return str(root)


def test_tree_entries_skips_taken_and_pruned_paths(tmp_path):
    tree = make_tree(tmp_path, {'usr/bin/qemu': b'Q', 'usr/bin/taken': b'T', 'usr/share/doc/q/README': b'D',
                                'usr/lib/x/libq.so.1': b'L'},
                     [('usr/lib/x/libq.so', 'libq.so.1'), ('usr/lib64', 'lib')])
    seen = set(['usr/bin/taken'])
    entries = [(p, m & 0o170777, d) for p, m, d, _rdev in hv.tree_entries(tree, seen)]
    assert entries == [('usr', 0o40755, b''), ('usr/lib64', 0o120777, b'lib'), ('usr/bin', 0o40755, b''),
                       ('usr/bin/qemu', 0o100755, b'Q'), ('usr/lib', 0o40755, b''), ('usr/lib/x', 0o40755, b''),
                       ('usr/lib/x/libq.so', 0o120777, b'libq.so.1'), ('usr/lib/x/libq.so.1', 0o100644, b'L'),
                       ('usr/share', 0o40755, b'')]
    assert 'usr/lib/x/libq.so.1' in seen and 'usr/share/doc' not in seen


KO = b'\x00depends=virtio\x00'


@pytest.fixture
def built(tmp_path, monkeypatch):
    kernel = make_tree(tmp_path / 'kernel', {'boot/vmlinuz-6.1.0-x': b'KERNEL',
                                             'lib/modules/6.1.0-x/kernel/virtio_net.ko': KO,
                                             'lib/modules/6.1.0-x/kernel/virtio.ko': b'\x00depends=\x00',
                                             'lib/modules/6.1.0-x/kernel/tun.ko': b'\x00depends=\x00'})
    trees = {'linux-image-6.1.0-x': kernel,
             'busybox-static': make_tree(tmp_path / 'busybox', {'bin/busybox': b'BUSYBOX'}),
             'libvirt-daemon': make_tree(tmp_path / 'libvirt', {'usr/sbin/libvirtd': b'LIBVIRTD', 'etc/passwd': b'evil',
                                                                'usr/share/man/man8/libvirtd.8.gz': b'M'})}
    monkeypatch.setattr(hv.HypervisorImageBuilder, 'extracted', lambda self, versions: dict(trees))
    sources = hv.hypervisor_sources(dict((p, '1') for p in trees), 'linux-image-6.1.0-x', ['libvirt-daemon'])
    builder = hv.HypervisorImageBuilder(None, str(tmp_path / 'image'), str(tmp_path / 'cache'))
    return builder.build(sources), tmp_path / 'image'


def test_built_image(built):
    manifest, dest = built
    with gzip.open(str(dest / 'initrd.img')) as handle:
        entries = parse_cpio(handle.read())
    parsed = dict((e[0], e[1:]) for e in entries)
    assert len(parsed) == len(entries)  # each path once
    assert (dest / 'vmlinuz').read_bytes() == b'KERNEL'
    assert parsed['init'] == (0o100755, HYPERVISOR_INIT.encode('utf-8'), 0, 0)
    assert parsed['bin/sh'] == (0o120777, b'busybox', 0, 0) and parsed['bin/busybox'][1] == b'BUSYBOX'
    assert parsed['usr/sbin/libvirtd'][1] == b'LIBVIRTD'
    assert parsed['etc/passwd'][1] == hv.ACCOUNTS['etc/passwd'].encode('ascii')  # the image's own, not a package's
    assert parsed['etc/modules'][1] == b'virtio\nvirtio_net\ntun\n'
    assert parsed['var/run'] == (0o120777, b'/run', 0, 0) and parsed['tmp'][0] == 0o41777
    assert not [p for p in parsed if p.startswith('usr/share/man')]
    assert sorted(manifest['files']) == ['initrd.img', 'vmlinuz']
    assert manifest['files']['initrd.img']['size'] == os.path.getsize(str(dest / 'initrd.img'))
    assert json.loads((dest / 'build.json').read_text()) == manifest


def test_sources_and_rebuild(built, monkeypatch):
    manifest, dest = built
    outputs = {('apt-cache', 'depends', '--important'): 'linux-image-cloud-amd64\n  Depends: linux-image-6.1.0-x\n',
               ('apt-cache', 'depends', '--recurse'): 'libvirt-daemon\nbusybox-static\n',
               ('apt-cache', 'policy', 'linux-image-6.1.0-x'): ''.join(
                   '%s:\n  Installed: (none)\n  Candidate: 1\n' % p
                   for p in ('linux-image-6.1.0-x', 'busybox-static', 'libvirt-daemon'))}

    def run(argv, **_kw):
        return 0, outputs[tuple(argv[:3])], ''
    params = dict(path=str(dest), cache_dir='/nowhere', kernel_package='linux-image-cloud-amd64',
                  packages=['libvirt-daemon'], force=False)
    assert hv.HypervisorImageConverger(run, params, False).run()['changed'] is False
    monkeypatch.setattr(hv, 'HYPERVISOR_FORMAT', 2)
    result = hv.HypervisorImageConverger(run, params, True).run()
    assert result['changes'] == ['image rebuilt (3 packages: libvirt-daemon 1, linux-image-6.1.0-x 1)']


def test_init_is_a_shell_script_with_the_shared_network_part():
    assert NETWORK_UP in HYPERVISOR_INIT and HYPERVISOR_INIT.startswith('#!/bin/sh\n')
    assert subprocess.run(['sh', '-n'], input=HYPERVISOR_INIT.encode('utf-8'), check=False).returncode == 0
