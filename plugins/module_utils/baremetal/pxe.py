# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-node network boot choices: what a node boots when it PXE-boots (discover, a given image, its local
disk), written as an iPXE script and a pxelinux configuration per MAC address in the boot directory.

Layout of the boot directory (served over TFTP by the provisioning network's dnsmasq and over HTTP by the
receiver): boot.ipxe, the entry point DHCP names, chains nodes/<mac>.ipxe and falls back to default.ipxe;
pxelinux (lpxelinux.0, which fetches over HTTP) reads pxelinux.cfg/01-<mac> and falls back to
pxelinux.cfg/default. The MAC rides in every URL (?mac=), so the receiver's log says which node fetched
what, and where a node's boot stopped.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal.image import write_atomic
from ansible_collections.virtualiron.infra.plugins.module_utils.common.converger import Converger
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError

DEFAULT = 'default'
BOOT_CHOICES = ('discover', 'image', 'local')
AFTER_CHOICES = ('poweroff', 'wait', 'reboot')
_MAC = re.compile(r'^([0-9a-f]{2}:){5}[0-9a-f]{2}$')
_URL = re.compile(r'^https?://[A-Za-z0-9.:\[\]-]+(:[0-9]+)?(/[A-Za-z0-9._~/%-]*)?$')
_CMDLINE = re.compile(r'^[A-Za-z0-9 _.,:=/@+%-]*$')  # nothing iPXE or pxelinux would read as syntax
# The entry point: a node's own script, else the default one. iPXE's ${mac} is 52:54:00:..., hexhyp 52-54-00-...
# imgfetch first: a node script that is there but fails (its kernel missing) must not fall back to the default.
ENTRY_IPXE = '''#!ipxe
imgfetch --name node {url}/nodes/${{mac:hexhyp}}.ipxe?mac=${{mac}} || goto default
imgexec node
exit 1
:default
chain {url}/default.ipxe?mac=${{mac}}
'''


def check_boot(params):
    """The boot choice of params (mac, boot, server_url, kernel, initrd, cmdline, after, bmc_address), checked."""
    mac = params['mac'].lower()
    if mac != DEFAULT and not _MAC.match(mac):
        raise VirtualIronError('mac must be a MAC address like 52:54:00:a1:b2:c3, or default; got %r' % params['mac'])
    if not _URL.match(params['server_url'] or ''):
        raise VirtualIronError('server_url must be http(s)://ADDRESS[:PORT][/PATH], got %r' % params['server_url'])
    if params['boot'] == 'image' and not (params.get('kernel') and params.get('initrd')):
        raise VirtualIronError('boot=image needs kernel and initrd (URLs, or paths under the boot directory)')
    for key in ('kernel', 'initrd', 'cmdline', 'bmc_address'):
        if params.get(key) and not _CMDLINE.match(params[key]):
            raise VirtualIronError('%s may hold only letters, digits, spaces and _ . , : = / @ + %% -; got %r'
                                   % (key, params[key]))
    return dict(params, mac=mac)


def _url(server_url, path):
    return path if '://' in path else '%s/%s' % (server_url.rstrip('/'), path.lstrip('/'))


def kernel_command(boot):
    """What the node's kernel is told: for discovery, where to report and what to do next."""
    if boot['boot'] == 'image':
        return boot.get('cmdline') or ''
    words = ['console=ttyS0', 'console=tty0', 'quiet', 'vi.report=%s/report' % boot['server_url'].rstrip('/'),
             'vi.after=%s' % boot['after']]
    if boot.get('bmc_address'):
        words.append('vi.bmc=%s' % boot['bmc_address'])
    return ' '.join(words + ([boot['cmdline']] if boot.get('cmdline') else []))


def ipxe_script(boot):
    """The iPXE script of a boot choice."""
    if boot['boot'] == 'local':
        return '#!ipxe\n# boot from local disk: hand back to the firmware, which tries its next device\nexit\n'
    kernel, initrd = _files(boot)
    return ('#!ipxe\nkernel %s?mac=${mac} %s BOOTIF=01-${mac:hexhyp}\ninitrd %s?mac=${mac}\nboot\n'
            % (_url(boot['server_url'], kernel), kernel_command(boot), _url(boot['server_url'], initrd)))


def pxelinux_config(boot):
    """The pxelinux configuration of a boot choice (for lpxelinux.0, which fetches http:// URLs)."""
    if boot['boot'] == 'local':
        return 'DEFAULT local\nLABEL local\n  LOCALBOOT 0\n'
    kernel, initrd = _files(boot)
    mac = '' if boot['mac'] == DEFAULT else '?mac=' + boot['mac']
    return ('DEFAULT %s\nLABEL %s\n  KERNEL %s%s\n  INITRD %s%s\n  APPEND %s\n  IPAPPEND 2\n'
            % (boot['boot'], boot['boot'], _url(boot['server_url'], kernel), mac,
               _url(boot['server_url'], initrd), mac, kernel_command(boot)))


def _files(boot):
    if boot['boot'] == 'discover':
        return 'vmlinuz', 'initrd.img'
    return boot['kernel'], boot['initrd']


def boot_paths(root, mac):
    """The two files of a MAC's (or the default) boot choice: iPXE script, pxelinux configuration."""
    if mac == DEFAULT:
        return os.path.join(root, 'default.ipxe'), os.path.join(root, 'pxelinux.cfg', DEFAULT)
    hyphens = mac.replace(':', '-')
    return (os.path.join(root, 'nodes', hyphens + '.ipxe'), os.path.join(root, 'pxelinux.cfg', '01-' + hyphens))


def boot_files(boot):
    """path -> text of a boot choice's files."""
    ipxe, pxelinux = boot_paths(boot['root'], boot['mac'])
    return {ipxe: ipxe_script(boot), pxelinux: pxelinux_config(boot),
            os.path.join(boot['root'], 'boot.ipxe'): ENTRY_IPXE.format(url=boot['server_url'].rstrip('/'))}


def _read_text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


class PxeBootConverger(Converger):
    """The pxe_boot module: one node's (or the default) boot choice as files. conn is unused (no libvirt)."""

    result_key = 'boot'

    def read(self):
        boot = check_boot(self.params)
        files = dict((p, _read_text(p)) for p in boot_paths(boot['root'], boot['mac']))
        if all(text is None for text in files.values()):
            return None
        return {'mac': boot['mac'], 'files': files}

    def converge(self, before):
        boot = check_boot(self.params)
        if boot['state'] == 'absent':
            if before is not None:
                self.act('exists', True, False, _remove, [p for p, t in before['files'].items() if t is not None])
            return None
        wanted = boot_files(boot)
        for path, text in sorted(wanted.items()):
            old = _read_text(path)
            if old != text:
                self.act(os.path.relpath(path, boot['root']), old, text, _write, path, text)
        return {'mac': boot['mac'], 'boot': boot['boot'],
                'files': dict((p, t) for p, t in wanted.items() if p in boot_paths(boot['root'], boot['mac']))}

    def describe(self, change):
        if change.field == 'exists':
            return 'boot files removed'
        return '%s %s' % (change.field, 'written' if change.old is None else 'updated')


def _write(path, text):
    if not os.path.isdir(os.path.dirname(path)):
        os.makedirs(os.path.dirname(path), 0o755)
    write_atomic(path, text.encode('utf-8'))


def _remove(paths):
    for path in paths:
        os.unlink(path)
