# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Moving a virtual server between hosts: facts first, then pure decisions, then the move.

`gather_facts` reads everything the decision needs from both hosts; `decide` (what to do) and
`preflight_problems` (why not) are pure functions of those facts; `Migration.run` does the move and
checks both hosts afterwards. A failed move leaves the server running on the source only: the
destination keeps no domain of it, nor a disk the move created there (unless the destination's
libvirtd is down at that moment; a re-run then reuses the disk).

A stopped server moved with storage copy has its disks copied by the machine that runs the module,
through libvirt's volume streams (download from the source, upload to the destination, holes kept);
the source keeps its disk files.

The migration is client-managed (virDomainMigrate3 with a connection to each host): whoever can reach
both hosts' URIs can move servers, and the hosts need no credentials for each other.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import threading
import time

from ansible_collections.virtualiron.infra.plugins.module_utils.host.maintenance_state import read_host_state
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    CONNECT_TIMEOUT, VirtualIronError, is_libvirt_error, libvirt, lookup_or_none, open_connection)
from ansible_collections.virtualiron.infra.plugins.module_utils.server.domain_xml import (
    DISK_FORMATS, live_migratable, parse_server)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.libvirt_xml import (
    capabilities_uuid, element_bytes, etree, host_capabilities, parse_xml)
from ansible_collections.virtualiron.infra.plugins.module_utils.storage.pools import (
    active_pools_by_dir, path_exists, pool_holding)
from ansible_collections.virtualiron.infra.plugins.module_utils.server.converger import (
    ServerConverger, describe_server, find_server, power_state, undefine_server)

# QEMU can live-migrate these image formats; vpc (VHD), vhdx, vmdk and vdi block a live migration.
# libvirt refuses to live-migrate a disk on shared storage that the host caches (data could be lost).
SAFE_CACHE = (None, 'none', 'directsync')
_POLL_SECONDS = 0.2
MOVES = ('live', 'cold', 'restart')  # the actions of decide() that move the server
# storage.path_exists may start a transient probe pool for a directory; two at once on the same host
# and directory collide, so the moves of one evacuation ask their disk questions one at a time.
_PROBE_LOCK = threading.Lock()
# The modules' options of a move (live_migrate has them all; host_maintenance those of a live move).
MIGRATION_ARGUMENT_SPEC = dict(
    live=dict(type='bool', default=True),
    storage=dict(type='str', default='shared', choices=['shared', 'copy']),
    bandwidth=dict(type='int'),
    max_downtime=dict(type='int'),
    auto_converge=dict(type='bool', default=False),
    postcopy=dict(type='bool', default=False),
    parallel_connections=dict(type='int'),
    timeout=dict(type='int'),
    timeout_action=dict(type='str', default='abort', choices=['abort', 'suspend']),
    shutdown_timeout=dict(type='int', default=120),
    force=dict(type='bool', default=False),
)
DEFAULT_OPTIONS = dict((k, v.get('default')) for k, v in MIGRATION_ARGUMENT_SPEC.items())


def migration_options(params):
    """A move's options from a module's parameters; those the module lacks keep their defaults. The module's
    connect_timeout comes along: the moves open their own connections."""
    options = dict((k, params.get(k, v)) for k, v in DEFAULT_OPTIONS.items())
    options['connect_timeout'] = params.get('connect_timeout', CONNECT_TIMEOUT)
    return options


# ---------------------------------------------------------------- facts

def _server_facts(conn, name):
    """What a host has of the server: None, or its state, UUID, persistence and spec."""
    dom = find_server(conn, name)
    if dom is None:
        return None
    active = bool(dom.isActive())
    xml = dom.XMLDesc(0 if active else libvirt.VIR_DOMAIN_XML_INACTIVE)
    return {'state': power_state(dom), 'active': active, 'uuid': dom.UUIDString(),
            'persistent': bool(dom.isPersistent()), 'spec': parse_server(xml), 'cpu': _cpu_xml(xml)}


def _cpu_xml(domain_xml):
    cpu = parse_xml(domain_xml).find('cpu')
    return etree.tostring(cpu, encoding='unicode') if cpu is not None else None


def available_memory(conn):
    """Bytes the host can give a new server now: free memory plus what its page cache would yield."""
    stats = conn.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS)
    return sum(stats.get(k, 0) for k in ('free', 'buffers', 'cached')) * 1024


