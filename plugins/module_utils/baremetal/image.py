# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The discovery image: a kernel, a busybox ramdisk whose /init reports the node's hardware, and the iPXE and
pxelinux boot files, all built from Debian packages (apt-get download + dpkg-deb -x, nothing installed).

What an image was built from (package versions, the hash of /init, this builder's format) is kept in
build.json next to it: a build whose sources did not change is not redone. Downloaded packages and their
extracted trees stay in a cache directory, so a rebuild does not download again.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import gzip
import hashlib
import io
import itertools
import json
import os
import re
import shutil
import tempfile

from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal.ramdisk_init import INIT_SCRIPT
from ansible_collections.virtualiron.infra.plugins.module_utils.common.converger import Converger
from ansible_collections.virtualiron.infra.plugins.module_utils.common.command import Command, fixed, positional
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError

BUILDER_FORMAT = 1  # bump when the layout of what is built changes
# The options of the modules that build a boot image (discovery_image, hypervisor_image): the same kernel and cache.
IMAGE_ARGUMENT_SPEC = dict(
    path=dict(type='path', required=True),
    cache_dir=dict(type='path', default='~/.cache/virtualiron/discovery'),
    kernel_package=dict(type='str', default='linux-image-cloud-amd64'),
    force=dict(type='bool', default=False),
)
MANIFEST = 'build.json'
BOOT_PACKAGES = ('busybox-static', 'ipxe', 'pxelinux', 'syslinux-common')
# Modules the ramdisk loads (with what they depend on): virtio NICs and disks, as QEMU/KVM nodes have.
RAMDISK_MODULES = ('virtio_pci', 'virtio_net', 'virtio_blk', 'virtio_scsi', 'sd_mod')
# Built file -> (package, path inside it). The kernel's path is filled in with its version.
BOOT_FILES = {
    'undionly.kpxe': ('ipxe', 'usr/lib/ipxe/undionly.kpxe'),
    'ipxe.efi': ('ipxe', 'boot/ipxe.efi'),  # usr/lib/ipxe/ipxe.efi is a link to it
    'pxelinux.0': ('pxelinux', 'usr/lib/PXELINUX/pxelinux.0'),
    'lpxelinux.0': ('pxelinux', 'usr/lib/PXELINUX/lpxelinux.0'),
    'ldlinux.c32': ('syslinux-common', 'usr/lib/syslinux/modules/bios/ldlinux.c32'),
}
APT_ENV = {'LC_ALL': 'C'}
APT_CACHE = Command('apt-cache', dict(depends=fixed('depends', '--important'), policy=fixed('policy'),
                                      packages=positional()), environ=APT_ENV)
APT_GET = Command('apt-get', dict(download=fixed('-q', 'download'), packages=positional()), environ=APT_ENV)
DPKG_DEB = Command('dpkg-deb', dict(extract=fixed('-x'), deb=positional(), dest=positional()))


# ---------------------------------------------------------------- pure: apt's answers, sources, archives

def kernel_dependency(depends_text, metapackage):
    """The versioned kernel package a metapackage (linux-image-cloud-amd64) depends on, from `apt-cache depends`."""
    found = re.search(r'^\s*Depends:\s*(linux-image-[0-9][^\s<>]*)\s*$', depends_text, re.M)
    if not found:
        raise VirtualIronError('%s depends on no linux-image-VERSION package; is it a kernel metapackage?'
                               % metapackage)
    return found.group(1)


def candidate_versions(policy_text, packages):
    """package -> candidate version, from `apt-cache policy PACKAGES`; a package without one is an error."""
    versions = dict(re.findall(r'^(\S+):\n\s+Installed:.*\n\s+Candidate:\s*(\S+)', policy_text, re.M))
    missing = [p for p in packages if versions.get(p) in (None, '(none)')]
    if missing:
        raise VirtualIronError('no installable version of %s: run apt-get update, or add the Debian archive that '
                               'has them to the apt sources' % ', '.join(missing))
    return dict((p, versions[p]) for p in packages)


def deb_file_name(package, version, names):
    """The .deb apt-get download made for package=version among names (apt writes ':' as %3a)."""
    prefix = '%s_%s_' % (package, version.replace(':', '%3a'))
    found = sorted(n for n in names if n.startswith(prefix) and n.endswith('.deb'))
    return found[0] if found else None


def wanted_sources(versions, kernel_package):
    """What an image is built from; equal sources mean an equal image."""
    return {'format': BUILDER_FORMAT, 'packages': dict(versions), 'kernel_package': kernel_package,
            'init_sha256': hashlib.sha256(INIT_SCRIPT.encode('utf-8')).hexdigest(),
            'modules': list(RAMDISK_MODULES)}


def module_dependencies(ko_bytes):
    """The modules a kernel module (.ko) depends on, from the depends= entry of its .modinfo section."""
    found = re.search(b'(?:^|\x00)depends=([^\x00]*)\x00', ko_bytes)
    return [d.decode('ascii') for d in found.group(1).split(b',') if d] if found else []


def load_order(wanted, dependencies):
    """Modules in an order insmod can load them: each after what it depends on. dependencies: name -> [names];
    a name missing from it is built into the kernel (nothing to load)."""
    order, seen = [], set()

    def visit(name, path):
        if name in seen or name not in dependencies:
            return
        if name in path:
            raise VirtualIronError('kernel modules depend on each other in a cycle: %s' % ' -> '.join(path + [name]))
        for dep in dependencies[name]:
            visit(dep, path + [name])
        seen.add(name)
        order.append(name)

    for name in wanted:
        visit(name, [])
    return order


def cpio_newc(entries):
    """A cpio archive (newc, as the kernel unpacks an initramfs) of entries: (path, mode, data, rdev) with
    data bytes (a link's target for a symbolic link), rdev (major, minor) for device nodes. Owners are root,
    times 0: the same entries make the same bytes."""
    out = io.BytesIO()
    write_cpio(out, entries)
    return out.getvalue()


def write_cpio(out, entries):
    """Write the cpio archive of entries (see cpio_newc) to the file object out, one entry at a time: entries may
    be a generator, so that an archive larger than memory is never held whole."""
    trailer = [('TRAILER!!!', 0, b'', (0, 0))]
    for ino, (path, mode, data, rdev) in enumerate(itertools.chain(entries, trailer), 1):
        name = path.encode('utf-8') + b'\x00'
        fields = (ino if path != 'TRAILER!!!' else 0, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1],
                  len(name), 0)
        out.write(b'070701' + b''.join(b'%08X' % f for f in fields) + name)
        out.write(b'\x00' * (-(110 + len(name)) % 4) + data + b'\x00' * (-len(data) % 4))


