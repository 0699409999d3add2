#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: report
short_description: Make a dashboard page of the rack, its utilization and its events, and Prometheus metrics
version_added: 0.1.0
description:
  - Writes one self-contained HTML page (no script, font or style sheet fetched from anywhere, so it opens from a
    job artifact or a mail attachment on a machine without a network) with
    the rack now (each host's state, maintenance, CPUs, memory, overcommit, and its servers),
    utilization over O(window) (CPU % and memory % of each host and server as SVG charts, with the thresholds of
    their capacity policies),
    and the events of the LiveCapacity event log on a timeline and in a table (moves with their duration,
    refusals and conditions with their reasons, maintenance, and any other kind the log holds).
  - The figures behind every chart, and the events, download from the page as CSV and JSON.
  - "Long periods are bucketed: a host's chart has at most 288 points, a server's at most 72, each the lowest, mean
    and highest of its samples in that bucket."
  - With O(textfile), also writes the current figures and the event log's counters in the Prometheus text format
    for node_exporter's textfile collector (metric names in the collection's C(docs/reports.md)).
  - "Runs where the history and the event log are, on the controller: C(delegate_to: localhost), C(run_once)."
  - Each file is written only when what it shows changed; see RV(changed).
author:
  - Virtual Iron revival team (@virtualiron)
extends_documentation_fragment:
  - virtualiron.infra.history_backend
attributes:
  check_mode:
    support: full
    description: Makes the report and says whether the files would change; writes nothing.
  diff_mode:
    support: none
    description: A page has no useful diff.
options:
  output:
    description:
      - Path of the HTML page to write; C(~) is expanded. Its directory must exist. Written to a temporary file
        beside it and renamed, with mode 0644.
    type: path
    required: true
  window:
    description: The period the report shows, ending now, in seconds or as a duration such as V(2h), V(1d) or V(7d).
    type: raw
    default: 1d
  hosts:
    description:
      - The hosts of the report, each with its C(name) as the history names it and, to read the rack now, its
        libvirt C(uri).
      - When not set, every host of the history, and the rack is not read.
    type: list
    elements: dict
    suboptions:
      name: {description: The host's name., type: str, required: true}
      uri: {description: "Its libvirt URI; without it the host is shown from the history only.", type: str}
  servers:
    description: Only these servers (all the hosts' servers when not set).
    type: list
    elements: str
  history:
    description: The utilization history (SQLite) that M(virtualiron.infra.utilization) records.
    type: path
    default: ~/.ansible/virtualiron/utilization.sqlite
  events:
    description: The event log (JSON lines) of LiveCapacity and the other modules that log events.
    type: path
    default: ~/.ansible/virtualiron/events.jsonl
  textfile:
    description:
      - Path of a Prometheus textfile (its name ends in C(.prom)) to write the current figures and event counters
        to, in node_exporter's textfile collector directory. Not written when not set.
    type: path
  title:
    description: The page's title.
    type: str
    default: Virtual Iron rack report
  tag_policies:
    description: As M(virtualiron.infra.live_capacity)'s, for the thresholds the charts draw.
    type: dict
    default: {}
  group_policies:
    description: As M(virtualiron.infra.live_capacity)'s.
    type: dict
    default: {}
  groups:
    description: As M(virtualiron.infra.live_capacity)'s.
    type: dict
    default: {}
  host_policies:
    description: As M(virtualiron.infra.live_capacity)'s.
    type: dict
    default: {}
  connect_timeout:
    description: Seconds to wait for a host to take a connection; one that does not is shown as unreachable.
    type: int
    default: 20
notes:
  - C(playbooks/report.yml) makes the report from a schedule (AWX, Automation Controller or cron).
  - "The page's format, what each part shows and the metric names are described in C(docs/reports.md)."
requirements:
  - jinja2
  - prometheus_client (for O(textfile))
seealso:
  - module: virtualiron.infra.utilization
  - module: virtualiron.infra.live_capacity
'''

EXAMPLES = r'''
- name: The day's report of the inventory's hypervisors, and metrics for node_exporter
  virtualiron.infra.report:
    hosts: "{{ dict(groups['hypervisors'] | zip(groups['hypervisors'] | map('extract', hostvars, 'virtualiron_uri')))
               | dict2items(key_name='name', value_name='uri') }}"
    window: 1d
    output: /var/www/html/virtualiron/index.html
    textfile: /var/lib/prometheus/node-exporter/virtualiron.prom
  delegate_to: localhost
  run_once: true

