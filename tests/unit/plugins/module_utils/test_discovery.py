# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of baremetal/discovery.py: node reports (untrusted) to registrations, and where a boot stopped."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal import discovery
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.host.registration import read_registration

NOW = '2026-11-30T22:00:00Z'
REPORT = {
    'version': 1, 'cpus': 2, 'memory_bytes': 134217728, 'boot_mode': 'bios', 'address': '10.9.9.9',
    'boot_mac': '52:54:00:a1:b2:c4',
    'system': {'manufacturer': 'QEMU', 'product': 'Standard PC', 'serial': '', 'uuid': 'ab-cd'},
    'bmc': {'address': '', 'ipmi_device': False},
    'nics': [{'name': 'eth0', 'mac': '52:54:00:A1:B2:C3', 'driver': 'virtio_net', 'link': True, 'speed_mbps': None},
             {'name': 'eth1', 'mac': '52:54:00:a1:b2:c4', 'driver': 'virtio_net', 'link': True, 'speed_mbps': 1000}],
    'disks': [{'name': 'vda', 'size_bytes': 1048576, 'model': '', 'serial': 'D1'}],
    'timings': {'init': 1.5},
}


def test_registration_from_report():
    reg = discovery.registration_from_report(REPORT, '10.0.5.100', NOW)
    assert reg == {
        'version': 1, 'name': 'node-525400a1b2c4', 'state': 'discovered', 'address': '10.0.5.100',
        'discovered_at': NOW, 'updated_at': NOW, 'labels': {'boot_mode': 'bios'},
        'hardware': {'cpus': 2, 'memory_bytes': 134217728,
                     'system': {'manufacturer': 'QEMU', 'product': 'Standard PC', 'uuid': 'ab-cd'},
                     'nics': [{'name': 'eth0', 'mac': '52:54:00:a1:b2:c3', 'driver': 'virtio_net'},
                              {'name': 'eth1', 'mac': '52:54:00:a1:b2:c4', 'driver': 'virtio_net', 'speed_mbps': 1000}],
                     'disks': [{'name': 'vda', 'size_bytes': 1048576, 'serial': 'D1'}]}}


@pytest.mark.parametrize('change, check', [
    # the name follows the first NIC when the boot NIC is not among them
    ({'boot_mac': 'ff:ff:ff:ff:ff:ff'}, lambda r: r['name'] == 'node-525400a1b2c3'),
    # control characters dropped, long strings cut to 255
    ({'system': {'product': 'A\x1b[31mB', 'serial': 'x' * 1000}},
     lambda r: r['hardware']['system'] == {'product': 'A[31mB', 'serial': 'x' * 255}),
    # wrong types are left out, not trusted
    ({'cpus': '2', 'memory_bytes': True}, lambda r: 'cpus' not in r['hardware'] and 'memory_bytes' not in r['hardware']),
    ({'cpus': -1}, lambda r: 'cpus' not in r['hardware']),
    ({'disks': [{'name': 'vda', 'size_bytes': '1'}, 'x', {'size_bytes': 5}]}, lambda r: r['hardware']['disks'] == []),
    ({'nics': REPORT['nics'] + [{'mac': 'not-a-mac'}]}, lambda r: len(r['hardware']['nics']) == 2),
    ({'nics': [{'mac': '52:54:00:00:00:%02x' % (i % 256)} for i in range(500)]},
     lambda r: len(r['hardware']['nics']) == discovery.MAX_NICS),
    ({'boot_mode': 'weird'}, lambda r: 'labels' not in r),
    ({'bmc': {'address': '10.0.1.15'}}, lambda r: r['bmc'] == {'type': 'redfish', 'address': '10.0.1.15'}),
])
def test_report_values_are_checked(change, check):
    assert check(discovery.registration_from_report(dict(REPORT, **change), '10.0.5.100', NOW))


@pytest.mark.parametrize('report, message', [
    (dict(REPORT, nics=[]), 'no NIC with a MAC'),
    (dict(REPORT, nics='eth0'), 'no NIC with a MAC'),
    (dict(REPORT, bmc={'address': 'a b'}), 'invalid registration'),
])
def test_bad_reports_are_refused(report, message):
    with pytest.raises(VirtualIronError, match=message):
        discovery.registration_from_report(report, '10.0.5.100', NOW)


