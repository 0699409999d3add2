# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Virtual disk images: the file work that virtual_disk does on the machine where it runs (qemu-img,
and the VHD library for what qemu-img cannot do), and what a libvirt host knows about a disk (which
servers use it; a VHD's footer, read through a libvirt storage volume stream for remote hosts).

`run` arguments are AnsibleModule.run_command-like: run(argv, environ_update=...) -> (rc, stdout, stderr).
Every command line is declared once, below, with common.command.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import stat
import uuid

from ansible_collections.virtualiron.infra.plugins.module_utils.common.command import (
    Command, fixed, option, positional)
from ansible_collections.virtualiron.infra.plugins.module_utils.disk import vhd
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    VirtualIronError, libvirt, server_definitions)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.libvirt_xml import parse_xml
from ansible_collections.virtualiron.infra.plugins.module_utils.storage import pools as storage
from ansible_collections.virtualiron.infra.plugins.module_utils.server.domain_xml import parse_disk
from ansible_collections.virtualiron.infra.plugins.module_utils.storage.pool_xml import (
    FILE_POOL_TYPES, check_pool_directory, parse_pool_xml)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.validation import (
    check_file_kind, check_file_name, file_kind, path_inside)

QEMU_FORMATS = {'vhd': 'vpc', 'qcow2': 'qcow2', 'raw': 'raw'}

QEMU_IMG_FORMATS = dict(
    info=fixed('info'), create=fixed('create'), convert=fixed('convert'), resize=fixed('resize'),
    quiet=fixed('-q'), format=option('-f'), output_format=option('-O'), options=option('-o'),
    force_share=fixed('-U'), json=fixed('--output=json'), image=positional(), target=positional(),
    size=positional())
QEMU_IMG = Command('qemu-img', QEMU_IMG_FORMATS)
# qemu-img reads image headers that may come from a guest or a download: as OpenStack does (nova's
# QEMU_IMG_LIMITS through oslo.concurrency), `qemu-img info` runs with at most 1 GiB of address space and
# 30 s of CPU time, so that a crafted header cannot exhaust the machine's memory or spin.
QEMU_IMG_LIMITED = Command('qemu-img', QEMU_IMG_FORMATS, prefix=['prlimit', '--as=%d' % 1024 ** 3, '--cpu=30'])
# The command lines, in their argument order.
INFO = ('info', 'format', 'force_share', 'json', 'image')
CREATE = ('create', 'quiet', 'format', 'options', 'image', 'size')
CONVERT = ('convert', 'quiet', 'format', 'output_format', 'options', 'image', 'target')
RESIZE = ('resize', 'quiet', 'format', 'image', 'size')
# Its message is read (for 'lock'), so it must be in English.
QEMU_IO = Command('qemu-io', dict(format=option('-f'), command=option('-c'), image=positional()),
                  environ={'LC_ALL': 'C'})
LOCK_PROBE = ('format', 'command', 'image')
LOSETUP = Command('losetup', dict(capacity=fixed('-c'), device=positional()))
REREAD_CAPACITY = ('capacity', 'device')


def is_block_device(path):
    return stat.S_ISBLK(os.stat(path).st_mode)


def check_disk_kind(path, what):
    """'missing', 'file' or 'block': what virtual_disk works on. Anything else (a character device such
    as /dev/null, a FIFO, a socket, a directory) is refused. A symbolic link is followed only under /dev
    to a block device (the names LVM and udev give devices); any other link is refused, so that a link
    planted in a pool cannot make a task grow, overwrite or delete its target."""
    if (file_kind(path) == 'symlink' and path.startswith('/dev/')
            and file_kind(os.path.realpath(path)) == 'block'):
        return 'block'
    return check_file_kind(path, what, ('missing', 'file', 'block'))


def check_self_contained(info, path):
    """Refuse an image whose header names another file: a qcow2 backing file or external data file.

    Copying such an image would copy that file's bytes (any file of this machine: OpenStack's
    CVE-2024-32498), and a guest can write such a header onto its own raw disk."""
    data_file = info.get('format-specific', {}).get('data', {}).get('data-file')
    backing = info.get('backing-filename') or info.get('full-backing-filename')
    if backing or data_file:
        raise VirtualIronError(
            'refusing %s: its header names another file (%s %s); virtual_disk handles only self-contained '
            'images, since reading it would read that file' % (
                path, 'backing file' if backing else 'external data file', backing or data_file))


def image_info(run, path, fmt):
    """qemu-img info of a qcow2 or raw image, read as the stated format (never probed, so a raw disk
    holding a qcow2 header stays raw), under prlimit (QEMU_IMG_LIMITED); -U: a running guest's lock must not keep us
    from reading its size."""
    try:
        out = QEMU_IMG_LIMITED.run(run, INFO, format=QEMU_FORMATS[fmt], image=path)[1]
    except VirtualIronError as e:
        raise VirtualIronError('cannot read %s as a %s image (%s); set the format it has' % (path, fmt, e))
    info = json.loads(out)
    check_self_contained(info, path)
    return info


