#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: virtual_switch_info
short_description: List the virtual switches of a host with their mode, uplinks, addresses, leases and servers
version_added: 0.1.0
description:
  - Returns every virtual switch (libvirt network) of a hypervisor host, or the named ones, in the words
    M(virtualiron.infra.virtual_switch) takes, with the DHCP leases the switch has handed out and the
    virtual servers that have a NIC on it.
author:
  - Virtual Iron revival team (@virtualiron)
extends_documentation_fragment:
  - virtualiron.infra.connection
  - virtualiron.infra.attributes.info_module
options:
  names:
    description:
      - Only these switches. A name that does not exist is reported in RV(missing), not as an error.
      - All switches of the host when not set.
    type: list
    elements: str
    aliases: [name]
  query:
    description:
      - A JMESPath expression over the result (with key C(switches)); its value is returned in RV(query_result).
      - For example V(switches[?mode=='bridged'].name).
    type: str
requirements:
  - jmespath (for O(query))
seealso:
  - module: virtualiron.infra.virtual_switch
  - module: virtualiron.infra.virtual_server_info
'''

EXAMPLES = r'''
- name: All switches of a host
  virtualiron.infra.virtual_switch_info:
    uri: qemu+ssh://root@kvm1.example.com/system
  register: host1

- name: The addresses the backend switch has handed out
  virtualiron.infra.virtual_switch_info:
    uri: qemu+ssh://root@kvm1.example.com/system
    name: backend
    query: "switches[0].leases[].{mac: mac, ip: ip}"
  register: backend_leases
'''

RETURN = r'''
switches:
  description:
    - The switches, sorted by name, each as M(virtualiron.infra.virtual_switch) returns
      RV(virtualiron.infra.virtual_switch#module:switch).
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: Name., type: str, sample: backend}
    mode: {description: "isolated, private, bridged or nat (else libvirt's forward mode).", type: str, sample: private}
    bridge: {description: The Linux bridge of the switch on the host., type: str, sample: virbr3}
    host_bridge:
      description: For a bridged switch, whether it stands on a bridge the host provides (true) or on its own (false).
      type: bool
    uplinks:
      description: Host NICs of a bridged switch (the slaves of its bridge's bond, or its NIC ports).
      type: list
      elements: str
    bond: {description: The bond of the uplinks of a bridged switch's own bridge., type: str}
    subnet: {description: IPv4 subnet., type: str, sample: 192.168.100.0/24}
    address: {description: The host's address on the switch., type: str, sample: 192.168.100.1}
    dhcp: {description: Whether the switch serves DHCP., type: bool}
    dhcp_range: {description: Addresses DHCP hands out., type: dict}
    dhcp_hosts: {description: "Static leases: mac, ip and name.", type: list, elements: dict}
    mtu: {description: MTU when set., type: int}
    active: {description: Running., type: bool}
    autostart: {description: Starts with the host., type: bool}
    persistent: {description: Defined (not a transient network)., type: bool}
    leases:
      description: Current DHCP leases of a running switch that serves DHCP.
      type: list
      elements: dict
      contains:
        mac: {description: MAC address of the client., type: str, sample: "52:54:00:1f:cf:5c"}
        ip: {description: Leased address., type: str, sample: 192.168.100.110}
        prefix: {description: Prefix length of the subnet., type: int, sample: 24}
        hostname: {description: "Host name the client sent, if any.", type: str}
        client_id: {description: "DHCP client identifier, if any.", type: str}
        expires: {description: "When the lease expires, in seconds since the epoch.", type: int}
    servers: {description: Names of the virtual servers with a NIC on the switch (defined or running)., type: list, elements: str}
missing:
  description: Requested names that are not defined on the host.
  returned: always
  type: list
  elements: str
query_result:
  description: The value of O(query).
  returned: when O(query) is set
  type: raw
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    CONNECTION_ARGUMENT_SPEC, libvirt_session)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.query import exit_with_query, named_or_all
from ansible_collections.virtualiron.infra.plugins.module_utils.switch.converger import (
    describe_switch, find_switch, known_interfaces, servers_by_switch)


def gather(conn, names):
    networks, missing = named_or_all(names, lambda name: find_switch(conn, name), lambda: conn.listAllNetworks(0))
    # Read once for all switches: the host's bridges, and which servers are on which switch.
    interfaces, users = known_interfaces(conn), servers_by_switch(conn)
    switches = [describe_switch(conn, net, interfaces, users) for net in networks]
    return sorted(switches, key=lambda s: s['name']), missing


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CONNECTION_ARGUMENT_SPEC,
            names=dict(type='list', elements='str', aliases=['name']),
            query=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    with libvirt_session(module) as conn:
        switches, missing = gather(conn, module.params['names'])
    exit_with_query(module, dict(changed=False, switches=switches, missing=missing), 'switches')


if __name__ == '__main__':
    main()
