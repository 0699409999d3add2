# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.server_xml import parse_server

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')


@pytest.fixture
def domain_xml():
    """A KVM domain as libvirt writes it; see fixtures/web1.xml."""
    with open(os.path.join(FIXTURES, 'web1.xml')) as f:
        return f.read()


@pytest.fixture
def current(domain_xml):
    """The spec of that domain."""
    return parse_server(domain_xml)
