#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: utilization
short_description: Sample how busy hosts and their virtual servers are, and record it in the utilization history
version_added: 0.1.0
description:
  - "Reads each host twice through libvirt, O(interval) seconds apart, and returns the figures of that interval as
    samples: one row per running virtual server and one for the host. Each reading is one bulk statistics call
    for all the host's servers (libvirt's C(getAllDomainStats)); no agent runs on the hosts or in the servers."
  - "A server's row: its CPU use as a share of its vCPUs (100 = every vCPU fully busy), memory in use (the
    resident memory of its QEMU process where the host reports it, else its balloon size) and its share of the
    server's memory, its vCPUs online, and disk read and write and network receive and transmit bytes per second."
  - "The host's row is derived from its own servers: CPU % is their CPU time over the interval as a share of
    the host's CPUs, memory their memory in use as a share of the host's memory (its kernel's total), disk and
    network rates their sums. Hosts that share one machine (as in the collection's lab) report the same
    machine-wide node statistics, so those would make every host look equally busy. On a real host the figure
    leaves out the host's own processes: it is the load its servers put on it."
  - Only servers running at both readings get a row. A server that restarted in between (its CPU time went down)
    gets a row with its memory but null rates; a server that started, stopped or migrated in between gets none,
    and its share is not in the host's row either.
  - All hosts are sampled at once, each over its own connection; a host that cannot be reached or read is
    listed in RV(errors) and the others are sampled all the same. The task fails only when no host could be sampled.
  - "The samples are recorded in the utilization history, a SQLite file on the machine that runs the module
    (O(history)), which the capacity modules read. Run the module on the controller
    (C(delegate_to: localhost), once for all hosts with O(hosts) and C(run_once: true)), so that every run
    adds to the same file. Two runs at once (two schedules, or one task per host) are safe: rows are written
    in one transaction each and none is lost."
author:
  - Virtual Iron revival team (@virtualiron)
extends_documentation_fragment:
  - virtualiron.infra.connection
attributes:
  check_mode:
    support: full
    description: Samples the hosts and returns the samples, but records nothing.
  diff_mode:
    support: none
    description: Only adds rows to the history; there is nothing to compare.
options:
  name:
    description:
      - The host's name at O(uri), under which its samples are recorded (usually its inventory name,
        C(inventory_hostname)).
      - Required unless O(hosts) is set; mutually exclusive with O(hosts).
    type: str
  hosts:
    description:
      - Several hosts to sample at once, each with its name and libvirt URI. With it, O(uri) is not used.
      - Names must be unique.
    type: list
    elements: dict
    suboptions:
      name:
        description: The host's name, under which its samples are recorded.
        type: str
        required: true
      uri:
        description: The host's libvirt URI (any URI libvirt accepts, as O(uri)).
        type: str
        required: true
  interval:
    description:
      - Seconds between the two readings of each host; the samples' rates are averages over it.
      - Must be more than 0. Short intervals (a second or less) make the rates noisy.
    type: float
    default: 5
  history:
    description:
      - Path of the utilization history (SQLite) on the machine that runs the module; its directory is made
        (mode 0700) and the file (mode 0600) if missing.
    type: path
    default: ~/.ansible/virtualiron/utilization.sqlite
  retention:
    description:
      - How long the history keeps samples; older rows are removed when new ones are recorded.
      - Seconds (V(3600)) or a number with a unit, C(s), C(m), C(h) or C(d) (V(10m), V(2h), V(7d)).
    type: raw
    default: 7d
  record:
    description:
      - Record the samples in O(history). V(false) only returns them.
    type: bool
    default: true
notes:
  - "C(changed) is V(true) when rows were added to the history (in check mode, when they would be): the history is
    state on the controller that later runs decide on. With O(record=false) the module changes nothing."
seealso:
  - module: virtualiron.infra.virtual_server_info
  - module: virtualiron.infra.host_info
'''

EXAMPLES = r'''
- name: Sample every hypervisor of the inventory over 10 seconds, from the controller, into the default history
  virtualiron.infra.utilization:
    hosts: "{{ dict(groups['hypervisors'] | zip(groups['hypervisors'] | map('extract', hostvars, 'virtualiron_uri')))
               | dict2items(key_name='name', value_name='uri') }}"
    interval: 10
  delegate_to: localhost
  run_once: true
  register: sampled

