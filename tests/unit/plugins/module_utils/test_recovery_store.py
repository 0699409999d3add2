# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The definition store's records: what is read back, and what is refused (the store is shared storage)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.recovery.store import MAX_RECORD_BYTES, VOLUME_NAME, decode, encode

UUID = '4dea22b3-1d52-d8f3-2516-782e98ab3fa0'
XML = ("<domain type='kvm'><name>web1</name><uuid>%s</uuid><memory>1048576</memory><vcpu>1</vcpu>"
       "<os><type arch='x86_64'>hvm</type></os></domain>" % UUID)
RECORD = {'format': 1, 'uuid': UUID, 'name': 'web1', 'xml': XML, 'host': {'uri': 'qemu:///system', 'name': 'lab1'},
          'autostart': True, 'recovery': {'protected': True, 'priority': 5, 'store': 'shared'},
          'memory': 1024 ** 3, 'vcpus': 1, 'saved': 1.5}


def test_round_trip():
    assert decode(encode(RECORD), UUID) == dict(RECORD, sha256=json.loads(encode(RECORD))['sha256'])


def tampered(**changes):
    body = json.loads(encode(RECORD))
    body.update(changes)
    return json.dumps(body, sort_keys=True, separators=(',', ':')).encode()


@pytest.mark.parametrize('data', [
    b'',
    b'{"format": 1',  # cut short
    encode(RECORD)[:-5],
    tampered(name='evil'),  # checksum no longer matches
    encode(dict(RECORD, format=2)),
    encode(dict(RECORD, uuid='00000000-0000-0000-0000-000000000000')),  # another server's record under this name
    encode(dict(RECORD, name='other')),  # the XML names web1
    encode(dict(RECORD, xml='<domain><name>web1</name><uuid>%s</uuid><!DOCTYPE x></domain>' % UUID)),
    encode(dict(RECORD, host='lab1')),
    b' ' * (MAX_RECORD_BYTES + 1),
])
def test_refused(data):
    assert decode(data, UUID) is None


@pytest.mark.parametrize('name, matches', [
    ('virtualiron-recovery.%s.1700000000000000.json' % UUID, True),
    ('virtualiron-recovery.%s.json' % UUID, False),
    ('virtualiron-recovery.../../etc.1.json', False),
    ('disk.raw', False),
])
def test_volume_names(name, matches):
    assert bool(VOLUME_NAME.match(name)) is matches
