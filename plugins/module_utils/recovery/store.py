# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The definition store: the definition of every server with a recovery policy, kept as a volume of a storage pool
that every host sees (shared storage), so that it can be read through any host while the server's own host is down.

Each save writes a new volume, `virtualiron-recovery.<uuid>.<generation>.json`, through libvirt (upload), and only
then deletes the older generations: a save cut short leaves a damaged newest volume, which the checksum refuses, and
the previous one, which is read instead. Writing through libvirt works with any URI, local or remote. The store is
shared storage: its records are checked (size, checksum, names) before anything acts on them."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import json
import re
import time

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    is_libvirt_error, libvirt, lookup_or_none)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.server.domain_xml import parse_server

PREFIX = 'virtualiron-recovery.'
VOLUME_NAME = re.compile(r'^virtualiron-recovery\.([0-9a-f-]{36})\.([0-9]{1,20})\.json$')
MAX_RECORD_BYTES = 1024 * 1024
FORMAT = 1
VOLUME_XML = "<volume><name>%s</name><capacity unit='bytes'>%d</capacity><target><format type='raw'/></target></volume>"


def find_pool(conn, name):
    """The store's storage pool on this host, active, or a clear error."""
    pool = lookup_or_none(conn.storagePoolLookupByName, name, libvirt.VIR_ERR_NO_STORAGE_POOL)
    if pool is None:
        raise VirtualIronError('the recovery store, storage pool %s, does not exist on host %s; define it on every '
                               'host (the same shared directory or file system), for example with storage_pool'
                               % (name, conn.getHostname()))
    if not pool.isActive():
        raise VirtualIronError('the recovery store, storage pool %s, is not active on host %s' % (name, conn.getHostname()))
    return pool


def server_record(conn, dom):
    """What the store keeps of a server defined on conn's host: its persistent definition, where it is defined,
    whether it runs (a recovery restarts only what ran) and starts with its host, and its recovery policy."""
    xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE)
    spec = parse_server(xml)
    return {'format': FORMAT, 'uuid': spec['uuid'], 'name': spec['name'], 'xml': xml,
            'host': {'uri': conn.getURI(), 'name': conn.getHostname()},
            'running': bool(dom.isActive()), 'autostart': bool(dom.autostart()), 'recovery': spec['recovery'],
            'memory': spec['max_memory'], 'vcpus': spec['vcpus'], 'saved': time.time()}


def encode(record):
    body = dict(record)
    body.pop('sha256', None)
    canonical = json.dumps(body, sort_keys=True, separators=(',', ':'))
    body['sha256'] = hashlib.sha256(canonical.encode('utf-8')).hexdigest()
    return json.dumps(body, sort_keys=True, separators=(',', ':')).encode('utf-8')


def decode(data, uuid):
    """The record in a volume's bytes, or None when it is damaged, forged for another server or too large."""
    if len(data) > MAX_RECORD_BYTES:
        return None
    try:
        record = json.loads(data.rstrip(b'\0').decode('utf-8'))
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get('format') != FORMAT or record.get('uuid') != uuid:
        return None
    if encode(record) != data.rstrip(b'\0'):
        return None
    try:
        spec = parse_server(record['xml'])
    except Exception:  # pylint: disable=broad-exception-caught  # any damage: not a record
        return None
    if spec['uuid'] != uuid or spec['name'] != record.get('name') or not isinstance(record.get('host'), dict):
        return None
    return record


def save(conn, pool_name, records):
    """Write each record as the newest generation of its server, then remove the older ones."""
    pool = find_pool(conn, pool_name)
    for record in records:
        data = encode(record)
        name = '%s%s.%d.json' % (PREFIX, record['uuid'], int(time.time() * 1e6))
        vol = pool.createXML(VOLUME_XML % (name, len(data)), 0)
        try:
            stream = conn.newStream(0)
            vol.upload(stream, 0, len(data), 0)
            while data:
                data = data[stream.send(data):]
            stream.finish()
        except Exception:
            vol.delete(0)
            raise
    volumes = _volumes(pool)
    for record in records:
        for old in volumes.get(record['uuid'], [])[1:]:
            _delete(pool, old[1])


def forget(conn, pool_name, uuid):
    """Remove every record of the server uuid; the number removed."""
    pool = find_pool(conn, pool_name)
    volumes = _volumes(pool).get(uuid, [])
    for _generation, name in volumes:
        _delete(pool, name)
    return len(volumes)


def load(conn, pool_name):
    """{uuid: newest valid record} of every server in the store."""
    pool = find_pool(conn, pool_name)
    records = {}
    for uuid, volumes in _volumes(pool).items():
        for _generation, name in volumes:
            record = decode(_download(conn, pool, name), uuid)
            if record is not None:
                records[uuid] = record
                break
    return records


def _volumes(pool):
    """{uuid: [(generation, volume name)], newest first} of the store's volumes in the pool."""
    pool.refresh(0)  # volumes other hosts wrote
    found = {}
    for name in pool.listVolumes():
        match = VOLUME_NAME.match(name)
        if match:
            found.setdefault(match.group(1), []).append((int(match.group(2)), name))
    return dict((uuid, sorted(volumes, reverse=True)) for uuid, volumes in found.items())


def _download(conn, pool, name):
    vol = pool.storageVolLookupByName(name)
    if vol.info()[1] > MAX_RECORD_BYTES:
        return b'\0' * (MAX_RECORD_BYTES + 1)  # refused by decode without reading it
    stream = conn.newStream(0)
    vol.download(stream, 0, 0, 0)
    chunks = []
    while True:
        chunk = stream.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
    stream.finish()
    return b''.join(chunks)


def _delete(pool, name):
    try:
        pool.storageVolLookupByName(name).delete(0)
    except Exception as e:  # pylint: disable=broad-exception-caught
        if not is_libvirt_error(e, libvirt.VIR_ERR_NO_STORAGE_VOL):
            raise


def keep_current(conn, doms, before=None):
    """After servers changed or moved (doms on conn's host): save their records where their recovery policies say,
    and forget a server in the store its policy before (a recovery policy, {} for none; one server) named and no
    longer does."""
    records = [server_record(conn, dom) for dom in doms]
    by_store = {}
    for record in records:
        if record['recovery'].get('store'):
            by_store.setdefault(record['recovery']['store'], []).append(record)
    for store, kept in sorted(by_store.items()):
        save(conn, store, kept)
    old = (before or {}).get('store')
    if old and len(records) == 1 and old != records[0]['recovery'].get('store'):
        forget(conn, old, records[0]['uuid'])
