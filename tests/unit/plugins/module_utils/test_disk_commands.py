# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""virtual_disk's command lines, as a table: for each task, the mocked outputs of the commands, and the exact
argv and environment of every command run, in order, with the task's result.

Commands are faked (qemu-img create and convert write a plausible image, as the real one would); files are real,
in a temporary directory ({d} in the table), since VHDs are read and grown by the collection's own library.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re
import uuid

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.disk import image as disk_image
from ansible_collections.virtualiron.infra.plugins.module_utils.disk import vhd
from ansible_collections.virtualiron.infra.plugins.module_utils.disk.converger import DiskConverger
from ansible_collections.virtualiron.infra.plugins.modules.virtual_disk import ARGUMENT_SPEC

MIB = 1024 ** 2
TEMP = '.partial-0123abcd'  # what partial_path() names the temporary file, with uuid4 fixed below
ENGLISH = {'LC_ALL': 'C'}
OK = (0, '', '')
LOCKED = (1, '', 'qemu-io: can\'t open device d.raw: Failed to get "write" lock\nIs another process using the image?')


def info(path, fmt):
    """qemu-img info, read as fmt, under the resource limits."""
    return ['prlimit', '--as=1073741824', '--cpu=30', 'qemu-img', 'info', '-f', fmt, '-U', '--output=json', path]


def probe(path):
    """qemu-io opening the image for writing, to learn whether a running QEMU holds its lock."""
    return ['qemu-io', '-f', 'raw', '-c', 'quit', path]


def size_is(size):
    """What qemu-img info --output=json says of a self-contained image of size bytes."""
    return 0, json.dumps({'virtual-size': size, 'format': 'raw'}), ''


