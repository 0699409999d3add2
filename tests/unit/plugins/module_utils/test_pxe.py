# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of baremetal/pxe.py (per-MAC boot choices), network.py (the provisioning network's XML) and the
receiver's pure parts (request stages, MACs, served files)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal import network, pxe, receiver
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError

URL = 'http://10.0.5.1:8080'


def params(root, **extra):
    base = dict(root=str(root), mac='52:54:00:A1:B2:C3', boot='discover', server_url=URL, kernel=None, initrd=None,
                cmdline=None, after='poweroff', bmc_address=None, state='present')
    base.update(extra)
    return base


def test_discover_files(tmp_path):
    boot = pxe.check_boot(params(tmp_path, bmc_address='10.0.1.15'))
    assert pxe.ipxe_script(boot) == (
        '#!ipxe\nkernel http://10.0.5.1:8080/vmlinuz?mac=${mac} console=ttyS0 console=tty0 quiet '
        'vi.report=http://10.0.5.1:8080/report vi.after=poweroff vi.bmc=10.0.1.15 BOOTIF=01-${mac:hexhyp}\n'
        'initrd http://10.0.5.1:8080/initrd.img?mac=${mac}\nboot\n')
    assert pxe.pxelinux_config(boot) == (
        'DEFAULT discover\nLABEL discover\n  KERNEL http://10.0.5.1:8080/vmlinuz?mac=52:54:00:a1:b2:c3\n'
        '  INITRD http://10.0.5.1:8080/initrd.img?mac=52:54:00:a1:b2:c3\n  APPEND console=ttyS0 console=tty0 quiet '
        'vi.report=http://10.0.5.1:8080/report vi.after=poweroff vi.bmc=10.0.1.15\n  IPAPPEND 2\n')
    assert pxe.boot_paths(str(tmp_path), boot['mac']) == (
        os.path.join(str(tmp_path), 'nodes', '52-54-00-a1-b2-c3.ipxe'),
        os.path.join(str(tmp_path), 'pxelinux.cfg', '01-52-54-00-a1-b2-c3'))


@pytest.mark.parametrize('extra, ipxe, pxelinux', [
    ({'boot': 'local'}, 'exit\n', 'LOCALBOOT 0\n'),
    ({'boot': 'image', 'kernel': 'hv/vmlinuz', 'initrd': 'http://10.0.5.2/hv.img', 'cmdline': 'root=live'},
     'kernel http://10.0.5.1:8080/hv/vmlinuz?mac=${mac} root=live BOOTIF', 'INITRD http://10.0.5.2/hv.img?mac='),
    ({'after': 'wait', 'mac': 'default'}, 'vi.after=wait', 'KERNEL http://10.0.5.1:8080/vmlinuz\n'),
])
def test_boot_choices(tmp_path, extra, ipxe, pxelinux):
    boot = pxe.check_boot(params(tmp_path, **extra))
    assert ipxe in pxe.ipxe_script(boot)
    assert pxelinux in pxe.pxelinux_config(boot)


@pytest.mark.parametrize('extra, message', [
    ({'mac': '52:54:00:a1:b2'}, 'mac must be'),
    ({'server_url': 'ftp://x'}, 'server_url'),
    ({'server_url': 'http://10.0.5.1:8080/a b'}, 'server_url'),
    ({'boot': 'image', 'kernel': 'k'}, 'needs kernel and initrd'),
    ({'cmdline': 'a\nchain http://evil/'}, 'cmdline may hold'),
    ({'boot': 'image', 'kernel': 'k;x', 'initrd': 'i'}, 'kernel may hold'),
])
def test_bad_boot_choices(tmp_path, extra, message):
    with pytest.raises(VirtualIronError, match=message):
        pxe.check_boot(params(tmp_path, **extra))


def run(tmp_path, check_mode=False, diff=False, **extra):
    return pxe.PxeBootConverger(None, params(tmp_path, **extra), check_mode, diff).run()