# ---------------------------------------------------------------- the ramdisk

def ramdisk_entries(busybox, modules, kernel_version):
    """cpio entries of the discovery ramdisk: busybox, /init, the kernel modules (name -> bytes, in load order)
    and /dev/console, which the kernel opens for init before any file system is mounted."""
    directories = ('bin', 'dev', 'etc', 'lib', 'lib/modules', 'proc', 'sys', 'tmp', 'run', 'sbin')
    entries = [(d, 0o40755, b'', (0, 0)) for d in directories]
    entries += [('dev/console', 0o20600, b'', (5, 1)), ('bin/busybox', 0o100755, busybox, (0, 0)),
                ('bin/sh', 0o120777, b'busybox', (0, 0)), ('init', 0o100755, INIT_SCRIPT.encode('utf-8'), (0, 0)),
                ('etc/modules', 0o100644, ''.join(n + '\n' for n in modules).encode('ascii'), (0, 0)),
                ('etc/kernel-version', 0o100644, kernel_version.encode('ascii') + b'\n', (0, 0))]
    entries += [('lib/modules/%s.ko' % n, 0o100644, data, (0, 0)) for n, data in modules.items()]
    return entries


def gzip_bytes(data):
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode='wb', mtime=0) as handle:
        handle.write(data)
    return out.getvalue()


