# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bring one virtual disk image to its desired state: plan (pure) and apply (file work here, questions
about servers to the libvirt host)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.virtualiron.infra.plugins.module_utils.disk import image as disk_image
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.common.units import format_size
from ansible_collections.virtualiron.infra.plugins.module_utils.disk.vhd import SECTOR, check_size, round_up

# Actions that rewrite an existing image: never while a guest runs on it (see in_use_refusal).
WRITES_EXISTING = ('grow', 'convert', 'remove')


def normalize_size(size):
    """Images hold whole 512-byte sectors: qemu-img rounds a size up to one, and so does this module."""
    return None if size is None else round_up(size, SECTOR)


def plan(current, request, source=None):
    """[(action, value)] that bring the disk from `current` (inspect() result, or None when missing) to
    `request` (format, vhd_type, size in bytes or None, state, source path). `source` is inspect() of
    the source image when the disk is missing and one is named. Raises VirtualIronError on refusals."""
    if request['state'] == 'absent':
        return _plan_remove(current, request)
    if request['format'] == 'vhd' and request['size'] is not None:
        check_size(request['size'], request['path'])  # beyond VHD's limits: refused before anything is written
    if current is None:
        return _plan_new(request, source)
    actions = []
    if request['format'] == 'vhd' and request['vhd_type'] not in (None, current['vhd_type']):
        if current['block_device']:
            raise VirtualIronError('%s is a block device: only a fixed VHD fits on one' % request['path'])
        actions.append(('convert', request['vhd_type']))
    actions.extend(_plan_size(current['virtual_size'], request))
    return actions


def _plan_remove(current, request):
    if current is None:
        return []
    if current['block_device']:
        raise VirtualIronError('%s is a block device: virtual_disk removes image files only' % request['path'])
    return [('remove', None)]


def _plan_new(request, source):
    if request['path'].startswith('/dev/'):
        raise VirtualIronError('there is no block device %s; virtual_disk creates image files, not devices'
                               % request['path'])
    if source is not None:
        return [('copy', request['source'])] + _plan_size(source['virtual_size'], request)
    if request['size'] is None:
        raise VirtualIronError('%s does not exist: give size (or source) to create it' % request['path'])
    return [('create', request['size'])]


def _plan_size(current_size, request):
    if request['size'] is None or request['size'] == current_size:
        return []
    if request['size'] < current_size:
        raise VirtualIronError('refusing to shrink %s from %s to %s: data beyond the new end would be lost; '
                               'nothing was changed' % (request['path'], format_size(current_size),
                                                        format_size(request['size'])))
    return [('grow', request['size'])]


def in_use_refusal(actions, users, locked, force, path):
    """Why the actions may not run now, or None. users is {server: running?} of the host; locked says a
    running QEMU (of any host) holds the image's lock.

    Growing or converting under a running guest is refused, force or not: QEMU can neither resize a
    VHD nor a raw slice live, and writes to the file behind its back would race with its own.
    """
    touches = [a for a, _v in actions if a in WRITES_EXISTING]
    if not touches:
        return None
    running = sorted(n for n, r in users.items() if r)
    if touches != ['remove']:
        if running or locked:
            return ('refusing to %s %s while a running guest uses it (%s); stop it first'
                    % (touches[0], path, ', '.join(running) or 'QEMU holds its lock'))
        return None
    if users and not force:
        return ('refusing to remove %s: the definition of %s has it (use force: true to remove it anyway)'
                % (path, ', '.join(sorted(users))))
    return None


def describe_action(action, value, request):
    return {
        'create': lambda: 'created %s %s' % (format_size(value), _kind(request)),
        'copy': lambda: 'copied from %s as %s' % (value, _kind(request)),
        'grow': lambda: 'grown to %s' % format_size(value),
        'convert': lambda: 'converted to a %s VHD' % value,
        'remove': lambda: 'removed',
    }[action]()


def _kind(request):
    return '%s VHD' % (request['vhd_type'] or 'dynamic') if request['format'] == 'vhd' else request['format']


def apply_action(run, action, value, request):
    path, fmt = request['path'], request['format']
    vhd_type = request['vhd_type'] or 'dynamic'
    if action == 'create':
        disk_image.create(run, path, fmt, vhd_type, value)
    elif action == 'copy':
        disk_image.convert(run, value, request['source_format'], path, fmt, vhd_type)
    elif action == 'convert':
        disk_image.convert(run, path, fmt, path, fmt, value)
    elif action == 'grow':
        disk_image.grow(run, path, fmt, value)
    elif action == 'remove':
        os.unlink(path)


def predicted(current, actions, request, source):
    """What check mode reports: the disk as the actions would leave it."""
    if request['state'] == 'absent':
        return None
    disk = dict(current or source or {}, path=request['path'], format=request['format'])
    for action, value in actions:
        if action == 'create' or action == 'grow':
            disk['virtual_size'] = value
        if action in ('create', 'copy', 'convert'):
            disk['allocation'] = None
            disk['block_device'] = False
    if request['format'] == 'vhd':
        written = any(a in ('create', 'copy', 'convert') for a, _v in actions)
        disk['vhd_type'] = request['vhd_type'] or disk.get('vhd_type') or 'dynamic'
        disk['creator'] = 'qem2' if written else disk.get('creator')  # qemu-img's mark for an exact size
    else:
        disk['vhd_type'] = disk['creator'] = None
    disk['live_migratable'] = disk['vhd_type'] != 'dynamic'
    return disk
