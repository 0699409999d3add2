# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""open_connection: libvirt's own connect, bounded by connect_timeout (libvirt has no timeout of its own)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import socket
import threading

import libvirt
import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.common import connection as libvirt_connection
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    VirtualIronError, open_connection, server_definitions)


@pytest.fixture
def silent_host():
    """A libvirt URI whose port takes TCP connections and never answers (a hung libvirtd), on loopback."""
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(8)
    taken = []

    def take():
        while True:
            try:
                taken.append(server.accept()[0])
            except OSError:
                return
    threading.Thread(target=take, daemon=True).start()
    yield 'qemu+tcp://127.0.0.1:%d/system' % server.getsockname()[1]
    server.close()
    for peer in taken:   # the abandoned libvirt.open then fails and its thread ends
        peer.close()


def test_a_host_that_never_answers_fails_after_the_timeout(silent_host):
    with pytest.raises(VirtualIronError) as caught:
        open_connection(silent_host, timeout=1)
    assert str(caught.value) == ('cannot connect to the hypervisor host at %s: no answer within 1 s (connect_timeout)'
                                 % silent_host)


def test_libvirts_own_refusal_is_told():
    closed = socket.socket()
    closed.bind(('127.0.0.1', 0))
    port = closed.getsockname()[1]
    closed.close()   # nothing listens there now
    with pytest.raises(VirtualIronError) as caught:
        open_connection('qemu+tcp://127.0.0.1:%d/system' % port, timeout=5)
    assert 'Connection refused' in str(caught.value)


@pytest.mark.parametrize('timeout', [0, 5])
def test_a_host_that_answers(timeout):
    conn = open_connection('test:///default', timeout=timeout)
    try:
        assert conn.getType() == 'TEST'
    finally:
        conn.close()


def test_a_connection_made_after_giving_up_is_closed(monkeypatch):
    release, closed = threading.Event(), threading.Event()

    class Late(object):
        def close(self):
            closed.set()

    def slow_open(_uri):
        release.wait(10)
        return Late()
    monkeypatch.setattr(libvirt_connection.libvirt, 'open', slow_open)
    with pytest.raises(VirtualIronError):
        open_connection('qemu+tcp://kvm1.example.com/system', timeout=0.1)
    release.set()
    assert closed.wait(10)


def libvirt_error(code):
    error = libvirt.libvirtError('error %d' % code)
    error.err = (code, 0, 'error %d' % code, 0, '', None, None, 0, 0)
    return error


class ListedServer(object):
    """A listed domain; error: what it raises when asked about itself (removed or migrated away meanwhile)."""

    def __init__(self, name, running, error=None):
        self.name, self.running, self.error = name, running, error

    def isActive(self):
        if self.error is not None:
            raise self.error
        return self.running

    def XMLDesc(self, flags):
        return "<domain flags='%d'/>" % flags


class ListingHost(object):
    def __init__(self, *domains):
        self.domains = domains

    def listAllDomains(self, flags):
        return list(self.domains)


def test_server_definitions_saved_and_live_and_without_a_server_gone_meanwhile():
    host = ListingHost(ListedServer('a', False), ListedServer('gone', True, libvirt_error(libvirt.VIR_ERR_NO_DOMAIN)),
                       ListedServer('b', True))
    found = [(dom.name, running, xmls) for dom, running, xmls in server_definitions(host)]
    assert found == [('a', False, ["<domain flags='%d'/>" % libvirt.VIR_DOMAIN_XML_INACTIVE]),
                     ('b', True, ["<domain flags='%d'/>" % libvirt.VIR_DOMAIN_XML_INACTIVE, "<domain flags='0'/>"])]


def test_server_definitions_pass_on_other_errors():
    host = ListingHost(ListedServer('a', True, libvirt_error(libvirt.VIR_ERR_INTERNAL_ERROR)))
    with pytest.raises(libvirt.libvirtError, match='error %d' % libvirt.VIR_ERR_INTERNAL_ERROR):
        list(server_definitions(host))


def _no_such_server(conn):
    return conn.lookupByName('no-such-server')


def _refused_by_us(conn):
    raise VirtualIronError('refused by us')


def _bug(conn):
    raise KeyError('a bug')


@pytest.mark.parametrize('work, expected', [
    (lambda conn: conn.getType(), ('TEST', None)),
    (_no_such_server, (None, 'Domain not found')),  # libvirt's message, as a host's error has always been told
    (_refused_by_us, (None, 'refused by us')),
])
def test_on_host_returns_the_result_or_why_not_and_closes(work, expected, monkeypatch):
    closed = []
    monkeypatch.setattr(libvirt_connection, 'close_connection', closed.append)
    assert libvirt_connection.on_host('test:///default', work, timeout=5) == expected
    assert len(closed) == 1


def test_on_host_tells_a_host_it_cannot_reach():
    result, error = libvirt_connection.on_host('bogus+nothing:///x', lambda conn: 'never', timeout=5)
    assert result is None and 'bogus+nothing:///x' in error


def test_on_host_lets_a_bug_through_and_still_closes(monkeypatch):
    closed = []
    monkeypatch.setattr(libvirt_connection, 'close_connection', closed.append)
    with pytest.raises(KeyError):
        libvirt_connection.on_host('test:///default', _bug)
    assert len(closed) == 1