def _vhd_info(path):
    try:
        info = vhd.read_vhd(path)
    except vhd.VhdError as e:
        raise vhd.VhdError('cannot read %s as a vhd image (%s); set the format it has' % (path, e))
    if info['vhd_type'] not in ('fixed', 'dynamic'):
        raise vhd.VhdError('refusing %s: a %s VHD depends on a parent file; virtual_disk handles only fixed and '
                           'dynamic VHDs' % (path, info['vhd_type']))
    return info


def inspect(run, path, fmt):
    """What virtual_disk reports about the image at path, read as the format the user stated (vhd, qcow2
    or raw): format, sizes, and for a VHD its type and creator. Refuses images that name other files."""
    if fmt == 'vhd':
        info = _vhd_info(path)
        result = {'format': 'vhd', 'virtual_size': info['virtual_size'], 'vhd_type': info['vhd_type'],
                  'creator': info['creator']}
    else:
        result = {'format': fmt, 'virtual_size': image_info(run, path, fmt)['virtual-size'], 'vhd_type': None,
                  'creator': None}
    block = is_block_device(path)
    result['allocation'] = _device_size(path) if block else os.stat(path).st_blocks * 512
    result['block_device'] = block
    result['live_migratable'] = result['vhd_type'] != 'dynamic'
    return result


def _device_size(path):
    with open(path, 'rb') as handle:
        return handle.seek(0, os.SEEK_END)


def locked_by_qemu(run, path):
    """True when a running QEMU (a guest of any libvirt host whose locks this machine sees) has the image
    open for writing. Found by opening it for writing, as raw, doing no I/O: qemu-img info would not
    notice, since it opens images without I/O and so asks for no lock a guest holds."""
    rc, out, err = QEMU_IO.run(run, LOCK_PROBE, check_rc=False, format='raw', command='quit', image=path)
    return rc != 0 and 'lock' in (err + out).lower()


def create_options(fmt, vhd_type):
    """qemu-img -o options: VHDs of the exact size (force_size: no CHS rounding, creator 'qem2')."""
    return 'subformat=%s,force_size=on' % vhd_type if fmt == 'vhd' else None


def partial_path(path):
    """A hidden name next to the target, on the same file system, so that the final rename is atomic."""
    directory, name = os.path.split(path)
    return os.path.join(directory, '.%s.partial-%s' % (name, uuid.uuid4().hex[:8]))


