# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Moving a virtual server between hosts: `Migration` reads the facts (migration.facts), decides
(migration.decisions), does the move and checks both hosts afterwards. A failed move leaves the server
running on the source only: the destination keeps no domain of it, nor a disk the move created there
(unless the destination's libvirtd is down at that moment; a re-run then reuses the disk).

A stopped server moved with storage copy has its disks copied by the machine that runs the module,
through libvirt's volume streams (download from the source, upload to the destination, holes kept);
the source keeps its disk files.

The migration is client-managed (virDomainMigrate3 with a connection to each host): whoever can reach
both hosts' URIs can move servers, and the hosts need no credentials for each other. `migrate_server`
and `migrate_many` open connections of their own; `move_servers` is live_migrate's whole run.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import threading
import time

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    CONNECT_TIMEOUT, close_connection, is_libvirt_error, libvirt, lookup_or_none, open_connection)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.converger import Converger
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.decisions import (
    MOVE_WORDS, MOVES, copied_volume_xml, decide, job_figures, migrated_disks, moved_state, preflight_problems,
    timed_out, where)
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.facts import (
    gather_backing_facts, gather_facts, gather_target_facts)
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.options import (
    DEFAULT_OPTIONS, check_concurrency, migration_flags, migration_options, migration_params)
from ansible_collections.virtualiron.infra.plugins.module_utils.recovery.store import keep_current
from ansible_collections.virtualiron.infra.plugins.module_utils.server.converger import SERVER_DEFAULTS, ServerConverger, undefine_server
from ansible_collections.virtualiron.infra.plugins.module_utils.server.describe import describe_server, find_server, power_state
from ansible_collections.virtualiron.infra.plugins.module_utils.storage.pools import pool_holding

_POLL_SECONDS = 0.2


