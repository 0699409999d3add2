# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Raw host block devices in server_xml: SCSI pass-through (device lun on virtio-scsi) and raw block disks.

The lab cannot run a LUN pass-through (a loop device does not answer SCSI commands: QEMU's scsi-block
refuses it with "cannot get SG_IO version number"), so the XML is pinned here, element by element.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest
from lxml import etree

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.server.definition import (
    build_server_xml, comparable, desired_server, update_server_xml)
from ansible_collections.virtualiron.infra.plugins.module_utils.server.domain_xml import parse_server
from ansible_collections.virtualiron.infra.plugins.module_utils.server.converger import server_request

BOOT = {'path': '/var/lib/libvirt/images/web1.raw'}
LUN = {'path': '/dev/disk/by-id/scsi-36001405d27e5d898829468b90ce4ef8c', 'device': 'lun'}
MULTIPATH = {'path': '/dev/mapper/mpatha', 'device': 'lun'}
RAW_BLOCK = {'path': '/dev/loop7'}


@pytest.fixture
def spec_for(params):
    def build(current=None, **options):
        request = server_request(params(name='db1', **options))
        return desired_server(dict(request, hypervisor='kvm'), current, 'kvm')
    return build


def tree(xml):
    return etree.fromstring(xml.encode(), etree.XMLParser(remove_blank_text=True))


def disk_xml(root, path):
    """One disk element as canonical text, without libvirt's addresses, to compare whole elements."""
    disk = next(d for d in root.findall('devices/disk') if d.find('source').get('dev') == path)
    return etree.tostring(disk, encoding='unicode')


def scsi_controllers(root):
    return [dict(c.attrib) for c in root.findall("devices/controller[@type='scsi']")]


def test_lun_is_a_block_device_passed_through_on_scsi(spec_for):
    root = tree(build_server_xml(spec_for(disks=[BOOT, LUN]), 'x86_64'))
    assert disk_xml(root, LUN['path']) == (
        '<disk type="block" device="lun">'
        '<driver name="qemu" type="raw" cache="none"/>'
        '<source dev="%s"/>'
        '<target dev="sda" bus="scsi"/>'
        '</disk>' % LUN['path'])
    # virtio-scsi, not libvirt's default emulated LSI controller: it passes SCSI commands through
    assert scsi_controllers(root) == [{'type': 'scsi', 'model': 'virtio-scsi'}]


def test_raw_block_disk_is_type_block_on_virtio_without_a_scsi_controller(spec_for):
    root = tree(build_server_xml(spec_for(disks=[BOOT, RAW_BLOCK]), 'x86_64'))
    assert disk_xml(root, RAW_BLOCK['path']) == (
        '<disk type="block" device="disk">'
        '<driver name="qemu" type="raw" cache="none"/>'
        '<source dev="/dev/loop7"/>'
        '<target dev="vdb" bus="virtio"/>'
        '</disk>')
    assert scsi_controllers(root) == []


def test_several_luns_share_one_controller_with_their_own_targets(spec_for):
    root = tree(build_server_xml(spec_for(disks=[BOOT, LUN, MULTIPATH], cdrom='/isos/install.iso'), 'x86_64'))
    targets = dict((d.get('device') + ':' + (d.find('source').get('dev') or d.find('source').get('file')),
                    d.find('target').get('dev')) for d in root.findall('devices/disk'))
    assert targets == {'disk:' + BOOT['path']: 'vda', 'lun:' + LUN['path']: 'sda',
                       'lun:' + MULTIPATH['path']: 'sdb', 'cdrom:/isos/install.iso': 'sdc'}
    assert len(scsi_controllers(root)) == 1


def test_lun_reads_back_as_the_same_disk(spec_for):
    spec = spec_for(disks=[BOOT, LUN])
    parsed = parse_server(build_server_xml(spec, 'x86_64'))
    wanted = {'device': 'lun', 'path': LUN['path'], 'pool': None, 'volume': None,
              'format': 'raw', 'bus': 'scsi', 'cache': 'none', 'target': 'sda'}
    assert dict((k, parsed['disks'][1][k]) for k in wanted) == wanted
    # so a second run with the same options changes nothing
    again = spec_for(current=parsed, disks=[BOOT, LUN])
    assert comparable(again)['disks'] == comparable(parsed)['disks']


def test_adding_a_lun_to_an_existing_server_adds_one_controller(domain_xml, current, spec_for):
    disks = [{'path': d['path'], 'format': d['format'], 'device': d['device']}
             for d in current['disks'] if d['device'] != 'cdrom']
    root = tree(update_server_xml(domain_xml, spec_for(current=current, disks=disks + [LUN])))
    assert scsi_controllers(root) == [{'type': 'scsi', 'model': 'virtio-scsi'}]
    twice = tree(update_server_xml(etree.tostring(root, encoding='unicode'),
                                   spec_for(current=current, disks=disks + [LUN, MULTIPATH])))
    assert len(scsi_controllers(twice)) == 1
    assert [d.get('device') for d in twice.findall('devices/disk')].count('lun') == 2


def test_an_existing_scsi_controller_is_kept(spec_for):
    with_lsi = build_server_xml(spec_for(disks=[BOOT]), 'x86_64').replace(
        '</devices>', "<controller type='scsi' index='0' model='lsilogic'/></devices>")
    root = tree(update_server_xml(with_lsi, spec_for(current=parse_server(with_lsi), disks=[BOOT, LUN])))
    assert scsi_controllers(root) == [{'type': 'scsi', 'index': '0', 'model': 'lsilogic'}]


@pytest.mark.parametrize('disk, message', [
    ({'path': '/var/lib/libvirt/images/a.raw', 'device': 'lun'}, 'its path must be under /dev'),
    ({'pool': 'default', 'volume': 'a.raw', 'device': 'lun'}, 'its path must be under /dev'),
    ({'path': '/dev/sdb', 'device': 'lun', 'bus': 'sata'}, "a lun disk is passed through raw on bus scsi"),
    ({'path': '/dev/sdb', 'device': 'lun', 'format': 'qcow2'}, "got bus 'scsi' and format 'qcow2'"),
])
def test_lun_refusals(spec_for, disk, message):
    with pytest.raises(VirtualIronError, match=message):
        spec_for(disks=[BOOT, disk])