# commands: (argv, environment, mocked (rc, stdout, stderr)), in the order they run
CASES = [
    dict(id='create raw', params=dict(path='{d}/disk.raw', format='raw', size='10MiB'),
         commands=[(['qemu-img', 'create', '-q', '-f', 'raw', '{d}/.disk.raw' + TEMP, '10485760'], None, OK),
                   (info('{d}/disk.raw', 'raw'), None, size_is(10 * MIB))],
         changes=['created 10MiB raw'], disk=dict(format='raw', virtual_size=10 * MIB, size='10MiB'),
         files=['disk.raw']),
    dict(id='create qcow2', params=dict(path='{d}/disk.qcow2', format='qcow2', size='1GiB'),
         commands=[(['qemu-img', 'create', '-q', '-f', 'qcow2', '{d}/.disk.qcow2' + TEMP, '1073741824'], None, OK),
                   (info('{d}/disk.qcow2', 'qcow2'), None, size_is(1024 * MIB))],
         changes=['created 1GiB qcow2'], disk=dict(format='qcow2', virtual_size=1024 * MIB, vhd_type=None),
         files=['disk.qcow2']),
    dict(id='create dynamic vhd', params=dict(path='{d}/disk.vhd', size='4MiB'),
         commands=[(['qemu-img', 'create', '-q', '-f', 'vpc', '-o', 'subformat=dynamic,force_size=on',
                     '{d}/.disk.vhd' + TEMP, '4194304'], None, OK)],
         changes=['created 4MiB dynamic VHD'],
         disk=dict(format='vhd', vhd_type='dynamic', virtual_size=4 * MIB, live_migratable=False, creator='qem2'),
         files=['disk.vhd']),
    dict(id='create fixed vhd, rounded up to a sector',
         params=dict(path='{d}/disk.vhd', size='1000B', vhd_type='fixed'),
         commands=[(['qemu-img', 'create', '-q', '-f', 'vpc', '-o', 'subformat=fixed,force_size=on',
                     '{d}/.disk.vhd' + TEMP, '1024'], None, OK)],
         changes=['created 1KiB fixed VHD'],
         disk=dict(vhd_type='fixed', virtual_size=1024, live_migratable=True, allocation=4096),
         files=['disk.vhd']),
    dict(id='grow raw', setup={'disk.raw': 'raw'}, params=dict(path='{d}/disk.raw', format='raw', size='20MiB'),
         commands=[(info('{d}/disk.raw', 'raw'), None, size_is(10 * MIB)),
                   (probe('{d}/disk.raw'), ENGLISH, OK),
                   (['qemu-img', 'resize', '-q', '-f', 'raw', '{d}/disk.raw', '20971520'], None, OK),
                   (info('{d}/disk.raw', 'raw'), None, size_is(20 * MIB))],
         changes=['grown to 20MiB'], disk=dict(virtual_size=20 * MIB), files=['disk.raw']),
    dict(id='grow qcow2, with --diff', with_diff=True, setup={'disk.qcow2': 'qcow2'},
         params=dict(path='{d}/disk.qcow2', format='qcow2', size='20MiB'),
         commands=[(info('{d}/disk.qcow2', 'qcow2'), None, size_is(10 * MIB)),
                   (probe('{d}/disk.qcow2'), ENGLISH, OK),
                   (['qemu-img', 'resize', '-q', '-f', 'qcow2', '{d}/disk.qcow2', '20971520'], None, OK),
                   (info('{d}/disk.qcow2', 'qcow2'), None, size_is(20 * MIB))],
         changes=['grown to 20MiB'], disk=dict(virtual_size=20 * MIB), files=['disk.qcow2'],
         diff={'before': {'state': 'present', 'format': 'qcow2', 'vhd_type': None, 'size': '10MiB'},
               'after': {'state': 'present', 'format': 'qcow2', 'vhd_type': None, 'size': '20MiB'},
               'before_header': '{d}/disk.qcow2', 'after_header': '{d}/disk.qcow2'}),
    dict(id='grow dynamic vhd (the library, no qemu-img)', setup={'disk.vhd': 'dynamic'},
         params=dict(path='{d}/disk.vhd', size='12MiB'),
         commands=[(probe('{d}/disk.vhd'), ENGLISH, OK)],
         changes=['grown to 12MiB'], disk=dict(vhd_type='dynamic', virtual_size=12 * MIB), files=['disk.vhd']),
    dict(id='refuse shrink', setup={'disk.qcow2': 'qcow2'},
         params=dict(path='{d}/disk.qcow2', format='qcow2', size='5MiB'),
         commands=[(info('{d}/disk.qcow2', 'qcow2'), None, size_is(10 * MIB))],
         error='refusing to shrink {d}/disk.qcow2 from 10MiB to 5MiB', files=['disk.qcow2']),
    dict(id='refuse grow under a guest of another host', setup={'disk.raw': 'raw'},
         params=dict(path='{d}/disk.raw', format='raw', size='20MiB'),
         commands=[(info('{d}/disk.raw', 'raw'), None, size_is(10 * MIB)),
                   (probe('{d}/disk.raw'), ENGLISH, LOCKED)],
         error='refusing to grow .* \\(QEMU holds its lock\\)', files=['disk.raw']),
    dict(id='copy a qcow2 source as a fixed vhd', setup={'src.qcow2': 'qcow2'},
         params=dict(path='{d}/copy.vhd', vhd_type='fixed', source='{d}/src.qcow2', source_format='qcow2'),
         commands=[(info('{d}/src.qcow2', 'qcow2'), None, size_is(3 * MIB)),
                   (probe('{d}/src.qcow2'), ENGLISH, OK),
                   (['qemu-img', 'convert', '-q', '-f', 'qcow2', '-O', 'vpc', '-o', 'subformat=fixed,force_size=on',
                     '{d}/src.qcow2', '{d}/.copy.vhd' + TEMP], None, OK)],
         changes=['copied from {d}/src.qcow2 as fixed VHD'],
         disk=dict(vhd_type='fixed', virtual_size=3 * MIB, live_migratable=True), files=['copy.vhd', 'src.qcow2']),
    dict(id='copy a raw source as qcow2, then grow it', setup={'src.raw': 'raw'},
         params=dict(path='{d}/copy.qcow2', format='qcow2', size='8MiB', source='{d}/src.raw', source_format='raw'),
         commands=[(info('{d}/src.raw', 'raw'), None, size_is(3 * MIB)),
                   (probe('{d}/src.raw'), ENGLISH, OK),
                   (['qemu-img', 'convert', '-q', '-f', 'raw', '-O', 'qcow2', '{d}/src.raw', '{d}/.copy.qcow2' + TEMP],
                    None, OK),
                   (['qemu-img', 'resize', '-q', '-f', 'qcow2', '{d}/copy.qcow2', '8388608'], None, OK),
                   (info('{d}/copy.qcow2', 'qcow2'), None, size_is(8 * MIB))],
         changes=['copied from {d}/src.raw as qcow2', 'grown to 8MiB'], disk=dict(format='qcow2', virtual_size=8 * MIB),
         files=['copy.qcow2', 'src.raw']),
    dict(id='a failed copy leaves nothing', setup={'src.raw': 'raw'},
         params=dict(path='{d}/copy.vhd', source='{d}/src.raw', source_format='raw'),
         commands=[(info('{d}/src.raw', 'raw'), None, size_is(3 * MIB)),
                   (probe('{d}/src.raw'), ENGLISH, OK),
                   (['qemu-img', 'convert', '-q', '-f', 'raw', '-O', 'vpc', '-o', 'subformat=dynamic,force_size=on',
                     '{d}/src.raw', '{d}/.copy.vhd' + TEMP], None, (1, '', 'No space left on device'))],
         error='^qemu-img failed \\(qemu-img convert .*exit status 1\\): No space left on device$', files=['src.raw']),
    dict(id='a copy whose grow fails is removed', setup={'src.raw': 'raw'},
         params=dict(path='{d}/copy.raw', format='raw', size='8MiB', source='{d}/src.raw', source_format='raw'),
         commands=[(info('{d}/src.raw', 'raw'), None, size_is(3 * MIB)),
                   (probe('{d}/src.raw'), ENGLISH, OK),
                   (['qemu-img', 'convert', '-q', '-f', 'raw', '-O', 'raw', '{d}/src.raw', '{d}/.copy.raw' + TEMP],
                    None, OK),
                   (['qemu-img', 'resize', '-q', '-f', 'raw', '{d}/copy.raw', '8388608'], None,
                    (1, '', 'Permission denied'))],
         error='Permission denied; the new disk {d}/copy.raw was removed$', files=['src.raw']),
    dict(id='convert a dynamic vhd to fixed', setup={'disk.vhd': 'dynamic'},
         params=dict(path='{d}/disk.vhd', vhd_type='fixed'),
         commands=[(probe('{d}/disk.vhd'), ENGLISH, OK),
                   (probe('{d}/disk.vhd'), ENGLISH, OK),
                   (['qemu-img', 'convert', '-q', '-f', 'vpc', '-O', 'vpc', '-o', 'subformat=fixed,force_size=on',
                     '{d}/disk.vhd', '{d}/.disk.vhd' + TEMP], None, OK)],
         changes=['converted to a fixed VHD'], disk=dict(vhd_type='fixed', virtual_size=10 * MIB),
         files=['disk.vhd']),
    dict(id='absent removes the file', setup={'disk.raw': 'raw'},
         params=dict(path='{d}/disk.raw', format='raw', state='absent'),
         commands=[(info('{d}/disk.raw', 'raw'), None, size_is(10 * MIB)),
                   (probe('{d}/disk.raw'), ENGLISH, OK)],
         changes=['removed'], disk=None, files=[]),
    dict(id='absent, already', params=dict(path='{d}/disk.raw', format='raw', state='absent'),
         commands=[], changes=[], disk=None, files=[]),
    dict(id='check mode: create', check_mode=True, params=dict(path='{d}/disk.vhd', size='4MiB', vhd_type='fixed'),
         commands=[], changes=['created 4MiB fixed VHD'],
         disk=dict(vhd_type='fixed', virtual_size=4 * MIB, allocation=None, creator='qem2'), files=[]),
    dict(id='check mode: grow', check_mode=True, setup={'disk.raw': 'raw'},
         params=dict(path='{d}/disk.raw', format='raw', size='20MiB'),
         commands=[(info('{d}/disk.raw', 'raw'), None, size_is(10 * MIB)),
                   (probe('{d}/disk.raw'), ENGLISH, OK)],
         changes=['grown to 20MiB'], disk=dict(virtual_size=20 * MIB, allocation=0), files=['disk.raw']),
    dict(id='check mode: copy', check_mode=True, setup={'src.raw': 'raw'},
         params=dict(path='{d}/copy.vhd', source='{d}/src.raw', source_format='raw'),
         commands=[(info('{d}/src.raw', 'raw'), None, size_is(3 * MIB))],
         changes=['copied from {d}/src.raw as dynamic VHD'], disk=dict(vhd_type='dynamic', virtual_size=3 * MIB),
         files=['src.raw']),
    dict(id='re-run: nothing to do', setup={'disk.raw': 'raw'},
         params=dict(path='{d}/disk.raw', format='raw', size='10MiB'),
         commands=[(info('{d}/disk.raw', 'raw'), None, size_is(10 * MIB)),
                   (probe('{d}/disk.raw'), ENGLISH, OK),
                   (info('{d}/disk.raw', 'raw'), None, size_is(10 * MIB))],
         changes=[], disk=dict(virtual_size=10 * MIB), files=['disk.raw']),
    dict(id='re-run of a vhd: nothing to do', setup={'disk.vhd': 'dynamic'},
         params=dict(path='{d}/disk.vhd', size='10MiB', vhd_type='dynamic'),
         commands=[(probe('{d}/disk.vhd'), ENGLISH, OK)],
         changes=[], disk=dict(virtual_size=10 * MIB, vhd_type='dynamic', creator='qem2'), files=['disk.vhd']),
]