class Migration(Converger):
    """One server from one host (conn) to another (dconn). read() gathers the facts, decides and runs the
    pre-flight checks; converge() does the action's steps, each recorded as a change (check mode: only
    recorded). The diff says where the server is; `server` is the server on the destination."""

    result_key = 'server'

    def __init__(self, sconn, dconn, name, options, check_mode=False, diff=False):
        super(Migration, self).__init__(sconn, dict(DEFAULT_OPTIONS, name=name, **options), check_mode, diff)
        self.sconn, self.dconn, self.name = sconn, dconn, name
        self.facts = self.action = self.server = None
        self.figures = {}
        self.new_volumes = []

    def read(self):
        self.facts = facts = gather_facts(self.sconn, self.dconn, self.name)
        self.action = decide(facts, self.params['live'])
        if self.action in MOVES:
            facts['target'] = gather_target_facts(self.dconn, facts['source'])
            if self.params['storage'] == 'copy' and self.action != 'live':
                facts['target']['backing'] = gather_backing_facts(self.sconn, self.dconn, facts['source'])
        problems = preflight_problems(facts, self.params, self.action)
        if problems:
            raise VirtualIronError('pre-flight checks refused moving %s: %s' % (self.name, '; '.join(problems)))
        return where(facts)

    def converge(self, before):
        getattr(self, '_' + self.action)()
        if self.check_mode:
            return dict(before, source=None, destination=moved_state(self.facts, self.action))
        return self._verify()

    def describe(self, change):
        return MOVE_WORDS[change.field]

    def result(self, before, after):
        result = super(Migration, self).result(before, after)
        result.update(self.figures, action=self.action, server=self.server)
        return result

    # each action: one method, its steps recorded and done by act()
    def _none(self):
        return None

    def _finish(self):
        self.act('stale definition', 'source', None, lambda: undefine_server(find_server(self.sconn, self.name)))

    def _cold(self):
        if self.params['storage'] == 'copy':
            self.act('disk copy', 'source', 'destination', self._copy_stopped)
            self.changes.add('definition move', 'source', 'destination')  # done by the copy
        else:
            self.act('definition move', 'source', 'destination',
                     lambda: self._migrate(find_server(self.sconn, self.name), 'cold'))

    def _restart(self):
        stop = dict(SERVER_DEFAULTS, name=self.name, state='stopped', shutdown_timeout=self.params['shutdown_timeout'],
                    force=self.params['force'])
        self.act('shutdown', 'running', 'stopped', lambda: ServerConverger(self.sconn, stop).run())
        try:
            self._cold()
        except VirtualIronError:
            find_server(self.sconn, self.name).create()  # it ran before: it runs again where it was
            raise
        self.act('start', 'stopped', 'running', lambda: find_server(self.dconn, self.name).create())

    def _live(self):
        self.act('live move', 'source', 'destination', self._live_move)

    def _copy_stopped(self):
        """A stopped server: its disks copied into the destination's pools, its definition defined there and
        undefined here. The source keeps its disk files. On failure the destination keeps nothing we made."""
        dom = find_server(self.sconn, self.name)
        xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE)
        started = time.time()
        disks = migrated_disks(self.facts['source']['spec'])
        paths = [d['path'] for d in disks]
        try:
            copied = sum(self._copy_disk(disk) for disk in disks)
            self.dconn.defineXML(xml)
            undefine_server(dom)
        except (libvirt.libvirtError, RuntimeError, VirtualIronError) as e:  # RuntimeError: libvirt's streams
            self._recover()
            raise VirtualIronError(self._failure_message(e))
        self.figures.update(migration_seconds=round(time.time() - started, 3), bytes_transferred=copied,
                            disk_bytes_transferred=copied, source_disks_kept=paths)

    def _copy_disk(self, disk):
        """One disk: a volume of the stated format and its capacity in the destination's pool for its directory,
        then its bytes. Returns the bytes of data sent."""
        source = _source_volume(self.sconn, disk['path'])
        pool = pool_holding(self.dconn, disk['path'])
        if pool is None:  # the pre-flight checks found it: it was stopped since
            raise VirtualIronError('the destination no longer has an active storage pool for %s' % disk['path'])
        target = pool.createXML(copied_volume_xml(source.XMLDesc(0), disk), 0)
        self.new_volumes.append(disk['path'])
        return _stream_volume(source, target)

    def _live_move(self):
        dom = find_server(self.sconn, self.name)
        self.new_volumes = [p for p, exists in self.facts['target']['disks'].items() if exists is False]
        if self.params['max_downtime']:
            dom.migrateSetMaxDowntime(self.params['max_downtime'], 0)
        moved = self._migrate(dom, 'live')
        if self.figures.get('timed_out') and self.params['timeout_action'] == 'suspend' \
                and power_state(moved) == 'suspended':
            moved.resume()  # suspended only to let the move converge; it was running before

    def _migrate(self, dom, action):
        started = time.time()
        outcome = {}
        worker = threading.Thread(target=self._perform, args=(dom, action, outcome))
        worker.start()
        self._watch(dom, worker, started, action == 'live')
        if 'error' in outcome:
            if not self.figures.get('postcopy_started'):  # after the switch only the destination has it all
                self._recover()
            raise VirtualIronError(self._failure_message(outcome['error']))
        moved = outcome['dom']
        self.figures.update(job_figures(_completed_stats(moved)))
        return moved

    def _perform(self, dom, action, outcome):
        try:
            outcome['dom'] = dom.migrate3(self.dconn, migration_params(self.params, action),
                                          migration_flags(self.params, action))
        except Exception as e:  # pylint: disable=broad-exception-caught  # reported by _migrate
            outcome['error'] = e

    def _watch(self, dom, worker, started, live):
        """Wait for the move; at the timeout abort it or suspend the server so that it converges.
        With post-copy, switch to it once the first pass over memory is done."""
        acted = switched = False
        while worker.is_alive():
            worker.join(_POLL_SECONDS)
            if not worker.is_alive() or not live:
                continue
            if self.params['postcopy'] and not switched:
                switched = self.figures['postcopy_started'] = bool(ignore_libvirt_error(lambda: _start_postcopy(dom)))
            if not acted and timed_out(started, self.params['timeout'], time.time()):
                acted = True
                self.figures['timed_out'] = True
                ignore_libvirt_error(dom.abortJob if self.params['timeout_action'] == 'abort' else dom.suspend)

    def _failure_message(self, error):
        reason = error.get_error_message() if is_libvirt_error(error) else str(error)
        if self.figures.get('timed_out') and self.params['timeout_action'] == 'abort':
            reason = 'timed out after %s s and aborted (%s)' % (self.params['timeout'], reason)
        return 'moving %s failed: %s' % (self.name, reason)

    def _recover(self):
        """After a failed move: the server runs on the source (resumed if we suspended it), and the
        destination keeps no domain of it and no disk that the move created there. A copy that runs on
        the destination is never destroyed: it may be the only current one."""
        dest = ignore_libvirt_error(lambda: find_server(self.dconn, self.name))
        source = find_server(self.sconn, self.name)
        if source is None:
            return
        if dest is not None and dest.isActive() and power_state(dest) == 'running':
            raise VirtualIronError('moving %s failed half-way: it runs on the destination and still exists on the '
                                   'source; check both hosts before you start either' % self.name)
        if self.figures.get('timed_out') and power_state(source) == 'suspended':
            ignore_libvirt_error(source.resume)
        if dest is not None:  # the incoming, paused copy, or a definition the move left
            if dest.isActive():
                ignore_libvirt_error(dest.destroy)
            if find_server(self.dconn, self.name) is not None:
                ignore_libvirt_error(lambda: undefine_server(dest))
        for path in self.new_volumes:
            ignore_libvirt_error(lambda p=path: self.dconn.storageVolLookupByPath(p).delete(0))

    def _verify(self):
        """Check both hosts after the move: on the destination only, in the state it had."""
        source, dest = find_server(self.sconn, self.name), find_server(self.dconn, self.name)
        if source is not None or dest is None:
            raise VirtualIronError('after the move, %s is %s on the source and %s on the destination'
                                   % (self.name, power_state(source) if source else 'absent',
                                      power_state(dest) if dest else 'absent'))
        self.server = describe_server(dest)
        if self.server.get('recovery'):
            keep_current(self.dconn, [dest])  # the definition store says where the server is now
        return {'source': None, 'destination': self.server['state']}


