# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Storage questions asked of a hypervisor host through libvirt, so that remote hosts need no SSH."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import uuid

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import libvirt, lookup_or_none
from ansible_collections.virtualiron.infra.plugins.module_utils.common.libvirt_xml import parse_xml
from ansible_collections.virtualiron.infra.plugins.module_utils.common.units import format_size
from ansible_collections.virtualiron.infra.plugins.module_utils.storage.pool_xml import POOL_STATES, parse_pool_xml


def active_pools_by_dir(conn):
    """The host's active storage pools by their target directory (normalized; the first pool of a directory)."""
    pools = {}
    for pool in conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE):
        path = parse_xml(pool.XMLDesc(0)).findtext('target/path')
        if path:
            pools.setdefault(os.path.normpath(path), pool)
    return pools


def pool_holding(conn, path):
    """The active storage pool whose directory holds the file at path, or None."""
    return active_pools_by_dir(conn).get(os.path.dirname(os.path.normpath(path)))


def _lookup(pool, name):
    try:
        pool.storageVolLookupByName(name)
        return True
    except libvirt.libvirtError:
        return False


def path_exists(conn, path):
    """True if the host has a file or block device at path; None if the host cannot tell.

    libvirt answers file questions only through storage pools: use the active pool of that
    directory, or start a transient one just for the question and stop it again.
    """
    try:
        conn.storageVolLookupByPath(path)
        return True
    except libvirt.libvirtError:
        pass
    directory, name = os.path.split(os.path.normpath(path))
    pool = pool_holding(conn, path)
    if pool is not None:
        pool.refresh(0)
        return _lookup(pool, name)
    probe = ("<pool type='dir'><name>virtualiron-probe-%s</name><target><path>%s</path></target></pool>"
             % (uuid.uuid4().hex[:12], _escape(directory)))
    try:
        pool = conn.storagePoolCreateXML(probe, 0)
    except libvirt.libvirtError as e:
        if 'no such file or directory' in (e.get_error_message() or '').lower():
            return False  # the directory itself is missing
        # Another pool owns the directory (an inactive one, or another run's probe right now):
        # the host cannot tell us here; libvirt will say more when the server starts.
        return None
    try:
        return _lookup(pool, name)
    finally:
        pool.destroy()


def _escape(text):
    return text.replace('&', '&amp;').replace('<', '&lt;').replace("'", '&apos;')


def lookup_pool(conn, name):
    """The storage pool of that name, or None."""
    return lookup_or_none(conn.storagePoolLookupByName, name, libvirt.VIR_ERR_NO_STORAGE_POOL)


def pool_facts(pool):
    """A libvirt storage pool as the modules return it (volumes only while it is active: libvirt
    knows the contents of active pools only)."""
    facts = parse_pool_xml(pool.XMLDesc(0))
    active = bool(pool.isActive())
    facts.update(
        state=POOL_STATES.get(pool.info()[0], 'unknown'),
        autostart=bool(pool.autostart()),
        persistent=bool(pool.isPersistent()),
        volumes=sorted(pool.listVolumes()) if active else None,
    )
    for key in ('capacity', 'allocation', 'available'):
        facts[key + '_bytes'] = facts[key]
        facts[key] = format_size(facts[key])
    return facts
