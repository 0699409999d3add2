# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt_xml: the one parser, size elements, capabilities; errors: a missing library's holder."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.common import libvirt_xml
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import (
    MissingLibrary, MissingLibraryError, failure_details)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.common.libvirt_xml import (
    capabilities_arch, capabilities_guests, capabilities_uuid, element_bytes, hvm_domain_types, parse_xml)

CAPS = """<capabilities><host><uuid>5e4b1c3a-0000-4000-8000-000000000001</uuid><cpu><arch>x86_64</arch></cpu></host>
  <guest><os_type>hvm</os_type><arch name='i686'><domain type='qemu'/></arch></guest>
  <guest><os_type>hvm</os_type><arch name='x86_64'><wordsize>64</wordsize><domain type='qemu'/><domain type='kvm'/>
    <machine>pc</machine><machine>pc</machine></arch></guest>
  <guest><os_type>xen</os_type><arch name='x86_64'><domain type='xen'/></arch></guest>
</capabilities>"""


@pytest.mark.parametrize('xml, default_unit, expected', [
    ("<memory unit='KiB'>1024</memory>", 'KiB', 1024 ** 2),
    ("<memory>1024</memory>", 'KiB', 1024 ** 2),              # libvirt's memory unit when none is given
    ("<capacity unit='bytes'>4096</capacity>", 'KiB', 4096),
    ("<capacity>4096</capacity>", 'bytes', 4096),
    ("<capacity unit='G'>2</capacity>", 'bytes', 2 * 1024 ** 3),
    ("<memory unit='KiB'></memory>", 'KiB', 0),
])
def test_element_bytes(xml, default_unit, expected):
    assert element_bytes(parse_xml(xml), default_unit) == expected


def test_element_bytes_of_a_missing_element_is_the_default():
    assert (element_bytes(None), element_bytes(None, default=0)) == (None, 0)


def test_parse_xml_expands_no_entities_and_says_when_it_cannot_read():
    bomb = '<!DOCTYPE d [<!ENTITY e "expanded">]><domain><name>&e;</name></domain>'
    assert parse_xml(bomb).findtext('name') != 'expanded'
    with pytest.raises(VirtualIronError, match='cannot be read'):
        parse_xml('<domain><name>x</domain>')


def test_capabilities_accessors():
    caps = parse_xml(CAPS)
    guests = capabilities_guests(caps)
    assert (capabilities_arch(caps), capabilities_uuid(caps)) == ('x86_64', '5e4b1c3a-0000-4000-8000-000000000001')
    assert hvm_domain_types(guests, 'x86_64') == ['qemu', 'kvm']
    assert hvm_domain_types(guests, 'i686') == ['qemu']
    assert (guests[1]['wordsize'], guests[1]['machine_types']) == (64, ['pc'])


def test_a_missing_library_fails_clearly_with_its_traceback(monkeypatch):
    monkeypatch.setattr(libvirt_xml, 'etree', MissingLibrary('lxml', 'Traceback: no module named lxml'))
    with pytest.raises(MissingLibraryError, match='lxml') as raised:
        parse_xml('<domain/>')
    assert isinstance(raised.value, VirtualIronError)
    assert failure_details(raised.value) == {'exception': 'Traceback: no module named lxml'}
    assert failure_details(VirtualIronError('plain')) == {}
    detailed = VirtualIronError('server b: refused')
    detailed.details = {'results': [{'name': 'a', 'changed': True}]}
    assert failure_details(detailed) == {'results': [{'name': 'a', 'changed': True}]}