def _source_volume(conn, path):
    volume = lookup_or_none(conn.storageVolLookupByPath, path, libvirt.VIR_ERR_NO_STORAGE_VOL)
    if volume is None:
        raise VirtualIronError('disk %s is in no active storage pool of the source: libvirt copies only the '
                               'volumes of pools' % path)
    return volume


def _stream_volume(source, target):
    """The bytes of one volume into another through libvirt's streams (download from the source's host,
    upload to the target's); holes stay holes. Returns the bytes of data sent."""
    download, upload = source.connect().newStream(0), target.connect().newStream(0)
    sent = [0]

    def data(_stream, buf, _opaque):
        sent[0] += len(buf)
        return upload.send(buf)

    try:
        source.download(download, 0, 0, libvirt.VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM)
        target.upload(upload, 0, 0, libvirt.VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM)
        download.sparseRecvAll(data, lambda _stream, length, _opaque: upload.sendHole(length), None)
        download.finish()
        upload.finish()
    except (libvirt.libvirtError, RuntimeError):
        for stream in (download, upload):
            ignore_libvirt_error(stream.abort)
        raise
    return sent[0]


def _start_postcopy(dom):
    """Switch to post-copy once the first pass over memory is done; False until then."""
    stats = dom.jobStats(0)
    if stats.get('memory_iteration', 0) < 2:
        return False
    dom.migrateStartPostCopy(0)
    return True


def _completed_stats(dom):
    try:
        return dom.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
    except libvirt.libvirtError:
        return {}  # drivers without completed job statistics: the measured duration only


def ignore_libvirt_error(call):
    """A call racing the migration's end (the job or domain may be gone, a connection may be dead): its failure
    is no news. Returns what the call returned, None when it failed."""
    try:
        return call()
    except libvirt.libvirtError:
        return None


def migrate_server(source_uri, destination_uri, name, options, check_mode=False, diff=False):
    """One move with connections of its own, so that several can run in parallel threads.
    Returns the result; raises VirtualIronError (libvirt errors included) saying what failed."""
    sconn = dconn = None
    started = time.time()
    try:
        timeout = options.get('connect_timeout', CONNECT_TIMEOUT)
        sconn = open_connection(source_uri, timeout)
        dconn = open_connection(destination_uri, timeout)
        result = Migration(sconn, dconn, name, options, check_mode, diff).run()
        result.update(name=name, source=source_uri, destination=destination_uri)
        if result['changed'] and not check_mode:  # all of it: connections, checks, move, verification
            result['duration_seconds'] = round(time.time() - started, 3)
        return result
    except libvirt.libvirtError as e:
        raise VirtualIronError('moving %s: libvirt error: %s' % (name, e.get_error_message()))
    finally:
        for conn in (sconn, dconn):
            if conn is not None:
                close_connection(conn)


def migrate_many(jobs, options, concurrency, check_mode=False, diff=False):
    """Several moves [(source URI, destination URI, name)], at most `concurrency` at a time. Every move is
    tried; each result says whether it failed. Returns the combined result with failed_servers, and with
    diff (one per move) only when asked."""
    from concurrent.futures import ThreadPoolExecutor
    check_concurrency(concurrency)

    def one(job):
        source, destination, name = job
        try:
            return dict(migrate_server(source, destination, name, options, check_mode, diff), failed=False)
        except VirtualIronError as e:
            return {'name': name, 'source': source, 'destination': destination, 'failed': True, 'msg': str(e),
                    'changed': False}

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(one, jobs))
    result = {
        'changed': any(r['changed'] for r in results),
        'results': results,
        'failed_servers': [r['name'] for r in results if r['failed']],
    }
    if diff:
        result['diff'] = [r.pop('diff', {}) for r in results]
    return result


def move_servers(params, check_mode=False, diff=False):
    """live_migrate's run: the server `name`, or each of `servers`, from `uri` to `destination`. Returns the
    result; a failure raises VirtualIronError whose details are the result (with servers, every move is tried
    first)."""
    options = migration_options(params)
    if params['servers'] is None:
        try:
            return migrate_server(params['uri'], params['destination'], params['name'], options, check_mode, diff)
        except VirtualIronError as e:
            e.details.update(name=params['name'], source=params['uri'], destination=params['destination'])
            raise
    jobs = [(params['uri'], params['destination'], name) for name in params['servers']]
    result = migrate_many(jobs, options, params['concurrency'], check_mode, diff)
    if result['failed_servers']:
        raise VirtualIronError('%d of %d servers did not move: %s' % (
            len(result['failed_servers']), len(jobs), ', '.join(result['failed_servers'])), result)
    return result
