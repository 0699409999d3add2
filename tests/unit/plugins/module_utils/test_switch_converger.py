# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SwitchConverger against libvirt's in-memory test hypervisor (network 'default' on 192.168.122.0/24,
host NIC eth1)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import libvirt
import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.switch.converger import SwitchConverger
from ansible_collections.virtualiron.infra.plugins.modules.virtual_switch import ARGUMENT_SPEC

BRIDGE_XML = ("<interface type='bridge' name='br-lan'><start mode='onboot'/><bridge>"
              "<interface type='ethernet' name='eth1'/></bridge></interface>")


@pytest.fixture
def switches(conn):
    """conn, cleaned of the switches and host bridges a test made."""
    yield conn
    for net in conn.listAllNetworks():
        if net.name() != 'default':
            if net.isActive():
                net.destroy()
            net.undefine()
    for iface in conn.listAllInterfaces():
        if iface.name() == 'br-lan':
            iface.undefine()


@pytest.fixture
def converge(switches):
    """Run the converger as the module's main() does, with --diff: options through the module's argument spec."""
    def run(check_mode=False, **options):
        checked = ArgumentSpecValidator(ARGUMENT_SPEC).validate(dict({'name': 'backend'}, **options))
        assert not checked.error_messages, checked.error_messages
        return SwitchConverger(switches, checked.validated_parameters, check_mode, True).run()
    return run


def server_on(conn, switch, name='web1', running=False):
    xml = ("<domain type='test'><name>%s</name><memory>65536</memory><os><type>hvm</type></os><devices>"
           "<interface type='network'><source network='%s'/></interface></devices></domain>" % (name, switch))
    dom = conn.defineXML(xml)
    if running:
        dom.create()
    return dom


def network_names(conn):
    return sorted(n.name() for n in conn.listAllNetworks())


def test_create_private_switch(converge, switches):
    result = converge(mode='private', subnet='10.1.0.0/24', autostart=True)
    assert result['changes'] == ['created', 'started', 'autostart enabled']
    net = switches.networkLookupByName('backend')
    assert net.isActive() and net.autostart()
    switch = result['switch']
    assert (switch['mode'], switch['address'], switch['dhcp'], switch['servers']) == ('private', '10.1.0.1', True, [])
    assert result['diff']['before'] == {}


def test_same_request_again_changes_nothing(converge):
    converge(mode='nat', subnet='10.1.0.0/24', mtu=1400)
    again = converge(mode='nat', subnet='10.1.0.0/24', mtu=1400)
    names_only = converge()
    assert (again['changed'], again['changes'], names_only['changed']) == (False, [], False)


def test_check_mode_creates_nothing(converge, switches):
    result = converge(check_mode=True, mode='isolated')
    assert result['changes'] == ['created', 'started']
    assert result['switch']['mode'] == 'isolated'
    assert network_names(switches) == ['default']


def test_overlapping_subnet_is_refused_before_anything_changes(converge, switches):
    with pytest.raises(VirtualIronError) as caught:
        converge(mode='nat', subnet='192.168.0.0/16')
    assert 'subnet 192.168.0.0/16 overlaps subnet 192.168.122.0/24 of switch default' in str(caught.value)
    assert network_names(switches) == ['default']


def test_bridged_switch_finds_the_host_bridge(converge, switches):
    switches.interfaceDefineXML(BRIDGE_XML)
    result = converge(mode='bridged', uplinks=['eth1'])
    assert (result['switch']['bridge'], result['switch']['uplinks']) == ('br-lan', ['eth1'])
    assert "<forward mode='bridge'/>" in switches.networkLookupByName('backend').XMLDesc(0)
    assert not converge(mode='bridged', uplinks=['eth1'])['changed']


def test_bridged_switch_without_the_hook_is_refused_and_removed(converge, switches):
    # The host has no bridge over eth1, so the switch gets its own, which the collection's network hook on the
    # host would make as libvirt starts the switch; the test driver runs no hooks.
    with pytest.raises(VirtualIronError) as caught:
        converge(mode='bridged', uplinks=['eth1'])
    assert "its bridge br-eth1 over eth1 is not there: the host lacks the collection's libvirt network hook" \
        in str(caught.value)
    assert str(caught.value).endswith('; switch backend was new, so it was removed again')
    with pytest.raises(VirtualIronError) as caught:
        converge(mode='bridged', uplinks=['eth7'])
    assert 'uplink eth7 does not exist on the host' in str(caught.value)
    assert network_names(switches) == ['default']


