# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The libvirt network hook that builds and removes a bridged virtual switch's bridge (and bond) on its host.

libvirt cannot create host bridges or bonds where its interface driver is read-only (the udev backend of
Debian and RHEL 9), but it runs a network hook (hooks/network.d/*) right before it starts a network, for
exactly this: "an early hook to set-up missing devices". So a bridged switch that owns its bridge carries
its uplinks in its libvirt metadata; when libvirt starts it (also at boot, for an autostarted switch) this
hook makes the bridge over the uplinks (over an active-backup bond when there are several), and when
libvirt stops it, removes them again. The hook runs on the host, in the daemon's network namespace, so it
works whatever URI the modules use.

This file is installed as the hook by the virtual_switch_hook module (and by the lab), so it needs nothing
but Python 3's standard library and iproute2's `ip`. The decisions are pure functions over `ip -json`
output, unit-tested; `main` only runs the commands.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

SWITCH_NS = 'https://virtualiron.example/xmlns/switch/1'
HOOK_NAME = 'virtualiron-switch'   # the file's name in hooks/network.d
# An active-backup bond works with any physical switch (no LACP to configure there); miimon notices a
# dead link within 100 ms.
BOND_OPTIONS = ['mode', 'active-backup', 'miimon', '100']


class HookError(Exception):
    """What the hook tells libvirt (and so the user) when it cannot build a switch's bridge."""


def read_switch(hook_xml):
    """The switch a hook call is about, from the <hookData> libvirt passes on stdin:
    {'name', 'bridge', 'uplinks', 'bond', 'mtu'}, or None for a network whose bridge is not the switch's own."""
    network = ET.fromstring(hook_xml).find('network')
    if network is None:
        return None
    own = network.find('metadata/{%s}switch' % SWITCH_NS)
    bridge = network.find('bridge')
    if own is None or bridge is None or network.find('forward') is None:
        return None
    return dict(read_own_bridge(own), name=network.findtext('name'), bridge=bridge.get('name'))


def read_own_bridge(element):
    """The switch's metadata element -> {'uplinks', 'bond', 'mtu'} (libvirt allows no <mtu> on a bridged
    network, so the MTU of an own bridge is kept here too)."""
    bond = element.find('{%s}bond' % SWITCH_NS)
    mtu = element.find('{%s}mtu' % SWITCH_NS)
    return {'uplinks': [u.get('dev') for u in element.findall('{%s}uplink' % SWITCH_NS)],
            'bond': bond.get('name') if bond is not None else None,
            'mtu': int(mtu.get('size')) if mtu is not None else None}


def links_by_name(ip_json):
    """`ip -json -details address show` -> {name: {'kind', 'master', 'addresses'}}; addresses are the
    ones that carry traffic (not link-local or host scope)."""
    links = {}
    for link in json.loads(ip_json or '[]'):
        info = link.get('linkinfo') or {}
        links[link['ifname']] = {
            'kind': info.get('info_kind'),
            'master': link.get('master'),
            'addresses': ['%s/%s' % (a['local'], a['prefixlen']) for a in link.get('addr_info', [])
                          if a.get('scope') == 'global'],
        }
    return links


def _check_uplink(name, switch, links):
    if name not in links:
        raise HookError('uplink %s does not exist on this host' % name)
    link = links[name]
    if link['addresses']:
        raise HookError('uplink %s carries addresses of this host (%s): putting it into a bridge would cut them '
                        'off. Give the switch a NIC of its own, or move the addresses to a bridge the host provides '
                        'and name that bridge' % (name, ', '.join(link['addresses'])))
    if link['master'] not in (None, switch['bridge'], switch['bond']):
        raise HookError('uplink %s is already a port of %s' % (name, link['master']))
    if link['kind'] in ('bridge', 'bond'):
        raise HookError('uplink %s is a %s, not a NIC' % (name, link['kind']))


def _ensure_link(name, kind, options, links):
    """Create a bridge or bond unless it is there (left by a start that was not followed by a stop)."""
    if name not in links:
        return [['link', 'add', 'name', name, 'type', kind] + options]
    if links[name]['kind'] != kind:
        raise HookError('%s exists on this host and is not a %s' % (name, kind))
    return []


def start_commands(switch, links):
    """The `ip` commands (argument lists) that build the switch's bridge over its uplinks. Raises HookError
    before anything is done when the host cannot have it."""
    if not switch['uplinks']:
        raise HookError('switch %s names no uplinks' % switch['name'])
    for name in switch['uplinks']:
        _check_uplink(name, switch, links)
    mtu = ['mtu', str(switch['mtu'])] if switch['mtu'] else []
    commands = _ensure_link(switch['bridge'], 'bridge', ['stp_state', '0', 'forward_delay', '0'], links)
    port = switch['uplinks'][0]
    if switch['bond']:
        port = switch['bond']
        commands += _ensure_link(port, 'bond', BOND_OPTIONS, links)
        for name in switch['uplinks']:
            if links[name]['master'] != port:   # a bond takes only slaves that are down
                commands += [['link', 'set', name, 'down'], ['link', 'set', name, 'master', port]]
    for name in switch['uplinks'] + ([port] if switch['bond'] else []):
        commands.append(['link', 'set', name] + mtu + ['up'])
    if links.get(port, {}).get('master') != switch['bridge']:
        commands.append(['link', 'set', port, 'master', switch['bridge']])
    commands.append(['link', 'set', switch['bridge']] + mtu + ['up'])
    return commands


def stop_commands(switch, links):
    """The `ip` commands that remove the switch's bridge and bond (their ports are released, and keep their
    state)."""
    return [['link', 'del', name] for name in (switch['bond'], switch['bridge'])
            if name and links.get(name, {}).get('kind') in ('bond', 'bridge')]


def _ip(args):
    done = subprocess.run(['ip'] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          check=False)
    if done.returncode != 0:
        message = done.stderr.strip()
        if 'type bond' in ' '.join(args) and 'Unknown device type' in message:
            message = 'the kernel of this host has no bonding driver (load it: modprobe bonding)'
        raise HookError('ip %s: %s' % (' '.join(args), message))
    return done.stdout


def _links():
    return links_by_name(_ip(['-json', '-details', 'address', 'show']))


def run(operation, switch):
    """Carry out one hook call. A failed start removes what it made, so the host is as it was."""
    before = _links()
    if operation == 'stopped':
        for args in stop_commands(switch, before):
            _ip(args)
        return
    try:
        for args in start_commands(switch, before):
            _ip(args)
    except HookError:
        made = dict((k, v) for k, v in _links().items() if k not in before)
        for args in stop_commands(switch, made):
            _ip(args)
        raise


def main(argv, stdin):
    # libvirt calls: <hook> NETWORK OPERATION SUB-OPERATION -, with the hook data on stdin.
    if len(argv) < 3 or (argv[1], argv[2]) not in (('start', 'begin'), ('stopped', 'end')):
        return 0
    switch = read_switch(stdin.read())
    if switch is None:
        return 0
    try:
        run(argv[1], switch)
    except HookError as e:
        sys.stderr.write('virtual switch %s: %s\n' % (switch['name'], e))
        return 1
    return 0


if __name__ == '__main__':
    raise SystemExit(main(sys.argv[1:], sys.stdin))
