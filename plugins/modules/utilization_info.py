#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: utilization_info
short_description: Read back the utilization history of virtual servers and hosts
version_added: 0.1.0
description:
  - Returns the samples of a recent window from the utilization history, the SQLite file that scheduled runs
    record CPU, memory, disk and network figures of servers and hosts into, or those figures aggregated per
    server and per host.
  - "The history is a file on the machine that records it, the controller by default, and the module reads it
    where it runs: run it there, in a play on C(localhost) or with C(delegate_to: localhost)."
  - It fails when there is no history at O(history) yet, rather than returning an empty window.
  - With O(history_backend=prometheus) it reads the same figures from a Prometheus server instead of the file.
  - The file's schema and retention are described in the collection's C(docs/capacity-history.md).
author:
  - Virtual Iron revival team (@virtualiron)
extends_documentation_fragment:
  - virtualiron.infra.attributes.info_module
  - virtualiron.infra.history_backend
options:
  history:
    description:
      - Path of the history's SQLite file on the machine the module runs on; C(~) is expanded.
    type: str
    default: ~/.ansible/virtualiron/utilization.sqlite
  servers:
    description:
      - Only the samples of these servers (which leaves out the hosts' own samples). All servers when not set.
    type: list
    elements: str
  hosts:
    description:
      - Only the samples of these hosts (their own and their servers'). All hosts when not set.
      - A host is named as the samples were recorded, by its inventory name.
    type: list
    elements: str
  window:
    description:
      - How far back from now to read, in seconds or as a duration such as V(90s), V(10m), V(2h) or V(1d).
    type: raw
    default: 1h
  aggregate:
    description:
      - V(none) returns the samples in RV(samples).
      - V(avg), V(max), V(min) or V(last) returns in RV(aggregates) one entry per server and host with each
        figure averaged, at its highest, at its lowest, or as last sampled, over the samples of the window that
        have it.
    type: str
    choices: [none, avg, max, min, last]
    default: none
  query:
    description:
      - A JMESPath expression over the result (with key C(samples), or C(aggregates) when O(aggregate) is set);
        its value is returned in RV(query_result).
      - For example V(aggregates[?cpu_percent > `90`].server).
    type: str
requirements:
  - jmespath (for O(query))
'''

EXAMPLES = r'''
- name: Every sample of the last ten minutes
  virtualiron.infra.utilization_info:
    window: 10m
  delegate_to: localhost
  register: recent

- name: Average CPU and memory of two servers over the last two hours
  virtualiron.infra.utilization_info:
    servers: [web1, web2]
    window: 2h
    aggregate: avg
  delegate_to: localhost
  register: web

- name: Servers that were busy all day (their lowest CPU above 80 %)
  virtualiron.infra.utilization_info:
    history: /var/lib/virtualiron/utilization.sqlite
    window: 1d
    aggregate: min
    query: "aggregates[?server != null && cpu_percent > `80`].server"
  delegate_to: localhost
  register: busy
'''

RETURN = r'''
samples:
  description:
    - The samples of the window, sorted by time, then host, then server (a host's own sample first).
    - A figure that was not measured (the first sample of a server has no rates yet, say) is null.
  returned: when O(aggregate=none)
  type: list
  elements: dict
  contains:
    time: {description: "End of the interval the figures were measured over, in epoch seconds (UTC).", type: float}
    host: {description: The host's inventory name., type: str, sample: lab1}
    server: {description: "The server's name, or null for the host's own sample.", type: str, sample: web1}
    cpu_percent:
      description:
        - "A server's: share of its vCPUs busy (100 = every vCPU fully busy)."
        - "A host's: share of its CPUs busy running its servers (the host's own processes are not counted)."
      type: float
    memory_bytes: {description: "Memory in use: a server's, or the sum of a host's running servers'.", type: int}
    memory_percent: {description: "RV(samples[].memory_bytes) of the server's memory, or of the host's.", type: float}
    vcpus: {description: "A server's vCPUs online; a host's CPUs.", type: int}
    disk_read_bps: {description: Bytes read per second from disks., type: float}
    disk_write_bps: {description: Bytes written per second to disks., type: float}
    net_rx_bps: {description: Bytes received per second on NICs., type: float}
    net_tx_bps: {description: Bytes sent per second on NICs., type: float}
aggregates:
  description:
    - One entry per server and host with samples in the window, sorted by host, then server (the host first).
    - Each figure of RV(samples) aggregated by O(aggregate) over the samples that have it; null when none has.
  returned: when O(aggregate) is not V(none)
  type: list
  elements: dict
  contains:
    host: {description: The host's inventory name., type: str}
    server: {description: "The server's name, or null for the host's own figures.", type: str}
    samples: {description: Samples in the window., type: int}
    first: {description: Time of the first sample (epoch seconds)., type: float}
    last: {description: Time of the last sample (epoch seconds)., type: float}
    cpu_percent: {description: As in RV(samples)., type: float}
    memory_bytes: {description: "As in RV(samples) (a float for V(avg)).", type: raw}
    memory_percent: {description: As in RV(samples)., type: float}
    vcpus: {description: "As in RV(samples) (a float for V(avg)).", type: raw}
    disk_read_bps: {description: As in RV(samples)., type: float}
    disk_write_bps: {description: As in RV(samples)., type: float}
    net_rx_bps: {description: As in RV(samples)., type: float}
    net_tx_bps: {description: As in RV(samples)., type: float}
window:
  description: The window read, in epoch seconds (UTC).
  returned: always
  type: dict
  contains:
    since: {description: Start (now minus O(window))., type: float}
    until: {description: End (now)., type: float}
query_result:
  description: The value of O(query).
  returned: when O(query) is set
  type: raw
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.history import AGGREGATIONS, DEFAULT_PATH, aggregate
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.prometheus import (
    HISTORY_BACKEND_ARGUMENT_SPEC, open_backend)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.common.units import parse_duration
from ansible_collections.virtualiron.infra.plugins.module_utils.common.query import exit_with_query


def read_history(params, now):
    """The module's result, without query_result: the samples of the window, or their aggregates."""
    seconds = parse_duration(params['window'], 'window')
    window = {'since': now - seconds, 'until': now}
    # A Prometheus server read without a step: a sample a minute.
    with open_backend(params, 60) as history:
        samples = history.samples(window['since'], window['until'], params['hosts'], params['servers'])
    if params['aggregate'] == 'none':
        return dict(changed=False, window=window, samples=samples)
    return dict(changed=False, window=window, aggregates=aggregate(samples, params['aggregate']))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            history=dict(type='str', default=DEFAULT_PATH),
            servers=dict(type='list', elements='str'),
            hosts=dict(type='list', elements='str'),
            window=dict(type='raw', default='1h'),
            aggregate=dict(type='str', default='none', choices=['none'] + list(AGGREGATIONS)),
            query=dict(type='str'),
            **HISTORY_BACKEND_ARGUMENT_SPEC
        ),
        supports_check_mode=True,
    )
    try:
        result = read_history(module.params, time.time())
    except VirtualIronError as e:
        module.fail_json(msg=str(e))
    exit_with_query(module, result, 'samples' if 'samples' in result else 'aggregates')


if __name__ == '__main__':
    main()
