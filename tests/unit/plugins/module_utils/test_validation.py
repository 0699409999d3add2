# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.common import validation as v


@pytest.mark.parametrize('uri', [
    'qemu+ssh://root@kvm1.example.com/system',
    'qemu+tls://10.0.0.12/system',
    'qemu+tcp://10.213.0.11/system',
    'qemu+ssh://kvm1:2222/system?mode=direct',
    'qemu+libssh2://[fd00::5]/system',
    'xen+ssh://root@xen1/system',
    'xen+tls://xen1/',
])
def test_data_uri_accepted(uri):
    assert v.check_data_uri(uri) == uri


@pytest.mark.parametrize('uri, says', [
    ('qemu+ext:///system?command=/tmp/x.sh', 'only qemu and xen drivers'),
    ('qemu+ssh://h/system?command=/tmp/x.sh', 'command=/tmp/x.sh is not accepted'),
    ('qemu+ssh://h/system?no_verify=1', 'no_verify=1 is not accepted'),
    ('qemu+ssh://h/system?keyfile=/root/.ssh/id_rsa', 'keyfile'),
    ('qemu+tls://h/system?pkipath=/tmp/pki', 'pkipath'),
    ('qemu+ssh://h/system?netcat=/tmp/nc', 'netcat'),
    ('qemu+ssh://h/system?mode=direct&socket=/run/x', 'socket'),
    ('qemu+ssh://h/system?known_hosts_verify=ignore', 'known_hosts_verify'),
    ('qemu+unix:///system?socket=/tmp/s', 'only qemu and xen drivers'),
    ('qemu:///system', 'names no host'),
    ('test:///default', 'only qemu and xen drivers'),
    ('lxc+ssh://h/', 'only qemu and xen drivers'),
    ('qemu+ssh://h/session', 'the path must be'),
    ('qemu+ssh://h/system/../x', 'the path must be'),
    ('qemu+ssh://user:secret@h/system', 'no password'),
    ('qemu+ssh://-oProxyCommand=x@h/system', 'user name'),
    ('qemu+ssh://-oProxyCommand=x/system', 'host'),
    ('qemu+ssh://h_1/system', 'host'),
    ('qemu+ssh://h/system#frag', 'the path must be'),
    ('qemu+ssh://h:99999/system', 'cannot read'),
    ('qemu+ssh://h/system\n', 'control characters'),
    ('', 'non-empty string'),
    (42, 'non-empty string'),
])
def test_data_uri_refused(uri, says):
    with pytest.raises(VirtualIronError, match='.*' + says.replace('?', r'\?').replace('|', r'\|')):
        v.check_data_uri(uri)


@pytest.mark.parametrize('check, good, bad', [
    (v.check_interface_name, ['eth0', 'br-lan0', 'bond0.100', 'enp0s31f6', 'x' * 15],
     ['', 'x' * 16, 'eth0:1', 'a/b', 'a b', '.', '..', '-x', 'br0\n']),
    (v.check_host_name, ['web1', 'web-1.example.com', 'a', 'x' * 63, 'host.'],
     ['', '-web', 'web-', 'web_1', 'a..b', 'x' * 64, 'we b', 'web\nevil', 'a' + '.a' * 127]),
])
def test_names(check, good, bad):
    for name in good:
        assert check(name) == name
    for name in bad:
        with pytest.raises(VirtualIronError):
            check(name)


@pytest.mark.parametrize('name, ok', [
    ('web1', True), ('a.b_c+d-e', True), ('x' * 64, True), ('x' * 65, False), ('', False), ('.hidden', False),
    ('a..b', False), ('a/b', False), ("a'b", False), ('a\nb', False), (None, False),
])
def test_object_name(name, ok):
    if ok:
        assert v.check_object_name(name, 'virtual server') == name
    else:
        with pytest.raises(VirtualIronError, match='invalid virtual server name'):
            v.check_object_name(name, 'virtual server')


@pytest.mark.parametrize('value, kwargs, ok', [
    ('10.0.0.1', {}, True), ('fd00::1', {}, True), ('fd00::1', {'version': 4}, False),
    ('224.0.0.1', {}, False), ('0.0.0.0', {}, False), ('255.255.255.255', {}, False), ('::', {}, False),
    ('0.0.0.0', {'unicast': False}, True), ('10.0.0.1/24', {}, False), ("127.0.0.1' autoport='no", {}, False),
    ('1.2.3.4\n', {}, False),
])
def test_ip_address(value, kwargs, ok):
    if ok:
        assert str(v.check_ip_address(value, 'address', **kwargs))
    else:
        with pytest.raises(VirtualIronError):
            v.check_ip_address(value, 'address', **kwargs)


