# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""virtual_disk's plan: what it does to a disk, what it refuses, what check mode predicts."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.common.converger import Change
from ansible_collections.virtualiron.infra.plugins.module_utils.disk.converger import (
    action_change, describe_disk_change, in_use_refusal, normalize_size, plan, predicted)

MIB = 1024 ** 2
PATH = '/srv/d.vhd'


def request(**options):
    base = {'path': PATH, 'format': 'vhd', 'vhd_type': None, 'size': None, 'state': 'present', 'source': None}
    return dict(base, **options)


def disk(**options):
    base = {'path': PATH, 'format': 'vhd', 'virtual_size': 10 * MIB, 'vhd_type': 'dynamic', 'creator': 'win',
            'allocation': 4096, 'block_device': False, 'live_migratable': False}
    return dict(base, **options)


def test_sizes_are_whole_sectors():
    assert (normalize_size(None), normalize_size(1), normalize_size(512), normalize_size(513)) == (None, 512, 512, 1024)


@pytest.mark.parametrize('current, options, actions', [
    (None, {'size': 10 * MIB}, [('create', 10 * MIB)]),
    (None, {'state': 'absent'}, []),
    (disk(), {'state': 'absent'}, [('remove', None)]),
    (disk(), {}, []),
    (disk(), {'size': 10 * MIB}, []),
    (disk(), {'size': 20 * MIB}, [('grow', 20 * MIB)]),
    (disk(), {'vhd_type': 'dynamic'}, []),
    (disk(), {'vhd_type': 'fixed', 'size': 20 * MIB}, [('convert', 'fixed'), ('grow', 20 * MIB)]),
    (disk(vhd_type='fixed'), {'vhd_type': 'dynamic'}, [('convert', 'dynamic')]),
    (disk(), {'source': '/srv/other.vhd', 'size': 20 * MIB}, [('grow', 20 * MIB)]),  # exists: source unused
    (disk(format='qcow2', vhd_type=None), {'format': 'qcow2', 'size': 20 * MIB}, [('grow', 20 * MIB)]),
])
def test_plan(current, options, actions):
    assert plan(current, request(**options)) == actions


def test_plan_copy_then_grow_past_the_source():
    source = disk(format='qcow2', virtual_size=5 * MIB)
    assert plan(None, request(source='/srv/s.qcow2', size=8 * MIB), source) == \
        [('copy', '/srv/s.qcow2'), ('grow', 8 * MIB)]
    assert plan(None, request(source='/srv/s.qcow2'), source) == [('copy', '/srv/s.qcow2')]


@pytest.mark.parametrize('current, options, source, message', [
    (disk(), {'size': 5 * MIB}, None, 'refusing to shrink /srv/d.vhd from 10MiB to 5MiB'),
    (None, {'source': '/s', 'size': 4 * MIB}, disk(virtual_size=5 * MIB), 'refusing to shrink'),
    (None, {}, None, 'give size \\(or source\\)'),
    (None, {'path': '/dev/vg0/x', 'size': MIB}, None, 'there is no block device /dev/vg0/x'),
    (disk(block_device=True), {'state': 'absent'}, None, 'block device: virtual_disk removes image files only'),
    (disk(vhd_type='fixed', block_device=True), {'vhd_type': 'dynamic'}, None, 'block device'),
    # beyond VHD's 2040 GiB: refused while planning, so check mode reports no change and nothing is written
    (disk(), {'size': 3 * 1024 ** 4}, None, 'more than a VHD can hold'),
    (None, {'size': 2040 * 1024 ** 3 + 512}, None, 'more than a VHD can hold'),
    (None, {'source': '/s', 'size': 3 * 1024 ** 4}, disk(format='qcow2', virtual_size=MIB), 'more than a VHD'),
])
def test_plan_refuses(current, options, source, message):
    with pytest.raises(VirtualIronError, match=message):
        plan(current, request(**options), source)


