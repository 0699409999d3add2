# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bring one virtual server to its desired state (definition and power state) on one host."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible_collections.virtualiron.infra.plugins.module_utils.disk.image import vhd_slice
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    CONNECTION_ARGUMENT_SPEC, VirtualIronError, is_libvirt_error, libvirt)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.converger import LIVE, Converger
from ansible_collections.virtualiron.infra.plugins.module_utils.common.libvirt_xml import (
    capabilities_arch, capabilities_guests, host_capabilities, hvm_domain_types, parse_xml, to_string)
from ansible_collections.virtualiron.infra.plugins.module_utils.server.describe import (
    describe_server, find_server, live_spec, persistent_spec, power_state, resolve_hypervisor, saved_xml)
from ansible_collections.virtualiron.infra.plugins.module_utils.server.live_changes import outstanding_changes, plan_live_changes
from ansible_collections.virtualiron.infra.plugins.module_utils.server.definition import (
    build_server_xml, comparable, desired_server, disk_matches, metadata_element, pair_disks, update_server_xml)
from ansible_collections.virtualiron.infra.plugins.module_utils.server.domain_xml import (
    METADATA_NS, METADATA_PREFIX, parse_server, user_view)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.units import parse_size
from ansible_collections.virtualiron.infra.plugins.module_utils.recovery.store import forget, keep_current
from ansible_collections.virtualiron.infra.plugins.module_utils.storage.pools import path_exists
from ansible_collections.virtualiron.infra.plugins.module_utils.switch.converger import find_switch

POWER_STATES = ('present', 'running', 'stopped', 'suspended', 'restarted', 'absent')
SERVER_DEFAULTS = dict(state='present', hypervisor='auto', force=False, shutdown_timeout=120, console_insecure=False)
# virtual_server's options that are no server's own: its connection and its list of servers.
NOT_SERVER_OPTIONS = frozenset(CONNECTION_ARGUMENT_SPEC) | frozenset(['servers'])
_POLL_SECONDS = 0.2


def server_request(options):
    """One server's options (None = not set) -> the converger's request: defaults filled, sizes in bytes."""
    request = dict(SERVER_DEFAULTS)
    request.update((k, v) for k, v in options.items()
                   if k not in NOT_SERVER_OPTIONS and (v is not None or k not in request))
    if not request['name']:
        raise VirtualIronError('every virtual server needs a name')
    if request['shutdown_timeout'] < 0:
        raise VirtualIronError('shutdown_timeout is a number of seconds, 0 or more, got %d' % request['shutdown_timeout'])
    for key in ('memory', 'max_memory'):
        if request[key] is not None:
            request[key] = parse_size(request[key], key)
    return request


def server_requests(params):
    """virtual_server's parameters -> one request per server (an entry of servers takes the top-level options
    it does not set), all checked before anything is done."""
    requests = []
    for entry in [{}] if params['servers'] is None else params['servers']:
        options = dict(params)
        options.update((k, v) for k, v in entry.items() if v is not None)
        requests.append(server_request(options))
    names = [r['name'] for r in requests]
    duplicates = sorted(set(n for n in names if names.count(n) > 1))
    if duplicates:
        raise VirtualIronError('servers lists %s more than once' % ', '.join(duplicates))
    return requests


def converge_servers(conn, params, check_mode=False, diff=False):
    """virtual_server's result: that of its one server, or with servers, of every entry over one connection. A dry
    run of all entries comes first, so that a bad one fails the task before any server is touched; a failure
    raises ServersFailed."""
    requests = server_requests(params)
    if params['servers'] is None:
        return ServerConverger(conn, requests[0], check_mode, diff).run()
    for dry_run in (True,) if check_mode else (True, False):
        results = []
        for request in requests:
            try:
                results.append(dict(ServerConverger(conn, request, dry_run, diff).run(), name=request['name']))
            except Exception as e:  # pylint: disable=broad-exception-caught
                if not (isinstance(e, VirtualIronError) or is_libvirt_error(e)):
                    raise
                raise VirtualIronError('server %s: %s' % (request['name'], e), {'results': results})
    result = {'changed': any(r['changed'] for r in results),
              'reboot_required': any(r['reboot_required'] for r in results), 'results': results}
    if diff:
        result['diff'] = [r.pop('diff') for r in results]
    return result


