#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: storage_pool_info
short_description: List the libvirt storage pools of a hypervisor host
version_added: 0.1.0
description:
  - Lists every storage pool of one host (or one pool by O(name)) with its type, directory or volume group,
    state, autostart, sizes and volumes, through libvirt (O(uri)).
  - Changes nothing; active pools are not refreshed, so the volumes are those libvirt knows of.
author:
  - Virtual Iron revival team (@virtualiron)
extends_documentation_fragment:
  - virtualiron.infra.connection
  - virtualiron.infra.attributes.info_module
options:
  name:
    description: Only this pool. A pool that does not exist gives an empty list, not an error.
    type: str
seealso:
  - module: virtualiron.infra.storage_pool
'''

EXAMPLES = r'''
- name: Which pools does the migration destination have?
  virtualiron.infra.storage_pool_info:
    uri: qemu+ssh://root@kvm2.example.com/system
  register: kvm2_pools

- name: Directories of its active pools
  ansible.builtin.debug:
    msg: "{{ kvm2_pools.pools | selectattr('state', 'eq', 'active') | map(attribute='path') | list }}"
'''

RETURN = r'''
pools:
  description: The pools, sorted by name, each as M(virtualiron.infra.storage_pool) returns RV(virtualiron.infra.storage_pool#module:pool).
  returned: always
  type: list
  elements: dict
  sample:
    - name: default
      type: dir
      path: /var/lib/libvirt/images
      volume_group: null
      devices: []
      state: active
      autostart: true
      persistent: true
      capacity: 100GiB
      capacity_bytes: 107374182400
      allocation: 20GiB
      allocation_bytes: 21474836480
      available: 80GiB
      available_bytes: 85899345920
      volumes: [web1.vhd]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    CONNECTION_ARGUMENT_SPEC, libvirt_session)
from ansible_collections.virtualiron.infra.plugins.module_utils.storage.pools import lookup_pool, pool_facts


def main():
    module = AnsibleModule(argument_spec=dict(CONNECTION_ARGUMENT_SPEC, name=dict(type='str')),
                           supports_check_mode=True)
    with libvirt_session(module) as conn:
        if module.params['name']:
            pools = [p for p in [lookup_pool(conn, module.params['name'])] if p is not None]
        else:
            pools = conn.listAllStoragePools(0)
        facts = sorted((pool_facts(p) for p in pools), key=lambda f: f['name'])
    module.exit_json(changed=False, pools=facts)


if __name__ == '__main__':
    main()