def _cpu_compatible(dconn, server):
    """libvirt's comparison of the server's CPU with what the destination's hypervisor offers."""
    spec = server['spec']
    if not server['cpu']:
        return True  # no CPU model: QEMU's default model, which every host offers
    try:
        result = dconn.compareHypervisorCPU(None, spec['arch'], spec['machine'], spec['hypervisor'],
                                            server['cpu'], 0)
    except libvirt.libvirtError as e:
        if is_libvirt_error(e, libvirt.VIR_ERR_NO_SUPPORT):
            return None  # the driver cannot compare: libvirt itself checks again during the move
        return e.get_error_message()
    return result != libvirt.VIR_CPU_COMPARE_INCOMPATIBLE


def _switch_active(conn, switch):
    try:
        return bool(conn.networkLookupByName(switch).isActive())
    except libvirt.libvirtError as e:
        if is_libvirt_error(e, libvirt.VIR_ERR_NO_NETWORK):
            return False
        raise


def migrated_disks(spec):
    """The disks a move concerns: CD drives are left out (their ISOs are read-only and usually local)."""
    return [d for d in spec['disks'] if d['device'] != 'cdrom' and d['path']]


def gather_facts(sconn, dconn, name):
    """Where the server is: what decide() needs, read from both hosts."""
    return {'source': _server_facts(sconn, name), 'destination': _server_facts(dconn, name),
            'same_host': capabilities_uuid(host_capabilities(sconn)) == capabilities_uuid(host_capabilities(dconn))}


def gather_target_facts(dconn, server):
    """What preflight_problems() needs of the destination to take the server (facts['source'])."""
    return {
        'maintenance': bool(read_host_state(dconn)['maintenance']),
        'available_memory': available_memory(dconn),
        'cpu_compatible': _cpu_compatible(dconn, server) if server['active'] else True,
        'disks': _disks_exist(dconn, migrated_disks(server['spec'])),
        'pool_dirs': sorted(active_pools_by_dir(dconn)),
        'switches': dict((n['switch'], _switch_active(dconn, n['switch']))
                         for n in server['spec']['nics'] if n['switch']),
    }


def gather_backing_facts(sconn, dconn, server):
    """{disk path: {'path', 'on_destination'}} for each qcow2 disk that has a backing file (an overlay), from the
    source's volume, and whether the destination has that file: a stopped server's disk is copied alone.
    Only disks the definition states as qcow2: libvirt probes the format of a file from its contents, which
    for a raw disk the guest writes (a qcow2 header naming any host file as its backing file)."""
    backing = {}
    for disk in migrated_disks(server['spec']):
        if volume_format(disk) != 'qcow2':
            continue
        volume = lookup_or_none(sconn.storageVolLookupByPath, disk['path'], libvirt.VIR_ERR_NO_STORAGE_VOL)
        path = volume is not None and parse_xml(volume.XMLDesc(0)).findtext('backingStore/path')
        if path:
            with _PROBE_LOCK:
                backing[disk['path']] = {'path': path, 'on_destination': path_exists(dconn, path)}
    return backing


def volume_format(disk):
    """A disk's format as the server's definition states it, in libvirt's words: a fixed VHD attached as a raw
    slice is raw, and so is a disk that states none (libvirt opens it raw)."""
    if disk.get('slice') or not disk['format']:
        return 'raw'
    return DISK_FORMATS.get(disk['format'], disk['format'])


def _disks_exist(conn, disks):
    with _PROBE_LOCK:
        return dict((d['path'], path_exists(conn, d['path'])) for d in disks)


# ---------------------------------------------------------------- decisions (pure)

def decide(facts, live):
    """What the move needs: 'none' (already done), 'finish' (remove a stale source definition),
    'live' or 'cold' (move it), 'restart' (shut down, move, start). Raises VirtualIronError when
    the hosts' states forbid any move."""
    source, dest = facts['source'], facts['destination']
    if facts['same_host']:
        raise VirtualIronError('the source and the destination are the same host')
    if source is None and dest is None:
        raise VirtualIronError('the server is defined on neither host')
    if source is None:
        return 'none'
    if dest is not None and dest['uuid'] != source['uuid']:
        raise VirtualIronError('another server with the same name (UUID %s) exists on the destination'
                               % dest['uuid'])
    if dest is not None and dest['active']:
        if source['active']:
            raise VirtualIronError('the server runs on both hosts; stop one of them by hand')
        return 'finish'  # an earlier move completed but left the source's definition
    if not source['active']:
        return 'cold'
    if source['state'] == 'crashed':
        raise VirtualIronError('the server has crashed; stop it, then move it')
    return 'live' if live else 'restart'


