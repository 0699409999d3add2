# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions of a move, pure functions of the facts gathered from both hosts: what the move needs
(decide), why it cannot be done (preflight_problems), the volume a disk copy makes, the figures of a
finished job, and the words of a move's changes."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.common.libvirt_xml import (
    element_bytes, etree, parse_xml)
from ansible_collections.virtualiron.infra.plugins.module_utils.server.domain_xml import (
    DISK_FORMATS, live_migratable)

# libvirt refuses to live-migrate a disk on shared storage that the host caches (data could be lost).
SAFE_CACHE = (None, 'none', 'directsync')
MOVES = ('live', 'cold', 'restart')  # the actions of decide() that move the server
# The steps of a move (a change's field) in the result's words.
MOVE_WORDS = {
    'stale definition': 'stale source definition removed',
    'live move': 'live-migrated',
    'shutdown': 'shut down',
    'disk copy': 'disks copied (the source keeps its disk files)',
    'definition move': 'definition moved',
    'start': 'started on the destination',
}


def migrated_disks(spec):
    """The disks a move concerns: CD drives are left out (their ISOs are read-only and usually local)."""
    return [d for d in spec['disks'] if d['device'] != 'cdrom' and d['path']]


def volume_format(disk):
    """A disk's format as the server's definition states it, in libvirt's words: a fixed VHD attached as a raw
    slice is raw, and so is a disk that states none (libvirt opens it raw)."""
    if disk.get('slice') or not disk['format']:
        return 'raw'
    return DISK_FORMATS.get(disk['format'], disk['format'])


def decide(facts, live):
    """What the move needs: 'none' (already done), 'finish' (remove a stale source definition),
    'live' or 'cold' (move it), 'restart' (shut down, move, start). Raises VirtualIronError when
    the hosts' states forbid any move."""
    source, dest = facts['source'], facts['destination']
    if facts['same_host']:
        raise VirtualIronError('the source and the destination are the same host')
    if source is None and dest is None:
        raise VirtualIronError('the server is defined on neither host')
    if source is None:
        return 'none'
    if dest is not None and dest['uuid'] != source['uuid']:
        raise VirtualIronError('another server with the same name (UUID %s) exists on the destination'
                               % dest['uuid'])
    if dest is not None and dest['active']:
        if source['active']:
            raise VirtualIronError('the server runs on both hosts; stop one of them by hand')
        return 'finish'  # an earlier move completed but left the source's definition
    if not source['active']:
        return 'cold'
    if source['state'] == 'crashed':
        raise VirtualIronError('the server has crashed; stop it, then move it')
    return 'live' if live else 'restart'


def preflight_problems(facts, options, action):
    """Why the move cannot be done (an empty list: it can), from facts and the module's options."""
    if action not in MOVES:
        return []
    spec, target = facts['source']['spec'], facts['target']
    problems = []
    if target['maintenance']:
        problems.append('the destination is in maintenance')
    if action == 'live':
        problems.extend(_live_problems(spec, target, options))
    for disk in migrated_disks(spec):
        problems.extend(_disk_problems(disk, target, options['storage'], action != 'live'))
    for switch, active in sorted(target['switches'].items()):
        if not active:
            problems.append('switch %s is missing or inactive on the destination' % switch)
    return problems


