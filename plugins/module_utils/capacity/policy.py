# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Capacity policies in Virtual Iron's words: "LiveMigrate to obtain more capacity when this virtual server's
CPU % > 90 for 10 minutes; LiveMigrate to use less capacity when its CPU % < 10 for 10 minutes".

A policy has two directions, 'more' (holds above its threshold) and 'less' (holds below it). Each direction is
{'metric': 'cpu_percent' or 'memory_percent', 'threshold': 0 to 100, 'minutes': more than 0, at most a week},
or False when it is off. In raw input (module parameters, a server's libvirt metadata) a direction may also be
'off' (the same as False), leave out fields (they take the default's), or be None or absent: not said at that
level, so a less specific level or the default decides it. Numbers must be numbers: text such as '90' is refused.
The default is the seed's: more when CPU % > 90 for 10 minutes, less when CPU % < 10 for 10 minutes.

Where a server's policy comes from, most specific first (resolve_policy): its own (kept in its libvirt metadata,
so that it travels with it when it migrates), then its tags', then its inventory groups', then its host's, then
the default. The most specific level that names a direction decides that direction wholly; the fields it leaves
out are the default's, not a less specific level's, so that what a level says can be read at that level alone.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math

from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError

DIRECTIONS = ('more', 'less')
METRICS = ('cpu_percent', 'memory_percent')
FIELDS = ('metric', 'threshold', 'minutes')
MAX_MINUTES = 7 * 24 * 60  # the history's default retention: a longer window could never be covered
# The options that give policies beyond a server's own, the same in every module that resolves them.
POLICY_OPTIONS = ('tag_policies', 'group_policies', 'groups', 'host_policies')
POLICY_ARGUMENT_SPEC = dict((name, dict(type='dict', default={})) for name in POLICY_OPTIONS)
DEFAULT_POLICY = {'more': {'metric': 'cpu_percent', 'threshold': 90.0, 'minutes': 10.0},
                  'less': {'metric': 'cpu_percent', 'threshold': 10.0, 'minutes': 10.0}}


def check_policy(raw, what='policy'):
    """A whole policy from raw input: {'more': direction or False, 'less': direction or False}, where
    the directions raw leaves unsaid are the default's."""
    given = given_policy(raw, what)
    policy = dict((d, given[d] if d in given else dict(DEFAULT_POLICY[d])) for d in DIRECTIONS)
    _check_order(policy, what)
    return policy


def resolve_policy(server, server_policy, tag_policies, group_policies, host_policies, groups_of_server):
    """The effective policy of one server, and where each direction comes from.

    server: {'name', 'host', 'tags': {tag name: value}} (the tags as virtual_server sets them).
    server_policy: the raw policy kept in the server's metadata, or None.
    tag_policies: {'name=value': raw policy} for servers with that tag set to that value, or {'name': raw policy}
    for servers with that tag whatever its value; name=value keys count before bare names, each in key order.
    group_policies: {inventory group: raw policy}; groups_of_server: the server's groups, most specific first
    (put 'all' last). host_policies: {host name: raw policy}, looked up by server['host'].
    Returns check_policy's shape plus 'from': {'more': 'server web1', 'less': 'tag role=web'} ('default' when
    no level names a direction). Every level given for the server is checked, used or not.
    """
    levels = [('server %s' % server['name'], server_policy)]
    levels += _tag_levels(server.get('tags') or {}, tag_policies or {})
    group_policies = group_policies or {}
    levels += [('group %s' % g, group_policies[g]) for g in groups_of_server or () if g in group_policies]
    if server.get('host') in (host_policies or {}):
        levels.append(('host %s' % server['host'], host_policies[server['host']]))
    checked = [(source, given_policy(raw, 'policy of %s' % source)) for source, raw in levels]
    policy, sources = {}, {}
    for direction in DIRECTIONS:
        source, given = next(((s, g) for s, g in checked if direction in g), ('default', DEFAULT_POLICY))
        policy[direction], sources[direction] = given[direction] and dict(given[direction]), source
    _check_order(policy, 'the policy of server %s (more from %s, less from %s)' % (
        server['name'], sources['more'], sources['less']))
    policy['from'] = sources
    return policy


def _tag_levels(tags, tag_policies):
    exact, named = [], []
    for key in sorted(tag_policies, key=str):
        if not isinstance(key, str) or not key.partition('=')[0]:
            raise VirtualIronError('tag policy key %r: write it as "name=value" or "name"' % (key,))
        name, equals, value = key.partition('=')
        if equals and name in tags and str(tags[name]) == value:
            exact.append(('tag %s' % key, tag_policies[key]))
        elif not equals and name in tags:
            named.append(('tag %s' % key, tag_policies[key]))
    return exact + named


def given_policy(raw, what):
    """The directions raw says something about: {direction: checked direction or False}. What a level stores
    (a server's metadata keeps this, not check_policy's whole policy, so that the levels below still count)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise VirtualIronError('%s must be a dictionary with "more" and/or "less", got %r' % (what, raw))
    unknown = sorted(str(k) for k in raw if k not in DIRECTIONS)
    if unknown:
        raise VirtualIronError('%s: unknown key(s) %s; a policy has "more" and "less"' % (what, ', '.join(unknown)))
    return dict((d, _direction(raw[d], d, '%s, %s' % (what, d))) for d in DIRECTIONS if raw.get(d) is not None)


def _direction(value, direction, what):
    if value is False or value == 'off':
        return False
    if not isinstance(value, dict):
        raise VirtualIronError('%s must be a dictionary of %s, or off, got %r' % (what, ', '.join(FIELDS), value))
    unknown = sorted(str(k) for k in value if k not in FIELDS)
    if unknown:
        raise VirtualIronError('%s: unknown key(s) %s; use %s' % (what, ', '.join(unknown), ', '.join(FIELDS)))
    fields = dict(DEFAULT_POLICY[direction], **dict((k, v) for k, v in value.items() if v is not None))
    if fields['metric'] not in METRICS:
        raise VirtualIronError('%s: metric %r is not one of %s' % (what, fields['metric'], ', '.join(METRICS)))
    threshold = _number(fields['threshold'], '%s: threshold' % what)
    if not 0 <= threshold <= 100:
        raise VirtualIronError('%s: threshold %g is not a percentage from 0 to 100' % (what, threshold))
    minutes = _number(fields['minutes'], '%s: minutes' % what)
    if not 0 < minutes <= MAX_MINUTES:
        raise VirtualIronError('%s: minutes %g must be more than 0 and at most %d (a week)' % (what, minutes, MAX_MINUTES))
    return {'metric': fields['metric'], 'threshold': threshold, 'minutes': minutes}


def _number(value, what):
    # bool is an int in Python: True would read as 1.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise VirtualIronError('%s must be a number, got %r' % (what, value))
    return float(value)


def _check_order(policy, what):
    """Refuse a policy under which a server could want more and less capacity at once."""
    more, less = policy['more'], policy['less']
    if more and less and more['metric'] == less['metric'] and less['threshold'] >= more['threshold']:
        raise VirtualIronError(
            '%s: the "less" threshold (%s < %g) must be below the "more" threshold (%s > %g), or a server could '
            'want more and less capacity at once' % (what, less['metric'], less['threshold'], more['metric'],
                                                     more['threshold']))
