# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""migration.decisions: what a move needs and why it cannot be done, pure functions of the facts."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.decisions import (
    copied_volume_xml, decide, job_figures, migrated_disks, moved_state, preflight_problems, timed_out, where)
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.options import DEFAULT_OPTIONS

MIB = 1024 ** 2
UUID = '4dea22b3-1d52-d8f3-2516-782e98ab3fa0'


def disk(path='/shared/web1.raw', fmt='raw', cache='none', device='disk', vhd_slice=None):
    return {'path': path, 'format': fmt, 'cache': cache, 'device': device, 'slice': vhd_slice}


def on_host(state='running', uuid=UUID, disks=None, nics=None, memory=512 * MIB):
    return {'state': state, 'active': state != 'stopped', 'uuid': uuid, 'persistent': True, 'cpu': None,
            'spec': {'memory': memory, 'disks': [disk()] if disks is None else disks, 'nics': nics or []}}


def facts(source=None, destination=None, **target):
    server = source or on_host()
    result = {'source': source, 'destination': destination, 'same_host': False, 'target': {
        'maintenance': False, 'available_memory': 8192 * MIB, 'cpu_compatible': True,
        'disks': dict((d['path'], True) for d in server['spec']['disks']),
        'pool_dirs': ['/var/lib/libvirt/images'], 'switches': {}}}
    result['target'].update(target)
    return result


def options(**changes):
    return dict(DEFAULT_OPTIONS, **changes)


# ---------------------------------------------------------------- decide

@pytest.mark.parametrize('source, destination, live, action', [
    (on_host(), None, True, 'live'),
    (on_host(), None, False, 'restart'),
    (on_host('suspended'), None, True, 'live'),
    (on_host('stopped'), None, True, 'cold'),
    (on_host('stopped'), None, False, 'cold'),
    (None, on_host(), True, 'none'),
    (None, on_host('stopped'), True, 'none'),
    (on_host('stopped'), on_host(), True, 'finish'),          # a move that left the source's definition
    (on_host(), on_host('stopped'), True, 'live'),            # a stale definition on the destination is replaced
])
def test_decide(source, destination, live, action):
    assert decide(facts(source, destination), live) == action


@pytest.mark.parametrize('source, destination, same_host, message', [
    (None, None, False, 'defined on neither host'),
    (on_host(), on_host(), False, 'runs on both hosts'),
    (on_host(), on_host(uuid='other'), False, 'another server with the same name'),
    (on_host('crashed'), None, False, 'crashed'),
    (on_host(), None, True, 'same host'),
])
def test_decide_refuses(source, destination, same_host, message):
    situation = facts(source, destination)
    situation['same_host'] = same_host
    with pytest.raises(VirtualIronError, match=message):
        decide(situation, True)


# ---------------------------------------------------------------- pre-flight checks

def test_preflight_passes():
    assert preflight_problems(facts(on_host()), options(), 'live') == []


def test_nothing_to_check_when_nothing_moves():
    assert preflight_problems(facts(None, on_host()), options(), 'none') == []


@pytest.mark.parametrize('target, message', [
    ({'maintenance': True}, 'the destination is in maintenance'),
    ({'available_memory': 100 * MIB}, 'the destination has 100 MiB of memory available, the server needs 512 MiB'),
    ({'cpu_compatible': False}, "the destination's CPU cannot run the server's CPU model"),
    ({'cpu_compatible': 'no such model'}, 'the CPU comparison failed: no such model'),
    ({'disks': {'/shared/web1.raw': False}}, 'disk /shared/web1.raw is not reachable on the destination'),
    ({'switches': {'backend': False, 'frontend': True}}, 'switch backend is missing or inactive on the destination'),
])
def test_preflight_refuses(target, message):
    problems = preflight_problems(facts(on_host(), **target), options(), 'live')
    assert len(problems) == 1 and problems[0].startswith(message)


def test_cpu_that_cannot_be_compared_is_left_to_libvirt():
    assert preflight_problems(facts(on_host(), cpu_compatible=None), options(), 'live') == []


def test_dynamic_vhd_cannot_be_live_migrated_but_can_move_stopped():
    server = on_host(disks=[disk(fmt='vhd')])
    assert 'QEMU cannot live-migrate a dynamic VHD' in preflight_problems(facts(server), options(), 'live')[0]
    assert preflight_problems(facts(on_host('stopped', disks=[disk(fmt='vhd')])), options(), 'cold') == []