- name: Hosts that could not be sampled
  ansible.builtin.debug:
    var: sampled.errors
  when: sampled.errors

- name: One host, with a history of its own kept for two days
  virtualiron.infra.utilization:
    uri: qemu+ssh://root@kvm1.example.com/system
    name: kvm1
    history: /var/lib/virtualiron/kvm1.sqlite
    retention: 2d

- name: The busiest servers right now, recording nothing
  virtualiron.infra.utilization:
    uri: qemu+ssh://root@kvm1.example.com/system
    name: kvm1
    interval: 2
    record: false
  register: now

- ansible.builtin.debug:
    msg: "{{ now.samples | rejectattr('server', 'none') | selectattr('cpu_percent', 'gt', 90) | map(attribute='server') }}"
'''

RETURN = r'''
samples:
  description:
    - The samples of every host sampled, each host's own row (RV(samples[].server) null) first, then its servers by name.
    - A figure the host does not report is null.
  returned: always
  type: list
  elements: dict
  contains:
    time: {description: "End of the interval, in seconds since the epoch (UTC).", type: float, sample: 1796064115.2}
    host: {description: "The host's name (O(name) or O(hosts[].name)).", type: str, sample: kvm1}
    server: {description: "The virtual server's name; null in the host's own row.", type: str, sample: web1}
    cpu_percent:
      description:
        - "Server: share of its vCPUs busy, 0 to 100 (100 = every vCPU fully busy)."
        - "Host: its servers' CPU time as a share of the host's CPUs."
      type: float
      sample: 37.5
    memory_bytes: {description: "Server: memory in use. Host: the sum of its servers'.", type: int, sample: 2147483648}
    memory_percent:
      description: "Server: of its memory (balloon maximum). Host: of the host's memory."
      type: float
      sample: 50.0
    vcpus: {description: "Server: vCPUs online. Host: its CPUs.", type: int, sample: 2}
    disk_read_bps: {description: "Bytes read from disks per second (host: its servers' sum).", type: float, sample: 4096.0}
    disk_write_bps: {description: Bytes written to disks per second., type: float, sample: 1024.0}
    net_rx_bps: {description: Bytes received by NICs per second., type: float, sample: 512.0}
    net_tx_bps: {description: Bytes sent by NICs per second., type: float, sample: 256.0}
recorded:
  description: Rows added to the history (0 in check mode and with O(record=false)).
  returned: always
  type: int
  sample: 12
errors:
  description: Hosts that could not be sampled, each with the reason.
  returned: always
  type: list
  elements: dict
  contains:
    host: {description: The host's name., type: str}
    uri: {description: The host's URI., type: str}
    error: {description: Why it could not be sampled., type: str}
  sample: [{host: kvm3, uri: "qemu+ssh://root@kvm3/system", error: "no answer within 20 s (connect_timeout)"}]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.history import DEFAULT_PATH
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.sampling import sample_and_record
from ansible_collections.virtualiron.infra.plugins.module_utils.common.units import parse_duration
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    CONNECTION_ARGUMENT_SPEC, module_failures)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CONNECTION_ARGUMENT_SPEC,
            name=dict(type='str'),
            hosts=dict(type='list', elements='dict', options=dict(
                name=dict(type='str', required=True),
                uri=dict(type='str', required=True),
            )),
            interval=dict(type='float', default=5),
            history=dict(type='path', default=DEFAULT_PATH),
            retention=dict(type='raw', default='7d'),
            record=dict(type='bool', default=True),
        ),
        mutually_exclusive=[('name', 'hosts')],
        required_one_of=[('name', 'hosts')],
        supports_check_mode=True,
    )
    params = module.params
    targets = params['hosts'] or [{'name': params['name'], 'uri': params['uri']}]
    writes = params['record'] and not module.check_mode
    with module_failures(module):
        result = sample_and_record(targets, params['interval'], params['history'] if writes else None,
                                   parse_duration(params['retention'], 'retention'), params['connect_timeout'])
    module.exit_json(changed=bool(params['record'] and result['samples']), **result)


if __name__ == '__main__':
    main()
