# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The utilization_info module: main() over a real SQLite history in a temporary directory."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import os
import re
import time

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.history import FIGURES, open_history
from ansible_collections.virtualiron.infra.plugins.modules import utilization_info

# Recorded relative to the real clock (the history's retention counts from it); the module's clock is held here.
NOW = float(int(time.time()))


def sample(age, host, server=None, **figures):
    return dict(dict.fromkeys(FIGURES), time=NOW - age, host=host, server=server, **figures)


SAMPLES = [
    sample(7200, 'lab1', 'web1', cpu_percent=99.0),
    sample(300, 'lab1', cpu_percent=20.0, vcpus=16), sample(300, 'lab1', 'web1', cpu_percent=80.0, memory_bytes=100),
    sample(300, 'lab2', 'db1', cpu_percent=5.0),
    sample(60, 'lab1', cpu_percent=30.0, vcpus=16), sample(60, 'lab1', 'web1', cpu_percent=90.0, memory_bytes=300),
    sample(60, 'lab2', 'db1', cpu_percent=7.0),
]


@pytest.fixture
def history(tmp_path):
    path = str(tmp_path / 'utilization.sqlite')
    with open_history(path) as h:
        h.record(SAMPLES)
    return path


@pytest.fixture
def run_module(run_main, monkeypatch):
    class Clock(object):
        @staticmethod
        def time():
            return NOW
    monkeypatch.setattr(utilization_info, 'time', Clock)
    return lambda **args: run_main(utilization_info.main, args)


def keys(samples):
    return [(NOW - s['time'], s['host'], s['server']) for s in samples]


@pytest.mark.parametrize('args, expected', [
    ({}, [(300, 'lab1', None), (300, 'lab1', 'web1'), (300, 'lab2', 'db1'),
          (60, 'lab1', None), (60, 'lab1', 'web1'), (60, 'lab2', 'db1')]),
    ({'window': '3h'}, [(7200, 'lab1', 'web1'), (300, 'lab1', None), (300, 'lab1', 'web1'), (300, 'lab2', 'db1'),
                        (60, 'lab1', None), (60, 'lab1', 'web1'), (60, 'lab2', 'db1')]),
    ({'window': 120}, [(60, 'lab1', None), (60, 'lab1', 'web1'), (60, 'lab2', 'db1')]),
    ({'window': '5m'}, [(300, 'lab1', None), (300, 'lab1', 'web1'), (300, 'lab2', 'db1'),
                        (60, 'lab1', None), (60, 'lab1', 'web1'), (60, 'lab2', 'db1')]),
    ({'servers': ['web1']}, [(300, 'lab1', 'web1'), (60, 'lab1', 'web1')]),
    ({'hosts': ['lab1']}, [(300, 'lab1', None), (300, 'lab1', 'web1'), (60, 'lab1', None), (60, 'lab1', 'web1')]),
    ({'hosts': ['lab2'], 'servers': ['web1']}, []),
])
def test_main_returns_the_samples_of_the_window(run_module, history, args, expected):
    exited = run_module(history=history, **args)
    assert not exited.failed, exited.result
    assert keys(exited.result['samples']) == expected
    assert exited.result['changed'] is False and 'aggregates' not in exited.result
    seconds = utilization_info.parse_duration(args.get('window', '1h'))
    assert exited.result['window'] == {'since': NOW - seconds, 'until': NOW}


def test_main_returns_every_figure_of_a_sample(run_module, history):
    samples = run_module(history=history, servers=['web1'], window='2m').result['samples']
    assert samples == [sample(60, 'lab1', 'web1', cpu_percent=90.0, memory_bytes=300)]


@pytest.mark.parametrize('how, web1, lab1', [
    ('avg', {'cpu_percent': 85.0, 'memory_bytes': 200.0}, {'cpu_percent': 25.0, 'vcpus': 16.0}),
    ('max', {'cpu_percent': 90.0, 'memory_bytes': 300}, {'cpu_percent': 30.0, 'vcpus': 16}),
    ('min', {'cpu_percent': 80.0, 'memory_bytes': 100}, {'cpu_percent': 20.0, 'vcpus': 16}),
    ('last', {'cpu_percent': 90.0, 'memory_bytes': 300}, {'cpu_percent': 30.0, 'vcpus': 16}),
])
def test_main_aggregates(run_module, history, how, web1, lab1):
    exited = run_module(history=history, hosts=['lab1'], aggregate=how)
    assert 'samples' not in exited.result
    common = dict(dict.fromkeys(FIGURES), host='lab1', samples=2, first=NOW - 300, last=NOW - 60)
    assert exited.result['aggregates'] == [dict(common, server=None, **lab1), dict(common, server='web1', **web1)]


@pytest.mark.parametrize('args, expected', [
    ({'query': 'samples[?server==null].cpu_percent'}, [20.0, 30.0]),
    ({'aggregate': 'max', 'query': 'aggregates[?cpu_percent > `50`].server'}, ['web1']),
])
def test_main_query(run_module, history, args, expected):
    assert run_module(history=history, **args).result['query_result'] == expected


def test_main_in_check_mode_reads_and_changes_nothing(run_module, history):
    with open(history, 'rb') as f:
        before = hashlib.sha256(f.read()).hexdigest()
    exited = run_module(history=history, _ansible_check_mode=True, window='2m')
    assert (exited.failed, len(exited.result['samples'])) == (False, 3)
    with open(history, 'rb') as f:
        assert hashlib.sha256(f.read()).hexdigest() == before
    assert sorted(os.listdir(os.path.dirname(history))) == ['utilization.sqlite']


def _write(path, data):
    with open(path, 'wb') as f:
        f.write(data)


@pytest.mark.parametrize('args, setup, message', [
    ({'history': 'missing.sqlite'}, None, r'there is no utilization history at /\S+/missing.sqlite: record samples first'),
    ({'history': 'junk.sqlite'}, b'junk' * 100, r'junk.sqlite is not a usable utilization history \(file is not a database\)'),
    ({'history': 'relative/path.sqlite'}, None, 'utilization history must be an absolute path'),
    ({'window': '1y'}, None, "window: cannot read '1y' as a duration"),
    ({'window': 0}, None, 'window must be longer than zero'),
    ({'aggregate': 'mean'}, None, 'value of aggregate must be one of: none, avg, max, min, last, got: mean'),
    ({'query': 'samples[?'}, None, 'invalid query'),
])
def test_main_fails_with_a_message(run_module, history, tmp_path, args, setup, message):
    if not args.get('history', '/').startswith('relative'):
        args = dict(args, history=str(tmp_path / args.get('history', 'utilization.sqlite')))
    if setup:
        _write(args['history'], setup)
    exited = run_module(**args)
    assert exited.failed
    assert re.search(message, exited.result['msg']), exited.result['msg']
    assert not os.path.exists(str(tmp_path / 'missing.sqlite'))


def test_main_reads_the_default_path_under_home(run_module, tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path))
    with open_history(str(tmp_path / '.ansible' / 'virtualiron' / 'utilization.sqlite')) as h:
        h.record([sample(10, 'lab3')])
    assert keys(run_module().result['samples']) == [(10, 'lab3', None)]
