# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt storage pools in the user's words (dir, logical) and their XML; pure, no connection."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.common.libvirt_xml import etree, parse_xml
from ansible_collections.virtualiron.infra.plugins.module_utils.storage.lvm import check_lvm_name
from ansible_collections.virtualiron.infra.plugins.module_utils.common.validation import check_absolute_path

POOL_TYPES = ('dir', 'logical')
POOL_STATES = {0: 'inactive', 1: 'building', 2: 'active', 3: 'degraded', 4: 'inaccessible'}
# What makes a pool the pool the user asked for; an existing pool that differs is refused, not redefined.
DEFINING_KEYS = ('type', 'path', 'volume_group', 'devices')
# Pools whose volumes are files in their target directory (the others hold devices that name themselves).
FILE_POOL_TYPES = ('dir', 'fs', 'netfs')
# A pool's directory is where virtual_disk creates and deletes files by name: never one of the system's
# own. These trees hold only the system's files; these directories hold others' directories, not images.
SYSTEM_TREES = ('/bin', '/boot', '/dev', '/etc', '/lib', '/lib32', '/lib64', '/proc', '/run', '/sbin', '/sys', '/usr')
SYSTEM_DIRECTORIES = ('/', '/home', '/root', '/tmp', '/var', '/var/lib', '/var/log', '/var/tmp')
# File systems mounted under /dev, where files rather than devices are.
DEV_FILE_SYSTEMS = ('/dev/shm', '/dev/mqueue', '/dev/hugepages')


def check_pool_directory(path, what):
    """A pool directory: absolute, without "." or ".." parts (a trailing "/" is allowed), and neither as
    written nor resolved here (symbolic links followed) a system directory. Returns it normalized."""
    path = check_absolute_path(path.rstrip('/') or '/', '%s directory' % what)
    for where in (path, os.path.realpath(path)):
        if where in SYSTEM_DIRECTORIES or any(where == t or where.startswith(t + '/') for t in SYSTEM_TREES):
            raise VirtualIronError('refusing %s directory %s%s: it is a system directory (%s and directories in %s '
                                   'are refused); use a directory of its own, such as /srv/images' % (
                                       what, path, '' if where == path else ' (%s)' % where,
                                       ', '.join(SYSTEM_DIRECTORIES), ', '.join(SYSTEM_TREES)))
    return path


def check_pool_device(path, what):
    """A device to build a logical pool on: an absolute, normalized path under /dev. Building, libvirt zeroes
    the first MiB of whatever it is given (a regular file too, growing it) before LVM finds it no block device;
    and the device is on the pool's host, which the module may not run on. Returns it."""
    check_absolute_path(path, what)
    if not path.startswith('/dev/') or any(path.startswith(d + '/') for d in DEV_FILE_SYSTEMS):
        raise VirtualIronError('%s %s is not a device: give the path of a block device under /dev (libvirt '
                               'overwrites the start of whatever it builds a pool on)' % (what, path))
    return path


def desired_pool(name, pool_type, path, volume_group, devices):
    """The options of storage_pool -> a pool spec; refuses what libvirt would reject less clearly."""
    check_lvm_name(name, 'storage pool')
    pool_type = pool_type or 'dir'
    if pool_type == 'dir':
        if not path:
            raise VirtualIronError('a dir storage pool needs a path')
        if volume_group or devices:
            raise VirtualIronError('volume_group and devices are for logical pools only')
        return {'name': name, 'type': 'dir', 'path': check_pool_directory(path, 'storage pool %s' % name),
                'volume_group': None, 'devices': []}
    if pool_type != 'logical':
        raise VirtualIronError('unknown storage pool type %r; use %s' % (pool_type, ' or '.join(POOL_TYPES)))
    group = volume_group or name
    check_lvm_name(group, 'volume group')
    if path and os.path.normpath(path) != '/dev/' + group:
        raise VirtualIronError('a logical pool over volume group %s has its volumes in /dev/%s; leave path out '
                               'or set it to that' % (group, group))
    return {'name': name, 'type': 'logical', 'path': '/dev/' + group, 'volume_group': group,
            'devices': [check_pool_device(d, 'storage pool %s device' % name) for d in devices or []]}


def build_pool_xml(spec):
    """libvirt pool XML for a spec."""
    root = etree.Element('pool', type=spec['type'])
    etree.SubElement(root, 'name').text = spec['name']
    if spec['type'] == 'logical':
        source = etree.SubElement(root, 'source')
        for device in spec['devices']:
            etree.SubElement(source, 'device', path=device)
        etree.SubElement(source, 'name').text = spec['volume_group']
        etree.SubElement(source, 'format', type='lvm2')
    etree.SubElement(etree.SubElement(root, 'target'), 'path').text = spec['path']
    return etree.tostring(root, pretty_print=True, encoding='unicode')


def parse_pool_xml(xml):
    """Pool XML (as libvirt returns it) -> spec plus sizes in bytes."""
    root = parse_xml(xml)
    pool_type = root.get('type')
    path = root.findtext('target/path')
    return {
        'name': root.findtext('name'),
        'type': pool_type,
        'path': os.path.normpath(path) if path else None,
        'volume_group': root.findtext('source/name') if pool_type == 'logical' else None,
        'devices': [d.get('path') for d in root.findall('source/device')],
        'capacity': int(root.findtext('capacity') or 0),
        'allocation': int(root.findtext('allocation') or 0),
        'available': int(root.findtext('available') or 0),
    }


def requested_pool(pool_type, path, volume_group, devices):
    """The defining options the user set, normalized; None where not set."""
    return {
        'type': pool_type,
        'path': os.path.normpath(path) if path else None,
        'volume_group': volume_group,
        'devices': sorted(os.path.normpath(d) for d in devices) if devices else None,
    }


def definition_conflicts(current, requested):
    """['type: dir, not logical', ...]: how an existing pool differs from what the user set.

    A logical pool's devices matter only for building it; libvirt may list none for a pool over a group
    that existed before, and then there is nothing to compare.
    """
    conflicts = []
    for key in DEFINING_KEYS:
        have, want = current.get(key), requested.get(key)
        if key == 'devices':
            if not have:
                continue
            have = sorted(have)
        if want is not None and have != want:
            conflicts.append('%s: %s, not %s' % (key.replace('_', ' '), have, want))
    return conflicts
