# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt's XML, read one way: parsing (hardened), size elements with units, and the host's capabilities.

`etree` is lxml's, or where lxml is missing a holder whose every use raises MissingLibraryError; the
collection's modules take it from here.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import traceback

from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import MissingLibrary, VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.common.units import unit_multiplier

try:
    from lxml import etree
except ImportError:
    etree = MissingLibrary('lxml', traceback.format_exc())


def parse_xml(text):
    """Parse XML from libvirt. It holds what others wrote (and libvirt has written unescaped attributes):
    no entities are expanded, and XML that cannot be read is a VirtualIronError, not a crash."""
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False)
    try:
        return etree.fromstring(text.encode('utf-8') if isinstance(text, str) else text, parser=parser)
    except etree.XMLSyntaxError as e:
        raise VirtualIronError('libvirt returned XML that cannot be read (%s); correct the definition with '
                               'virsh edit' % e)


def to_string(element):
    return etree.tostring(element, pretty_print=True, encoding='unicode')


def sub_element(parent, tag, text=None, **attrs):
    """A new child element; attributes that are None are left out, values become strings."""
    element = etree.SubElement(parent, tag, **dict((k, str(v)) for k, v in attrs.items() if v is not None))
    if text is not None:
        element.text = str(text)
    return element


def int_text(text, default=None):
    """An integer attribute or element text of libvirt's XML; default where it is missing or empty."""
    return int(text) if text not in (None, '') else default


def element_bytes(element, default_unit='KiB', default=None):
    """A libvirt size element (<memory unit='KiB'>N</memory>, <capacity unit='bytes'>N</capacity>) in bytes,
    honouring its unit attribute (default_unit where it has none); default where the element is missing."""
    if element is None:
        return default
    return int_text(element.text, 0) * unit_multiplier(element.get('unit') or default_unit)


# ---------------------------------------------------------------- the host's capabilities

def host_capabilities(conn):
    """The host's capabilities (virConnectGetCapabilities), parsed; read them with the functions below."""
    return parse_xml(conn.getCapabilities())


def capabilities_arch(caps):
    """The host CPU's architecture."""
    return caps.findtext('host/cpu/arch')


def capabilities_uuid(caps):
    """The host's UUID: two connections reach the same host when it is the same."""
    return caps.findtext('host/uuid')


def capabilities_guests(caps):
    """The guests the host can run: [{'os_type', 'arch', 'wordsize', 'emulator', 'domain_types',
    'machine_types'}]."""
    return [_guest(g) for g in caps.findall('guest')]


def _guest(guest):
    arch = guest.find('arch')
    return {
        'os_type': guest.findtext('os_type'),
        'arch': arch.get('name'),
        'wordsize': int_text(arch.findtext('wordsize')),
        'emulator': arch.findtext('emulator'),
        'domain_types': [d.get('type') for d in arch.findall('domain')],
        # Aliases ("pc", "q35") are machine types too; keep each name once, in libvirt's order.
        'machine_types': list(dict.fromkeys(m.text for m in arch.findall('machine'))),
    }


def hvm_domain_types(guests, arch):
    """Domain types offered for full virtualization (hvm) of architecture arch (the host's own), in libvirt's
    order; guests: capabilities_guests()."""
    return [t for g in guests if g['os_type'] == 'hvm' and g['arch'] == arch for t in g['domain_types']]