def write_vhd(path, size, vhd_type):
    """A VHD as qemu-img writes one (a fixed one unpadded, a dynamic one without data)."""
    footer = vhd.pack_footer(vhd.new_footer(size, vhd_type))
    with open(path, 'wb') as handle:
        if vhd_type == 'fixed':
            handle.truncate(size)
            handle.seek(size)
        else:
            handle.write(footer)
            handle.write(vhd.pack_dynamic_header(vhd.new_dynamic_header(size, 1536)))
            handle.seek(1536)
            handle.write(vhd.pack_bat([vhd.UNALLOCATED] * vhd.entries_for(size, vhd.DEFAULT_BLOCK_SIZE)))
        handle.write(footer)


def image_size(path, qemu_format):
    return vhd.read_vhd(path)['virtual_size'] if qemu_format == 'vpc' else os.path.getsize(path)


def write_image(path, qemu_format, options, size):
    if qemu_format == 'vpc':
        write_vhd(path, size, re.search('subformat=(\\w+)', options).group(1))
    else:
        with open(path, 'wb') as handle:
            handle.truncate(size)


class FakeCommands(object):
    """run_command: records (argv, environ_update), answers with the next reply; qemu-img create and convert
    write their image, as the real one does (or half of it, on failure)."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.seen = []

    def __call__(self, argv, environ_update=None):
        self.seen.append((argv, environ_update))
        rc, out, err = self.replies.pop(0) if self.replies else OK
        if argv[:2] == ['qemu-img', 'create']:
            write_image(argv[-2], argv[argv.index('-f') + 1], ' '.join(argv), int(argv[-1]))
        elif argv[:2] == ['qemu-img', 'convert']:
            write_image(argv[-1], argv[argv.index('-O') + 1], ' '.join(argv),
                        512 if rc else image_size(argv[-2], argv[argv.index('-f') + 1]))
        return rc, out, err


def filled(value, directory):
    """The table's value with {d} replaced by the directory."""
    if isinstance(value, str):
        return value.replace('{d}', directory)
    if isinstance(value, (list, tuple)):
        return type(value)(filled(v, directory) for v in value)
    if isinstance(value, dict):
        return {k: filled(v, directory) for k, v in value.items()}
    return value


