# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VHD library: every structure byte for byte, grow of fixed and dynamic disks, refusals."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import json
import os
import resource
import shutil
import struct
import subprocess

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.disk import vhd

MIB = 1024 ** 2
TIB = 1024 ** 4
BLOCK = vhd.DEFAULT_BLOCK_SIZE
UID = bytes(range(16))


def expected_footer(size, disk_type, data_offset, geometry, creator=b'qem2', timestamp=0x01020304, original=None):
    """A footer assembled field by field at the specification's offsets, independently of the library."""
    raw = bytearray(512)
    raw[0:8] = b'conectix'
    raw[8:12] = b'\x00\x00\x00\x02'
    raw[12:16] = b'\x00\x01\x00\x00'
    raw[16:24] = data_offset.to_bytes(8, 'big')
    raw[24:28] = timestamp.to_bytes(4, 'big')
    raw[28:32] = creator
    raw[32:36] = b'\x00\x05\x00\x03'
    raw[36:40] = b'Wi2k'
    raw[40:48] = (original or size).to_bytes(8, 'big')
    raw[48:56] = size.to_bytes(8, 'big')
    raw[56:58] = geometry[0].to_bytes(2, 'big')
    raw[58] = geometry[1]
    raw[59] = geometry[2]
    raw[60:64] = disk_type.to_bytes(4, 'big')
    raw[68:84] = UID
    raw[64:68] = ((~sum(raw)) & 0xFFFFFFFF).to_bytes(4, 'big')
    return bytes(raw)


def footer(size, kind='fixed', creator=b'qem2'):
    return vhd.new_footer(size, kind, creator_app=creator, timestamp=0x01020304, unique_id=UID)


def write_fixed(path, size, data=b''):
    with open(path, 'wb') as handle:
        handle.write(data)
        handle.truncate(size)
        handle.seek(size)
        handle.write(vhd.pack_footer(footer(size)))


def write_dynamic(path, size, blocks=None, table_offset=1536, block_size=BLOCK):
    """A dynamic VHD laid out as QEMU does: blocks {index: one byte repeated} stored in index order."""
    blocks = blocks or {}
    entries = vhd.entries_for(size, block_size)
    bat = [vhd.UNALLOCATED] * entries
    offset = table_offset + vhd.bat_bytes(entries)
    body = b''
    for index in sorted(blocks):
        bat[index] = (offset + len(body)) // 512
        body += b'\xff' * (vhd.block_bytes(block_size) - block_size) + blocks[index] * block_size
    raw_footer = vhd.pack_footer(footer(size, 'dynamic'))
    with open(path, 'wb') as handle:
        handle.write(raw_footer)
        handle.write(vhd.pack_dynamic_header(vhd.new_dynamic_header(size, table_offset, block_size)))
        handle.seek(table_offset)
        handle.write(vhd.pack_bat(bat))
        handle.write(body)
        handle.write(raw_footer)


def digest(path):
    """SHA-256 of where the file holds data and what (cheap for a sparse file of terabytes), its length."""
    sha = hashlib.sha256()
    with open(path, 'rb') as handle:
        length = handle.seek(0, os.SEEK_END)
        offset = 0
        while offset < length:
            try:
                start = os.lseek(handle.fileno(), offset, os.SEEK_DATA)
            except OSError:  # ENXIO: only a hole remains
                break
            offset = os.lseek(handle.fileno(), start, os.SEEK_HOLE)
            handle.seek(start)
            sha.update(b'%d:' % start + handle.read(offset - start))
    sha.update(b'length %d' % length)
    return sha.hexdigest()


def snapshot(path):
    status = os.stat(path)
    return digest(path), status.st_size, status.st_mtime_ns


def assert_refused_without_write(path, size, message):
    """grow(path, size) fails with message and the file is byte for byte what it was, mtime included."""
    before = snapshot(path)
    with pytest.raises(vhd.VhdError, match=message):
        vhd.grow(path, size)
    assert snapshot(path) == before


def block_content(path, sector):
    with open(path, 'rb') as handle:
        handle.seek(sector * 512 + 512)
        return handle.read(BLOCK)


