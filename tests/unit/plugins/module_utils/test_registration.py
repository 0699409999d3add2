# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Node registrations: the schema, its published copy, validation and reading a directory."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import json
import os

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.libvirt_connection import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.registration import (
    REGISTRATION_SCHEMA, read_registrations, schema_errors, validate_registration)

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


def test_smallest_registration_is_valid():
    validate_registration({'version': 1, 'name': 'node1', 'state': 'discovered'})


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


def test_schema_errors_lists_every_problem():
    errors = schema_errors({'name': 'a b', 'extra': 1}, REGISTRATION_SCHEMA)
    assert len(errors) == 4  # version and state missing, name pattern, unknown field


def _write(directory, name, content):
    directory.joinpath(name).write_text(content if isinstance(content, str) else json.dumps(content))


def test_read_registrations(tmp_path, example):
    _write(tmp_path, 'b-node.json', example)
    _write(tmp_path, 'a-node.json', {'version': 1, 'name': 'a-node', 'state': 'discovered'})
    _write(tmp_path, 'broken.json', '{"version": 1,')
    _write(tmp_path, 'invalid.json', {'version': 1, 'name': 'x'})
    _write(tmp_path, 'c-node.json.tmp', '{')  # a writer's temporary file: not read
    registrations, errors = read_registrations(str(tmp_path))
    assert [r['name'] for r in registrations] == ['a-node', example['name']]
    assert sorted(os.path.basename(p) for p in errors) == ['broken.json', 'invalid.json']
    assert 'registration.state is required' in errors[str(tmp_path / 'invalid.json')]


def test_read_registrations_of_a_missing_directory(tmp_path):
    with pytest.raises(VirtualIronError, match='registrations directory .* does not exist'):
        read_registrations(str(tmp_path / 'nothing'))