def preflight_problems(facts, options, action):
    """Why the move cannot be done (an empty list: it can), from facts and the module's options."""
    if action not in MOVES:
        return []
    spec, target = facts['source']['spec'], facts['target']
    problems = []
    if target['maintenance']:
        problems.append('the destination is in maintenance')
    if action == 'live':
        problems.extend(_live_problems(spec, target, options))
    for disk in migrated_disks(spec):
        problems.extend(_disk_problems(disk, target, options['storage'], action != 'live'))
    for switch, active in sorted(target['switches'].items()):
        if not active:
            problems.append('switch %s is missing or inactive on the destination' % switch)
    return problems


def _live_problems(spec, target, options):
    problems = []
    if spec['memory'] > target['available_memory']:
        problems.append('the destination has %d MiB of memory available, the server needs %d MiB'
                        % (target['available_memory'] // 1024 ** 2, spec['memory'] // 1024 ** 2))
    if target['cpu_compatible'] is False:
        problems.append("the destination's CPU cannot run the server's CPU model")
    elif target['cpu_compatible'] not in (True, None):
        problems.append('the CPU comparison failed: %s' % target['cpu_compatible'])
    for disk in migrated_disks(spec):
        if not live_migratable(disk):
            problems.append('disk %s: QEMU cannot live-migrate a dynamic VHD; convert it to a fixed VHD '
                            '(virtual_disk vhd_type: fixed) or qcow2, or move the server stopped (live: false)'
                            % disk['path'])
        elif options['storage'] == 'shared' and disk['cache'] not in SAFE_CACHE:
            problems.append('disk %s: cache %s is unsafe to live-migrate on shared storage; use cache none'
                            % (disk['path'], disk['cache']))
    return problems


def _disk_problems(disk, target, storage, stopped):
    """A stopped server's disks are copied by us, never over a file the destination has: it may be data."""
    exists = target['disks'].get(disk['path'])
    if storage == 'shared' and exists is False:
        return ['disk %s is not reachable on the destination (storage shared needs the same path there)'
                % disk['path']]
    if storage == 'copy' and os.path.dirname(os.path.normpath(disk['path'])) not in target['pool_dirs']:
        return ['disk %s: the destination has no active storage pool for %s to copy it into'
                % (disk['path'], os.path.dirname(disk['path']))]
    if storage == 'copy' and stopped and exists is not False:
        return ['disk %s: %s on the destination; a stopped server\'s disks are copied only to a path where '
                'nothing is (remove it there, or move the server with storage shared)'
                % (disk['path'], 'a file is already there' if exists else 'cannot tell whether a file is there')]
    backing = target.get('backing', {}).get(disk['path'])
    if storage == 'copy' and stopped and backing and backing['on_destination'] is not True:
        return ['disk %s is a qcow2 overlay on %s, which the destination %s; the copy of the overlay alone would '
                'not start there (put its backing file at the same path there, flatten the disk with qemu-img '
                'convert, or move the server live, which copies the whole chain)'
                % (disk['path'], backing['path'], 'does not have' if backing['on_destination'] is False
                   else 'may not have (cannot tell)')]
    return []


def copied_volume_xml(source_volume_xml, disk):
    """The destination volume for a copy of a disk: named as the disk's file, in the format the server's
    definition states (see volume_format), without a backing store and with nothing allocated yet (the upload
    writes the data, holes stay holes)."""
    fmt = volume_format(disk)
    volume = etree.Element('volume')
    etree.SubElement(volume, 'name').text = os.path.basename(disk['path'])
    etree.SubElement(volume, 'capacity', unit='bytes').text = str(_copied_size(source_volume_xml, disk, fmt))
    etree.SubElement(volume, 'allocation', unit='bytes').text = '0'
    etree.SubElement(etree.SubElement(volume, 'target'), 'format', type=fmt)
    return etree.tostring(volume, encoding='unicode')


def _copied_size(source_volume_xml, disk, fmt):
    """libvirt reports a file's format and capacity from its contents, which on a raw disk the guest writes:
    a raw copy is as large as the source file; a copy in another format has the capacity its header gives,
    once the file has that format."""
    source = parse_xml(source_volume_xml)
    if fmt == 'raw':
        # physical: the file's size (libvirt 3.0 on; its test driver gives the capacity alone, of raw files)
        physical = source.find('physical')
        return element_bytes(physical if physical is not None else source.find('capacity'), 'bytes')
    found = source.find('target/format')
    found = found.get('type') if found is not None else None
    if found != fmt:
        raise VirtualIronError("disk %s: the server's definition says format %s, but the file is %s"
                               % (disk['path'], fmt, found or 'of no format libvirt knows'))
    return element_bytes(source.find('capacity'), 'bytes')


def planned_changes(action, options):
    """What a move does, in the words of the result's changes (check mode reports them unchanged)."""
    moved = (['disks copied (the source keeps its disk files)'] if options['storage'] == 'copy' else []) \
        + ['definition moved']
    return {'none': [], 'finish': ['stale source definition removed'], 'live': ['live-migrated'], 'cold': moved,
            'restart': ['shut down'] + moved + ['started on the destination']}[action]


def migration_flags(options, action):
    """libvirt flags for the move."""
    flags = libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
    if action != 'live':
        return flags | libvirt.VIR_MIGRATE_OFFLINE
    flags |= libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_ABORT_ON_ERROR
    if options['storage'] == 'copy':
        flags |= libvirt.VIR_MIGRATE_NON_SHARED_DISK
    if options['auto_converge']:
        flags |= libvirt.VIR_MIGRATE_AUTO_CONVERGE
    if options['postcopy']:
        flags |= libvirt.VIR_MIGRATE_POSTCOPY
    if options['parallel_connections']:
        flags |= libvirt.VIR_MIGRATE_PARALLEL
    return flags


def migration_params(options, action):
    params = {}
    if action == 'live' and options['bandwidth']:
        params[libvirt.VIR_MIGRATE_PARAM_BANDWIDTH] = options['bandwidth']
    if action == 'live' and options['parallel_connections']:
        params[libvirt.VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS] = options['parallel_connections']
    return params


def job_figures(stats):
    """Completed job statistics -> the result's figures in the user's units."""
    figures = {
        'migration_seconds': round(stats['time_elapsed'] / 1000.0, 3) if 'time_elapsed' in stats else None,
        'downtime_ms': stats.get('downtime'),
        'bytes_transferred': stats.get('data_processed'),
        'memory_bytes_transferred': stats.get('memory_processed'),
        'disk_bytes_transferred': stats.get('disk_processed'),
    }
    return dict((k, v) for k, v in figures.items() if v is not None)


def timed_out(started, timeout, now):
    return bool(timeout) and now - started >= timeout


# ---------------------------------------------------------------- the move

class Migration(object):
    """One server from one host to another; records what it does in self.changes."""

    def __init__(self, sconn, dconn, name, options, check_mode=False):
        self.sconn, self.dconn, self.name = sconn, dconn, name
        self.options = dict(DEFAULT_OPTIONS, **options)
        self.check_mode = check_mode
        self.changes = []
        self.figures = {}
        self.new_volumes = []

    def run(self):
        facts = gather_facts(self.sconn, self.dconn, self.name)
        action = decide(facts, self.options['live'])
        if action in MOVES:
            facts['target'] = gather_target_facts(self.dconn, facts['source'])
            if self.options['storage'] == 'copy' and action != 'live':
                facts['target']['backing'] = gather_backing_facts(self.sconn, self.dconn, facts['source'])
        problems = preflight_problems(facts, self.options, action)
        if problems:
            raise VirtualIronError('pre-flight checks refused moving %s: %s' % (self.name, '; '.join(problems)))
        before = _where(facts)
        if not self.check_mode:
            getattr(self, '_' + action)(facts)
        else:
            self.changes.extend(planned_changes(action, self.options))
        after = dict(before, source=None, destination=_moved_state(facts, action)) if self.check_mode \
            else self._verify()
        result = {'changed': bool(self.changes), 'changes': self.changes, 'action': action,
                  'diff': {'before': before, 'after': after}}
        result.update(self.figures)
        return result

    # each action: one method
    def _none(self, _facts):
        return None

    def _finish(self, _facts):
        undefine_server(find_server(self.sconn, self.name))
        self.changes.append('stale source definition removed')

    def _cold(self, facts):
        if self.options['storage'] == 'copy':
            self._copy_stopped(facts)
        else:
            self._migrate(find_server(self.sconn, self.name), 'cold')
        self.changes.append('definition moved')

    def _restart(self, facts):
        ServerConverger(self.sconn, {'name': self.name, 'state': 'stopped'},
                        shutdown_timeout=self.options['shutdown_timeout'], force=self.options['force']).run()
        self.changes.append('shut down')
        try:
            self._cold(facts)
        except VirtualIronError:
            find_server(self.sconn, self.name).create()  # it ran before: it runs again where it was
            self.changes.append('started again on the source')
            raise
        find_server(self.dconn, self.name).create()
        self.changes.append('started on the destination')

    def _copy_stopped(self, facts):
        """A stopped server: its disks copied into the destination's pools, its definition defined there and
        undefined here. The source keeps its disk files. On failure the destination keeps nothing we made."""
        dom = find_server(self.sconn, self.name)
        xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE)
        started = time.time()
        disks = migrated_disks(facts['source']['spec'])
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
        self.changes.append('disks copied (the source keeps its disk files)')

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

    def _live(self, facts):
        dom = find_server(self.sconn, self.name)
        self.new_volumes = [p for p, exists in facts['target']['disks'].items() if exists is False]
        if self.options['max_downtime']:
            dom.migrateSetMaxDowntime(self.options['max_downtime'], 0)
        moved = self._migrate(dom, 'live')
        if self.figures.get('timed_out') and self.options['timeout_action'] == 'suspend' \
                and power_state(moved) == 'suspended':
            moved.resume()  # suspended only to let the move converge; it was running before
        self.changes.append('live-migrated')

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
            outcome['dom'] = dom.migrate3(self.dconn, migration_params(self.options, action),
                                          migration_flags(self.options, action))
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
            if self.options['postcopy'] and not switched:
                switched = self.figures['postcopy_started'] = bool(_try(lambda: _start_postcopy(dom)))
            if not acted and timed_out(started, self.options['timeout'], time.time()):
                acted = True
                self.figures['timed_out'] = True
                _try(dom.abortJob if self.options['timeout_action'] == 'abort' else dom.suspend)

    def _failure_message(self, error):
        reason = error.get_error_message() if is_libvirt_error(error) else str(error)
        if self.figures.get('timed_out') and self.options['timeout_action'] == 'abort':
            reason = 'timed out after %s s and aborted (%s)' % (self.options['timeout'], reason)
        return 'moving %s failed: %s' % (self.name, reason)

    def _recover(self):
        """After a failed move: the server runs on the source (resumed if we suspended it), and the
        destination keeps no domain of it and no disk that the move created there. A copy that runs on
        the destination is never destroyed: it may be the only current one."""
        dest = _try(lambda: find_server(self.dconn, self.name))
        source = find_server(self.sconn, self.name)
        if source is None:
            return
        if dest is not None and dest.isActive() and power_state(dest) == 'running':
            raise VirtualIronError('moving %s failed half-way: it runs on the destination and still exists on the '
                                   'source; check both hosts before you start either' % self.name)
        if self.figures.get('timed_out') and power_state(source) == 'suspended':
            _try(source.resume)
        if dest is not None:  # the incoming, paused copy, or a definition the move left
            if dest.isActive():
                _try(dest.destroy)
            if find_server(self.dconn, self.name) is not None:
                _try(lambda: undefine_server(dest))
        for path in self.new_volumes:
            _try(lambda p=path: self.dconn.storageVolLookupByPath(p).delete(0))

    def _verify(self):
        """Check both hosts after the move: on the destination only, in the state it had."""
        source, dest = find_server(self.sconn, self.name), find_server(self.dconn, self.name)
        if source is not None or dest is None:
            raise VirtualIronError('after the move, %s is %s on the source and %s on the destination'
                                   % (self.name, power_state(source) if source else 'absent',
                                      power_state(dest) if dest else 'absent'))
        self.server = describe_server(dest)
        return {'source': None, 'destination': self.server['state']}


def _where(facts):
    return dict((side, facts[side]['state'] if facts[side] else None) for side in ('source', 'destination'))


def _moved_state(facts, action):
    if action in ('none', 'finish'):
        return facts['destination']['state']
    return 'running' if action == 'restart' else facts['source']['state']


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
            _try(stream.abort)
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


def _try(call):
    """A call racing the migration's end (the job or domain may be gone): its failure is no news."""
    try:
        return call()
    except libvirt.libvirtError:
        return None


def migrate_server(source_uri, destination_uri, name, options, check_mode=False):
    """One move with connections of its own, so that several can run in parallel threads.
    Returns the result; raises VirtualIronError (libvirt errors included) saying what failed."""
    sconn = dconn = None
    started = time.time()
    try:
        timeout = options.get('connect_timeout', CONNECT_TIMEOUT)
        sconn = open_connection(source_uri, timeout)
        dconn = open_connection(destination_uri, timeout)
        migration = Migration(sconn, dconn, name, options, check_mode)
        result = migration.run()
        result.update(name=name, source=source_uri, destination=destination_uri,
                      server=getattr(migration, 'server', None))
        if result['changed'] and not check_mode:  # all of it: connections, checks, move, verification
            result['duration_seconds'] = round(time.time() - started, 3)
        return result
    except libvirt.libvirtError as e:
        raise VirtualIronError('moving %s: libvirt error: %s' % (name, e.get_error_message()))
    finally:
        for conn in (sconn, dconn):
            if conn is not None:
                _try(conn.close)


def migrate_many(jobs, options, concurrency, check_mode=False):
    """Several moves [(source URI, destination URI, name)], at most `concurrency` at a time. Every move is
    tried; each result says whether it failed. Returns the combined result with failed_servers."""
    from concurrent.futures import ThreadPoolExecutor
    if concurrency < 1:
        raise VirtualIronError('concurrency must be at least 1, got %d' % concurrency)

    def one(job):
        source, destination, name = job
        try:
            return dict(migrate_server(source, destination, name, options, check_mode), failed=False)
        except VirtualIronError as e:
            return {'name': name, 'source': source, 'destination': destination, 'failed': True, 'msg': str(e),
                    'changed': False, 'diff': {}}

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(one, jobs))
    return {
        'changed': any(r['changed'] for r in results),
        'results': results,
        'failed_servers': [r['name'] for r in results if r['failed']],
        'diff': [r.pop('diff') for r in results],
    }