def _live_problems(spec, target, options):
    problems = []
    if spec['memory'] > target['available_memory']:
        problems.append('the destination has %d MiB of memory available, the server needs %d MiB'
                        % (target['available_memory'] // 1024 ** 2, spec['memory'] // 1024 ** 2))
    if target['cpu_compatible'] is False:
        problems.append("the destination's CPU cannot run the server's CPU model")
    elif target['cpu_compatible'] not in (True, None):
        problems.append('the CPU comparison failed: %s' % target['cpu_compatible'])
    return problems + disk_live_problems(spec, options['storage'])


def disk_live_problems(spec, storage):
    """Why the server's disks keep it from moving live, whatever the destination (an empty list: they do not)."""
    problems = []
    for disk in migrated_disks(spec):
        if not live_migratable(disk):
            problems.append('disk %s: QEMU cannot live-migrate a dynamic VHD; convert it to a fixed VHD '
                            '(virtual_disk vhd_type: fixed) or qcow2, or move the server stopped (live: false)'
                            % disk['path'])
        elif storage == 'shared' and disk['cache'] not in SAFE_CACHE:
            problems.append('disk %s: cache %s is unsafe to live-migrate on shared storage; use cache none'
                            % (disk['path'], disk['cache']))
    return problems


def _disk_problems(disk, target, storage, stopped):
    """A stopped server's disks are copied by us, never over a file the destination has: it may be data."""
    exists = target['disks'].get(disk['path'])
    if storage == 'shared' and exists is False:
        return ['disk %s is not reachable on the destination (storage shared needs the same path there)'
                % disk['path']]
    if storage == 'copy' and os.path.dirname(os.path.normpath(disk['path'])) not in target['pool_dirs']:
        return ['disk %s: the destination has no active storage pool for %s to copy it into'
                % (disk['path'], os.path.dirname(disk['path']))]
    if storage == 'copy' and stopped and exists is not False:
        return ['disk %s: %s on the destination; a stopped server\'s disks are copied only to a path where '
                'nothing is (remove it there, or move the server with storage shared)'
                % (disk['path'], 'a file is already there' if exists else 'cannot tell whether a file is there')]
    backing = target.get('backing', {}).get(disk['path'])
    if storage == 'copy' and stopped and backing and backing['on_destination'] is not True:
        return ['disk %s is a qcow2 overlay on %s, which the destination %s; the copy of the overlay alone would '
                'not start there (put its backing file at the same path there, flatten the disk with qemu-img '
                'convert, or move the server live, which copies the whole chain)'
                % (disk['path'], backing['path'], 'does not have' if backing['on_destination'] is False
                   else 'may not have (cannot tell)')]
    return []


def copied_volume_xml(source_volume_xml, disk):
    """The destination volume for a copy of a disk: named as the disk's file, in the format the server's
    definition states (see volume_format), without a backing store and with nothing allocated yet (the upload
    writes the data, holes stay holes)."""
    fmt = volume_format(disk)
    volume = etree.Element('volume')
    etree.SubElement(volume, 'name').text = os.path.basename(disk['path'])
    etree.SubElement(volume, 'capacity', unit='bytes').text = str(_copied_size(source_volume_xml, disk, fmt))
    etree.SubElement(volume, 'allocation', unit='bytes').text = '0'
    etree.SubElement(etree.SubElement(volume, 'target'), 'format', type=fmt)
    return etree.tostring(volume, encoding='unicode')


def _copied_size(source_volume_xml, disk, fmt):
    """libvirt reports a file's format and capacity from its contents, which on a raw disk the guest writes:
    a raw copy is as large as the source file; a copy in another format has the capacity its header gives,
    once the file has that format."""
    source = parse_xml(source_volume_xml)
    if fmt == 'raw':
        # physical: the file's size (libvirt 3.0 on; its test driver gives the capacity alone, of raw files)
        physical = source.find('physical')
        return element_bytes(physical if physical is not None else source.find('capacity'), 'bytes')
    found = source.find('target/format')
    found = found.get('type') if found is not None else None
    if found != fmt:
        raise VirtualIronError("disk %s: the server's definition says format %s, but the file is %s"
                               % (disk['path'], fmt, found or 'of no format libvirt knows'))
    return element_bytes(source.find('capacity'), 'bytes')


def job_figures(stats):
    """Completed job statistics -> the result's figures in the user's units."""
    figures = {
        'migration_seconds': round(stats['time_elapsed'] / 1000.0, 3) if 'time_elapsed' in stats else None,
        'downtime_ms': stats.get('downtime'),
        'bytes_transferred': stats.get('data_processed'),
        'memory_bytes_transferred': stats.get('memory_processed'),
        'disk_bytes_transferred': stats.get('disk_processed'),
    }
    return dict((k, v) for k, v in figures.items() if v is not None)


def timed_out(started, timeout, now):
    """Whether a move started at `started` has reached its timeout (None: none) at `now`."""
    return bool(timeout) and now - started >= timeout


def where(facts):
    """The server's state on each host ({'source', 'destination'}; None where it is absent)."""
    return dict((side, facts[side]['state'] if facts[side] else None) for side in ('source', 'destination'))


def moved_state(facts, action):
    """The server's state on the destination once the move is done."""
    if action in ('none', 'finish'):
        return facts['destination']['state']
    return 'running' if action == 'restart' else facts['source']['state']