def test_a_switch_this_run_started_without_its_bridge_is_stopped_again(converge, switches):
    switches.networkDefineXML(
        "<network><name>backend</name><metadata><v:switch xmlns:v='https://virtualiron.example/xmlns/switch/1'>"
        "<v:uplink dev='eth1'/></v:switch></metadata><forward mode='bridge'/><bridge name='br-eth1'/></network>")
    with pytest.raises(VirtualIronError) as caught:
        converge(mode='bridged', uplinks=['eth1'])
    assert str(caught.value).endswith('or give the host a bridge over the uplinks; switch backend was stopped again')
    assert not switches.networkLookupByName('backend').isActive()


def test_bridged_switch_in_check_mode_tells_its_own_bridge(converge, switches):
    result = converge(check_mode=True, mode='bridged', uplinks=['eth1'], mtu=9000)
    assert result['changes'] == ['created', 'started']
    switch = result['switch']
    assert (switch['bridge'], switch['host_bridge'], switch['uplinks'], switch['mtu']) == ('br-eth1', False, ['eth1'], 9000)
    assert network_names(switches) == ['default']


def test_dhcp_hosts_change_live(converge, switches):
    converge(mode='private', subnet='10.1.0.0/24')
    host = {'mac': '52:54:00:00:00:10', 'ip': '10.1.0.10', 'name': 'db1'}
    result = converge(dhcp_hosts=[host])
    assert result['changes'] == ['definition updated', 'DHCP host 52:54:00:00:00:10 added (live)']
    # The test driver keeps one definition (no saved one apart from the running one, so restarts and the
    # wait while servers run are tested on the lab, in the integration target virtual_switch).
    assert "<host mac='52:54:00:00:00:10' name='db1' ip='10.1.0.10'/>" in \
        switches.networkLookupByName('backend').XMLDesc(0)
    assert converge(dhcp_hosts=[])['changes'] == ['definition updated', 'DHCP host 52:54:00:00:00:10 removed (live)']


def test_absent_refuses_while_servers_use_the_switch(converge, switches):
    converge(mode='isolated')
    server_on(switches, 'backend', name='app1')
    server_on(switches, 'backend', name='app2')
    with pytest.raises(VirtualIronError) as caught:
        converge(state='absent')
    assert 'switch backend is in use by the virtual servers app1, app2' in str(caught.value)
    assert 'backend' in network_names(switches)
    assert converge(state='absent', force=True)['changes'] == ['removed']
    assert network_names(switches) == ['default']


def test_absent_in_check_mode_and_again(converge, switches):
    converge(mode='isolated')
    assert converge(state='absent', check_mode=True)['changes'] == ['removed']
    assert 'backend' in network_names(switches)
    assert converge(state='absent')['changed']
    assert not converge(state='absent')['changed']


def test_mode_is_needed_to_create(converge, switches):
    with pytest.raises(VirtualIronError) as caught:
        converge(subnet='10.1.0.0/24')
    assert 'switch backend does not exist yet: say its mode' in str(caught.value)


def test_a_nic_still_in_a_running_server_counts_as_a_user(converge, switches):
    """A NIC removed from the definition but not yet unplugged (the guest has not acknowledged) is still on."""
    converge(mode='isolated')
    dom = server_on(switches, 'backend', name='app1', running=True)
    # The definition moves the NIC to another switch; the running server keeps it where it is.
    switches.defineXML(dom.XMLDesc(0).replace("network='backend'", "network='default'"))
    assert "network='backend'" not in switches.lookupByName('app1').XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert converge()['switch']['servers'] == ['app1']
    with pytest.raises(VirtualIronError) as caught:
        converge(state='absent')
    assert 'in use by the virtual servers app1' in str(caught.value)