def test_fixed_vhd_on_a_raw_slice_is_live_migrated():
    server = on_host(disks=[disk(fmt='vhd', vhd_slice=1024 ** 3)])
    assert preflight_problems(facts(server), options(), 'live') == []


def test_unsafe_cache_on_shared_storage():
    server = on_host(disks=[disk(cache='writeback')])
    assert 'cache writeback is unsafe' in preflight_problems(facts(server), options(), 'live')[0]
    copied = facts(server, disks={'/shared/web1.raw': False}, pool_dirs=['/shared'])
    assert preflight_problems(copied, options(storage='copy'), 'live') == []


def test_copy_needs_a_pool_for_each_disk():
    server = on_host(disks=[disk('/var/lib/libvirt/images/a.raw'), disk('/srv/b.raw')])
    problems = preflight_problems(facts(server), options(storage='copy'), 'live')
    assert problems == ['disk /srv/b.raw: the destination has no active storage pool for /srv to copy it into']


PRIVATE = '/var/lib/libvirt/images/web1.raw'


@pytest.mark.parametrize('action', ['cold', 'restart'])
def test_stopped_copy_needs_a_pool_and_no_file_there(action):
    server = on_host('stopped' if action == 'cold' else 'running', disks=[disk(PRIVATE)])
    assert preflight_problems(facts(server, disks={PRIVATE: False}), options(storage='copy'), action) == []
    there = preflight_problems(facts(server, disks={PRIVATE: True}), options(storage='copy'), action)
    assert there == ["disk %s: a file is already there on the destination; a stopped server's disks are copied "
                     "only to a path where nothing is (remove it there, or move the server with storage shared)"
                     % PRIVATE]
    unknown = preflight_problems(facts(server, disks={PRIVATE: None}), options(storage='copy'), action)
    assert 'cannot tell whether a file is there' in unknown[0]
    no_pool = preflight_problems(facts(server, disks={PRIVATE: False}, pool_dirs=['/srv']), options(storage='copy'),
                                 action)
    assert no_pool == ['disk %s: the destination has no active storage pool for /var/lib/libvirt/images to copy '
                       'it into' % PRIVATE]


def test_a_live_copy_may_reuse_a_disk_on_the_destination():
    server = on_host(disks=[disk(PRIVATE)])
    assert preflight_problems(facts(server, disks={PRIVATE: True}), options(storage='copy'), 'live') == []


def copy_of(fmt, capacity):
    return ('<volume><name>web1.raw</name><capacity unit="bytes">%d</capacity><allocation unit="bytes">0</allocation>'
            '<target><format type="%s"/></target></volume>' % (capacity, fmt))


# What libvirt reports of a raw disk whose guest wrote a qcow2 header naming a host file as its backing file
# (taken from a lab host): the probed format, a capacity from the header, the backing file.
GUEST_HEADER = ("<volume type='file'><name>web1.raw</name><capacity unit='bytes'>5368709120</capacity>"
                "<allocation unit='bytes'>2097152</allocation><physical unit='bytes'>2097152</physical>"
                "<target><path>/var/lib/libvirt/images/web1.raw</path><format type='qcow2'/></target>"
                "<backingStore><path>/etc/shadow</path><format type='raw'/></backingStore></volume>")


@pytest.mark.parametrize('source, stated, expected', [
    ("<volume type='file'><name>old.raw</name><capacity unit='bytes'>1048576</capacity>"
     "<allocation unit='bytes'>4096</allocation><target><path>/a/old.raw</path><format type='raw'/></target></volume>",
     disk(PRIVATE), copy_of('raw', 1048576)),
    ("<volume><name>d.qcow2</name><capacity unit='G'>2</capacity><target><format type='qcow2'/></target></volume>",
     disk(PRIVATE, 'qcow2'), copy_of('qcow2', 2 * 1024 ** 3)),
    ("<volume><name>d</name><capacity>512</capacity></volume>", disk(PRIVATE, None), copy_of('raw', 512)),
    # a fixed VHD on a raw slice: its whole file (footer included) copied raw
    ("<volume><name>d.vhd</name><capacity>1048576</capacity><physical>1049088</physical>"
     "<target><format type='vpc'/></target></volume>", disk(PRIVATE, 'vhd', vhd_slice=1048576), copy_of('raw', 1049088)),
    ("<volume><name>d.vhd</name><capacity>1048576</capacity><target><format type='vpc'/></target></volume>",
     disk(PRIVATE, 'vhd'), copy_of('vpc', 1048576)),
    # the guest's header changes neither the format nor the size, and no backing file comes along
    (GUEST_HEADER, disk(PRIVATE), copy_of('raw', 2097152)),
])
def test_copied_volume_has_the_stated_format_and_the_capacity(source, stated, expected):
    assert copied_volume_xml(source, stated) == expected


