# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""switch_xml: a switch's spec <-> libvirt network XML, addressing checks, and the host's bridges."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest
from lxml import etree

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.switch.network_xml import (
    bridge_user, build_switch_xml, choose_bridge, comparable, default_dhcp_range, desired_switch, dhcp_host_changes,
    find_bridge, overlapping_switch, parse_interface_tree, parse_switch, update_switch_xml)

# A NAT network as libvirt keeps it, with things the collection does not manage (TFTP, boot file, DNS host).
LIBVIRT_NAT = """<network>
  <name>backend</name>
  <uuid>9b1b6a52-1a2b-4c3d-8e9f-0a1b2c3d4e5f</uuid>
  <forward mode='nat'><nat><port start='1024' end='65535'/></nat></forward>
  <bridge name='virbr3' stp='on' delay='0'/>
  <mac address='52:54:00:0a:0b:0c'/>
  <dns><host ip='192.168.100.5'><hostname>db</hostname></host></dns>
  <ip address='192.168.100.1' netmask='255.255.255.0'>
    <tftp root='/srv/tftp'/>
    <dhcp>
      <range start='192.168.100.128' end='192.168.100.254'/>
      <host mac='52:54:00:00:00:10' name='db1' ip='192.168.100.10'/>
      <bootp file='pxelinux.0'/>
    </dhcp>
  </ip>
  <ip family='ipv6' address='fd00::1' prefix='64'/>
</network>"""

BRIDGE_WITH_BOND = """<interface type='bridge' name='br0'><bridge stp='off'>
  <interface type='bond' name='bond0'><bond mode='802.3ad'>
    <interface type='ethernet' name='eno1'/><interface type='ethernet' name='eno2'/>
  </bond></interface>
  <interface type='ethernet' name='vnet3'/>
</bridge></interface>"""
BRIDGE_WITH_NIC = """<interface type='bridge' name='br-lan'><bridge>
  <interface type='ethernet' name='lan0'/><interface type='ethernet' name='vnet0'/></bridge></interface>"""
EMPTY_BRIDGE = "<interface type='bridge' name='br-empty'><bridge/></interface>"
NIC = "<interface type='ethernet' name='eth0'><mac address='52:54:00:01:02:03'/></interface>"
NIC2 = "<interface type='ethernet' name='eth1'><mac address='52:54:00:01:02:04'/></interface>"
INTERFACES = [parse_interface_tree(x) for x in (BRIDGE_WITH_BOND, BRIDGE_WITH_NIC, EMPTY_BRIDGE, NIC, NIC2)]


def request(**options):
    """Module options (unset = None) for switch 'backend' unless named otherwise."""
    base = dict.fromkeys(('mode', 'uplinks', 'bridge', 'subnet', 'dhcp', 'dhcp_range', 'dhcp_hosts', 'mtu'))
    base['name'] = 'backend'
    base.update(options)
    return base


def tree(xml):
    return etree.fromstring(xml.encode(), etree.XMLParser(remove_blank_text=True))


def new(**options):
    return desired_switch(request(**options), None)


# ---------------------------------------------------------------- parsing

def test_parse_nat_network():
    spec = parse_switch(LIBVIRT_NAT)
    assert spec == {
        'name': 'backend', 'uuid': '9b1b6a52-1a2b-4c3d-8e9f-0a1b2c3d4e5f', 'mode': 'nat', 'bridge': 'virbr3',
        'host_bridge': None, 'uplinks': [], 'bond': None, 'mtu': None, 'subnet': '192.168.100.0/24',
        'address': '192.168.100.1', 'dhcp': True,
        'dhcp_range': {'start': '192.168.100.128', 'end': '192.168.100.254'},
        'dhcp_hosts': [{'mac': '52:54:00:00:00:10', 'ip': '192.168.100.10', 'name': 'db1'}],
    }


@pytest.mark.parametrize('xml, mode', [
    ("<network><name>a</name><bridge name='br-a'/></network>", 'isolated'),
    ("<network><name>a</name><dns enable='no'/><ip address='10.0.0.1' prefix='24'/></network>", 'isolated'),
    ("<network><name>a</name><ip address='10.0.0.1' prefix='24'/></network>", 'private'),
    ("<network><name>a</name><forward mode='bridge'/><bridge name='br0'/></network>", 'bridged'),
    ("<network><name>a</name><forward/><ip address='10.0.0.1' prefix='24'/></network>", 'nat'),
    ("<network><name>a</name><forward mode='route'/><ip address='10.0.0.1' prefix='24'/></network>", 'route'),
])
def test_parse_mode(xml, mode):
    assert parse_switch(xml)['mode'] == mode


