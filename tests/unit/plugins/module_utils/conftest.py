# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.server.domain_xml import parse_server

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')


@pytest.fixture
def fixture_text():
    """fixture_text(name) -> the text of fixtures/name: real output of libvirt, LVM and the hosts."""
    def read(name):
        with open(os.path.join(FIXTURES, name)) as f:
            return f.read()
    return read


@pytest.fixture
def domain_xml(fixture_text):
    """A KVM domain as libvirt writes it; see fixtures/web1.xml."""
    return fixture_text('web1.xml')


@pytest.fixture
def current(domain_xml):
    """The spec of that domain."""
    return parse_server(domain_xml)
