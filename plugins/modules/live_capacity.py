#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: live_capacity
short_description: Move virtual servers where their capacity policies want them (LiveCapacity)
version_added: 0.1.0
description:
  - One LiveCapacity cycle over a rack of hosts. In Virtual Iron's words, a policy says "LiveMigrate to obtain
    more capacity when this virtual server's CPU % > 90 for 10 minutes; LiveMigrate to use less capacity when its
    CPU % < 10 for 10 minutes".
  - Reads every host of O(hosts) in parallel (its CPUs, memory, maintenance state and running servers), each
    server's policy, the utilization history M(virtualiron.infra.utilization) recorded in O(history), and the
    moves of earlier cycles in O(events); decides; live-migrates the servers the decision moves, at most
    O(concurrency) at a time; and appends every decision, taken or refused, to the event log O(events).
  - "More capacity: a server whose CPU (or memory) stayed above its threshold for the whole window moves to the
    host where it gets the most headroom. Less capacity: servers that all stayed below theirs are packed onto
    fewer hosts (first fit, largest first), so that whole hosts are emptied; with O(maintenance_emptied) an
    emptied host is put in maintenance."
  - "A condition holds only when every sample of its window is past the threshold and the samples cover the window
    (none older than 1.5 O(interval) at either end, no gap over 2 O(interval)): a gap in sampling never moves a
    server."
  - "No ping-pong: a destination must stay below min(0.8 x threshold, threshold - O(margin)) after the move,
    predicted from its servers' recent load; a source must be at or above it; the move must narrow the gap between
    the two hosts by O(improvement) points; a server moved less than O(cooldown_minutes) ago stays; at most one
    server leaves a host per cycle; hosts in maintenance or unreachable take nothing and their servers stay;
    servers that cannot live-migrate stay. Each refusal is reported with its reason in RV(plan.refused)."
  - "A server's policy, most specific first: its own (O(virtualiron.infra.virtual_server#module:capacity_policy),
    kept in its libvirt metadata, so that it travels with it), its tags' (O(tag_policies)), its inventory groups'
    (O(group_policies)), its host's (O(host_policies)), the default (more than 90 % or less than 10 % CPU for
    10 minutes). The most specific level that names a direction decides that direction."
  - Host loads are derived from their servers' figures in the history (a host's CPU % is the sum of its servers'
    CPU time over its CPUs); the hosts' own processes are not counted.
  - With O(history_backend=prometheus) the history is read from a Prometheus server that scrapes
    C(prometheus-libvirt-exporter) on each host, instead of O(history).
  - Runs on the controller, where the history and the event log are (C(delegate_to) localhost, C(run_once)).
author:
  - Virtual Iron revival team (@virtualiron)
extends_documentation_fragment:
  - virtualiron.infra.history_backend
attributes:
  check_mode:
    support: full
    description: Decides and reports the plan; moves nothing and writes no event.
  diff_mode:
    support: full
    description: The running servers' hosts before and after.
options:
  hosts:
    description: The hosts of the rack, each a dictionary of C(name) (as the history names it) and C(uri).
    type: list
    elements: dict
    required: true
    suboptions:
      name: {description: The host's name., type: str, required: true}
      uri: {description: Its libvirt URI., type: str, required: true}
  history:
    description: The utilization history (SQLite) that M(virtualiron.infra.utilization) records.
    type: path
    default: ~/.ansible/virtualiron/utilization.sqlite
  events:
    description: The event log (JSON lines) the decisions are appended to; also where earlier moves are read from.
    type: path
    default: ~/.ansible/virtualiron/events.jsonl
  interval:
    description:
      - Seconds between the samples of the history, that is the period M(virtualiron.infra.utilization) runs at
        (the schedule's, or the event source's). Decides how much of a window must be covered.
    type: float
    default: 60
  tag_policies:
    description:
      - Policies of the servers with a tag, by C(name=value) (that value) or C(name) (any value); C(name=value)
        keys count first.
      - A policy is a dictionary of C(more) and C(less), each a dictionary of C(metric) (V(cpu_percent) or
        V(memory_percent)), C(threshold) (%) and C(minutes), or V(false) (off).
    type: dict
    default: {}
  group_policies:
    description: Policies by inventory group, for the servers O(groups) lists in that group.
    type: dict
    default: {}
  groups:
    description: Inventory groups and their servers, most specific group first, for O(group_policies).
    type: dict
    default: {}
  host_policies:
    description: Policies of the servers on a host, by host name.
    type: dict
    default: {}
  margin:
    description: Points below a policy's threshold that a destination must stay under (with 0.8 x threshold).
    type: float
    default: 10
  improvement:
    description: Points by which a move must narrow the gap between the loads of its source and destination.
    type: float
    default: 10
  cooldown_minutes:
    description: Minutes after a LiveCapacity move during which the server stays where it went.
    type: float
    default: 30
  consolidate:
    description: Act on the C(less) direction (pack idle servers onto fewer hosts).
    type: bool
    default: true
  maintenance_emptied:
    description: Put a host that consolidation emptied in maintenance (see M(virtualiron.infra.host_maintenance)).
    type: bool
    default: false
  memory_overcommit:
    description: Memory a host may give its running servers, as a multiple of its memory.
    type: float
    default: 1.0
  vcpu_overcommit:
    description: vCPUs a host may give its running servers, as a multiple of its CPUs.
    type: float
    default: 4.0
  concurrency:
    description: How many moves run at the same time.
    type: int
    default: 1
  storage:
    description: As M(virtualiron.infra.live_migrate)'s O(virtualiron.infra.live_migrate#module:storage).
    type: str
    choices: [shared, copy]
    default: shared
  bandwidth: {description: "As M(virtualiron.infra.live_migrate)'s.", type: int}
  max_downtime: {description: "As M(virtualiron.infra.live_migrate)'s.", type: int}
  auto_converge: {description: "As M(virtualiron.infra.live_migrate)'s.", type: bool, default: false}
  timeout: {description: "As M(virtualiron.infra.live_migrate)'s.", type: int}
  timeout_action:
    description: "As M(virtualiron.infra.live_migrate)'s."
    type: str
    choices: [abort, suspend]
    default: abort
  connect_timeout:
    description: Seconds to wait for a host to take a connection; one that does not is unavailable this cycle.
    type: int
    default: 20
notes:
  - C(playbooks/live_capacity.yml) runs a cycle from a schedule (sample, record, decide, act).
'''

EXAMPLES = r'''
- name: One LiveCapacity cycle over the inventory's hypervisors
  virtualiron.infra.live_capacity:
    # the hypervisors inventory (virtualiron.infra.hypervisors) gives each host's URI
    hosts: "{{ dict(groups['hypervisors'] | zip(groups['hypervisors'] | map('extract', hostvars, 'virtualiron_uri')))
               | dict2items(key_name='name', value_name='uri') }}"
    interval: 60
  delegate_to: localhost
  run_once: true

