# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The utilization history on SQLite: round trip, filters, retention, two writers, files that are not ours,
aggregation and durations."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import multiprocessing
import os
import sqlite3
import stat
import threading
import time

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.capacity import history
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.history import (
    FIGURES, aggregate, open_history)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError

NOW = 1796064300.0  # 2026-11-30T18:45:00Z


def sample(time, host, server=None, **figures):
    return dict(dict.fromkeys(FIGURES), time=time, host=host, server=server, **figures)


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / 'history' / 'utilization.sqlite')


@pytest.fixture
def clock(monkeypatch):
    """history's clock stopped at NOW (retention counts from it); the rest of the time module as it is."""
    class Clock(object):
        now = NOW

        def time(self):
            return self.now

        def __getattr__(self, name):
            return getattr(time, name)
    fake = Clock()
    monkeypatch.setattr(history, 'time', fake)
    return fake


@contextlib.contextmanager
def _connect(path):
    # sqlite3's own context manager commits but does not close: a connection left open keeps its -wal file.
    db = sqlite3.connect(path)
    try:
        with db:
            yield db
    finally:
        db.close()


def keys(samples):
    return [(s['time'], s['host'], s['server']) for s in samples]


def test_round_trip_keeps_every_figure_exactly(path, clock):
    server = {'time': NOW - 10.5, 'host': 'lab1', 'server': 'web1', 'cpu_percent': 97.3, 'memory_bytes': 2 ** 40 + 1,
              'memory_percent': 50.25, 'vcpus': 2, 'disk_read_bps': 1024.5, 'disk_write_bps': 0.0,
              'net_rx_bps': 1e9, 'net_tx_bps': 3.0}
    host = {'time': NOW - 10.5, 'host': 'lab1', 'cpu_percent': 12}  # figures left out are None, server too
    with open_history(path) as h:
        assert h.record([server, host]) == 2
        got = h.samples()
    assert got == [sample(NOW - 10.5, 'lab1', cpu_percent=12.0), server]
    # Integers stay integers and a whole number given for a float figure reads back as a float.
    assert [type(got[1][k]).__name__ for k in ('memory_bytes', 'vcpus', 'cpu_percent', 'net_tx_bps')] == ['int', 'int', 'float', 'float']
    assert type(got[0]['cpu_percent']).__name__ == 'float'


DATA = [
    sample(NOW - 300, 'lab1'), sample(NOW - 300, 'lab1', 'web1'), sample(NOW - 300, 'lab2', 'db1'),
    sample(NOW - 200, 'lab2'), sample(NOW - 200, 'lab2', 'db1'), sample(NOW - 200, 'lab2', 'web1'),
    sample(NOW - 100, 'lab1'), sample(NOW - 100, 'lab1', 'app'), sample(NOW - 100, 'lab1', 'web1'),
]


ALL_SORTED = [(NOW - 300, 'lab1', None), (NOW - 300, 'lab1', 'web1'), (NOW - 300, 'lab2', 'db1'),
              (NOW - 200, 'lab2', None), (NOW - 200, 'lab2', 'db1'), (NOW - 200, 'lab2', 'web1'),
              (NOW - 100, 'lab1', None), (NOW - 100, 'lab1', 'app'), (NOW - 100, 'lab1', 'web1')]


