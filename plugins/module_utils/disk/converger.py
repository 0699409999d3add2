# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bring one virtual disk image to its desired state.

plan() is pure: the actions [(action, value)] from the disk as it is to the disk asked for, and what is
refused. DiskConverger reads the disk where the module runs, asks the libvirt host which servers use it,
and records each action as a change of the disk (the file work is disk.image's).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
from contextlib import contextmanager

from ansible_collections.virtualiron.infra.plugins.module_utils.common.converger import Converger, describe_change
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.common.units import format_size, parse_size
from ansible_collections.virtualiron.infra.plugins.module_utils.common.validation import check_absolute_path
from ansible_collections.virtualiron.infra.plugins.module_utils.disk import image as disk_image
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


def action_change(action, value, start):
    """An action of the plan as the change of the disk it makes: (field, old, new). start: the disk the
    actions start from (the source of a copy)."""
    return {
        'create': lambda: ('exists', False, True),
        'copy': lambda: ('source', None, value),
        'grow': lambda: ('size', start['virtual_size'], value),
        'convert': lambda: ('vhd_type', start['vhd_type'], value),
        'remove': lambda: ('exists', True, False),
    }[action]()


def describe_disk_change(change, request):
    """The words of a change of the disk."""
    if change.field == 'exists' and change.new:
        return 'created %s %s' % (format_size(request['size']), _kind(request))
    return {
        'source': lambda: 'copied from %s as %s' % (change.new, _kind(request)),
        'size': lambda: 'grown to %s' % format_size(change.new),
        'vhd_type': lambda: 'converted to a %s VHD' % change.new,
    }.get(change.field, lambda: describe_change(change))()


def _kind(request):
    return '%s VHD' % (request['vhd_type'] or 'dynamic') if request['format'] == 'vhd' else request['format']


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


def disk_request(params, conn):
    """Module parameters -> the request plan() takes: a checked path, the size in bytes. What the module
    must not work on (a path outside its pool, a link, a device that is not a disk) is refused here,
    before anything is read or written."""
    request = dict(params)
    if params['pool']:
        request['path'] = disk_image.pool_path(conn, params['pool'], params['name'])
    else:
        check_absolute_path(params['path'], 'path')
    disk_image.check_disk_kind(request['path'], 'path')
    if params['source']:
        check_absolute_path(params['source'], 'source')
        if not params['source_format']:
            raise VirtualIronError('source_format is required with source: give the format of %s (vhd, qcow2 or '
                                   'raw); it is never guessed from the contents' % params['source'])
    if params['vhd_type'] and params['format'] != 'vhd':
        raise VirtualIronError('vhd_type is for format vhd only')
    request['size'] = normalize_size(parse_size(params['size'], 'size') if params['size'] else None)
    return request


def user_disk(disk):
    """The disk as the module returns it: with its size in words."""
    return dict(disk, size=format_size(disk['virtual_size']) if disk.get('virtual_size') else None)


def diff_view(disk):
    if disk is None:
        return {'state': 'absent'}
    return {'state': 'present', 'format': disk['format'], 'vhd_type': disk.get('vhd_type'),
            'size': format_size(disk['virtual_size'])}


@contextmanager
def file_errors():
    """A failed file operation as a message for the user (the file and the reason), not a traceback."""
    try:
        yield
    except (IOError, OSError) as e:
        raise VirtualIronError('%s: %s' % (getattr(e, 'filename', None) or 'disk', e.strerror or e))


class DiskConverger(Converger):
    """virtual_disk: conn is the libvirt connection (pools, servers using the disk), run_command runs the
    commands (AnsibleModule.run_command) where the module runs, which is where the image is."""

    result_key = 'disk'

    def __init__(self, conn, params, check_mode=False, diff=False, run_command=None):
        super(DiskConverger, self).__init__(conn, params, check_mode, diff)
        self.run_command = run_command
        self.request = self.source = None
        self.users = {}
        self.made = False  # this run created the disk (undo removes it)

    def read(self):
        with file_errors():
            self.request = disk_request(self.params, self.conn)
            current = self._inspect(self.request['path'], self.request['format'])
            if current is None and self.request['state'] == 'present' and self.request['source']:
                self.source = self._inspect_source()
            self.users = disk_image.servers_using(self.conn, self.request['path'])
        return current

    def converge(self, before):
        with file_errors():
            return self._converge(before)

    def _converge(self, before):
        path = self.request['path']
        actions = plan(before, self.request, self.source)
        locked = before is not None and disk_image.locked_by_qemu(self.run_command, path)
        refusal = in_use_refusal(actions, self.users, locked, self.params['force'], path)
        if refusal:
            raise VirtualIronError(refusal)
        for action, value in actions:
            field, old, new = action_change(action, value, before or self.source)
            self.act(field, old, new, self._do, action, value)
        if self.check_mode:
            return predicted(before, actions, self.request, self.source)
        if actions:
            disk_image.refresh_pool(self.conn, path)
        return self._inspect(path, self.request['format'])

    def _do(self, action, value):
        request, run = self.request, self.run_command
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
        self.made = self.made or action in ('create', 'copy')

    def _inspect(self, path, fmt):
        """The disk at path, or None when there is none."""
        if not os.path.exists(path):
            return None
        return dict(disk_image.inspect(self.run_command, path, fmt), path=path)

    def _inspect_source(self):
        source = self.request['source']
        if disk_image.check_disk_kind(source, 'source') == 'missing':
            raise VirtualIronError('source %s does not exist' % source)
        return disk_image.inspect(self.run_command, source, self.request['source_format'])

    def describe(self, change):
        return describe_disk_change(change, self.request)

    def undo(self):
        """A disk this run created is removed when a later step failed (a grow after a copy), so that a
        failed task leaves no disk of the wrong size. A failed copy or conversion itself leaves nothing:
        it writes to a temporary file (disk_image.write_then_rename)."""
        if not self.made:
            return None
        os.unlink(self.request['path'])
        return 'the new disk %s was removed' % self.request['path']

    def result(self, before, after):
        result = super(DiskConverger, self).result(before, after)
        result['used_by'] = sorted(self.users)
        if after is None:
            del result['disk']
        else:
            result['disk'] = user_disk(after)
        if self.diff:
            path = self.request['path']
            result['diff'] = {'before': diff_view(before), 'after': diff_view(after),
                              'before_header': path, 'after_header': path}
        return result
