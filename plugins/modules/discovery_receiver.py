#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: discovery_receiver
short_description: Run or stop the bare-metal discovery receiver (HTTP boot files and node reports)
version_added: 0.2.0
description:
  - Runs, on the provisioning server, the receiver, a small HTTP server bound to O(address) only. It
    serves the boot directory O(root) (iPXE scripts, kernel, ramdisk) and takes the nodes' discovery reports on
    C(/report), writing each node's registration (docs/registrations.md) into O(registrations), where the
    C(virtualiron.infra.hypervisors) inventory reads it.
  - "It also takes, on C(/report), the state report of an image booted on a node it discovered (the stateless
    hypervisor's, see M(virtualiron.infra.hypervisor_image)): C(provisioned) sets the registration's C(state) and
    its C(uri), C(qemu+tls://) or C(qemu+tcp://) and the address the report came from; C(failed) removes the C(uri).
    Such a report is refused for a node never discovered (by MAC) or sent from another address than the one it was
    discovered at."
  - Every request is logged as one JSON line in O(log) (time, client, path, status, stage, MAC), which is how
    C(playbooks/provision_bare_metal.yml) tells where a node that never registered stopped.
  - The receiver is a process of its own (no service manager needed), recorded in C(receiver.pid) in O(state_dir);
    it is restarted when its settings change.
  - Runs on the provisioning server; needs Python 3. Idempotent; supports check mode.
author:
  - Virtual Iron revival team (@virtualiron)
attributes:
  check_mode:
    support: full
    description: Reports whether it would start, restart or stop the receiver.
  diff_mode:
    support: none
    description: No diff.
options:
  address:
    description: The provisioning network's address of this server; the receiver listens there only.
    type: str
    required: true
  port:
    description: TCP port.
    type: int
    default: 8080
  root:
    description: The boot directory served over HTTP.
    type: path
    required: true
  registrations:
    description: Directory of node registrations.
    type: path
    default: /var/lib/virtualiron/registrations
  log:
    description: The request log (JSON lines). Defaults to C(requests.log) in O(state_dir).
    type: path
  state_dir:
    description: Where the pid file (and, when the module runs from an Ansible payload, a copy of its code) is kept.
    type: path
    default: /var/lib/virtualiron/receiver
  netns:
    description:
      - Network namespace to run the receiver in (C(ip netns exec)), for a provisioning network that lives in one,
        as in the collection's lab. Leave it out on a real provisioning server.
    type: str
  state:
    description: V(started) or V(stopped).
    type: str
    choices: [started, stopped]
    default: started
'''

EXAMPLES = r'''
- name: Receiver on the provisioning network
  virtualiron.infra.discovery_receiver:
    address: 10.0.5.1
    root: /var/lib/virtualiron/pxe/boot
'''

RETURN = r'''
receiver:
  description: The receiver after the task; null when stopped.
  returned: always
  type: dict
  contains:
    pid: {description: Its process id (null in check mode before it starts)., type: int}
    url: {description: Its URL., type: str, sample: "http://10.0.5.1:8080"}
    log: {description: The request log., type: str}
    root: {description: The boot directory., type: str}
    registrations: {description: The registrations directory., type: str}
changes:
  description: What the task did.
  returned: always
  type: list
  elements: str
  sample: ["started"]
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal.receiver import ReceiverConverger
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.common.validation import (
    check_interface_name, check_ip_address)

ARGUMENT_SPEC = dict(
    address=dict(type='str', required=True),
    port=dict(type='int', default=8080),
    root=dict(type='path', required=True),
    registrations=dict(type='path', default='/var/lib/virtualiron/registrations'),
    log=dict(type='path'),
    state_dir=dict(type='path', default='/var/lib/virtualiron/receiver'),
    netns=dict(type='str'),
    state=dict(type='str', default='started', choices=['started', 'stopped']),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    params['log'] = params['log'] or os.path.join(params['state_dir'], 'requests.log')
    try:
        check_ip_address(params['address'], 'address')
        if params['netns']:
            check_interface_name(params['netns'], 'netns')  # same rules: a short name without / or spaces
        if not 0 < params['port'] < 65536:
            raise VirtualIronError('port must be 1 to 65535, got %d' % params['port'])
        if not module.check_mode and not os.path.isdir(params['state_dir']):
            os.makedirs(params['state_dir'], 0o755)
        result = ReceiverConverger(None, params, module.check_mode).run()
    except VirtualIronError as e:
        module.fail_json(msg=str(e))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
