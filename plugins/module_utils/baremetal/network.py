# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The provisioning network: a libvirt network whose dnsmasq answers DHCP with a boot file and serves TFTP,
with <forward mode='open'/> (the host routes it without firewall rules of libvirt's).

virtual_switch has no open mode, TFTP root or boot file (see docs/bare-metal.md), hence this converger.
An IPv6 address on the network makes dnsmasq send router advertisements: iPXE, which otherwise waits
about 13 s for an IPv6 router before it boots, then goes on at once.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import libvirt, lookup_or_none
from ansible_collections.virtualiron.infra.plugins.module_utils.common.converger import Converger
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.common.libvirt_xml import etree
from ansible_collections.virtualiron.infra.plugins.module_utils.common.validation import (
    check_absolute_path, check_interface_name, check_ip_address, check_object_name)

SPEC_KEYS = ('bridge', 'address', 'prefix', 'dhcp_start', 'dhcp_end', 'tftp_root', 'boot_file', 'boot_server',
             'ipv6_address', 'ipv6_prefix')


def check_spec(params):
    """The network wanted by params, checked; keys SPEC_KEYS."""
    check_object_name(params['name'], 'network')
    check_interface_name(params['bridge'], 'bridge')
    for key in ('address', 'dhcp_start', 'dhcp_end'):
        check_ip_address(params[key], key, version=4)
    if params.get('ipv6_address'):
        check_ip_address(params['ipv6_address'], 'ipv6_address', version=6)
    check_absolute_path(params['tftp_root'], 'tftp_root')
    if not 8 <= params['prefix'] <= 30:
        raise VirtualIronError('prefix must be 8 to 30, got %d' % params['prefix'])
    spec = dict((k, params.get(k)) for k in SPEC_KEYS)
    spec['ipv6_prefix'] = spec['ipv6_prefix'] if spec['ipv6_address'] else None
    return spec


def network_xml(name, spec, uuid=None):
    """The libvirt network XML of spec."""
    root = etree.Element('network')
    etree.SubElement(root, 'name').text = name
    if uuid:
        etree.SubElement(root, 'uuid').text = uuid
    etree.SubElement(root, 'forward', mode='open')
    etree.SubElement(root, 'bridge', name=spec['bridge'], stp='off', delay='0')
    ip = etree.SubElement(root, 'ip', address=spec['address'], prefix=str(spec['prefix']))
    etree.SubElement(ip, 'tftp', root=spec['tftp_root'])
    dhcp = etree.SubElement(ip, 'dhcp')
    etree.SubElement(dhcp, 'range', start=spec['dhcp_start'], end=spec['dhcp_end'])
    bootp = etree.SubElement(dhcp, 'bootp', file=spec['boot_file'])
    if spec.get('boot_server'):
        bootp.set('server', spec['boot_server'])
    if spec.get('ipv6_address'):
        etree.SubElement(root, 'ip', family='ipv6', address=spec['ipv6_address'], prefix=str(spec['ipv6_prefix']))
    return etree.tostring(root, encoding='unicode')


def spec_of_xml(xml):
    """The SPEC_KEYS of a libvirt network's XML (None for what it does not have)."""
    root = etree.fromstring(xml)
    spec = dict.fromkeys(SPEC_KEYS)
    bridge = root.find('bridge')
    spec['bridge'] = bridge.get('name') if bridge is not None else None
    for ip in root.findall('ip'):
        if ip.get('family') == 'ipv6':
            spec['ipv6_address'], spec['ipv6_prefix'] = ip.get('address'), _int(ip.get('prefix'))
            continue
        spec['address'], spec['prefix'] = ip.get('address'), _int(ip.get('prefix'))
        spec['tftp_root'] = ip.find('tftp').get('root') if ip.find('tftp') is not None else None
        for key, path, attr in (('dhcp_start', 'dhcp/range', 'start'), ('dhcp_end', 'dhcp/range', 'end'),
                                ('boot_file', 'dhcp/bootp', 'file'), ('boot_server', 'dhcp/bootp', 'server')):
            element = ip.find(path)
            spec[key] = element.get(attr) if element is not None else None
    forward = root.find('forward')
    spec['open'] = forward is not None and forward.get('mode') == 'open'
    return spec


def _int(text):
    return int(text) if text and text.isdigit() else None


class PxeNetworkConverger(Converger):
    """The pxe_network module: the provisioning network defined, started and autostarted (or removed)."""

    result_key = 'network'

    def read(self):
        net = self._lookup()
        if net is None:
            return None
        return dict(spec_of_xml(net.XMLDesc(0)), name=self.params['name'], active=bool(net.isActive()),
                    autostart=bool(net.autostart()))

    def converge(self, before):
        net = self._lookup()
        if self.params['state'] == 'absent':
            if net is not None:
                self.act('exists', True, False, _remove, net)
            return None
        spec = check_spec(self.params)
        wanted = dict(spec, open=True)
        if net is None:
            net = self.act('exists', False, True, self.conn.networkDefineXML, network_xml(self.params['name'], spec))
        elif dict((k, before[k]) for k in wanted) != wanted:
            changed = dict((k, v) for k, v in wanted.items() if before.get(k) != v)
            net = self.act('definition', None, changed, self._redefine, net, spec, before['active'])
        if net is not None and not net.isActive():
            self.act('active', False, True, net.create)
        self.converge_autostart(net, True)
        return dict(wanted, name=self.params['name'], active=True, autostart=True)

    def _redefine(self, net, spec, active):
        """Define the new XML and restart the network, so that dnsmasq serves the new settings."""
        new = self.conn.networkDefineXML(network_xml(self.params['name'], spec, net.UUIDString()))
        if active:
            new.destroy()
        return new

    def _lookup(self):
        return lookup_or_none(self.conn.networkLookupByName, self.params['name'], libvirt.VIR_ERR_NO_NETWORK)


def _remove(net):
    if net.isActive():
        net.destroy()
    net.undefine()