# ---------------------------------------------------------------- building

def test_build_isolated_with_dhcp_turns_dns_off():
    root = tree(build_switch_xml(new(mode='isolated', bridge='vi-iso', subnet='10.1.0.0/24', dhcp=True)))
    assert root.find('forward') is None
    assert root.find('bridge').get('name') == 'vi-iso'
    assert root.find('dns').get('enable') == 'no'
    assert dict(root.find('ip').attrib) == {'address': '10.1.0.1', 'prefix': '24'}
    assert dict(root.find('ip/dhcp/range').attrib) == {'start': '10.1.0.128', 'end': '10.1.0.254'}


def test_build_isolated_without_subnet_is_bare_layer_2():
    root = tree(build_switch_xml(new(mode='isolated')))
    assert [e.tag for e in root] == ['name']


def test_build_private_keeps_dns_and_serves_dhcp_by_default():
    spec = new(mode='private', subnet='10.2.0.254/24', mtu=9000,
               dhcp_hosts=[{'mac': '52:54:00:AA:00:01', 'ip': '10.2.0.5', 'name': 'web1'}])
    root = tree(build_switch_xml(spec))
    assert root.find('dns') is None and root.find('forward') is None
    assert root.find('ip').get('address') == '10.2.0.254'
    assert root.find('mtu').get('size') == '9000'
    assert dict(root.find('ip/dhcp/host').attrib) == {'mac': '52:54:00:aa:00:01', 'ip': '10.2.0.5', 'name': 'web1'}
    assert parse_switch(build_switch_xml(spec)) == dict(spec, uuid=None)


def test_build_nat_and_bridged():
    nat = tree(build_switch_xml(new(mode='nat', subnet='10.3.0.0/16')))
    assert nat.find('forward').get('mode') == 'nat'
    assert nat.find('ip').get('prefix') == '16'
    bridged = tree(build_switch_xml(dict(new(mode='bridged', uplinks=['eno1']), bridge='br0')))
    assert [(e.tag, dict(e.attrib)) for e in bridged[1:]] == [('forward', {'mode': 'bridge'}), ('bridge', {'name': 'br0'})]


def test_round_trip_of_every_mode():
    for options in (dict(mode='isolated', subnet='10.9.0.0/24', dhcp=True), dict(mode='isolated'),
                    dict(mode='private', subnet='10.9.0.0/24', dhcp=False), dict(mode='nat', subnet='10.9.0.0/24')):
        spec = new(**options)
        assert comparable(parse_switch(build_switch_xml(spec))) == comparable(spec), options


# ---------------------------------------------------------------- updating libvirt's XML

def test_update_keeps_what_it_does_not_manage():
    current = parse_switch(LIBVIRT_NAT)
    spec = desired_switch(request(dhcp_range={'start': '192.168.100.200', 'end': '192.168.100.210'}), current)
    root = tree(update_switch_xml(LIBVIRT_NAT, spec))
    assert root.findtext('uuid') == current['uuid']
    assert root.find('mac').get('address') == '52:54:00:0a:0b:0c'
    assert root.find('ip/tftp').get('root') == '/srv/tftp'
    assert [e.tag for e in root.find('ip/dhcp')] == ['range', 'host', 'bootp']
    assert root.find('ip/dhcp/range').get('start') == '192.168.100.200'
    assert root.find("ip[@family='ipv6']") is not None
    assert root.find('dns/host/hostname').text == 'db'
    assert root.find('forward/nat/port') is not None   # same mode: the forward element is kept as it was
    assert root.find('ip').get('netmask') is None and root.find('ip').get('prefix') == '24'


