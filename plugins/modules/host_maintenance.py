#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: host_maintenance
short_description: Put a hypervisor host in maintenance and evacuate its virtual servers
version_added: 0.1.0
description:
  - Puts the host at O(uri) in maintenance (O(state=present)) or takes it out (O(state=absent)).
  - A host in maintenance takes no new placements - evacuations and M(virtualiron.infra.live_migrate) refuse
    it as a destination - and the C(hypervisors) inventory groups hosts by it. Leaving maintenance makes the
    host eligible again.
  - The maintenance state is kept on the host itself, in a libvirt secret with usage name
    C(virtualiron-host-state) (not private; its value is a small JSON document C({"maintenance", "reason",
    "since"})). Every run and every inventory sees it through the same libvirt connection, on any URI, with
    no other store, and it survives restarts of libvirtd. C(virsh secret-list) shows it.
  - With O(evacuate=true), every running server of the host is live-migrated to the hosts in O(destinations),
    at most O(concurrency) at a time, and the definitions of its stopped servers move too (O(move_stopped)).
    Each server goes to the least loaded destination that fits it within the memory and vCPU overcommit
    limits (largest servers first; ties go to the destination listed first); destinations in maintenance or
    unreachable take nothing.
  - Servers that no destination can take stay where they are, running; so do servers whose move fails
    (see M(virtualiron.infra.live_migrate) for what a failed move leaves). The task then fails, after every
    other server has moved, listing them in RV(not_moved).
  - Idempotent; supports check mode (plans the evacuation and runs each move's pre-flight checks) and C(--diff).
author:
  - Virtual Iron revival team (@virtualiron)
extends_documentation_fragment:
  - virtualiron.infra.connection
attributes:
  check_mode:
    support: full
    description: Reports the maintenance change and the evacuation plan, moving nothing.
  diff_mode:
    support: full
    description: Shows the host's maintenance state and its servers before and after.
options:
  state:
    description:
      - V(present) the host is in maintenance; V(absent) it is not.
    type: str
    choices: [present, absent]
    default: present
  reason:
    description:
      - Why the host is in maintenance, kept with the state for people and inventories.
      - One line of at most 1000 characters, without control characters.
      - A state on the host that the collection cannot read (not written by it) counts as maintenance, with a
        reason saying so; this module replaces it.
    type: str
    default: ''
  evacuate:
    description:
      - With O(state=present), move the host's servers to O(destinations). Ignored with O(state=absent).
    type: bool
    default: false
  destinations:
    description:
      - libvirt URIs of the hosts the servers may go to; the host itself is left out if listed.
      - "From an inventory: C(groups['hypervisors'] | map('extract', hostvars, 'virtualiron_uri'))."
      - Required with O(evacuate=true).
    type: list
    elements: str
  servers:
    description:
      - Only these servers of the host are evacuated (default all of them), for draining part of a host.
    type: list
    elements: str
  concurrency:
    description: How many moves run at the same time.
    type: int
    default: 2
  move_stopped:
    description:
      - Move stopped servers too. With O(storage=shared) their definitions move and their disks must be on
        shared storage; with O(storage=copy) their disks are copied as well (the host keeps its copies).
    type: bool
    default: true
  memory_overcommit:
    description:
      - Most memory a destination may give its running servers, as a multiple of its physical memory (more than 0).
        V(1.0) never overcommits memory.
    type: float
    default: 1.0
  vcpu_overcommit:
    description: Most vCPUs a destination may run, as a multiple of its physical CPUs (more than 0).
    type: float
    default: 4.0
  storage:
    description: As in M(virtualiron.infra.live_migrate); V(copy) copies each server's disks to the destination.
    type: str
    choices: [shared, copy]
    default: shared
  bandwidth:
    description: Most bandwidth each move may use, in MiB/s.
    type: int
  max_downtime:
    description: Longest pause of a server at the end of its move, in milliseconds.
    type: int
  auto_converge:
    description: Slow a server's vCPUs down if its memory changes faster than the move can copy it.
    type: bool
    default: false
  timeout:
    description: Seconds each live move may take before O(timeout_action) is taken. Default no timeout.
    type: int
  timeout_action:
    description: V(abort) (the server keeps running here) or V(suspend) (pause it so that the move completes).
    type: str
    choices: [abort, suspend]
    default: abort
notes:
  - Post-copy is never used for an evacuation; move such servers with M(virtualiron.infra.live_migrate).
  - The role C(virtualiron.infra.evacuate_host) and C(playbooks/evacuate_host.yml) evacuate an inventory host with it.
seealso:
  - module: virtualiron.infra.live_migrate
'''

EXAMPLES = r'''
- name: Put kvm1 in maintenance and move its servers to the other hypervisors, four at a time
  virtualiron.infra.host_maintenance:
    uri: "{{ hostvars['kvm1'].virtualiron_uri }}"
    state: present
    reason: replace DIMM 3
    evacuate: true
    destinations: "{{ groups['hypervisors'] | difference(['kvm1']) | map('extract', hostvars, 'virtualiron_uri') }}"
    concurrency: 4

- name: Bring kvm1 back into service
  virtualiron.infra.host_maintenance:
    uri: "{{ hostvars['kvm1'].virtualiron_uri }}"
    state: absent
'''

RETURN = r'''
maintenance:
  description: The host's maintenance state after the task (as kept in the host's libvirt secret).
  returned: always
  type: dict
  contains:
    maintenance: {description: In maintenance., type: bool, sample: true}
    reason: {description: Why., type: str, sample: replace DIMM 3}
    since: {description: "When it entered maintenance (UTC, ISO 8601).", type: str, sample: "2026-11-24T05:10:00Z"}
