#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: bmc
short_description: Power and boot device of a bare-metal node through its BMC (Redfish), and its inventory
version_added: 0.1.0
description:
  - Brings one system (node) of a BMC to the power state and boot device you ask for, through the standard Redfish
    API that iDRAC, iLO, XCC, OpenBMC and emulators such as sushy-tools speak, and returns the system's inventory as
    the BMC reports it.
  - Without O(power) and O(boot) it only reads (status and inventory).
  - The boot override is set first, then the power, so that a power-on or reset boots from the device asked for.
  - Power changes wait until the BMC reports the new state, for up to O(power_timeout) seconds.
  - "Every request carries the credentials (HTTP basic authentication, no session): nothing is left open on the
    BMC. TLS certificates are verified by default; plain HTTP is used only when O(endpoint) says C(http://)."
  - Everything is checked before anything changes; a boot device or mode the BMC does not list as allowed is
    refused with the list it allows.
  - Idempotent for O(power=on), V(off), V(graceful_off) and for O(boot); O(power=reset) always acts. Supports check
    mode and C(--diff).
author:
  - Virtual Iron revival team (@virtualiron)
attributes:
  check_mode:
    support: full
    description: Reads the BMC and reports what would change; sends no change.
  diff_mode:
    support: full
    description: Shows the system (power, boot, inventory) before and after.
options:
  endpoint:
    description:
      - The BMC, as V(https://HOST) or V(https://HOST:PORT); the Redfish service is at C(/redfish/v1) there.
      - V(http://HOST[:PORT]) for a BMC or emulator that only speaks plain HTTP; the password then crosses the
        network in clear text, so use it only on a management network you control.
      - No path, query or credentials in it.
    type: str
    required: true
  username:
    description: The BMC user (a role that may power the system and change its boot override, such as Operator).
    type: str
    required: true
  password:
    description: The BMC user's password.
    type: str
    required: true
  validate_certs:
    description:
      - Verify the BMC's TLS certificate (against O(ca_path) when given, else the system's trusted CAs).
      - V(false) accepts any certificate, so anyone on the path may read the credentials; BMCs often come with a
        self-signed certificate, whose CA (or the certificate itself) O(ca_path) can name instead.
    type: bool
    default: true
  ca_path:
    description: A PEM file of CA certificates (or the BMC's own self-signed certificate) to verify the BMC with.
    type: path
  system_id:
    description:
      - The system's Id, the last part of its Redfish path (V(System.Embedded.1) on iDRAC, V(1) on iLO, a UUID on
        sushy-tools).
      - Left out, the BMC's only system; a BMC with several fails with their list.
    type: str
  power:
    description:
      - V(on) powers the system on; V(off) forces it off at once (as pulling the power; fencing uses it);
        V(graceful_off) asks its operating system to shut down (ACPI) and waits for it; V(reset) forces a restart
        (or powers a system that is off on) and always acts.
      - "YAML reads an unquoted C(on) or C(off) as a boolean: V(true) means V(on) and V(false) V(off) here."
      - Left out, the power is not touched.
    type: raw
  boot:
    description: The boot source override. Left out, it is not touched.
    type: dict
    suboptions:
      device:
        description:
          - V(pxe) network boot, V(disk) the first hard disk, V(cd) CD/DVD or virtual media, V(usb), V(http) UEFI
            HTTP boot; V(none) disables the override (the system boots by its own boot order).
          - The BMC must list the device in its allowed boot targets; otherwise the task fails and changes nothing.
        type: str
        required: true
        choices: [pxe, disk, cd, usb, http, none]
      once:
        description:
          - V(true) for the next boot only (the BMC clears it after one boot); V(false) persistent.
          - Some BMCs and emulators (sushy-tools) store a one-time override as persistent and report it so; a
            re-run then sets it again.
        type: bool
        default: true
      mode:
        description: The firmware boot mode for the override; left out, it is not changed.
        type: str
        choices: [uefi, legacy]
  power_timeout:
    description:
      - Seconds to wait for the system to reach the power state asked for (a graceful shutdown takes as long as
        its operating system takes); the task fails after that, saying the state the system is in.
    type: int
    default: 120
  request_timeout:
    description: Seconds to wait for each answer of the BMC.
    type: int
    default: 30
  inventory:
    description:
      - Also read the system's NICs (one request per NIC). V(false) skips them (RV(system.nics) is null), for a
        quicker power action such as fencing.
    type: bool
    default: true
notes:
  - "sushy-tools, the Redfish emulator the collection is tested with, stores a one-time boot override as persistent,
    answers HTTP 500 for a system outside its allow-list and allows only V(pxe), V(disk) and V(cd)."
  - "O(power=graceful_off) needs an operating system that handles ACPI shutdown requests; otherwise the task fails
    after O(power_timeout) and the system stays on."
  - "Only the system's NICs are read beyond the system itself: one bad or missing NIC listing leaves RV(system.nics)
    null rather than failing a power action."
seealso:
  - name: DMTF Redfish
    description: The standard this module speaks.
    link: https://www.dmtf.org/standards/redfish
'''

EXAMPLES = r'''
- name: Boot a node once from the network and power it on (discovery)
  virtualiron.infra.bmc:
    endpoint: https://10.0.1.15
    username: admin
    password: "{{ vault_bmc_password }}"
    ca_path: /etc/pki/bmc-ca.pem
    boot:
      device: pxe
      once: true
    power: on

- name: Fence a node (forced power off), quickly
  virtualiron.infra.bmc:
    endpoint: https://10.0.1.16
    username: fence
    password: "{{ vault_fence_password }}"
    system_id: System.Embedded.1
    power: off
    power_timeout: 30
    inventory: false

- name: Status and inventory only
  virtualiron.infra.bmc:
    endpoint: http://127.0.0.1:8000
    username: admin
    password: "{{ emulator_password }}"
    system_id: 4f1c5b2e-7a6d-4c1e-9b1a-0d2c3e4f5a6b
  register: node

- name: Its MAC addresses
  ansible.builtin.debug:
    msg: "{{ node.system.nics | map(attribute='mac') | list }}"
'''

RETURN = r'''
system:
  description: The system after the task (in check mode, what it would be), as the BMC reports it; what it does not
    report is null.
  returned: always
  type: dict
  contains:
    id: {description: The system's Redfish Id., type: str, sample: System.Embedded.1}
    power: {description: "on, off, powering on, powering off, paused (or what else the BMC says).", type: str,
            sample: "on"}
    boot:
      description: The boot source override.
      type: dict
      contains:
        device: {description: "pxe, disk, cd, usb, http, none (no override), or the BMC's own word.", type: str,
                 sample: pxe}
        once: {description: "true for the next boot only, false persistent, null without an override.", type: bool}
        mode: {description: uefi or legacy (null when the BMC does not say)., type: str, sample: uefi}
    manufacturer: {description: Manufacturer., type: str, sample: Dell Inc.}
    model: {description: Model., type: str, sample: PowerEdge R650}
    serial: {description: Serial number., type: str}
    uuid: {description: The system's UUID (SMBIOS)., type: str}
    processors:
      description: Processor summary.
      type: dict
      contains:
        count: {description: Number of processors., type: int, sample: 2}
        model: {description: Processor model., type: str}
    memory_bytes: {description: Memory in bytes., type: int, sample: 137438953472}
    nics:
      description: The system's NICs; null when the BMC lists none, cannot list them, or O(inventory=false).
      type: list
      elements: dict
      contains:
        id: {description: The NIC's Redfish Id., type: str}
        mac: {description: "MAC address, lower case (null when the BMC's is not one).", type: str,
              sample: "52:54:00:12:34:56"}
        link: {description: "LinkUp, LinkDown or NoLink.", type: str}
        speed_mbps: {description: Link speed., type: int}
        enabled: {description: Whether the interface is enabled., type: bool}
changes:
  description: What the task did (or would do in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["boot device set to pxe (once)", "powered on"]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal.bmc import BmcConverger
from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal.redfish import BMC_ACCESS_SPEC, DEFAULT_TIMEOUT, RedfishClient
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import module_failures

ARGUMENT_SPEC = dict(
    BMC_ACCESS_SPEC,
    power=dict(type='raw'),
    boot=dict(type='dict', options=dict(
        device=dict(type='str', required=True, choices=['pxe', 'disk', 'cd', 'usb', 'http', 'none']),
        once=dict(type='bool', default=True),
        mode=dict(type='str', choices=['uefi', 'legacy']),
    )),
    power_timeout=dict(type='int', default=120),
    request_timeout=dict(type='int', default=DEFAULT_TIMEOUT),
    inventory=dict(type='bool', default=True),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    with module_failures(module):
        client = RedfishClient(p['endpoint'], p['username'], p['password'], p['validate_certs'], p['ca_path'],
                               p['request_timeout'])
        result = BmcConverger(client, p, module.check_mode, module._diff).run()
    module.exit_json(**result)


if __name__ == '__main__':
    main()
