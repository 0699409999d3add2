# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bring one virtual switch (a libvirt network) to its desired state on one host, and describe switches."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    VirtualIronError, is_libvirt_error, libvirt, lookup_or_none, server_definitions, stop_and_undefine)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.converger import LIVE, Converger
from ansible_collections.virtualiron.infra.plugins.module_utils.server.domain_xml import parse_server
from ansible_collections.virtualiron.infra.plugins.module_utils.switch.network_xml import (
    bridge_uplinks, bridge_user, build_switch_xml, choose_bridge, comparable, desired_switch, dhcp_host_changes,
    dhcp_host_element, find_bridge, interfaces_by_name, overlapping_switch, parse_interface_tree, parse_switch, to_string,
    update_switch_xml)


def hook_refusal(error):
    """What a network hook said when it refused to start a switch, without libvirt's wrapping (the command
    line and environment of the hook)."""
    message = error.get_error_message() or str(error)
    return re.split(r'unexpected exit status \d+: ', message, maxsplit=1)[-1].strip()


def own_bridge_missing(spec, interfaces):
    """True for a switch with its own bridge that the host (interfaces(): its interfaces) lacks."""
    return spec['host_bridge'] is False and find_bridge(interfaces(), spec['uplinks']) != spec['bridge']


def find_switch(conn, name):
    return lookup_or_none(conn.networkLookupByName, name, libvirt.VIR_ERR_NO_NETWORK)


def saved_xml(net):
    """The switch's saved definition (what it becomes at its next start). Drivers without separate saved
    definitions (libvirt's test driver) refuse the flag: their one definition is the saved one."""
    try:
        return net.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE)
    except libvirt.libvirtError as e:
        if not is_libvirt_error(e, libvirt.VIR_ERR_INVALID_ARG, libvirt.VIR_ERR_NO_SUPPORT):
            raise
        return net.XMLDesc(0)


def switch_spec(net, interfaces=None):
    """The switch's saved definition; the uplinks of a switch on a bridge the host provides come from that
    bridge among the host's interfaces (read from the host when not given)."""
    spec = parse_switch(saved_xml(net))
    if spec['host_bridge'] and spec['bridge']:
        conn = net.connect()
        bridges = [i for i in (interfaces if interfaces is not None else known_interfaces(conn))
                   if i['name'] == spec['bridge']]
        spec['uplinks'] = bridge_uplinks(bridges[0]) if bridges else []
    return spec


def host_interfaces(conn):
    """The host's interfaces (NICs, bridges, bonds) as libvirt's interface driver sees them."""
    try:
        interfaces = conn.listAllInterfaces(0)
    except libvirt.libvirtError as e:
        if is_libvirt_error(e, libvirt.VIR_ERR_NO_SUPPORT):
            raise VirtualIronError('the host\'s libvirt has no interface driver, so bridged switches cannot find '
                                   'their uplinks there')
        raise
    return [parse_interface_tree(i.XMLDesc(0)) for i in interfaces]


def servers_by_switch(conn):
    """{switch name: {server name: running?}} for every server of the host, from its definition and, while it
    runs, its live XML (a NIC plugged in or not yet unplugged counts); see server_definitions."""
    users = {}
    for dom, active, xmls in server_definitions(conn):
        for switch in set(nic['switch'] for xml in xmls for nic in parse_server(xml)['nics'] if nic['switch']):
            users.setdefault(switch, {})[dom.name()] = active
    return users


def dhcp_leases(net):
    """The switch's current DHCP leases in the user's words (none where libvirt runs no DHCP server)."""
    if not net.isActive():
        return []
    try:
        leases = net.DHCPLeases()
    except libvirt.libvirtError as e:
        if is_libvirt_error(e, libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_OPERATION_INVALID):
            return []
        raise
    return sorted(({'mac': (lease.get('mac') or '').lower(), 'ip': lease.get('ipaddr'),
                    'prefix': lease.get('prefix'), 'hostname': lease.get('hostname'),
                    'client_id': lease.get('clientid'), 'expires': lease.get('expirytime')} for lease in leases),
                  key=lambda lease: (lease['mac'], lease['ip'] or ''))


