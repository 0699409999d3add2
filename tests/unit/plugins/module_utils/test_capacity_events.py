# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The LiveCapacity event log: JSON lines appended whole, read back with damaged lines skipped and counted."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import multiprocessing
import os
import stat
import threading

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.capacity import events as events_module
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.events import (
    append_events, format_time, parse_time, read_events)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError

NOW = 1796064300.0  # 2026-11-30T18:45:00Z

MOVE = {'time': NOW, 'kind': 'capacity.move', 'server': 'web1', 'hosts': {'source': 'lab1', 'destination': 'lab2'},
        'reason': 'CPU above 90 % for 10 min', 'figures': {'cpu_percent': 97.5, 'source_after': 40.0}}
REFUSED = {'time': '2026-11-30T18:46:00Z', 'kind': 'capacity.refused', 'server': 'db1', 'reason': 'cooldown'}
CONDITION = {'kind': 'capacity.condition'}


@pytest.fixture
def log(tmp_path):
    return str(tmp_path / 'logs' / 'events.jsonl')


def lines(path):
    with open(path, 'rb') as f:
        return f.read().decode('ascii').splitlines(True)


def test_append_writes_one_json_line_per_event_with_every_field(log, monkeypatch):
    monkeypatch.setattr(events_module.time, 'time', lambda: NOW + 120)
    assert append_events(log, [MOVE, REFUSED, CONDITION]) == 3
    assert lines(log) == [
        '{"time":"2026-11-30T18:45:00Z","kind":"capacity.move","server":"web1",'
        '"hosts":{"source":"lab1","destination":"lab2"},"reason":"CPU above 90 % for 10 min",'
        '"figures":{"cpu_percent":97.5,"source_after":40.0}}\n',
        '{"time":"2026-11-30T18:46:00Z","kind":"capacity.refused","server":"db1","hosts":{},"reason":"cooldown",'
        '"figures":{}}\n',
        '{"time":"2026-11-30T18:47:00Z","kind":"capacity.condition","server":null,"hosts":{},"reason":"",'
        '"figures":{}}\n',
    ]
    assert append_events(log, []) == 0
    assert len(lines(log)) == 3


def test_read_returns_what_was_appended(log):
    append_events(log, [MOVE, REFUSED])
    append_events(log, [dict(CONDITION, time=NOW + 180)])
    assert read_events(log) == ([
        dict(MOVE, time='2026-11-30T18:45:00Z'),
        dict(REFUSED, hosts={}, figures={}),
        dict(CONDITION, time='2026-11-30T18:48:00Z', server=None, hosts={}, reason='', figures={}),
    ], 0)


@pytest.mark.parametrize('since, kinds, expected', [
    (None, None, ['web1', 'db1', 'app']),
    (NOW + 60, None, ['db1', 'app']),
    ('2026-11-30T18:46:00Z', None, ['db1', 'app']),
    (NOW + 60.5, None, ['app']),
    (None, ['capacity.move'], ['web1', 'app']),
    (None, [], ['web1', 'db1', 'app']),
    (NOW + 1, ['capacity.move', 'capacity.refused'], ['db1', 'app']),
    (NOW + 1000, None, []),
])
def test_read_filters_by_time_and_kind(log, since, kinds, expected):
    append_events(log, [MOVE, REFUSED, dict(MOVE, time=NOW + 120, server='app')])
    events, skipped = read_events(log, since=since, kinds=kinds)
    assert ([e['server'] for e in events], skipped) == (expected, 0)


HOSTILE = ['web1\n{"kind":"capacity.move"}', 'a\u2028b\u2029c', '"); DROP TABLE', '\x00\x1b[31m', 'é€😀', '\ud800']


@pytest.mark.parametrize('text', HOSTILE)
def test_names_and_reasons_from_guests_stay_data_on_one_line(log, text):
    event = {'time': NOW, 'kind': 'capacity.refused', 'server': text, 'hosts': {'source': text},
             'reason': text, 'figures': {text: text}}
    append_events(log, [event, event])
    assert len(lines(log)) == 2
    assert read_events(log) == ([dict(event, time='2026-11-30T18:45:00Z')] * 2, 0)


GOOD = json.dumps(dict(MOVE, time='2026-11-30T18:45:00Z', server='good')) + '\n'


@pytest.mark.parametrize('damaged', [
    'not json\n',
    '\n',
    '[1, 2]\n',
    '"a string"\n',
    '{"time": "2026-11-30T18:45:00Z", "kind": "capacity.move"}\n',  # fields missing
    GOOD.replace('2026-11-30T18:45:00Z', 'yesterday'),
    GOOD.replace('"kind": "capacity.move"', '"kind": 5'),
    '\xff\xfe{}\n',
    GOOD[:40] + '\n',
])
def test_read_skips_and_counts_a_damaged_line(log, damaged):
    os.makedirs(os.path.dirname(log))
    with open(log, 'wb') as f:
        f.write((GOOD + damaged + GOOD).encode('latin-1'))
    assert [e['server'] for e in read_events(log)[0]] == ['good', 'good']
    assert read_events(log)[1] == 1


