# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fencing: making sure a failed host runs nothing before its servers start elsewhere. A host is fenced when its
BMC powered it off and reports it off (Redfish, the bmc module's converger), when a fence command the operator
gave exits 0, or when the operator confirmed it is off. A host that only lost its network may still run its
servers: without one of these it is not fenced, and its servers are not started elsewhere."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal.bmc import BmcConverger
from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal.redfish import RedfishClient
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError

METHODS = ('bmc', 'command', 'confirmed')


def fence(host, params, run_command, clock=time.time):
    """Fence one failed host ({'name', 'uri', 'bmc'}) by params['fencing']. Returns {'host', 'method', 'fenced',
    'why' (None when fenced), 'acted' (whether fencing powered something off or ran a command), 'seconds'}; never
    raises for a fence that did not work."""
    started = clock()
    method = params['fencing']
    try:
        why, acted = {'bmc': _by_bmc, 'command': _by_command, 'confirmed': _by_confirmation}[method](
            host, params, run_command)
    except VirtualIronError as e:
        why, acted = str(e), False
    return {'host': host['name'], 'method': method, 'fenced': why is None, 'why': why, 'acted': acted,
            'seconds': round(clock() - started, 3)}


def _by_bmc(host, params, _run_command):
    bmc = host.get('bmc')
    if not bmc or not bmc.get('endpoint'):
        return 'no BMC given for %s (hosts[].bmc.endpoint)' % host['name'], False
    client = RedfishClient(bmc['endpoint'], bmc.get('username'), bmc.get('password'),
                           bmc.get('validate_certs', True), bmc.get('ca_path'), params['fence_timeout'])
    wanted = {'system_id': bmc.get('system_id'), 'power': 'off', 'boot': None, 'inventory': False,
              'power_timeout': params['fence_timeout']}
    result = BmcConverger(client, wanted).run()
    power = result['system']['power']
    return (None if power == 'off' else 'its BMC reports power %s after a forced power-off' % power), result['changed']


def _by_command(host, params, run_command):
    argv = [arg.replace('{name}', host['name']).replace('{uri}', host['uri']) for arg in params['fence_command']]
    rc, out, err = run_command(argv)
    if rc != 0:
        return 'fence command %s exited %d: %s' % (argv[0], rc, (err or out).strip()[-300:]), True
    return None, True


def _by_confirmation(host, params, _run_command):
    if host['name'] in params['confirmed_hosts']:
        return None, False
    return 'waits for an operator to confirm it is powered off (confirmed_hosts)', False
