# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_maintenance, run as Ansible runs it, on libvirt's test hypervisor (no secrets: never in maintenance),
in check mode. Its state and evacuation logic: tests/unit/plugins/module_utils/test_maintenance.py."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.virtualiron.infra.plugins.modules import host_maintenance

TEST_URI = 'test:///default'
EVACUATE = {'evacuate': True, 'destinations': [TEST_URI]}  # the host itself: left out, so no other host
NOT_MOVED = [{'name': 'test', 'reason': 'no host can take it: no other host'}]


@pytest.fixture
def run_module(run_main):
    return lambda **args: run_main(host_maintenance.main, dict({'uri': TEST_URI, '_ansible_check_mode': True}, **args))


@pytest.mark.parametrize('args, failed, expected', [
    ({'reason': 'DIMM'}, False, {'changed': True, 'changes': ['maintenance entered']}),
    ({'state': 'absent'}, False, {'changed': False, 'changes': []}),
    ({'state': 'absent', '_ansible_diff': True}, False,
     {'changed': False, 'changes': [], 'diff': {'before': {'maintenance': False, 'reason': '', 'since': None},
                                                'after': {'maintenance': False, 'reason': '', 'since': None}}}),
    (dict(EVACUATE, servers=['test']), True,
     {'changed': True, 'changes': ['maintenance entered'], 'placements': {}, 'moved': [], 'not_moved': NOT_MOVED,
      'results': [], 'uri': TEST_URI,
      'msg': '1 servers could not be moved and stay on the host: test (no host can take it: no other host)'}),
    (dict(EVACUATE, servers=['web9']), False,
     {'changed': True, 'changes': ['maintenance entered'], 'placements': {}, 'moved': [], 'not_moved': [],
      'results': []}),
    ({'reason': 'one\ntwo'}, True,
     {'uri': TEST_URI, 'msg': "reason must not contain control characters or line breaks, found '\\n'"}),
    (dict(EVACUATE, concurrency=0), True, {'uri': TEST_URI, 'msg': 'concurrency must be at least 1, got 0'}),
])
def test_result(run_module, args, failed, expected):
    exited = run_module(**args)
    result = dict((k, v) for k, v in exited.result.items() if k in expected)
    assert (exited.failed, result) == (failed, expected)
    assert ('diff' in exited.result) == ('diff' in expected)
