# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""switch_hook: what the libvirt network hook reads, and the ip commands it plans."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import io
import json

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils import switch_hook
from ansible_collections.virtualiron.infra.plugins.module_utils.switch_hook import (
    HookError, links_by_name, main, read_switch, start_commands, stop_commands)
from ansible_collections.virtualiron.infra.plugins.module_utils.switch_xml import build_switch_xml

OWN = {'name': 'lan', 'mode': 'bridged', 'bridge': 'br-eno1', 'host_bridge': False, 'uplinks': ['eno1', 'eno2'],
       'bond': 'bond-eno1', 'mtu': 9000, 'subnet': None, 'address': None, 'dhcp': False, 'dhcp_range': None,
       'dhcp_hosts': []}


def hook_data(spec):
    return '<hookData>%s</hookData>' % build_switch_xml(spec)


def ip_json(*links):
    """`ip -json -details address show` for links given as (name, kind, master, addresses)."""
    return json.dumps([{'ifname': name, 'master': master, 'linkinfo': {'info_kind': kind} if kind else None,
                        'addr_info': [{'local': a.split('/')[0], 'prefixlen': int(a.split('/')[1]), 'scope': 'global'}
                                      for a in addresses] + [{'local': 'fe80::1', 'prefixlen': 64, 'scope': 'link'}]}
                       for name, kind, master, addresses in links])


NICS = links_by_name(ip_json(('lo', None, None, []), ('eth0', None, None, ['10.0.0.5/24']),
                             ('eno1', None, None, []), ('eno2', None, None, [])))


def test_read_switch_from_the_hook_data():
    assert read_switch(hook_data(OWN)) == {'name': 'lan', 'bridge': 'br-eno1', 'uplinks': ['eno1', 'eno2'],
                                           'bond': 'bond-eno1', 'mtu': 9000}


@pytest.mark.parametrize('spec', [dict(OWN, host_bridge=True), dict(OWN, mode='nat', subnet='10.1.0.0/24', address='10.1.0.1')])
def test_read_switch_ignores_networks_without_an_own_bridge(spec):
    assert read_switch(hook_data(spec)) is None


def test_links_by_name_keeps_addresses_that_carry_traffic():
    assert NICS['eth0'] == {'kind': None, 'master': None, 'addresses': ['10.0.0.5/24']}
    assert NICS['eno1']['addresses'] == []


def test_start_builds_a_bond_of_several_uplinks_under_the_bridge():
    switch = read_switch(hook_data(OWN))
    assert start_commands(switch, NICS) == [
        ['link', 'add', 'name', 'br-eno1', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0'],
        ['link', 'add', 'name', 'bond-eno1', 'type', 'bond', 'mode', 'active-backup', 'miimon', '100'],
        ['link', 'set', 'eno1', 'down'], ['link', 'set', 'eno1', 'master', 'bond-eno1'],
        ['link', 'set', 'eno2', 'down'], ['link', 'set', 'eno2', 'master', 'bond-eno1'],
        ['link', 'set', 'eno1', 'mtu', '9000', 'up'], ['link', 'set', 'eno2', 'mtu', '9000', 'up'],
        ['link', 'set', 'bond-eno1', 'mtu', '9000', 'up'],
        ['link', 'set', 'bond-eno1', 'master', 'br-eno1'],
        ['link', 'set', 'br-eno1', 'mtu', '9000', 'up']]


def test_start_puts_one_uplink_straight_into_the_bridge():
    switch = dict(read_switch(hook_data(OWN)), uplinks=['eno1'], bond=None, mtu=None)
    assert start_commands(switch, NICS) == [
        ['link', 'add', 'name', 'br-eno1', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0'],
        ['link', 'set', 'eno1', 'up'], ['link', 'set', 'eno1', 'master', 'br-eno1'], ['link', 'set', 'br-eno1', 'up']]


def test_start_again_only_brings_things_up():
    switch = dict(read_switch(hook_data(OWN)), uplinks=['eno1'], bond=None, mtu=None)
    built = links_by_name(ip_json(('br-eno1', 'bridge', None, []), ('eno1', None, 'br-eno1', [])))
    assert start_commands(switch, built) == [['link', 'set', 'eno1', 'up'], ['link', 'set', 'br-eno1', 'up']]


@pytest.mark.parametrize('links, message', [
    ([('eno1', None, None, [])], 'uplink eno2 does not exist on this host'),
    ([('eno1', None, None, []), ('eno2', None, None, ['192.0.2.7/24'])],
     'uplink eno2 carries addresses of this host (192.0.2.7/24): putting it into a bridge would cut them off'),
    ([('eno1', None, 'br0', []), ('eno2', None, None, [])], 'uplink eno1 is already a port of br0'),
    ([('eno1', 'bridge', None, []), ('eno2', None, None, [])], 'uplink eno1 is a bridge, not a NIC'),
    ([('eno1', None, None, []), ('eno2', None, None, []), ('br-eno1', 'veth', None, [])],
     'br-eno1 exists on this host and is not a bridge'),
])
def test_start_refuses_before_doing_anything(links, message):
    with pytest.raises(HookError) as caught:
        start_commands(read_switch(hook_data(OWN)), links_by_name(ip_json(*links)))
    assert message in str(caught.value)


def test_stop_removes_only_what_is_there():
    switch = read_switch(hook_data(OWN))
    built = links_by_name(ip_json(('br-eno1', 'bridge', None, []), ('bond-eno1', 'bond', 'br-eno1', [])))
    assert stop_commands(switch, built) == [['link', 'del', 'bond-eno1'], ['link', 'del', 'br-eno1']]
    assert stop_commands(switch, NICS) == []


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
        if args[:2] == ['link', 'add']:
            self.links.append((args[3], args[5], None, []))
        if self.fail_on and self.fail_on in args:
            raise HookError('ip %s: failed' % ' '.join(args))
        return ''


def run_hook(monkeypatch, fake, *argv):
    monkeypatch.setattr(switch_hook, '_ip', fake)
    err = io.StringIO()
    monkeypatch.setattr(switch_hook.sys, 'stderr', err)
    return main(list(argv), io.StringIO(hook_data(OWN))), err.getvalue()


def test_a_failed_start_removes_what_it_made(monkeypatch):
    fake = FakeIp([('eno1', None, None, []), ('eno2', None, None, [])], fail_on='bond')
    assert run_hook(monkeypatch, fake, 'lan', 'start', 'begin', '-') == \
        (1, 'virtual switch lan: ip link add name bond-eno1 type bond mode active-backup miimon 100: failed\n')
    assert fake.calls[-2:] == [['link', 'del', 'bond-eno1'], ['link', 'del', 'br-eno1']]


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