def host_hypervisors(conn):
    """(arch, [domain types the host offers for hvm guests of its own architecture])."""
    caps = host_capabilities(conn)
    arch = capabilities_arch(caps)
    return arch, hvm_domain_types(capabilities_guests(caps), arch)


def host_max_vcpus(conn, hypervisor, arch, machine):
    """The most vCPUs this host gives one server of that type: from its domain capabilities, which know the
    machine type's limit, or where the driver has none (Xen, test) from getMaxVcpus."""
    try:
        caps = parse_xml(conn.getDomainCapabilities(None, arch, machine, hypervisor))
    except libvirt.libvirtError:
        return conn.getMaxVcpus(hypervisor)
    vcpu = caps.find('vcpu')
    return int(vcpu.get('max')) if vcpu is not None else conn.getMaxVcpus(hypervisor)


class ServerConverger(Converger):
    """One server's whole desired state (params: a server_request): definition, autostart and power state."""

    result_key = 'server'

    def __init__(self, conn, params, check_mode=False, diff=False):
        super(ServerConverger, self).__init__(conn, params, check_mode, diff)
        self.dom = None  # the server (None: it does not exist, or check mode has not defined it)
        self.desired = None
        self.pending = []
        self.failed = {}  # live change (_live_key) -> why the hypervisor refused it

    def read(self):
        self.dom = find_server(self.conn, self.params['name'])
        return describe_server(self.dom) if self.dom is not None else None

    def converge(self, before):
        """Definition and power state; the server as it is afterwards (in check mode, as it would be)."""
        state = self.params['state']
        if state == 'absent':
            self._remove(before)
            return None
        self._define()
        self._power(state)
        if self.check_mode:
            return self._predicted(before, state)
        self.pending = self._pending() if self.dom.isActive() else []
        if self.changes and (self.desired['recovery'] or (before or {}).get('recovery')):
            keep_current(self.conn, [self.dom], (before or {}).get('recovery'))
        return describe_server(self.dom)

    def describe(self, change):
        if change.field == 'exists' and not change.new:
            return 'removed (disk files kept)'
        if change.field == 'state':
            return _power_action(change.old, change.new)[0] if change.new in ('running', 'suspended') else change.new
        if change.when == LIVE:
            return '%s (%s)' % (describe_live(change.field, change.new), change.when)
        return super(ServerConverger, self).describe(change)

    def undo(self):
        """Remove the server this failed run defined (QEMU refused to start it, say), so that a failed task leaves
        nothing behind; says what became of it."""
        if self.dom is None or not self.changes.made('exists'):
            return None
        name = self.params['name']
        try:
            if self.dom.isActive():
                self.dom.destroy()
            undefine_server(self.dom)
        except libvirt.libvirtError as e:
            return ('server %s was new, but removing its definition again failed too (%s): remove it with state=absent'
                    % (name, e))
        return 'server %s was new, so its definition was removed again' % name

    def result(self, before, after):
        result = super(ServerConverger, self).result(before, after)
        result.update(reboot_required=bool(self.pending), pending_changes=self.pending)
        return result

    def _predicted(self, before, state):
        """What check mode reports as the result: the desired spec, with the power state it would reach."""
        view = user_view(self.desired)
        view['state'] = {'present': (before or {}).get('state', 'stopped'),
                         'restarted': 'running'}.get(state, state)
        view['autostart'] = self.params.get('autostart') if self.params.get('autostart') is not None \
            else bool((before or {}).get('autostart'))
        # A running server that stays up keeps what cannot be applied live pending; a (re)boot applies all.
        if self.dom is not None and self.dom.isActive() and state not in ('stopped', 'restarted'):
            self.pending = plan_live_changes(live_spec(self.dom), self.desired)[1]
        view['reboot_required'] = bool(self.pending)
        return view

    # ------------------------------------------------------------ definition
    def _define(self):
        current = persistent_spec(self.dom) if self.dom is not None else None
        wanted = self.params.get('hypervisor')
        arch = hypervisor = None
        if current is None or wanted not in (None, 'auto'):
            arch, offered = host_hypervisors(self.conn)
            hypervisor = resolve_hypervisor(wanted, offered)
        self.desired = desired_server(dict(self.params, hypervisor=hypervisor), current, hypervisor)
        self._check_vcpus(current, arch)
        self._check_new_sources(current)
        self._vhd_slices(current)
        if current is None:
            self.act('exists', False, True, self._define_xml, build_server_xml(self.desired, arch))
        elif comparable(current) != comparable(self.desired):
            self.act('definition', current, self.desired, self._redefine, current)
        self.converge_autostart(self.dom, self.params.get('autostart'))

    def _define_xml(self, xml):
        self.dom = self.conn.defineXML(xml)

    def _redefine(self, previous):
        """Save the new definition; a running server gets what it can of it live."""
        self._define_xml(update_server_xml(saved_xml(self.dom), self.desired))
        if self.dom.isActive():
            self._apply_live(previous)

    def _check_vcpus(self, current, arch):
        """Refuse more vCPUs than the host gives one server (the server would not start), when they change."""
        wanted = self.desired['max_vcpus']
        if current is not None and wanted == current['max_vcpus']:
            return
        limit = host_max_vcpus(self.conn, self.desired['hypervisor'], self.desired['arch'] or arch,
                               self.desired['machine'])
        if wanted > limit:
            raise VirtualIronError('%d vCPUs is more than this host gives one %s server (at most %d)'
                                   % (wanted, self.desired['hypervisor'], limit))

    def _check_new_sources(self, current):
        """Refuse before anything changes if a disk or switch that is new to the server is missing."""
        for have, want in pair_disks(current['disks'] if current else [], self.desired['disks']):
            if want is None or (have is not None and disk_matches(have, want)) or want.get('pool'):
                continue
            if path_exists(self.conn, want['path']) is False:
                raise VirtualIronError('disk %s does not exist on the host (or its directory cannot be read); '
                                       'create it first, for example with virtual_disk' % want['path'])
        known = set(n['switch'] for n in current['nics']) if current else set()
        for switch in sorted(set(n['switch'] for n in self.desired['nics'] if n['switch']) - known):
            if find_switch(self.conn, switch) is None:
                raise VirtualIronError('virtual switch %s does not exist on the host; create it first with '
                                       'virtual_switch' % switch)

    def _vhd_slices(self, current):
        """A fixed VHD is attached as a raw slice of its virtual size, read from its footer on the host; a
        disk whose footer cannot be read from here keeps the slice it has."""
        for have, want in pair_disks(current['disks'] if current else [], self.desired['disks']):
            if want is not None and want['format'] == 'vhd' and want['device'] == 'disk':
                want['slice'] = vhd_slice(self.conn, want, default=(have or {}).get('slice'))

    # ------------------------------------------------------------ live changes
    def _apply_live(self, previous):
        xml = saved_xml(self.dom)
        for action, value in plan_live_changes(live_spec(self.dom), parse_server(xml))[0]:
            if action == 'memory' and value == previous['memory']:
                continue  # already asked of the guest's balloon when the definition changed to it
            try:
                self._live_op(action, value, xml)
            except libvirt.libvirtError as e:
                # The definition already holds the change: it takes effect at the next boot.
                self.failed[_live_key(action, value)] = e.get_error_message()
            else:
                self.changes.add(action, None, value, LIVE)

    def _pending(self):
        """What the running server lacks of its definition, judged from its live XML rather than from
        our intentions: an unplug the guest has not acknowledged yet is still pending."""
        ops, pending = outstanding_changes(live_spec(self.dom), persistent_spec(self.dom))
        return pending + ['%s: %s' % (describe_live(a, v),
                                      self.failed.get(_live_key(a, v), 'requested; the guest has not completed it'))
                          for a, v in ops]

    def _live_op(self, action, value, xml):
        dom, live = self.dom, libvirt.VIR_DOMAIN_AFFECT_LIVE
        if action == 'vcpus':
            dom.setVcpusFlags(value, live)
        elif action == 'memory':
            dom.setMemoryFlags(value // 1024, live)
        elif action == 'metadata':
            dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_DESCRIPTION, value['description'] or None, None, None, live)
            element = metadata_element(value, qualified=False)
            dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, None if element is None else to_string(element),
                            METADATA_PREFIX, METADATA_NS, live)
        elif action in ('attach_disk', 'attach_nic'):
            dom.attachDeviceFlags(_device_xml(xml, value), live)
        elif action in ('detach_disk', 'detach_nic'):
            dom.detachDeviceFlags(_device_xml(dom.XMLDesc(0), value), live)
        else:  # change_media, update_nic
            dom.updateDeviceFlags(_device_xml(xml, value), live)

    # ------------------------------------------------------------ power
    def _power(self, state):
        current = power_state(self.dom) if self.dom is not None else 'stopped'
        if state in ('stopped', 'restarted') and current != 'stopped':
            self._stop(current)
            current = 'stopped'
        wanted = 'running' if state == 'restarted' else state
        if wanted in ('running', 'suspended') and current != wanted:
            self.act('state', current, wanted, self._power_on, current, wanted)

    def _power_on(self, current, wanted):
        _words, method, args = _power_action(current, wanted)
        getattr(self.dom, method)(*args)

    def _stop(self, current):
        """Recorded once done: the server is 'stopped', or 'powered off' where it had to be forced."""
        self.changes.add('state', current, 'stopped' if self.check_mode else self._shut_down())

    def _shut_down(self):
        """Graceful shutdown, then with force a hard power-off; without force a timeout is an error."""
        dom, timeout = self.dom, self.params['shutdown_timeout']
        if dom.isActive() and timeout > 0:
            if power_state(dom) == 'suspended':
                dom.resume()  # a paused guest cannot see the power button
            _ignore_race(dom.shutdown)
            deadline = time.time() + timeout
            while dom.isActive() and time.time() < deadline:
                time.sleep(_POLL_SECONDS)
        if not dom.isActive():
            return 'stopped'
        if not self.params['force']:
            raise VirtualIronError(
                'virtual server %s did not shut down within %s s (its guest may ignore the ACPI power button); '
                'set force: true to power it off, or raise shutdown_timeout' % (dom.name(), timeout))
        _ignore_race(dom.destroy)
        return 'powered off'

    def _remove(self, before):
        if self.dom is None:
            return
        if self.dom.isActive():
            self._stop(before['state'])
        uuid = self.dom.UUIDString()
        self.act('exists', True, False, undefine_server, self.dom)
        store = (before.get('recovery') or {}).get('store')
        if store and not self.check_mode:
            forget(self.conn, store, uuid)


