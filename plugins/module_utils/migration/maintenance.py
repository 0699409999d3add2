# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_maintenance's converger: the host's maintenance state (kept on the host, see
host.maintenance_state) and, with evacuate, its servers moved to other hosts (migration.evacuation)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time
from collections import namedtuple

from ansible_collections.virtualiron.infra.plugins.module_utils.common.converger import Change, Converger
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.host.maintenance_state import (
    check_reason, is_unreadable, read_host_state, write_host_state)
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.evacuation import (
    evacuate, servers_to_move)
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.options import check_concurrency

# A server the evacuation moved: a change's new value; steps are the words of the move's own changes.
Move = namedtuple('Move', 'server destination steps')


def check_parameters(params):
    """Refuse, before anything changes, what cannot be stored or would make placement meaningless."""
    check_reason(params['reason'])
    for key in ('memory_overcommit', 'vcpu_overcommit'):
        if not 0 < params[key] < float('inf'):  # NaN compares false: every host would fit every server
            raise VirtualIronError('%s must be a number greater than 0, got %s' % (key, params[key]))
    if params['evacuate'] and params['state'] == 'present':
        if not params['destinations']:
            raise VirtualIronError('evacuate needs destinations: the URIs of the hosts the servers may go to')
        check_concurrency(params['concurrency'])


def wanted_state(params, current, now):
    """The host state to store: staying keeps the time it entered and its reason, leaving clears the reason.
    An unreadable state is replaced, its reason not kept."""
    if params['state'] == 'absent':
        return {'maintenance': False, 'reason': '', 'since': None}
    staying = current['maintenance'] and not is_unreadable(current)
    return {'maintenance': True, 'reason': params['reason'] or (current['reason'] if staying else ''),
            'since': current['since'] if staying else now}


def state_change(before, after):
    """What storing `after` over `before` changes (a Change), or None."""
    if after['maintenance'] != before['maintenance']:
        return Change('maintenance', before['maintenance'], after['maintenance'], None)
    if is_unreadable(before):
        return Change('unreadable state', before['reason'], after['reason'], None)
    if after['reason'] != before['reason']:
        return Change('reason', before['reason'], after['reason'], None)
    return None


def describe_maintenance(change):
    """A change of host_maintenance in the result's words."""
    if change.field == 'maintenance':
        return 'maintenance %s' % ('entered' if change.new else 'left')
    if change.field == 'unreadable state':
        return 'unreadable host state rewritten'
    if change.field == 'reason':
        return 'reason updated'
    return '%s %s to %s' % (change.new.server, ', '.join(change.new.steps), change.new.destination)


class MaintenanceConverger(Converger):
    """The host at conn in or out of maintenance; entering with evacuate moves its servers away. Servers left
    on the host (none fits, or their move failed) make the result failed, after every other has moved."""

    result_key = 'maintenance'

    def __init__(self, conn, params, check_mode=False, diff=False):
        check_parameters(params)
        super(MaintenanceConverger, self).__init__(conn, params, check_mode, diff)
        self.evacuation = None

    def read(self):
        return read_host_state(self.conn)

    def converge(self, before):
        after = wanted_state(self.params, before, time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))
        change = state_change(before, after)
        if change is not None:  # stored first, so that no new placement picks the host meanwhile
            self.act(change.field, change.old, change.new, write_host_state, self.conn, after)
        if self.params['evacuate'] and after['maintenance']:
            servers = servers_to_move(self.conn, self.params['move_stopped'], self.params['servers'])
            self.evacuation = evacuate(self.params, servers, self.check_mode)
            for moved in self.evacuation['results']:
                if moved['changed']:
                    self.changes.add('server', moved['source'],
                                     Move(moved['name'], moved['destination'], moved['changes']))
        return after

    def describe(self, change):
        return describe_maintenance(change)

    def run(self):
        """Servers left on the host fail the task, after every other has moved; the error carries the result."""
        result = super(MaintenanceConverger, self).run()
        if result.get('not_moved'):
            raise VirtualIronError('%d servers could not be moved and stay on the host: %s' % (
                len(result['not_moved']), '; '.join('%s (%s)' % (n['name'], n['reason']) for n in result['not_moved'])),
                result)
        return result

    def result(self, before, after):
        result = super(MaintenanceConverger, self).result(before, after)
        result.update(self.evacuation or {})
        return result
