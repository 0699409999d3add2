# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""LiveRecovery's failure detection: a host is failed when its libvirt endpoint has not answered for a grace
period. FailureTracker is the pure part (what a series of probe results means); probe_hosts asks every host at
once; watch_hosts is the one-shot watch a playbook run makes."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import on_host


def _ask(conn):
    # An answer to a call, not only an open socket, proves that libvirtd and its event loop work.
    return conn.getLibVersion()


def probe_host(uri, timeout):
    """None when the host's libvirt endpoint answered within timeout seconds, else why it did not."""
    return on_host(uri, _ask, timeout)[1]


def probe_hosts(hosts, timeout, pool=None):
    """{name: None or why not} for hosts [{'name', 'uri'}], all probed at the same time."""
    if not hosts:
        return {}
    own = pool is None
    pool = pool or ThreadPoolExecutor(max_workers=min(32, len(hosts)))
    try:
        futures = dict((h['name'], pool.submit(probe_host, h['uri'], timeout)) for h in hosts)
        return dict((name, future.result()) for name, future in futures.items())
    finally:
        if own:
            pool.shutdown(wait=False)


class FailureTracker(object):
    """What the probes of each host say over time. A host is 'up' while it answers, 'unanswered' from its first
    missed probe, and 'failed' once it has not answered for grace seconds. observe() returns 'failed' the first
    time a host turns failed and 'back' when a failed (or unanswered) host answers again, else None."""

    def __init__(self, grace):
        self.grace = float(grace)
        self.hosts = {}

    def observe(self, name, error, now):
        record = self.hosts.setdefault(name, {'state': 'up', 'since': now, 'last_answer': None, 'error': None})
        if error is None:
            was = record['state']
            record.update(state='up', last_answer=now, error=None)
            if was != 'up':
                record['since'] = now
            return 'back' if was == 'failed' else None
        record['error'] = error
        if record['state'] == 'up':
            record.update(state='unanswered', since=now)
        if record['state'] == 'unanswered' and now - record['since'] >= self.grace:
            record['state'] = 'failed'
            return 'failed'
        return None

    def assume_silent(self, name, since):
        """Start from what another watcher saw: the host has not answered since then."""
        self.hosts[name] = {'state': 'unanswered', 'since': since, 'last_answer': None, 'error': None}

    def state(self, name):
        return dict(self.hosts.get(name) or {'state': 'up', 'since': None, 'last_answer': None, 'error': None})

    def undecided(self):
        """Names of the hosts that missed a probe and are not failed yet."""
        return sorted(n for n, r in self.hosts.items() if r['state'] == 'unanswered')


def watch_hosts(hosts, grace, interval, timeout, already_silent=(), clock=time.time, sleep=time.sleep):
    """Probe every host, then keep probing those that did not answer until each answers or stays silent for grace
    seconds; a host named in already_silent (an event source saw it silent for grace) fails at its first missed
    probe. Returns {name: {'state': 'up' or 'failed', 'since', 'last_answer', 'error'}} with 'since' the time
    the host was first seen silent (failed) or answering (up)."""
    tracker = FailureTracker(grace)
    by_name = dict((h['name'], h) for h in hosts)
    for name in already_silent:
        if name in by_name:
            tracker.assume_silent(name, clock() - tracker.grace)
    with ThreadPoolExecutor(max_workers=max(1, min(32, len(hosts)))) as pool:
        pending = list(by_name)
        while pending:
            started = clock()
            # Silent since the probe was sent, not since its timeout ran out.
            for name, error in probe_hosts([by_name[n] for n in pending], timeout, pool).items():
                tracker.observe(name, error, started)
            pending = tracker.undecided()
            if pending:
                sleep(max(0.0, interval - (clock() - started)))
    return dict((name, tracker.state(name)) for name in by_name)