def _power_action(current, wanted):
    """(words, domain method, arguments) that bring a server from power state current to wanted (running or
    suspended)."""
    if wanted == 'running':
        return ('resumed', 'resume', ()) if current == 'suspended' else ('started', 'create', ())
    if current == 'running':
        return 'suspended', 'suspend', ()
    return 'started paused', 'createWithFlags', (libvirt.VIR_DOMAIN_START_PAUSED,)


def undefine_server(dom):
    """Remove the definition with its managed save image, NVRAM and snapshot/checkpoint metadata
    (never disks); drivers that know fewer of these flags (Xen, test) get the ones they know."""
    full = (libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
            | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA | libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA)
    for flags in (full, libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM):
        try:
            return dom.undefineFlags(flags)
        except libvirt.libvirtError as e:
            if not is_libvirt_error(e, libvirt.VIR_ERR_INVALID_ARG, libvirt.VIR_ERR_NO_SUPPORT):
                raise
    return dom.undefine()


def _ignore_race(call):
    """The guest may stop on its own between our check and our call: that is what we wanted."""
    try:
        call()
    except libvirt.libvirtError as e:
        if not is_libvirt_error(e, libvirt.VIR_ERR_OPERATION_INVALID):
            raise


def _device_xml(domain_xml, device):
    """The XML of one disk (by target) or NIC (by MAC) of a domain, for attach/detach/update calls."""
    root = parse_xml(domain_xml)
    if 'target' in device:
        element = root.xpath('devices/disk[target/@dev=$t]', t=device['target'])
    else:
        element = root.xpath('devices/interface[translate(mac/@address, "ABCDEF", "abcdef")=$m]', m=device['mac'])
    if not element:
        raise VirtualIronError('device %r is not in the definition' % (device,))
    return to_string(element[0])


def _live_key(action, value):
    """What a live change is about, the same when it is planned again: its setting, or its disk (by target) or
    NIC (by MAC)."""
    return (action, value.get('target', value.get('mac'))) if action.endswith(('_disk', '_nic', '_media')) else action


def describe_live(action, value):
    """A live change (plan_live_changes' action and value) in the user's words."""
    if action == 'vcpus':
        return 'vcpus set to %d' % value
    if action == 'memory':
        return 'memory set to %dMiB' % (value // 1024 ** 2)
    if action == 'metadata':
        return 'description, tags and capacity policy updated'
    if action.endswith('_disk') or action == 'change_media':
        return '%s %s' % (action.replace('_', ' '), value.get('path') or value['target'])
    return '%s %s' % (action.replace('_', ' '), value['mac'] or '')