- name: Web servers move at 80 % for 5 minutes; batch servers never consolidate
  virtualiron.infra.live_capacity:
    hosts:
      - {name: kvm1, uri: "qemu+ssh://root@kvm1/system"}
      - {name: kvm2, uri: "qemu+ssh://root@kvm2/system"}
    tag_policies:
      role=web: {more: {threshold: 80, minutes: 5}}
      role=batch: {less: false}
    maintenance_emptied: true
  delegate_to: localhost
'''

RETURN = r'''
placement:
  description: Where each running server is after the cycle, by name.
  returned: always
  type: dict
  sample: {web1: kvm2, db1: kvm1}
plan:
  description: The decision, with every reason.
  returned: always
  type: dict
  contains:
    moves:
      description: The moves, each with server, source, destination, direction, reason and figures (the hosts'
        loads before and after, predicted).
      type: list
      elements: dict
    refused:
      description: The servers whose condition holds but that stay, each with server, host, direction and reason.
      type: list
      elements: dict
    conditions:
      description: The conditions that hold, with the server, direction, metric, threshold, minutes, since, coverage.
      type: list
      elements: dict
    emptied_hosts:
      description: The hosts consolidation empties.
      type: list
      elements: str
results:
  description: What each move did (as M(virtualiron.infra.live_migrate) returns it, with C(failed)).
  returned: always
  type: list
  elements: dict
failed_servers:
  description: The servers whose move failed (the task fails, after every other move).
  returned: always
  type: list
  elements: str
changes:
  description: What was done, in words.
  returned: always
  type: list
  elements: str
  sample: [web1 moved from kvm1 to kvm2]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.cycle import LiveCapacity
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.policy import POLICY_ARGUMENT_SPEC
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.prometheus import HISTORY_BACKEND_ARGUMENT_SPEC
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    CONNECT_TIMEOUT, module_failures)
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.options import MIGRATION_ARGUMENT_SPEC

ARGUMENT_SPEC = dict(
    hosts=dict(type='list', elements='dict', required=True,
               options=dict(name=dict(type='str', required=True), uri=dict(type='str', required=True))),
    history=dict(type='path', default='~/.ansible/virtualiron/utilization.sqlite'),
    events=dict(type='path', default='~/.ansible/virtualiron/events.jsonl'),
    interval=dict(type='float', default=60),
    margin=dict(type='float', default=10),
    improvement=dict(type='float', default=10),
    cooldown_minutes=dict(type='float', default=30),
    consolidate=dict(type='bool', default=True),
    maintenance_emptied=dict(type='bool', default=False),
    memory_overcommit=dict(type='float', default=1.0),
    vcpu_overcommit=dict(type='float', default=4.0),
    concurrency=dict(type='int', default=1),
    connect_timeout=dict(type='int', default=CONNECT_TIMEOUT),
    **dict(HISTORY_BACKEND_ARGUMENT_SPEC, **dict(POLICY_ARGUMENT_SPEC, **dict(
        (k, MIGRATION_ARGUMENT_SPEC[k])
        for k in ('storage', 'bandwidth', 'max_downtime', 'auto_converge', 'timeout', 'timeout_action'))))
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    with module_failures(module):
        result = LiveCapacity(module.params, module.check_mode, module._diff).run()
    module.exit_json(**result)


if __name__ == '__main__':
    main()