@pytest.mark.parametrize('filters, expected', [
    ({}, ALL_SORTED),
    ({'hosts': [], 'servers': []}, ALL_SORTED),
    ({'since': NOW - 200, 'until': NOW - 200}, ALL_SORTED[3:6]),
    ({'since': NOW - 150}, ALL_SORTED[6:]),
    ({'until': NOW - 250}, ALL_SORTED[:3]),
    ({'hosts': ['lab2']}, ALL_SORTED[2:6]),
    ({'servers': ['web1']}, [ALL_SORTED[1], ALL_SORTED[5], ALL_SORTED[8]]),
    ({'servers': ['web1', 'db1'], 'hosts': ['lab2']}, [ALL_SORTED[2], ALL_SORTED[4], ALL_SORTED[5]]),
    ({'kind': 'host'}, [ALL_SORTED[0], ALL_SORTED[3], ALL_SORTED[6]]),
    ({'kind': 'server', 'hosts': ['lab1'], 'since': NOW - 100}, ALL_SORTED[7:]),
    ({'servers': ['nothing']}, []),
    ({'servers': ["x' OR 1=1 --"]}, []),
])
def test_samples_filter_and_sort(path, clock, filters, expected):
    with open_history(path) as h:
        h.record(reversed(DATA))
        assert keys(h.samples(**filters)) == expected


def test_retention_prunes_exactly_what_is_older(path, clock):
    retention = 3600
    with open_history(path, retention_seconds=retention) as h:
        h.record([sample(NOW - retention - 0.001, 'lab1'), sample(NOW - retention, 'lab1', 'web1'),
                  sample(NOW, 'lab1')])
        assert keys(h.samples()) == [(NOW - retention, 'lab1', 'web1'), (NOW, 'lab1', None)]
        clock.now = NOW + 1  # the next record prunes what has aged since
        assert h.record([sample(NOW + 1, 'lab2')]) == 1
        assert keys(h.samples()) == [(NOW, 'lab1', None), (NOW + 1, 'lab2', None)]


def _write_batches(path, writer, batches, size):
    with open_history(path) as h:
        for batch in range(batches):
            h.record([sample(NOW - 60 + batch, writer, 's%d' % i, vcpus=batch * size + i) for i in range(size)])


def _expected_rows(writers, batches, size):
    return sorted((writer, 's%d' % i, batch * size + i)
                  for writer in writers for batch in range(batches) for i in range(size))


def _rows(path):
    with open_history(path) as h:
        return sorted((s['host'], s['server'], s['vcpus']) for s in h.samples())


def test_two_writers_in_threads_lose_nothing(path, clock):
    writers = ['t%d' % n for n in range(4)]
    errors = []

    def write(writer):
        try:
            _write_batches(path, writer, 40, 25)
        except Exception as e:  # a thread's exception would otherwise only be printed
            errors.append(e)
    threads = [threading.Thread(target=write, args=(w,)) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _rows(path) == _expected_rows(writers, 40, 25)


def test_two_writers_in_processes_creating_the_file_at_once_lose_nothing(path, clock):
    # Fork, so that the children find the collection and the clock as this process has them. Each creates the file.
    context = multiprocessing.get_context('fork')
    writers = ['p%d' % n for n in range(3)]
    processes = [context.Process(target=_write_batches, args=(path, w, 20, 50)) for w in writers]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert [p.exitcode for p in processes] == [0, 0, 0]
    assert _rows(path) == _expected_rows(writers, 20, 50)


def test_new_file_and_directories_are_private(tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path))
    old = os.umask(0)  # so that the modes are the history's own
    try:
        with open_history('~/a/b/utilization.sqlite') as h:
            assert h.path == str(tmp_path / 'a' / 'b' / 'utilization.sqlite')
    finally:
        os.umask(old)
    created = (tmp_path / 'a', tmp_path / 'a' / 'b', tmp_path / 'a' / 'b' / 'utilization.sqlite')
    modes = [stat.S_IMODE(os.stat(str(p)).st_mode) for p in created]
    assert modes == [0o700, 0o700, 0o600]
    with _connect(str(tmp_path / 'a' / 'b' / 'utilization.sqlite')) as db:
        assert db.execute('PRAGMA journal_mode').fetchone()[0] == 'wal'
        assert db.execute('PRAGMA user_version').fetchone()[0] == history.SCHEMA_VERSION
        assert sorted(r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")) == [
            'samples_host_server_time', 'samples_time']


def _garbage(path):
    with open(path, 'wb') as f:
        f.write(b'not a database at all\n' * 100)


