# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
import sys

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.common import query
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import (
    MissingLibraryError, VirtualIronError, failure_details)

SERVERS = {'servers': [{'name': 'web1', 'state': 'running', 'vcpus': 2, 'tags': {'role': 'web'}},
                       {'name': 'db1', 'state': 'stopped', 'vcpus': 8, 'tags': {'role': 'db'}},
                       {'name': 'web2', 'state': 'running', 'vcpus': 4, 'tags': {}}]}


@pytest.mark.parametrize('expression, expected', [
    ("servers[?state=='running'].name", ['web1', 'web2']),
    ('servers[?vcpus > `2`].name', ['db1', 'web2']),
    ('sum(servers[].vcpus)', 14),
    ("servers[?tags.role=='db'] | [0].name", 'db1'),
    ('servers[].tags.role', ['web', 'db']),
    ('missing', None),
])
def test_run_query(expression, expected):
    assert query.run_query(expression, SERVERS) == expected


@pytest.mark.parametrize('expression', ['servers[', "servers[?state=='running'", 'sum(servers[].name)', '&&'])
def test_run_query_refuses_bad_expressions(expression):
    with pytest.raises(VirtualIronError, match=re.escape('invalid query %r: ' % expression)):
        query.run_query(expression, SERVERS)


def test_run_query_without_jmespath(monkeypatch):
    monkeypatch.setitem(sys.modules, 'jmespath', None)  # what a missing library does to its import
    with pytest.raises(MissingLibraryError, match='jmespath') as raised:
        query.run_query('servers', SERVERS)
    assert 'import jmespath' in failure_details(raised.value)['exception']
