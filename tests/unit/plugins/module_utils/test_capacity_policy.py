# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Capacity policies: checking raw input strictly, and which level decides each direction of a server's policy."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.policy import (
    DEFAULT_POLICY, check_policy, resolve_policy)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError

MORE = {'metric': 'cpu_percent', 'threshold': 90.0, 'minutes': 10.0}
LESS = {'metric': 'cpu_percent', 'threshold': 10.0, 'minutes': 10.0}


@pytest.mark.parametrize('raw, expected', [
    (None, {'more': MORE, 'less': LESS}),
    ({}, {'more': MORE, 'less': LESS}),
    ({'more': None, 'less': None}, {'more': MORE, 'less': LESS}),
    ({'more': {'threshold': 80}}, {'more': dict(MORE, threshold=80.0), 'less': LESS}),
    ({'more': {'threshold': 80, 'minutes': None}}, {'more': dict(MORE, threshold=80.0), 'less': LESS}),
    ({'less': False}, {'more': MORE, 'less': False}),
    ({'less': 'off', 'more': 'off'}, {'more': False, 'less': False}),
    ({'more': {'metric': 'memory_percent', 'threshold': 95, 'minutes': 2.5}},
     {'more': {'metric': 'memory_percent', 'threshold': 95.0, 'minutes': 2.5}, 'less': LESS}),
    # Different metrics cannot conflict: a server can be busy in CPU and idle in memory.
    ({'more': {'metric': 'memory_percent', 'threshold': 5}}, {'more': dict(MORE, metric='memory_percent', threshold=5.0),
                                                              'less': LESS}),
    ({'more': {'threshold': 100, 'minutes': 10080}, 'less': {'threshold': 0}},
     {'more': dict(MORE, threshold=100.0, minutes=10080.0), 'less': dict(LESS, threshold=0.0)}),
])
def test_check_policy_normalizes(raw, expected):
    assert check_policy(raw) == expected


def test_check_policy_is_idempotent_and_leaves_the_default_alone():
    once = check_policy({'more': {'threshold': 75}, 'less': 'off'})
    assert check_policy(once) == once
    assert DEFAULT_POLICY == {'more': MORE, 'less': LESS}


@pytest.mark.parametrize('raw, message', [
    ('more', 'policy must be a dictionary with "more" and/or "less"'),
    ({'more': {}, 'hot': 1}, 'policy: unknown key(s) hot; a policy has "more" and "less"'),
    ({'more': {'treshold': 80}}, 'policy, more: unknown key(s) treshold; use metric, threshold, minutes'),
    ({'more': True}, 'policy, more must be a dictionary of metric, threshold, minutes, or off, got True'),
    ({'more': 'on'}, "policy, more must be a dictionary of metric, threshold, minutes, or off, got 'on'"),
    ({'more': {'metric': 'cpu'}}, "policy, more: metric 'cpu' is not one of cpu_percent, memory_percent"),
    ({'more': {'threshold': '90'}}, "policy, more: threshold must be a number, got '90'"),
    ({'more': {'threshold': True}}, 'policy, more: threshold must be a number, got True'),
    ({'more': {'threshold': float('nan')}}, 'policy, more: threshold must be a number, got nan'),
    ({'more': {'threshold': 101}}, 'policy, more: threshold 101 is not a percentage from 0 to 100'),
    ({'less': {'threshold': -1}}, 'policy, less: threshold -1 is not a percentage from 0 to 100'),
    ({'more': {'minutes': 0}}, 'policy, more: minutes 0 must be more than 0 and at most 10080 (a week)'),
    ({'more': {'minutes': 10081}}, 'policy, more: minutes 10081 must be more than 0 and at most 10080 (a week)'),
    ({'more': {'minutes': float('inf')}}, 'policy, more: minutes must be a number, got inf'),
    ({'less': {'threshold': 90}}, 'policy: the "less" threshold (cpu_percent < 90) must be below the "more" threshold '
                                  '(cpu_percent > 90), or a server could want more and less capacity at once'),
    ({'more': {'threshold': 5}}, 'policy: the "less" threshold (cpu_percent < 10) must be below the "more" threshold '
                                 '(cpu_percent > 5)'),
])
def test_check_policy_refuses(raw, message):
    with pytest.raises(VirtualIronError) as error:
        check_policy(raw)
    assert str(error.value).startswith(message)


