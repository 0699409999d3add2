# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""migration.move: a move's steps and their words, several moves, and live_migrate's result."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.move import (
    Migration, migrate_many, move_servers)
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.options import DEFAULT_OPTIONS

COPIED = 'disks copied (the source keeps its disk files)'
UNREACHABLE = 'qemu+tcp://127.0.0.1:1/system'


def planned(action, storage, source='running', destination=None, diff=False):
    """A Migration in check mode that decided `action`: its result, as converge() and result() make it
    (no host is asked)."""
    migration = Migration(None, None, 'web1', dict(DEFAULT_OPTIONS, storage=storage), check_mode=True, diff=diff)
    migration.action = action
    migration.facts = {'source': source and {'state': source}, 'destination': destination and {'state': destination}}
    before = {'source': source, 'destination': destination}
    return migration.result(before, migration.converge(before))


@pytest.mark.parametrize('action, storage, source, destination, changes, after', [
    ('none', 'copy', None, 'running', [], 'running'),
    ('finish', 'shared', 'stopped', 'running', ['stale source definition removed'], 'running'),
    ('live', 'copy', 'running', None, ['live-migrated'], 'running'),
    ('cold', 'shared', 'stopped', None, ['definition moved'], 'stopped'),
    ('cold', 'copy', 'stopped', None, [COPIED, 'definition moved'], 'stopped'),
    ('restart', 'shared', 'running', None, ['shut down', 'definition moved', 'started on the destination'], 'running'),
    ('restart', 'copy', 'running', None, ['shut down', COPIED, 'definition moved', 'started on the destination'],
     'running'),
])
def test_check_mode_plans_the_steps_in_the_result_words(action, storage, source, destination, changes, after):
    assert planned(action, storage, source, destination) == {
        'changed': bool(changes), 'changes': changes, 'action': action, 'server': None}


@pytest.mark.parametrize('diff, expected', [
    (False, None),
    (True, {'before': {'source': 'running', 'destination': None}, 'after': {'source': None, 'destination': 'running'},
            'before_header': 'web1', 'after_header': 'web1'}),
])
def test_diff_says_where_the_server_is_only_when_asked(diff, expected):
    assert planned('live', 'shared', diff=diff).get('diff') == expected


SAME_HOST = ('test:///default', 'test:///default', 'test')
NO_HOST = ('test:///default', UNREACHABLE, 'x')


@pytest.mark.parametrize('diff, diffs', [(False, None), (True, [{}, {}])])
def test_every_move_is_tried_and_each_failure_reported(diff, diffs):
    result = migrate_many([SAME_HOST, NO_HOST], dict(DEFAULT_OPTIONS), concurrency=2, diff=diff)
    assert (result['changed'], result['failed_servers'], result.get('diff')) == (False, ['test', 'x'], diffs)
    assert 'the source and the destination are the same host' in result['results'][0]['msg']
    assert 'cannot connect to the hypervisor host at %s' % UNREACHABLE in result['results'][1]['msg']


def test_concurrency_must_be_positive():
    with pytest.raises(VirtualIronError, match='concurrency must be at least 1'):
        migrate_many([], dict(DEFAULT_OPTIONS), concurrency=0)


def params(**given):
    result = dict(DEFAULT_OPTIONS, uri='test:///default', destination='test:///default', name=None, servers=None,
                  concurrency=2, connect_timeout=5)
    result.update(given)
    return result


@pytest.mark.parametrize('given, message, details', [
    ({'name': 'test'}, 'the source and the destination are the same host',
     {'name': 'test', 'source': 'test:///default', 'destination': 'test:///default'}),
    ({'servers': ['test', 'test']}, '2 of 2 servers did not move: test, test',
     {'failed_servers': ['test', 'test'], 'changed': False}),
])
def test_live_migrate_failure_carries_its_result(given, message, details):
    with pytest.raises(VirtualIronError) as raised:
        move_servers(params(**given))
    assert str(raised.value) == message
    raised.value.details.pop('results', None)
    assert raised.value.details == details
