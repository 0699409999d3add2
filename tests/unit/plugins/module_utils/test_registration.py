# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Node registrations: the schema, its published copy, validation and reading a directory."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import json
import os
import threading

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.host.registration import (
    MAX_REGISTRATION_BYTES, REGISTRATION_SCHEMA, read_registrations, schema_errors, validate_registration)

DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', 'docs')


@pytest.fixture
def example():
    with open(os.path.join(DOCS, 'registration.example.json')) as f:
        return json.load(f)


def test_published_schema_is_the_one_the_code_checks():
    with open(os.path.join(DOCS, 'registration.schema.json')) as f:
        assert json.load(f) == REGISTRATION_SCHEMA


def test_documented_example_is_valid(example):
    assert validate_registration(example) is example


def test_smallest_registration_is_read(tmp_path):
    smallest = {'version': 1, 'name': 'node1', 'state': 'discovered'}
    _write(tmp_path, 'node1.json', smallest)
    assert read_registrations(str(tmp_path)) == ([smallest], {})


def _broken(example, change):
    document = copy.deepcopy(example)
    change(document)
    return document


@pytest.mark.parametrize('change, message', [
    (lambda d: d.pop('name'), 'registration.name is required'),
    (lambda d: d.update(version=2), 'registration.version must be one of 1, got 2'),
    (lambda d: d.update(version=True), 'registration.version must be of type integer'),
    (lambda d: d.update(name='../etc'), "registration.name: '../etc' does not match"),
    (lambda d: d.update(state='lost'), 'registration.state must be one of discovered, provisioning'),
    (lambda d: d.update(uri='10.0.0.1'), "registration.uri: '10.0.0.1' does not match"),
    (lambda d: d.update(password='x'), 'registration.password is not a known field'),
    (lambda d: d['hardware'].update(cpus=-1), 'registration.hardware.cpus must be at least 0'),
    (lambda d: d['hardware']['nics'][1].update(mac='52-54-00-A1-B2-C4'), r'registration.hardware.nics\[1\].mac'),
    (lambda d: d['hardware']['disks'][0].pop('size_bytes'), r'registration.hardware.disks\[0\].size_bytes is required'),
    (lambda d: d['bmc'].update(type='ilo'), 'registration.bmc.type must be one of redfish, ipmi'),
    (lambda d: d['labels'].update(rack=12), 'registration.labels.rack must be of type string'),
    (lambda d: d.update(hardware=[]), 'registration.hardware must be of type object'),
])
def test_invalid_registrations_are_refused_saying_why(example, change, message):
    with pytest.raises(VirtualIronError, match=message):
        validate_registration(_broken(example, change))


@pytest.mark.parametrize('uri', [
    'qemu+ssh://root@10.0.0.15/system', 'qemu+tls://kvm1.example.com:16514/system?mode=direct', 'xen+ssh://h/',
    'qemu+libssh2://h/system?proxy=native', 'qemu://kvm1/system'])
def test_registration_uris_accepted(example, uri):
    assert validate_registration(dict(example, uri=uri))['uri'] == uri


# Registrations are written by the machines being discovered: their URI never chooses a program to run,
# a local socket or file, or turns off host checks (issue 10, case 1).
@pytest.mark.parametrize('uri, message', [
    ('qemu+ext:///system?command=/tmp/x.sh', 'registration.uri: .* does not match'),
    ('qemu+ext://h/system?command=/tmp/x.sh', 'does not match'),
    ('qemu+ssh://h/system?command=/tmp/x.sh&no_verify=1', 'parameter command=/tmp/x.sh is not accepted from data'),
    ('qemu+ssh://h/system?no_verify=1', 'parameter no_verify=1 is not accepted'),
    ('qemu+libssh2://h/system?known_hosts_verify=ignore', 'known_hosts_verify=ignore is not accepted'),
    ('qemu+ssh://h/system?keyfile=/root/.ssh/id_rsa', 'keyfile=/root/.ssh/id_rsa is not accepted'),
    ('qemu+tls://h/system?pkipath=/tmp/pki', 'pkipath=/tmp/pki is not accepted'),
    ('qemu+ssh://h/system?socket=/run/x.sock', 'socket=/run/x.sock is not accepted'),
    ('qemu+ssh://h/system?netcat=/tmp/nc', 'netcat=/tmp/nc is not accepted'),
    ('qemu+unix:///system', 'does not match'),
    ('qemu:///system', 'does not match'),
    ('test:///default', 'does not match'),
    ('lxc+ssh://h/', 'does not match'),
    ('qemu+ssh://-oProxyCommand=x/system', 'registration.uri host'),
    ('qemu+ssh://user:secret@h/system', 'no password'),
    ('qemu+tcp://h/session', 'the path must be one of /system'),
    ('qemu+ssh://h/system#x', 'the path must be'),
    ('qemu+ssh://h/system?mode=direct\n', 'registration.uri'),
    ('qemu+ssh://h/system?mode=' + 'a' * 255, 'registration.uri must be at most 255 characters'),
])
def test_registration_uris_refused(example, uri, message):
    with pytest.raises(VirtualIronError, match=message):
        validate_registration(dict(example, uri=uri))


