# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bring one virtual server to its desired state (definition and power state) on one host."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible_collections.virtualiron.infra.plugins.module_utils.disk.image import vhd_slice
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    VirtualIronError, converge_autostart, is_libvirt_error, libvirt, lookup_or_none)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.libvirt_xml import (
    capabilities_arch, capabilities_guests, host_capabilities, hvm_domain_types, parse_xml, to_string)
from ansible_collections.virtualiron.infra.plugins.module_utils.server.live_changes import outstanding_changes, plan_live_changes
from ansible_collections.virtualiron.infra.plugins.module_utils.server.domain_xml import (
    METADATA_NS, METADATA_PREFIX, build_server_xml, comparable, desired_server, disk_matches, pair_disks,
    parse_server, tags_element, update_server_xml, user_view)
from ansible_collections.virtualiron.infra.plugins.module_utils.storage.pools import path_exists
from ansible_collections.virtualiron.infra.plugins.module_utils.switch.converger import find_switch

POWER_STATES = ('present', 'running', 'stopped', 'suspended', 'restarted', 'absent')
_POLL_SECONDS = 0.2


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


def persistent_spec(dom):
    # SECURE: the console password is part of the definition we compare.
    return parse_server(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE))


def live_spec(dom):
    return parse_server(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE))


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


