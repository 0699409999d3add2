# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_pool: one libvirt storage pool brought to the state asked for."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import libvirt, stop_and_undefine
from ansible_collections.virtualiron.infra.plugins.module_utils.common.converger import Converger, describe_change
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.storage.lvm import check_lvm_name
from ansible_collections.virtualiron.infra.plugins.module_utils.storage.pool_xml import (
    build_pool_xml, definition_conflicts, desired_pool, requested_pool)
from ansible_collections.virtualiron.infra.plugins.module_utils.storage.pools import lookup_pool, pool_facts

# The pool's own changes, in storage_pool's words (field, new value) -> words.
WORDS = {('exists', True): 'defined', ('built', True): 'built',
         ('state', 'active'): 'started', ('state', 'inactive'): 'stopped'}


class PoolConverger(Converger):
    """One pool to one desired state; in check mode it records what it would do and predicts the result."""

    result_key = 'pool'

    def read(self):
        check_lvm_name(self.params['name'], 'storage pool')
        self.pool = lookup_pool(self.conn, self.params['name'])
        self.unbuilt = None  # a pool this run defined and has yet to build: undone if the build fails
        return pool_facts(self.pool) if self.pool is not None else None

    def converge(self, before):
        self.predicted = copy.deepcopy(before)
        if self.params['state'] == 'absent':
            self.remove()
            return None
        self.define(before)
        self.set_power()
        self.set_autostart(before)
        if self.params['refresh'] and self.predicted['state'] == 'active' and not self.check_mode:
            self.pool.refresh(0)
        return self.predicted if self.check_mode else pool_facts(self.pool)

    def define(self, before):
        p = self.params
        if before is not None:
            conflicts = definition_conflicts(before, requested_pool(p['type'], p['path'], p['volume_group'],
                                                                    p['devices']))
            if conflicts:
                raise VirtualIronError('storage pool %s exists with another definition (%s); remove it first if you '
                                       'mean to replace it' % (p['name'], '; '.join(conflicts)))
            return
        wanted = desired_pool(p['name'], p['type'], p['path'], p['volume_group'], p['devices'])
        self.predicted = dict(wanted, state='inactive', autostart=False, persistent=True, volumes=None)
        self.pool = self.unbuilt = self.act('exists', False, True, self.conn.storagePoolDefineXML,
                                            build_pool_xml(wanted), 0)
        if wanted['type'] == 'dir' or wanted['devices']:
            # A directory is only made (libvirt refuses the flag there); a volume group never over data.
            flags = 0 if wanted['type'] == 'dir' else libvirt.VIR_STORAGE_POOL_BUILD_NO_OVERWRITE
            self.act('built', False, True, lambda: self.pool.build(flags))
        self.unbuilt = None

    def undo(self):
        """A pool that cannot be built is undefined again, so that a failed task leaves nothing half-made."""
        if self.unbuilt is None:
            return None
        self.unbuilt.undefine()
        return 'storage pool %s was undefined again' % self.params['name']

    def set_power(self):
        active = self.predicted['state'] == 'active'
        if self.params['state'] == 'active' and not active:
            self.act('state', self.predicted['state'], 'active', self.start)
            self.predicted.update(state='active', volumes=[])
        elif self.params['state'] == 'inactive' and active:
            if not self.predicted['persistent']:
                raise VirtualIronError('storage pool %s is transient (not defined): stopping it would make libvirt '
                                       'forget it; define it first' % self.params['name'])
            self.act('state', 'active', 'inactive', self.pool.destroy)
            self.predicted.update(state='inactive', volumes=None)

    def start(self):
        try:
            self.pool.create(0)
        except libvirt.libvirtError as e:
            message = e.get_error_message() or ''
            if 'device-mapper' in message:
                raise VirtualIronError(
                    'storage pool %s cannot start: the host has no device-mapper, which libvirt needs to activate a '
                    'volume group (the pool stays defined; lvm_volume works without it): %s'
                    % (self.params['name'], message.strip()))
            raise

    def set_autostart(self, before):
        wanted = self.params['autostart']
        if wanted is None and before is None and self.params['state'] == 'active':
            wanted = True
        self.converge_autostart(self.pool, wanted)
        if self.changes.has('autostart'):
            self.predicted['autostart'] = wanted

    def remove(self):
        if self.pool is None:
            return
        if not self.params['force']:
            self.check_empty()
        self.act('exists', True, False, stop_and_undefine, self.pool)

    def check_empty(self):
        name = self.params['name']
        if not self.pool.isActive():
            raise VirtualIronError('refusing to remove storage pool %s: it is stopped, so libvirt cannot tell whether it '
                                   'holds volumes; start it first, or set force=true' % name)
        self.pool.refresh(0)
        volumes = sorted(self.pool.listVolumes())
        if volumes:
            shown = ', '.join(volumes[:10]) + (' and %d more' % (len(volumes) - 10) if len(volumes) > 10 else '')
            raise VirtualIronError('refusing to remove storage pool %s: it holds volumes (%s); remove them first, or set '
                                   'force=true to remove only the pool definition (the volumes stay)' % (name, shown))

    def describe(self, change):
        return WORDS.get((change.field, change.new)) or describe_change(change)
