# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Utilization history: the samples of servers and hosts kept in an SQLite file on the controller, so that
scheduled runs build a history with nothing to install, and the figures of a window read back and aggregated.
The schema, retention and locking are described in docs/capacity-history.md."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import math
import os
import sqlite3
import time

from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.common.validation import (
    check_absolute_path, check_file_kind)

DEFAULT_PATH = '~/.ansible/virtualiron/utilization.sqlite'
DEFAULT_RETENTION = 7 * 86400
SCHEMA_VERSION = 1
# PRAGMA application_id marks a file as a history of this collection ('VIrH'), so that another program's
# SQLite file is refused rather than written into.
APPLICATION_ID = 0x56497248
# Seconds a writer waits for another one's transaction (a record takes milliseconds) before giving up.
BUSY_TIMEOUT = 60

INT_FIGURES = ('memory_bytes', 'vcpus')
FIGURES = ('cpu_percent', 'memory_bytes', 'memory_percent', 'vcpus',
           'disk_read_bps', 'disk_write_bps', 'net_rx_bps', 'net_tx_bps')
COLUMNS = ('time', 'host', 'server') + FIGURES
KINDS = ('server', 'host')

_SCHEMA = (
    'CREATE TABLE samples (time REAL NOT NULL, host TEXT NOT NULL, server TEXT, '
    + ', '.join('%s %s' % (f, 'INTEGER' if f in INT_FIGURES else 'REAL') for f in FIGURES) + ')',
    'CREATE INDEX samples_time ON samples (time)',
    'CREATE INDEX samples_host_server_time ON samples (host, server, time)',
    'PRAGMA application_id = %d' % APPLICATION_ID,
    'PRAGMA user_version = %d' % SCHEMA_VERSION,
)
_INSERT = 'INSERT INTO samples (%s) VALUES (%s)' % (', '.join(COLUMNS), ', '.join('?' * len(COLUMNS)))
_SELECT = "SELECT %s FROM samples%%s ORDER BY time, host, COALESCE(server, '')" % ', '.join(COLUMNS)

_AGGREGATIONS = {
    'avg': lambda values: math.fsum(values) / len(values),
    'max': max,
    'min': min,
    'last': lambda values: values[-1],
}
AGGREGATIONS = tuple(_AGGREGATIONS)


def open_history(path=DEFAULT_PATH, retention_seconds=DEFAULT_RETENTION, create=True):
    """The history in the SQLite file at path ('~' expanded), as a context manager that closes it. A missing
    file is created (mode 0600, its missing parent directories 0700) unless create is False, when it is an
    error: reading a history that was never recorded is a mistake worth saying."""
    path = private_file_path(path, 'utilization history')
    if isinstance(retention_seconds, bool) or not isinstance(retention_seconds, (int, float)) \
            or not 0 < retention_seconds < math.inf:
        raise VirtualIronError('retention_seconds must be a number of seconds above 0, got %r' % (retention_seconds,))
    if not os.path.exists(path):
        if not create:
            raise VirtualIronError('there is no utilization history at %s: record samples first, on the machine that '
                                   'keeps the history (the controller, unless told otherwise)' % path)
        create_private_file(path)
    return History(path, retention_seconds)


def private_file_path(path, what):
    """A controller file's path ('~' expanded): absolute, normalized, and a regular file if anything is there
    (a symbolic link, directory or device is refused, so a history is never written through a link)."""
    if not isinstance(path, str):
        raise VirtualIronError('%s: the path must be a string, got %r' % (what, path))
    path = check_absolute_path(os.path.expanduser(path), what)
    check_file_kind(path, what)
    return path


def create_private_file(path):
    """Create path if missing, readable by its owner only, with its missing parent directories (mode 0700)."""
    parent, missing = os.path.dirname(path), []
    while not os.path.isdir(parent):
        missing.append(parent)
        parent = os.path.dirname(parent)
    try:
        for directory in reversed(missing):
            try:
                os.mkdir(directory, 0o700)
            except FileExistsError:  # another writer made it first
                pass
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600))
    except OSError as e:
        raise VirtualIronError('cannot create %s: %s' % (path, e.strerror or e))