def test_converger_writes_once_and_removes(tmp_path):
    assert run(tmp_path, check_mode=True)['changed'] and os.listdir(str(tmp_path)) == []
    first = run(tmp_path, diff=True)
    assert first['changes'] == ['boot.ipxe written', 'nodes/52-54-00-a1-b2-c3.ipxe written',
                                'pxelinux.cfg/01-52-54-00-a1-b2-c3 written']
    assert first['diff']['before'] == {} and first['boot']['boot'] == 'discover'
    assert run(tmp_path)['changed'] is False
    local = run(tmp_path, boot='local')
    assert local['changes'] == ['nodes/52-54-00-a1-b2-c3.ipxe updated', 'pxelinux.cfg/01-52-54-00-a1-b2-c3 updated']
    gone = run(tmp_path, state='absent')
    assert gone['changes'] == ['boot files removed'] and gone['boot'] is None
    assert sorted(os.listdir(str(tmp_path / 'nodes'))) == [] and run(tmp_path, state='absent')['changed'] is False
    assert (tmp_path / 'boot.ipxe').exists()   # shared by every node


SPEC = dict(name='prov', bridge='vipxe0', address='10.0.5.1', prefix=24, dhcp_start='10.0.5.100',
            dhcp_end='10.0.5.200', tftp_root='/srv/boot', boot_file='http://10.0.5.1:8080/boot.ipxe',
            boot_server=None, ipv6_address='fd00:5::1', ipv6_prefix=64)


def test_network_xml_round_trip():
    spec = network.check_spec(SPEC)
    xml = network.network_xml('prov', spec, uuid='c7a5fdbd-edaf-9455-926a-d65c16db1809')
    assert "<forward mode=\"open\"/>" in xml and '<tftp root="/srv/boot"/>' in xml
    assert network.spec_of_xml(xml) == dict(spec, open=True)


@pytest.mark.parametrize('change, message', [
    ({'address': '10.0.5'}, 'address'), ({'prefix': 31}, 'prefix'), ({'tftp_root': 'srv'}, 'tftp_root'),
    ({'bridge': 'a/b'}, 'bridge'), ({'ipv6_address': '10.0.0.1'}, 'ipv6_address'),
])
def test_network_bad_spec(change, message):
    with pytest.raises(VirtualIronError, match=message):
        network.check_spec(dict(SPEC, **change))


@pytest.mark.parametrize('path, stage', [
    ('/report', 'report'), ('/boot.ipxe', 'boot-script'), ('/nodes/52-54-00-a1-b2-c3.ipxe', 'boot-script'),
    ('/pxelinux.cfg/default', 'boot-script'), ('/vmlinuz', 'kernel'), ('/hv/hv.kernel', 'kernel'),
    ('/initrd.img', 'initrd'), ('/lpxelinux.0', 'file'),
])
def test_request_stage(path, stage):
    assert receiver.request_stage(path) == stage


@pytest.mark.parametrize('target, mac', [
    ('/vmlinuz?mac=52:54:00:A1:B2:C3', '52:54:00:a1:b2:c3'), ('/nodes/52-54-00-a1-b2-c3.ipxe', '52:54:00:a1:b2:c3'),
    ('/pxelinux.cfg/01-52-54-00-a1-b2-c3', '52:54:00:a1:b2:c3'), ('/boot.ipxe', None), ('/x?mac=52:54-00', None),
])
def test_request_mac(target, mac):
    assert receiver.request_mac(target) == mac


def test_served_file(tmp_path):
    (tmp_path / 'boot').mkdir()
    (tmp_path / 'boot' / 'vmlinuz').write_bytes(b'k')
    (tmp_path / 'secret').write_bytes(b's')
    os.symlink(str(tmp_path / 'secret'), str(tmp_path / 'boot' / 'link'))
    root = str(tmp_path / 'boot')
    assert receiver.served_file(root, '/vmlinuz') == os.path.realpath(str(tmp_path / 'boot' / 'vmlinuz'))
    for bad in ('/../secret', '/%2e%2e/secret', '/link', '/', '/.hidden', '/missing'):
        assert receiver.served_file(root, bad) is None, bad
