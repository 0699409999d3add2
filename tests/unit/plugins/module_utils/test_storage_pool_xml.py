# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_pool_xml: pool specs from options, their XML both ways, and how an existing pool differs."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest
from lxml import etree

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.storage.pool_xml import (
    build_pool_xml, check_pool_directory, definition_conflicts, desired_pool, parse_pool_xml, requested_pool)

# A dir pool as libvirt 9.0 returns it.
LIBVIRT_DIR_POOL = """<pool type='dir'>
  <name>images</name>
  <uuid>55e24b5b-8f09-4afa-acc4-203074c2909b</uuid>
  <capacity unit='bytes'>107374182400</capacity>
  <allocation unit='bytes'>1024</allocation>
  <available unit='bytes'>107374181376</available>
  <source>
  </source>
  <target>
    <path>/srv/images/</path>
    <permissions><mode>0711</mode><owner>0</owner><group>0</group></permissions>
  </target>
</pool>"""


def test_dir_pool_spec_and_xml():
    spec = desired_pool('images', None, '/srv/images/', None, None)
    assert spec == {'name': 'images', 'type': 'dir', 'path': '/srv/images', 'volume_group': None, 'devices': []}
    root = etree.fromstring(build_pool_xml(spec))
    assert (root.get('type'), root.findtext('name'), root.findtext('target/path')) == ('dir', 'images', '/srv/images')
    assert root.find('source') is None


def test_logical_pool_spec_and_xml():
    spec = desired_pool('vmdisks', 'logical', None, None, ['/dev/sdb', '/dev/sdc'])
    assert spec == {'name': 'vmdisks', 'type': 'logical', 'path': '/dev/vmdisks', 'volume_group': 'vmdisks',
                    'devices': ['/dev/sdb', '/dev/sdc']}
    root = etree.fromstring(build_pool_xml(spec))
    assert [d.get('path') for d in root.findall('source/device')] == ['/dev/sdb', '/dev/sdc']
    assert (root.findtext('source/name'), root.find('source/format').get('type')) == ('vmdisks', 'lvm2')
    assert root.findtext('target/path') == '/dev/vmdisks'


@pytest.mark.parametrize('device, message', [
    ('/var/lib/libvirt/images/web1.raw', 'is not a device'),      # libvirt zeroed its first MiB
    ('/etc/passwd', 'is not a device'),
    ('/dev/shm/data', 'is not a device'),
    ('/dev', 'is not a device'),
    ('sdb', 'must be an absolute path'),
    ('/dev/../etc/passwd', 'must be an absolute path'),
    ('/dev//sdb', 'must be an absolute path'),
    ('/dev/sdb\n', 'must not contain control characters'),
])
def test_logical_pools_are_built_on_devices_only(device, message):
    with pytest.raises(VirtualIronError, match='storage pool vmdisks device .*' + message):
        desired_pool('vmdisks', 'logical', None, None, ['/dev/sdb', device])


def test_built_xml_parses_back_to_the_spec():
    for spec in (desired_pool('images', 'dir', '/srv/images', None, None),
                 desired_pool('pool1', 'logical', '/dev/vg1', 'vg1', ['/dev/sdb'])):
        parsed = parse_pool_xml(build_pool_xml(spec))
        assert dict((k, parsed[k]) for k in spec) == spec


def test_parse_libvirt_pool_with_sizes():
    parsed = parse_pool_xml(LIBVIRT_DIR_POOL)
    assert parsed == {'name': 'images', 'type': 'dir', 'path': '/srv/images', 'volume_group': None, 'devices': [],
                      'capacity': 107374182400, 'allocation': 1024, 'available': 107374181376}


@pytest.mark.parametrize('args, message', [
    (('images', 'dir', None, None, None), 'needs a path'),
    (('images', 'dir', 'relative/dir', None, None), 'must be an absolute path'),
    (('images', 'dir', '/srv/../etc/images', None, None), 'must be an absolute path without "." or ".." parts'),
    (('images', 'dir', '/srv/images', 'vg', None), 'for logical pools only'),
    (('images', 'dir', '/srv/images', None, ['/dev/sdb']), 'for logical pools only'),
    (('vmdisks', 'logical', '/srv/images', None, None), 'has its volumes in /dev/vmdisks'),
    (('vmdisks', 'logical', None, 'bad/vg', None), 'invalid volume group name'),
    (('bad/name', 'dir', '/srv', None, None), 'invalid storage pool name'),
    (('images', 'iscsi', '/srv', None, None), 'unknown storage pool type'),
])
def test_desired_pool_refuses(args, message):
    with pytest.raises(VirtualIronError, match=message):
        desired_pool(*args)


def test_conflicts_only_for_what_the_user_set():
    current = parse_pool_xml(LIBVIRT_DIR_POOL)
    assert definition_conflicts(current, requested_pool(None, None, None, None)) == []
    assert definition_conflicts(current, requested_pool('dir', '/srv/images/', None, None)) == []
    assert definition_conflicts(current, requested_pool('logical', '/srv/other', None, None)) == [
        'type: dir, not logical', 'path: /srv/images, not /srv/other']


def test_logical_devices_compared_only_when_libvirt_lists_them():
    built = parse_pool_xml(build_pool_xml(desired_pool('vg1', 'logical', None, None, ['/dev/sdb', '/dev/sdc'])))
    adopted = dict(built, devices=[])
    assert definition_conflicts(built, requested_pool(None, None, None, ['/dev/sdc', '/dev/sdb'])) == []
    assert definition_conflicts(built, requested_pool(None, None, None, ['/dev/sdd'])) == [
        "devices: ['/dev/sdb', '/dev/sdc'], not ['/dev/sdd']"]
    assert definition_conflicts(adopted, requested_pool(None, None, 'vg1', ['/dev/sdd'])) == []
    assert definition_conflicts(adopted, requested_pool(None, None, 'vg2', None)) == ['volume group: vg1, not vg2']


@pytest.mark.parametrize('path', ['/', '/etc', '/etc/libvirt', '/usr', '/bin', '/boot', '/dev', '/dev/shm', '/proc',
                                  '/sys', '/run', '/run/user', '/var', '/var/lib', '/root', '/home', '/tmp', '//'])
def test_system_directories_are_not_pool_directories(path):
    with pytest.raises(VirtualIronError, match='is a system directory'):
        check_pool_directory(path, 'storage pool p')


def test_a_link_to_a_system_directory_is_refused_by_what_it_resolves_to(tmp_path):
    link = tmp_path / 'images'
    link.symlink_to('/etc')
    with pytest.raises(VirtualIronError, match='directory %s \\(/etc\\): it is a system directory' % link):
        check_pool_directory(str(link), 'storage pool p')


@pytest.mark.parametrize('path, normalized', [('/srv/images', '/srv/images'), ('/srv/images/', '/srv/images'),
                                              ('/var/lib/libvirt/images', '/var/lib/libvirt/images'),
                                              ('/home/vm/disks', '/home/vm/disks')])
def test_pool_directories_of_their_own_are_accepted(path, normalized):
    assert check_pool_directory(path, 'storage pool p') == normalized
