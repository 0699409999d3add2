# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Node registrations: what bare-metal discovery writes about each node it finds, one JSON file per node.

REGISTRATION_SCHEMA is the format's one definition: docs/registration.schema.json is this dict written
out (a unit test keeps them equal), and `validate_registration` checks a document against it, with
the small part of JSON Schema the schema uses, so no schema library is needed where plugins run.
docs/registrations.md describes the format for people.

Registrations are written by the machines being discovered: they are data from outside. Beyond the
schema, their URI and addresses pass the checks of validation.py, and a file is read only if it is a
regular file of bounded size named after its node, so that one bad file can neither run anything,
hang or exhaust the reader, nor stand for another node.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import json
import os
import re
import stat

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.common.validation import (
    DATA_URI_DRIVERS, DATA_URI_TRANSPORTS, check_data_uri, check_host_address, check_ip_address)

REGISTRATION_VERSION = 1
REGISTRATION_SUFFIX = '.json'
MAX_REGISTRATION_BYTES = 1024 * 1024
_NAME = {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'}
_MAC = {'type': 'string', 'pattern': '^([0-9a-f]{2}:){5}[0-9a-f]{2}$'}
_TEXT = {'type': 'string', 'maxLength': 255, 'pattern': '^[^\\x00-\\x1f\\x7f]*$'}
_COUNT = {'type': 'integer', 'minimum': 0}
# The URIs check_data_uri may accept; it decides (the allow-list of parameters, the host name).
_URI_PATTERN = '^(%s)(\\+(%s))?://[^/?#]+/' % (
    '|'.join(sorted(DATA_URI_DRIVERS)), '|'.join(sorted(t for t in DATA_URI_TRANSPORTS if t)))

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
        'uri': {'type': 'string', 'maxLength': 255, 'pattern': _URI_PATTERN,
                'description': 'libvirt URI of the node once it runs a hypervisor; the inventory then queries it. '
                               'A remote QEMU or Xen host over SSH, TLS or TCP, with no parameters but mode '
                               'and proxy (see docs/registrations.md).'},
        'address': {'type': 'string', 'maxLength': 45, 'pattern': '^[0-9A-Fa-f.:]+$',
                    'description': 'Management IP address of the node.'},
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
                               'address': {'type': 'string', 'maxLength': 253, 'pattern': '^[A-Za-z0-9.:-]+$',
                                           'description': 'Host name or IP address.'},
                               'port': {'type': 'integer', 'minimum': 1, 'maximum': 65535},
                               'system_id': dict(_TEXT, description='Redfish system id.')}},
        'labels': {'type': 'object', 'additionalProperties': _TEXT, 'propertyNames': _NAME,
                   'description': 'Free key/value labels (rack, row, owner...) for grouping.'},
    },
}

_TYPES = {'object': dict, 'array': list, 'string': str, 'integer': int, 'boolean': bool}

# What the schema's patterns only approximate, checked as every value from outside is (validation.py).
_CHECKS = ((('uri',), check_data_uri), (('address',), check_ip_address), (('bmc', 'address'), check_host_address))


def schema_errors(value, schema, where='registration'):
    """The ways value breaks schema (the JSON Schema subset REGISTRATION_SCHEMA uses), as messages."""
    wanted = schema.get('type')
    if wanted and (not isinstance(value, _TYPES[wanted]) or (wanted == 'integer' and isinstance(value, bool))):
        return ['%s must be of type %s' % (where, wanted)]
    errors = []
    if 'enum' in schema and value not in schema['enum']:
        errors.append('%s must be one of %s, got %r' % (where, ', '.join(map(str, schema['enum'])), value))
    if 'maxLength' in schema and len(value) > schema['maxLength']:
        errors.append('%s must be at most %d characters long' % (where, schema['maxLength']))
    elif 'pattern' in schema and not _matches(schema['pattern'], value):
        errors.append('%s: %r does not match %s' % (where, value, schema['pattern']))
    if 'minimum' in schema and value < schema['minimum']:
        errors.append('%s must be at least %s' % (where, schema['minimum']))
    if 'maximum' in schema and value > schema['maximum']:
        errors.append('%s must be at most %s' % (where, schema['maximum']))
    if wanted == 'array':
        for index, item in enumerate(value):
            errors.extend(schema_errors(item, schema.get('items', {}), '%s[%d]' % (where, index)))
    if wanted == 'object':
        errors.extend(_object_errors(value, schema, where))
    return errors


