# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""LiveRecovery's fencing (never a restart on suspicion alone) and the run's parameter checks."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.recovery import fencing
from ansible_collections.virtualiron.infra.plugins.module_utils.recovery.run import check_parameters

HOST = {'name': 'kvm3', 'uri': 'qemu+tls://kvm3/system',
        'bmc': {'endpoint': 'https://kvm3-bmc', 'username': 'admin', 'password': 'pw', 'system_id': None}}
PARAMS = {'fencing': 'bmc', 'fence_command': None, 'confirmed_hosts': [], 'fence_timeout': 30}


def run(params, host=None, rc=0, out='', err=''):
    calls = []
    host = HOST if host is None else host

    def run_command(argv):
        calls.append(argv)
        return rc, out, err
    return fencing.fence(host, dict(PARAMS, **params), run_command, clock=iter([0, 1.25]).__next__), calls


@pytest.mark.parametrize('params, rc, fenced, acted, why, argv', [
    ({'fencing': 'command', 'fence_command': ['/usr/sbin/fence_ipmilan', '--plug', '{name}', '{uri}']}, 0, True, True,
     None, [['/usr/sbin/fence_ipmilan', '--plug', 'kvm3', 'qemu+tls://kvm3/system']]),
    ({'fencing': 'command', 'fence_command': ['fence', '{name}']}, 1, False, True, 'fence command fence exited 1: no',
     [['fence', 'kvm3']]),
    ({'fencing': 'confirmed', 'confirmed_hosts': ['kvm3']}, 0, True, False, None, []),
    ({'fencing': 'confirmed', 'confirmed_hosts': ['kvm1']}, 0, False, False, 'waits for an operator', []),
])
def test_command_and_confirmation(params, rc, fenced, acted, why, argv):
    result, calls = run(params, rc=rc, err='no\n')
    assert (result['fenced'], result['acted'], calls, result['seconds']) == (fenced, acted, argv, 1.25)
    assert (result['why'] is None) if why is None else why in result['why']


class FakeConverger(object):
    answers = []

    def __init__(self, client, params):
        self.params = params

    def run(self):
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.mark.parametrize('answer, fenced, acted, why', [
    ({'changed': True, 'system': {'power': 'off'}}, True, True, None),
    ({'changed': False, 'system': {'power': 'off'}}, True, False, None),  # already off: fenced, nothing done
    ({'changed': True, 'system': {'power': 'on'}}, False, True, 'reports power on'),
    (VirtualIronError('cannot reach the BMC'), False, False, 'cannot reach the BMC'),
])
def test_bmc(monkeypatch, answer, fenced, acted, why):
    FakeConverger.answers = [answer]
    monkeypatch.setattr(fencing, 'BmcConverger', FakeConverger)
    result, _calls = run({})
    assert (result['fenced'], result['acted']) == (fenced, acted)
    assert (result['why'] is None) if why is None else why in result['why']


def test_bmc_asks_a_forced_power_off(monkeypatch):
    seen = []

    class Recording(FakeConverger):
        def run(self):
            seen.append(self.params)
            return {'changed': True, 'system': {'power': 'off'}}
    monkeypatch.setattr(fencing, 'BmcConverger', Recording)
    run({})
    assert seen == [{'system_id': None, 'power': 'off', 'boot': None, 'inventory': False, 'power_timeout': 30}]


def test_bmc_missing():
    result, _calls = run({}, host=dict(HOST, bmc=None))
    assert not result['fenced'] and 'no BMC given for kvm3' in result['why']


GOOD = {'hosts': [{'name': 'a'}, {'name': 'b'}], 'failed_hosts': [], 'confirmed_hosts': [], 'grace_seconds': 10,
        'probe_interval': 1, 'probe_timeout': 3, 'fence_timeout': 60}


@pytest.mark.parametrize('changes, message', [
    ({'hosts': [{'name': 'a'}, {'name': 'a'}]}, 'a listed twice'),
    ({'failed_hosts': ['c']}, 'failed_hosts: c not among hosts'),
    ({'confirmed_hosts': ['c']}, 'confirmed_hosts: c not among hosts'),
    ({'grace_seconds': -1}, 'grace_seconds must be at least 0'),
    ({'probe_timeout': float('nan')}, 'probe_timeout must be at least'),
    ({'probe_interval': 0}, 'probe_interval must be at least 0.1'),
])
def test_parameters_refused(changes, message):
    with pytest.raises(VirtualIronError, match=message):
        check_parameters(dict(GOOD, **changes))


def test_parameters_accepted():
    check_parameters(GOOD)
