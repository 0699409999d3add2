# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Event-Driven Ansible event source virtualiron.infra.live_capacity: samples the hosts continuously and emits an
event when a virtual server's capacity policy starts to hold ("CPU % > 90 for 10 minutes") and when it stops, so
that a rulebook can run LiveCapacity (playbooks/live_capacity.yml) at once instead of on a schedule."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import asyncio
import importlib
import logging
import os
import sys
import time

DOCUMENTATION = r'''
---
short_description: Emit an event when a virtual server's capacity policy starts and stops holding.
description:
  - An ansible-rulebook event source plugin that reads every host of O(hosts) through libvirt every O(interval)
    seconds (one bulk statistics call per host), keeps each running server's samples for its policy's window, and
    emits an event when a direction of the server's capacity policy starts to hold (every sample of the window past
    the threshold, the window covered) and when it stops holding (a sample back under the threshold, a gap in
    sampling, the server stopped, gone or moved to another host).
  - The condition is the one M(virtualiron.infra.live_capacity) decides on, over the same figures; with O(history)
    the samples are also recorded there, so that the playbook the rulebook runs decides on them.
  - "Condition events: C({'live_capacity': {'event': 'started' or 'stopped', 'server', 'host', 'direction' (more or
    less), 'metric', 'threshold', 'minutes', 'since', 'time', 'figures' (samples, min, max, mean, latest,
    coverage), 'why', 'policy' (where the direction comes from)}})."
  - "Host events: C({'live_capacity': {'event': 'host_unreachable', 'host', 'time', 'error'}}) once when a host
    does not answer (the others are sampled all the same), and C(host_back) when it answers again."
  - Host CPU figures are derived from each host's own servers; the hosts' own processes are not counted.
  - Needs libvirt-python and this collection importable in ansible-rulebook's Python.
options:
  hosts:
    description: The hosts to watch, each a dictionary of C(name) (as the history names it) and C(uri) (libvirt).
    type: list
    elements: dict
    required: true
  interval:
    description: Seconds between two readings of the hosts (the sampling interval of the history).
    type: float
    default: 10
  history:
    description: The utilization history (SQLite) to record the samples in too; none by default.
    type: str
  retention:
    description: Seconds of history kept in O(history).
    type: int
    default: 604800
  tag_policies:
    description: As M(virtualiron.infra.live_capacity)'s; a server's own policy (its metadata) counts first.
    type: dict
    default: {}
  group_policies:
    description: As M(virtualiron.infra.live_capacity)'s.
    type: dict
    default: {}
  groups:
    description: As M(virtualiron.infra.live_capacity)'s (inventory groups and their servers).
    type: dict
    default: {}
  host_policies:
    description: As M(virtualiron.infra.live_capacity)'s.
    type: dict
    default: {}
  connect_timeout:
    description: Seconds to wait for a host's libvirt connection.
    type: int
    default: 20
'''

EXAMPLES = r'''
- virtualiron.infra.live_capacity:
    hosts:
      - {name: kvm1, uri: "qemu+tls://kvm1.example.com/system"}
      - {name: kvm2, uri: "qemu+tls://kvm2.example.com/system"}
    interval: 10
    history: ~/.ansible/virtualiron/utilization.sqlite
    tag_policies:
      role=batch:
        more: {metric: cpu_percent, threshold: 95, minutes: 20}
'''

POLICY_ARGS = ('tag_policies', 'group_policies', 'host_policies', 'groups')
logger = logging.getLogger(__name__)


def _import_collection():
    """ansible-rulebook runs this file by path, without Ansible's collection loader: make the collection this
    file belongs to importable (its ansible_collections directory's parent on sys.path) when it is not already."""
    try:
        importlib.import_module('ansible_collections.virtualiron.infra.plugins.module_utils.capacity')
    except ImportError:
        root = os.path.abspath(os.path.join(os.path.dirname(__file__), *([os.pardir] * 7)))
        sys.path.insert(0, root)


_import_collection()
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.history import open_history  # noqa: E402
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.watch import (  # noqa: E402
    ConditionWatch, RackSampler, policies_of)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError  # noqa: E402


def check_args(args):
    """The source's arguments with their defaults, or VirtualIronError saying what is wrong."""
    hosts = args.get('hosts')
    if not isinstance(hosts, list) or not hosts or not all(
            isinstance(h, dict) and h.get('name') and h.get('uri') for h in hosts):
        raise VirtualIronError('live_capacity: hosts must be a list of {name, uri}, got %r' % (hosts,))
    interval = args.get('interval', 10)
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval <= 0:
        raise VirtualIronError('live_capacity: interval must be a number of seconds above 0, got %r' % (interval,))
    checked = {'hosts': hosts, 'interval': float(interval), 'history': args.get('history'),
               'retention': int(args.get('retention', 7 * 86400)), 'connect_timeout': int(args.get('connect_timeout', 20))}
    for key in POLICY_ARGS:
        checked[key] = args.get(key) or {}
        if not isinstance(checked[key], dict):
            raise VirtualIronError('live_capacity: %s must be a dictionary, got %r' % (key, checked[key]))
    return checked


def read_rack(sampler, params, watch):
    """One tick, run in a thread (libvirt blocks): read the rack, record the samples, and the events to emit."""
    tick = sampler.tick()
    now = time.time()
    if params['history'] and tick['samples']:
        with open_history(os.path.expanduser(params['history']), params['retention']) as history:
            history.record(tick['samples'])
    policies, problems = policies_of(tick['servers'], params)
    for problem in problems:
        logger.warning('live_capacity: server %s is not watched: %s', problem['server'], problem['error'])
    return watch.observe(tick['samples'], policies, now, tick['answered'], tick['errors'])


async def main(queue, args):
    """Read the hosts every interval and put an event on the queue each time a condition starts or stops."""
    params = check_args(args)
    sampler, watch = RackSampler(params['hosts'], params['connect_timeout']), ConditionWatch(params['interval'])
    loop = asyncio.get_running_loop()
    try:
        while True:
            started = loop.time()
            for event in await loop.run_in_executor(None, read_rack, sampler, params, watch):
                await queue.put(event)
            # Keep the interval from one reading to the next, whatever a reading took.
            await asyncio.sleep(max(0.0, params['interval'] - (loop.time() - started)))
    except asyncio.CancelledError:
        # A reading under way finishes in its thread (libvirt calls cannot be interrupted) and is dropped.
        logger.info('live_capacity: stopped')
        raise


if __name__ == '__main__':
    class MockQueue(asyncio.Queue):
        """Prints the events: python live_capacity.py NAME URI watches one host."""

        async def put(self, item):
            print(item)

    asyncio.run(main(MockQueue(), {'hosts': [{'name': sys.argv[1], 'uri': sys.argv[2]}], 'interval': 5}))
