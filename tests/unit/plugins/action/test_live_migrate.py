# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""live_migrate's action plugin: a destination named as an inventory host becomes its URI."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.virtualiron.infra.plugins.action.live_migrate import resolve_destination

HOSTVARS = {'kvm2': {'virtualiron_uri': 'qemu+tls://kvm2/system'}, 'web1': {'ansible_host': '10.0.0.5'}}


@pytest.mark.parametrize('destination, expected', [
    ('qemu+ssh://root@kvm2/system', 'qemu+ssh://root@kvm2/system'),
    ('xen:///system', 'xen:///system'),
    ('kvm2', 'qemu+tls://kvm2/system'),
])
def test_resolve_destination(destination, expected):
    assert resolve_destination(destination, HOSTVARS) == expected


@pytest.mark.parametrize('destination, message', [
    ('kvm9', "'kvm9' is neither a libvirt URI nor a host of the inventory"),
    ('web1', 'inventory host web1 has no virtualiron_uri variable'),
])
def test_resolve_destination_refuses(destination, message):
    with pytest.raises(AnsibleActionFail, match=message):
        resolve_destination(destination, HOSTVARS)