def _foreign(path):
    with _connect(path) as db:
        db.execute('CREATE TABLE accounts (name TEXT)')


def _ours_without_samples(path):
    with _connect(path) as db:
        db.execute('PRAGMA application_id = %d' % history.APPLICATION_ID)
        db.execute('PRAGMA user_version = 1')
        db.execute('CREATE TABLE other (x)')


def _newer(path):
    open_history(path).close()
    with _connect(path) as db:
        db.execute('PRAGMA user_version = 2')


@pytest.mark.parametrize('make, message', [
    (_garbage, r'is not a usable utilization history \(file is not a database\)'),
    (_foreign, r'is an SQLite database but not a utilization history of virtualiron.infra \(its tables: accounts\)'),
    (_ours_without_samples, r'not a utilization history of virtualiron.infra \(its tables: other\)'),
    (_newer, r'schema version 2, written by a newer virtualiron.infra; this one reads up to version 1'),
])
def test_a_file_that_is_not_our_history_is_refused_and_left_as_it_was(tmp_path, make, message):
    path = str(tmp_path / 'file')
    make(path)
    with open(path, 'rb') as f:
        before = f.read()
    with pytest.raises(VirtualIronError, match=message):
        open_history(path)
    with open(path, 'rb') as f:
        assert f.read() == before
    assert sorted(os.listdir(str(tmp_path))) == ['file']


@pytest.mark.parametrize('name, setup, kwargs, message', [
    ('relative/h.sqlite', None, {}, 'utilization history must be an absolute path'),
    ('h.sqlite', 'symlink', {}, 'is a symbolic link; expected a regular file'),
    ('h.sqlite', 'directory', {}, 'is a directory; expected a regular file'),
    ('missing.sqlite', None, {'create': False}, 'there is no utilization history at .*missing.sqlite: record'),
    ('h.sqlite', None, {'retention_seconds': 0}, 'retention_seconds must be a number of seconds above 0, got 0'),
    ('h.sqlite', None, {'retention_seconds': True}, 'retention_seconds must be a number of seconds above 0, got True'),
    ('h.sqlite', None, {'retention_seconds': '1d'}, "retention_seconds must be a number of seconds above 0, got '1d'"),
])
def test_open_refuses_bad_paths_and_retention(tmp_path, name, setup, kwargs, message):
    path = name if name.startswith('relative') else str(tmp_path / name)
    if setup == 'symlink':
        os.symlink(str(tmp_path / 'elsewhere'), path)
    elif setup == 'directory':
        os.mkdir(path)
    with pytest.raises(VirtualIronError, match=message):
        open_history(path, **kwargs)
    assert not os.path.exists(str(tmp_path / 'elsewhere')) and not os.path.exists(str(tmp_path / 'missing.sqlite'))


@pytest.mark.parametrize('bad, message', [
    ({'time': NOW, 'server': 'web1'}, 'a sample needs host as a non-empty string'),
    ({'time': NOW, 'host': ''}, 'a sample needs host as a non-empty string'),
    ({'time': NOW, 'host': 'lab1', 'server': ''}, 'a sample needs server as a non-empty string or None'),
    ({'host': 'lab1'}, 'a sample needs its time in epoch seconds, got None'),
    ({'time': float('nan'), 'host': 'lab1'}, 'a sample needs its time in epoch seconds, got nan'),
    ({'time': '18:45', 'host': 'lab1'}, "a sample needs its time in epoch seconds, got '18:45'"),
    ({'time': NOW, 'host': 'lab1', 'vcpus': True}, 'sample figure vcpus must be an integer or None, got True'),
    ({'time': NOW, 'host': 'lab1', 'memory_bytes': 1.5}, 'figure memory_bytes must be an integer or None, got 1.5'),
    ({'time': NOW, 'host': 'lab1', 'cpu_percent': '90'}, "figure cpu_percent must be a finite number or None, got '90'"),
    ({'time': NOW, 'host': 'lab1', 'net_rx_bps': float('inf')}, 'figure net_rx_bps must be a finite number or None, got inf'),
    ({'time': NOW, 'host': 'lab1', 'cpu': 1}, 'a sample has keys the history does not know: cpu'),
    (['lab1'], 'a sample must be a dict, got list'),
])
def test_record_refuses_a_bad_sample_and_writes_nothing(path, clock, bad, message):
    with open_history(path) as h:
        with pytest.raises(VirtualIronError, match=message):
            h.record([sample(NOW, 'lab1'), bad])
        assert h.samples() == []