def test_update_to_bridged_drops_what_libvirt_refuses_there():
    current = parse_switch(LIBVIRT_NAT)
    spec = dict(desired_switch(request(mode='bridged', uplinks=['eno1']), current), bridge='br0')
    root = tree(update_switch_xml(LIBVIRT_NAT, spec))
    assert [e.tag for e in root] == ['name', 'uuid', 'forward', 'bridge']
    assert dict(root.find('bridge').attrib) == {'name': 'br0'}


def test_update_to_private_removes_forward():
    current = parse_switch(LIBVIRT_NAT)
    spec = desired_switch(request(mode='private', subnet='10.7.0.0/24', dhcp_hosts=[]), current)
    root = tree(update_switch_xml(LIBVIRT_NAT, spec))
    assert root.find('forward') is None
    assert root.find('bridge').get('name') == 'virbr3'   # the bridge libvirt made keeps its name
    assert root.find('ip').get('address') == '10.7.0.1'


def test_update_isolated_to_private_turns_dns_back_on():
    xml = build_switch_xml(new(mode='isolated', subnet='10.1.0.0/24', dhcp=True))
    spec = desired_switch(request(mode='private'), parse_switch(xml))
    assert tree(update_switch_xml(xml, spec)).find('dns') is None


# ---------------------------------------------------------------- desired state and checks

def test_unset_options_keep_current_values():
    current = parse_switch(LIBVIRT_NAT)
    assert comparable(desired_switch(request(), current)) == comparable(current)


def test_new_subnet_moves_the_default_dhcp_range():
    current = parse_switch(LIBVIRT_NAT)
    spec = desired_switch(request(subnet='10.8.0.0/25', dhcp_hosts=[]), current)
    assert spec['dhcp_range'] == {'start': '10.8.0.64', 'end': '10.8.0.126'}
    assert spec['address'] == '10.8.0.1'


@pytest.mark.parametrize('subnet, expected', [
    ('10.0.0.0/24', {'start': '10.0.0.128', 'end': '10.0.0.254'}),
    ('10.0.0.0/30', {'start': '10.0.0.2', 'end': '10.0.0.2'}),
    ('172.16.0.0/12', {'start': '172.24.0.0', 'end': '172.31.255.254'}),
])
def test_default_dhcp_range(subnet, expected):
    assert default_dhcp_range(subnet, subnet.split('/')[0][:-1] + '1') == expected


def test_default_dhcp_range_avoids_the_host_address():
    assert default_dhcp_range('10.0.0.0/24', '10.0.0.254') == {'start': '10.0.0.1', 'end': '10.0.0.127'}
    assert new(mode='private', subnet='10.0.0.200/24')['dhcp_range'] == {'start': '10.0.0.1', 'end': '10.0.0.127'}


def test_isolated_serves_dhcp_only_when_asked():
    assert not new(mode='isolated', subnet='10.0.0.0/24')['dhcp']
    assert new(mode='isolated', subnet='10.0.0.0/24', dhcp_range={'start': '10.0.0.9', 'end': '10.0.0.19'})['dhcp']
    assert new(mode='private', subnet='10.0.0.0/24')['dhcp']
    assert not new(mode='private', subnet='10.0.0.0/24', dhcp=False)['dhcp_range']