def setup_files(directory, setup):
    for name, kind in setup.items():
        path = os.path.join(directory, name)
        if kind in ('fixed', 'dynamic'):
            write_vhd(path, 10 * MIB, kind)
        else:
            write_image(path, kind, '', 3 * MIB if name.startswith('src') else 10 * MIB)


@pytest.fixture
def directory(tmp_path, monkeypatch):
    monkeypatch.setattr(disk_image.uuid, 'uuid4', lambda: uuid.UUID('0123abcd' + '0' * 24))
    return str(tmp_path)


@pytest.mark.parametrize('case', CASES, ids=[case['id'] for case in CASES])
def test_commands_and_result(conn, directory, case):
    case = filled(case, directory)
    setup_files(directory, case.get('setup', {}))
    checked = ArgumentSpecValidator(ARGUMENT_SPEC).validate(case['params'])
    assert not checked.error_messages
    commands = FakeCommands([reply for _argv, _environ, reply in case['commands']])
    converger = DiskConverger(conn, checked.validated_parameters, case.get('check_mode', False),
                              case.get('with_diff', False), run_command=commands)
    if 'error' in case:
        with pytest.raises(VirtualIronError) as failed:
            converger.run()
        assert re.search(case['error'], str(failed.value)), str(failed.value)
    else:
        result = converger.run()
        assert (result['changed'], result['changes'], result['used_by']) == \
            (bool(case['changes']), case['changes'], [])
        assert result.get('diff') == case.get('diff')
        if case['disk'] is None:
            assert 'disk' not in result
        else:
            assert {k: result['disk'][k] for k in case['disk']} == case['disk']
    assert commands.seen == [(argv, environ) for argv, environ, _reply in case['commands']]
    assert sorted(os.listdir(directory)) == case['files']


@pytest.mark.parametrize('replies, error', [
    ([(0, '', '')], None),
    ([(1, '', 'losetup: /dev/loop7: set capacity failed')],
     '^losetup failed \\(losetup -c /dev/loop7, exit status 1\\): losetup: /dev/loop7: set capacity failed$'),
])
def test_a_loop_device_grows_with_its_backing_file(tmp_path, monkeypatch, replies, error):
    backing = tmp_path / 'backing.img'
    backing.write_bytes(b'\0' * 4096)
    monkeypatch.setattr(disk_image, 'loop_backing_file', lambda path: str(backing))
    commands = FakeCommands(replies)
    grow_device = disk_image._grow_loop_device(commands, '/dev/loop7')
    if error is None:
        grow_device(8192)
    else:
        with pytest.raises(VirtualIronError, match=error):
            grow_device(8192)
    assert (commands.seen, backing.stat().st_size) == ([(['losetup', '-c', '/dev/loop7'], None)], 8192)
