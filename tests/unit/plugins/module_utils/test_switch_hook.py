# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""switch.hook: what the libvirt network hook reads, and the ip commands it plans."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import io
import json

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.switch import hook as switch_hook
from ansible_collections.virtualiron.infra.plugins.module_utils.common import validation
from ansible_collections.virtualiron.infra.plugins.module_utils.switch.hook import (
    HookError, links_by_name, main, read_switch, start_commands, stop_commands)
from ansible_collections.virtualiron.infra.plugins.module_utils.switch.network_xml import build_switch_xml

OWN = {'name': 'lan', 'mode': 'bridged', 'bridge': 'br-eno1', 'host_bridge': False, 'uplinks': ['eno1', 'eno2'],
       'bond': 'bond-eno1', 'mtu': 9000, 'subnet': None, 'address': None, 'dhcp': False, 'dhcp_range': None,
       'dhcp_hosts': []}
MARK = 'virtualiron-switch:lan'


def hook_data(spec):
    return '<hookData>%s</hookData>' % build_switch_xml(spec)


def ip_json(*links):
    """`ip -json -details address show` for links given as (name, kind, master, addresses[, alias])."""
    return json.dumps([{'ifname': link[0], 'master': link[2], 'linkinfo': {'info_kind': link[1]} if link[1] else None,
                        'addr_info': [{'local': a.split('/')[0], 'prefixlen': int(a.split('/')[1]), 'scope': 'global'}
                                      for a in link[3]] + [{'local': 'fe80::1', 'prefixlen': 64, 'scope': 'link'}],
                        'ifalias': link[4] if len(link) > 4 else None}
                       for link in links])


NIC_LINKS = [('lo', None, None, []), ('eth0', None, None, ['10.0.0.5/24']), ('eno1', None, None, []),
             ('eno2', None, None, [])]
NICS = links_by_name(ip_json(*NIC_LINKS))
BUILT = [('br-eno1', 'bridge', None, [], MARK), ('bond-eno1', 'bond', 'br-eno1', [], MARK),
         ('eno1', None, 'bond-eno1', []), ('eno2', None, 'bond-eno1', [])]


def test_read_switch_from_the_hook_data():
    assert read_switch(hook_data(OWN)) == {'name': 'lan', 'bridge': 'br-eno1', 'uplinks': ['eno1', 'eno2'],
                                           'bond': 'bond-eno1', 'mtu': 9000}


@pytest.mark.parametrize('spec', [dict(OWN, host_bridge=True), dict(OWN, mode='nat', subnet='10.1.0.0/24', address='10.1.0.1')])
def test_read_switch_ignores_networks_without_an_own_bridge(spec):
    assert read_switch(hook_data(spec)) is None


def test_links_by_name_keeps_addresses_that_carry_traffic_and_the_alias():
    assert NICS['eth0'] == {'kind': None, 'master': None, 'alias': None, 'addresses': ['10.0.0.5/24']}
    assert NICS['eno1']['addresses'] == []
    assert links_by_name(ip_json(*BUILT))['br-eno1']['alias'] == MARK


