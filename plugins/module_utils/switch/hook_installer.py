# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Install or remove the collection's libvirt network hook (switch/hook.py) on the host this runs on, and have
the libvirt daemons that run network hooks find it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import pkgutil
import signal
import tempfile

from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.virtualiron.infra.plugins.module_utils.common.converger import Converger
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.common.validation import check_file_kind
from ansible_collections.virtualiron.infra.plugins.module_utils.switch import hook as switch_hook

HOOK_DAEMONS = ('libvirtd', 'virtnetworkd')
CHANGE_WORDS = {('exists', True): 'installed', ('exists', False): 'removed', ('content', True): 'updated',
                ('executable', True): 'made executable'}


def hook_script(interpreter):
    """The hook as installed: the collection's switch hook module run by the host's Python."""
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


class HookConverger(Converger):
    """The hook file <hooks_dir>/network.d/virtualiron-switch (params: virtual_switch_hook's). It uses no libvirt
    connection: it runs on the hypervisor host itself."""

    def __init__(self, params, check_mode=False, diff=False):
        super(HookConverger, self).__init__(None, params, check_mode, diff)
        self.path = os.path.join(params['hooks_dir'], 'network.d', switch_hook.HOOK_NAME)
        self.reloaded = []   # PID files of the daemons told to look for hooks again

    def read(self):
        """The hook's content (None: there is none)."""
        check_file_kind(self.path, 'the network hook')   # never read or replace what a link or device points to
        return read_file(self.path)

    def converge(self, before):
        wanted = None if self.params['state'] == 'absent' else self._script()
        if before is None or wanted is None:
            change = ('exists', before is not None, wanted is not None)
        elif before != wanted:
            change = ('content', False, True)
        else:
            change = ('executable', os.access(self.path, os.X_OK), True)
        if change[1] != change[2]:
            daemons = dict((f, hook_daemon(f)) for f in self.params['pid_files']) if self.params['reload'] else {}
            daemons = dict((f, pid) for f, pid in daemons.items() if pid)
            self.reloaded = sorted(daemons)
            self.act(change[0], change[1], change[2], self._write, wanted, daemons.values())
        return wanted

    def describe(self, change):
        return CHANGE_WORDS[change.field, change.new]

    def result(self, before, after):
        result = {'changed': bool(self.changes), 'changes': [self.describe(c) for c in self.changes],
                  'path': self.path, 'reloaded': self.reloaded}
        if self.diff:
            result['diff'] = dict(before_header=self.path, after_header=self.path, before=to_text(before or b''),
                                  after=to_text(after or b''))
        return result

    def _script(self):
        interpreter = self.params['interpreter']
        if not os.access(interpreter, os.X_OK):
            raise VirtualIronError('the hook\'s interpreter %s is not on this host: set interpreter to its Python 3'
                                   % interpreter)
        return hook_script(interpreter)

    def _write(self, content, pids):
        """Install content as the hook (None: remove it), then signal the daemons (pids) to find it."""
        try:
            if content is None:
                os.remove(self.path)
            else:
                install(self.path, content)
        except OSError as e:
            raise VirtualIronError('cannot %s the network hook %s: %s' % ('remove' if content is None else 'install',
                                                                          self.path, e))
        for pid in pids:
            os.kill(pid, signal.SIGHUP)