class ServerConverger(object):
    """One call = one server's whole desired state. Records what it does in self.changes."""

    def __init__(self, conn, request, check_mode=False, shutdown_timeout=120, force=False):
        self.conn = conn
        self.request = request
        self.check_mode = check_mode
        self.shutdown_timeout = shutdown_timeout
        self.force = force
        self.changes = []
        self.pending = []
        self.failed = {}  # live change -> why the hypervisor refused it
        self.created = None  # the server this run defined anew: removed again if a later step fails

    # ------------------------------------------------------------ entry point
    def run(self):
        name, state = self.request['name'], self.request['state']
        dom = find_server(self.conn, name)
        before = self._snapshot(dom)
        if state == 'absent':
            self._remove(dom)
            after = None
        else:
            try:
                after = self._converge(dom, before, state)
            except Exception as e:  # pylint: disable=broad-exception-caught
                if self.created is None:
                    raise
                note = self._remove_created()
                if not (isinstance(e, VirtualIronError) or is_libvirt_error(e)):
                    raise  # a bug keeps its traceback
                raise VirtualIronError('%s; %s' % (e, note))
        return {
            'changed': bool(self.changes),
            'changes': self.changes,
            'server': after,
            'reboot_required': bool(self.pending),
            'pending_changes': self.pending,
            'diff': {'before': before or {}, 'after': after or {}},
        }

    def _converge(self, dom, before, state):
        """Definition and power state; the server as it is afterwards (in check mode, as it would be)."""
        dom = self._define(dom, before)
        self._power(dom, state)
        if self.check_mode:
            return self._predicted(dom, before, state)
        self.pending = self._pending(dom) if dom.isActive() else []
        return self._snapshot(dom)

    def _remove_created(self):
        """Remove the server this failed run defined (QEMU refused to start it, say), so that a failed task
        leaves nothing behind; says what became of it."""
        name = self.request['name']
        try:
            if self.created.isActive():
                self.created.destroy()
            undefine_server(self.created)
        except libvirt.libvirtError as e:
            return ('server %s was new, but removing its definition again failed too (%s): remove it with state=absent'
                    % (name, e))
        return 'server %s was new, so its definition was removed again' % name

    def _snapshot(self, dom):
        return describe_server(dom) if dom is not None else None

    def _predicted(self, dom, before, state):
        """What check mode reports as the result: the desired spec, with the power state it would reach."""
        view = user_view(self.desired)
        view['state'] = {'present': (before or {}).get('state', 'stopped'),
                         'restarted': 'running'}.get(state, state)
        view['autostart'] = self.request.get('autostart') if self.request.get('autostart') is not None \
            else bool((before or {}).get('autostart'))
        # A running server that stays up keeps what cannot be applied live pending; a (re)boot applies all.
        if dom is not None and dom.isActive() and state not in ('stopped', 'restarted'):
            self.pending = plan_live_changes(live_spec(dom), self.desired)[1]
        view['reboot_required'] = bool(self.pending)
        return view

    # ------------------------------------------------------------ definition
    def _define(self, dom, before):
        current = persistent_spec(dom) if dom is not None else None
        wanted = self.request.get('hypervisor')
        arch = hypervisor = None
        if current is None or wanted not in (None, 'auto'):
            arch, offered = host_hypervisors(self.conn)
            hypervisor = resolve_hypervisor(wanted, offered)
        self.desired = desired_server(dict(self.request, hypervisor=hypervisor), current, hypervisor)
        self._check_vcpus(current, arch)
        self._check_new_sources(current)
        self._vhd_slices(current)
        if current is None or comparable(current) != comparable(self.desired):
            self.changes.append('created' if current is None else 'definition updated')
            if not self.check_mode:
                xml = build_server_xml(self.desired, arch) if current is None else update_server_xml(
                    dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE), self.desired)
                dom = self.conn.defineXML(xml)
                if current is None:
                    self.created = dom
                if before is not None and dom.isActive():
                    self._apply_live(dom, current)
        self._autostart(dom)
        return dom

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

    def _autostart(self, dom):
        change = converge_autostart(dom, self.request.get('autostart'), self.check_mode)
        if change:
            self.changes.append(change)

    # ------------------------------------------------------------ live changes
    def _apply_live(self, dom, previous):
        xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE)
        for action, value in plan_live_changes(live_spec(dom), parse_server(xml))[0]:
            if action == 'memory' and value == previous['memory']:
                continue  # already asked of the guest's balloon when the definition changed to it
            try:
                self._live_op(dom, action, value, xml)
                self.changes.append(_describe(action, value) + ' (live)')
            except libvirt.libvirtError as e:
                # The definition already holds the change: it takes effect at the next boot.
                self.failed[_describe(action, value)] = e.get_error_message()

    def _pending(self, dom):
        """What the running server lacks of its definition, judged from its live XML rather than from
        our intentions: an unplug the guest has not acknowledged yet is still pending."""
        ops, pending = outstanding_changes(live_spec(dom), persistent_spec(dom))
        return pending + ['%s: %s' % (d, self.failed.get(d, 'requested; the guest has not completed it'))
                          for d in (_describe(a, v) for a, v in ops)]

    def _live_op(self, dom, action, value, xml):
        live = libvirt.VIR_DOMAIN_AFFECT_LIVE
        if action == 'vcpus':
            dom.setVcpusFlags(value, live)
        elif action == 'memory':
            dom.setMemoryFlags(value // 1024, live)
        elif action == 'metadata':
            dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_DESCRIPTION, value['description'] or None, None, None, live)
            tags = to_string(tags_element(value['tags'], qualified=False)) if value['tags'] else None
            dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, tags, METADATA_PREFIX, METADATA_NS, live)
        elif action in ('attach_disk', 'attach_nic'):
            dom.attachDeviceFlags(_device_xml(xml, value), live)
        elif action in ('detach_disk', 'detach_nic'):
            dom.detachDeviceFlags(_device_xml(dom.XMLDesc(0), value), live)
        else:  # change_media, update_nic
            dom.updateDeviceFlags(_device_xml(xml, value), live)

    # ------------------------------------------------------------ power
    def _power(self, dom, state):
        current = power_state(dom) if dom is not None else 'stopped'
        if state == 'running':
            if current == 'suspended':
                self._act('resumed', dom, 'resume')
            elif current != 'running':
                self._act('started', dom, 'create')
        elif state == 'suspended':
            if current == 'running':
                self._act('suspended', dom, 'suspend')
            elif current != 'suspended':
                self._act('started paused', dom, 'createWithFlags', libvirt.VIR_DOMAIN_START_PAUSED)
        elif state == 'stopped' and current != 'stopped':
            self._stop(dom)
        elif state == 'restarted':
            if current != 'stopped':
                self._stop(dom)
            self._act('started', dom, 'create')

    def _act(self, what, dom, method, *args):
        """Record a power action; do it unless in check mode (where a new server has no dom yet)."""
        self.changes.append(what)
        if not self.check_mode:
            getattr(dom, method)(*args)

    def _stop(self, dom):
        """Graceful shutdown, then with force a hard power-off; without force a timeout is an error."""
        self.changes.append('stopped')
        if self.check_mode:
            return
        if dom.isActive() and self.shutdown_timeout > 0:
            if power_state(dom) == 'suspended':
                dom.resume()  # a paused guest cannot see the power button
            _ignore_race(dom.shutdown)
            deadline = time.time() + self.shutdown_timeout
            while dom.isActive() and time.time() < deadline:
                time.sleep(_POLL_SECONDS)
        if dom.isActive():
            if not self.force:
                raise VirtualIronError(
                    'virtual server %s did not shut down within %s s (its guest may ignore the ACPI power button); '
                    'set force: true to power it off, or raise shutdown_timeout' % (dom.name(), self.shutdown_timeout))
            _ignore_race(dom.destroy)
            self.changes[-1] = 'powered off'

    def _remove(self, dom):
        if dom is None:
            return
        if dom.isActive():
            self._stop(dom)
        self.changes.append('removed (disk files kept)')
        if not self.check_mode:
            undefine_server(dom)


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


def _describe(action, value):
    if action == 'vcpus':
        return 'vcpus set to %d' % value
    if action == 'memory':
        return 'memory set to %dMiB' % (value // 1024 ** 2)
    if action == 'metadata':
        return 'description and tags updated'
    if action.endswith('_disk') or action == 'change_media':
        return '%s %s' % (action.replace('_', ' '), value.get('path') or value['target'])
    return '%s %s' % (action.replace('_', ' '), value['mac'] or '')
