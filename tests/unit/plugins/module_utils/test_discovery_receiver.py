# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the discovery receiver as a server (on 127.0.0.1, a free port): files, reports, the request log,
and its process handling (argv, the pid check)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import threading

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal import receiver

try:
    from urllib.request import Request, urlopen
    from urllib.error import HTTPError
except ImportError:
    pytest.skip('Python 3 only', allow_module_level=True)

REPORT = {'cpus': 1, 'memory_bytes': 134217728, 'boot_mac': '52:54:00:13:00:01',
          'nics': [{'name': 'eth0', 'mac': '52:54:00:13:00:01', 'driver': 'virtio_net'}], 'timings': {'inventory': 1.9}}


@pytest.fixture
def server(tmp_path):
    for d in ('boot', 'registrations'):
        (tmp_path / d).mkdir()
    (tmp_path / 'boot' / 'vmlinuz').write_bytes(b'K' * 70000)
    srv = receiver.Receiver('127.0.0.1', 0, str(tmp_path / 'boot'), str(tmp_path / 'registrations'),
                            str(tmp_path / 'requests.log'))
    thread = threading.Thread(target=srv.serve_forever)
    thread.start()
    yield 'http://127.0.0.1:%d' % srv.server_address[1], tmp_path
    srv.shutdown()
    srv.server_close()
    thread.join()


def call(url, data=None, headers=None):
    try:
        answer = urlopen(Request(url, data=data, headers=headers or {}), timeout=5)
        return answer.status, answer.read()
    except HTTPError as e:
        return e.code, e.read()


def log_of(tmp_path):
    return [json.loads(line) for line in (tmp_path / 'requests.log').read_text().splitlines()]


def test_files_reports_and_log(server):
    url, tmp_path = server
    assert call(url + '/vmlinuz?mac=52:54:00:13:00:01') == (200, b'K' * 70000)
    assert call(url + '/../requests.log')[0] == 404
    status, body = call(url + '/report', json.dumps(REPORT).encode(), {'Content-Type': 'application/json'})
    assert (status, json.loads(body.decode())) == (200, {'name': 'node-525400130001', 'state': 'discovered', 'changed': True})
    assert json.loads(call(url + '/report', json.dumps(REPORT).encode())[1].decode()) == {
        'name': 'node-525400130001', 'state': 'discovered', 'changed': False}
    assert call(url + '/report', b'{"nics": []}')[0] == 400
    assert call(url + '/report', b'x' * (70 * 1024))[0] == 413
    registration = json.loads((tmp_path / 'registrations' / 'node-525400130001.json').read_text())
    assert registration['address'] == '127.0.0.1' and registration['state'] == 'discovered'
    log = [(e['method'], e['path'], e['status'], e['stage'], e['mac']) for e in log_of(tmp_path)]
    assert log == [('GET', '/vmlinuz', 200, 'kernel', '52:54:00:13:00:01'), ('GET', '/../requests.log', 404, 'file', None),
                   ('POST', '/report', 200, 'report', '52:54:00:13:00:01'),
                   ('POST', '/report', 200, 'report', '52:54:00:13:00:01'),
                   ('POST', '/report', 400, 'report', None), ('POST', '/report', 413, 'report', None)]
    assert log_of(tmp_path)[2]['timings'] == {'inventory': 1.9} and log_of(tmp_path)[0]['bytes'] == 70000
    assert 'no NIC with a MAC' in log_of(tmp_path)[4]['error']


STATE = {'version': 1, 'state': 'provisioned', 'mac': '52:54:00:13:00:01', 'transport': 'tcp', 'error': ''}


def test_state_reports(server):
    url, tmp_path = server
    assert call(url + '/report', json.dumps(STATE).encode())[0] == 400  # not discovered yet
    call(url + '/report', json.dumps(REPORT).encode())
    answers = [call(url + '/report', json.dumps(report).encode()) for report in (
        STATE, STATE, dict(STATE, state='failed', error='libvirtd is not listening after 60 s'))]
    assert [(status, json.loads(body.decode())['state']) for status, body in answers] == [
        (200, 'provisioned'), (200, 'provisioned'), (200, 'failed')]
    log = log_of(tmp_path)
    assert [(e['status'], e.get('state'), e.get('changed')) for e in log] == [
        (400, None, None), (200, 'discovered', True), (200, 'provisioned', True), (200, 'provisioned', False),
        (200, 'failed', True)]
    assert 'no node with MAC 52:54:00:13:00:01 was discovered' in log[0]['error']
    assert log[4]['node_error'] == 'libvirtd is not listening after 60 s'
    registration = json.loads((tmp_path / 'registrations' / 'node-525400130001.json').read_text())
    assert registration['state'] == 'failed' and 'uri' not in registration


PARAMS = dict(address='10.0.5.1', port=8080, root='/b', registrations='/r', log='/l', netns=None)


@pytest.mark.parametrize('netns, prefix', [(None, []), ('vilab-lab1', ['ip', 'netns', 'exec', 'vilab-lab1'])])
def test_receiver_argv(netns, prefix):
    assert receiver.receiver_argv(dict(PARAMS, netns=netns), '/usr/bin/python3') == prefix + [
        '/usr/bin/python3', '-m', receiver.RECEIVER_MODULE, '--address', '10.0.5.1', '--port', '8080',
        '--root', '/b', '--registrations', '/r', '--log', '/l']


def test_running_pid_checks_the_command_line(tmp_path):
    pid_file = tmp_path / 'receiver.pid'
    assert receiver.running_pid(str(pid_file), receiver.receiver_argv(PARAMS, 'python')) is None   # no file
    pid_file.write_text('%d\n' % os.getpid())   # a live process, but not the receiver
    assert receiver.running_pid(str(pid_file), receiver.receiver_argv(PARAMS, 'python')) is None
    pid_file.write_text('garbage')
    assert receiver.running_pid(str(pid_file), receiver.receiver_argv(PARAMS, 'python')) is None