# ---------------------------------------------------------------- structures

def test_checksum_is_ones_complement_of_byte_sum_without_its_own_field():
    raw = b'\x01\x02' + b'\xaa\xbb\xcc\xdd' + b'\x03'
    assert vhd.checksum(raw, 2) == 0xFFFFFFF9


@pytest.mark.parametrize('size, geometry', [
    (5 * MIB, (150, 4, 17)),          # 10240 sectors: 17 sectors per track, 4 heads
    (100 * MIB, (1003, 12, 17)),      # 12 heads: (12047 + 1023) // 1024
    (1024 ** 3, (2080, 16, 63)),
    (200 * 1024 ** 3, (65535, 16, 255)),  # beyond the CHS limit: the maximum geometry
])
def test_chs_geometry_follows_the_specification(size, geometry):
    assert vhd.chs_geometry(size) == geometry


def test_fixed_footer_bytes():
    raw = vhd.pack_footer(footer(5 * MIB))
    assert raw == expected_footer(5 * MIB, 2, 0xFFFFFFFFFFFFFFFF, (150, 4, 17))


def test_dynamic_footer_bytes_point_at_the_header():
    raw = vhd.pack_footer(footer(5 * MIB, 'dynamic'))
    assert raw == expected_footer(5 * MIB, 3, 512, (150, 4, 17))


def test_footer_round_trip():
    raw = vhd.pack_footer(footer(7 * MIB + 512))
    parsed = vhd.unpack_footer(raw)
    assert parsed['current_size'] == 7 * MIB + 512
    assert parsed['unique_id'] == UID
    assert vhd.pack_footer(parsed) == raw


def test_dynamic_header_bytes():
    raw = vhd.pack_dynamic_header(vhd.new_dynamic_header(5 * MIB + 512, 1536))
    want = bytearray(1024)
    want[0:8] = b'cxsparse'
    want[8:16] = b'\xff' * 8
    want[16:24] = (1536).to_bytes(8, 'big')
    want[24:28] = b'\x00\x01\x00\x00'
    want[28:32] = (3).to_bytes(4, 'big')  # 5 MiB + 512 needs a third 2 MiB block
    want[32:36] = BLOCK.to_bytes(4, 'big')
    want[36:40] = ((~sum(want)) & 0xFFFFFFFF).to_bytes(4, 'big')
    assert raw == bytes(want)
    assert vhd.unpack_dynamic_header(raw)['max_table_entries'] == 3


def test_bat_is_big_endian_and_padded_with_unallocated_entries():
    raw = vhd.pack_bat([3, vhd.UNALLOCATED, 0x01020304])
    assert len(raw) == 512
    assert raw[:12] == b'\x00\x00\x00\x03\xff\xff\xff\xff\x01\x02\x03\x04'
    assert raw[12:] == b'\xff' * 500
    assert vhd.unpack_bat(raw, 3) == [3, vhd.UNALLOCATED, 0x01020304]


def test_block_on_disk_is_bitmap_sector_plus_data():
    assert vhd.block_bytes(BLOCK) == BLOCK + 512
    assert vhd.block_bytes(4 * MIB) == 4 * MIB + 1024  # 8192 sectors: 1024 bitmap bytes


# ---------------------------------------------------------------- planning the BAT

def test_bat_growth_within_its_padding_moves_nothing():
    moves, bat, end = vhd.plan_bat_growth([4, vhd.UNALLOCATED], 1536, 100, BLOCK, 2048 + vhd.block_bytes(BLOCK))
    assert moves == []
    assert bat == [4] + [vhd.UNALLOCATED] * 99
    assert end == 2048 + vhd.block_bytes(BLOCK)


