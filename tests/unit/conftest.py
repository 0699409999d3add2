# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared fixtures: module parameters as AnsibleModule builds them, and libvirt's test hypervisor."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.virtualiron.infra.plugins.modules.virtual_server import ARGUMENT_SPEC

TEST_URI = 'test:///default'


@pytest.fixture
def params():
    """options -> virtual_server's module parameters: defaults and suboption defaults filled, choices checked."""
    def build(**options):
        result = ArgumentSpecValidator(ARGUMENT_SPEC).validate(options)
        assert not result.error_messages, result.error_messages
        return result.validated_parameters
    return build


@pytest.fixture
def conn():
    """libvirt's in-memory test hypervisor (domain type 'test', a domain 'test', a network 'default').

    test:///default keeps its state while any connection to it is open, and a libvirt object that
    outlives its test (in a traceback, say) keeps its connection open: so remove what a test added.
    """
    import libvirt
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    connection = libvirt.open(TEST_URI)
    yield connection
    for dom in connection.listAllDomains():
        if dom.name() != 'test':
            if dom.isActive():
                dom.destroy()
            dom.undefine()
    for volume in connection.storagePoolLookupByName('default-pool').listAllVolumes():
        volume.delete()
    connection.close()


@pytest.fixture
def injected(conn):
    """A server defined as the collection did before it checked console_listen (issue 10): libvirt writes
    its <listen address> back unescaped, so every XML libvirt returns for it is malformed."""
    return conn.defineXML(
        "<domain type='test'><name>injected</name><memory>65536</memory><os><type>hvm</type></os><devices>"
        "<graphics type='vnc' autoport='yes' listen=\"127.0.0.1' autoport='no\">"
        "<listen type='address' address=\"127.0.0.1' autoport='no\"/></graphics></devices></domain>")
