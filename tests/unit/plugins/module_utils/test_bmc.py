# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bmc converger and its Redfish client against a fake BMC: a real HTTP(S) server on 127.0.0.1 in a thread that
answers as sushy-tools and real BMCs do (systems, boot override, reset actions, NICs), with basic authentication,
power changes that take a few reads to show, and bad or hostile answers."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import copy
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal.bmc import BmcConverger
from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal.redfish import RedfishClient, base_url
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError

SYSTEMS = '/redfish/v1/Systems'
# What each reset type does to the power, as a BMC does it.
RESETS = {'On': 'On', 'ForceOn': 'On', 'ForceOff': 'Off', 'GracefulShutdown': 'Off', 'ForceRestart': 'On',
          'PowerCycle': 'On'}


def make_system(sid, power='Off', target='Hdd', enabled='Continuous', mode='Legacy', allowed=('Pxe', 'Cd', 'Hdd'),
                resets=('On', 'ForceOff', 'GracefulShutdown', 'ForceRestart', 'Nmi', 'ForceOn')):
    """A ComputerSystem as sushy-tools 2.2.0 renders one (system.json), with the values given."""
    boot = {'BootSourceOverrideEnabled': enabled, 'BootSourceOverrideTarget': target,
            'BootSourceOverrideMode': mode}
    if allowed is not None:
        boot['BootSourceOverrideTarget@Redfish.AllowableValues'] = list(allowed)
    action = {'target': '%s/%s/Actions/ComputerSystem.Reset' % (SYSTEMS, sid)}
    if resets is not None:
        action['ResetType@Redfish.AllowableValues'] = list(resets)
    return {'@odata.id': '%s/%s' % (SYSTEMS, sid), 'Id': sid, 'Name': 'node-' + sid, 'UUID': sid,
            'Manufacturer': 'Sushy Emulator', 'PowerState': power, 'Boot': boot,
            'ProcessorSummary': {'Count': 2}, 'MemorySummary': {'TotalSystemMemoryGiB': 0.125},
            'EthernetInterfaces': {'@odata.id': '%s/%s/EthernetInterfaces' % (SYSTEMS, sid)},
            'Actions': {'#ComputerSystem.Reset': action}}