def find_modules(tree, kernel_version):
    """name -> path of every kernel module in an extracted kernel package (names with '-' as '_', as the kernel)."""
    found = {}
    for top, _dirs, files in os.walk(os.path.join(tree, 'lib', 'modules', kernel_version)):
        for f in files:
            if f.endswith('.ko'):
                found[f[:-3].replace('-', '_')] = os.path.join(top, f)
    return found


def ramdisk_modules(tree, kernel_version, wanted=RAMDISK_MODULES):
    """The wanted modules and their dependencies, name -> bytes in load order."""
    paths = find_modules(tree, kernel_version)
    data = {}
    pending = [m for m in wanted if m in paths]
    while pending:
        name = pending.pop()
        if name not in data:
            with open(paths[name], 'rb') as handle:
                data[name] = handle.read()
            pending.extend(d for d in module_dependencies(data[name]) if d in paths)
    dependencies = dict((n, [d for d in module_dependencies(b) if d in paths]) for n, b in data.items())
    return dict((n, data[n]) for n in load_order(wanted, dependencies))


# ---------------------------------------------------------------- building

class ImageBuilder(object):
    """Builds the discovery image into dest from Debian packages cached in cache_dir. run: run_command-like."""

    def __init__(self, run, dest, cache_dir, kernel_metapackage='linux-image-cloud-amd64'):
        self.run, self.dest, self.cache_dir = run, dest, cache_dir
        self.kernel_metapackage = kernel_metapackage

    def sources(self):
        """What the image would be built from now (apt's candidate versions; nothing downloaded)."""
        kernel = self.kernel_package()
        packages = [kernel] + list(BOOT_PACKAGES)
        return wanted_sources(self.versions(packages), kernel)

    def kernel_package(self):
        """The versioned kernel package the kernel metapackage depends on now."""
        _rc, out, _err = APT_CACHE.run(self.run, ['depends', 'packages'], packages=[self.kernel_metapackage],
                                       what='reading the kernel package of %s' % self.kernel_metapackage)
        return kernel_dependency(out, self.kernel_metapackage)

    def versions(self, packages):
        """package -> apt's candidate version."""
        _rc, out, _err = APT_CACHE.run(self.run, ['policy', 'packages'], packages=packages,
                                       what='reading package versions')
        return candidate_versions(out, packages)

    def built(self):
        """The manifest of the image in dest, or None when there is none or a file of it is gone."""
        try:
            with open(os.path.join(self.dest, MANIFEST)) as handle:
                manifest = json.load(handle)
            files = manifest['files']
        except (IOError, OSError, ValueError, KeyError, TypeError):
            return None
        for name, info in files.items():
            path = os.path.join(self.dest, name)
            if not os.path.isfile(path) or os.path.getsize(path) != info.get('size'):
                return None
        return manifest

    def build(self, sources):
        """Build the image for sources into dest; returns its manifest."""
        trees = self.extracted(sources['packages'])
        kernel_version = sources['kernel_package'][len('linux-image-'):]
        kernel_tree = trees[sources['kernel_package']]
        files = {'vmlinuz': _read(os.path.join(kernel_tree, 'boot', 'vmlinuz-' + kernel_version)),
                 'initrd.img': gzip_bytes(cpio_newc(ramdisk_entries(
                     _read(os.path.join(trees['busybox-static'], 'bin', 'busybox')),
                     ramdisk_modules(kernel_tree, kernel_version), kernel_version)))}
        for name, (package, path) in BOOT_FILES.items():
            files[name] = _read(os.path.join(trees[package], path))
        manifest = {'sources': sources, 'kernel_version': kernel_version,
                    'files': dict((n, {'size': len(b), 'sha256': hashlib.sha256(b).hexdigest()})
                                  for n, b in files.items())}
        _makedirs(self.dest)
        for name, data in sorted(files.items()):
            write_atomic(os.path.join(self.dest, name), data)
        write_atomic(os.path.join(self.dest, MANIFEST), json.dumps(manifest, indent=2, sort_keys=True).encode())
        return manifest

    def extracted(self, versions):
        """package -> the directory package=version is extracted in, for versions (package -> version); what is
        not cached yet is downloaded in one apt-get call (an image of a hundred packages needs one, not a hundred)."""
        debs = os.path.join(self.cache_dir, 'debs')
        _makedirs(debs)
        names = os.listdir(debs)
        missing = ['%s=%s' % (p, v) for p, v in sorted(versions.items())
                   if not os.path.isdir(self._tree(p, v)) and deb_file_name(p, v, names) is None]
        if missing:
            APT_GET.run(lambda argv, **kw: self.run(argv, cwd=debs, **kw), ['download', 'packages'], packages=missing,
                        what='downloading %s' % ', '.join(missing))
        return dict((p, self._extracted(p, v, debs)) for p, v in versions.items())

    def _tree(self, package, version):
        return os.path.join(self.cache_dir, 'trees', '%s_%s' % (package, version.replace(':', '%3a')))

    def _extracted(self, package, version, debs):
        """The directory a package=version is extracted in, extracting it from its downloaded .deb once."""
        tree = self._tree(package, version)
        if os.path.isdir(tree):
            return tree
        deb = deb_file_name(package, version, os.listdir(debs))
        if deb is None:
            raise VirtualIronError('apt-get download made no .deb for %s=%s in %s' % (package, version, debs))
        _makedirs(os.path.dirname(tree))
        work = tempfile.mkdtemp(prefix='.extract-', dir=os.path.dirname(tree))
        try:
            DPKG_DEB.run(self.run, ['extract', 'deb', 'dest'], deb=os.path.join(debs, deb), dest=work,
                         what='extracting %s' % deb)
            os.rename(work, tree)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return tree


