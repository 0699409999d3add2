# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""virtual_server_info.gather against libvirt's in-memory test hypervisor (a running domain 'test')."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.virtualiron.infra.plugins.modules.virtual_server_info import gather

GONE = "<domain type='test'><name>gone</name><memory>65536</memory><os><type>hvm</type></os></domain>"


class ListsThenLoses(object):
    """A connection on which server 'gone' is removed (migrated away, say) right after the listing."""

    def __init__(self, conn):
        self._conn = conn

    def __getattr__(self, name):
        return getattr(self._conn, name)

    def listAllDomains(self, flags=0):
        domains = self._conn.listAllDomains(flags)
        gone = self._conn.lookupByName('gone')
        gone.destroy()
        gone.undefine()
        return domains


def test_a_server_that_leaves_while_listing_is_left_out(conn):
    conn.defineXML(GONE).create()
    servers, missing = gather(ListsThenLoses(conn), None, 0)
    assert ([s['name'] for s in servers], missing) == (['test'], [])
    assert servers[0]['state'] == 'running'


def test_named_servers_and_missing_ones(conn):
    servers, missing = gather(conn, ['test', 'nosuch'], 0)
    assert ([s['name'] for s in servers], missing) == (['test'], ['nosuch'])


def test_a_definition_that_cannot_be_read_does_not_hide_the_others(conn, injected):
    servers, missing = gather(conn, None, 0)
    assert ([s['name'] for s in servers], missing) == (['injected', 'test'], [])
    assert servers[1]['vcpus'] == 2   # 'test' as always
    assert (servers[0]['state'], servers[0]['uuid']) == ('stopped', injected.UUIDString())
    assert servers[0]['error'].startswith('libvirt returned XML that cannot be read')
