# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Microsoft VHD format (Virtual Hard Disk Image Format Specification, version 1.0), enough to
read a fixed or dynamic VHD and to grow it in place.

qemu-img can create and convert VHDs but cannot resize them, so growing is done here. Layout:

- fixed:   [data: size bytes][footer: 512]
- dynamic: [footer copy: 512][dynamic header: 1024][BAT: 4 bytes per block, padded to 512]
           [data blocks: sector bitmap + block, anywhere after the BAT][footer: 512]

Structures are big-endian. Packing and parsing are pure functions (unit-tested byte for byte);
`read_vhd` and `grow` do the file I/O. Every grow writes in an order that leaves a readable disk of
the old or of the new size if it is interrupted. Nothing is written to, and no memory beyond a fixed
bound is allocated for, a file that is not sound by the specification's rules: a header, table or block
outside the file or overlapping another, a block size or table size out of bounds (VHDs come from
guests and other tools: their headers are untrusted data).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import heapq
import os
import stat
import struct
import uuid

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError

SECTOR = 512
FOOTER_SIZE = 512
DYNAMIC_HEADER_SIZE = 1024
FOOTER_COOKIE = b'conectix'
DYNAMIC_COOKIE = b'cxsparse'
DISK_TYPES = {2: 'fixed', 3: 'dynamic', 4: 'differencing'}
NO_OFFSET = 0xFFFFFFFFFFFFFFFF
UNALLOCATED = 0xFFFFFFFF
DEFAULT_BLOCK_SIZE = 2 * 1024 ** 2
# The specification asks only for a power of two; QEMU (block/vpc.c) accepts any from 512 bytes. The upper
# bound is VHDX's largest block, 256 MiB, so that moving one block while growing stays a bounded copy.
MIN_BLOCK_SIZE = SECTOR
MAX_BLOCK_SIZE = 256 * 1024 ** 2
# The largest VHD, 2040 GiB: QEMU's VHD_MAX_SECTORS (block/vpc.c), beyond which qemu-img neither creates
# nor opens one.
MAX_SIZE = 0xFF000000 * SECTOR
# The most block allocation table entries read into memory (a 16 MiB table, a few hundred MB as a
# Python list): a 2040 GiB disk with blocks of 512 KiB or more. A header cannot make a read or a grow
# allocate more, whatever it claims.
MAX_TABLE_ENTRIES = 4 * 1024 ** 2
FIXED_ALIGNMENT = 4096
MAX_CHS_SECTORS = 65535 * 16 * 255
# Creators whose readers (Virtual PC, old QEMU) take the size from the CHS geometry, not current_size;
# QEMU reads images with any other creator by current_size (block/vpc.c).
CHS_CREATORS = (b'vpc ', b'qemu')

# cookie, features, version, data offset, timestamp, creator app, creator version, creator OS,
# original size, current size, cylinders, heads, sectors per track, disk type, checksum, unique id,
# saved state; then 427 reserved zero bytes.
_FOOTER = struct.Struct('>8sIIQI4sI4sQQHBBII16sB427x')
# cookie, data offset, table offset, header version, max table entries, block size, checksum,
# parent unique id, parent timestamp, reserved, parent unicode name, 8 parent locators (24 bytes each);
# then 256 reserved zero bytes.
_DYNAMIC = struct.Struct('>8sQQIIII16sII512s192s256x')
_FOOTER_CHECKSUM_AT = 64
_DYNAMIC_CHECKSUM_AT = 36
_FOOTER_FIELDS = ('cookie', 'features', 'version', 'data_offset', 'timestamp', 'creator_app',
                  'creator_version', 'creator_os', 'original_size', 'current_size', 'cylinders', 'heads',
                  'sectors', 'disk_type', 'checksum', 'unique_id', 'saved_state')
_DYNAMIC_FIELDS = ('cookie', 'data_offset', 'table_offset', 'version', 'max_table_entries', 'block_size',
                   'checksum', 'parent_unique_id', 'parent_timestamp', 'reserved', 'parent_name',
                   'parent_locators')


