#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: virtual_server_info
short_description: List the virtual servers of a host with their state, configuration and load
version_added: 0.1.0
description:
  - Returns every virtual server of a hypervisor host, or the named ones, in the same words
    M(virtualiron.infra.virtual_server) takes, with power state and CPU and memory figures.
  - Statistics come from one bulk libvirt call for all servers, so a host with many servers answers fast.
author:
  - Virtual Iron revival team (@virtualiron)
extends_documentation_fragment:
  - virtualiron.infra.connection
  - virtualiron.infra.attributes.info_module
options:
  names:
    description:
      - Only these servers. A name that does not exist is reported in RV(missing), not as an error.
      - All servers of the host when not set.
    type: list
    elements: str
    aliases: [name]
  cpu_sample:
    description:
      - Seconds to sample CPU use over, to report RV(servers[].stats.cpu_percent). V(0) skips sampling.
    type: float
    default: 0
  query:
    description:
      - A JMESPath expression over the result (with key C(servers)); its value is returned in RV(query_result).
      - For example V(servers[?state=='running'].name).
    type: str
requirements:
  - jmespath (for O(query))
seealso:
  - module: virtualiron.infra.virtual_server
'''

EXAMPLES = r'''
- name: All servers of a host
  virtualiron.infra.virtual_server_info:
    uri: qemu+ssh://root@kvm1.example.com/system
  register: host1

- name: Names of the running servers, and their CPU use over 2 seconds
  virtualiron.infra.virtual_server_info:
    uri: qemu+ssh://root@kvm1.example.com/system
    cpu_sample: 2
    query: "servers[?state=='running'].{name: name, cpu: stats.cpu_percent}"
  register: busy

- name: One server
  virtualiron.infra.virtual_server_info:
    name: web1
  register: web1
'''

RETURN = r'''
servers:
  description:
    - The servers, sorted by name, each as M(virtualiron.infra.virtual_server) returns RV(virtualiron.infra.virtual_server#module:server),
      plus RV(servers[].reboot_required) and RV(servers[].stats).
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: Name., type: str, sample: web1}
    state: {description: "running, suspended, stopped or crashed.", type: str, sample: running}
    reboot_required:
      description: The running server differs from its saved definition until it restarts.
      type: bool
    error:
      description:
        - Why the server's definition could not be read (libvirt returned XML that is not well-formed, say).
          Such a server is listed with only RV(servers[].name), C(uuid), RV(servers[].state), C(autostart) and this,
          so that it does not hide the host's other servers.
      type: str
      returned: for a server whose definition cannot be read
    stats:
      description: Figures of a running server (empty for a stopped one).
      type: dict
      contains:
        cpu_time_seconds: {description: CPU time used since start., type: float}
        cpu_percent:
          description: Share of its vCPUs busy over O(cpu_sample) seconds, 100 = all busy. Only with O(cpu_sample).
          type: float
        vcpus_online: {description: vCPUs running., type: int}
        memory_current_bytes: {description: Memory the guest has now (balloon)., type: int}
        memory_rss_bytes: {description: Host memory the server uses., type: int}
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

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    CONNECTION_ARGUMENT_SPEC, libvirt, libvirt_session)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.query import exit_with_query, named_or_all
from ansible_collections.virtualiron.infra.plugins.module_utils.host.utilization import cpu_percent, server_figures
from ansible_collections.virtualiron.infra.plugins.module_utils.server.describe import describe_servers, find_server


def _stats(conn):
    """The figures of every running server of the host by UUID, from one call that lists and reads them at
    once: a server that stops or leaves while the module runs is simply not in them."""
    kinds = libvirt.VIR_DOMAIN_STATS_CPU_TOTAL | libvirt.VIR_DOMAIN_STATS_BALLOON | libvirt.VIR_DOMAIN_STATS_VCPU
    return dict((dom.UUIDString(), stats)
                for dom, stats in conn.getAllDomainStats(kinds, libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE))


def gather(conn, names, sample_seconds):
    domains, missing = named_or_all(names, lambda name: find_server(conn, name), lambda: conn.listAllDomains(0))
    first, started = _stats(conn), time.time()
    second, elapsed = {}, 0
    if sample_seconds > 0 and any(d.UUIDString() in first for d in domains):   # one of these runs
        time.sleep(sample_seconds)
        second, elapsed = _stats(conn), time.time() - started
    servers = []
    for _dom, view in describe_servers(domains):
        view['stats'] = {}
        stats = first.get(view['uuid'])
        if stats is not None:
            view['stats'] = server_figures(stats)
            if view['uuid'] in second:
                view['stats']['cpu_percent'] = cpu_percent(
                    stats.get('cpu.time', 0), second[view['uuid']].get('cpu.time', 0), elapsed,
                    view['stats']['vcpus_online'])
        servers.append(view)
    return sorted(servers, key=lambda s: s['name']), missing


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CONNECTION_ARGUMENT_SPEC,
            names=dict(type='list', elements='str', aliases=['name']),
            cpu_sample=dict(type='float', default=0),
            query=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    with libvirt_session(module) as conn:
        servers, missing = gather(conn, module.params['names'], module.params['cpu_sample'])
    exit_with_query(module, dict(changed=False, servers=servers, missing=missing), 'servers')


if __name__ == '__main__':
    main()
