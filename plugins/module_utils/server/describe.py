# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A virtual server as modules and the inventory show it: found by name, its power state, its saved and live
specs, and the hypervisor type it gets. Reading only: converging is server.converger's, and the inventory
plugin loads this without it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    VirtualIronError, is_libvirt_error, libvirt, lookup_or_none)
from ansible_collections.virtualiron.infra.plugins.module_utils.server.domain_xml import parse_server, user_view
from ansible_collections.virtualiron.infra.plugins.module_utils.server.live_changes import outstanding_changes


def find_server(conn, name):
    return lookup_or_none(conn.lookupByName, name, libvirt.VIR_ERR_NO_DOMAIN)


def power_state(dom):
    """running | suspended | stopped | crashed, as a user says it."""
    state = dom.state()[0]
    if state in (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_BLOCKED):
        return 'running'
    if state in (libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PMSUSPENDED):
        return 'suspended'
    if state == libvirt.VIR_DOMAIN_CRASHED:
        return 'crashed'
    return 'stopped'


def saved_xml(dom):
    """The server's saved definition; SECURE: the console password is part of the definition we compare."""
    return dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE)


def persistent_spec(dom):
    return parse_server(saved_xml(dom))


def live_spec(dom):
    return parse_server(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE))


def resolve_hypervisor(wanted, offered):
    if wanted in (None, 'auto'):
        for kind in ('kvm', 'xen', 'qemu'):
            if kind in offered:
                return kind
        if offered:  # another driver (libvirt's test driver, say): its own type
            return offered[0]
        raise VirtualIronError('the host offers no hardware virtual machine type (it offers: %s)'
                               % (', '.join(offered) or 'none'))
    if wanted not in offered:
        raise VirtualIronError('hypervisor %s is not available on this host; it offers: %s'
                               % (wanted, ', '.join(sorted(set(offered))) or 'none'))
    return wanted


def describe_server(dom):
    """A server as modules return it: its saved definition, power state, and for a running server
    its console port and whether it differs from the definition until a reboot."""
    spec = persistent_spec(dom)
    view = user_view(spec)
    view['state'] = power_state(dom)
    view['autostart'] = bool(dom.autostart())
    view['reboot_required'] = False
    if dom.isActive():
        live = live_spec(dom)
        view['console']['port'] = live['console']['port']
        ops, pending = outstanding_changes(live, spec)
        view['reboot_required'] = bool(ops or pending)
    return view


def describe_servers(domains):
    """(dom, describe_server(dom)) for each domain that still exists: a server removed or migrated
    away while we list is no longer one of this host's. A server whose definition cannot be read is
    listed by name with the error, so that it cannot hide the host's other servers."""
    for dom in domains:
        try:
            yield dom, _listed(dom)
        except libvirt.libvirtError as e:
            if not is_libvirt_error(e, libvirt.VIR_ERR_NO_DOMAIN):
                raise


def _listed(dom):
    try:
        return describe_server(dom)
    except VirtualIronError as e:
        return {'name': dom.name(), 'uuid': dom.UUIDString(), 'state': power_state(dom),
                'autostart': bool(dom.autostart()), 'reboot_required': False, 'error': str(e)}
