#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: virtual_switch_hook
short_description: Install the libvirt network hook that makes bridged virtual switches' own bridges
version_added: 0.1.0
description:
  - Installs (or removes) the collection's libvirt network hook on a hypervisor host, as
    C(<hooks_dir>/network.d/virtualiron-switch).
  - A V(bridged) M(virtualiron.infra.virtual_switch) whose uplinks are not in a bridge the host provides gets a
    bridge of its own. libvirt cannot create bridges or bonds where its interface driver is read-only (the udev
    backend of Debian and RHEL 9), but it runs its network hooks right before it starts a network. So when
    libvirt starts such a switch (also at boot, for an autostarted switch) the hook makes the bridge over the
    uplinks, over an active-backup bond when there are several, and sets their MTU; when libvirt stops the
    switch, the hook removes the bridge and bond again. It refuses an uplink that carries the host's own
    addresses (which a bridge would cut off) or that is a port of another bridge, and then leaves the host
    as it was; libvirt reports its message as the reason the switch cannot start.
  - The hook touches only links it made. It marks the bridge and bond it makes with the alias
    C(virtualiron-switch:<switch>), removes only links with the stopped switch's mark, and refuses to start a
    switch whose bridge or bond already exists without it (a bridge of the host, or another switch's). It checks
    every name in the network's definition to be a Linux interface name before it runs C(ip), without a shell.
    A bridge made by an older version of the hook carries no mark, so stopping its switch leaves it, and the
    switch starts again once it is removed (C(ip link del)) or the host has rebooted.
  - Runs on the hypervisor host itself (its inventory host, or C(delegate_to)); it does not use libvirt. The
    hook needs Python 3 and iproute2 (C(ip)) on the host.
  - libvirt looks for hook scripts when it starts and when it reloads its configuration (C(SIGHUP), what
    C(systemctl reload libvirtd) does; running virtual servers are not touched). So after a change the module
    signals the libvirt daemons named by O(pid_files) that run, unless O(reload=false).
  - The new hook is written next to the old one and is executable only once whole, then renamed over it; a
    failed install leaves the old hook and no other file. Anything but a regular file at the hook's path (a
    symbolic link, a directory, a FIFO) is refused.
  - Idempotent; supports check mode and C(--diff).
author:
  - Virtual Iron revival team (@virtualiron)
attributes:
  check_mode:
    support: full
    description: Reports what would change without changing the host.
  diff_mode:
    support: full
    description: Shows the hook script before and after.
options:
  state:
    description:
      - V(present) installs the hook, or updates it to this collection's version.
      - V(absent) removes it. Bridged switches that have their own bridge then start without it, and
        M(virtualiron.infra.virtual_switch) says so.
    type: str
    choices: [present, absent]
    default: present
  hooks_dir:
    description: libvirt's hook directory on the host.
    type: path
    default: /etc/libvirt/hooks
  interpreter:
    description: The host's Python 3, which runs the hook. It must exist on the host.
    type: path
    default: /usr/bin/python3
  reload:
    description:
      - After a change, send C(SIGHUP) to the libvirt daemons of O(pid_files) so that they find the hook.
    type: bool
    default: true
  pid_files:
    description:
      - PID files of the daemons that run network hooks, C(libvirtd) or, on hosts with libvirt's modular
        daemons, C(virtnetworkd). Files that do not exist, or whose process is not one of these daemons, are
        skipped.
    type: list
    elements: path
    default: [/run/libvirtd.pid, /run/virtnetworkd.pid]
requirements:
  - Python 3 and iproute2 on the hypervisor host
seealso:
  - module: virtualiron.infra.virtual_switch
  - name: libvirt hooks
    description: When libvirt runs network hooks, and with what.
    link: https://libvirt.org/hooks.html
'''

EXAMPLES = r'''
- name: Hypervisor hosts can give bridged switches their own bridges
  hosts: hypervisors
  become: true
  tasks:
    - name: The network hook
      virtualiron.infra.virtual_switch_hook:

- name: Servers on the physical LAN through a bond of two NICs that nothing else uses
  hosts: localhost
  tasks:
    - virtualiron.infra.virtual_switch:
        uri: qemu+ssh://root@kvm1.example.com/system
        name: frontend
        mode: bridged
        uplinks: [eno3, eno4]
        mtu: 9000
        autostart: true
'''

RETURN = r'''
changes:
  description: What the task did (or would do in check mode).
  returned: always
  type: list
  elements: str
  sample: [installed]
path:
  description: Where the hook is (or was).
  returned: always
  type: str
  sample: /etc/libvirt/hooks/network.d/virtualiron-switch
reloaded:
  description: PID files of the daemons that were sent C(SIGHUP) (or would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [/run/libvirtd.pid]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.switch.hook_installer import HookConverger

ARGUMENT_SPEC = dict(
    state=dict(type='str', default='present', choices=['present', 'absent']),
    hooks_dir=dict(type='path', default='/etc/libvirt/hooks'),
    interpreter=dict(type='path', default='/usr/bin/python3'),
    reload=dict(type='bool', default=True),
    pid_files=dict(type='list', elements='path', default=['/run/libvirtd.pid', '/run/virtnetworkd.pid']),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = HookConverger(module.params, module.check_mode, module._diff).run()
    except VirtualIronError as e:
        module.fail_json(msg=str(e))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
