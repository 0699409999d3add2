# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The LiveCapacity event log: every decision, taken or refused, appended as one JSON line to a file on the
controller, and read back for reports. The fields are described in docs/capacity-history.md."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import calendar
import fcntl
import json
import os
import time

from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.history import (
    create_private_file, private_file_path)

DEFAULT_PATH = '~/.ansible/virtualiron/events.jsonl'
FIELDS = ('time', 'kind', 'server', 'hosts', 'reason', 'figures')
TIME_FORMAT = '%Y-%m-%dT%H:%M:%SZ'


def append_events(path, events):
    """Append the events (dicts of FIELDS; time as epoch seconds or ISO 8601 UTC, now when left out; server,
    hosts, reason and figures may be left out) to the log at path ('~' expanded), each as one line. Every event
    is checked before any is written. Returns the number written."""
    lines = [_line(event) for event in events]
    path = private_file_path(path, 'event log')
    if not os.path.exists(path):
        create_private_file(path)
    try:
        # O_CREAT again: a log rotated away since the check is made anew.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            # The lock keeps one writer's lines together; O_APPEND puts each write at the end, whoever wrote last.
            fcntl.flock(fd, fcntl.LOCK_EX)
            for line in lines:
                _write(fd, line)
        finally:
            os.close(fd)  # releases the lock
    except OSError as e:
        raise VirtualIronError('cannot append to the event log %s: %s' % (path, e.strerror or e))
    return len(lines)


def read_events(path, since=None, kinds=None):
    """(events, skipped): the events of the log at path with time >= since (epoch seconds or ISO 8601 UTC) and
    kind in kinds (all when None), in the order written; skipped counts the lines that are not events (damaged,
    or cut short by a crash), which are left out instead of failing. A missing log has no events."""
    path = private_file_path(path, 'event log')
    since = None if since is None else parse_time(since)
    if isinstance(kinds, str):  # 'in' would match a part of it
        raise VirtualIronError('kinds must be a list of event kinds, got %r' % kinds)
    events, skipped = [], 0
    try:
        with open(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), 'rb') as log:
            fcntl.flock(log.fileno(), fcntl.LOCK_SH)  # no line half written
            for raw in log:
                event = _event(raw)
                if event is None:
                    skipped += 1
                elif (since is None or parse_time(event['time']) >= since) and (not kinds or event['kind'] in kinds):
                    events.append(event)
    except FileNotFoundError:
        return [], 0
    except OSError as e:
        raise VirtualIronError('cannot read the event log %s: %s' % (path, e.strerror or e))
    return events, skipped


def format_time(value=None):
    """ISO 8601 UTC to the second ('2026-11-30T18:45:00Z') of epoch seconds, or of now when None."""
    try:
        return time.strftime(TIME_FORMAT, time.gmtime(time.time() if value is None else value))
    except (OverflowError, OSError, ValueError):
        raise VirtualIronError('%r epoch seconds is not a time an event can have' % (value,))


def parse_time(value):
    """Epoch seconds from epoch seconds or an ISO 8601 UTC string as format_time writes it."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return float(calendar.timegm(time.strptime(value, TIME_FORMAT)))
    except (TypeError, ValueError):
        raise VirtualIronError('cannot read %r as a time: give epoch seconds or ISO 8601 UTC such as '
                               '"2026-11-30T18:45:00Z"' % (value,))


def _line(event):
    """One event as a line of JSON. Server names, reasons and figures come from guests and users: they are
    JSON-escaped data (ensure_ascii also escapes the line separators), never part of anything else."""
    if not isinstance(event, dict):
        raise VirtualIronError('an event must be a dict, got %s' % type(event).__name__)
    unknown = sorted(set(event) - set(FIELDS))
    if unknown:
        raise VirtualIronError('an event has fields the log does not know: %s' % ', '.join(map(str, unknown)))
    record = {
        'time': format_time(parse_time(event['time']) if event.get('time') is not None else None),
        'kind': event.get('kind'),
        'server': event.get('server'),
        'hosts': event.get('hosts') or {},
        'reason': event.get('reason') or '',
        'figures': event.get('figures') or {},
    }
    _check_types(record)
    try:
        return (json.dumps(record, ensure_ascii=True, allow_nan=False, separators=(',', ':')) + '\n').encode('ascii')
    except (TypeError, ValueError) as e:
        raise VirtualIronError('event %s: its figures must be numbers, strings, lists or dicts (%s)'
                               % (record['kind'], e))


def _check_types(record):
    if not isinstance(record['kind'], str) or not record['kind']:
        raise VirtualIronError('an event needs a kind, a non-empty string such as "capacity.move"')
    for field, kinds, words in (('server', (str, type(None)), 'a string or None'), ('reason', (str,), 'a string'),
                                ('hosts', (dict,), 'a dict'), ('figures', (dict,), 'a dict')):
        if not isinstance(record[field], kinds):
            raise VirtualIronError('event %s: %s must be %s, got %s'
                                   % (record['kind'], field, words, type(record[field]).__name__))
    if not all(isinstance(name, str) or name is None for name in record['hosts'].values()):
        raise VirtualIronError('event %s: hosts must map roles (source, destination) to host names' % record['kind'])


def _write(fd, line):
    # One write per line; a regular file takes it whole, but finish a short write (a signal) under the lock.
    while line:
        line = line[os.write(fd, line):]


def _event(raw):
    """The event on one line of the log, or None when it is not one."""
    if not raw.endswith(b'\n'):
        return None
    try:
        event = json.loads(raw.decode('utf-8'))
        if isinstance(event, dict) and set(FIELDS) <= set(event) and isinstance(event['kind'], str):
            parse_time(event['time'])
            return event
    except (ValueError, VirtualIronError):
        pass
    return None