GROW = [('grow', 20 * MIB)]
REMOVE = [('remove', None)]


@pytest.mark.parametrize('actions, users, locked, force, refused', [
    (GROW, {}, False, False, None),
    (GROW, {'web1': False}, False, False, None),            # a stopped server sees the new size at its next start
    (GROW, {'web1': True}, False, False, 'refusing to grow /srv/d.vhd while a running guest uses it \\(web1\\)'),
    (GROW, {'web1': True}, False, True, 'refusing to grow'),  # force does not make it safe
    (GROW, {}, True, False, 'QEMU holds its lock'),          # a guest of another host
    ([('convert', 'fixed')], {'a': True, 'b': True}, False, False, 'refusing to convert .* \\(a, b\\)'),
    (REMOVE, {}, False, False, None),
    (REMOVE, {'web2': False, 'web1': True}, False, False, 'the definition of web1, web2 has it'),
    (REMOVE, {'web1': True}, True, True, None),
    ([('create', MIB)], {'web1': True}, False, False, None),  # a new disk touches nothing in use
])
def test_in_use_refusal(actions, users, locked, force, refused):
    reason = in_use_refusal(actions, users, locked, force, PATH)
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and re.search(refused, reason), reason


@pytest.mark.parametrize('action, value, start, change, words', [
    ('create', 10 * MIB, None, ('exists', False, True), 'created 10MiB fixed VHD'),
    ('copy', '/s.qcow2', disk(), ('source', None, '/s.qcow2'), 'copied from /s.qcow2 as fixed VHD'),
    ('grow', 2 * 1024 ** 3, disk(), ('size', 10 * MIB, 2 * 1024 ** 3), 'grown to 2GiB'),
    ('convert', 'fixed', disk(), ('vhd_type', 'dynamic', 'fixed'), 'converted to a fixed VHD'),
    ('remove', None, disk(), ('exists', True, False), 'removed'),
])
def test_actions_as_changes_and_their_words(action, value, start, change, words):
    assert action_change(action, value, start) == change
    assert describe_disk_change(Change(*change + (None,)), request(vhd_type='fixed', size=10 * MIB)) == words


@pytest.mark.parametrize('options, words', [
    ({}, 'created 1MiB dynamic VHD'),
    ({'format': 'qcow2'}, 'created 1MiB qcow2'),
    ({'format': 'raw'}, 'created 1MiB raw'),
])
def test_a_new_disk_is_described_by_its_kind(options, words):
    assert describe_disk_change(Change('exists', False, True, None), request(size=MIB, **options)) == words


def test_predicted_for_a_new_disk():
    after = predicted(None, [('create', 10 * MIB)], request(size=10 * MIB), None)
    assert after == {'path': PATH, 'format': 'vhd', 'virtual_size': 10 * MIB, 'allocation': None,
                     'block_device': False, 'vhd_type': 'dynamic', 'creator': 'qem2', 'live_migratable': False}


def test_predicted_after_grow_and_convert_and_absent():
    after = predicted(disk(), [('convert', 'fixed'), ('grow', 20 * MIB)], request(vhd_type='fixed', size=20 * MIB), None)
    assert (after['virtual_size'], after['vhd_type'], after['creator'], after['live_migratable']) == \
        (20 * MIB, 'fixed', 'qem2', True)
    grown = predicted(disk(), [('grow', 20 * MIB)], request(size=20 * MIB), None)
    assert (grown['creator'], grown['allocation']) == ('win', 4096)
    assert predicted(disk(), REMOVE, request(state='absent'), None) is None


def test_predicted_copy_takes_the_source_size():
    after = predicted(None, [('copy', '/s.vhd')], request(source='/s.vhd', format='qcow2'), disk(virtual_size=3 * MIB))
    assert (after['format'], after['virtual_size'], after['vhd_type'], after['live_migratable']) == \
        ('qcow2', 3 * MIB, None, True)