- name: A week of two servers, from the history alone
  virtualiron.infra.report:
    servers: [web1, web2]
    window: 7d
    output: /tmp/web.html
    title: Web servers, last week
  delegate_to: localhost
'''

RETURN = r'''
changed:
  description:
    - Whether the page or the textfile was written (in check mode, would be). The page is written when what it shows
      differs from the page at O(output) (its digest, which leaves out the generation time); the textfile when its
      text differs.
  returned: always
  type: bool
page:
  description: Path of the page.
  returned: always
  type: str
page_changed:
  description: Whether the page was (or would be) written.
  returned: always
  type: bool
size:
  description: Bytes of the page.
  returned: always
  type: int
digest:
  description: SHA-256 of the page without its generation time.
  returned: always
  type: str
textfile:
  description: Path of the textfile.
  returned: when O(textfile) is set
  type: str
textfile_changed:
  description: Whether the textfile was (or would be) written.
  returned: when O(textfile) is set
  type: bool
textfile_size:
  description: Bytes of the textfile.
  returned: when O(textfile) is set
  type: int
counts:
  description: What the report holds.
  returned: always
  type: dict
  contains:
    hosts: {description: Hosts., type: int}
    servers: {description: Servers (a server seen on two hosts in the period counts on each)., type: int}
    samples: {description: Samples of the period., type: int}
    events: {description: Events of the period., type: int}
window:
  description: "The period shown, in epoch seconds: it ends at the end of the current bucket of the hosts' charts."
  returned: always
  type: dict
  contains:
    since: {description: Start., type: float}
    until: {description: End., type: float}
bucket_seconds:
  description: Seconds of each point of the charts, of hosts (C(host)) and of servers (C(server)).
  returned: always
  type: dict
skipped_events:
  description: Lines of the event log that are not events (damaged or cut short), left out.
  returned: always
  type: int
unreachable_hosts:
  description: Hosts of O(hosts) whose rack could not be read (the page says why).
  returned: always
  type: list
  elements: str
timings:
  description: Seconds spent reading, gathering, rendering and writing.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.policy import POLICY_ARGUMENT_SPEC
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.prometheus import HISTORY_BACKEND_ARGUMENT_SPEC
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    CONNECT_TIMEOUT, module_failures)
from ansible_collections.virtualiron.infra.plugins.module_utils.report.run import make_report


def main():
    module = AnsibleModule(
        argument_spec=dict(
            output=dict(type='path', required=True),
            window=dict(type='raw', default='1d'),
            hosts=dict(type='list', elements='dict', options=dict(name=dict(type='str', required=True),
                                                                  uri=dict(type='str'))),
            servers=dict(type='list', elements='str'),
            history=dict(type='path', default='~/.ansible/virtualiron/utilization.sqlite'),
            events=dict(type='path', default='~/.ansible/virtualiron/events.jsonl'),
            textfile=dict(type='path'),
            title=dict(type='str', default='Virtual Iron rack report'),
            connect_timeout=dict(type='int', default=CONNECT_TIMEOUT),
            **dict(HISTORY_BACKEND_ARGUMENT_SPEC, **POLICY_ARGUMENT_SPEC)
        ),
        supports_check_mode=True,
    )
    with module_failures(module):
        result = make_report(module.params, check_mode=module.check_mode)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