def test_start_builds_a_bond_of_several_uplinks_under_the_bridge_and_marks_them():
    switch = read_switch(hook_data(OWN))
    assert start_commands(switch, NICS) == [
        ['link', 'add', 'name', 'br-eno1', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0'],
        ['link', 'set', 'dev', 'br-eno1', 'alias', MARK],
        ['link', 'add', 'name', 'bond-eno1', 'type', 'bond', 'mode', 'active-backup', 'miimon', '100'],
        ['link', 'set', 'dev', 'bond-eno1', 'alias', MARK],
        ['link', 'set', 'dev', 'eno1', 'down'], ['link', 'set', 'dev', 'eno1', 'master', 'bond-eno1'],
        ['link', 'set', 'dev', 'eno2', 'down'], ['link', 'set', 'dev', 'eno2', 'master', 'bond-eno1'],
        ['link', 'set', 'dev', 'eno1', 'mtu', '9000', 'up'], ['link', 'set', 'dev', 'eno2', 'mtu', '9000', 'up'],
        ['link', 'set', 'dev', 'bond-eno1', 'mtu', '9000', 'up'],
        ['link', 'set', 'dev', 'bond-eno1', 'master', 'br-eno1'],
        ['link', 'set', 'dev', 'br-eno1', 'mtu', '9000', 'up']]


def test_start_puts_one_uplink_straight_into_the_bridge():
    switch = dict(read_switch(hook_data(OWN)), uplinks=['eno1'], bond=None, mtu=None)
    assert start_commands(switch, NICS) == [
        ['link', 'add', 'name', 'br-eno1', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0'],
        ['link', 'set', 'dev', 'br-eno1', 'alias', MARK],
        ['link', 'set', 'dev', 'eno1', 'up'], ['link', 'set', 'dev', 'eno1', 'master', 'br-eno1'],
        ['link', 'set', 'dev', 'br-eno1', 'up']]


def test_start_again_only_brings_things_up():
    switch = dict(read_switch(hook_data(OWN)), uplinks=['eno1'], bond=None, mtu=None)
    built = links_by_name(ip_json(('br-eno1', 'bridge', None, [], MARK), ('eno1', None, 'br-eno1', [])))
    assert start_commands(switch, built) == [['link', 'set', 'dev', 'eno1', 'up'], ['link', 'set', 'dev', 'br-eno1', 'up']]


@pytest.mark.parametrize('links, message', [
    ([('eno1', None, None, [])], 'uplink eno2 does not exist on this host'),
    ([('eno1', None, None, []), ('eno2', None, None, ['192.0.2.7/24'])],
     'uplink eno2 carries addresses of this host (192.0.2.7/24): putting it into a bridge would cut them off'),
    ([('eno1', None, 'br0', []), ('eno2', None, None, [])], 'uplink eno1 is already a port of br0'),
    ([('eno1', 'bridge', None, []), ('eno2', None, None, [])], 'uplink eno1 is a bridge, not a NIC'),
    ([('eno1', 'tun', None, []), ('eno2', None, None, [])], 'uplink eno1 is a tun, not a NIC'),
    ([('eno1', None, None, []), ('eno2', None, None, []), ('br-eno1', 'veth', None, [], MARK)],
     'br-eno1 exists on this host and is not a bridge'),
])
def test_start_refuses_before_doing_anything(links, message):
    with pytest.raises(HookError) as caught:
        start_commands(read_switch(hook_data(OWN)), links_by_name(ip_json(*links)))
    assert message in str(caught.value)


# Links of the same names that this hook did not make for switch lan: the host's bridge (carrying the host's
# addresses), another switch's bridge or bond (marked for it), a bridge libvirt made for a NAT switch.
FOREIGN = [
    (('br-eno1', 'bridge', None, ['10.213.9.1/24']), 'br-eno1 exists on this host and carries the addresses '
     '10.213.9.1/24, and this hook did not make it for switch lan'),
    (('br-eno1', 'bridge', None, [], 'virtualiron-switch:other'), 'br-eno1 exists on this host, and this hook did '
     'not make it for switch lan'),
    (('bond-eno1', 'bond', 'br-x', [], 'virtualiron-switch:other'), 'bond-eno1 exists on this host, and this hook '
     'did not make it for switch lan'),
    (('br-eno1', 'bridge', None, [], 'virtualiron-switch:lan2'), 'did not make it for switch lan'),
    (('br-eno1', 'bridge', None, []), 'stopping the switch would delete it. Name a bridge of the switch\'s own'),
]


@pytest.mark.parametrize('foreign, message', FOREIGN)
def test_start_refuses_a_bridge_or_bond_it_did_not_make_for_the_switch(foreign, message):
    with pytest.raises(HookError) as caught:
        start_commands(read_switch(hook_data(OWN)), links_by_name(ip_json(foreign, *NIC_LINKS)))
    assert message in str(caught.value)


def test_stop_removes_only_what_it_made_for_the_switch():
    switch = read_switch(hook_data(OWN))
    assert stop_commands(switch, links_by_name(ip_json(*BUILT))) == [
        ['link', 'del', 'dev', 'bond-eno1'], ['link', 'del', 'dev', 'br-eno1']]
    assert stop_commands(switch, NICS) == []


@pytest.mark.parametrize('foreign', [f[0] for f in FOREIGN])
def test_stop_leaves_a_bridge_or_bond_it_did_not_make_for_the_switch(foreign):
    assert stop_commands(read_switch(hook_data(OWN)), links_by_name(ip_json(foreign, *NIC_LINKS))) == []


def test_the_hooks_name_rules_are_validations():
    """The hook is installed alone, so it carries its own copy of the rules."""
    assert switch_hook.INTERFACE_NAME_RE.pattern == validation.INTERFACE_NAME_RE.pattern
    assert switch_hook.SWITCH_NAME_RE.pattern == validation.OBJECT_NAME_RE.pattern


class FakeIp(object):
    """Stands in for `ip`: answers the address listing with the links it holds, and records the rest."""

    def __init__(self, links, fail_on=None):
        self.links = links
        self.fail_on = fail_on
        self.calls = []

    def __call__(self, args):
        if args[0] == '-json':
            return ip_json(*self.links)
        self.calls.append(args)
        if self.fail_on and self.fail_on in args:
            raise HookError('ip %s: failed' % ' '.join(args))
        if args[:2] == ['link', 'add']:
            self.links.append((args[3], args[5], None, []))
        return ''


def run_hook(monkeypatch, fake, *argv, **data):
    monkeypatch.setattr(switch_hook, '_ip', fake)
    err = io.StringIO()
    monkeypatch.setattr(switch_hook.sys, 'stderr', err)
    return main(list(argv), io.StringIO(data.get('data', hook_data(OWN)))), err.getvalue()


def test_a_failed_start_removes_what_it_made(monkeypatch):
    fake = FakeIp(list(NIC_LINKS), fail_on='bond')
    assert run_hook(monkeypatch, fake, 'lan', 'start', 'begin', '-') == \
        (1, 'virtual switch lan: ip link add name bond-eno1 type bond mode active-backup miimon 100: failed\n')
    assert fake.calls[-1:] == [['link', 'del', 'dev', 'br-eno1']]


@pytest.mark.parametrize('foreign', [f[0] for f in FOREIGN])
@pytest.mark.parametrize('operation', [('start', 'begin'), ('stopped', 'end')])
def test_links_it_did_not_make_for_the_switch_are_left_alone(monkeypatch, foreign, operation):
    fake = FakeIp([foreign] + NIC_LINKS)
    code, err = run_hook(monkeypatch, fake, 'lan', operation[0], operation[1], '-')
    assert (code, fake.calls) == ((1, []) if operation[0] == 'start' else (0, []))
    assert ('did not make it for switch lan' in err) == (operation[0] == 'start')


def own_bridge_xml(name='lan', bridge='br-eno1', uplinks=('eno1',), bond=None, mtu=None):
    """Hook data as whoever defines the network may write it, names unchecked."""
    ns = 'https://virtualiron.example/xmlns/switch/1'
    own = ''.join('<v:uplink dev="%s"/>' % u for u in uplinks) + ('<v:bond name="%s"/>' % bond if bond else '') + \
        ('<v:mtu size="%s"/>' % mtu if mtu else '')
    return ('<hookData><network><name>%s</name><metadata><v:switch xmlns:v="%s">%s</v:switch></metadata>'
            '<forward mode="bridge"/><bridge name="%s"/></network></hookData>' % (name, ns, own, bridge))


@pytest.mark.parametrize('xml, message', [
    (own_bridge_xml(bridge='type'), None),   # a keyword of ip is a name like any other (after dev)
    (own_bridge_xml(bridge='br0 type'), "invalid interface name 'br0 type'"),
    (own_bridge_xml(bridge='-br'), "invalid interface name '-br'"),
    (own_bridge_xml(bridge='br-much-too-long-name'), "invalid interface name 'br-much-too-long-name'"),
    (own_bridge_xml(bridge='a/b'), "invalid interface name 'a/b'"),
    (own_bridge_xml(bridge='br:0'), "invalid interface name 'br:0'"),
    (own_bridge_xml(bridge='br&#10;x'), "invalid interface name 'br\\nx'"),
    (own_bridge_xml(uplinks=('eno1', '..')), "invalid interface name '..'"),
    (own_bridge_xml(uplinks=('eno1', 'eno2'), bond='bond 1'), "invalid interface name 'bond 1'"),
    ('<hookData><network><name>lan</name><metadata><v:switch xmlns:v="https://virtualiron.example/xmlns/switch/1">'
     '<v:uplink dev="eno1"/></v:switch></metadata><forward mode="bridge"/><bridge/></network></hookData>',
     'invalid interface name None'),
    (own_bridge_xml(uplinks=()), 'switch lan names 0 uplinks; it needs 1 to 8'),
    (own_bridge_xml(uplinks=['eno%d' % i for i in range(9)], bond='b'), 'switch lan names 9 uplinks; it needs 1 to 8'),
    (own_bridge_xml(uplinks=('eno1', 'eno1'), bond='b'), 'names an interface twice among its bridge, bond and uplinks'),
    (own_bridge_xml(bridge='eno1'), 'names an interface twice'),
    (own_bridge_xml(mtu='9000; reboot'), "the switch's MTU '9000; reboot' is not a number from 68 to 65535"),
    (own_bridge_xml(mtu='70000'), "the switch's MTU '70000' is not a number"),
    (own_bridge_xml(name='lan&#10;x'), "invalid switch name 'lan\\nx'"),
    ('<hookData><network><name>lan', 'cannot read the network libvirt passed'),
])
@pytest.mark.parametrize('operation', [('start', 'begin'), ('stopped', 'end')])
def test_hook_data_that_is_no_switch_is_refused_before_any_change(monkeypatch, xml, message, operation):
    fake = FakeIp([('eno1', None, None, []), ('eno2', None, None, []), ('type', 'bridge', None, [], MARK)])
    code, err = run_hook(monkeypatch, fake, 'lan', operation[0], operation[1], '-', data=xml)
    if message is None:
        assert (code, err) == (0, '')
        return
    assert (code, fake.calls) == (1, [])
    assert err.startswith('virtual switch lan: ') and message in err


@pytest.mark.parametrize('argv', [('lan', 'started', 'begin', '-'), ('lan', 'plugged', 'begin', '-'), ('lan',)])
def test_other_hook_calls_do_nothing(monkeypatch, argv):
    fake = FakeIp([])
    assert run_hook(monkeypatch, fake, *argv) == (0, '')
    assert fake.calls == []


def test_the_bonding_driver_missing_is_said_plainly(monkeypatch):
    class Done(object):
        returncode, stdout, stderr = 2, '', 'Error: Unknown device type.\n'
    monkeypatch.setattr(switch_hook.subprocess, 'run', lambda *a, **k: Done())
    with pytest.raises(HookError) as caught:
        switch_hook._ip(['link', 'add', 'name', 'b', 'type', 'bond'])
    assert 'the kernel of this host has no bonding driver (load it: modprobe bonding)' in str(caught.value)
