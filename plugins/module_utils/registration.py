# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Node registrations: what bare-metal discovery writes about each node it finds, one JSON file per node.

REGISTRATION_SCHEMA is the format's one definition: docs/registration.schema.json is this dict written
out (a unit test keeps them equal), and `validate_registration` checks a document against it, with
the small part of JSON Schema the schema uses, so no schema library is needed where plugins run.
docs/registrations.md describes the format for people.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re

from ansible_collections.virtualiron.infra.plugins.module_utils.libvirt_connection import VirtualIronError

REGISTRATION_VERSION = 1
REGISTRATION_SUFFIX = '.json'
_NAME = {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'}
_MAC = {'type': 'string', 'pattern': '^([0-9a-f]{2}:){5}[0-9a-f]{2}$'}
_TEXT = {'type': 'string'}
_COUNT = {'type': 'integer', 'minimum': 0}

REGISTRATION_SCHEMA = {
    '$schema': 'https://json-schema.org/draft/2020-12/schema',
    '$id': 'https://virtualiron.example/schemas/registration-1.json',
    'title': 'virtualiron.infra node registration',
    'description': 'One bare-metal node found by discovery; one file per node in the registrations directory.',
    'type': 'object',
    'required': ['version', 'name', 'state'],
    'additionalProperties': False,
    'properties': {
        'version': {'type': 'integer', 'enum': [REGISTRATION_VERSION], 'description': 'Format version.'},
        'name': dict(_NAME, description='Node name; the inventory host name. Also the file name, with .json.'),
        'state': {'type': 'string', 'enum': ['discovered', 'provisioning', 'provisioned', 'failed'],
                  'description': 'Where the node is in bare-metal provisioning.'},
        'uri': {'type': 'string', 'pattern': '^[a-z0-9+]+://',
                'description': 'libvirt URI of the node once it runs a hypervisor; the inventory then queries it.'},
        'address': dict(_TEXT, description='Management IP address of the node.'),
        'discovered_at': dict(_TEXT, description='When discovery registered the node (ISO 8601, UTC).'),
        'updated_at': dict(_TEXT, description='When the registration last changed (ISO 8601, UTC).'),
        'hardware': {
            'type': 'object', 'additionalProperties': False,
            'description': 'What the discovery ramdisk saw.',
            'properties': {
                'cpus': dict(_COUNT, description='Logical CPUs.'),
                'memory_bytes': dict(_COUNT, description='Memory.'),
                'system': {'type': 'object', 'additionalProperties': False,
                           'description': 'DMI data; leave out what cannot be read.',
                           'properties': {'manufacturer': _TEXT, 'product': _TEXT, 'serial': _TEXT, 'uuid': _TEXT}},
                'nics': {'type': 'array', 'items': {
                    'type': 'object', 'required': ['mac'], 'additionalProperties': False,
                    'properties': {'name': _TEXT, 'mac': _MAC, 'driver': _TEXT, 'speed_mbps': _COUNT}}},
                'disks': {'type': 'array', 'items': {
                    'type': 'object', 'required': ['name', 'size_bytes'], 'additionalProperties': False,
                    'properties': {'name': _TEXT, 'size_bytes': _COUNT, 'model': _TEXT, 'serial': _TEXT}}},
            },
        },
        'bmc': {'type': 'object', 'required': ['type', 'address'], 'additionalProperties': False,
                'description': 'How to reach the node\'s BMC. Never credentials: those stay in the vault.',
                'properties': {'type': {'type': 'string', 'enum': ['redfish', 'ipmi']},
                               'address': _TEXT, 'port': _COUNT,
                               'system_id': dict(_TEXT, description='Redfish system id.')}},
        'labels': {'type': 'object', 'additionalProperties': _TEXT,
                   'description': 'Free key/value labels (rack, row, owner...) for grouping.'},
    },
}

_TYPES = {'object': dict, 'array': list, 'string': str, 'integer': int, 'boolean': bool}


def schema_errors(value, schema, where='registration'):
    """The ways value breaks schema (the JSON Schema subset REGISTRATION_SCHEMA uses), as messages."""
    wanted = schema.get('type')
    if wanted and (not isinstance(value, _TYPES[wanted]) or (wanted == 'integer' and isinstance(value, bool))):
        return ['%s must be of type %s' % (where, wanted)]
    errors = []
    if 'enum' in schema and value not in schema['enum']:
        errors.append('%s must be one of %s, got %r' % (where, ', '.join(map(str, schema['enum'])), value))
    if 'pattern' in schema and not re.search(schema['pattern'], value):
        errors.append('%s: %r does not match %s' % (where, value, schema['pattern']))
    if 'minimum' in schema and value < schema['minimum']:
        errors.append('%s must be at least %s' % (where, schema['minimum']))
    if wanted == 'array':
        for index, item in enumerate(value):
            errors.extend(schema_errors(item, schema.get('items', {}), '%s[%d]' % (where, index)))
    if wanted == 'object':
        errors.extend(_object_errors(value, schema, where))
    return errors


def _object_errors(value, schema, where):
    errors = ['%s.%s is required' % (where, key) for key in schema.get('required', []) if key not in value]
    properties, extra = schema.get('properties', {}), schema.get('additionalProperties', True)
    for key in sorted(value):
        if key in properties:
            errors.extend(schema_errors(value[key], properties[key], '%s.%s' % (where, key)))
        elif extra is False:
            errors.append('%s.%s is not a known field' % (where, key))
        elif isinstance(extra, dict):
            errors.extend(schema_errors(value[key], extra, '%s.%s' % (where, key)))
    return errors


def validate_registration(document):
    """Return the document if it is a valid registration; raise VirtualIronError listing what is wrong."""
    errors = schema_errors(document, REGISTRATION_SCHEMA)
    if errors:
        raise VirtualIronError('invalid registration: %s' % '; '.join(errors))
    return document


def read_registrations(directory):
    """Every *.json registration in directory, sorted by file name -> (registrations, errors).

    A file that is not valid is reported in errors (file -> message) rather than read; other
    names (a writer's temporary file, say) are ignored.
    """
    if not os.path.isdir(directory):
        raise VirtualIronError('registrations directory %s does not exist' % directory)
    registrations, errors = [], {}
    for entry in sorted(os.listdir(directory)):
        if not entry.endswith(REGISTRATION_SUFFIX):
            continue
        path = os.path.join(directory, entry)
        try:
            with open(path) as handle:
                registrations.append(validate_registration(json.load(handle)))
        except (OSError, ValueError, VirtualIronError) as e:
            errors[path] = str(e)
    return registrations, errors