def test_copy_refuses_a_file_not_in_its_stated_format():
    source = "<volume><name>d</name><capacity>512</capacity><target><format type='raw'/></target></volume>"
    with pytest.raises(VirtualIronError, match="disk %s: the server's definition says format qcow2, but the file is "
                                               "raw" % PRIVATE):
        copied_volume_xml(source, disk(PRIVATE, 'qcow2'))


def test_cd_drives_are_not_moved():
    server = on_host(disks=[disk(), disk('/iso/debian.iso', device='cdrom')])
    assert [d['path'] for d in migrated_disks(server['spec'])] == ['/shared/web1.raw']
    assert preflight_problems(facts(server), options(), 'live') == []


def test_every_problem_is_listed():
    server = on_host(disks=[disk(fmt='vhd')], memory=64 * 1024 * MIB)
    problems = preflight_problems(facts(server, maintenance=True, switches={'x': False}), options(), 'live')
    assert problems == [
        'the destination is in maintenance',
        'the destination has 8192 MiB of memory available, the server needs 65536 MiB',
        'disk /shared/web1.raw: QEMU cannot live-migrate a dynamic VHD; convert it to a fixed VHD '
        '(virtual_disk vhd_type: fixed) or qcow2, or move the server stopped (live: false)',
        'switch x is missing or inactive on the destination']


# ---------------------------------------------------------------- figures and where the server is

def test_job_figures():
    stats = {'time_elapsed': 285, 'downtime': 9, 'data_processed': 516907, 'memory_processed': 516907,
             'disk_processed': 0}
    assert job_figures(stats) == {
        'migration_seconds': 0.285, 'downtime_ms': 9, 'bytes_transferred': 516907,
        'memory_bytes_transferred': 516907, 'disk_bytes_transferred': 0}
    assert job_figures({}) == {}


def test_timed_out():
    assert not timed_out(100.0, None, 1000.0)
    assert not timed_out(100.0, 10, 109.9)
    assert timed_out(100.0, 10, 110.0)


@pytest.mark.parametrize('action', ['cold', 'restart'])
def test_stopped_copy_of_an_overlay_needs_its_backing_file_there(action):
    server = on_host('stopped' if action == 'cold' else 'running', disks=[disk(PRIVATE)])
    for on_destination, expected in ((False, 'does not have'), (None, 'may not have (cannot tell)')):
        backing = {PRIVATE: {'path': '/var/lib/libvirt/images/base.raw', 'on_destination': on_destination}}
        problems = preflight_problems(facts(server, disks={PRIVATE: False}, backing=backing), options(storage='copy'),
                                      action)
        assert problems == ['disk %s is a qcow2 overlay on /var/lib/libvirt/images/base.raw, which the destination %s; '
                            'the copy of the overlay alone would not start there (put its backing file at the same '
                            'path there, flatten the disk with qemu-img convert, or move the server live, which '
                            'copies the whole chain)' % (PRIVATE, expected)]
    there = {PRIVATE: {'path': '/var/lib/libvirt/images/base.raw', 'on_destination': True}}
    assert preflight_problems(facts(server, disks={PRIVATE: False}, backing=there), options(storage='copy'),
                              action) == []


@pytest.mark.parametrize('source, destination, action, before, after', [
    (on_host(), None, 'live', {'source': 'running', 'destination': None}, 'running'),
    (on_host('suspended'), None, 'live', {'source': 'suspended', 'destination': None}, 'suspended'),
    (on_host('stopped'), None, 'cold', {'source': 'stopped', 'destination': None}, 'stopped'),
    (on_host(), None, 'restart', {'source': 'running', 'destination': None}, 'running'),
    (None, on_host('stopped'), 'none', {'source': None, 'destination': 'stopped'}, 'stopped'),
    (on_host('stopped'), on_host(), 'finish', {'source': 'stopped', 'destination': 'running'}, 'running'),
])
def test_where_the_server_is_before_and_after(source, destination, action, before, after):
    situation = facts(source, destination)
    assert where(situation) == before
    assert moved_state(situation, action) == after
