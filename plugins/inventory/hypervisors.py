# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
name: hypervisors
short_description: Hypervisor hosts and their virtual servers, as they are, from libvirt
version_added: 0.1.0
description:
  - Builds an inventory from libvirt hypervisor hosts, listed as O(uris) or found in the node
    registrations bare-metal discovery writes (O(registrations)).
  - Each hypervisor becomes a host whose variables are its facts, as M(virtualiron.infra.host_info) returns
    them, each under the prefix C(virtualiron_) (C(virtualiron_cpu), C(virtualiron_memory), C(virtualiron_nics)...),
    plus C(virtualiron_uri) and, for a registered node, C(virtualiron_registration).
  - "Groups: C(hypervisors) (every hypervisor), C(hypervisor_<type>) (C(hypervisor_kvm), C(hypervisor_qemu),
    C(hypervisor_xen)), C(cpu_<vendor>) (C(cpu_intel), C(cpu_amd)), C(maintenance) and C(in_service)
    (the maintenance state the collection keeps on the host), C(unreachable), and C(discovered)
    (registered nodes that have no libvirt URI yet)."
  - With O(virtual_servers), every virtual server becomes a host too, in the groups C(virtual_servers) and
    C(servers_on_<hypervisor>), with the variables C(virtualiron_host) (its hypervisor's inventory name),
    C(virtualiron_uri) (its hypervisor's URI), C(virtualiron_state), C(virtualiron_addresses) (from libvirt's
    DHCP leases, where known) and C(virtualiron_server) (its configuration, in summary or in full, see
    O(server_variables)). C(ansible_host) is its first address, where known.
  - A virtual server's inventory name is its name, which must be a valid name for a virtual server
    (letters, digits, C(.), C(_), C(+), C(-)); a server whose name is not, or is the name of a hypervisor,
    of a registered node or of localhost, is left out with a warning, so that a guest can never take over
    another host's entry (its C(ansible_host) above all).
  - "Trust: the plugin's configuration (this file, and O(uris) above all) is the operator's and trusted:
    its URIs are opened as given. Everything else is data from outside: registration files (written by the
    machines being discovered) and everything libvirt reports (facts, server names, descriptions, tags,
    DHCP leases, errors). Registrations are checked before use (see O(registrations)); every variable the
    plugin sets is marked unsafe, so that a template in such a value is never run, neither by O(compose),
    O(groups) and O(keyed_groups) nor by a play that reads the variable (ansible-core 2.19 and later do
    this themselves; earlier versions rely on the plugin)."
  - Hosts are queried in parallel (O(workers) at a time), each over its own libvirt connection.
  - A hypervisor that cannot be reached is put in the group C(unreachable) with the error in
    C(virtualiron_error), and the rest of the inventory is built; with O(strict) it fails the inventory.
  - The configuration file's name must end with C(hypervisors.yml) or C(hypervisors.yaml), for example
    C(datacenter.hypervisors.yml). In AWX or Automation Controller, add such a file to a project and
    use it as an inventory source "Sourced from a Project"; the execution environment needs libvirt-python
    (see C(meta/execution-environment.yml)).
author:
  - Virtual Iron revival team (@virtualiron)
extends_documentation_fragment:
  - constructed
  - inventory_cache
requirements:
  - libvirt-python >= 9.0 (and the libvirt client library)
  - lxml
  - jmespath (for O(filters))
options:
  plugin:
    description: The name of this plugin; it marks the file as its configuration.
    required: true
    type: str
    choices: [virtualiron.infra.hypervisors]
  uris:
    description:
      - The hypervisor hosts, each a libvirt URI, or a dictionary with C(uri) and C(name) (the inventory host name).
      - A host's name is the C(name) given, or else the host part of the URI (C(kvm1) for
        C(qemu+ssh://root@kvm1/system)), or C(localhost) for a local URI. A registration never renames it.
      - These URIs are trusted as the operator's own configuration, and opened as given.
    type: list
    elements: raw
    default: []
  registrations:
    description:
      - A directory of node registrations, one JSON file per node (C(<name>.json)), as bare-metal discovery writes
        them. The format is in C(docs/registrations.md), its JSON schema in C(docs/registration.schema.json).
      - A registered node with a C(uri) is queried like an entry of O(uris) (once, under that entry's name, if
        its URI is there too); one without is put in the group C(discovered). Every registered node has its
        registration in C(virtualiron_registration).
      - Registrations are untrusted data. A file is read only if it is a regular file (not a symbolic link,
        FIFO or device) of at most 1 MiB, named after the node it registers (C(<name>.json)). Its C(uri) must be
        a remote QEMU or Xen host over a transport O(registration_transports) allows (SSH or TLS by default),
        without parameters that run programs, read local files or skip host checks (only C(mode) and C(proxy) are
        accepted); C(address) must be an IP address, C(bmc.address) a host name or IP address.
      - An invalid registration file, or one whose node name is taken (by an entry of O(uris), another
        registration or localhost) or whose URI another registration has, is skipped with a warning, or
        fails the inventory with O(strict).
    type: path
  registration_transports:
    description:
      - The libvirt transports a registration's C(uri) may use; a registration with another is skipped with a
        warning (or fails the inventory with O(strict)).
      - The default takes only those that authenticate the host (SSH host keys, TLS certificates; a URI without
        a transport, such as C(qemu://kvm7/system), uses TLS), so that whoever can write a registration cannot
        name a machine of their own and have it listed among the C(hypervisors), where playbooks such as the
        C(evacuate_host) role would send virtual servers.
      - Add V(tcp) (no authentication, no encryption) only on a closed network you trust, as the lab does.
    type: list
    elements: str
    choices: [ssh, libssh, libssh2, tls, tcp]
    default: [ssh, libssh, libssh2, tls]
  virtual_servers:
    description: Also make every virtual server of every reachable hypervisor a host.
    type: bool
    default: false
  server_variables:
    description:
      - How much of a virtual server's configuration C(virtualiron_server) holds.
      - V(summary) gives C(name), C(uuid), C(state), C(autostart), C(reboot_required), C(vcpus), C(memory),
        C(hypervisor), C(description) and C(tags), what groups and plays usually pick servers by.
      - V(full) gives all of it, as M(virtualiron.infra.virtual_server_info) returns it (disks, NICs, console,
        boot order, machine type...). Ansible copies and checks every value an inventory sets, so the full view
        makes a large inventory slower to build (see the README's figures).
    type: str
    choices: [summary, full]
    default: summary
  filters:
    description:
      - JMESPath expressions over a hypervisor's variables (the names with the C(virtualiron_) prefix); only the
        hypervisors for which every expression is true are kept, with their virtual servers.
      - For example V(virtualiron_cpu.vendor == 'Intel') or V(virtualiron_load.memory_overcommit < `0.8`).
      - Unreachable hypervisors have no facts to judge and are always kept, in the group C(unreachable).
    type: list
    elements: str
    default: []
  strict:
    description:
      - With V(true), a hypervisor that cannot be queried and an invalid registration file fail the inventory,
        as do errors in O(compose), O(groups) and O(keyed_groups).
      - With V(false), an unreachable hypervisor is put in the group C(unreachable), an invalid registration
        is skipped with a warning, and such expressions are skipped.
    type: bool
    default: false
  workers:
    description: How many hypervisors to query at the same time.
    type: int
    default: 20
  connect_timeout:
    description:
      - Seconds to wait for a hypervisor to take the connection; one that does not is put in the C(unreachable)
        group. V(0) waits as long as libvirt does (minutes for a host that drops packets).
    type: int
    default: 20
'''

EXAMPLES = r'''
# datacenter.hypervisors.yml
plugin: virtualiron.infra.hypervisors
uris:
  - qemu+ssh://root@kvm1.example.com/system
  - uri: qemu+tls://10.0.0.12/system
    name: kvm2
registrations: /var/lib/virtualiron/registrations
virtual_servers: true
filters:
  - "virtualiron_hypervisor.type != 'qemu'"
keyed_groups:
  - key: virtualiron_server.tags.role | default(omit)
    prefix: role
groups:
  big_memory: virtualiron_memory.total_bytes | default(0) > 256 * 1024 ** 3
compose:
  free_memory_gib: (virtualiron_memory.available_bytes | default(0) / 1024 ** 3) | round(1)
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: /var/cache/ansible/inventory
cache_timeout: 300
'''

import concurrent.futures
import os
from urllib.parse import urlsplit

from ansible import constants as C
from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable, to_safe_group_name
from ansible.utils.unsafe_proxy import wrap_var

try:
    from ansible.template import trust_as_template  # noqa: F401  pylint: disable=unused-import
    DATA_TAGGING = True  # ansible-core 2.19 and later
except ImportError:
    DATA_TAGGING = False

from ansible_collections.virtualiron.infra.plugins.module_utils.host.facts import host_facts
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    CONNECT_TIMEOUT, VirtualIronError, libvirt, on_host)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.query import run_query
from ansible_collections.virtualiron.infra.plugins.module_utils.host.registration import (
    REGISTRATION_SUFFIX, read_registrations)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.validation import (
    AUTHENTICATED_TRANSPORTS, check_ip_address, check_object_name, uri_transport)
from ansible_collections.virtualiron.infra.plugins.module_utils.server.describe import describe_servers

PREFIX = 'virtualiron_'
# virtualiron_server with server_variables: summary.
SERVER_SUMMARY = ('name', 'uuid', 'state', 'autostart', 'reboot_required', 'vcpus', 'memory', 'hypervisor',
                  'description', 'tags')
CONFIG_SUFFIXES = ('hypervisors.yml', 'hypervisors.yaml')


# ---------------------------------------------------------------- pure decisions

def default_name(uri):
    """The inventory name of a hypervisor known only by its URI: the URI's host, or localhost."""
    return urlsplit(uri).hostname or 'localhost'


def targets(uris, registrations, transports=AUTHENTICATED_TRANSPORTS):
    """The hypervisors to query, each {'name', 'uri', 'registration'}, once per URI; the registered nodes
    that have no URI yet; and the registrations refused ({file name: why}).

    uris is the operator's: two different URIs under one name are refused. Registrations are data from
    outside: one never renames an entry of uris, nor takes localhost's name or one taken before it, and
    its URI uses one of the transports the operator allows.
    """
    by_uri = _configured(uris)
    taken = host_names(by_uri.values(), [])
    discovered, refused = [], {}
    for registration in registrations:
        name, uri = registration['name'], registration.get('uri')
        why = _registration_conflict(name, by_uri.get(uri), taken) or _transport_refused(uri, transports)
        if why:
            refused[name + REGISTRATION_SUFFIX] = why
            continue
        taken[name] = 'the name of another registered node'
        if uri:
            by_uri.setdefault(uri, {'name': name, 'uri': uri})['registration'] = registration
        else:
            discovered.append(registration)
    return list(by_uri.values()), discovered, refused


def _configured(uris):
    by_uri = {}
    for entry in uris:
        uri, name = (entry, None) if isinstance(entry, str) else (entry.get('uri'), entry.get('name'))
        if not uri:
            raise VirtualIronError('every entry of uris needs a uri, got %r' % (entry,))
        by_uri[uri] = {'name': name or default_name(uri), 'uri': uri, 'registration': None}
    names = [t['name'] for t in by_uri.values()]
    twice = sorted(set(n for n in names if names.count(n) > 1))
    if twice:
        raise VirtualIronError('more than one entry of uris is named %s; give them distinct names' % ', '.join(twice))
    return by_uri


def _registration_conflict(name, same_uri, taken):
    if name in taken:
        return '%s is %s' % (name, taken[name])
    if same_uri and same_uri['registration']:
        return 'node %s is registered with the same uri' % same_uri['registration']['name']
    return None


def _transport_refused(uri, transports):
    if uri and uri_transport(uri) not in transports:
        return ('its uri %s uses the transport %s, which does not authenticate the host; registration_transports '
                'allows %s' % (uri, uri_transport(uri), ', '.join(transports)))
    return None


def host_names(hypervisors, discovered):
    """The inventory names that are taken, each with what takes it: localhost's, the hypervisors' and
    the registered nodes'."""
    taken = dict.fromkeys(C.LOCALHOST, 'a name of the controller (localhost)')
    taken.update((t['name'], 'the name of a hypervisor') for t in hypervisors)
    taken.update((r['name'], 'the name of a registered node') for r in discovered)
    return taken


def hypervisor_vars(record):
    """A queried hypervisor's host variables: its facts under the prefix, or its error."""
    variables = {PREFIX + 'uri': record['uri']}
    if record.get('registration'):
        variables[PREFIX + 'registration'] = record['registration']
    if record.get('error'):
        variables[PREFIX + 'error'] = record['error']
    for key, value in (record.get('facts') or {}).items():
        variables.setdefault(PREFIX + key, value)  # the URI asked for wins over the one libvirt reports
    host = urlsplit(record['uri']).hostname
    if host:
        variables['ansible_host'] = host
    return variables


def hypervisor_groups(record):
    """The built-in groups of a queried hypervisor."""
    if record.get('error'):
        return ['hypervisors', 'unreachable']
    facts = record['facts']
    groups = ['hypervisors', 'hypervisor_' + facts['hypervisor']['type']]
    if facts['cpu'].get('vendor'):
        groups.append('cpu_' + facts['cpu']['vendor'])
    groups.append('maintenance' if facts['maintenance'].get('maintenance') else 'in_service')
    return [to_safe_group_name(g.lower()) for g in groups]


def server_group(hypervisor_name):
    return to_safe_group_name('servers_on_' + hypervisor_name)


def server_vars(server, hypervisor_name, uri, detail):
    """A virtual server's host variables; detail: server_variables."""
    view = dict(server)
    addresses = view.pop('addresses', [])
    if detail == 'summary':
        view = dict((key, view[key]) for key in SERVER_SUMMARY if key in view)
    variables = {PREFIX + 'host': hypervisor_name, PREFIX + 'uri': uri, PREFIX + 'state': view['state'],
                 PREFIX + 'addresses': addresses, PREFIX + 'server': view}
    if addresses:
        variables['ansible_host'] = addresses[0]
    return variables


def place_servers(records, taken):
    """(server name, hypervisor record, server) for every server that can be a host, each name once, and
    warnings about the others. A guest names itself: a name that is not a valid host name, or that is
    taken (see host_names), is left out rather than merged into another host. A server defined on two
    hypervisors (a migration left a copy, say) is placed where it runs (or on the first one)."""
    placed, duplicates, warnings = {}, set(), []
    for record in records:
        for server in record.get('servers') or []:
            why = server_name_problem(server['name'], taken)
            if why:
                warnings.append('a virtual server on %s is not listed: %s' % (record['name'], why))
                continue
            seen = placed.get(server['name'])
            if seen is not None:
                duplicates.add(server['name'])
                if seen[1]['state'] == 'running' or server['state'] != 'running':
                    continue
            placed[server['name']] = (record, server)
    warnings.extend('virtual server %s is defined on more than one hypervisor; it is listed where it runs '
                    '(or on the first one)' % name for name in sorted(duplicates))
    return [(name, r, s) for name, (r, s) in sorted(placed.items())], warnings


def server_name_problem(name, taken):
    """Why a virtual server's name cannot be its inventory name, or None."""
    try:
        check_object_name(name, 'virtual server')
    except VirtualIronError as e:
        return str(e)
    if name in taken:
        return 'virtual server %s has %s' % (name, taken[name])
    return None


def keep_hypervisor(variables, filters):
    """True when every JMESPath filter is true of the hypervisor's variables."""
    return all(run_query(expression, variables) for expression in filters)


def lease_addresses(interfaces):
    """virDomainInterfaceAddresses' result -> the server's unicast IP addresses, IPv4 first; anything else
    is left out, as the first one becomes ansible_host."""
    addresses = [a.get('addr') for iface in (interfaces or {}).values() for a in (iface.get('addrs') or [])]
    return sorted((a for a in addresses if _is_unicast_ip(a)), key=lambda a: (':' in a, a))


def _is_unicast_ip(value):
    try:
        check_ip_address(value, 'lease address')
    except VirtualIronError:
        return False
    return True


# ---------------------------------------------------------------- asking the hypervisors

def _addresses(dom):
    if not dom.isActive():
        return []
    try:
        return lease_addresses(dom.interfaceAddresses(libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE, 0))
    except libvirt.libvirtError:  # no libvirt network with DHCP behind the server: not known
        return []


class _Listed(object):
    """A domain with the power state and flags the host's bulk calls reported for it, so that describing
    it asks libvirt for its definitions only (three calls per host instead of three per server)."""

    def __init__(self, dom, state, active, autostart):
        self._dom, self._state, self._active, self._autostart = dom, state, active, autostart

    def state(self):
        return [self._state, 0]

    def isActive(self):  # noqa: N802 (libvirt's name)
        return self._active

    def autostart(self):
        return self._autostart

    def __getattr__(self, name):
        return getattr(self._dom, name)


def _listed_domains(conn):
    active = _uuids(conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE))
    autostart = _uuids(conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_AUTOSTART))
    return [_Listed(dom, stats['state.state'], dom.UUIDString() in active, dom.UUIDString() in autostart)
            for dom, stats in conn.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_STATE)]


def _uuids(domains):
    return set(dom.UUIDString() for dom in domains)  # known to the client: no call to the host


def _servers(conn):
    return [dict(view, addresses=_addresses(dom)) for dom, view in describe_servers(_listed_domains(conn))]


def query_hypervisor(target, with_servers, connect_timeout=CONNECT_TIMEOUT):
    """One hypervisor's record: the target with its facts (and servers), or with the error."""
    def query(conn):
        return host_facts(conn), (_servers(conn) if with_servers else None)

    found, error = on_host(target['uri'], query, connect_timeout)
    facts, servers = found or (None, None)
    return dict(target, facts=facts, servers=servers, error=error)


def query_hypervisors(chosen, with_servers, workers, connect_timeout=CONNECT_TIMEOUT):
    """Every target's record, in the order given, queried by up to `workers` threads at once."""
    if not chosen:
        return []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(workers, len(chosen)))) as pool:
        return list(pool.map(lambda t: query_hypervisor(t, with_servers, connect_timeout), chosen))


# ---------------------------------------------------------------- the plugin

class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = 'virtualiron.infra.hypervisors'

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(CONFIG_SUFFIXES)

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        try:
            source = self._source()
            records = self._records(path, source, cache)
        except VirtualIronError as e:
            raise AnsibleParserError('%s: %s' % (path, e))
        self._populate(records, source['discovered'])

    def _source(self):
        """What to query: targets from uris and registrations, and nodes only discovered so far."""
        directory, registrations, errors = self.get_option('registrations'), [], {}
        if directory:
            registrations, errors = read_registrations(directory)
        uris = self.get_option('uris')
        if DATA_TAGGING:  # the file's values are trusted as templates: not once they are host variables
            uris = wrap_var(uris)
        chosen, discovered, refused = targets(uris, registrations,
                                              self.get_option('registration_transports'))
        errors.update((os.path.join(directory, file_name), why) for file_name, why in refused.items())
        for file_name, message in sorted(errors.items()):
            if self.get_option('strict'):
                raise VirtualIronError('%s: %s' % (file_name, message))
            self.display.warning('skipped registration %s: %s' % (file_name, message))
        return {'targets': chosen, 'discovered': discovered}

    def _records(self, path, source, cache):
        """The hypervisors' records, from the cache when it is on, fresh and `cache` allows it."""
        key = self.get_cache_key(path)
        use_cache = self.get_option('cache')
        if use_cache and cache:
            try:
                return self._cache[key]
            except KeyError:
                pass
        records = query_hypervisors(source['targets'], self.get_option('virtual_servers'), self.get_option('workers'),
                                    self.get_option('connect_timeout'))
        if use_cache:
            self._cache[key] = records
        return records

    def _populate(self, records, discovered):
        strict = self.get_option('strict')
        unreachable = [r for r in records if r['error']]
        if unreachable and strict:
            raise AnsibleParserError('cannot query %s' % '; '.join('%s (%s): %s' % (r['name'], r['uri'], r['error'])
                                                                   for r in unreachable))
        kept = []
        for record in records:
            variables = hypervisor_vars(record)
            if record['error'] or self._keep(variables):
                kept.append(record)
                self._add_host(record['name'], variables, hypervisor_groups(record))
        for registration in discovered:
            self._add_host(registration['name'], {PREFIX + 'registration': registration}, ['discovered'])
        self._add_servers(kept, host_names(records, discovered))

    def _keep(self, variables):
        try:
            return keep_hypervisor(variables, self.get_option('filters'))
        except VirtualIronError as e:
            raise AnsibleParserError('filters: %s' % e)

    def _add_servers(self, records, taken):
        placed, warnings = place_servers(records, taken)
        for warning in warnings:
            self.display.warning(warning)
        if placed:
            self.inventory.add_group('virtual_servers')
        for name, record, server in placed:
            group = server_group(record['name'])
            self.inventory.add_group(group)
            self.inventory.add_child('virtual_servers', group)
            variables = server_vars(server, record['name'], record['uri'], self.get_option('server_variables'))
            self._add_host(name, variables, [group])

    def _add_host(self, name, variables, groups):
        # Every value comes from registrations or libvirt, that is from outside: ansible-core before 2.19
        # would run a template in it (in compose and groups here, or wherever a play reads the variable).
        if not DATA_TAGGING:  # 2.19 and later trust no value a plugin sets but those of its file (see _source)
            variables = wrap_var(variables)
        self.inventory.add_host(name)
        for group in groups:
            self.inventory.add_group(group)
            self.inventory.add_child(group, name)
        for key, value in variables.items():
            self.inventory.set_variable(name, key, value)
        strict = self.get_option('strict')
        self._set_composite_vars(self.get_option('compose'), variables, name, strict=strict)
        self._add_host_to_composed_groups(self.get_option('groups'), variables, name, strict=strict)
        self._add_host_to_keyed_groups(self.get_option('keyed_groups'), variables, name, strict=strict)
