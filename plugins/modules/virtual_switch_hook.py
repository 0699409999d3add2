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

import os
import pkgutil
import signal
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.virtualiron.infra.plugins.module_utils.switch import hook as switch_hook
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.common.validation import check_file_kind

ARGUMENT_SPEC = dict(
    state=dict(type='str', default='present', choices=['present', 'absent']),
    hooks_dir=dict(type='path', default='/etc/libvirt/hooks'),
    interpreter=dict(type='path', default='/usr/bin/python3'),
    reload=dict(type='bool', default=True),
    pid_files=dict(type='list', elements='path', default=['/run/libvirtd.pid', '/run/virtnetworkd.pid']),
)
HOOK_DAEMONS = ('libvirtd', 'virtnetworkd')


def hook_script(interpreter):
    """The hook as installed: the collection's switch_hook module run by the host's Python."""
    source = pkgutil.get_data(switch_hook.__name__.rpartition('.')[0], 'hook.py')
    return b'#!' + to_bytes(interpreter) + b'\n' + source


def read_file(path):
    try:
        with open(path, 'rb') as f:
            return f.read()
    except (IOError, OSError):
        return None


def hook_daemon(pid_file):
    """The PID in pid_file if it is a running libvirt daemon that runs network hooks, else None."""
    try:
        pid = int((read_file(pid_file) or b'').strip())
        comm = to_text(read_file('/proc/%d/comm' % pid) or b'').strip()
    except ValueError:
        return None
    return pid if comm in HOOK_DAEMONS else None


def install(path, content):
    """Replace the hook at once. libvirt runs every executable file in network.d, hidden ones too, so the
    new one is written to a file that is not executable (mkstemp's 0600) until it is whole, and that file is
    gone whatever fails."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    fd, temp = tempfile.mkstemp(dir=directory, prefix='.virtualiron-switch.')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
            os.fchmod(f.fileno(), 0o755)
        os.rename(temp, path)
    finally:
        if os.path.lexists(temp):
            os.remove(temp)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    path = os.path.join(params['hooks_dir'], 'network.d', switch_hook.HOOK_NAME)
    try:
        check_file_kind(path, 'the network hook')   # never read or replace what a link or device points to
    except VirtualIronError as e:
        module.fail_json(msg=str(e))
    before = read_file(path)
    mode_ok = before is None or os.access(path, os.X_OK)
    wanted = None
    if params['state'] == 'present':
        if not os.access(params['interpreter'], os.X_OK):
            module.fail_json(msg='the hook\'s interpreter %s is not on this host: set interpreter to its Python 3'
                             % params['interpreter'])
        wanted = hook_script(params['interpreter'])
    changed = before != wanted or not mode_ok
    daemons = dict((f, hook_daemon(f)) for f in params['pid_files']) if changed and params['reload'] else {}
    daemons = dict((f, pid) for f, pid in daemons.items() if pid)
    if changed and not module.check_mode:
        try:
            if wanted is None:
                os.remove(path)
            else:
                install(path, wanted)
        except OSError as e:
            module.fail_json(msg='cannot %s the network hook %s: %s' % ('remove' if wanted is None else 'install',
                                                                        path, e))
        for pid in daemons.values():
            os.kill(pid, signal.SIGHUP)
    result = dict(changed=changed, path=path, reloaded=sorted(daemons))
    if module._diff:
        result['diff'] = dict(before_header=path, after_header=path, before=to_text(before or b''),
                              after=to_text(wanted or b''))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
