# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of baremetal/image.py: apt's answers, kernel module order, the initramfs archive, rebuild decisions."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import gzip
import json
import os

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal import image
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError

DEPENDS = '''linux-image-cloud-amd64
  Depends: linux-image-6.1.0-57-cloud-amd64
'''
POLICY = '''linux-image-6.1.0-57-cloud-amd64:
  Installed: (none)
  Candidate: 6.1.192-3
  Version table:
busybox-static:
  Installed: 1:1.35.0-4
  Candidate: 1:1.35.0-4+deb12u1+b1
ipxe:
  Installed: (none)
  Candidate: (none)
'''


def test_kernel_dependency():
    assert image.kernel_dependency(DEPENDS, 'linux-image-cloud-amd64') == 'linux-image-6.1.0-57-cloud-amd64'
    with pytest.raises(VirtualIronError, match='no linux-image-VERSION'):
        image.kernel_dependency('busybox\n  Depends: libc6\n', 'busybox')


def test_candidate_versions():
    assert image.candidate_versions(POLICY, ['busybox-static', 'linux-image-6.1.0-57-cloud-amd64']) == {
        'busybox-static': '1:1.35.0-4+deb12u1+b1', 'linux-image-6.1.0-57-cloud-amd64': '6.1.192-3'}
    with pytest.raises(VirtualIronError, match='no installable version of ipxe, pxelinux'):
        image.candidate_versions(POLICY, ['ipxe', 'pxelinux'])


@pytest.mark.parametrize('names, expected', [
    (['busybox-static_1%3a1.35.0-4+deb12u1+b1_amd64.deb'], 'busybox-static_1%3a1.35.0-4+deb12u1+b1_amd64.deb'),
    (['busybox-static_1%3a1.35.0-4_amd64.deb'], None),                 # another version
    (['busybox-static_1%3a1.35.0-4+deb12u1+b1_amd64.deb.part'], None),  # an unfinished download
])
def test_deb_file_name(names, expected):
    assert image.deb_file_name('busybox-static', '1:1.35.0-4+deb12u1+b1', names) == expected


@pytest.mark.parametrize('ko, deps', [
    (b'\x7fELF...\x00license=GPL\x00depends=virtio,virtio_ring\x00name=virtio_net\x00', ['virtio', 'virtio_ring']),
    (b'\x00depends=\x00name=virtio\x00', []),
    (b'no modinfo at all', []),
])
def test_module_dependencies(ko, deps):
    assert image.module_dependencies(ko) == deps


def test_load_order():
    deps = {'virtio_net': ['net_failover', 'virtio'], 'net_failover': ['failover'], 'failover': [], 'virtio': [],
            'virtio_blk': ['virtio']}
    assert image.load_order(['virtio_net', 'virtio_blk', 'sd_mod'], deps) == [
        'failover', 'net_failover', 'virtio', 'virtio_net', 'virtio_blk']   # sd_mod: built in, nothing to load
    with pytest.raises(VirtualIronError, match='a -> b -> a'):
        image.load_order(['a'], {'a': ['b'], 'b': ['a']})


def parse_cpio(data):
    """(name, mode, data, rdevmajor, rdevminor) of a newc archive, read the way the kernel does."""
    entries, offset = [], 0
    while True:
        assert data[offset:offset + 6] == b'070701'
        fields = [int(data[offset + 6 + 8 * i:offset + 14 + 8 * i], 16) for i in range(13)]
        namesize, filesize = fields[11], fields[6]
        name_start = offset + 110
        name = data[name_start:name_start + namesize - 1].decode()
        body = name_start + namesize + (-(110 + namesize) % 4)
        if name == 'TRAILER!!!':
            return entries
        entries.append((name, fields[1], data[body:body + filesize], fields[9], fields[10]))
        offset = body + filesize + (-filesize % 4)


def test_ramdisk_archive():
    entries = image.ramdisk_entries(b'BUSYBOX', {'virtio': b'k1', 'virtio_net': b'k22'}, '6.1.0-57-cloud-amd64')
    archive = image.gzip_bytes(image.cpio_newc(entries))
    assert archive == image.gzip_bytes(image.cpio_newc(entries))   # the same input makes the same bytes
    parsed = dict((e[0], e[1:]) for e in parse_cpio(gzip.decompress(archive)))
    assert parsed['dev/console'] == (0o20600, b'', 5, 1)
    assert parsed['bin/sh'] == (0o120777, b'busybox', 0, 0)
    assert parsed['bin/busybox'] == (0o100755, b'BUSYBOX', 0, 0)
    assert parsed['etc/modules'][1] == b'virtio\nvirtio_net\n'
    assert parsed['lib/modules/virtio_net.ko'][1] == b'k22'
    assert parsed['init'][0] == 0o100755 and parsed['init'][1].startswith(b'#!/bin/sh\n')


SOURCES = {'format': 1, 'packages': {'ipxe': '1'}, 'kernel_package': 'linux-image-x', 'init_sha256': 'aa',
           'modules': []}


class FakeBuilder(image.ImageBuilder):
    builds = 0

    def sources(self):
        return dict(SOURCES, packages={'ipxe': self.cache_dir})

    def build(self, sources):
        FakeBuilder.builds += 1
        with open(os.path.join(self.dest, 'vmlinuz'), 'wb') as handle:
            handle.write(b'kernel')
        manifest = {'sources': sources, 'kernel_version': 'x', 'files': {'vmlinuz': {'size': 6, 'sha256': 's'}}}
        with open(os.path.join(self.dest, image.MANIFEST), 'w') as handle:
            json.dump(manifest, handle)
        return manifest


def converge(tmp_path, monkeypatch, version='1', check_mode=False, force=False):
    monkeypatch.setattr(image, 'ImageBuilder', FakeBuilder)
    params = dict(path=str(tmp_path), cache_dir=version, kernel_package='linux-image-cloud-amd64', force=force)
    return image.ImageConverger(None, params, check_mode).run()


def test_rebuilt_only_when_sources_change(tmp_path, monkeypatch):
    FakeBuilder.builds = 0
    assert converge(tmp_path, monkeypatch, check_mode=True)['changed'] and FakeBuilder.builds == 0
    first = converge(tmp_path, monkeypatch)
    assert first['changes'] == ['image built (ipxe 1)'] and FakeBuilder.builds == 1
    assert first['image']['files']['vmlinuz'] == {'size': 6, 'sha256': 's', 'path': str(tmp_path / 'vmlinuz')}
    assert not converge(tmp_path, monkeypatch)['changed'] and FakeBuilder.builds == 1
    assert converge(tmp_path, monkeypatch, version='2')['changes'] == ['image rebuilt (ipxe 2)']
    assert converge(tmp_path, monkeypatch, version='2', force=True)['changed'] and FakeBuilder.builds == 3
    (tmp_path / 'vmlinuz').write_bytes(b'truncated')   # a built file that changed size is built again
    assert converge(tmp_path, monkeypatch, version='2')['changes'] == ['image built (ipxe 2)']