# ---------------------------------------------------------------- evacuation

def host_load(conn):
    """A host's figures for placement: its memory and CPUs, and what its running servers use."""
    # The node's memory statistics, not virNodeGetInfo: that one reports only the memory of the
    # host's NUMA cells that libvirt could read (a fraction of it in some containers).
    memory = conn.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS)['total'] * 1024
    infos = [dom.info() for dom in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)]
    return {'memory': memory, 'cpus': conn.getInfo()[2],
            'memory_used': sum(i[2] for i in infos) * 1024, 'vcpus_used': sum(i[3] for i in infos)}


def candidate_hosts(uris, connect_timeout=CONNECT_TIMEOUT):
    """Placement figures of each destination host, or why it takes nothing (maintenance, unreachable)."""
    hosts = []
    for uri in uris:
        host = {'name': uri, 'memory': 0, 'cpus': 0, 'memory_used': 0, 'vcpus_used': 0, 'unavailable': None}
        try:
            conn = open_connection(uri, connect_timeout)
        except VirtualIronError as e:
            host['unavailable'] = 'is unreachable (%s)' % e
            hosts.append(host)
            continue
        try:
            host.update(host_load(conn))
            if read_host_state(conn)['maintenance']:
                host['unavailable'] = 'is in maintenance'
        finally:
            _try(conn.close)
        hosts.append(host)
    return hosts


def servers_to_move(conn, move_stopped):
    """The host's servers an evacuation moves, with what each needs of its next host: a running
    server its memory and vCPUs; a stopped one nothing until it starts."""
    servers = []
    for dom in conn.listAllDomains(0):
        active = bool(dom.isActive())
        if not active and not (move_stopped and dom.isPersistent()):
            continue
        info = dom.info()
        servers.append({'name': dom.name(), 'running': active,
                        'memory': info[2] * 1024 if active else 0, 'vcpus': info[3] if active else 0})
    return sorted(servers, key=lambda s: s['name'])
