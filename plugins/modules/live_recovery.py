#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: live_recovery
short_description: Restart the protected virtual servers of failed hosts on the other hosts (LiveRecovery)
version_added: 0.1.0
description:
  - One LiveRecovery run over every host of the pool. Probes every host of O(hosts) at once; a host whose libvirt
    endpoint has not answered for O(grace_seconds) is failed.
  - "Fencing comes first: a failed host is powered off through its BMC (Redfish, as M(virtualiron.infra.bmc) does)
    until the BMC reports it off (O(fencing=bmc)), or a fence command of yours exits 0 (O(fencing=command)), or an
    operator confirms it is off (O(fencing=confirmed), O(confirmed_hosts)). A host that is not fenced keeps its
    servers: a host that only lost its network may still run them, and they are not started elsewhere."
  - "The servers of a fenced host are read from the definition store O(store): the storage pool, seen by every
    host, where M(virtualiron.infra.virtual_server) keeps the definition of each server with a
    O(virtualiron.infra.virtual_server#module:recovery) policy, rewritten after every change and migration."
  - Protected servers restart by priority (highest first; the higher priority gets the room) on the answering hosts
    with room (the placement LiveMigrate uses; never a host in maintenance), each only if no answering host runs it.
    Servers that fit nowhere, unprotected servers and those not restarted are reported, never dropped.
  - "Reconciliation, on every run: a host that came back and still defines a stopped copy of a server the store
    places on another host that defines it loses that copy (its disks stay). A server that runs on two hosts is
    reported (RV(runs_twice)), never touched. Disk leases (the role virtualiron.infra.lock_manager) make a returning
    host's autostart refuse to start such a copy in the first place."
  - Every step goes to the event log O(events), the file LiveCapacity writes, as C(recovery.*) events.
  - Runs on the controller. For seconds rather than minutes, run it from the Event-Driven Ansible rulebook
    C(virtualiron.infra.live_recovery) (its event source watches the hosts continuously) through
    C(playbooks/recover.yml); see C(docs/live-recovery.md).
author:
  - Virtual Iron revival team (@virtualiron)
attributes:
  check_mode:
    support: full
    description: Detects and plans as if every failed host were fenced; fences, starts and removes nothing and writes no event.
  diff_mode:
    support: none
    description: A run acts on many hosts and servers; RV(changes) and the lists in the result say what it did.
options:
  hosts:
    description: Every host of the pool.
    type: list
    elements: dict
    required: true
    suboptions:
      name: {description: The host's name (as the inventory names it)., type: str, required: true}
      uri: {description: The host's libvirt URI., type: str, required: true}
      bmc:
        description: The host's BMC, for O(fencing=bmc).
        type: dict
        suboptions:
          endpoint: {description: "Redfish service, C(https://...); C(http://) only when the BMC has no TLS.", type: str, required: true}
          username: {description: User., type: str, required: true}
          password: {description: Password; never logged or returned., type: str, required: true}
          system_id: {description: The system to power off; the BMC's only system when left out., type: str}
          validate_certs: {description: Verify the BMC's TLS certificate., type: bool, default: true}
          ca_path: {description: CA certificate file for the BMC's TLS certificate., type: path}
  store:
    description: The storage pool (the same name on every host, on shared storage) that keeps the servers' definitions.
    type: str
    required: true
  grace_seconds:
    description: Seconds a host's libvirt endpoint must stay silent before the host is failed.
    type: float
    default: 10
  probe_interval:
    description: Seconds between two probes of a silent host.
    type: float
    default: 1
  probe_timeout:
    description: Seconds a probe waits for an answer.
    type: float
    default: 3
  failed_hosts:
    description:
      - Hosts already seen silent for the grace period (by the event source). Each fails at its first missed
        probe instead of being watched for O(grace_seconds) again; a host named here that answers is not failed.
    type: list
    elements: str
    default: []
  fencing:
    description: How a failed host is fenced.
    type: str
    choices: [bmc, command, confirmed]
    default: bmc
  fence_command:
    description:
      - For O(fencing=command), the program and its arguments, run on the controller without a shell; C({name})
        and C({uri}) are replaced by the host's. Exit status 0 means the host is powered off.
    type: list
    elements: str
  fence_timeout:
    description: Seconds the BMC may take to answer and to report the host off.
    type: int
    default: 60
  confirmed_hosts:
    description: For O(fencing=confirmed), the hosts an operator confirms are powered off.
    type: list
    elements: str
    default: []
  memory_overcommit:
    description: As M(virtualiron.infra.live_migrate)'s, for placing restarted servers.
    type: float
    default: 1.0
  vcpu_overcommit:
    description: As M(virtualiron.infra.live_migrate)'s.
    type: float
    default: 4.0
  events:
    description: The JSON lines event log (the one LiveCapacity writes); C(~/.ansible/virtualiron/events.jsonl) by default.
    type: path
  reconcile:
    description: Remove the stale copies of servers that returning hosts still define.
    type: bool
    default: true
notes:
  - Needs libvirt-python on the controller. Probes and reads go to all hosts at once.
seealso:
  - module: virtualiron.infra.virtual_server
  - module: virtualiron.infra.bmc
'''

EXAMPLES = r'''
- name: Restart the servers of failed hosts, fencing them through their BMCs
  virtualiron.infra.live_recovery:
    hosts:
      - {name: kvm1, uri: "qemu+tls://kvm1/system", bmc: {endpoint: "https://kvm1-bmc", username: admin, password: "{{ bmc_pw }}"}}
      - {name: kvm2, uri: "qemu+tls://kvm2/system", bmc: {endpoint: "https://kvm2-bmc", username: admin, password: "{{ bmc_pw }}"}}
      - {name: kvm3, uri: "qemu+tls://kvm3/system", bmc: {endpoint: "https://kvm3-bmc", username: admin, password: "{{ bmc_pw }}"}}
    store: shared
  register: recovery

- name: An operator confirms that kvm3 is off (no BMC)
  virtualiron.infra.live_recovery:
    hosts: "{{ pool_hosts }}"
    store: shared
    fencing: confirmed
    confirmed_hosts: [kvm3]
'''

RETURN = r'''
failed_hosts:
  description: The hosts found failed (not C(failed), which Ansible reserves for the task's own failure).
  returned: always
  type: list
  elements: str
  sample: [kvm3]
hosts:
  description: Each host's state, C(up) or C(failed), since when, and the last error.
  returned: always
  type: dict
fenced:
  description: Each failed host's fencing, C(host), C(method), C(fenced), C(why) (when not), C(seconds).
  returned: always
  type: list
  elements: dict
restarted:
  description: The servers started elsewhere, in order, each C(server), C(uuid), C(from), C(to), C(priority), C(seconds).
  returned: always
  type: list
  elements: dict
failed_starts:
  description: Servers whose start on their new host failed (for example refused by a disk lease), with C(reason).
  returned: always
  type: list
  elements: dict
unplaced:
  description: Protected servers no answering host has room for, with C(reason).
  returned: always
  type: list
  elements: dict
unprotected:
  description: Servers of failed hosts whose recovery policy does not protect them.
  returned: always
  type: list
  elements: dict
skipped:
  description: Protected servers not restarted, with C(reason) (already running elsewhere, their host not fenced).
  returned: always
  type: list
  elements: dict
reconciled:
  description: Stale copies removed, each C(server) and C(host).
  returned: always
  type: list
  elements: dict
runs_twice:
  description: Servers found running on more than one host, each C(server) and C(hosts).
  returned: always
  type: list
  elements: dict
store_errors:
  description: Hosts where restarted servers run but their records in O(store) could not be rewritten, with C(error).
  returned: always
  type: list
  elements: dict
plan:
  description: The decision, C(restart), C(unplaced), C(unprotected), C(skipped).
  returned: always
  type: dict
timeline:
  description: Seconds spent on C(detection), C(fencing), C(placement) and C(starts).
  returned: always
  type: dict
  sample: {detection: 10.4, fencing: 1.2, placement: 0.0, starts: 2.9}
changes:
  description: What the run did (or would do in check mode).
  returned: always
  type: list
  elements: str
  sample: ["host kvm3 fenced (bmc)", "server web1 restarted on kvm1"]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal.redfish import BMC_ACCESS_SPEC
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import module_failures
from ansible_collections.virtualiron.infra.plugins.module_utils.recovery.fencing import METHODS
from ansible_collections.virtualiron.infra.plugins.module_utils.recovery.run import RecoveryRun

ARGUMENT_SPEC = dict(
    hosts=dict(type='list', elements='dict', required=True, options=dict(
        name=dict(type='str', required=True),
        uri=dict(type='str', required=True),
        bmc=dict(type='dict', options=BMC_ACCESS_SPEC),
    )),
    store=dict(type='str', required=True),
    grace_seconds=dict(type='float', default=10),
    probe_interval=dict(type='float', default=1),
    probe_timeout=dict(type='float', default=3),
    failed_hosts=dict(type='list', elements='str', default=[]),
    fencing=dict(type='str', choices=list(METHODS), default='bmc'),
    fence_command=dict(type='list', elements='str'),
    fence_timeout=dict(type='int', default=60),
    confirmed_hosts=dict(type='list', elements='str', default=[]),
    memory_overcommit=dict(type='float', default=1.0),
    vcpu_overcommit=dict(type='float', default=4.0),
    events=dict(type='path'),
    reconcile=dict(type='bool', default=True),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                           required_if=[('fencing', 'command', ['fence_command'])])
    with module_failures(module):
        result = RecoveryRun(module.params, module.run_command, module.check_mode).run()
    module.exit_json(**result)


if __name__ == '__main__':
    main()