class FakeBmc(object):
    """A Redfish service: systems (id -> ComputerSystem), each with one NIC; user admin, password secret.
    lag: reads of a system after a reset before its new power state shows (it is 'PoweringOn/Off' meanwhile);
    ignored: reset types accepted without effect (a guest that ignores ACPI); answers: path -> (status, bytes), sent
    as they are. Keeps every request as (method, path, body)."""

    def __init__(self, systems=None, context=None):
        self.systems = systems if systems is not None else {'1': make_system('1')}
        self.lag, self.ignored, self.answers, self.requests, self.pending = 0, set(), {}, [], {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK wait

            def do_GET(self):
                fake.handle(self, 'GET')

            def do_PATCH(self):
                fake.handle(self, 'PATCH')

            def do_POST(self):
                fake.handle(self, 'POST')

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        if context is not None:
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = '%s://127.0.0.1:%d' % ('https' if context else 'http', self.port)
        threading.Thread(target=self.server.serve_forever, kwargs={'poll_interval': 0.01}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def handle(self, request, method):
        length = int(request.headers.get('Content-Length') or 0)
        body = json.loads(request.rfile.read(length)) if length else None
        self.requests.append((method, request.path, body))
        if request.headers.get('Authorization') != 'Basic ' + base64.b64encode(b'admin:secret').decode():
            return self.send(request, 401, {'error': {'message': 'Authorization required'}})
        if request.path in self.answers:
            return self.send(request, *self.answers[request.path])
        return self.send(request, *self.route(method, request.path, body))

    def route(self, method, path, body):
        match = re.match(r'^%s/([^/]+)(/.*)?$' % SYSTEMS, path)
        if path == SYSTEMS and method == 'GET':
            return 200, {'Members': [{'@odata.id': '%s/%s' % (SYSTEMS, s)} for s in sorted(self.systems)]}
        if not match or match.group(1) not in self.systems:
            return 404, {'error': {'message': 'not found', '@Message.ExtendedInfo': [{'Message': 'No such thing'}]}}
        sid, rest = match.group(1), match.group(2) or ''
        if method == 'GET' and rest == '':
            return 200, self.read_system(sid)
        if method == 'GET' and rest == '/EthernetInterfaces':
            return 200, {'Members': [{'@odata.id': path + '/nic0'}]}
        if method == 'GET' and rest == '/EthernetInterfaces/nic0':
            return 200, {'Id': 'nic0', 'MACAddress': '52:54:00:AA:BB:0%s' % sid[-1], 'LinkStatus': 'LinkUp'}
        if method == 'PATCH' and rest == '':
            self.systems[sid]['Boot'].update(body['Boot'])
            return 204, None
        if method == 'POST' and rest == '/Actions/ComputerSystem.Reset':
            if body['ResetType'] not in self.ignored:
                self.pending[sid] = [self.lag, RESETS[body['ResetType']]]
            return 204, None
        return 405, {'error': {'message': 'method not allowed'}}

    def read_system(self, sid):
        system = self.systems[sid]
        if sid in self.pending:
            reads, power = self.pending[sid]
            if reads <= 0:
                system['PowerState'] = power
                del self.pending[sid]
            else:
                self.pending[sid][0] -= 1
                return dict(system, PowerState='Powering' + power)
        return system

    @staticmethod
    def send(request, status, body):
        data = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b''
        request.send_response(status)
        if status in (301, 302):
            request.send_header('Location', 'http://198.51.100.1/redfish/v1/Systems')
        request.send_header('Content-Type', 'application/json')
        request.send_header('Content-Length', str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def changes_sent(self):
        return [(m, p, b) for m, p, b in self.requests if m != 'GET']


@pytest.fixture(autouse=True)
def no_machine_ca_bundle(monkeypatch, tmp_path):
    """The fake BMCs are trusted through ca_path or not at all: reading the machine's CA bundle again for every
    request (about 35 ms each) would only slow the tests down."""
    monkeypatch.setenv('SSL_CERT_FILE', os.devnull)
    monkeypatch.setenv('SSL_CERT_DIR', str(tmp_path))


@pytest.fixture
def bmc():
    fake = FakeBmc()
    yield fake
    fake.close()


def converger(url, check_mode=False, password='secret', **params):
    base = dict(system_id=None, power=None, boot=None, power_timeout=5, inventory=True)
    base.update(params)
    conv = BmcConverger(RedfishClient(url, 'admin', password, **params.pop('client', {})), base, check_mode, False)
    conv.sleep = lambda _s: None
    return conv


def run(url, **params):
    return converger(url, **params).run()


POWER_CASES = [
    # power before, asked, lag, reset type sent (None: none), changes, power after
    ('Off', 'on', 0, 'On', ['powered on'], 'on'),
    ('Off', True, 0, 'On', ['powered on'], 'on'),
    ('On', 'on', 0, None, [], 'on'),
    ('On', 'off', 0, 'ForceOff', ['powered off'], 'off'),
    ('On', False, 0, 'ForceOff', ['powered off'], 'off'),
    ('Off', 'off', 0, None, [], 'off'),
    ('Off', 'graceful_off', 0, None, [], 'off'),
    ('On', 'graceful_off', 2, 'GracefulShutdown', ['shut down (graceful)'], 'off'),
    ('On', 'reset', 0, 'ForceRestart', ['reset'], 'on'),
    ('Off', 'reset', 1, 'On', ['reset'], 'on'),
    ('PoweringOn', 'on', 0, None, [], 'PoweringOn'),
    ('Off', 'on', 3, 'On', ['powered on'], 'on'),
]


@pytest.mark.parametrize('before, asked, lag, sent, changes, after', POWER_CASES)
def test_power(bmc, before, asked, lag, sent, changes, after):
    bmc.systems['1']['PowerState'], bmc.lag = before, lag
    if before == 'PoweringOn':
        bmc.pending['1'] = [1, 'On']
        after = 'on'
    result = run(bmc.url, power=asked)
    posts = [b['ResetType'] for m, p, b in bmc.changes_sent()]
    assert posts == ([sent] if sent else [])
    assert (result['changed'], result['changes'], result['system']['power']) == (bool(changes), changes, after)
    assert bmc.systems['1']['PowerState'] == after.capitalize()


@pytest.mark.parametrize('allowed, asked, power, sent', [
    (['ForceOn', 'ForceOff'], 'on', 'Off', 'ForceOn'),
    (['On', 'ForceOff', 'PowerCycle'], 'reset', 'On', 'PowerCycle'),
    (None, 'reset', 'On', 'ForceRestart'),
    (None, 'graceful_off', 'On', 'GracefulShutdown'),
])
def test_reset_type_is_the_first_the_bmc_allows(bmc, allowed, asked, power, sent):
    bmc.systems['1'] = make_system('1', power=power, resets=allowed)
    run(bmc.url, power=asked)
    assert [b for m, p, b in bmc.changes_sent()] == [{'ResetType': sent}]


def test_no_allowed_reset_type_refused_before_anything(bmc):
    bmc.systems['1'] = make_system('1', power='On', resets=['On', 'Nmi'])
    with pytest.raises(VirtualIronError) as e:
        run(bmc.url, power='off', boot={'device': 'pxe', 'once': True})
    assert str(e.value) == ('the BMC allows none of the reset types ForceOff for this system (it allows: On, Nmi). '
                            'Nothing was changed')
    assert bmc.changes_sent() == []


def test_graceful_off_that_the_os_ignores_times_out(bmc):
    bmc.systems['1']['PowerState'] = 'On'
    bmc.ignored.add('GracefulShutdown')
    conv = converger(bmc.url, power='graceful_off', power_timeout=3)
    ticks = iter(range(100))
    conv.clock = lambda: next(ticks)
    with pytest.raises(VirtualIronError) as e:
        conv.run()
    assert str(e.value) == ('system 1 did not reach power off within 3 s (power_timeout); it is on: its operating '
                            'system may ignore the shutdown request (ACPI); power=off forces it')
    assert bmc.systems['1']['PowerState'] == 'On'


BOOT_CASES = [
    # boot before (target, enabled, mode), asked, PATCH sent (None: none), changes
    (('Hdd', 'Continuous', 'Legacy'), {'device': 'pxe'},
     {'BootSourceOverrideTarget': 'Pxe', 'BootSourceOverrideEnabled': 'Once'}, ['boot device set to pxe (once)']),
    (('Pxe', 'Once', 'Legacy'), {'device': 'pxe', 'once': True}, None, []),
    (('Pxe', 'Once', 'Legacy'), {'device': 'pxe', 'once': False},
     {'BootSourceOverrideTarget': 'Pxe', 'BootSourceOverrideEnabled': 'Continuous'},
     ['boot device set to pxe (persistent)']),
    (('Pxe', 'Continuous', 'Legacy'), {'device': 'disk', 'once': False},
     {'BootSourceOverrideTarget': 'Hdd', 'BootSourceOverrideEnabled': 'Continuous'},
     ['boot device set to disk (persistent)']),
    (('Hdd', 'Continuous', 'Legacy'), {'device': 'disk', 'once': False}, None, []),
    (('Hdd', 'Continuous', 'Legacy'), {'device': 'cd', 'once': True, 'mode': 'legacy'},
     {'BootSourceOverrideTarget': 'Cd', 'BootSourceOverrideEnabled': 'Once'}, ['boot device set to cd (once)']),
    (('Pxe', 'Once', 'Legacy'), {'device': 'pxe', 'mode': 'uefi'}, {'BootSourceOverrideMode': 'UEFI'},
     ['boot mode set to uefi']),
    (('Hdd', 'Continuous', 'UEFI'), {'device': 'pxe', 'mode': 'legacy'},
     {'BootSourceOverrideTarget': 'Pxe', 'BootSourceOverrideEnabled': 'Once', 'BootSourceOverrideMode': 'Legacy'},
     ['boot device set to pxe (once), boot mode set to legacy']),
    (('Pxe', 'Once', 'Legacy'), {'device': 'none'}, {'BootSourceOverrideEnabled': 'Disabled'},
     ['boot override disabled']),
    (('Pxe', 'Disabled', 'Legacy'), {'device': 'none'}, None, []),
    (('None', 'Once', 'Legacy'), {'device': 'none'}, None, []),
]


@pytest.mark.parametrize('before, asked, patch, changes', BOOT_CASES)
def test_boot(bmc, before, asked, patch, changes):
    target, enabled, mode = before
    bmc.systems['1'] = make_system('1', target=target, enabled=enabled, mode=mode, allowed=('Pxe', 'Cd', 'Hdd', 'None'))
    result = run(bmc.url, boot=asked)
    assert bmc.changes_sent() == ([('PATCH', SYSTEMS + '/1', {'Boot': patch})] if patch else [])
    assert (result['changed'], result['changes']) == (bool(patch), changes)
    if patch:
        wanted = {'device': asked['device'], 'once': None if asked['device'] == 'none' else asked.get('once', True),
                  'mode': asked.get('mode') or {'Legacy': 'legacy', 'UEFI': 'uefi'}[mode]}
        assert result['system']['boot'] == wanted
        assert run(bmc.url, boot=asked)['changed'] is False   # idempotent against a BMC that keeps what it is told


@pytest.mark.parametrize('boot, allowed, message', [
    ({'device': 'usb'}, ['Pxe', 'Cd', 'Hdd'],
     'the BMC does not allow boot device usb (Redfish Usb) for this system; it allows: pxe, cd, disk. Nothing was '
     'changed'),
    ({'device': 'http'}, ['Pxe', 'Hdd', 'BiosSetup'],
     'the BMC does not allow boot device http (Redfish UefiHttp) for this system; it allows: pxe, disk, BiosSetup. '
     'Nothing was changed'),
    ({'device': 'pxe'}, [], 'the BMC does not allow boot device pxe (Redfish Pxe) for this system; it allows: none. '
     'Nothing was changed'),
])
def test_boot_device_the_bmc_does_not_allow_is_refused_before_anything(bmc, boot, allowed, message):
    bmc.systems['1'] = make_system('1', allowed=allowed)
    with pytest.raises(VirtualIronError) as e:
        run(bmc.url, boot=boot, power='on')
    assert str(e.value) == message
    assert bmc.changes_sent() == []
    assert bmc.systems['1']['PowerState'] == 'Off'


def test_boot_device_allowed_when_the_bmc_lists_nothing(bmc):
    bmc.systems['1'] = make_system('1', allowed=None)
    assert run(bmc.url, boot={'device': 'usb', 'once': False})['changes'] == ['boot device set to usb (persistent)']


def test_boot_mode_the_bmc_does_not_allow(bmc):
    bmc.systems['1'] = make_system('1', mode='UEFI')
    bmc.systems['1']['Boot']['BootSourceOverrideMode@Redfish.AllowableValues'] = ['UEFI']
    with pytest.raises(VirtualIronError) as e:
        run(bmc.url, boot={'device': 'pxe', 'mode': 'legacy'})
    assert str(e.value) == ('the BMC does not allow boot mode legacy (Redfish Legacy) for this system; it allows: '
                            'uefi. Nothing was changed')
    assert bmc.changes_sent() == []


def test_boot_mode_the_bmc_does_not_report(bmc):
    del bmc.systems['1']['Boot']['BootSourceOverrideMode']
    with pytest.raises(VirtualIronError) as e:
        run(bmc.url, boot={'device': 'pxe', 'mode': 'uefi'})
    assert str(e.value).startswith('the BMC does not report a boot mode for this system')
    assert bmc.changes_sent() == []


@pytest.mark.parametrize('power, boot', [('on', {'device': 'pxe'}), ('reset', None), ('graceful_off', None),
                                         (None, {'device': 'cd', 'once': False, 'mode': 'uefi'})])
def test_check_mode_changes_nothing(bmc, power, boot):
    bmc.systems['1']['PowerState'] = 'On' if power == 'graceful_off' else 'Off'
    before = copy.deepcopy(bmc.systems['1'])
    checked = run(bmc.url, check_mode=True, power=power, boot=boot)
    assert bmc.changes_sent() == [] and bmc.systems['1'] == before
    done = run(bmc.url, power=power, boot=boot)
    assert (checked['changed'], checked['changes']) == (True, done['changes'])
    assert checked['system'] == done['system']


def test_boot_before_power_and_idempotent_rerun(bmc):
    first = run(bmc.url, power='on', boot={'device': 'pxe'})
    assert [m for m, p, b in bmc.changes_sent()] == ['PATCH', 'POST']
    assert first['changes'] == ['boot device set to pxe (once)', 'powered on']
    bmc.requests[:] = []
    again = run(bmc.url, power='on', boot={'device': 'pxe'})
    assert (again['changed'], again['changes'], bmc.changes_sent()) == (False, [], [])


def test_inventory(bmc):
    bmc.systems['1'].update(Model='R650', SerialNumber='SN1', ProcessorSummary={'Count': 2, 'Model': 'Xeon'})
    system = run(bmc.url)['system']
    assert system == {
        'id': '1', 'power': 'off', 'boot': {'device': 'disk', 'once': False, 'mode': 'legacy'},
        'manufacturer': 'Sushy Emulator', 'model': 'R650', 'serial': 'SN1', 'uuid': '1',
        'processors': {'count': 2, 'model': 'Xeon'}, 'memory_bytes': 134217728,
        'nics': [{'id': 'nic0', 'mac': '52:54:00:aa:bb:01', 'link': 'LinkUp', 'speed_mbps': None, 'enabled': None}]}


def test_inventory_false_reads_no_nics(bmc):
    result = run(bmc.url, power='on', inventory=False)
    assert result['system']['nics'] is None
    assert not [p for m, p, b in bmc.requests if 'Ethernet' in p]


def test_broken_nic_listing_does_not_stop_a_power_off(bmc):
    bmc.systems['1']['PowerState'] = 'On'
    bmc.answers[SYSTEMS + '/1/EthernetInterfaces'] = (500, b'{"error": {"message": "boom"}}')
    result = run(bmc.url, power='off')
    assert (result['changes'], result['system']['nics'], bmc.systems['1']['PowerState']) == (['powered off'], None, 'Off')


@pytest.mark.parametrize('field, value, key, expected', [
    ('PowerState', 5, 'power', None),
    ('PowerState', 'Weird' * 20, 'power', ('Weird' * 20)[:40]),
    ('Manufacturer', 'x' * 1000, 'manufacturer', 'x' * 256),
    ('Manufacturer', {'a': 1}, 'manufacturer', None),
    ('MemorySummary', {'TotalSystemMemoryGiB': -1}, 'memory_bytes', None),
    ('MemorySummary', {'TotalSystemMemoryGiB': True}, 'memory_bytes', None),
    ('MemorySummary', {'TotalSystemMemoryGiB': 16}, 'memory_bytes', 17179869184),
    ('MemorySummary', 'lots', 'memory_bytes', None),
    ('ProcessorSummary', {'Count': '2'}, 'processors', {'count': None, 'model': None}),
    ('Boot', [], 'boot', {'device': None, 'once': None, 'mode': None}),
    ('EthernetInterfaces', {'@odata.id': 'http://198.51.100.1/steal'}, 'nics', None),
])
def test_untrusted_values(bmc, field, value, key, expected):
    bmc.systems['1'][field] = value
    assert run(bmc.url)['system'][key] == expected


def test_untrusted_mac(bmc):
    bmc.answers[SYSTEMS + '/1/EthernetInterfaces/nic0'] = (200, json.dumps({'MACAddress': '<script>'}).encode())
    assert run(bmc.url)['system']['nics'][0]['mac'] is None


@pytest.mark.parametrize('answer, message', [
    ((200, b'<html>login</html>'), "answered GET /redfish/v1/Systems with something that is not JSON (b'<html>login"),
    ((200, b'[1, 2]'), 'answered GET /redfish/v1/Systems with JSON that is not an object'),
    ((200, b'{"Members": [{"@odata.id": "http://198.51.100.1/redfish/v1/Systems/1"}]}'),
     'the BMC gave a link outside the Redfish service ("http://198.51.100.1/redfish/v1/Systems/1")'),
    ((200, b'{"Members": [{"@odata.id": "/redfish/v1/../../etc"}]}'), 'gave a link outside the Redfish service'),
    ((200, b'{"Members": "all"}'), 'without a list of Members'),
    ((200, b'{"Members": [' + b','.join([b'{"@odata.id": "/redfish/v1/Systems/x"}'] * 257) + b']}'),
     'the BMC lists 257 systems, more than the 256 this module reads'),
    ((200, b' ' * (1024 * 1024 + 10)), 'with more than 1024 KiB: not a Redfish answer'),
    ((500, b'{"error": {"message": "m", "@Message.ExtendedInfo": [{"Message": "Internal failure"}]}}'),
     'answered GET /redfish/v1/Systems with HTTP 500: Internal failure'),
    ((404, b'not json'), 'answered GET /redfish/v1/Systems with HTTP 404'),
    ((301, b''), 'answered GET /redfish/v1/Systems with a redirect (HTTP 301) to http://198.51.100.1/redfish/v1/Systems, '
                 'which the module does not follow'),
])
def test_bad_answers(bmc, answer, message):
    bmc.answers[SYSTEMS] = answer
    with pytest.raises(VirtualIronError) as e:
        run(bmc.url, power='on')
    assert message in str(e.value)
    assert bmc.changes_sent() == []
    assert [p for m, p, b in bmc.requests] == [SYSTEMS]   # the redirect was not followed


def test_bad_credentials(bmc):
    with pytest.raises(VirtualIronError) as e:
        run(bmc.url, password='wrong', power='on')
    assert str(e.value) == ('the BMC at %s refused the credentials of user admin (HTTP 401): check username and '
                            'password' % bmc.url)
    assert bmc.changes_sent() == []


def test_forbidden_action(bmc):
    bmc.answers[SYSTEMS + '/1/Actions/ComputerSystem.Reset'] = (403, b'')
    with pytest.raises(VirtualIronError) as e:
        run(bmc.url, power='on')
    assert str(e.value) == ('the BMC at %s does not let user admin POST /redfish/v1/Systems/1/Actions/ComputerSystem.Reset '
                            '(HTTP 403): give the user a role that may (Operator or Administrator)' % bmc.url)


def test_unreachable_port():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()   # nothing listens there now
    with pytest.raises(VirtualIronError) as e:
        run('http://127.0.0.1:%d' % port, power='off')
    assert str(e.value).startswith('the BMC at http://127.0.0.1:%d cannot be reached: ' % port)
    assert 'refused' in str(e.value)


def test_no_answer_within_the_timeout():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    sock.listen(1)   # accepts the connection, never answers
    try:
        with pytest.raises(VirtualIronError) as e:
            run('http://127.0.0.1:%d' % sock.getsockname()[1], client={'timeout': 1})
        assert 'did not answer within 1 s' in str(e.value)
    finally:
        sock.close()


@pytest.mark.parametrize('system_id, ids, message', [
    (None, ['a', 'b'], 'the BMC has 2 systems: say which one in system_id (a, b)'),
    ('c', ['a', 'b'], 'the BMC has no system c; it has: a, b'),
    (None, [], 'the BMC lists no system'),
    (None, ['n%02d' % i for i in range(25)], 'the BMC has 25 systems: say which one in system_id (%s and 5 more)'
     % ', '.join('n%02d' % i for i in range(20))),
])
def test_which_system(system_id, ids, message):
    fake = FakeBmc({s: make_system(s) for s in ids})
    try:
        with pytest.raises(VirtualIronError) as e:
            run(fake.url, system_id=system_id, power='on')
        assert str(e.value) == message
        assert fake.changes_sent() == []
    finally:
        fake.close()


def test_system_id_among_several():
    fake = FakeBmc({s: make_system(s) for s in ['a', 'b']})
    try:
        result = run(fake.url, system_id='b', power='on')
        assert (result['system']['id'], fake.systems['a']['PowerState'], fake.systems['b']['PowerState']) == \
            ('b', 'Off', 'On')
    finally:
        fake.close()


@pytest.mark.parametrize('endpoint, expected', [
    ('https://10.0.1.15', 'https://10.0.1.15'),
    ('https://bmc.example.com:8443/', 'https://bmc.example.com:8443'),
    ('http://127.0.0.1:8000', 'http://127.0.0.1:8000'),
    ('https://[fd00::5]:443', 'https://[fd00::5]:443'),
    ('10.0.1.15', 'is not a BMC address'),
    ('ftp://10.0.1.15', 'is not a BMC address'),
    ('https://', 'is not a BMC address'),
    ('https://root:calvin@10.0.1.15', 'must be only scheme://HOST[:PORT]'),
    ('https://10.0.1.15/redfish/v1', 'must be only scheme://HOST[:PORT]'),
    ('https://10.0.1.15?x=1', 'must be only scheme://HOST[:PORT]'),
    ('https://10.0.1.15:99999', 'has an invalid port'),
])
def test_endpoint(endpoint, expected):
    if expected.startswith('http'):
        assert base_url(endpoint) == expected
    else:
        with pytest.raises(VirtualIronError) as e:
            base_url(endpoint)
        assert expected in str(e.value)


@pytest.fixture(scope='module')
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, and its key."""
    if not shutil.which('openssl'):
        pytest.skip('openssl is not installed')
    where = tmp_path_factory.mktemp('tls')
    cert, key = str(where / 'cert.pem'), str(where / 'key.pem')
    subprocess.check_call(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj',
                           '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


@pytest.fixture
def tls_bmc(certificate):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    fake = FakeBmc(context=context)
    yield fake
    fake.close()


@pytest.mark.parametrize('scheme, client, outcome', [
    ('https', {}, 'TLS with the BMC at https://127.0.0.1:%d failed: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify '
                  'failed: self-signed certificate (*); give the CA that signed its certificate in ca_path, or set '
                  'validate_certs=false only for a BMC you trust on a network you control'),
    ('https', {'ca_path': 'CERT'}, None),
    ('https', {'validate_certs': False}, None),
    ('http', {}, 'cannot be reached'),   # plain HTTP to a TLS port: never a silent downgrade
])
def test_tls(tls_bmc, certificate, scheme, client, outcome):
    client = dict((k, certificate[0] if v == 'CERT' else v) for k, v in client.items())
    url = '%s://127.0.0.1:%d' % (scheme, tls_bmc.port)
    if outcome is None:
        assert run(url, client=client, power='on')['system']['power'] == 'on'
        return
    with pytest.raises(VirtualIronError) as e:
        run(url, client=client, power='on')
    # (*): where in its C source OpenSSL's Python binding failed, which changes with the Python version.
    pattern = re.escape(outcome % tls_bmc.port if '%d' in outcome else outcome).replace(r'\*', '[^)]*')
    assert re.search(pattern, str(e.value)), str(e.value)
    assert [r for r in tls_bmc.requests if r[0] != 'GET'] == []


def test_https_to_a_plain_http_bmc_fails_clearly(bmc):
    with pytest.raises(VirtualIronError) as e:
        run(bmc.url.replace('http://', 'https://'), power='on')
    assert str(e.value).startswith('TLS with the BMC at https://127.0.0.1:%d failed: [SSL: WRONG_VERSION_NUMBER]' % bmc.port)
    assert str(e.value).endswith('does it serve HTTPS on that port? (http:// in the endpoint for a BMC that only speaks '
                                 'plain HTTP)')
    assert bmc.changes_sent() == []