@pytest.mark.parametrize('filters, message', [
    ({'kind': 'servers'}, "kind must be one of server, host or None, got 'servers'"),
    ({'since': '1h'}, "since and until are epoch seconds, got '1h'"),
    ({'hosts': 'lab1'}, "hosts must be a list of names, got 'lab1'"),
    ({'servers': [1]}, r'servers must be a list of names, got \[1\]'),
])
def test_samples_refuses_bad_filters(path, filters, message):
    with open_history(path) as h:
        with pytest.raises(VirtualIronError, match=message):
            h.samples(**filters)


AGGREGATE_INPUT = [
    sample(NOW - 10, 'lab1', 'web1', cpu_percent=40.0, memory_bytes=300, vcpus=2),
    sample(NOW - 30, 'lab1', 'web1', cpu_percent=10.0, memory_bytes=100, vcpus=2),
    sample(NOW - 5, 'lab1', 'web1', memory_bytes=200, vcpus=4),
    sample(NOW - 20, 'lab1', cpu_percent=5.0),
    sample(NOW - 10, 'lab1', cpu_percent=8.0),
    sample(NOW - 10, 'lab0', 'db1', net_rx_bps=1.5),
]


@pytest.mark.parametrize('how, web1, lab1', [
    ('avg', {'cpu_percent': 25.0, 'memory_bytes': 200.0, 'vcpus': 8 / 3.0}, {'cpu_percent': 6.5}),
    ('max', {'cpu_percent': 40.0, 'memory_bytes': 300, 'vcpus': 4}, {'cpu_percent': 8.0}),
    ('min', {'cpu_percent': 10.0, 'memory_bytes': 100, 'vcpus': 2}, {'cpu_percent': 5.0}),
    ('last', {'cpu_percent': 40.0, 'memory_bytes': 200, 'vcpus': 4}, {'cpu_percent': 8.0}),
])
def test_aggregate_by_each_how(how, web1, lab1):
    result = aggregate(AGGREGATE_INPUT, how)
    db1 = dict(dict.fromkeys(FIGURES), host='lab0', server='db1', samples=1, first=NOW - 10, last=NOW - 10,
               net_rx_bps=1.5)
    assert result == [
        db1,
        dict(dict.fromkeys(FIGURES), host='lab1', server=None, samples=2, first=NOW - 20, last=NOW - 10, **lab1),
        dict(dict.fromkeys(FIGURES), host='lab1', server='web1', samples=3, first=NOW - 30, last=NOW - 5, **web1),
    ]


@pytest.mark.parametrize('samples, how, expected', [
    ([], 'avg', []),
    ([sample(NOW, 'lab1', 'a', cpu_percent=0.1), sample(NOW + 1, 'lab1', 'a', cpu_percent=0.2)], 'avg', 0.15000000000000002),
    ([sample(NOW, 'lab1', 'a', cpu_percent=0.1)] * 10, 'avg', 0.1),  # fsum: ten 0.1 average to 0.1 exactly
])
def test_aggregate_edges(samples, how, expected):
    result = aggregate(samples, how)
    assert (result[0]['cpu_percent'] if result else result) == expected


def test_aggregate_refuses_an_unknown_how():
    with pytest.raises(VirtualIronError, match="aggregate must be one of avg, max, min, last, got 'mean'"):
        aggregate(AGGREGATE_INPUT, 'mean')
