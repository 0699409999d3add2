#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: discovery_info
short_description: Where the discovery of bare-metal nodes got to, and what they reported
version_added: 0.2.0
description:
  - For each MAC address of O(macs), whether the node is registered (with its registration), and otherwise where
    its network boot stopped. C(no DHCP request), C(DHCP lease but no boot file fetched), C(boot script fetched
    but no kernel), C(kernel fetched but no report), C(report refused).
  - Reads the registrations directory, the receiver's request log and, through libvirt (O(uri)), the DHCP leases
    of the provisioning network O(network).
  - Can O(wait) until every node is registered, up to O(timeout) seconds.
author:
  - Virtual Iron revival team (@virtualiron)
extends_documentation_fragment:
  - virtualiron.infra.connection
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Reads only.
options:
  macs: {description: MAC addresses of the nodes (their boot NIC's)., type: list, elements: str, required: true}
  network: {description: The provisioning network (libvirt) whose DHCP leases to read., type: str, required: true}
  registrations: {description: Directory of node registrations., type: path, default: /var/lib/virtualiron/registrations}
  log: {description: The receiver's request log., type: path, default: /var/lib/virtualiron/receiver/requests.log}
  wait: {description: Wait until every node is registered (or O(timeout))., type: bool, default: false}
  timeout: {description: Seconds to wait at most., type: int, default: 300}
'''

EXAMPLES = r'''
- name: Wait for two nodes to register
  virtualiron.infra.discovery_info:
    network: provisioning
    macs: ["52:54:00:a1:b2:c3", "52:54:00:a1:b2:c4"]
    wait: true
    timeout: 180
  register: discovery
'''

RETURN = r'''
nodes:
  description: One entry per MAC, in the order of O(macs).
  returned: always
  type: list
  elements: dict
  contains:
    mac: {description: The MAC address., type: str}
    name: {description: The node's name (node-<mac without colons>)., type: str, sample: node-525400a1b2c3}
    stage: {description: "registered, or where the boot stopped.", type: str, sample: kernel fetched but no report}
    detail: {description: The last thing seen of the node., type: str}
    registration: {description: "The registration, when registered.", type: dict}
waited:
  description: Seconds waited.
  returned: always
  type: float
'''

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal.discovery import (
    boot_stage, node_name, read_request_log)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    CONNECTION_ARGUMENT_SPEC, libvirt, libvirt_session, lookup_or_none)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.host.registration import (
    REGISTRATION_SUFFIX, read_registration)

ARGUMENT_SPEC = dict(
    CONNECTION_ARGUMENT_SPEC,
    macs=dict(type='list', elements='str', required=True),
    network=dict(type='str', required=True),
    registrations=dict(type='path', default='/var/lib/virtualiron/registrations'),
    log=dict(type='path', default='/var/lib/virtualiron/receiver/requests.log'),
    wait=dict(type='bool', default=False),
    timeout=dict(type='int', default=300),
)


def registration_of(directory, mac):
    path = os.path.join(directory, node_name(mac) + REGISTRATION_SUFFIX)
    try:
        return read_registration(path) if os.path.lexists(path) else None
    except VirtualIronError:
        return None


def nodes_status(conn, params, macs):
    net = lookup_or_none(conn.networkLookupByName, params['network'], libvirt.VIR_ERR_NO_NETWORK)
    leases = [dict(mac=lease.get('mac'), ipaddr=lease.get('ipaddr')) for lease in (net.DHCPLeases() if net else [])]
    requests = read_request_log(params['log'])
    nodes = []
    for mac in macs:
        registration = registration_of(params['registrations'], mac)
        stage, detail = boot_stage(mac, leases, requests, registration is not None)
        nodes.append(dict(mac=mac, name=node_name(mac), stage=stage, detail=detail, registration=registration))
    return nodes


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    macs = [m.lower() for m in module.params['macs']]
    started = time.time()
    with libvirt_session(module) as conn:
        while True:
            nodes = nodes_status(conn, module.params, macs)
            done = all(n['stage'] == 'registered' for n in nodes)
            if done or not module.params['wait'] or time.time() - started > module.params['timeout']:
                break
            time.sleep(1)
    module.exit_json(changed=False, nodes=nodes, waited=round(time.time() - started, 1))


if __name__ == '__main__':
    main()