@pytest.mark.parametrize('value, says', [
    ('224.0.0.0/24', 'multicast'), ('127.0.0.0/8', 'loopback'), ('240.0.0.0/8', 'reserved'),
    ('10.0.0.1/31', 'too small'), ('0.0.0.0/0', 'unspecified|reserved|multicast'), ('nonsense', 'not a subnet'),
])
def test_subnet_refused(value, says):
    with pytest.raises(VirtualIronError, match=says):
        v.check_subnet(value, 'subnet')


def test_subnet_accepted():
    assert str(v.check_subnet('192.168.10.1/24', 'subnet')) == '192.168.10.0/24'


@pytest.mark.parametrize('path, ok', [
    ('/var/lib/libvirt/images/a.qcow2', True), ('relative/a.raw', False), ('a.raw', False),
    ('/var/lib/../../etc/passwd', False), ('/var/./a', False), ('//var/a', False), ('/var/a/', False),
    ('/var/a\0b', False), ('', False),
])
def test_absolute_path(path, ok):
    if ok:
        assert v.check_absolute_path(path, 'path') == path
    else:
        with pytest.raises(VirtualIronError):
            v.check_absolute_path(path, 'path')


@pytest.mark.parametrize('name, ok', [
    ('a.qcow2', True), ('disk 1.raw', True), ('../victim.raw', False), ('/abs/path', False), ('.', False),
    ('..', False), ('-rf', False), ('a/b', False), ('', False),
])
def test_file_name(name, ok):
    if ok:
        assert v.check_file_name(name, 'volume name') == name
    else:
        with pytest.raises(VirtualIronError):
            v.check_file_name(name, 'volume name')


def test_path_inside_follows_links(tmp_path):
    pool, outside = tmp_path / 'pool', tmp_path / 'outside'
    pool.mkdir()
    outside.mkdir()
    (pool / 'escape').symlink_to(outside / 'victim.raw')
    (pool / 'inner').symlink_to(pool / 'a.raw')
    assert v.path_inside(str(pool), str(pool / 'a.raw'), 'disk')
    assert v.path_inside(str(pool), str(pool / 'inner'), 'disk')
    for path in (outside / 'victim.raw', pool / 'escape', pool):
        with pytest.raises(VirtualIronError, match='outside'):
            v.path_inside(str(pool), str(path), 'disk')


def test_file_kind(tmp_path):
    regular = tmp_path / 'a.raw'
    regular.write_bytes(b'x')
    (tmp_path / 'link').symlink_to(regular)
    os.mkfifo(str(tmp_path / 'fifo'))
    kinds = {name: v.file_kind(str(tmp_path / name)) for name in ('a.raw', 'link', 'fifo', 'missing')}
    assert kinds == {'a.raw': 'file', 'link': 'symlink', 'fifo': 'other', 'missing': 'missing'}
    assert v.file_kind('/dev/null') == 'other'
    assert v.file_kind(str(tmp_path)) == 'directory'
    assert v.check_file_kind(str(regular), 'disk') == 'file'
    for name, says in (('link', 'symbolic link'), ('fifo', 'device, FIFO or socket')):
        with pytest.raises(VirtualIronError, match=says):
            v.check_file_kind(str(tmp_path / name), 'disk')
    with pytest.raises(VirtualIronError, match='character|device'):
        v.check_file_kind('/dev/null', 'disk')


@pytest.mark.parametrize('value', ["fe80::1%x' autoport='no", 'fe80::1%eth0'])
def test_ip_address_refuses_a_scope(value):
    with pytest.raises(VirtualIronError, match='has a scope'):
        v.check_ip_address(value, 'address', unicast=False)


def test_free_text():
    assert v.check_free_text('two\nlines\tand ünïcode', 'description') == 'two\nlines\tand ünïcode'
    assert v.check_free_text('', 'description') == ''
    for text, multiline in (('a\x00b', True), ('bell\x07', True), ('\ufffe', True), ('a\nb', False)):
        with pytest.raises(VirtualIronError, match='description must not contain control characters'):
            v.check_free_text(text, 'description', multiline)
    with pytest.raises(VirtualIronError, match='must be a string'):
        v.check_free_text(None, 'description')


@pytest.mark.parametrize('value', ['10.0.1.15', 'fd00::15', 'bmc-15.example.com', 'bmc15'])
def test_host_address(value):
    assert v.check_host_address(value, 'bmc') == value


@pytest.mark.parametrize('value, message', [
    ('bmc 15', 'neither an IP address nor a host name'), ('-bmc', 'neither'), ('a..b', 'neither'),
    ('224.0.0.1', 'not a unicast address'), ('fe80::1%eth0', 'has a scope'), ('', 'non-empty string'),
    ('bmc\n', 'control characters'), (15, 'non-empty string')])
def test_host_address_refused(value, message):
    with pytest.raises(VirtualIronError, match=message):
        v.check_host_address(value, 'bmc')