def test_bat_growth_moves_the_blocks_in_its_way_lowest_first():
    first, second = 2048 // 512, (2048 + vhd.block_bytes(BLOCK)) // 512
    data_end = 2048 + 2 * vhd.block_bytes(BLOCK)
    moves, bat, end = vhd.plan_bat_growth([second, vhd.UNALLOCATED, first], 1536, 129, BLOCK, data_end)
    # 129 entries need 1024 bytes of table: only the first block (at 2048) is in the way.
    assert moves == [(2048, data_end)]
    assert bat[:3] == [second, vhd.UNALLOCATED, data_end // 512]
    assert end == data_end + vhd.block_bytes(BLOCK)


def test_bat_growth_past_the_data_starts_new_data_after_the_table():
    moves, bat, end = vhd.plan_bat_growth([vhd.UNALLOCATED], 1536, 1000, BLOCK, 2048)
    assert moves == [] and end == 1536 + 4000 + 96


# ---------------------------------------------------------------- files

def test_read_fixed(tmp_path):
    path = str(tmp_path / 'f.vhd')
    write_fixed(path, 3 * MIB)
    info = vhd.read_vhd(path)
    assert info['vhd_type'] == 'fixed' and info['virtual_size'] == 3 * MIB and info['creator'] == 'qem2'


def test_grow_fixed_moves_the_footer_and_zeroes_the_old_one(tmp_path):
    path = str(tmp_path / 'f.vhd')
    write_fixed(path, 3 * MIB, b'data' * 100)
    info = vhd.grow(path, 5 * MIB + 512)
    assert info['virtual_size'] == 5 * MIB + 512
    assert os.path.getsize(path) == 5 * MIB + 4096  # data, zero padding to a multiple of 4096, footer
    with open(path, 'rb') as handle:
        raw = handle.read()
    assert raw[:400] == b'data' * 100
    assert raw[3 * MIB:-512] == b'\0' * (2 * MIB + 3584)
    # the original size stays what the disk was created with
    assert raw[-512:] == expected_footer(5 * MIB + 512, 2, 0xFFFFFFFFFFFFFFFF, vhd.chs_geometry(5 * MIB + 512),
                                         original=3 * MIB)


def test_grow_to_the_same_size_pads_a_fixed_vhd_file_to_4096_once(tmp_path):
    path = str(tmp_path / 'f.vhd')
    write_fixed(path, 3 * MIB + 512, b'x' * 512)
    vhd.grow(path, 3 * MIB + 512)
    assert os.path.getsize(path) == 3 * MIB + 4096
    assert vhd.read_vhd(path)['virtual_size'] == 3 * MIB + 512
    with open(path, 'rb') as handle:
        raw = handle.read()
    assert raw[:512] == b'x' * 512 and raw[3 * MIB + 512:-512] == b'\0' * 3072
    before = digest(path)
    vhd.grow(path, 3 * MIB + 512)
    assert digest(path) == before


def test_fixed_length_is_a_multiple_of_4096_with_room_for_the_footer():
    assert vhd.fixed_length(10 * 1024 ** 3) == 10 * 1024 ** 3 + 4096
    assert vhd.fixed_length(4096 - 512) == 4096
    assert vhd.fixed_length(4096 - 511) == 8192


def test_grow_dynamic_within_the_table_padding(tmp_path):
    path = str(tmp_path / 'd.vhd')
    write_dynamic(path, 3 * MIB, {0: b'a', 1: b'b'})
    before = os.path.getsize(path)
    info = vhd.grow(path, 100 * MIB + 512)
    assert info['virtual_size'] == 100 * MIB + 512 and info['allocated_blocks'] == 2
    assert os.path.getsize(path) == before
    with open(path, 'rb') as handle:
        raw = handle.read()
    header = vhd.unpack_dynamic_header(raw[512:1536])
    assert header['max_table_entries'] == 51
    bat = vhd.unpack_bat(raw[1536:2048], 51)
    assert bat[2:] == [vhd.UNALLOCATED] * 49
    assert raw[:512] == raw[-512:]
    assert vhd.unpack_footer(raw[:512])['current_size'] == 100 * MIB + 512


def test_grow_dynamic_relocates_blocks_when_the_table_must_grow(tmp_path):
    path = str(tmp_path / 'd.vhd')
    write_dynamic(path, 3 * MIB, {0: b'a', 1: b'b'})
    before = os.path.getsize(path)
    info = vhd.grow(path, 1024 ** 3)  # 512 entries: 2048 bytes of table, over the first block
    assert info['allocated_blocks'] == 2
    with open(path, 'rb') as handle:
        raw = handle.read()
    header = vhd.unpack_dynamic_header(raw[512:1536])
    bat = vhd.unpack_bat(raw[1536:1536 + 2048], header['max_table_entries'])
    assert header['max_table_entries'] == 512
    assert all(s * 512 >= 1536 + 2048 for s in bat[:2])
    assert block_content(path, bat[0]) == b'a' * BLOCK
    assert block_content(path, bat[1]) == b'b' * BLOCK
    assert bat[0] * 512 == before - 512  # the moved block went where the footer was
    assert os.path.getsize(path) == before + vhd.block_bytes(BLOCK)
    assert raw[:512] == raw[-512:]


def test_grow_to_the_same_size_writes_nothing(tmp_path):
    path = str(tmp_path / 'd.vhd')
    write_dynamic(path, 3 * MIB, {1: b'x'})
    before = digest(path)
    vhd.grow(path, 3 * MIB)
    assert digest(path) == before


@pytest.mark.parametrize('kind', ['fixed', 'dynamic'])
def test_shrink_is_refused_and_nothing_is_written(tmp_path, kind):
    path = str(tmp_path / 'x.vhd')
    (write_fixed if kind == 'fixed' else write_dynamic)(path, 3 * MIB)
    assert_refused_without_write(path, 2 * MIB, 'refusing to shrink')


def test_size_that_is_not_whole_sectors_is_refused(tmp_path):
    path = str(tmp_path / 'x.vhd')
    write_fixed(path, MIB)
    assert_refused_without_write(path, 2 * MIB + 1, '512-byte sectors')


@pytest.mark.parametrize('offset, message', [
    (100, 'checksum is wrong'),   # a reserved byte: only the checksum notices
    (48, 'checksum is wrong'),    # the size
    (0, 'cookie is missing'),
])
@pytest.mark.parametrize('kind', ['fixed', 'dynamic'])
def test_corrupted_footer_is_a_clear_error_and_no_write(tmp_path, offset, message, kind):
    path = str(tmp_path / 'x.vhd')
    (write_fixed if kind == 'fixed' else write_dynamic)(path, 3 * MIB)
    with open(path, 'r+b') as handle:
        handle.seek(-512 + offset, os.SEEK_END)
        byte = handle.read(1)
        handle.seek(-512 + offset, os.SEEK_END)
        handle.write(bytes([byte[0] ^ 0x40]))
    assert_refused_without_write(path, 4 * MIB, message)
    with pytest.raises(vhd.VhdError, match=message):
        vhd.read_vhd(path)


def test_corrupted_dynamic_header_is_refused(tmp_path):
    path = str(tmp_path / 'd.vhd')
    write_dynamic(path, 3 * MIB)
    with open(path, 'r+b') as handle:
        handle.seek(512 + 32)
        handle.write(b'\x00\x00\x00\x01')
    assert_refused_without_write(path, 4 * MIB, 'dynamic header checksum')


def test_truncated_fixed_vhd_is_refused(tmp_path):
    path = str(tmp_path / 'f.vhd')
    with open(path, 'wb') as handle:
        handle.write(b'\0' * 1024 + vhd.pack_footer(footer(3 * MIB)))
    with pytest.raises(vhd.VhdError, match='holds only'):
        vhd.read_vhd(path)


def test_a_file_that_is_no_vhd_is_refused(tmp_path):
    path = str(tmp_path / 'r.raw')
    with open(path, 'wb') as handle:
        handle.write(b'\0' * 4096)
    with pytest.raises(vhd.VhdError, match='not a VHD'):
        vhd.read_vhd(path)


def test_chs_creator_whose_geometry_cannot_say_the_new_size_becomes_qem2():
    old = footer(5 * MIB, creator=b'qemu')
    grown = vhd.resized_footer(old, 5 * MIB + 512)
    assert grown['creator_app'] == b'qem2' and vhd.virtual_size(grown) == 5 * MIB + 512
    exact = vhd.chs_geometry(8 * MIB)
    size = exact[0] * exact[1] * exact[2] * 512
    assert vhd.resized_footer(old, size)['creator_app'] == b'qemu'


def test_virtual_size_reads_chs_for_old_creators_and_current_size_for_others():
    assert vhd.virtual_size(footer(5 * MIB, creator=b'qemu')) == 150 * 4 * 17 * 512
    assert vhd.virtual_size(footer(5 * MIB, creator=b'win ')) == 5 * MIB


# ---------------------------------------------------------------- hostile headers and sizes (issue 10)

BLOCK_BYTES = vhd.block_bytes(BLOCK)
# write_dynamic(path, 3 MiB, {0: ..., 1: ...}): footer copy, header, table at 1536 (2 entries, padded to
# 512 bytes), block 0 at 2048 (sector 4), block 1 right after it (sector 4101), footer.
HOSTILE_LENGTH = 2048 + 2 * BLOCK_BYTES + 512


@pytest.fixture
def bounded_memory():
    """At most 1 GiB more address space while the test runs: a header that makes the library allocate
    gigabytes fails the test with MemoryError instead of swapping the machine."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open('/proc/self/statm') as handle:
        in_use = int(handle.read().split()[0]) * os.sysconf('SC_PAGE_SIZE')
    resource.setrlimit(resource.RLIMIT_AS, (in_use + 1024 * MIB, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def rewrite_header(path, **fields):
    """Dynamic header fields replaced, with a fresh checksum: only the fields themselves are wrong."""
    with open(path, 'r+b') as handle:
        handle.seek(512)
        header = dict(vhd.unpack_dynamic_header(handle.read(1024)), **fields)
        handle.seek(512)
        handle.write(vhd.pack_dynamic_header(header))


def rewrite_footers(path, **fields):
    """Both footers of a dynamic VHD with fields replaced, with fresh checksums."""
    with open(path, 'r+b') as handle:
        length = handle.seek(0, os.SEEK_END)
        handle.seek(length - 512)
        raw = vhd.pack_footer(dict(vhd.unpack_footer(handle.read(512)), **fields))
        for offset in (0, length - 512):
            handle.seek(offset)
            handle.write(raw)


def rewrite_bat(path, **entries):
    """Table entries e0=..., e1=... replaced by sector numbers."""
    with open(path, 'r+b') as handle:
        for name, sector in entries.items():
            handle.seek(1536 + 4 * int(name[1:]))
            handle.write(struct.pack('>I', sector))


HOSTILE_DYNAMIC = [
    ('table-of-0xffffffff-entries', rewrite_header, {'max_table_entries': 0xFFFFFFFF},
     'table of 4294967295 entries'),
    ('table-longer-than-2040GiB-needs', rewrite_header, {'max_table_entries': 1044481},
     'table of 1044481 entries'),
    ('block-size-not-a-power-of-two', rewrite_header, {'block_size': 3 * MIB}, 'not a power of two'),
    ('block-size-above-256MiB', rewrite_header, {'block_size': 512 * MIB, 'max_table_entries': 1},
     'not a power of two from 512 bytes to 256 MiB'),
    ('block-size-below-512', rewrite_header, {'block_size': 256}, 'not a power of two'),
    ('header-at-2**64-1', rewrite_footers, {'data_offset': vhd.NO_OFFSET}, 'the dynamic header: bytes .* past the end'),
    ('header-past-the-end', rewrite_footers, {'data_offset': HOSTILE_LENGTH},
     'the dynamic header: bytes .* past the end'),
    ('table-at-2**64-1', rewrite_header, {'table_offset': vhd.NO_OFFSET},
     'the block allocation table: bytes .* past the end'),
    ('table-over-the-header', rewrite_header, {'table_offset': 520},  # reads the header's 0xFF.. data offset
     'the block allocation table .* overlaps the dynamic header'),
    ('table-over-the-footer', rewrite_header, {'table_offset': HOSTILE_LENGTH - 516},
     'the block allocation table ends at byte %d, past the data' % (HOSTILE_LENGTH - 508)),
    ('block-outside-the-file', rewrite_bat, {'e1': (HOSTILE_LENGTH + 100 * MIB) // 512},
     'the block of table entry 1 ends at byte .* past the data'),
    ('block-over-the-footer', rewrite_bat, {'e1': (HOSTILE_LENGTH - 1024) // 512},
     'the block of table entry 1 ends at byte .* past the data'),
    ('block-on-the-footer-copy', rewrite_bat, {'e0': 0}, 'the block of table entry 0 .* overlaps the footer copy'),
    ('block-on-the-header', rewrite_bat, {'e0': 1}, 'the block of table entry 0 .* overlaps the dynamic header'),
    ('two-entries-one-block', rewrite_bat, {'e1': 4}, 'entry 1 .* overlaps the block of table entry 0'),
    ('overlapping-blocks', rewrite_bat, {'e1': 5}, 'entry 1 .* overlaps the block of table entry 0'),
]


@pytest.mark.parametrize('rewrite, fields, message', [case[1:] for case in HOSTILE_DYNAMIC],
                         ids=[case[0] for case in HOSTILE_DYNAMIC])
def test_hostile_dynamic_vhd_is_refused_before_any_write_or_allocation(tmp_path, bounded_memory, rewrite, fields,
                                                                       message):
    path = str(tmp_path / 'h.vhd')
    write_dynamic(path, 3 * MIB, {0: b'a', 1: b'b'})
    assert os.path.getsize(path) == HOSTILE_LENGTH
    rewrite(path, **fields)
    with pytest.raises(vhd.VhdError, match=message):
        vhd.read_vhd(path)
    assert_refused_without_write(path, 1024 ** 3, message)


@pytest.mark.parametrize('size, message', [
    (vhd.MAX_SIZE + 512, 'more than a VHD can hold'),
    (3 * TIB, 'more than a VHD can hold'),
    (1000000 * TIB, 'more than a VHD can hold'),
    (0, 'positive whole number of 512-byte sectors'),
    (-512, 'positive whole number of 512-byte sectors'),
    (float(1024 ** 3), 'positive whole number of 512-byte sectors'),
])
@pytest.mark.parametrize('kind', ['fixed', 'dynamic'])
def test_size_no_vhd_can_have_is_refused_before_any_write(tmp_path, bounded_memory, kind, size, message):
    path = str(tmp_path / 'x.vhd')
    (write_fixed if kind == 'fixed' else write_dynamic)(path, 3 * MIB)
    assert_refused_without_write(path, size, message)


def test_grow_whose_table_would_exceed_the_bound_is_refused_without_allocating_it(tmp_path, bounded_memory):
    path = str(tmp_path / 's.vhd')
    write_dynamic(path, MIB, {0: b'a'}, block_size=512)
    assert vhd.read_vhd(path)['block_size'] == 512
    assert_refused_without_write(path, TIB, 'table of %d entries for 512-byte blocks' % (TIB // 512))
    assert_refused_without_write(path, (vhd.MAX_TABLE_ENTRIES + 1) * 512, 'is refused')


def test_differencing_vhd_is_read_but_not_grown(tmp_path):
    path = str(tmp_path / 'child.vhd')
    write_dynamic(path, 3 * MIB, {0: b'a'})
    rewrite_footers(path, disk_type=4)
    rewrite_header(path, parent_name='base.vhd'.encode('utf-16-be'))
    assert vhd.read_vhd(path)['vhd_type'] == 'differencing'
    assert_refused_without_write(path, 4 * MIB, "differencing VHD .* its parent disk 'base.vhd'")


def test_grow_that_would_move_a_block_beyond_what_a_table_entry_addresses_is_refused(tmp_path):
    """Sector numbers are 32 bits: a block moved past 2 TiB (here: after unused space in a sparse file)
    could not be recorded in the table."""
    path = str(tmp_path / 'long.vhd')
    write_dynamic(path, 3 * MIB, {0: b'a'})
    with open(path, 'r+b') as handle:
        handle.seek(-512, os.SEEK_END)
        raw_footer = handle.read(512)
        handle.seek(2 * TIB)
        handle.write(raw_footer)
    assert vhd.read_vhd(path)['allocated_blocks'] == 1
    assert_refused_without_write(path, 1024 ** 3, 'beyond what a table entry can address')


def test_the_limits_follow_qemu():
    assert vhd.MAX_SIZE == 2040 * 1024 ** 3
    assert vhd.entries_for(vhd.MAX_SIZE, 512 * 1024) <= vhd.MAX_TABLE_ENTRIES  # 512 KiB blocks reach 2040 GiB


# ---------------------------------------------------------------- against qemu-img, where it exists

needs_qemu_img = pytest.mark.skipif(shutil.which('qemu-img') is None, reason='qemu-img is not installed')


def qemu_img_create(path, subformat, size):
    return subprocess.call(['qemu-img', 'create', '-q', '-f', 'vpc', '-o', 'subformat=%s,force_size=on' % subformat,
                            path, str(size)], stderr=subprocess.DEVNULL)


def assert_qemu_reads(path, size):
    """qemu-img opens it as a VHD of size (its vpc driver checks the header, table and size limit on
    open; `qemu-img check` does not support vpc) and qemu-io reads its last sector."""
    info = json.loads(subprocess.check_output(['qemu-img', 'info', '-f', 'vpc', '--output', 'json', path]))
    assert info['virtual-size'] == size
    subprocess.check_call(['qemu-io', '-f', 'vpc', '-r', '-c', 'read %d 512' % (size - 512), path],
                          stdout=subprocess.DEVNULL)


@needs_qemu_img
@pytest.mark.parametrize('subformat', ['dynamic', 'fixed'])
def test_qemu_img_images_read_and_grow(tmp_path, subformat):
    path = str(tmp_path / 'q.vhd')
    assert qemu_img_create(path, subformat, '5M') == 0
    assert vhd.read_vhd(path)['vhd_type'] == subformat
    vhd.grow(path, 600 * MIB)
    assert_qemu_reads(path, 600 * MIB)


@needs_qemu_img
@pytest.mark.parametrize('subformat', ['dynamic', 'fixed'])
def test_qemu_img_agrees_on_the_largest_vhd_and_a_grow_to_it_opens(tmp_path, subformat):
    """qemu-img creates a VHD of MAX_SIZE and refuses one sector more; a grow to exactly MAX_SIZE (sparse)
    gives a file it opens, one sector more is refused."""
    assert qemu_img_create(str(tmp_path / 'max.vhd'), subformat, vhd.MAX_SIZE) == 0
    assert qemu_img_create(str(tmp_path / 'over.vhd'), subformat, vhd.MAX_SIZE + 512) != 0
    path = str(tmp_path / 'q.vhd')
    assert qemu_img_create(path, subformat, '5M') == 0
    assert_refused_without_write(path, vhd.MAX_SIZE + 512, 'more than a VHD can hold')
    assert vhd.grow(path, vhd.MAX_SIZE)['virtual_size'] == vhd.MAX_SIZE
    assert_qemu_reads(path, vhd.MAX_SIZE)


@needs_qemu_img
def test_small_blocks_grow_within_the_table_bound_and_qemu_reads_them(tmp_path):
    path = str(tmp_path / 's.vhd')
    write_dynamic(path, MIB, {0: b'a', 1: b'b'}, block_size=512)
    vhd.grow(path, 64 * MIB)
    assert_qemu_reads(path, 64 * MIB)
    subprocess.check_call(['qemu-io', '-f', 'vpc', '-r', '-c', 'read -P 0x61 0 512', '-c', 'read -P 0x62 512 512',
                           path], stdout=subprocess.DEVNULL)


def test_footer_struct_is_512_bytes_and_header_1024():
    assert vhd._FOOTER.size == 512 and vhd._DYNAMIC.size == 1024
    assert struct.calcsize('>I') == 4
