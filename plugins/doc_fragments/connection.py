# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r'''
options:
  uri:
    description:
      - The libvirt connection URI of the hypervisor host to manage.
      - Any URI libvirt accepts, for example C(qemu:///system) (the local host),
        C(qemu+ssh://root@host1/system), C(qemu+tls://host1/system) or C(xen:///system).
      - "The module runs where Ansible runs it (usually the controller, with C(connection: local)
        or C(delegate_to: localhost)) and reaches the host through this URI; nothing else needs SSH."
      - Set it once for every module of the collection with
        C(module_defaults) and the action group C(group/virtualiron.infra.libvirt).
      - If not set, the environment variable E(VIRTUALIRON_URI) is used, then C(qemu:///system).
    type: str
    default: qemu:///system
  connect_timeout:
    description:
      - Seconds to wait for the host to take the connection before the task fails saying so; V(0) waits as long as
        libvirt does, which for a host that drops packets is minutes (the operating system's TCP retries) and for
        one whose libvirtd or SSH hangs, for ever.
    type: int
    default: 20
requirements:
  - libvirt-python >= 9.0 (and the libvirt client library) on the machine that runs the module
  - lxml
'''