def write_then_rename(path, write):
    """write(temp_path) then rename over path: an interrupted write never leaves a file named path."""
    temp = partial_path(path)
    try:
        write(temp)
        with open(temp, 'rb') as handle:
            os.fsync(handle.fileno())
        os.rename(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def _write_image(run, new, fmt, vhd_type, order, **values):
    """qemu-img writing the image `new`, then for a fixed VHD the padding that gives it an aligned length
    (vhd.fixed_length)."""
    QEMU_IMG.run(run, order, **values)
    if fmt == 'vhd' and vhd_type == 'fixed':
        vhd.grow(new, vhd.read_vhd(new)['virtual_size'])


def create(run, path, fmt, vhd_type, size):
    write_then_rename(path, lambda temp: _write_image(
        run, temp, fmt, vhd_type, CREATE, format=QEMU_FORMATS[fmt], options=create_options(fmt, vhd_type), image=temp,
        size=size))


def convert(run, source, source_format, path, fmt, vhd_type):
    """Copy the image at source, of the stated source_format (inspect()ed first), into a new image at path
    (also path itself: a format change)."""
    if locked_by_qemu(run, source):
        raise VirtualIronError('cannot copy %s: a running guest uses it (QEMU holds its lock), so a copy would not be '
                               'consistent; stop the guest first' % source)
    write_then_rename(path, lambda temp: _write_image(
        run, temp, fmt, vhd_type, CONVERT, format=QEMU_FORMATS[source_format], output_format=QEMU_FORMATS[fmt],
        options=create_options(fmt, vhd_type), image=source, target=temp))


def grow(run, path, fmt, size):
    """Grow in place. VHDs by the VHD library (qemu-img cannot), on a loop device after the device."""
    if fmt == 'vhd':
        grow_device = _grow_loop_device(run, path) if is_block_device(path) else None
        vhd.grow(path, size, grow_device)
    else:
        QEMU_IMG.run(run, RESIZE, format=QEMU_FORMATS[fmt], image=path, size=size)


def loop_backing_file(path):
    """The file behind a loop device, or None for any other block device."""
    name = os.path.basename(os.path.realpath(path))
    try:
        with open('/sys/block/%s/loop/backing_file' % name) as handle:
            return handle.read().strip()
    except (IOError, OSError):
        return None


def _grow_loop_device(run, path):
    backing = loop_backing_file(path)

    def grow_device(size):
        if backing is None:
            raise VirtualIronError('%s is a block device of %d bytes; a fixed VHD of that size needs %d: grow the '
                                   'device first (a logical volume with lvm_volume), then run this task again'
                                   % (path, _device_size(path), size))
        with open(backing, 'r+b') as handle:
            if handle.seek(0, os.SEEK_END) < size:
                handle.truncate(size)
        LOSETUP.run(run, REREAD_CAPACITY, device=path)
    return grow_device


# ---------------------------------------------------------------- what the libvirt host knows

def pool_path(conn, pool, name):
    """The path of volume `name` of storage pool `pool` (it need not exist yet): one file name, which for
    a pool of files must resolve inside the pool's directory (a pool of devices names its volumes itself)."""
    check_file_name(name, 'disk name')
    found = storage.lookup_pool(conn, pool)
    if found is None:
        raise VirtualIronError('the host has no storage pool %s' % pool)
    spec = parse_pool_xml(found.XMLDesc(0))
    path = os.path.join(spec['path'], name)
    if spec['type'] in FILE_POOL_TYPES:
        check_pool_directory(spec['path'], 'storage pool %s' % pool)
        path_inside(spec['path'], path, 'disk %s of storage pool %s' % (name, pool))
    return path


def refresh_pool(conn, path):
    """Let libvirt see a file we created or removed, when a pool holds its directory."""
    pool = storage.pool_holding(conn, path)
    if pool is not None:
        pool.refresh(0)


def _pool_volume(conn, path):
    """(pool, volume) under which servers may name the file at path: the active pool of its directory."""
    pool = storage.pool_holding(conn, path)
    return (pool.name(), os.path.basename(path)) if pool is not None else None


def _uses(disk, path, pool_volume):
    if disk['path'] and os.path.normpath(disk['path']) == os.path.normpath(path):
        return True
    return pool_volume is not None and (disk['pool'], disk['volume']) == pool_volume


def servers_using(conn, path):
    """{server name: running?} for every server of the host whose definition (saved, or live while it
    runs) has the disk, by its path or as a volume of the storage pool that holds it."""
    pool_volume = _pool_volume(conn, path)
    found = {}
    for dom, running, xmls in server_definitions(conn):
        if any(_uses(parse_disk(d), path, pool_volume) for xml in xmls for d in parse_xml(xml).findall('devices/disk')):
            found[dom.name()] = running
    return found


def _volume(conn, disk):
    try:
        if disk.get('pool'):
            return conn.storagePoolLookupByName(disk['pool']).storageVolLookupByName(disk['volume'])
        return conn.storageVolLookupByPath(disk['path'])
    except libvirt.libvirtError:
        return None


def _download(conn, volume, offset, length):
    stream = conn.newStream(0)
    volume.download(stream, offset, length, 0)
    chunks = []
    stream.recvAll(lambda _stream, data, sink: sink.append(data) or len(data), chunks)
    stream.finish()
    return b''.join(chunks)


def remote_vhd_footer(conn, disk):
    """The footer of a VHD disk of a server, read on the libvirt host: through a storage volume stream
    (any URI, remote too) when a pool holds the disk, else from the same path here (shared storage, or
    the module runs on the host). None when neither can reach it."""
    volume = _volume(conn, disk)
    if volume is not None:
        start = _download(conn, volume, 0, vhd.FOOTER_SIZE)
        if start[:8] == vhd.FOOTER_COOKIE:  # a dynamic VHD's copy of its footer
            return vhd.unpack_footer(start, disk.get('path') or disk['volume'])
        physical = volume.infoFlags(libvirt.VIR_STORAGE_VOL_GET_PHYSICAL)[2]
        return vhd.unpack_footer(_download(conn, volume, physical - vhd.FOOTER_SIZE, vhd.FOOTER_SIZE),
                                 disk.get('path') or disk['volume'])
    if disk.get('path') and os.path.exists(disk['path']):
        with open(disk['path'], 'rb') as handle:
            start = handle.read(vhd.FOOTER_SIZE)
            if start[:8] != vhd.FOOTER_COOKIE:
                handle.seek(-vhd.FOOTER_SIZE, os.SEEK_END)
                start = handle.read(vhd.FOOTER_SIZE)
        return vhd.unpack_footer(start, disk['path'])
    return None


def vhd_slice(conn, disk, default=None):
    """For a VHD disk of a server: the size of the raw slice to attach it as (a fixed VHD), None for a
    dynamic VHD (which needs QEMU's vpc driver), or `default` when the footer cannot be read from here."""
    footer = remote_vhd_footer(conn, disk)
    if footer is None:
        return default
    if vhd.DISK_TYPES[footer['disk_type']] != 'fixed':
        return None
    return vhd.virtual_size(footer)