def _read(path):
    """A file of an extracted package, never through a link: a package's absolute link would lead out of its tree."""
    try:
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), 'rb') as handle:
            return handle.read()
    except (IOError, OSError) as e:
        raise VirtualIronError('cannot read %s from the extracted packages: %s' % (path, e.strerror))


def _makedirs(path):
    if not os.path.isdir(path):
        os.makedirs(path)


def write_atomic(path, data, mode=0o644):
    """Write data to path through a temporary file and a rename, world-readable by default (dnsmasq serves TFTP
    as nobody): a reader never sees half a file."""
    with atomic_file(path, mode) as handle:
        handle.write(data)


@contextlib.contextmanager
def atomic_file(path, mode=0o644):
    """A file object whose content replaces path (with mode) when the block ends without an error, else is dropped."""
    fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, 'wb') as handle:
            yield handle
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class ImageConverger(Converger):
    """The discovery_image module: build the image when what it is built from changed. conn is run_command."""

    result_key = 'image'

    def read(self):
        return describe_image(self.params['path'], self._builder().built())

    def converge(self, before):
        builder = self._builder()
        sources = builder.sources()
        if before is not None and before['sources'] == sources and not self.params['force']:
            return before
        self.changes.add('image', None if before is None else before['sources'], sources)
        if self.check_mode:
            return before
        return describe_image(self.params['path'], builder.build(sources))

    def describe(self, change):
        packages = ', '.join('%s %s' % item for item in sorted(change.new['packages'].items()))
        return '%s (%s)' % ('image built' if change.old is None else 'image rebuilt', packages)

    def _builder(self):
        return ImageBuilder(self.conn, self.params['path'], self.params['cache_dir'], self.params['kernel_package'])


def describe_image(path, manifest):
    """The module's view of a built image (None: nothing built)."""
    if manifest is None:
        return None
    files = dict((n, dict(info, path=os.path.join(path, n))) for n, info in manifest['files'].items())
    return {'path': path, 'kernel_version': manifest['kernel_version'], 'sources': manifest['sources'],
            'files': files}
