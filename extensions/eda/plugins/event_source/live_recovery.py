# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Event-Driven Ansible event source virtualiron.infra.live_recovery: asks every hypervisor host's libvirt endpoint
for an answer every second or so and emits an event when a host has been silent for the grace period (failed) and
when it answers again, so that a rulebook can run LiveRecovery (playbooks/recover.yml) within seconds."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import asyncio
import importlib
import logging
import os
import sys
import threading
import time

DOCUMENTATION = r'''
---
short_description: Emit an event when a hypervisor host stops answering for a grace period, and when it is back.
description:
  - An ansible-rulebook event source plugin that probes the libvirt endpoint of every host of O(hosts) every
    O(interval) seconds (it opens a connection and asks for libvirt's version, so an answer proves that libvirtd and
    its event loop work, not only that a socket is open), all hosts at the same time, and emits an event once when a
    host has not answered for O(grace) seconds (failed) and once when a failed host answers again.
  - "Failure events: C({'live_recovery': {'event': 'host_failed', 'host', 'uri', 'since' (ISO 8601 UTC, when the
    first unanswered probe was sent), 'time' (ISO 8601 UTC, now), 'seconds_silent' (float), 'error' (why the
    latest probe got no answer)}})."
  - "Return events: C({'live_recovery': {'event': 'host_back', 'host', 'uri', 'since', 'time', 'seconds_silent'
    (how long it was silent), 'error' (the last error it gave)}})."
  - Each host has its own probe schedule, so a host that does not answer (its probe waits O(timeout) seconds) never
    delays the probes of the others; a host that does not answer is probed again at once when its probe took more
    than O(interval). The schedule does not drift, since each probe is due O(interval) after the previous one was
    due, however long the probes took.
  - A host whose connection opens but whose call then hangs counts as silent one second after O(timeout).
  - Failure detection is M(virtualiron.infra.live_recovery)'s own (FailureTracker of the collection's recovery
    detection), so the event and the playbook mean the same by failed. A host that a probe cannot be asked about
    because of an unexpected error (a bug, not an answer of the host) is logged with its traceback and not counted
    as silent, since a failure event leads to fencing.
  - An event is a suspicion only; the rulebook's playbook fences the host (powers it off through its BMC and
    confirms it) before it restarts anything.
  - Needs libvirt-python and this collection importable in ansible-rulebook's Python.
options:
  hosts:
    description:
      - The hosts to watch, each a dictionary of C(name) (the inventory name the playbook knows it by) and C(uri)
        (its libvirt URI).
      - Names must be unique.
    type: list
    elements: dict
    required: true
  grace:
    description: Seconds a host must stay silent before it is failed.
    type: float
    default: 10
  interval:
    description: Seconds between two probes of a host.
    type: float
    default: 1
  timeout:
    description: Seconds a probe waits for the host's libvirt connection.
    type: float
    default: 2
'''

EXAMPLES = r'''
- virtualiron.infra.live_recovery:
    hosts:
      - {name: kvm1, uri: "qemu+tls://kvm1.example.com/system"}
      - {name: kvm2, uri: "qemu+tls://kvm2.example.com/system"}
    grace: 10
    interval: 1
    timeout: 2
'''

EVENT_KEY = 'live_recovery'
DEFAULTS = {'grace': 10.0, 'interval': 1.0, 'timeout': 2.0}
# How much longer than its connection timeout a probe may take for its one call.
CALL_SECONDS = 1.0
logger = logging.getLogger(__name__)


def _import_collection():
    """ansible-rulebook runs this file by path, without Ansible's collection loader: make the collection this
    file belongs to importable (its ansible_collections directory's parent on sys.path) when it is not already."""
    try:
        importlib.import_module('ansible_collections.virtualiron.infra.plugins.module_utils.recovery')
    except ImportError:
        root = os.path.abspath(os.path.join(os.path.dirname(__file__), *([os.pardir] * 7)))
        sys.path.insert(0, root)


_import_collection()
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.events import format_time  # noqa: E402
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError  # noqa: E402
from ansible_collections.virtualiron.infra.plugins.module_utils.recovery.detection import (  # noqa: E402
    FailureTracker, probe_host)


def _seconds(args, key):
    value = args.get(key, DEFAULTS[key])
    try:
        seconds = float(value)  # ansible-rulebook may hand a templated number over as text
    except (TypeError, ValueError):
        seconds = None
    if isinstance(value, bool) or seconds is None or not 0 < seconds < 86400:
        raise VirtualIronError('live_recovery: %s must be a number of seconds above 0, got %r' % (key, value))
    return seconds


