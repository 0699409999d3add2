# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The discovery receiver: a small HTTP server on the provisioning network that serves the boot files (iPXE
scripts, kernel, ramdisk) and takes the nodes' discovery reports, writing their registrations, and the state
reports of images booted on discovered nodes (the stateless hypervisor's provisioned or failed).

It logs every request as one JSON line (time, client, path, status, bytes, stage, MAC when the path names
one), which is how a node that never registers is traced to where it stopped. It is started and stopped by
the discovery_receiver module; run it by hand with
  python -m ansible_collections.virtualiron.infra.plugins.module_utils.baremetal.receiver \
      --address 10.0.5.1 --port 8080 --root DIR --registrations DIR --log FILE
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time

from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn
from urllib.parse import unquote, urlsplit, parse_qs

from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal.discovery import (
    MAX_REPORT_BYTES, is_state_report, parse_report, record_report, record_state)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.converger import Converger
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError

REPORT_PATH = '/report'
# not followed by more hex: pxelinux's 01-aa-bb-cc-dd-ee-ff holds 7 groups, the MAC being the last 6
_MAC_IN_PATH = re.compile(r'([0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\2[0-9a-fA-F]{2}){4})(?![:-]?[0-9a-fA-F])')


def request_stage(path):
    """Which step of a network boot a request path is: boot-script, kernel, initrd, report or file."""
    name = path.rsplit('/', 1)[-1]
    if path == REPORT_PATH:
        return 'report'
    if name.endswith('.ipxe') or '/pxelinux.cfg/' in path:
        return 'boot-script'
    if name.startswith('vmlinuz') or name.endswith('.kernel'):
        return 'kernel'
    if name.startswith('initrd') or name.endswith('.initrd'):
        return 'initrd'
    return 'file'


def request_mac(target):
    """The MAC address a request names (?mac=... or in the path, as iPXE's ${mac} and pxelinux's 01-aa-bb-..)."""
    parts = urlsplit(target)
    for value in parse_qs(parts.query).get('mac', []) + [parts.path]:
        found = _MAC_IN_PATH.search(value)
        if found:
            return found.group(1).replace('-', ':').lower()
    return None


def served_file(root, path):
    """The regular file under root that a URL path names, or None: no '..', no hidden names, no links out."""
    parts = [p for p in unquote(path).split('/') if p]
    if not parts or any(p.startswith('.') for p in parts):
        return None
    full = os.path.realpath(os.path.join(root, *parts))
    if not full.startswith(os.path.realpath(root) + os.sep):
        return None
    try:
        return full if stat.S_ISREG(os.stat(full).st_mode) else None
    except OSError:
        return None


class RequestLog(object):
    """The request log: one JSON object a line, appended under a lock (requests are served in threads)."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    def write(self, **entry):
        line = json.dumps(dict(entry, time=round(time.time(), 3)), sort_keys=True) + '\n'
        with self.lock:
            with open(self.path, 'a') as handle:
                handle.write(line)


class Handler(BaseHTTPRequestHandler):
    server_version = 'virtualiron-discovery/1'
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms wait for the node's delayed ACK
    timeout = 30  # a node that stops sending mid-request does not hold a thread for ever

    def do_GET(self):
        path = urlsplit(self.path).path
        full = served_file(self.server.root, path)
        if full is None:
            return self._answer(404, b'not found\n', path)
        with open(full, 'rb') as handle:
            size = os.fstat(handle.fileno()).st_size
            self.send_response(200)
            self.send_header('Content-Length', str(size))
            self.end_headers()
            sent = _copy(handle, self.wfile)
        self._log(200, path, sent)

    def do_POST(self):
        path = urlsplit(self.path).path
        if path != REPORT_PATH:
            return self._answer(404, b'not found\n', path)
        length = self.headers.get('Content-Length', '')
        if not length.isdigit() or int(length) > MAX_REPORT_BYTES:
            return self._answer(413, b'report missing or larger than %d bytes\n' % MAX_REPORT_BYTES, path)
        try:
            report = parse_report(self.rfile.read(int(length)))
            now = datetime.datetime.utcnow().strftime('%Y-%m-%dT%H:%M:%SZ')
            record = record_state if is_state_report(report) else record_report
            with self.server.write_lock:
                registration, changed = record(self.server.registrations, report, self.client_address[0], now)
        except VirtualIronError as e:
            return self._answer(400, ('refused: %s\n' % e).encode('utf-8'), path, error=str(e)[:500])
        body = json.dumps({'name': registration['name'], 'state': registration['state'],
                           'changed': changed}).encode('utf-8')
        self._answer(200, body, path, node=registration['name'], mac=registration['hardware']['nics'][0]['mac'],
                     state=registration['state'], changed=changed, timings=_timings(report),
                     **_node_error(report))

    def _answer(self, status, body, path, **extra):
        # Logged before the node gets its answer: whoever it tells finds the request in the log already.
        self._log(status, path, len(body), **extra)
        self.send_response(status)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _log(self, status, path, size, **extra):
        entry = dict(client=self.client_address[0], method=self.command, path=path[:255], status=status,
                     bytes=size, stage=request_stage(path))
        entry.setdefault('mac', request_mac(self.path))
        entry.update(extra)
        self.server.log.write(**entry)

    def log_message(self, *args):  # the JSON request log replaces http.server's stderr lines
        pass


def _timings(report):
    """The ramdisk's own timings (seconds since the kernel started), numbers only."""
    timings = report.get('timings')
    if not isinstance(timings, dict):
        return None
    return dict((k[:32], v) for k, v in list(timings.items())[:8] if isinstance(v, (int, float)))


def _node_error(report):
    """The error a node says it met (a failed hypervisor boot), as a log field; the node's word, bounded."""
    error = report.get('error')
    return {'node_error': error[:500]} if isinstance(error, str) and error else {}


def _copy(source, target):
    sent = 0
    for chunk in iter(lambda: source.read(1 << 16), b''):
        target.write(chunk)
        sent += len(chunk)
    return sent


class Receiver(ThreadingMixIn, HTTPServer):
    daemon_threads = True

    def __init__(self, address, port, root, registrations, log_path):
        HTTPServer.__init__(self, (address, port), Handler)
        self.root, self.registrations = root, registrations
        self.log = RequestLog(log_path)
        self.write_lock = threading.Lock()


def main(argv=None):
    parser = argparse.ArgumentParser(description='virtualiron.infra discovery receiver')
    parser.add_argument('--address', required=True, help='address to listen on (the provisioning network\'s)')
    parser.add_argument('--port', type=int, default=8080)
    parser.add_argument('--root', required=True, help='directory of the boot files')
    parser.add_argument('--registrations', required=True, help='directory of node registrations')
    parser.add_argument('--log', required=True, help='request log (JSON lines)')
    args = parser.parse_args(argv)
    Receiver(args.address, args.port, args.root, args.registrations, args.log).serve_forever()


if __name__ == '__main__':
    main()


# ---------------------------------------------------------------- running it as a process (the module)

RECEIVER_MODULE = __name__


def receiver_argv(params, python):
    """The command line of the receiver for params (address, port, root, registrations, log, netns)."""
    prefix = ['ip', 'netns', 'exec', params['netns']] if params.get('netns') else []
    return prefix + [python, '-m', RECEIVER_MODULE, '--address', params['address'], '--port', str(params['port']),
                     '--root', params['root'], '--registrations', params['registrations'], '--log', params['log']]


def python_path(state_dir):
    """Where the receiver process imports the collection from. Inside an AnsiballZ payload (a zip file removed
    when the module ends) that is a copy of the zip in state_dir."""
    here = os.path.abspath(__file__)
    base = here[:here.rindex(os.sep + 'ansible_collections' + os.sep)]
    if not os.path.isfile(base):
        return base
    copy = os.path.join(state_dir, 'receiver-code.zip')
    shutil.copyfile(base, copy + '.tmp')
    os.rename(copy + '.tmp', copy)
    return copy


def running_pid(pid_file, argv):
    """The pid in pid_file if that process still runs argv (the same receiver, same settings), else None."""
    try:
        with open(pid_file) as handle:
            pid = int(handle.read().strip())
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            cmdline = handle.read().split(b'\x00')[:-1]
    except (IOError, OSError, ValueError):
        return None
    tail = argv[argv.index('-m'):]  # ip netns exec execs python: compare from -m on
    return pid if [c.decode('utf-8', 'replace') for c in cmdline[-len(tail):]] == tail else None


def listening(pid, port):
    """True once process pid listens on TCP port, as its own network namespace sees it (/proc/PID/net/tcp)."""
    try:
        with open('/proc/%d/net/tcp' % pid) as handle:
            lines = handle.read().splitlines()[1:]
    except (IOError, OSError):
        return False
    return any(f[1].endswith(':%04X' % port) and f[3] == '0A' for f in (line.split() for line in lines))


def start(params, state_dir):
    """Start the receiver in the background (its own session, so it outlives the module) -> its pid."""
    env = dict(os.environ, PYTHONPATH=python_path(state_dir))
    argv = receiver_argv(params, sys.executable)
    with open(params['log'] + '.stderr', 'ab') as err:
        process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                   start_new_session=True, close_fds=True)
    deadline = time.time() + 10
    while not listening(process.pid, params['port']):
        if process.poll() is not None or time.time() > deadline:
            stop(process.pid)
            raise VirtualIronError('the receiver did not start listening on %s:%d; see %s.stderr'
                                   % (params['address'], params['port'], params['log']))
        time.sleep(0.05)
    return process.pid