@pytest.mark.parametrize('options, message', [
    (dict(), 'switch backend does not exist yet: say its mode'),
    (dict(mode='mesh'), "unknown switch mode 'mesh'"),
    (dict(name='a/b', mode='isolated'), "invalid virtual switch name 'a/b'"),
    (dict(mode='private'), 'a private switch needs a subnet'),
    (dict(mode='nat', subnet='nonsense'), "subnet: 'nonsense' is not a subnet"),
    (dict(mode='nat', subnet='fd00::/64'), 'only IPv4 subnets'),
    (dict(mode='nat', subnet='10.0.0.0/31'), 'is too small'),
    (dict(mode='nat', subnet='10.0.0.255/24'), 'cannot be the broadcast address'),
    (dict(mode='isolated', dhcp=True), 'DHCP on a switch needs a subnet'),
    (dict(mode='nat', subnet='10.0.0.0/24', dhcp_range={'start': '10.0.0.50', 'end': '10.0.0.40'}),
     'dhcp_range starts at 10.0.0.50, after its end 10.0.0.40'),
    (dict(mode='nat', subnet='10.0.0.0/24', dhcp_range={'start': '10.0.0.1', 'end': '10.0.0.40'}),
     "includes the host's own address 10.0.0.1"),
    (dict(mode='nat', subnet='10.0.0.0/24', dhcp_range={'start': '10.0.0.2', 'end': '10.0.0.255'}),
     'dhcp_range end: 10.0.0.255 is not a host address of subnet 10.0.0.0/24'),
    (dict(mode='nat', subnet='10.0.0.0/24', dhcp_range={'start': 'x', 'end': '10.0.0.9'}), "'x' is not an IPv4 address"),
    (dict(mode='nat', subnet='10.0.0.0/24', dhcp_hosts=[{'mac': '52:54:00:12:34', 'ip': '10.0.0.5'}]),
     "invalid MAC address '52:54:00:12:34'"),
    (dict(mode='nat', subnet='10.0.0.0/24', dhcp_hosts=[{'mac': '52:54:00:12:34:56', 'ip': '10.0.0.1'}]),
     "10.0.0.1 is the host's own address"),
    (dict(mode='nat', subnet='10.0.0.0/24', dhcp_hosts=[{'mac': '52:54:00:12:34:56', 'ip': '10.0.1.1'}]),
     'not a host address of subnet'),
    (dict(mode='nat', subnet='10.0.0.0/24', dhcp_hosts=[{'mac': '52:54:00:12:34:56', 'ip': '10.0.0.5'},
                                                        {'mac': '52:54:00:12:34:56', 'ip': '10.0.0.6'}]),
     'dhcp_hosts lists MAC 52:54:00:12:34:56'),
    (dict(mode='bridged'), 'a bridged switch needs 1 to 8 uplinks'),
    (dict(mode='bridged', uplinks=['e%d' % i for i in range(9)]), 'needs 1 to 8 uplinks (host NICs), got 9'),
    (dict(mode='bridged', uplinks=['eno1', 'eno1']), 'uplinks lists a NIC more than once'),
    (dict(mode='bridged', uplinks=['eno1'], subnet='10.0.0.0/24', dhcp=True),
     'a bridged switch has no addresses of its own'),
    (dict(mode='nat', subnet='10.0.0.0/24', uplinks=['eno1']), 'only a bridged switch has uplinks'),
    (dict(mode='isolated', bridge='a-bridge-name-too-long'), "invalid bridge name 'a-bridge-name-too-long'"),
    (dict(mode='isolated', bridge='br0 type'), "invalid bridge name 'br0 type'"),
    (dict(mode='isolated', bridge='-br'), "invalid bridge name '-br'"),
    (dict(mode='isolated', bridge='br:0'), "invalid bridge name 'br:0'"),
    (dict(mode='isolated', mtu=9), 'mtu must be between 68 and 65535'),
])
def test_bad_requests(options, message):
    with pytest.raises(VirtualIronError) as caught:
        new(**options)
    assert message in str(caught.value)


HOST = {'mac': '52:54:00:12:34:56', 'ip': '10.0.0.5'}


@pytest.mark.parametrize('options, message', [
    (dict(mode='private', subnet='224.0.0.0/24'), 'subnet: 224.0.0.0/24 is a multicast range, not a subnet for hosts'),
    (dict(mode='nat', subnet='239.1.2.0/24'), 'is a multicast range'),
    (dict(mode='nat', subnet='127.0.0.0/24'), 'is a loopback range'),
    (dict(mode='nat', subnet='240.0.0.0/24'), 'is a reserved range'),
    (dict(mode='nat', subnet='0.0.0.0/24'), 'is a unspecified range'),
    (dict(mode='nat', subnet='10.0.0.0/24', dhcp_hosts=[dict(HOST, name='db1\ndhcp-range=10.0.0.9')]),
     "dhcp_hosts 52:54:00:12:34:56 name must not contain control characters, got 'db1\\ndhcp-range=10.0.0.9'"),
    (dict(mode='nat', subnet='10.0.0.0/24', dhcp_hosts=[dict(HOST, name='db1,10.0.0.9')]), 'invalid dhcp_hosts'),
    (dict(mode='nat', subnet='10.0.0.0/24', dhcp_hosts=[dict(HOST, name='-db1')]), 'invalid dhcp_hosts'),
    (dict(mode='nat', subnet='10.0.0.0/24', dhcp_hosts=[dict(HOST, name='db 1')]), 'invalid dhcp_hosts'),
    (dict(mode='bridged', uplinks=['eno1 master'], bridge='lan'), "invalid uplink name 'eno1 master'"),
    (dict(mode='bridged', uplinks=['eno1', '../x']), "invalid uplink name '../x'"),
    (dict(mode='bridged', uplinks=['vnet3']), "uplink vnet3 is a name libvirt gives a server's NIC, not a host NIC"),
])
def test_bad_input_the_old_checks_let_through(options, message):
    with pytest.raises(VirtualIronError) as caught:
        new(**options)
    assert message in str(caught.value)


