# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A virtual switch's definition in the user's words, and its libvirt network XML.

The modes map to libvirt networks like this:
- isolated: no <forward>; an address (and libvirt's dnsmasq) only when the switch serves DHCP, with DNS
  off, so servers get a lease and otherwise reach only each other;
- private: no <forward>; the host has an address, dnsmasq serves DHCP and DNS;
- nat: <forward mode='nat'>, with address, DHCP and DNS;
- bridged: <forward mode='bridge'> over a Linux bridge that enslaves the uplinks (through a bond when there
  are several). Either the host provides that bridge (found and checked here, never changed), or the switch
  has a bridge of its own: its uplinks, bond and MTU are then in the network's metadata, and the collection's
  network hook on the host (hook.py) makes the bridge when libvirt starts the switch and removes it
  when libvirt stops it. libvirt itself cannot make bridges or bonds where its interface driver is read-only
  (the udev backend of Debian and RHEL 9).

`parse_switch` reads network XML into a spec, `desired_switch` merges a request over it (checking it),
`update_switch_xml` edits existing XML to a spec keeping what it does not manage (UUID, MAC, TFTP and
boot options, DNS entries). Everything here is pure: no libvirt connection.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import ipaddress
import re

from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.common.libvirt_xml import etree, parse_xml, sub_element, to_string
from ansible_collections.virtualiron.infra.plugins.module_utils.server.definition import MAC_RE
from ansible_collections.virtualiron.infra.plugins.module_utils.switch.hook import (
    MAX_UPLINKS, SWITCH_NS, HookError, read_own_bridge)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.validation import (
    check_host_name, check_interface_name, check_object_name, check_subnet)

MODES = ('isolated', 'private', 'bridged', 'nat')
ADDRESSED_MODES = ('private', 'nat')   # these always have a subnet
IFNAME_MAX = 15   # Linux interface names
_LIBVIRT_FORWARD = {'bridged': 'bridge', 'nat': 'nat'}
# What a bridged network must not have: libvirt refuses them with forward mode bridge.
_NOT_FOR_BRIDGED = ('ip', 'dns', 'mac', 'domain')
_TAP_RE = re.compile(r'vnet[0-9]+')


# ---------------------------------------------------------------- parsing

def _ipv4(root):
    """The network's IPv4 <ip> element (libvirt omits family for IPv4), or None."""
    for ip in root.findall('ip'):
        if ip.get('family', 'ipv4') == 'ipv4':
            return ip
    return None


def _prefix(ip):
    if ip.get('prefix'):
        return int(ip.get('prefix'))
    return ipaddress.IPv4Network('0.0.0.0/%s' % ip.get('netmask', '255.255.255.0')).prefixlen


def _mode(root, ip):
    forward = root.find('forward')
    if forward is not None:
        kind = forward.get('mode', 'nat')
        return {v: k for k, v in _LIBVIRT_FORWARD.items()}.get(kind, kind)  # route, open...: libvirt's word
    dns = root.find('dns')
    dns_off = dns is not None and dns.get('enable') == 'no'
    return 'private' if ip is not None and not dns_off else 'isolated'


def _parse_addressing(ip):
    if ip is None:
        return {'subnet': None, 'address': None, 'dhcp': False, 'dhcp_range': None, 'dhcp_hosts': []}
    interface = ipaddress.IPv4Interface('%s/%d' % (ip.get('address'), _prefix(ip)))
    dhcp = ip.find('dhcp')
    ranges = dhcp.findall('range') if dhcp is not None else []
    return {
        'subnet': str(interface.network),
        'address': str(interface.ip),
        'dhcp': dhcp is not None,
        'dhcp_range': {'start': ranges[0].get('start'), 'end': ranges[0].get('end')} if ranges else None,
        'dhcp_hosts': [{'mac': h.get('mac').lower(), 'ip': h.get('ip'), 'name': h.get('name')}
                       for h in (dhcp.findall('host') if dhcp is not None else []) if h.get('mac')],
    }


def parse_switch(xml):
    """Network XML -> spec. The uplinks of a bridged switch on a bridge the host provides are not in the
    network's XML: that bridge holds them (see bridge_uplinks), so they are [] here."""
    root = parse_xml(xml)
    ip = _ipv4(root)
    mode = _mode(root, ip)
    bridge = root.find('bridge')
    mtu = root.find('mtu')
    spec = {
        'name': root.findtext('name'),
        'uuid': root.findtext('uuid'),
        'mode': mode,
        'bridge': bridge.get('name') if bridge is not None else None,
        'host_bridge': None,
        'uplinks': [],
        'bond': None,
        'mtu': int(mtu.get('size')) if mtu is not None else None,
    }
    if mode == 'bridged':
        own = root.find('metadata/{%s}switch' % SWITCH_NS)
        spec['host_bridge'] = own is None
        if own is not None:
            try:
                spec.update(read_own_bridge(own))
            except HookError as e:
                raise VirtualIronError('switch %s: %s' % (spec['name'], e))
    spec.update(_parse_addressing(ip))
    return spec


# ---------------------------------------------------------------- desired state

def _new_switch(name, mode):
    return {'name': name, 'uuid': None, 'mode': mode, 'bridge': None, 'host_bridge': None, 'uplinks': [],
            'bond': None, 'mtu': None, 'subnet': None, 'address': None, 'dhcp': False, 'dhcp_range': None,
            'dhcp_hosts': []}


def desired_switch(request, current):
    """Merge a request (options the user set; None = not set) over the current spec, or over a new switch's
    defaults. Raises VirtualIronError on bad input."""
    check_object_name(request['name'], 'virtual switch')
    mode = request.get('mode') or (current or {}).get('mode')
    if mode is None:
        raise VirtualIronError('switch %s does not exist yet: say its mode (%s) to create it'
                               % (request['name'], ', '.join(MODES)))
    if mode not in MODES:
        raise VirtualIronError('unknown switch mode %r; use one of %s' % (mode, ', '.join(MODES)))
    # Addressing carries over between the modes that have it; bridged has none, so to or from it starts afresh.
    keep = current is not None and (current['mode'] == mode or 'bridged' not in (current['mode'], mode))
    spec = copy.deepcopy(current) if keep else _new_switch(request['name'], mode)
    spec['mode'] = mode
    for key in ('bridge', 'mtu', 'uplinks'):
        if request.get(key) is not None:
            spec[key] = request[key]
    if mode == 'bridged' and request.get('uplinks') is not None and request.get('bridge') is None:
        spec['bridge'] = None   # new uplinks: find the bridge that stands on them
    if mode == 'bridged':
        _check_bridged(spec, request)
    else:
        _merge_addressing(spec, request)
    _check_common(spec)
    return spec


def _check_common(spec):
    if spec['bridge'] is not None:
        check_interface_name(spec['bridge'], 'bridge')
    if spec['mtu'] is not None and not 68 <= spec['mtu'] <= 65535:
        raise VirtualIronError('mtu must be between 68 and 65535, got %d' % spec['mtu'])


def _check_bridged(spec, request):
    given = [k for k in ('subnet', 'dhcp_range', 'dhcp_hosts') if request.get(k)] + \
        (['dhcp'] if request.get('dhcp') else [])
    if given:
        raise VirtualIronError(
            'a bridged switch has no addresses of its own: its servers take theirs from the physical LAN '
            '(libvirt runs no DHCP server on a host bridge); drop %s' % ', '.join(given))
    uplinks = spec['uplinks']
    if not 1 <= len(uplinks) <= MAX_UPLINKS:
        raise VirtualIronError('a bridged switch needs 1 to %d uplinks (host NICs), got %d'
                               % (MAX_UPLINKS, len(uplinks)))
    for uplink in uplinks:
        if _TAP_RE.fullmatch(check_interface_name(uplink, 'uplink')):
            raise VirtualIronError('uplink %s is a name libvirt gives a server\'s NIC, not a host NIC' % uplink)
    if len(set(uplinks)) != len(uplinks):
        raise VirtualIronError('uplinks lists a NIC more than once: %s' % ', '.join(uplinks))


def _merge_addressing(spec, request):
    if request.get('uplinks'):
        raise VirtualIronError('only a bridged switch has uplinks; a %s switch has none' % spec['mode'])
    subnet_changed = request.get('subnet') is not None and _host_interface(request['subnet']) != \
        _current_interface(spec)
    if request.get('subnet') is not None:
        interface = _host_interface(request['subnet'])
        spec['subnet'], spec['address'] = str(interface.network), str(interface.ip)
    if spec['subnet'] is None and spec['mode'] in ADDRESSED_MODES:
        raise VirtualIronError('a %s switch needs a subnet, for example 192.168.100.0/24' % spec['mode'])
    if request.get('dhcp') is not None:
        spec['dhcp'] = request['dhcp']
    elif request.get('dhcp_range') or request.get('dhcp_hosts'):
        spec['dhcp'] = True
    elif spec['uuid'] is None:   # a new switch: private and NAT switches serve DHCP unless told not to
        spec['dhcp'] = spec['mode'] in ADDRESSED_MODES
    if spec['dhcp'] and spec['subnet'] is None:
        raise VirtualIronError('DHCP on a switch needs a subnet for the host address the DHCP server answers '
                               'from, for example subnet: 192.168.100.0/24')
    _merge_dhcp(spec, request, subnet_changed)


def _merge_dhcp(spec, request, subnet_changed):
    if not spec['dhcp']:
        spec['dhcp_range'], spec['dhcp_hosts'] = None, []
        return
    if request.get('dhcp_range') is not None:
        spec['dhcp_range'] = dict(start=request['dhcp_range']['start'], end=request['dhcp_range']['end'])
    elif subnet_changed or spec['dhcp_range'] is None:
        spec['dhcp_range'] = default_dhcp_range(spec['subnet'], spec['address'])
    if request.get('dhcp_hosts') is not None:
        spec['dhcp_hosts'] = [dict(mac=str(h['mac']).lower(), ip=h['ip'], name=h.get('name') or None)
                              for h in request['dhcp_hosts']]
    check_dhcp(spec)


def _host_interface(subnet):
    """'10.1.2.0/24' -> the first host address on it; '10.1.2.9/24' -> that address."""
    network = check_subnet(subnet, 'subnet')
    if network.version != 4:
        raise VirtualIronError('subnet %s: only IPv4 subnets are supported' % subnet)
    interface = ipaddress.ip_interface(subnet)
    if interface.ip == network.network_address:
        return ipaddress.IPv4Interface('%s/%d' % (next(network.hosts()), network.prefixlen))
    if interface.ip == network.broadcast_address:
        raise VirtualIronError('subnet %s: the host address cannot be the broadcast address' % subnet)
    return interface


def _current_interface(spec):
    if spec['subnet'] is None:
        return None
    return ipaddress.IPv4Interface('%s/%s' % (spec['address'], spec['subnet'].split('/')[1]))


def default_dhcp_range(subnet, address=None):
    """The upper half of the subnet's host addresses, leaving the lower half for static addresses; the lower
    half instead when the host's own address is in the upper one."""
    network = ipaddress.IPv4Network(subnet)
    first, last = int(network.network_address) + 1, int(network.broadcast_address) - 1
    middle = first + (last - first + 1) // 2
    start, end = middle, last
    if address is not None and middle <= int(ipaddress.IPv4Address(address)) <= last:
        start, end = first, middle - 1
    return {'start': str(ipaddress.IPv4Address(start)), 'end': str(ipaddress.IPv4Address(end))}


def _address_in(value, network, what):
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError:
        raise VirtualIronError('%s: %r is not an IPv4 address' % (what, value))
    if address not in network or address in (network.network_address, network.broadcast_address):
        raise VirtualIronError('%s: %s is not a host address of subnet %s' % (what, value, network))
    return address


def check_dhcp(spec):
    """The DHCP range and static hosts fit the subnet, and leave the host's own address alone."""
    network = ipaddress.IPv4Network(spec['subnet'])
    own = ipaddress.IPv4Address(spec['address'])
    start = _address_in(spec['dhcp_range']['start'], network, 'dhcp_range start')
    end = _address_in(spec['dhcp_range']['end'], network, 'dhcp_range end')
    if start > end:
        raise VirtualIronError('dhcp_range starts at %s, after its end %s' % (start, end))
    if start <= own <= end:
        raise VirtualIronError('dhcp_range %s-%s includes the host\'s own address %s on the switch' % (start, end, own))
    macs, ips = set(), set()
    for host in spec['dhcp_hosts']:
        if not MAC_RE.fullmatch(host['mac']):
            raise VirtualIronError('dhcp_hosts: invalid MAC address %r: write six hex pairs like 52:54:00:12:34:56'
                                   % host['mac'])
        ip = _address_in(host['ip'], network, 'dhcp_hosts %s' % host['mac'])
        if ip == own:
            raise VirtualIronError('dhcp_hosts %s: %s is the host\'s own address on the switch' % (host['mac'], ip))
        if host['name'] is not None:
            check_host_name(host['name'], 'dhcp_hosts %s name' % host['mac'])
        if host['mac'] in macs or ip in ips:
            raise VirtualIronError('dhcp_hosts lists MAC %s or address %s twice' % (host['mac'], ip))
        macs.add(host['mac'])
        ips.add(ip)


def bridge_user(spec, others):
    """The name of another switch (of others' specs) on spec's bridge, or None. Switches share only a bridge
    the host provides; any other bridge is one switch's, made and removed with it (by libvirt or the hook)."""
    for other in others:
        if other['name'] != spec['name'] and spec['bridge'] and other['bridge'] == spec['bridge'] and \
                not (spec['host_bridge'] and other['host_bridge']):
            return other['name']
    return None


def overlapping_switch(spec, others):
    """The first (name, subnet) of others whose subnet overlaps the spec's, or None."""
    if spec['subnet'] is None:
        return None
    mine = ipaddress.IPv4Network(spec['subnet'])
    for name, subnet in others:
        if name != spec['name'] and subnet and mine.overlaps(ipaddress.IPv4Network(subnet)):
            return name, subnet
    return None


# ---------------------------------------------------------------- the host's bridges

def parse_interface_tree(xml):
    """libvirt interface XML -> {'name', 'type', 'members': [parsed members]} (bridge ports, bond slaves)."""
    root = parse_xml(xml) if not hasattr(xml, 'tag') else xml
    holder = root.find(root.get('type') or '') if root.get('type') in ('bridge', 'bond') else None
    return {'name': root.get('name'), 'type': root.get('type'),
            'members': [parse_interface_tree(m) for m in holder.findall('interface')] if holder is not None else []}


def bridge_uplinks(bridge):
    """The host NICs a parsed bridge stands on: the slaves of its bond, or its own ethernet ports except the
    tap devices libvirt makes for servers (always named vnetN)."""
    bonds = [m for m in bridge['members'] if m['type'] == 'bond']
    if bonds:
        return sorted(s['name'] for s in bonds[0]['members'])
    return sorted(m['name'] for m in bridge['members'] if m['type'] == 'ethernet' and not _TAP_RE.fullmatch(m['name']))


def find_bridge(interfaces, uplinks):
    """The name of the host bridge (among parsed interfaces) that carries exactly these uplinks: the one
    uplink as a port, or several through one bond whose slaves they are. None if there is none."""
    wanted = sorted(uplinks)
    for interface in interfaces:
        if interface['type'] != 'bridge':
            continue
        bonds = [m for m in interface['members'] if m['type'] == 'bond']
        if len(wanted) > 1 and any(sorted(s['name'] for s in b['members']) == wanted for b in bonds):
            return interface['name']
        if len(wanted) == 1 and wanted[0] in [m['name'] for m in interface['members']]:
            return interface['name']
    return None


def choose_bridge(spec, interfaces, current, others):
    """Decide what a bridged switch stands on, setting spec's bridge, host_bridge and bond:
    - a bridge the host provides over exactly its uplinks (found, or named in spec's bridge);
    - else a bridge of its own, which the collection's network hook makes when the switch starts: named in
      spec's bridge or br-<first uplink>, over the bond bond-<first uplink> when there are several uplinks.
    interfaces: the host's (parse_interface_tree); current: the switch's spec now, or None; others: the specs of
    the host's other switches. Raises VirtualIronError when neither can be."""
    by_name = interfaces_by_name(interfaces)
    missing = [u for u in spec['uplinks'] if u not in by_name]
    if missing:
        raise VirtualIronError('uplink %s does not exist on the host (its interfaces: %s)'
                               % (', '.join(missing), ', '.join(sorted(n for n in by_name if not _TAP_RE.fullmatch(n)))))
    for other in others:
        shared = sorted(set(spec['uplinks']) & set(other['uplinks'])) if other['host_bridge'] is False else []
        if other['name'] != spec['name'] and shared:
            raise VirtualIronError('uplink %s is taken by switch %s, which has its own bridge on it'
                                   % (', '.join(shared), other['name']))
    ours = set([current['bridge'], current['bond']]) if current and current['host_bridge'] is False else set()
    found = find_bridge(interfaces, spec['uplinks'])
    if found is not None and found not in ours and spec['bridge'] in (None, found):
        if spec['mtu'] is not None:
            raise VirtualIronError('bridge %s is the host\'s: the host sets its MTU, not the switch; drop mtu' % found)
        spec.update(bridge=found, host_bridge=True, bond=None)
        return spec
    first = spec['uplinks'][0]
    default = current['bridge'] if ours else ('br-' + first)[:IFNAME_MAX]   # a left-out bridge keeps its name
    spec.update(bridge=spec['bridge'] or default, host_bridge=False,
                bond=('bond-' + first)[:IFNAME_MAX] if len(spec['uplinks']) > 1 else None)
    _check_free(spec, by_name, ours)
    return spec


def interfaces_by_name(interfaces):
    """Every interface of the host by name, the ports of bridges and slaves of bonds included."""
    by_name = {}
    for interface in interfaces:
        for one in [interface] + list(_all_members(interface)):
            by_name.setdefault(one['name'], one)
    return by_name


def _check_free(spec, by_name, ours):
    """The names of the switch's own bridge and bond are free, and its uplinks are NICs in no other bridge
    or bond (ours: the switch's current bridge and bond)."""
    for name in (spec['bridge'], spec['bond']):
        if name in by_name and name not in ours:
            raise VirtualIronError(
                '%s is already an interface of the host, and not one over %s: name a new bridge for the switch to '
                'make (bridge), or name the host\'s bridge over its uplinks' % (name, ', '.join(spec['uplinks'])))
    masters = dict((m['name'], i['name']) for i in by_name.values() if i['type'] in ('bridge', 'bond')
                   for m in i['members'])
    for uplink in spec['uplinks']:
        if by_name[uplink]['type'] in ('bridge', 'bond'):
            raise VirtualIronError('uplink %s is a %s, not a NIC' % (uplink, by_name[uplink]['type']))
        if masters.get(uplink) not in (None,) + tuple(ours):
            raise VirtualIronError('uplink %s is a port of %s on the host; a NIC can be in one bridge only'
                                   % (uplink, masters[uplink]))


def _all_members(interface):
    for member in interface['members']:
        yield member
        yield from _all_members(member)


# ---------------------------------------------------------------- writing XML

def _replace(root, tag, element, after=('name', 'uuid', 'metadata')):
    """Put element (or nothing) where tag belongs: in place of the old one, else after the header elements."""
    old = root.find(tag)
    if old is not None:
        if element is not None:
            old.addprevious(element)
        root.remove(old)
        return
    if element is None:
        return
    anchors = [root.find(a) for a in after if root.find(a) is not None]
    if anchors:
        anchors[-1].addnext(element)
    else:
        root.insert(0, element)


def _apply_forward(root, spec):
    old = root.find('forward')
    wanted = _LIBVIRT_FORWARD.get(spec['mode'])
    if old is not None and old.get('mode', 'nat') == wanted:
        return   # keep libvirt's details (NAT port range, addresses)
    _replace(root, 'forward', etree.Element('forward', mode=wanted) if wanted else None)


def _apply_bridge(root, spec):
    bridge = root.find('bridge')
    if spec['mode'] == 'bridged':
        _replace(root, 'bridge', etree.Element('bridge', name=spec['bridge']), after=('name', 'uuid', 'forward'))
    elif spec['bridge']:
        if bridge is None:
            bridge = etree.Element('bridge')
            _replace(root, 'bridge', bridge, after=('name', 'uuid', 'forward'))
        bridge.set('name', spec['bridge'])
    elif bridge is not None and bridge.get('name') is None:
        root.remove(bridge)


def _apply_mtu(root, spec):
    """libvirt takes no <mtu> on a bridged network: the bridge's MTU is the host's, or its metadata's."""
    element = etree.Element('mtu', size=str(spec['mtu'])) if spec['mtu'] and spec['mode'] != 'bridged' else None
    _replace(root, 'mtu', element, after=('name', 'uuid', 'forward', 'bridge'))


def _apply_own_bridge(root, spec):
    """The uplinks, bond and MTU of a switch's own bridge, in its metadata for the network hook."""
    metadata = root.find('metadata')
    old = metadata.find('{%s}switch' % SWITCH_NS) if metadata is not None else None
    if old is not None:
        metadata.remove(old)
    if spec['mode'] != 'bridged' or spec['host_bridge'] is not False:
        if metadata is not None and len(metadata) == 0:
            root.remove(metadata)
        return
    if metadata is None:
        metadata = etree.Element('metadata')
        _replace(root, 'metadata', metadata, after=('name', 'uuid'))
    own = etree.SubElement(metadata, '{%s}switch' % SWITCH_NS, nsmap={'virtualiron': SWITCH_NS})
    for uplink in spec['uplinks']:
        etree.SubElement(own, '{%s}uplink' % SWITCH_NS, dev=uplink)
    if spec['bond']:
        etree.SubElement(own, '{%s}bond' % SWITCH_NS, name=spec['bond'])
    if spec['mtu']:
        etree.SubElement(own, '{%s}mtu' % SWITCH_NS, size=str(spec['mtu']))


def _apply_dns(root, spec):
    dns = root.find('dns')
    if spec['mode'] == 'isolated' and spec['subnet']:
        if dns is None:
            dns = etree.Element('dns')
            _replace(root, 'dns', dns, after=('name', 'uuid', 'forward', 'bridge', 'mtu', 'mac', 'domain'))
        dns.set('enable', 'no')
    elif dns is not None and dns.get('enable') == 'no':
        del dns.attrib['enable']
        if len(dns) == 0 and not dns.attrib:
            root.remove(dns)


def _apply_ip(root, spec):
    ip = _ipv4(root)
    if spec['subnet'] is None:
        if ip is not None:
            root.remove(ip)
        return
    if ip is None:
        ip = sub_element(root, 'ip')
    ip.attrib.pop('netmask', None)
    ip.set('address', spec['address'])
    ip.set('prefix', spec['subnet'].split('/')[1])
    dhcp = ip.find('dhcp')
    if not spec['dhcp']:
        if dhcp is not None:
            ip.remove(dhcp)
        return
    if dhcp is None:
        dhcp = etree.Element('dhcp')
        ip.insert(0, dhcp)
    for old in dhcp.findall('range') + dhcp.findall('host'):
        dhcp.remove(old)
    first = dhcp[0] if len(dhcp) else None   # keep <bootp> after ranges and hosts
    for element in [etree.Element('range', start=spec['dhcp_range']['start'], end=spec['dhcp_range']['end'])] + \
            [dhcp_host_element(h) for h in spec['dhcp_hosts']]:
        if first is not None:
            first.addprevious(element)
        else:
            dhcp.append(element)


def dhcp_host_element(host):
    element = etree.Element('host', mac=host['mac'], ip=host['ip'])
    if host.get('name'):
        element.set('name', host['name'])
    return element


def update_switch_xml(xml, spec):
    """Network XML changed to match spec, keeping what the collection does not manage."""
    root = parse_xml(xml)
    _apply_own_bridge(root, spec)
    _apply_forward(root, spec)
    _apply_bridge(root, spec)
    _apply_mtu(root, spec)
    if spec['mode'] == 'bridged':
        for tag in _NOT_FOR_BRIDGED:
            for element in root.findall(tag):
                root.remove(element)
    else:
        _apply_dns(root, spec)
        _apply_ip(root, spec)
    return to_string(root)


def build_switch_xml(spec):
    """Network XML for a new switch."""
    root = etree.Element('network')
    sub_element(root, 'name').text = spec['name']
    return update_switch_xml(to_string(root), spec)


# ---------------------------------------------------------------- comparing and showing

def comparable(spec):
    """What defines a switch, for idempotence: not its UUID, and static hosts in any order. Not the uplinks
    of a bridge the host provides either: they choose that bridge, which is compared."""
    view = copy.deepcopy(spec)
    view.pop('uuid', None)
    if view.get('host_bridge'):
        view.pop('uplinks', None)
    view['dhcp_hosts'] = sorted(view['dhcp_hosts'], key=lambda h: h['mac'])
    return view


def dhcp_host_changes(current, desired):
    """(removed, added) static DHCP hosts, when they are all that differs; None when more differs."""
    if comparable(dict(current, dhcp_hosts=[])) != comparable(dict(desired, dhcp_hosts=[])):
        return None
    have = [h for h in current['dhcp_hosts'] if h not in desired['dhcp_hosts']]
    want = [h for h in desired['dhcp_hosts'] if h not in current['dhcp_hosts']]
    return have, want