@pytest.mark.parametrize('body, message', [
    (b'x' * (discovery.MAX_REPORT_BYTES + 1), 'larger than'),
    (b'{"a": ', 'not JSON'),
    (b'\xff\xfe', 'not JSON'),
    (b'[1, 2]', 'JSON object'),
    (b'[' * 60000, 'not JSON'),  # deep nesting: RecursionError
])
def test_parse_report_refuses(body, message):
    with pytest.raises(VirtualIronError, match=message):
        discovery.parse_report(body)


def test_record_report_writes_once_and_keeps_discovered_at(tmp_path):
    reg, changed = discovery.record_report(str(tmp_path), REPORT, '10.0.5.100', NOW)
    assert changed and os.listdir(str(tmp_path)) == ['node-525400a1b2c4.json']
    assert read_registration(str(tmp_path / 'node-525400a1b2c4.json')) == reg
    again, changed = discovery.record_report(str(tmp_path), REPORT, '10.0.5.100', '2026-12-01T00:00:00Z')
    assert not changed and again == reg
    bigger, changed = discovery.record_report(str(tmp_path), dict(REPORT, cpus=4), '10.0.5.100', '2026-12-02T00:00:00Z')
    assert changed and bigger['discovered_at'] == NOW and bigger['updated_at'] == '2026-12-02T00:00:00Z'
    assert bigger['hardware']['cpus'] == 4


def test_merge_keeps_what_provisioning_set():
    old = dict(discovery.registration_from_report(REPORT, '10.0.5.100', NOW), state='provisioned',
               uri='qemu+ssh://root@10.0.5.100/system', labels={'boot_mode': 'bios', 'rack': 'r1'})
    new = discovery.registration_from_report(dict(REPORT, cpus=8), '10.0.5.101', '2026-12-01T00:00:00Z')
    merged = discovery.merge_registration(old, new)
    assert merged['state'] == 'provisioned' and merged['uri'] == old['uri']
    assert merged['labels'] == {'boot_mode': 'bios', 'rack': 'r1'} and merged['address'] == '10.0.5.101'


def test_record_report_replaces_a_broken_file(tmp_path):
    (tmp_path / 'node-525400a1b2c4.json').write_text('{broken')
    _reg, changed = discovery.record_report(str(tmp_path), REPORT, '10.0.5.100', NOW)
    assert changed and json.loads((tmp_path / 'node-525400a1b2c4.json').read_text())['state'] == 'discovered'


MAC = '52:54:00:13:00:01'
LEASES = [{'mac': MAC, 'ipaddr': '10.0.5.100'}, {'mac': '52:54:00:13:00:02', 'ipaddr': '10.0.5.101'}]


def _req(stage, status=200, client='10.0.5.100', mac=None, path='/x', **extra):
    return dict(stage=stage, status=status, client=client, mac=mac, path=path, method='GET', **extra)


@pytest.mark.parametrize('leases, requests, registered, expected', [
    (LEASES, [], True, ('registered', None)),
    ([], [], False, ('no DHCP request', None)),
    (LEASES, [], False, ('DHCP lease but no boot file fetched', 'address 10.0.5.100')),
    (LEASES, [_req('boot-script', client='10.0.5.101')], False, ('DHCP lease but no boot file fetched', 'address 10.0.5.100')),
    (LEASES, [_req('boot-script', path='/boot.ipxe'), _req('kernel', status=404, mac=MAC, path='/missing/vmlinuz')], False,
     ('boot script fetched but no kernel', 'GET /missing/vmlinuz: 404')),
    # a request that names the MAC counts even from another address (the lease moved)
    ([], [_req('kernel', client='10.0.5.150', mac=MAC, path='/vmlinuz')], False,
     ('kernel fetched but no report', 'GET /vmlinuz: 200')),
    (LEASES, [_req('initrd', path='/initrd.img'), _req('report', status=400, error='bad')], False, ('report refused', 'bad')),
])
def test_boot_stage(leases, requests, registered, expected):
    assert discovery.boot_stage(MAC, leases, requests, registered) == expected