class VhdError(VirtualIronError):
    """The file is not a VHD this library can handle; nothing was written."""


def round_up(value, multiple):
    return -(-value // multiple) * multiple


# ---------------------------------------------------------------- pure structures

def checksum(raw, at):
    """The VHD checksum: one's complement of the byte sum, the 4 checksum bytes at `at` counted as 0."""
    total = sum(raw[:at]) + sum(raw[at + 4:])
    return ~total & 0xFFFFFFFF


def _with_checksum(raw, at):
    raw = bytearray(raw)
    raw[at:at + 4] = b'\0\0\0\0'
    raw[at:at + 4] = struct.pack('>I', checksum(raw, at))
    return bytes(raw)


def chs_geometry(size):
    """(cylinders, heads, sectors per track) for a disk of `size` bytes: the specification's algorithm."""
    total = min(size // SECTOR, MAX_CHS_SECTORS)
    if total >= 65535 * 16 * 63:
        sectors, heads = 255, 16
        cylinder_heads = total // sectors
    else:
        sectors = 17
        cylinder_heads = total // sectors
        heads = max((cylinder_heads + 1023) // 1024, 4)
        if cylinder_heads >= heads * 1024 or heads > 16:
            sectors, heads = 31, 16
            cylinder_heads = total // sectors
        if cylinder_heads >= heads * 1024:
            sectors, heads = 63, 16
            cylinder_heads = total // sectors
    return cylinder_heads // heads, heads, sectors


def pack_footer(footer):
    """A footer dict (the fields of _FOOTER_FIELDS but checksum) -> 512 bytes with a fresh checksum."""
    values = [footer.get(k, 0) for k in _FOOTER_FIELDS]
    return _with_checksum(_FOOTER.pack(*values), _FOOTER_CHECKSUM_AT)


def unpack_footer(raw, where='footer'):
    """512 bytes -> footer dict; a VhdError says what is wrong with a damaged footer."""
    if len(raw) != FOOTER_SIZE or raw[:8] != FOOTER_COOKIE:
        raise VhdError('%s: no VHD footer (the "conectix" cookie is missing): not a VHD, or a damaged one' % where)
    footer = dict(zip(_FOOTER_FIELDS, _FOOTER.unpack(raw)))
    if footer['checksum'] != checksum(raw, _FOOTER_CHECKSUM_AT):
        raise VhdError('%s: the VHD footer checksum is wrong (stored 0x%08x, computed 0x%08x): the disk is damaged; '
                       'nothing was changed' % (where, footer['checksum'], checksum(raw, _FOOTER_CHECKSUM_AT)))
    if footer['disk_type'] not in DISK_TYPES:
        raise VhdError('%s: unknown VHD disk type %d' % (where, footer['disk_type']))
    return footer


def new_footer(size, disk_type, creator_app=b'qem2', timestamp=0, unique_id=None):
    """The footer of a new disk. creator 'qem2' makes QEMU read the size from current_size, exactly."""
    cylinders, heads, sectors = chs_geometry(size)
    return {'cookie': FOOTER_COOKIE, 'features': 2, 'version': 0x10000,
            'data_offset': SECTOR if disk_type == 'dynamic' else NO_OFFSET, 'timestamp': timestamp,
            'creator_app': creator_app, 'creator_version': 0x50003, 'creator_os': b'Wi2k',
            'original_size': size, 'current_size': size, 'cylinders': cylinders, 'heads': heads,
            'sectors': sectors, 'disk_type': {v: k for k, v in DISK_TYPES.items()}[disk_type],
            'unique_id': unique_id or uuid.uuid4().bytes, 'saved_state': 0}


def virtual_size(footer):
    """The size a reader sees, as QEMU decides it: CHS creators by geometry (unless it is the maximum)."""
    chs = footer['cylinders'] * footer['heads'] * footer['sectors']
    if footer['creator_app'] in CHS_CREATORS and chs != MAX_CHS_SECTORS:
        return chs * SECTOR
    return footer['current_size']


def resized_footer(footer, size):
    """The footer of the same disk at a new size. A creator whose readers take the size from the
    geometry becomes 'qem2' when the geometry cannot say the size exactly, so no reader sees less."""
    resized = dict(footer, current_size=size)
    resized['cylinders'], resized['heads'], resized['sectors'] = chs_geometry(size)
    if footer['creator_app'] in CHS_CREATORS and virtual_size(resized) != size:
        resized['creator_app'] = b'qem2'
    return resized


def pack_dynamic_header(header):
    values = [header.get(k, 0) for k in _DYNAMIC_FIELDS]
    return _with_checksum(_DYNAMIC.pack(*values), _DYNAMIC_CHECKSUM_AT)


def unpack_dynamic_header(raw, where='dynamic header'):
    """1024 bytes -> dynamic header dict; a VhdError says what is wrong with a damaged one."""
    if len(raw) != DYNAMIC_HEADER_SIZE or raw[:8] != DYNAMIC_COOKIE:
        raise VhdError('%s: no dynamic disk header (the "cxsparse" cookie is missing): the VHD is damaged' % where)
    header = dict(zip(_DYNAMIC_FIELDS, _DYNAMIC.unpack(raw)))
    if header['checksum'] != checksum(raw, _DYNAMIC_CHECKSUM_AT):
        raise VhdError('%s: the VHD dynamic header checksum is wrong: the disk is damaged; nothing was changed' % where)
    block_size = header['block_size']
    if block_size & (block_size - 1) or not MIN_BLOCK_SIZE <= block_size <= MAX_BLOCK_SIZE:
        raise VhdError('%s: the VHD block size %d is not a power of two from %d bytes to %d MiB: the disk is damaged; '
                       'nothing was changed' % (where, block_size, MIN_BLOCK_SIZE, MAX_BLOCK_SIZE // 1024 ** 2))
    return header


def new_dynamic_header(size, table_offset, block_size=DEFAULT_BLOCK_SIZE):
    return {'cookie': DYNAMIC_COOKIE, 'data_offset': NO_OFFSET, 'table_offset': table_offset,
            'version': 0x10000, 'max_table_entries': entries_for(size, block_size), 'block_size': block_size,
            'parent_unique_id': b'', 'parent_timestamp': 0, 'reserved': 0, 'parent_name': b'',
            'parent_locators': b''}


def entries_for(size, block_size):
    return -(-size // block_size)


def check_size(size, where):
    """Refuse a size no VHD can have, before anything is read or written: a VHD holds whole 512-byte
    sectors, at least one, and at most MAX_SIZE (larger ones QEMU refuses to open)."""
    if not isinstance(size, int) or size <= 0 or size % SECTOR:
        raise VhdError('%s: a VHD size is a positive whole number of 512-byte sectors; %r is not' % (where, size))
    if size > MAX_SIZE:
        raise VhdError('%s: %d bytes is more than a VHD can hold (2040 GiB, %d bytes: larger ones QEMU refuses to '
                       'open); nothing was changed' % (where, size, MAX_SIZE))


def check_table_entries(entries, block_size, where):
    """Refuse a block allocation table longer than a disk of MAX_SIZE needs, or than MAX_TABLE_ENTRIES,
    before it is read or allocated."""
    most = min(entries_for(MAX_SIZE, block_size), MAX_TABLE_ENTRIES)
    if entries > most:
        raise VhdError('%s: a block allocation table of %d entries for %d-byte blocks is refused: a VHD holds at most '
                       '2040 GiB, and at most %d entries are read, so with these blocks at most %d (qemu-img convert '
                       'makes VHDs of 2 MiB blocks); nothing was changed'
                       % (where, entries, block_size, MAX_TABLE_ENTRIES, most))


def bat_bytes(entries):
    """Bytes the BAT of `entries` blocks occupies on disk (whole sectors)."""
    return round_up(entries * 4, SECTOR)


def pack_bat(entries):
    """BAT entries (sector numbers, UNALLOCATED for holes) -> bytes, padded with 0xFF to whole sectors."""
    raw = struct.pack('>%dI' % len(entries), *entries)
    return raw + b'\xff' * (bat_bytes(len(entries)) - len(raw))


def unpack_bat(raw, entries):
    return list(struct.unpack('>%dI' % entries, raw[:entries * 4]))


def block_bytes(block_size):
    """A data block on disk: its sector bitmap (one bit per sector, whole sectors) and its data."""
    return round_up(block_size // SECTOR // 8, SECTOR) + block_size


def plan_bat_growth(bat, table_offset, new_entries, block_size, data_end):
    """How to make room for a BAT of new_entries: (moves, new_bat, new_data_end).

    The BAT may grow into the space up to the first data block; blocks that lie where the new BAT
    will be are moved, lowest first, to the end of the data (data_end = where the footer is now).
    moves are (from_offset, to_offset) byte pairs; new_bat is the full new table.
    """
    bat_end = table_offset + bat_bytes(new_entries)
    new_bat = list(bat) + [UNALLOCATED] * (new_entries - len(bat))
    moves = []
    end = max(data_end, bat_end)
    for index in sorted((i for i, s in enumerate(bat) if s != UNALLOCATED), key=lambda i: bat[i]):
        offset = bat[index] * SECTOR
        if offset >= bat_end:
            break
        if offset + block_bytes(block_size) <= table_offset:
            continue  # a block before the table (unusual, but legal) is not in the way
        moves.append((offset, end))
        new_bat[index] = end // SECTOR
        end += block_bytes(block_size)
    return moves, new_bat, end


# ---------------------------------------------------------------- files

def _container_size(handle):
    """The size of a file or a block device (whose st_size is 0)."""
    return handle.seek(0, os.SEEK_END)


def _is_block(handle):
    return stat.S_ISBLK(os.fstat(handle.fileno()).st_mode)


def _read_at(handle, offset, length, what='data'):
    """`length` bytes at `offset`, which must lie inside the file: never a seek or a buffer beyond it."""
    end = _container_size(handle)
    if offset + length > end:
        raise VhdError('%s: bytes %d to %d are past the end of the file (%d bytes): the VHD is truncated or damaged; '
                       'nothing was changed' % (what, offset, offset + length, end))
    handle.seek(offset)
    data = handle.read(length)
    if len(data) != length:
        raise VhdError('%s: the VHD ends early (%d bytes wanted at offset %d): the disk is truncated'
                       % (what, length, offset))
    return data


def _write_at(handle, offset, data):
    handle.seek(offset)
    handle.write(data)
    handle.flush()
    os.fsync(handle.fileno())


def _read_structures(handle, where):
    """(footer, dynamic header or None, BAT or None) of an open VHD; VhdError if any is damaged."""
    length = _container_size(handle)
    if length < FOOTER_SIZE:
        raise VhdError('%s: %d bytes is too small for a VHD' % (where, length))
    footer = unpack_footer(_read_at(handle, length - FOOTER_SIZE, FOOTER_SIZE, where), where)
    if DISK_TYPES[footer['disk_type']] == 'fixed':
        if footer['current_size'] > length - FOOTER_SIZE:
            raise VhdError('%s: the footer says %d bytes but the fixed VHD holds only %d: the disk is damaged'
                           % (where, footer['current_size'], length - FOOTER_SIZE))
        return footer, None, None
    header = unpack_dynamic_header(_read_at(handle, footer['data_offset'], DYNAMIC_HEADER_SIZE,
                                            '%s: the dynamic header' % where), where)
    entries = header['max_table_entries']
    check_table_entries(entries, header['block_size'], where)
    if entries * header['block_size'] < footer['current_size']:
        raise VhdError('%s: the block allocation table is too small for the disk size: the disk is damaged' % where)
    bat = unpack_bat(_read_at(handle, header['table_offset'], entries * 4, '%s: the block allocation table' % where),
                     entries)
    _check_layout(_extents(footer, header, bat), length - FOOTER_SIZE, where)
    return footer, header, bat


def _extents(footer, header, bat):
    """(start, end, what) of every structure of a dynamic VHD but its trailing footer, in file order."""
    at, table_at = footer['data_offset'], header['table_offset']
    metadata = sorted([(0, FOOTER_SIZE, 'the footer copy'),
                       (at, at + DYNAMIC_HEADER_SIZE, 'the dynamic header'),
                       (table_at, table_at + len(bat) * 4, 'the block allocation table')])
    size = block_bytes(header['block_size'])
    allocated = sorted((i for i, s in enumerate(bat) if s != UNALLOCATED), key=bat.__getitem__)
    blocks = ((bat[i] * SECTOR, bat[i] * SECTOR + size, 'the block of table entry %d' % i) for i in allocated)
    return heapq.merge(metadata, blocks, key=lambda extent: extent[0])


def _check_layout(extents, data_end, where):
    """Every structure inside the file, before its footer, none overlapping another (specification,
    "Dynamic Disk Header Format"): so a grow reads and moves only the disk's own bytes, at most the
    file's length of them, and never overwrites one structure with another."""
    end, previous = 0, None
    for start, stop, what in extents:
        if start < end:
            raise VhdError('%s: %s (bytes %d to %d) overlaps %s: the disk is damaged; nothing was changed'
                           % (where, what, start, stop, previous))
        if stop > data_end:
            raise VhdError('%s: %s ends at byte %d, past the data (the footer is at byte %d): the disk is truncated '
                           'or damaged; nothing was changed' % (where, what, stop, data_end))
        end, previous = stop, what


def describe(footer, header, bat, length):
    """What a module reports about a VHD."""
    info = {'vhd_type': DISK_TYPES[footer['disk_type']], 'virtual_size': virtual_size(footer),
            'creator': footer['creator_app'].decode('latin-1').rstrip('\0 ') or None,
            'creator_os': footer['creator_os'].decode('latin-1').rstrip('\0 ') or None,
            'length': length, 'block_size': None, 'allocated_blocks': None}
    if header is not None:
        info['block_size'] = header['block_size']
        info['allocated_blocks'] = sum(1 for s in bat if s != UNALLOCATED)
    return info


def read_vhd(path):
    """describe() of the VHD at path (a file or a block device); VhdError if it is not a sound VHD."""
    with open(path, 'rb') as handle:
        return describe(*_read_structures(handle, path), length=_container_size(handle))


def grow(path, size, grow_device=None):
    """Grow the VHD at path to `size` bytes in place; returns describe() of the result.

    Refuses, before writing anything, to shrink, to grow beyond MAX_SIZE, to grow a differencing VHD
    (its parent would not grow with it) and any disk read_vhd refuses. A size that is already the
    disk's size changes nothing, except that a fixed VHD file gets the padding of fixed_length() (so
    grow(path, its size) aligns one). A fixed VHD on a
    block device keeps its footer in the device's last sector: a device smaller than size + 512 bytes
    is grown by grow_device(bytes) when given (after the footer was read, since growing moves the
    end away from it), or the grow is refused.
    """
    check_size(size, path)
    with open(path, 'r+b') as handle:
        footer, header, bat = _read_structures(handle, path)
        if DISK_TYPES[footer['disk_type']] == 'differencing':
            raise VhdError('%s: a differencing VHD holds only the changes to its parent disk %r, which would not grow '
                           'with it: merge it into its parent and grow that; nothing was changed'
                           % (path, parent_name(header)))
        current = virtual_size(footer)
        if size < current:
            raise VhdError('%s: refusing to shrink the VHD from %d to %d bytes (data beyond the new end would be lost)'
                           % (path, current, size))
        new = resized_footer(footer, size) if size != current or footer['current_size'] != size else footer
        if header is None:
            _grow_fixed(handle, path, footer, new, grow_device)
        elif new is not footer:
            if _is_block(handle):
                raise VhdError('%s: a dynamic VHD grows at its end, which a block device cannot: use a fixed VHD on '
                               'block devices' % path)
            _grow_dynamic(handle, path, footer, header, bat, new)
        return describe(*_read_structures(handle, path), length=_container_size(handle))


def parent_name(header):
    """The parent of a differencing VHD as its header names it (UTF-16 big-endian, NUL-padded)."""
    return header['parent_name'].decode('utf-16-be', 'replace').split('\0', 1)[0]


def fixed_length(size):
    """The length of a fixed VHD file of `size` bytes: data, zero padding, footer, a multiple of 4096.

    QEMU opens an image for direct I/O (cache=none, which live migration needs) writable only if its
    length is a multiple of the storage's alignment, which it takes as 4096 where it cannot measure it
    (FUSE, NFS). Readers find the footer at the end and the data from offset 0, as on a block device.
    """
    return round_up(size + FOOTER_SIZE, FIXED_ALIGNMENT)


def _grow_fixed(handle, path, old, new, grow_device):
    """New footer at the new end first, then zero the old one (now inside the disk or its padding): a
    crash between the two leaves the new size with 512 stray bytes in space the guest never used."""
    old_at = _container_size(handle) - FOOTER_SIZE
    if _is_block(handle):
        if old_at < new['current_size'] and grow_device is not None:
            grow_device(fixed_length(new['current_size']))
        new_at = _container_size(handle) - FOOTER_SIZE
        if new_at < new['current_size']:
            raise VhdError('%s: the block device holds %d bytes; a fixed VHD of %d bytes needs %d: grow the device first'
                           % (path, new_at + FOOTER_SIZE, new['current_size'], new['current_size'] + FOOTER_SIZE))
    else:
        new_at = fixed_length(new['current_size']) - FOOTER_SIZE
    if new_at == old_at and new is old:
        return
    _write_at(handle, new_at, pack_footer(new))
    if old_at != new_at:
        _write_at(handle, old_at, b'\0' * FOOTER_SIZE)


def _grow_dynamic(handle, path, footer, header, bat, new):
    """Move the blocks the new BAT needs room for, then write the BAT, the header, the footers.

    Until the BAT is written the old table still points at the old copies, so an interrupted grow
    leaves the old disk; the trailing footer is rewritten before the BAT so the file always ends in one.
    """
    entries = entries_for(new['current_size'], header['block_size'])
    entries = max(entries, header['max_table_entries'])
    check_table_entries(entries, header['block_size'], path)
    data_end = _container_size(handle) - FOOTER_SIZE
    moves, new_bat, end = plan_bat_growth(bat, header['table_offset'], entries, header['block_size'], data_end)
    if moves and moves[-1][1] // SECTOR >= UNALLOCATED:
        raise VhdError('%s: a block moved to byte %d would lie beyond what a table entry can address (2 TiB): the file '
                       'is longer than a VHD can use; nothing was changed' % (path, moves[-1][1]))
    for source, target in moves:
        _copy(handle, source, target, block_bytes(header['block_size']))
    if moves:
        _write_at(handle, end, pack_footer(footer))  # old size, until the table is in place
    _write_at(handle, header['table_offset'], pack_bat(new_bat))
    _write_at(handle, footer['data_offset'], pack_dynamic_header(dict(header, max_table_entries=entries)))
    _write_at(handle, end, pack_footer(new))
    handle.truncate(end + FOOTER_SIZE)
    _write_at(handle, 0, pack_footer(new))


def _copy(handle, source, target, length, chunk=4 * 1024 ** 2):
    for done in range(0, length, chunk):
        data = _read_at(handle, source + done, min(chunk, length - done))
        handle.seek(target + done)
        handle.write(data)
    handle.flush()
    os.fsync(handle.fileno())