def _matches(pattern, text):
    """re.search with JSON Schema's "$": the very end of the text, not also before a final newline."""
    found = re.search(pattern, text)
    return found is not None and not (pattern.endswith('$') and found.end() != len(text))


def _object_errors(value, schema, where):
    errors = ['%s.%s is required' % (where, key) for key in schema.get('required', []) if key not in value]
    properties, extra = schema.get('properties', {}), schema.get('additionalProperties', True)
    for key in sorted(value):
        errors.extend('%s key %s' % (where, e) for e in schema_errors(key, schema.get('propertyNames', {}), repr(key)))
        if key in properties:
            errors.extend(schema_errors(value[key], properties[key], '%s.%s' % (where, key)))
        elif extra is False:
            errors.append('%s.%s is not a known field' % (where, key))
        elif isinstance(extra, dict):
            errors.extend(schema_errors(value[key], extra, '%s.%s' % (where, key)))
    return errors


def _check_errors(document):
    errors = []
    for path, check in _CHECKS:
        value = document
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:
            try:
                check(value, 'registration.' + '.'.join(path))
            except VirtualIronError as e:
                errors.append(str(e))
    return errors


def validate_registration(document):
    """Return the document if it is a valid registration; raise VirtualIronError listing what is wrong."""
    errors = schema_errors(document, REGISTRATION_SCHEMA) or _check_errors(document)
    if errors:
        raise VirtualIronError('invalid registration: %s' % '; '.join(errors))
    return document


def read_registrations(directory):
    """Every *.json registration in directory, sorted by file name -> (registrations, errors).

    A file that is not a valid registration (see read_registration) is reported in errors (file -> message)
    rather than read; other names (a writer's temporary file, say) are ignored.
    """
    if not os.path.isdir(directory):
        raise VirtualIronError('registrations directory %s does not exist' % directory)
    registrations, errors = [], {}
    for entry in sorted(os.listdir(directory)):
        if not entry.endswith(REGISTRATION_SUFFIX):
            continue
        path = os.path.join(directory, entry)
        try:
            registrations.append(read_registration(path))
        except VirtualIronError as e:
            errors[path] = str(e)
    return registrations, errors


def read_registration(path):
    """The registration in the file at path: a regular file (not a link) of at most MAX_REGISTRATION_BYTES,
    named <name>.json after the node it registers. Errors do not repeat the path."""
    try:
        document = json.loads(_read_regular_file(path).decode('utf-8'))
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError; RecursionError: deep nesting
        raise VirtualIronError('not JSON: %s' % e)
    validate_registration(document)
    if document['name'] + REGISTRATION_SUFFIX != os.path.basename(path):
        raise VirtualIronError('it registers node %s, which belongs in %s%s' % (
            document['name'], document['name'], REGISTRATION_SUFFIX))
    return document


def _read_regular_file(path):
    """The bytes of a regular file, opened without following a link or waiting for a writer, so that a
    FIFO or a link to /dev/zero can neither hang nor exhaust the reader."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        raise VirtualIronError('a symbolic link, not a regular file' if e.errno == errno.ELOOP else e.strerror)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise VirtualIronError('not a regular file')
    with os.fdopen(fd, 'rb') as handle:
        data = handle.read(MAX_REGISTRATION_BYTES + 1)
    if len(data) > MAX_REGISTRATION_BYTES:
        raise VirtualIronError('larger than %d bytes' % MAX_REGISTRATION_BYTES)
    return data
