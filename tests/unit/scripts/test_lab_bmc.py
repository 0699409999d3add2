# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's BMC (scripts/lab-bmc): its Redfish answers, its authentication, and the lab commands its resets run."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import json
import os
import threading
import urllib.error
import urllib.request

from types import SimpleNamespace

import pytest

from ansible_collections.virtualiron.infra.tests.unit.loader import load

lab_bmc = load('lab_bmc', 'scripts', 'lab-bmc')

UUID = '5649524c-4142-4000-8000-000000000003'
SYSTEM = '/redfish/v1/Systems/lab3'
RESET = SYSTEM + '/Actions/ComputerSystem.Reset'


class FakeHost(object):
    name, uuid = 'lab3', UUID

    def __init__(self, power='On', fails=None):
        self.power, self.fails, self.resets = power, fails, []

    def power_state(self):
        return self.power

    def reset(self, reset_type):
        self.resets.append(reset_type)
        return self.fails


@pytest.mark.parametrize('method, path, body, status, resets', [
    ('GET', '/redfish/v1', None, 200, []),
    ('GET', '/redfish/v1/', None, 200, []),
    ('GET', '/redfish/v1/Systems', None, 200, []),
    ('GET', SYSTEM, None, 200, []),
    ('GET', '/redfish/v1/Systems/' + UUID, None, 200, []),
    ('GET', '/redfish/v1/Systems/lab1', None, 404, []),
    ('GET', '/redfish/v1/Managers', None, 404, []),
    ('PATCH', SYSTEM, {'Boot': {}}, 405, []),
    ('GET', RESET, None, 405, []),
    ('POST', RESET, {'ResetType': 'ForceOff'}, 204, ['ForceOff']),
    ('POST', '/redfish/v1/Systems/%s/Actions/ComputerSystem.Reset' % UUID, {'ResetType': 'ForceRestart'}, 204,
     ['ForceRestart']),
    ('POST', RESET, {'ResetType': 'On'}, 204, []),          # already on: nothing to run
    ('POST', RESET, {'ResetType': 'GracefulShutdown'}, 400, []),
    ('POST', RESET, {}, 400, []),
    ('POST', RESET, ['ForceOff'], 400, []),
])
def test_route(method, path, body, status, resets):
    host = FakeHost()
    answer = lab_bmc.route(host, method, path, body)
    assert answer[0] == status
    assert host.resets == resets


def test_system_describes_the_host_and_its_reset_action():
    status, system = lab_bmc.route(FakeHost(power='Off'), 'GET', SYSTEM, None)
    assert status == 200
    assert (system['Id'], system['UUID'], system['PowerState']) == ('lab3', UUID, 'Off')
    action = system['Actions']['#ComputerSystem.Reset']
    assert action['target'] == RESET
    assert action['ResetType@Redfish.AllowableValues'] == ['ForceOff', 'ForceRestart', 'On']
    assert system['Boot']['BootSourceOverrideEnabled'] == 'Disabled'


def test_systems_lists_the_host_by_name():
    assert lab_bmc.route(FakeHost(), 'GET', '/redfish/v1/Systems', None)[1]['Members'] == [{'@odata.id': SYSTEM}]


def test_on_when_off_runs_poweron_and_a_failure_is_a_500():
    host = FakeHost(power='Off', fails='lab: error: lab3 does not exist')
    status, answer = lab_bmc.route(host, 'POST', RESET, {'ResetType': 'On'})
    assert (status, host.resets) == (500, ['On'])
    assert answer['error']['message'] == 'On of lab3 failed: lab: error: lab3 does not exist'


def basic(user, password):
    return 'Basic ' + base64.b64encode(('%s:%s' % (user, password)).encode()).decode()


@pytest.mark.parametrize('header, ok', [
    (basic('admin', 's3cret'), True),
    (basic('admin', 's3cre'), False),
    (basic('root', 's3cret'), False),
    (basic('admin', 's3cret:'), False),
    ('Bearer abc', False),
    ('Basic !!!', False),
    ('', False),
    (None, False),
])
def test_authorized(header, ok):
    assert lab_bmc.authorized(header, 's3cret') is ok


def test_libvirtd_alive_needs_a_libvirtd_pid(tmp_path):
    pid_file = tmp_path / 'libvirtd.pid'
    assert not lab_bmc.libvirtd_alive(str(pid_file), 'vilab-lab3')   # no file
    pid_file.write_text('garbage\n')
    assert not lab_bmc.libvirtd_alive(str(pid_file), 'vilab-lab3')
    pid_file.write_text('%d\n' % os.getpid())                        # a process, but not libvirtd
    assert not lab_bmc.libvirtd_alive(str(pid_file), 'vilab-lab3')


@pytest.fixture
def served(tmp_path):
    """A lab BMC on 127.0.0.1 (any free port) whose lab command only logs its arguments."""
    lab = tmp_path / 'lab'
    lab.write_text('#!/bin/sh\necho "$@" >>%s\n[ "$1" != reboot ]\n' % (tmp_path / 'calls'))
    lab.chmod(0o755)
    args = SimpleNamespace(host=3, uuid=UUID, lab=str(lab), libvirtd_pid_file=str(tmp_path / 'none.pid'),
                           netns='vilab-lab3')
    handler = type('H', (lab_bmc.Handler,), {'host': lab_bmc.LabHost(args), 'password': 'pw',
                                             'log_message': lambda *a: None})
    server = lab_bmc.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield 'http://127.0.0.1:%d' % server.server_address[1], tmp_path / 'calls'
    server.shutdown()
    server.server_close()


def request(url, body=None, password='pw', data=None):
    req = urllib.request.Request(url, data=data if data is not None else (json.dumps(body).encode() if body else None))
    req.add_header('Authorization', basic('admin', password))
    try:
        with urllib.request.urlopen(req, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_over_http(served):
    url, calls = served
    assert request(url + '/redfish/v1', password='wrong')[0] == 401
    status, raw = request(url + SYSTEM)
    assert (status, json.loads(raw)['PowerState']) == (200, 'Off')
    assert request(url + RESET, {'ResetType': 'ForceOff'}) == (204, b'')
    assert request(url + RESET, {'ResetType': 'On'}) == (204, b'')
    status, raw = request(url + RESET, {'ResetType': 'ForceRestart'})   # the fake lab fails reboot
    assert status == 500 and 'ForceRestart of lab3 failed' in json.loads(raw)['error']['message']
    assert request(url + RESET, data=b'{not json')[0] == 400
    assert calls.read_text() == 'poweroff 3\npoweron 3\nreboot 3\n'