def test_hook_refusal_is_told_without_libvirts_wrapping():
    from ansible_collections.virtualiron.infra.plugins.module_utils.switch.converger import hook_refusal
    error = libvirt.libvirtError('Hook script execution failed: internal error: Child process (LC_ALL=C PATH=/usr/bin '
                                 '/etc/libvirt/hooks/network.d/virtualiron-switch lan start begin -) unexpected exit '
                                 'status 1: virtual switch lan: uplink eth0 is already a port of br0\n')
    assert hook_refusal(error) == 'virtual switch lan: uplink eth0 is already a port of br0'


def test_running_without_its_bridge_waits_for_its_servers(converge, switches):
    # A switch with its own bridge that libvirt runs without it (the host lacked the hook when it started): it
    # must restart for the hook to make the bridge, which waits while a server runs on it.
    switches.networkDefineXML(
        "<network><name>backend</name><metadata><v:switch xmlns:v='https://virtualiron.example/xmlns/switch/1'>"
        "<v:uplink dev='eth1'/></v:switch></metadata><forward mode='bridge'/><bridge name='br-eth1'/></network>"
    ).create()
    server_on(switches, 'backend', running=True)
    try:
        result = converge(mode='bridged', uplinks=['eth1'])
        assert (result['changed'], result['restart_required']) == (False, True)
        assert 'or make its bridge, which would disconnect the running servers web1' in result['pending_changes'][0]
    finally:
        dom = switches.lookupByName('web1')
        dom.destroy()
        dom.undefine()


def definitions(conn):
    return dict((n.name(), n.XMLDesc(0)) for n in conn.listAllNetworks())


OWN_BRIDGE_SWITCH = ("<network><name>storage</name><metadata><v:switch xmlns:v='https://virtualiron.example/xmlns/"
                     "switch/1'><v:uplink dev='eth9'/></v:switch></metadata><forward mode='bridge'/>"
                     "<bridge name='br-store'/></network>")


@pytest.mark.parametrize('options, message', [
    # The own bridge of a stopped switch (not on the host now: its hook makes it as the switch starts).
    (dict(mode='bridged', uplinks=['eth1'], bridge='br-store'), 'bridge br-store is the bridge of switch storage'),
    (dict(mode='isolated', bridge='br-store'), 'bridge br-store is the bridge of switch storage'),
    # The bridge libvirt makes for switch default.
    (dict(mode='bridged', uplinks=['eth1'], bridge='virbr0'), 'bridge virbr0 is the bridge of switch default'),
    # Interfaces of the host, which libvirt would fail to make.
    (dict(mode='nat', subnet='10.1.0.0/24', bridge='eth1'), 'bridge eth1 is already an interface of the host'),
    (dict(mode='isolated', bridge='eth1', dhcp=False), 'bridge eth1 is already an interface of the host'),
])
def test_a_bridge_of_another_switch_or_the_host_is_refused_up_front(converge, switches, options, message):
    switches.networkDefineXML(OWN_BRIDGE_SWITCH)
    before = definitions(switches)
    with pytest.raises(VirtualIronError) as caught:
        converge(**options)
    assert message in str(caught.value)
    assert definitions(switches) == before


def test_a_new_bridge_for_a_switch_is_checked_against_the_host_only_when_it_changes(converge, switches):
    converge(mode='isolated', bridge='vi-iso')
    assert not converge(mode='isolated', bridge='vi-iso')['changed']


def test_a_dhcp_host_name_with_a_newline_is_not_stored(converge, switches):
    converge(mode='private', subnet='10.1.0.0/24')
    before = definitions(switches)
    with pytest.raises(VirtualIronError) as caught:
        converge(dhcp_hosts=[{'mac': '52:54:00:00:00:10', 'ip': '10.1.0.10', 'name': 'db1\ndhcp-host=x'}])
    assert 'dhcp_hosts 52:54:00:00:00:10 name must not contain control characters' in str(caught.value)
    assert definitions(switches) == before


@pytest.mark.parametrize('diff', [False, True])
def test_diff_only_when_asked(switches, diff):
    params = ArgumentSpecValidator(ARGUMENT_SPEC).validate({'name': 'default'}).validated_parameters
    result = SwitchConverger(switches, params, False, diff).run()
    assert (result['changed'], result['restart_required'], result['pending_changes']) == (False, False, [])
    assert result.get('diff', {}).get('before_header') == ('default' if diff else None)