def describe_switch(conn, net, interfaces=None, users=None):
    """A switch as the modules return it: its definition, state, uplinks, leases and attached servers.
    interfaces (host_interfaces) and users (servers_by_switch) are read from the host when not given."""
    spec = switch_spec(net, interfaces)
    spec.pop('uuid')
    spec['active'] = bool(net.isActive())
    spec['autostart'] = bool(net.autostart())
    spec['persistent'] = bool(net.isPersistent())
    spec['leases'] = dhcp_leases(net)
    spec['servers'] = sorted((users if users is not None else servers_by_switch(conn)).get(spec['name'], {}))
    return spec


def known_interfaces(conn):
    """host_interfaces, or none where the host's libvirt cannot list them: describing a switch still works."""
    try:
        return host_interfaces(conn)
    except VirtualIronError:
        return []


class SwitchConverger(Converger):
    """One switch's whole desired state (params: virtual_switch's): definition, running, autostart."""

    result_key = 'switch'

    def __init__(self, conn, params, check_mode=False, diff=False):
        super(SwitchConverger, self).__init__(conn, params, check_mode, diff)
        self.net = None  # the switch (None: it does not exist, or check mode has not defined it)
        self.desired = None
        self.pending = []
        self.interfaces = None   # the host's, as read before anything started (see _interfaces)

    def read(self):
        self.net = find_switch(self.conn, self.params['name'])
        return describe_switch(self.conn, self.net) if self.net is not None else None

    def converge(self, before):
        if self.params['state'] == 'absent':
            self._remove(before)
            return None
        self._define()
        self._start()
        self._check_own_bridge()
        self.converge_autostart(self.net, self.params.get('autostart'))
        return self._predicted(before) if self.check_mode else describe_switch(self.conn, self.net)

    def describe(self, change):
        if change.field == 'state':
            return 'started' if change.new == 'running' else change.new
        if change.field == 'dhcp_host':
            host = change.new or change.old
            return 'DHCP host %s %s (%s)' % (host['mac'], 'added' if change.new else 'removed', change.when)
        return super(SwitchConverger, self).describe(change)

    def undo(self):
        """A switch this failed run started is stopped again, and removed if the run made it: a new switch that
        cannot start, or runs without its bridge, is not left behind."""
        started = self.changes.made('state', 'running')
        created = self.changes.made('exists')
        if self.net is None or not started and not created:
            return None
        name = self.params['name']
        try:
            if started and self.net.isActive():
                self.net.destroy()
            if created:
                self.net.undefine()
        except libvirt.libvirtError as e:
            return 'switch %s was left as it is, as stopping or removing it failed too (%s)' % (name, e)
        return 'switch %s was %s again' % (name, 'new, so it was removed' if created else 'stopped')

    def result(self, before, after):
        result = super(SwitchConverger, self).result(before, after)
        result.update(restart_required=bool(self.pending), pending_changes=self.pending)
        return result

    def _predicted(self, before):
        view = dict(self.desired)
        view.pop('uuid', None)
        autostart = self.params.get('autostart')
        view.update(active=True, persistent=True,
                    autostart=bool((before or {}).get('autostart')) if autostart is None else autostart,
                    leases=(before or {}).get('leases', []), servers=(before or {}).get('servers', []))
        return view

    # ------------------------------------------------------------ definition
    def _define(self):
        current = switch_spec(self.net) if self.net is not None else None
        self.desired = desired_switch(self.params, current)
        others = [parse_switch(saved_xml(other)) for other in self.conn.listAllNetworks(0)
                  if other.name() != self.desired['name']]
        if self.desired['mode'] == 'bridged':
            choose_bridge(self.desired, self._interfaces(), current, others)
        self._check_bridge(current, others)
        self._check_overlap(others)
        if current is None:
            self.act('exists', False, True, self._define_xml, build_switch_xml(self.desired))
            return
        if comparable(current) != comparable(self.desired):
            self.act('definition', current, self.desired, self._update, current)
            if self.check_mode:
                return
        if self.net.isActive():
            self._restart_if_outdated()

    def _define_xml(self, xml):
        self.net = self.conn.networkDefineXML(xml)

    def _check_bridge(self, current, others):
        """The switch's bridge is no other switch's, and a new bridge that libvirt is to make is not already on the
        host (libvirt would fail to start the switch; a bridged switch's was checked by choose_bridge)."""
        bridge = self.desired['bridge']
        user = bridge_user(self.desired, others)
        if user:
            raise VirtualIronError('bridge %s is the bridge of switch %s on this host: name another bridge'
                                   % (bridge, user))
        if self.desired['mode'] != 'bridged' and bridge not in (None, (current or {}).get('bridge')) and \
                bridge in interfaces_by_name(known_interfaces(self.conn)):
            raise VirtualIronError('bridge %s is already an interface of the host: name a new bridge for libvirt to '
                                   'make, or leave bridge out' % bridge)

    def _check_overlap(self, others):
        clash = overlapping_switch(self.desired, [(spec['name'], spec['subnet']) for spec in others])
        if clash:
            raise VirtualIronError('subnet %s overlaps subnet %s of switch %s on this host'
                                   % (self.desired['subnet'], clash[1], clash[0]))

    def _update(self, current):
        """Static DHCP hosts change live; anything else is saved, for _restart_if_outdated."""
        hosts = dhcp_host_changes(current, self.desired)
        if hosts is not None and self.net.isActive():
            self._update_dhcp_hosts(*hosts)
        else:
            self._define_xml(update_switch_xml(saved_xml(self.net), self.desired))

    def _restart_if_outdated(self):
        """A running switch takes a new definition only by restarting, which disconnects its running servers'
        NICs: so it restarts only when none runs on it, and otherwise reports the wait (on every run, until
        a run finds the servers off it and restarts it). A switch that runs without its own bridge (started
        before the host had the network hook) restarts too, so that the hook makes it."""
        live = parse_switch(self.net.XMLDesc(0))
        saved = parse_switch(saved_xml(self.net))
        if comparable(live) == comparable(saved) and not own_bridge_missing(live, self._interfaces):
            return
        running = sorted(n for n, up in servers_by_switch(self.conn).get(saved['name'], {}).items() if up)
        if running:
            self.pending.append('the switch needs a restart to apply its saved definition or make its bridge, which '
                                'would disconnect the running servers %s; run again when they are off it'
                                % ', '.join(running))
            return
        self.act('state', 'running', 'restarted', self._restart)

    def _update_dhcp_hosts(self, removed, added):
        flags = libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE | libvirt.VIR_NETWORK_UPDATE_AFFECT_CONFIG
        for command, hosts in ((libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE, removed),
                               (libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, added)):
            for host in hosts:
                old, new = (host, None) if hosts is removed else (None, host)
                self.act('dhcp_host', old, new, self.net.update, command, libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST,
                         -1, to_string(dhcp_host_element(host)), flags, when=LIVE)

    # ------------------------------------------------------------ state
    def _start(self):
        if self.net is None or not self.net.isActive():
            self.act('state', 'stopped', 'running', self._create)

    def _create(self):
        try:
            self.net.create()
        except libvirt.libvirtError as e:
            if is_libvirt_error(e, libvirt.VIR_ERR_HOOK_SCRIPT_FAILED):
                raise VirtualIronError('switch %s cannot start: %s' % (self.desired['name'], hook_refusal(e)))
            raise

    def _restart(self):
        self.net.destroy()
        self._create()

    def _interfaces(self):
        """The host's interfaces, listed once a run (each is an XML description from libvirt)."""
        if self.interfaces is None:
            self.interfaces = host_interfaces(self.conn)
        return self.interfaces

    def _check_own_bridge(self):
        """A switch's own bridge is made by the collection's network hook on the host as libvirt starts the
        switch; libvirt does not check it is there, so this does after this run started or restarted it (a switch
        already running was checked in _restart_if_outdated). A switch this run started without it is stopped
        again, and removed if this run made it (undo)."""
        if self.check_mode or not self.changes.has('state') or \
                not own_bridge_missing(self.desired, lambda: host_interfaces(self.conn)):
            return
        raise VirtualIronError(
            'switch %s runs, but its bridge %s over %s is not there: the host lacks the collection\'s libvirt network '
            'hook, which makes it. Install it on the host with virtualiron.infra.virtual_switch_hook and run this '
            'again, or give the host a bridge over the uplinks'
            % (self.desired['name'], self.desired['bridge'], ', '.join(self.desired['uplinks'])))

    def _remove(self, before):
        if self.net is None:
            return
        if before['servers'] and not self.params.get('force'):
            raise VirtualIronError('switch %s is in use by the virtual servers %s: move them to another switch, '
                                   'or set force: true to remove it anyway (their NICs then point to a missing '
                                   'switch and they cannot start)' % (before['name'], ', '.join(before['servers'])))
        self.act('exists', True, False, stop_and_undefine, self.net)