def check_args(args):
    """The source's arguments with their defaults, or VirtualIronError saying what is wrong."""
    hosts = args.get('hosts')
    if not isinstance(hosts, list) or not hosts or not all(
            isinstance(h, dict) and isinstance(h.get('name'), str) and h['name'] and isinstance(h.get('uri'), str)
            and h['uri'] for h in hosts):
        raise VirtualIronError('live_recovery: hosts must be a list of {name, uri}, got %r' % (hosts,))
    names = [h['name'] for h in hosts]
    twice = sorted(set(n for n in names if names.count(n) > 1))
    if twice:
        raise VirtualIronError('live_recovery: host names must be unique; given more than once: %s' % ', '.join(twice))
    checked = dict((key, _seconds(args, key)) for key in DEFAULTS)
    checked['hosts'] = [{'name': h['name'], 'uri': h['uri']} for h in hosts]
    return checked


def observe(tracker, host, error, asked, answered):
    """Feed one probe of host (sent at `asked`, its answer or error at `answered`, epoch s) to the tracker; the event
    to emit, or None. A host is silent from the first probe it did not answer, so that probe's sending time starts
    the grace period: the host has given no answer since at least then."""
    before = tracker.state(host['name'])
    first_miss = error is not None and before['state'] == 'up'
    turned = tracker.observe(host['name'], error, asked if first_miss else answered)
    if turned == 'failed':
        after = tracker.state(host['name'])
        return host_event('host_failed', host, after['since'], answered, after['error'])
    if turned == 'back':
        return host_event('host_back', host, before['since'], answered, before['error'])
    return None


def host_event(kind, host, since, now, error):
    """The event of a host that turned failed or came back (kind), silent since `since` (epoch s)."""
    return {EVENT_KEY: {'event': kind, 'host': host['name'], 'uri': host['uri'], 'since': format_time(since),
                        'time': format_time(now), 'seconds_silent': round(now - since, 3), 'error': error}}


def next_due(due, interval, now):
    """When the next probe of a host is due: interval after the last one was due, or now when that has passed."""
    return max(due + interval, now)


async def probe(loop, host, timeout):
    """None when host answered, else why not; in a thread of its own (a libvirt call cannot be interrupted, and a
    daemon thread still waiting on a hung host neither blocks the others nor keeps ansible-rulebook from exiting)."""
    answer = loop.create_future()

    def settle(result, failure):
        if answer.done():
            return  # given up on already
        if failure is not None:
            answer.set_exception(failure)
        else:
            answer.set_result(result)

    def run():
        result = failure = None
        try:
            result = probe_host(host['uri'], timeout)
        except Exception as e:  # pylint: disable=broad-exception-caught
            failure = e
        try:
            loop.call_soon_threadsafe(settle, result, failure)
        except RuntimeError:
            pass  # the source stopped, its loop closed: nobody waits for this answer

    threading.Thread(target=run, name='live_recovery probe %s' % host['name'], daemon=True).start()
    try:
        return await asyncio.wait_for(answer, timeout + CALL_SECONDS)
    except asyncio.TimeoutError:
        return 'no answer within %g s (the connection opened, its call hangs)' % (timeout + CALL_SECONDS)


async def watch_host(queue, host, tracker, params, clock=time.time):
    """Probe one host on its own schedule for ever, putting its failure and return events on the queue."""
    loop = asyncio.get_running_loop()
    due = loop.time()
    while True:
        asked = clock()
        try:
            error = await probe(loop, host, params['timeout'])
            event = observe(tracker, host, error, asked, clock())
            if error is not None:
                logger.debug('live_recovery: host %s did not answer: %s', host['name'], error)
        except Exception:  # pylint: disable=broad-exception-caught
            logger.exception('live_recovery: host %s could not be probed; not counted as silent', host['name'])
            event = None
        if event is not None:
            await queue.put(event)
        due = next_due(due, params['interval'], loop.time())
        await asyncio.sleep(due - loop.time())


async def main(queue, args):
    """Probe every host on its own schedule and put an event on the queue when one fails or comes back."""
    params = check_args(args)
    tracker = FailureTracker(params['grace'])
    tasks = [asyncio.ensure_future(watch_host(queue, host, tracker, params)) for host in params['hosts']]
    try:
        await asyncio.gather(*tasks)
    except asyncio.CancelledError:
        # Probes under way finish in their threads (libvirt calls cannot be interrupted) and are dropped.
        logger.info('live_recovery: stopped')
        raise
    finally:
        for task in tasks:
            task.cancel()


if __name__ == '__main__':
    class MockQueue(asyncio.Queue):
        """Prints the events: python live_recovery.py NAME URI [GRACE] watches one host."""

        async def put(self, item):
            print(item, flush=True)

    grace = float(sys.argv[3]) if len(sys.argv) > 3 else 10
    asyncio.run(main(MockQueue(), {'hosts': [{'name': sys.argv[1], 'uri': sys.argv[2]}], 'grace': grace}))
