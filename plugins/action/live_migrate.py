# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""live_migrate's destination may name an inventory host: the controller knows its connection, the
module does not, so this resolves the name to the host's virtualiron_uri before the module runs."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

URI_VARIABLE = 'virtualiron_uri'


def resolve_destination(destination, hostvars):
    """A libvirt URI as it is; an inventory host name -> that host's virtualiron_uri.

    virtualiron_uri is taken as the operator's, opened with any transport, like the module's uri: it comes from
    static inventories, compose, or the hypervisors inventory plugin, which sets it from its own uris or from a
    registration whose uri check_data_uri accepted (registrations are data), and, for a virtual server, to its
    hypervisor's. Checking it again here would refuse the operator's own URIs (unix sockets, keyfile=...)."""
    if not destination or '://' in destination:
        return destination
    if destination not in hostvars:
        raise AnsibleActionFail('destination %r is neither a libvirt URI nor a host of the inventory' % destination)
    uri = hostvars[destination].get(URI_VARIABLE)
    if not uri:
        raise AnsibleActionFail('inventory host %s has no %s variable to reach it by' % (destination, URI_VARIABLE))
    return uri


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = True  # long moves run with async/poll, as the module alone would

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        args['destination'] = resolve_destination(args.get('destination'), (task_vars or {}).get('hostvars', {}))
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result = merge_hash(result, self._execute_module(module_name='virtualiron.infra.live_migrate', module_args=args,
                                                         task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