def test_own_bridge_metadata_that_is_no_number_is_a_clear_error():
    xml = build_switch_xml(dict(choose(['eth0'], mtu=1400), name='lan')).replace("size=\"1400\"", "size=\"big\"")
    with pytest.raises(VirtualIronError) as caught:
        parse_switch(xml)
    assert "switch lan: the switch's MTU 'big' is not a number from 68 to 65535" in str(caught.value)


def test_bridge_user():
    own = dict(choose(['eth0'], bridge='lan'), name='lan')
    on_host = dict(choose(['lan0']), name='office')
    nat = dict(new(mode='nat', subnet='10.9.0.0/24', bridge='virbr1'), name='outbound')
    others = [own, on_host, nat]
    assert bridge_user(dict(own, name='storage'), others) == 'lan'                 # another switch's own bridge
    assert bridge_user(dict(own, name='storage', bridge='br-lan'), others) == 'office'   # the host's, as own
    assert bridge_user(dict(own, name='storage', bridge='virbr1'), others) == 'outbound'  # libvirt's
    assert bridge_user(dict(on_host, name='storage', bridge='lan', host_bridge=True), others) == 'lan'
    assert bridge_user(dict(nat, name='storage', bridge='lan'), others) == 'lan'
    assert bridge_user(dict(on_host, name='office2'), others) is None              # the host's bridge is shared
    assert bridge_user(own, others) is None and bridge_user(new(mode='isolated'), others) is None


def test_overlapping_switch():
    spec = new(mode='nat', subnet='10.0.0.0/16')
    assert overlapping_switch(spec, [('backend', '10.0.0.0/24'), ('other', None), ('lan', '10.1.0.0/24')]) is None
    assert overlapping_switch(spec, [('dmz', '10.0.200.0/24')]) == ('dmz', '10.0.200.0/24')
    assert overlapping_switch(new(mode='isolated'), [('dmz', '10.0.200.0/24')]) is None


def test_dhcp_host_changes_only_when_nothing_else_changes():
    current = parse_switch(LIBVIRT_NAT)
    added = {'mac': '52:54:00:00:00:11', 'ip': '192.168.100.11', 'name': None}
    hosts = desired_switch(request(dhcp_hosts=[added]), current)
    assert dhcp_host_changes(current, hosts) == (current['dhcp_hosts'], [added])
    assert dhcp_host_changes(current, desired_switch(request(dhcp_hosts=[added], mtu=1400), current)) is None


# ---------------------------------------------------------------- the host's bridges

def test_parse_interface_nests_bond_slaves():
    bridge = parse_interface_tree(BRIDGE_WITH_BOND)
    assert bridge['members'][0] == {'name': 'bond0', 'type': 'bond', 'members': [
        {'name': 'eno1', 'type': 'ethernet', 'members': []}, {'name': 'eno2', 'type': 'ethernet', 'members': []}]}


def test_find_bridge():
    assert find_bridge(INTERFACES, ['lan0']) == 'br-lan'
    assert find_bridge(INTERFACES, ['eno2', 'eno1']) == 'br0'
    assert find_bridge(INTERFACES, ['eno1']) is None      # a bond's slave is not a bridge port
    assert find_bridge(INTERFACES, ['eno1', 'lan0']) is None
    assert find_bridge(INTERFACES, ['eth0']) is None


def choose(uplinks, bridge=None, current=None, others=(), mtu=None):
    return choose_bridge(dict(new(mode='bridged', uplinks=uplinks), bridge=bridge, mtu=mtu), INTERFACES, current,
                         list(others))