changes:
  description: What was done (or would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [maintenance entered, web1 live-migrated to qemu+tcp://10.213.0.12/system]
placements:
  description: Where each server the evacuation moves goes (server name -> destination URI).
  returned: with O(evacuate=true)
  type: dict
  sample: {web1: qemu+tcp://10.213.0.12/system}
moved:
  description: Servers that moved (in check mode, that would move).
  returned: with O(evacuate=true)
  type: list
  elements: str
not_moved:
  description: Servers left on the host, each with why (no destination fits, or the move failed).
  returned: with O(evacuate=true)
  type: list
  elements: dict
  sample: [{name: db1, reason: "no host can take it: qemu+tcp://10.213.0.12/system lacks memory"}]
results:
  description: The result of each move, as M(virtualiron.infra.live_migrate) returns it.
  returned: with O(evacuate=true)
  type: list
  elements: dict
duration_seconds:
  description: Time the evacuation took.
  returned: with O(evacuate=true)
  type: float
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    CONNECTION_ARGUMENT_SPEC, libvirt_session)
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.maintenance import MaintenanceConverger
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.options import MIGRATION_ARGUMENT_SPEC

ARGUMENT_SPEC = dict(
    CONNECTION_ARGUMENT_SPEC,
    state=dict(type='str', default='present', choices=['present', 'absent']),
    reason=dict(type='str', default=''),
    evacuate=dict(type='bool', default=False),
    destinations=dict(type='list', elements='str'),
    servers=dict(type='list', elements='str'),
    concurrency=dict(type='int', default=2),
    move_stopped=dict(type='bool', default=True),
    memory_overcommit=dict(type='float', default=1.0),
    vcpu_overcommit=dict(type='float', default=4.0),
    **dict((k, MIGRATION_ARGUMENT_SPEC[k])
           for k in ('storage', 'bandwidth', 'max_downtime', 'auto_converge', 'timeout', 'timeout_action'))
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                           required_if=[('evacuate', True, ('destinations',))])
    with libvirt_session(module) as conn:
        result = MaintenanceConverger(conn, module.params, module.check_mode, module._diff).run()
    module.exit_json(**result)


if __name__ == '__main__':
    main()
