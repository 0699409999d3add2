# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of a move: the modules' argument spec, their defaults, and the libvirt flags and
parameters they become."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import CONNECT_TIMEOUT, libvirt
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError

# The modules' options of a move (live_migrate has them all; host_maintenance those of a live move).
MIGRATION_ARGUMENT_SPEC = dict(
    live=dict(type='bool', default=True),
    storage=dict(type='str', default='shared', choices=['shared', 'copy']),
    bandwidth=dict(type='int'),
    max_downtime=dict(type='int'),
    auto_converge=dict(type='bool', default=False),
    postcopy=dict(type='bool', default=False),
    parallel_connections=dict(type='int'),
    timeout=dict(type='int'),
    timeout_action=dict(type='str', default='abort', choices=['abort', 'suspend']),
    shutdown_timeout=dict(type='int', default=120),
    force=dict(type='bool', default=False),
)
DEFAULT_OPTIONS = dict((k, v.get('default')) for k, v in MIGRATION_ARGUMENT_SPEC.items())


def migration_options(params):
    """A move's options from a module's parameters; those the module lacks keep their defaults. The module's
    connect_timeout comes along: the moves open their own connections."""
    options = dict((k, params.get(k, v)) for k, v in DEFAULT_OPTIONS.items())
    options['connect_timeout'] = params.get('connect_timeout', CONNECT_TIMEOUT)
    return options


def check_concurrency(concurrency):
    """How many moves may run at the same time: at least one."""
    if concurrency < 1:
        raise VirtualIronError('concurrency must be at least 1, got %d' % concurrency)


def migration_flags(options, action):
    """libvirt flags for the move."""
    flags = libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
    if action != 'live':
        return flags | libvirt.VIR_MIGRATE_OFFLINE
    flags |= libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_ABORT_ON_ERROR
    if options['storage'] == 'copy':
        flags |= libvirt.VIR_MIGRATE_NON_SHARED_DISK
    if options['auto_converge']:
        flags |= libvirt.VIR_MIGRATE_AUTO_CONVERGE
    if options['postcopy']:
        flags |= libvirt.VIR_MIGRATE_POSTCOPY
    if options['parallel_connections']:
        flags |= libvirt.VIR_MIGRATE_PARALLEL
    return flags


def migration_params(options, action):
    """libvirt's typed parameters for the move: only a live move is limited or parallel."""
    params = {}
    if action == 'live' and options['bandwidth']:
        params[libvirt.VIR_MIGRATE_PARAM_BANDWIDTH] = options['bandwidth']
    if action == 'live' and options['parallel_connections']:
        params[libvirt.VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS] = options['parallel_connections']
    return params
