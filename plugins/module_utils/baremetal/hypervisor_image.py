# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stateless hypervisor image: the discovery image's kernel and an initramfs that holds a whole root with
libvirtd and QEMU, so that a node booted from the network runs as a libvirt host from memory, with nothing
installed on its disks.

The root is the Debian packages libvirt-daemon, libvirt-daemon-driver-qemu and qemu-system-x86 with everything
they depend on (Depends and Pre-Depends, no Recommends), fetched with apt-get download and unpacked with
dpkg-deb -x like the discovery image (no maintainer scripts run: /init and a few files of its own do what
they would), busybox for the shell, and the kernel modules a host needs. Documentation, manual pages and
translations are left out. build.json records what it was built from; it is rebuilt only when that changes.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import gzip
import hashlib
import itertools
import json
import os
import re
import stat

from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal.hypervisor_init import HYPERVISOR_INIT
from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal.image import (
    APT_ENV, MANIFEST, RAMDISK_MODULES, ImageBuilder, ImageConverger, _makedirs, _read, atomic_file, ramdisk_modules,
    write_atomic, write_cpio)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.command import Command, fixed, positional
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError

HYPERVISOR_FORMAT = 1  # bump when the layout of what is built changes
HYPERVISOR_PACKAGES = ('libvirt-daemon', 'libvirt-daemon-driver-qemu', 'qemu-system-x86')
SHELL_PACKAGE = 'busybox-static'
# Beyond the discovery ramdisk's: virtual NICs and switches of servers, and KVM where the CPU has it.
HYPERVISOR_MODULES = RAMDISK_MODULES + ('tun', 'bridge', 'vhost_net', 'kvm_intel', 'kvm_amd')
PRUNED = ('usr/share/doc', 'usr/share/man', 'usr/share/locale', 'usr/share/info', 'usr/share/lintian')
COMPRESS_LEVEL = 1  # measured: level 6 makes it 8 % smaller (72 MB, not 79) and takes 3.4 times as long (7.4 s, not 2.2)
# What the packages' maintainer scripts would add: the accounts QEMU runs as (libvirtd refuses to start without).
ACCOUNTS = {
    'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nlibvirt-qemu:x:64055:994:Libvirt Qemu:/var/lib/libvirt:/bin/false\n',
    'etc/group': 'root:x:0:\nkvm:x:994:libvirt-qemu\nlibvirt:x:995:\nlibvirt-qemu:x:64055:libvirt-qemu\n',
}
APT_CLOSURE = Command('apt-cache', dict(
    closure=fixed('depends', '--recurse', '--important', '--no-recommends', '--no-suggests', '--no-conflicts',
                  '--no-breaks', '--no-replaces', '--no-enhances'),
    packages=positional()), environ=APT_ENV)


# ---------------------------------------------------------------- pure

def dependency_closure(depends_text):
    """The packages `apt-cache depends --recurse` lists (each once, sorted), without virtual ones (<name>)."""
    names = set(re.findall(r'^([a-z0-9][a-z0-9+.-]*)$', depends_text, re.M))
    if not names:
        raise VirtualIronError('apt-cache listed no packages to build the hypervisor root from')
    return sorted(names)


def check_packages(names):
    """The package names asked for, checked: Debian names only (apt must never read one as an option)."""
    bad = [n for n in names if not re.match(r'^[a-z0-9][a-z0-9+.-]+$', n)]
    if bad or not names:
        raise VirtualIronError('packages must be Debian package names (lower-case letters, digits, + . -), got %s'
                               % (', '.join(repr(n) for n in bad) or 'none'))
    return list(names)


def hypervisor_sources(versions, kernel_package, roots):
    """What the image is built from; equal sources mean an equal image. roots: the packages asked for."""
    return {'format': HYPERVISOR_FORMAT, 'packages': dict(versions), 'kernel_package': kernel_package,
            'roots': list(roots), 'init_sha256': hashlib.sha256(HYPERVISOR_INIT.encode('utf-8')).hexdigest(),
            'modules': list(HYPERVISOR_MODULES)}


def pruned(path):
    """True for a path of the packages the image leaves out (relative, without a leading /)."""
    return any(path == p or path.startswith(p + '/') for p in PRUNED)


def own_entries(busybox, modules, kernel_version):
    """cpio entries of the image's own files: /init, the shell, accounts, kernel modules, device and links."""
    entries = [('dev', 0o40755, b'', (0, 0)), ('dev/console', 0o20600, b'', (5, 1)),
               ('bin', 0o40755, b'', (0, 0)), ('bin/busybox', 0o100755, busybox, (0, 0)),
               ('bin/sh', 0o120777, b'busybox', (0, 0)), ('init', 0o100755, HYPERVISOR_INIT.encode('utf-8'), (0, 0)),
               ('etc', 0o40755, b'', (0, 0)), ('tmp', 0o41777, b'', (0, 0)), ('run', 0o40755, b'', (0, 0)),
               ('var', 0o40755, b'', (0, 0)), ('var/run', 0o120777, b'/run', (0, 0)),
               ('etc/modules', 0o100644, ''.join(n + '\n' for n in modules).encode('ascii'), (0, 0)),
               ('etc/kernel-version', 0o100644, kernel_version.encode('ascii') + b'\n', (0, 0)),
               ('lib', 0o40755, b'', (0, 0)), ('lib/modules', 0o40755, b'', (0, 0))]
    entries += [(path, 0o100644, text.encode('ascii'), (0, 0)) for path, text in sorted(ACCOUNTS.items())]
    entries += [('lib/modules/%s.ko' % n, 0o100644, data, (0, 0)) for n, data in modules.items()]
    return entries