WEB1 = {'name': 'web1', 'host': 'lab1', 'tags': {'role': 'web', 'tier': 'front'}}
STRICT = {'more': {'threshold': 70}}
QUIET = {'less': 'off'}


@pytest.mark.parametrize('server_policy, tags, groups, hosts, group_order, more, less, sources', [
    # Nothing said anywhere: the default.
    (None, {}, {}, {}, [], MORE, LESS, ('default', 'default')),
    # The server's own policy beats every other level.
    ({'more': {'threshold': 95}}, {'role=web': STRICT}, {'web': STRICT}, {'lab1': STRICT}, ['web'],
     dict(MORE, threshold=95.0), LESS, ('server web1', 'default')),
    # A direction the server leaves unsaid comes from the next level that says it.
    ({'more': {'threshold': 95}}, {}, {'web': QUIET}, {}, ['web'], dict(MORE, threshold=95.0), False,
     ('server web1', 'group web')),
    # name=value before a bare tag name, whatever the key order.
    (None, {'tier': QUIET, 'role=web': {'less': {'threshold': 5}}}, {}, {}, [],
     MORE, dict(LESS, threshold=5.0), ('default', 'tag role=web')),
    (None, {'tier': QUIET, 'role=db': {'less': {'threshold': 5}}}, {}, {}, [], MORE, False, ('default', 'tag tier')),
    # A tag whose value differs, or a tag the server does not have, does not apply.
    (None, {'role=db': STRICT, 'owner': STRICT}, {}, {'lab1': QUIET}, [], MORE, False, ('default', 'host lab1')),
    # Groups in the order given, the first most specific; a group the server is not in does not apply.
    (None, {}, {'all': STRICT, 'web': {'more': {'threshold': 60}}, 'db': QUIET}, {}, ['web', 'all'],
     dict(MORE, threshold=60.0), LESS, ('group web', 'default')),
    (None, {}, {'all': STRICT}, {'lab1': {'more': {'threshold': 50}}}, ['all'],
     dict(MORE, threshold=70.0), LESS, ('group all', 'default')),
    # Fields a level leaves out are the default's, not a less specific level's.
    ({'more': {'minutes': 30}}, {}, {}, {'lab1': STRICT}, [], dict(MORE, minutes=30.0), LESS, ('server web1', 'default')),
    # Turned off at the most specific level, whatever the others say.
    ({'more': 'off'}, {'role=web': STRICT}, {}, {}, [], False, LESS, ('server web1', 'default')),
])
def test_resolve_policy_most_specific_first(server_policy, tags, groups, hosts, group_order, more, less, sources):
    policy = resolve_policy(WEB1, server_policy, tags, groups, hosts, group_order)
    assert policy == {'more': more, 'less': less, 'from': {'more': sources[0], 'less': sources[1]}}


@pytest.mark.parametrize('args, message', [
    # Two levels that are each fine can make a policy under which a server wants both.
    (({'more': {'threshold': 30}}, {}, {'web': {'less': {'threshold': 40}}}, {}, ['web']),
     'the policy of server web1 (more from server web1, less from group web): the "less" threshold (cpu_percent < 40)'),
    # Every level is checked, even one that decides nothing.
    (({'more': 'off', 'less': 'off'}, {}, {}, {'lab1': {'more': {'threshold': 'high'}}}, []),
     "policy of host lab1, more: threshold must be a number, got 'high'"),
    ((None, {'=web': STRICT}, {}, {}, []), "tag policy key '=web': write it as \"name=value\" or \"name\""),
    ((None, {1: STRICT, 'role': STRICT}, {}, {}, []), 'tag policy key 1: write it as "name=value" or "name"'),
    (({'less': {'minutes': -5}}, {}, {}, {}, []), 'policy of server web1, less: minutes -5 must be more than 0'),
])
def test_resolve_policy_refuses(args, message):
    with pytest.raises(VirtualIronError) as error:
        resolve_policy(WEB1, *args)
    assert str(error.value).startswith(message)


def test_resolve_policy_without_tags_host_or_groups():
    policy = resolve_policy({'name': 'db1', 'host': 'lab2'}, None, None, None, None, None)
    assert policy == {'more': MORE, 'less': LESS, 'from': {'more': 'default', 'less': 'default'}}
