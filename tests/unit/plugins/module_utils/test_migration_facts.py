# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""migration.facts: what a move reads of both hosts (libvirt's test driver, or a host's memory figures)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.virtualiron.infra.plugins.module_utils.migration.facts import (
    gather_backing_facts, node_memory)

VOLUME = ("<volume type='file'><name>%s</name><capacity unit='bytes'>5368709120</capacity>"
          "<target><format type='qcow2'/></target><backingStore><path>%s</path></backingStore></volume>")


def disk(path, fmt):
    return {'path': path, 'format': fmt, 'cache': 'none', 'device': 'disk', 'slice': None}


def test_only_a_stated_qcow2_disk_has_a_backing_file(conn):
    """libvirt probes a raw disk's header, which its guest writes: never asked about on the destination."""
    pool = conn.storagePoolLookupByName('default-pool')
    pool.createXML(VOLUME % ('guest.raw', '/etc/shadow'), 0)
    pool.createXML(VOLUME % ('overlay.qcow2', '/default-pool/base.raw'), 0)
    server = {'spec': {'disks': [disk('/default-pool/guest.raw', 'raw'), disk('/default-pool/guest.raw', None),
                                 disk('/default-pool/overlay.qcow2', 'qcow2')]}}
    assert gather_backing_facts(conn, conn, server) == {
        '/default-pool/overlay.qcow2': {'path': '/default-pool/base.raw', 'on_destination': False}}


class Node(object):
    """A host whose node memory statistics (KiB) are these."""

    def __init__(self, stats):
        self.stats = stats

    def getMemoryStats(self, _cells):
        return self.stats


def test_available_memory_counts_the_page_cache():
    memory = node_memory(Node({'total': 4096, 'free': 1024, 'buffers': 256, 'cached': 512}))
    assert memory['total_bytes'] == 4096 * 1024
    assert memory['available_bytes'] == (1024 + 256 + 512) * 1024