# ---------------------------------------------------------------- building

def tree_entries(tree, seen):
    """cpio entries of an extracted package's files (directories, files, links), in a stable order; a path in
    seen (set, updated) is skipped: the first package (or the image's own file) that has a path keeps it."""
    for top, dirs, files in os.walk(tree):
        relative = os.path.relpath(top, tree)
        links = [d for d in dirs if os.path.islink(os.path.join(top, d))]  # walked as files, not followed
        dirs[:] = sorted(d for d in dirs if d not in links and not pruned(_joined(relative, d)))
        names = ([] if relative == '.' else [relative]) + [_joined(relative, f) for f in sorted(files + links)]
        for path in names:
            if path not in seen and not pruned(path):
                seen.add(path)
                yield _entry(tree, path)


def _joined(relative, name):
    return name if relative == '.' else relative + '/' + name


def _entry(tree, path):
    full = os.path.join(tree, path)
    info = os.lstat(full)
    if stat.S_ISLNK(info.st_mode):
        return path, info.st_mode, os.readlink(full).encode('utf-8'), (0, 0)
    return path, info.st_mode, _read(full) if stat.S_ISREG(info.st_mode) else b'', (0, 0)


def file_digest(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


class HypervisorImageBuilder(ImageBuilder):
    """Builds the hypervisor image (vmlinuz, initrd.img, build.json) into dest from packages cached in cache_dir."""

    def __init__(self, run, dest, cache_dir, kernel_metapackage='linux-image-cloud-amd64',
                 packages=HYPERVISOR_PACKAGES):
        ImageBuilder.__init__(self, run, dest, cache_dir, kernel_metapackage)
        self.packages = check_packages(packages)

    def sources(self):
        kernel = self.kernel_package()
        _rc, out, _err = APT_CLOSURE.run(self.run, ['closure', 'packages'], packages=self.packages + [SHELL_PACKAGE],
                                         what='reading what %s depend on' % ', '.join(self.packages))
        return hypervisor_sources(self.versions([kernel] + dependency_closure(out)), kernel, self.packages)

    def build(self, sources):
        trees = self.extracted(sources['packages'])
        kernel_version = sources['kernel_package'][len('linux-image-'):]
        kernel_tree = trees.pop(sources['kernel_package'])
        own = own_entries(_read(os.path.join(trees[SHELL_PACKAGE], 'bin', 'busybox')),
                          ramdisk_modules(kernel_tree, kernel_version, HYPERVISOR_MODULES), kernel_version)
        _makedirs(self.dest)
        write_atomic(os.path.join(self.dest, 'vmlinuz'),
                     _read(os.path.join(kernel_tree, 'boot', 'vmlinuz-' + kernel_version)))
        with atomic_file(os.path.join(self.dest, 'initrd.img')) as raw:
            with gzip.GzipFile(fileobj=raw, mode='wb', mtime=0, compresslevel=COMPRESS_LEVEL) as out:
                write_cpio(out, self._entries(own, [trees[p] for p in sorted(trees)]))
        files = {}
        for name in ('vmlinuz', 'initrd.img'):
            path = os.path.join(self.dest, name)
            files[name] = {'size': os.path.getsize(path), 'sha256': file_digest(path)}
        manifest = {'sources': sources, 'kernel_version': kernel_version, 'files': files}
        write_atomic(os.path.join(self.dest, MANIFEST), json.dumps(manifest, indent=2, sort_keys=True).encode())
        return manifest

    @staticmethod
    def _entries(own, trees):
        seen = set(path for path, _mode, _data, _rdev in own)
        return itertools.chain(own, *[tree_entries(tree, seen) for tree in trees])  # generators: read as written


class HypervisorImageConverger(ImageConverger):
    """The hypervisor_image module: build the image when what it is built from changed. conn is run_command."""

    def describe(self, change):
        packages = change.new['packages']
        named = ', '.join('%s %s' % (p, packages[p]) for p in change.new['roots'] + [change.new['kernel_package']])
        return '%s (%d packages: %s)' % ('image built' if change.old is None else 'image rebuilt', len(packages), named)

    def _builder(self):
        return HypervisorImageBuilder(self.conn, self.params['path'], self.params['cache_dir'],
                                      self.params['kernel_package'], self.params['packages'])