def stop(pid):
    """Stop the receiver with pid, waiting up to 5 s for it to go."""
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return
    deadline = time.time() + 5
    while _alive(pid) and time.time() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)  # our own child (the failed start) must not stay a zombie
        except OSError:
            pass
        time.sleep(0.05)


def _alive(pid):
    """True while pid runs (a zombie, which an init that does not reap leaves behind, does not)."""
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return handle.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (IOError, OSError, IndexError):
        return False


class ReceiverConverger(Converger):
    """The discovery_receiver module: the receiver process running (with these settings) or not."""

    result_key = 'receiver'

    def read(self):
        pid = running_pid(self._pid_file(), receiver_argv(self.params, sys.executable))
        return None if pid is None else self._describe(pid)

    def converge(self, before):
        old_pid = _pid_in(self._pid_file())
        if self.params['state'] == 'stopped':
            if _is_receiver(old_pid):
                self.act('running', True, False, self._stop, old_pid)
            return None
        if before is not None:
            return before
        for path in (self.params['root'], self.params['registrations'], self.params['state_dir']):
            if not self.check_mode and not os.path.isdir(path):
                os.makedirs(path, 0o755)
        if _is_receiver(old_pid):
            self.act('settings', None, None, self._stop, old_pid)  # the receiver runs with other settings
        pid = self.act('running', False, True, start, self.params, self.params['state_dir'])
        if pid is None:
            return self._describe(None)
        with open(self._pid_file(), 'w') as handle:
            handle.write('%d\n' % pid)
        return self._describe(pid)

    def describe(self, change):
        return 'restarted with new settings' if change.field == 'settings' else \
            'started' if change.new else 'stopped'

    def _stop(self, pid):
        stop(pid)
        os.unlink(self._pid_file())

    def _pid_file(self):
        return os.path.join(self.params['state_dir'], 'receiver.pid')

    def _describe(self, pid):
        return {'pid': pid, 'url': 'http://%s:%d' % (self.params['address'], self.params['port']),
                'log': self.params['log'], 'root': self.params['root'], 'registrations': self.params['registrations']}


def _is_receiver(pid):
    """True when pid is a running receiver (a pid file may outlive its process, and the pid be reused)."""
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            return _alive(pid) and RECEIVER_MODULE.encode('utf-8') in handle.read().split(b'\x00')
    except (IOError, OSError, TypeError):
        return False


def _pid_in(pid_file):
    try:
        with open(pid_file) as handle:
            return int(handle.read().strip())
    except (IOError, OSError, ValueError):
        return None