def test_read_request_log_skips_bad_lines(tmp_path):
    log = tmp_path / 'requests.log'
    log.write_bytes(b'{"stage": "kernel"}\nnot json\n[1]\n\xff\n{"stage": "report"}\n')
    assert discovery.read_request_log(str(log)) == [{'stage': 'kernel'}, {'stage': 'report'}]
    assert discovery.read_request_log(str(tmp_path / 'missing')) == []


DISCOVERED = discovery.registration_from_report(REPORT, '10.0.5.100', NOW)
STATE = {'version': 1, 'state': 'provisioned', 'mac': '52:54:00:a1:b2:c4', 'transport': 'tcp'}
LATER = '2026-11-30T22:05:00Z'


@pytest.mark.parametrize('old, report, address, expected', [
    (DISCOVERED, STATE, '10.0.5.100', {'state': 'provisioned', 'uri': 'qemu+tcp://10.0.5.100/system', 'updated_at': LATER}),
    (DISCOVERED, dict(STATE, transport='tls'), '10.0.5.100',
     {'state': 'provisioned', 'uri': 'qemu+tls://10.0.5.100/system', 'updated_at': LATER}),
    # the other NIC of the node names it too; the uri's host is where the report came from, never the node's word
    (DISCOVERED, dict(STATE, mac='52:54:00:A1:B2:C3', address='10.6.6.6'), '10.0.5.100',
     {'state': 'provisioned', 'uri': 'qemu+tcp://10.0.5.100/system', 'updated_at': LATER}),
    (dict(DISCOVERED, address='fd00:5::64'), STATE, 'fd00:5::64',
     {'state': 'provisioned', 'uri': 'qemu+tcp://[fd00:5::64]/system', 'updated_at': LATER}),
    (dict(DISCOVERED, state='provisioned', uri='qemu+tcp://10.0.5.100/system'), dict(STATE, state='failed'), '10.0.5.100',
     {'state': 'failed', 'updated_at': LATER}),
    (dict(DISCOVERED, state='provisioned', uri='qemu+tcp://10.0.5.100/system'), STATE, '10.0.5.100', None),
])
def test_state_update(old, report, address, expected):
    new = discovery.state_update(old, report, address, LATER)
    if expected is None:
        assert new is None
    else:
        assert new == dict(dict((k, v) for k, v in old.items() if k != 'uri'), **expected)


@pytest.mark.parametrize('old, report, address, message', [
    (None, STATE, '10.0.5.100', 'no node with MAC 52:54:00:a1:b2:c4 was discovered'),
    (DISCOVERED, dict(STATE, mac='52:54:00:ff:ff:ff'), '10.0.5.100', 'no node with MAC 52:54:00:ff:ff:ff'),
    (DISCOVERED, dict(STATE, mac='nonsense'), '10.0.5.100', 'state report without a valid mac'),
    (DISCOVERED, STATE, '10.0.5.101', 'came from 10.0.5.101, not from 10.0.5.100 where it was discovered'),
    (DISCOVERED, dict(STATE, state='discovered'), '10.0.5.100', 'may report the state provisioned or failed'),
    (DISCOVERED, dict(STATE, transport='ssh'), '10.0.5.100', "transport must be one of tls, tcp, got 'ssh'"),
    (DISCOVERED, dict(STATE, transport=None), '10.0.5.100', 'transport must be one of tls, tcp'),
])
def test_state_update_refuses(old, report, address, message):
    with pytest.raises(VirtualIronError, match=message.replace('(', r'\(')):
        discovery.state_update(old, report, address, LATER)


def test_record_state_writes_the_registration(tmp_path):
    discovery.record_report(str(tmp_path), REPORT, '10.0.5.100', NOW)
    assert discovery.record_state(str(tmp_path), STATE, '10.0.5.100', LATER)[1] is True
    assert discovery.record_state(str(tmp_path), STATE, '10.0.5.100', LATER)[1] is False
    written = read_registration(str(tmp_path / 'node-525400a1b2c4.json'))
    assert (written['state'], written['uri'], written['discovered_at']) == ('provisioned', 'qemu+tcp://10.0.5.100/system', NOW)
    with pytest.raises(VirtualIronError, match='no node with MAC 52:54:00:00:00:01'):
        discovery.record_state(str(tmp_path), dict(STATE, mac='52:54:00:00:00:01'), '10.0.5.100', LATER)
    assert sorted(os.listdir(str(tmp_path))) == ['node-525400a1b2c4.json']