@pytest.mark.parametrize('change, message', [
    (lambda d: d.update(address='kvm1'), r"registration.address: 'kvm1' does not match"),
    (lambda d: d.update(address='10.0.0.256'), "registration.address: '10.0.0.256' is not an IP address"),
    (lambda d: d.update(address='224.0.0.1'), 'not a unicast address'),
    (lambda d: d.update(address='1' * 46), 'registration.address must be at most 45 characters'),
    (lambda d: d['bmc'].update(address="bmc'; reboot"), 'registration.bmc.address: .* does not match'),
    (lambda d: d['bmc'].update(address='-bmc'), "registration.bmc.address: '-bmc' is neither an IP address nor"),
    (lambda d: d['bmc'].update(address='ff02::1'), 'registration.bmc.address: .* not a unicast address'),
    (lambda d: d['bmc'].update(port=0), 'registration.bmc.port must be at least 1'),
    (lambda d: d['bmc'].update(port=65536), 'registration.bmc.port must be at most 65535'),
    (lambda d: d.update(name='node1\n'), r"registration.name: 'node1\\n' does not match"),
    (lambda d: d['hardware']['system'].update(product='x' * 256), 'product must be at most 255 characters'),
    (lambda d: d['hardware']['system'].update(product='R650\x1b[2J'), 'product: .* does not match'),
    (lambda d: d['labels'].update({'{{ lookup("pipe", "id") }}': 'x'}), 'registration.labels key .* does not match'),
    (lambda d: d['labels'].update(rack='r1\nrow: b'), 'registration.labels.rack: .* does not match'),
])
def test_addresses_and_text_are_bounded(example, change, message):
    with pytest.raises(VirtualIronError, match=message):
        validate_registration(_broken(example, change))


def test_templates_in_text_are_data(example):
    """Text may hold anything printable, "{{" included: the inventory marks it unsafe (see the plugin)."""
    registration = validate_registration(_broken(example, lambda d: d['labels'].update(rack="{{ lookup('pipe', 'id') }}")))
    assert registration['labels']['rack'] == "{{ lookup('pipe', 'id') }}"


def test_schema_errors_lists_every_problem():
    errors = schema_errors({'name': 'a b', 'extra': 1}, REGISTRATION_SCHEMA)
    assert errors == ['registration.version is required', 'registration.state is required',
                      'registration.extra is not a known field',
                      "registration.name: 'a b' does not match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"]


def _write(directory, name, content):
    directory.joinpath(name).write_text(content if isinstance(content, str) else json.dumps(content))


def test_read_registrations(tmp_path, example):
    _write(tmp_path, example['name'] + '.json', example)
    _write(tmp_path, 'a-node.json', {'version': 1, 'name': 'a-node', 'state': 'discovered'})
    _write(tmp_path, 'broken.json', '{"version": 1,')
    _write(tmp_path, 'invalid.json', {'version': 1, 'name': 'x'})
    _write(tmp_path, 'c-node.json.tmp', '{')  # a writer's temporary file: not read
    registrations, errors = read_registrations(str(tmp_path))
    assert [r['name'] for r in registrations] == ['a-node', example['name']]
    assert sorted(os.path.basename(p) for p in errors) == ['broken.json', 'invalid.json']
    assert 'registration.state is required' in errors[str(tmp_path / 'invalid.json')]


def _fifo(path):
    os.mkfifo(str(path))


def _huge(path):
    content = json.dumps({'version': 1, 'name': 'bad', 'state': 'discovered'})
    path.write_text(content + ' ' * (MAX_REGISTRATION_BYTES + 1 - len(content)))


def _elsewhere(path):
    target = path.parent.parent / 'elsewhere.json'
    target.write_text(json.dumps({'version': 1, 'name': 'bad', 'state': 'discovered'}))
    path.symlink_to(target)


# One bad file never stops, hangs or exhausts the reader (issue 10, case 9): it is reported, the others read.
@pytest.mark.parametrize('make, message', [
    (_fifo, 'not a regular file'),
    (lambda p: p.symlink_to('/dev/zero'), 'a symbolic link, not a regular file'),
    (_elsewhere, 'a symbolic link, not a regular file'),
    (lambda p: p.mkdir(), 'not a regular file'),
    (_huge, 'larger than 1048576 bytes'),
    (lambda p: p.write_text('[' * 100000), 'not JSON'),
    (lambda p: p.write_bytes(b'{"name": "\xff"}'), 'not JSON'),
    (lambda p: p.write_text(json.dumps({'version': 1, 'name': 'good', 'state': 'failed'})),
     'it registers node good, which belongs in good.json'),
])
def test_read_registrations_reports_a_bad_file_and_reads_the_others(tmp_path, make, message):
    directory = tmp_path / 'registrations'
    directory.mkdir()
    _write(directory, 'good.json', {'version': 1, 'name': 'good', 'state': 'discovered'})
    make(directory / 'bad.json')
    result = []
    reader = threading.Thread(target=lambda: result.append(read_registrations(str(directory))), daemon=True)
    reader.start()
    reader.join(10)
    assert result, 'read_registrations hangs'
    registrations, errors = result[0]
    assert [r['name'] for r in registrations] == ['good']
    assert list(errors) == [str(directory / 'bad.json')]
    assert message in errors[str(directory / 'bad.json')]


def test_read_registrations_of_a_missing_directory(tmp_path):
    with pytest.raises(VirtualIronError, match='registrations directory .* does not exist'):
        read_registrations(str(tmp_path / 'nothing'))