def test_choose_bridge_takes_the_hosts_bridge_over_the_uplinks():
    for bridge in (None, 'br0'):
        spec = choose(['eno1', 'eno2'], bridge)
        assert (spec['bridge'], spec['host_bridge'], spec['bond']) == ('br0', True, None)


def test_choose_bridge_gives_a_switch_its_own_bridge_where_the_host_has_none():
    spec = choose(['eth0'])
    assert (spec['bridge'], spec['host_bridge'], spec['bond']) == ('br-eth0', False, None)
    spec = choose(['eth0', 'eth1'], bridge='lan', mtu=9000)
    assert (spec['bridge'], spec['host_bridge'], spec['bond'], spec['mtu']) == ('lan', False, 'bond-eth0', 9000)


def test_choose_bridge_keeps_the_switchs_own_bridge():
    current = choose(['eth0'], bridge='lan')
    INTERFACES.append(parse_interface_tree("<interface type='bridge' name='lan'><bridge>"
                                           "<interface type='ethernet' name='eth0'/></bridge></interface>"))
    try:
        again = choose(['eth0'], current=current)
        assert (again['bridge'], again['host_bridge']) == ('lan', False)
    finally:
        INTERFACES.pop()


@pytest.mark.parametrize('uplinks, bridge, mtu, message', [
    (['eth9'], None, None, 'uplink eth9 does not exist on the host (its interfaces: bond0, br-empty, br-lan, br0, '
                           'eno1, eno2, eth0, eth1, lan0)'),
    (['eth0'], 'br-empty', None, 'br-empty is already an interface of the host, and not one over eth0: name a new '
                                 'bridge'),
    (['eth0', 'lan0'], None, None, 'uplink lan0 is a port of br-lan on the host'),
    (['eno1'], None, None, 'uplink eno1 is a port of bond0 on the host'),
    (['bond0'], 'new', None, 'uplink bond0 is a bond, not a NIC'),
    (['lan0'], None, 1400, "bridge br-lan is the host's: the host sets its MTU"),
])
def test_choose_bridge_says_why_it_cannot(uplinks, bridge, mtu, message):
    with pytest.raises(VirtualIronError) as caught:
        choose(uplinks, bridge, mtu=mtu)
    assert message in str(caught.value)


def test_choose_bridge_refuses_an_uplink_another_switch_owns():
    other = dict(choose(['eth0']), name='frontend')
    with pytest.raises(VirtualIronError) as caught:
        choose(['eth0'], bridge='lan2', others=[other])
    assert 'uplink eth0 is taken by switch frontend, which has its own bridge on it' in str(caught.value)


def test_own_bridge_lives_in_metadata_and_round_trips():
    spec = choose(['eth0', 'eth1'], bridge='lan', mtu=9000)
    xml = build_switch_xml(dict(spec, name='lan'))
    root = tree(xml)
    assert root.find('mtu') is None      # libvirt refuses <mtu> on a bridged network
    assert root.find('forward').get('mode') == 'bridge' and root.find('bridge').get('name') == 'lan'
    parsed = parse_switch(xml)
    assert (parsed['uplinks'], parsed['bond'], parsed['mtu'], parsed['host_bridge']) == \
        (['eth0', 'eth1'], 'bond-eth0', 9000, False)
    assert comparable(parsed) == comparable(dict(spec, name='lan'))
    assert comparable(dict(parsed, uplinks=['eth1', 'eth0'])) != comparable(parsed)   # the first is the primary


def test_own_bridge_metadata_leaves_other_metadata_and_goes_with_the_mode():
    xml = build_switch_xml(dict(choose(['eth0']), name='lan'))
    root = tree(xml)
    etree.SubElement(root.find('metadata'), '{urn:other}note').text = 'kept'
    nat = update_switch_xml(etree.tostring(root).decode(), new(mode='nat', subnet='10.9.0.0/24'))
    assert parse_switch(nat)['host_bridge'] is None
    assert tree(nat).find('metadata/{urn:other}note').text == 'kept'
    assert tree(nat).find('metadata/{https://virtualiron.example/xmlns/switch/1}switch') is None
    hosts = update_switch_xml(xml, dict(choose(['lan0']), name='lan'))
    assert tree(hosts).find('metadata') is None and parse_switch(hosts)['host_bridge'] is True