class History(object):
    """An open history (see open_history). One per thread: SQLite connections are not shared."""

    def __init__(self, path, retention_seconds):
        self.path, self.retention_seconds = path, retention_seconds
        # isolation_level None: transactions are begun here, IMMEDIATE for writes (see _transaction).
        self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
        try:
            with self._errors():
                self._check_schema()
                self._use_wal()
        except Exception:
            self._db.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.close()

    def close(self):
        self._db.close()

    def record(self, samples):
        """Write the samples (dicts of COLUMNS; a figure left out is None) in one transaction, and delete the
        rows older than the retention; return the number of rows written."""
        rows = [_row(sample) for sample in samples]
        cutoff = time.time() - self.retention_seconds
        with self._errors(), self._transaction():
            self._db.executemany(_INSERT, rows)
            self._db.execute('DELETE FROM samples WHERE time < ?', (cutoff,))
        return len(rows)

    def samples(self, since=None, until=None, hosts=None, servers=None, kind=None):
        """The samples with since <= time <= until, of these hosts and servers (all when None or empty), of
        one kind ('server', 'host') or both (None), sorted by (time, host, server or '')."""
        clauses, params = _filters(since, until, hosts, servers, kind)
        where = ' WHERE ' + ' AND '.join(clauses) if clauses else ''
        with self._errors():
            return [dict(zip(COLUMNS, row)) for row in self._db.execute(_SELECT % where, params)]

    def _use_wal(self):
        # WAL lets readers read while a writer writes, and stays set in the file. Set after the schema check, so
        # that another program's file is refused as it was. Switching needs the file to itself and does not wait
        # (no busy handler): retry while another connection has it open, as when two writers create it at once.
        for _attempt in range(BUSY_TIMEOUT * 100):
            if self._db.execute('PRAGMA journal_mode').fetchone()[0] == 'wal':
                return
            try:
                self._db.execute('PRAGMA journal_mode = WAL')
            except sqlite3.OperationalError:
                time.sleep(0.01)
        self._db.execute('PRAGMA journal_mode = WAL')  # the last try's error is the one to report

    def _check_schema(self):
        # The three reads of _schema in one transaction, so that they see the same file.
        with self._transaction('DEFERRED'):
            version = self._schema()
        if version is None:
            with self._transaction():
                # Again inside the write lock: another writer may have created it since.
                if self._schema() is None:
                    for statement in _SCHEMA:
                        self._db.execute(statement)

    def _schema(self):
        """The schema version of an SQLite file of ours, None for an empty one; refuse any other file."""
        application_id = self._db.execute('PRAGMA application_id').fetchone()[0]
        version = self._db.execute('PRAGMA user_version').fetchone()[0]
        tables = [row[0] for row in self._db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        if application_id == 0 and version == 0 and not tables:
            return None
        if application_id != APPLICATION_ID or version < 1 or 'samples' not in tables:
            raise VirtualIronError('%s is an SQLite database but not a utilization history of virtualiron.infra (its '
                                   'tables: %s); give another path' % (self.path, ', '.join(tables) or 'none'))
        if version > SCHEMA_VERSION:
            raise VirtualIronError('%s holds a utilization history of schema version %d, written by a newer '
                                   'virtualiron.infra; this one reads up to version %d: upgrade the collection or give '
                                   'another path' % (self.path, version, SCHEMA_VERSION))
        return version

    @contextlib.contextmanager
    def _transaction(self, mode='IMMEDIATE'):
        # Writers take the write lock at the start (IMMEDIATE), waiting up to BUSY_TIMEOUT for another writer: a
        # transaction that read first could not wait for it in WAL mode, and would fail with "database is locked".
        self._db.execute('BEGIN %s' % mode)
        try:
            yield
        except BaseException:
            if self._db.in_transaction:  # SQLite has rolled back itself after some errors (a full disk)
                self._db.execute('ROLLBACK')
            raise
        self._db.execute('COMMIT')

    @contextlib.contextmanager
    def _errors(self):
        try:
            yield
        except sqlite3.OperationalError as e:  # locked past the timeout, read-only, no space...
            raise VirtualIronError('utilization history %s: %s' % (self.path, e))
        except sqlite3.DatabaseError as e:  # not a database, or a damaged one
            raise VirtualIronError('%s is not a usable utilization history (%s): give another path, or move the '
                                   'file away to start a new history' % (self.path, e))


def _row(sample):
    """A sample as a row of COLUMNS, checked: a wrong type would be stored as is by SQLite and read back wrong."""
    if not isinstance(sample, dict):
        raise VirtualIronError('a sample must be a dict, got %s' % type(sample).__name__)
    unknown = sorted(set(sample) - set(COLUMNS))
    if unknown:
        raise VirtualIronError('a sample has keys the history does not know: %s' % ', '.join(map(str, unknown)))
    if not _is_number(sample.get('time')):
        raise VirtualIronError('a sample needs its time in epoch seconds, got %r' % (sample.get('time'),))
    for key, optional in (('host', False), ('server', True)):
        value = sample.get(key)
        if not (isinstance(value, str) and value or optional and value is None):
            raise VirtualIronError('a sample needs %s as a non-empty string%s' % (key, ' or None' if optional else ''))
    return (float(sample['time']), sample['host'], sample.get('server')) + tuple(
        _figure(figure, sample.get(figure)) for figure in FIGURES)


def _figure(key, value):
    if value is None:
        return value
    if key in INT_FIGURES:
        if isinstance(value, bool) or not isinstance(value, int):
            raise VirtualIronError('sample figure %s must be an integer or None, got %r' % (key, value))
        return value
    if not _is_number(value):
        raise VirtualIronError('sample figure %s must be a finite number or None, got %r' % (key, value))
    return float(value)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _filters(since, until, hosts, servers, kind):
    """SQL conditions (constant text) and their parameters for History.samples."""
    clauses, params = [], []
    for clause, bound in (('time >= ?', since), ('time <= ?', until)):
        if bound is not None:
            if not _is_number(bound):
                raise VirtualIronError('since and until are epoch seconds, got %r' % (bound,))
            clauses.append(clause)
            params.append(float(bound))
    for column, names in (('host', hosts), ('server', servers)):
        if names:
            if isinstance(names, str) or not all(isinstance(name, str) for name in names):
                raise VirtualIronError('%ss must be a list of names, got %r' % (column, names))
            clauses.append('%s IN (%s)' % (column, ', '.join('?' * len(names))))
            params.extend(names)
    if kind is not None:
        if kind not in KINDS:
            raise VirtualIronError('kind must be one of %s or None, got %r' % (', '.join(KINDS), kind))
        clauses.append('server IS NOT NULL' if kind == 'server' else 'server IS NULL')
    return clauses, params


def aggregate(samples, how):
    """One dict per (host, server), sorted by host then server (a host's own row first): host, server, samples
    (their count), first and last (times), and each figure aggregated by how ('avg', 'max', 'min', 'last'),
    over the samples that have it (None when none has)."""
    if how not in _AGGREGATIONS:
        raise VirtualIronError('aggregate must be one of %s, got %r' % (', '.join(AGGREGATIONS), how))
    groups = {}
    for sample in sorted(samples, key=lambda s: s['time']):
        groups.setdefault((sample['host'], sample['server']), []).append(sample)
    return [_aggregate_group(host, server, groups[host, server], _AGGREGATIONS[how])
            for host, server in sorted(groups, key=lambda key: (key[0], key[1] or ''))]


def _aggregate_group(host, server, group, function):
    result = {'host': host, 'server': server, 'samples': len(group),
              'first': group[0]['time'], 'last': group[-1]['time']}
    for figure in FIGURES:
        values = [sample[figure] for sample in group if sample.get(figure) is not None]
        result[figure] = function(values) if values else None
    return result