def test_read_counts_a_last_line_cut_short(log):
    append_events(log, [MOVE])
    with open(log, 'ab') as f:
        f.write(GOOD[:-1].encode('ascii'))  # a writer that died before its newline
    assert read_events(log) == ([dict(MOVE, time='2026-11-30T18:45:00Z')], 1)
    append_events(log, [REFUSED])  # the next line starts on the damaged one: both are one bad line
    assert [e['server'] for e in read_events(log)[0]] == ['web1']


def test_read_refuses_kinds_as_one_string(log):
    append_events(log, [MOVE])
    with pytest.raises(VirtualIronError, match="kinds must be a list of event kinds, got 'capacity.mov'"):
        read_events(log, kinds='capacity.mov')


def test_read_of_a_missing_log_has_no_events(log):
    assert read_events(log) == ([], 0)
    assert not os.path.exists(os.path.dirname(log))


@pytest.mark.parametrize('event, message', [
    ('capacity.move', 'an event must be a dict, got str'),
    ({'kind': 'capacity.move', 'host': 'lab1'}, 'an event has fields the log does not know: host'),
    ({'server': 'web1'}, 'an event needs a kind'),
    ({'kind': ''}, 'an event needs a kind'),
    ({'kind': 'capacity.move', 'server': 5}, 'event capacity.move: server must be a string or None, got int'),
    ({'kind': 'capacity.move', 'reason': ['x']}, 'event capacity.move: reason must be a string, got list'),
    ({'kind': 'capacity.move', 'hosts': ['lab1']}, 'event capacity.move: hosts must be a dict, got list'),
    ({'kind': 'capacity.move', 'hosts': {'source': 1}}, 'hosts must map roles'),
    ({'kind': 'capacity.move', 'figures': 'x'}, 'event capacity.move: figures must be a dict, got str'),
    ({'kind': 'capacity.move', 'figures': {'cpu': float('nan')}}, 'its figures must be numbers'),
    ({'kind': 'capacity.move', 'figures': {'cpu': object()}}, 'its figures must be numbers'),
    ({'kind': 'capacity.move', 'time': 'now'}, "cannot read 'now' as a time"),
    ({'kind': 'capacity.move', 'time': '2026-11-30 18:45:00'}, "cannot read '2026-11-30 18:45:00' as a time"),
    ({'kind': 'capacity.move', 'time': 1e20}, 'epoch seconds is not a time an event can have'),
])
def test_append_refuses_a_bad_event_and_writes_nothing(log, event, message):
    append_events(log, [MOVE])
    with pytest.raises(VirtualIronError, match=message):
        append_events(log, [REFUSED, event])
    assert len(lines(log)) == 1


def test_new_log_and_directories_are_private(tmp_path):
    old = os.umask(0)  # so that the modes are the log's own
    try:
        append_events(str(tmp_path / 'a' / 'b' / 'events.jsonl'), [MOVE])
    finally:
        os.umask(old)
    created = (tmp_path / 'a', tmp_path / 'a' / 'b', tmp_path / 'a' / 'b' / 'events.jsonl')
    assert [stat.S_IMODE(os.stat(str(p)).st_mode) for p in created] == [0o700, 0o700, 0o600]


@pytest.mark.parametrize('function', [lambda path: append_events(path, [MOVE]), read_events])
def test_a_link_in_place_of_the_log_is_refused(tmp_path, function):
    target = tmp_path / 'target'
    target.write_text('')
    os.symlink(str(target), str(tmp_path / 'events.jsonl'))
    with pytest.raises(VirtualIronError, match='is a symbolic link; expected a regular file'):
        function(str(tmp_path / 'events.jsonl'))
    assert target.read_text() == ''


@pytest.mark.parametrize('value, text', [
    (NOW, '2026-11-30T18:45:00Z'), (NOW + 0.999, '2026-11-30T18:45:00Z'), (0, '1970-01-01T00:00:00Z'),
])
def test_time_format(value, text):
    assert format_time(value) == text
    assert parse_time(text) == float(int(value))


def _append_many(path, writer, count):
    # Long reasons, so that a line is many times larger than the pipe buffer size an unlocked write could rely on.
    for n in range(count):
        append_events(path, [{'kind': 'capacity.move', 'server': '%s-%d' % (writer, n), 'reason': writer * 20000}])


def _check_all_there(path, writers, count):
    events, skipped = read_events(path)
    assert skipped == 0
    for writer in writers:  # each writer's events whole, in its order
        servers = [e['server'] for e in events if e['reason'] == writer * 20000]
        assert servers == ['%s-%d' % (writer, n) for n in range(count)]
    assert len(events) == len(writers) * count


def test_two_writers_in_threads_never_interleave(log):
    writers = ['a', 'b', 'c', 'd']
    threads = [threading.Thread(target=_append_many, args=(log, w, 50)) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _check_all_there(log, writers, 50)


def test_two_writers_in_processes_never_interleave(log):
    context = multiprocessing.get_context('fork')
    writers = ['p', 'q', 'r']
    processes = [context.Process(target=_append_many, args=(log, w, 50)) for w in writers]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert [p.exitcode for p in processes] == [0, 0, 0]
    _check_all_there(log, writers, 50)
