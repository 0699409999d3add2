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

The hook touches only links it made: it marks each bridge and bond it makes with the alias (ifalias)
virtualiron-switch:<network name>, and deletes only links with that mark for the switch libvirt stops. It
refuses to start a switch whose bridge or bond already exists without that mark (a bridge of the host, which may
carry its addresses, or another switch's), since reusing it would merge two LANs and stopping would delete it.
The alias lives and dies with the link (a reboot loses both; no record can go stale and speak for a new link
of the same name) and only root in the host's network namespace can set it.

It runs as root and reads libvirt's XML of the network, which whoever defines networks writes: every name in
it is checked to be an interface name before any `ip` call, and `ip` is run without a shell, with `dev`
before each name so no name is read as a keyword.

This file is installed as the hook by the virtual_switch_hook module (and by the lab), so it needs nothing
but Python 3's standard library and iproute2's `ip`. The decisions are pure functions over `ip -json`
output, unit-tested; `main` only runs the commands.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

SWITCH_NS = 'https://virtualiron.example/xmlns/switch/1'
HOOK_NAME = 'virtualiron-switch'   # the file's name in hooks/network.d
MARK = HOOK_NAME + ':'   # the alias of a link the hook made, followed by its switch's name
# An active-backup bond works with any physical switch (no LACP to configure there); miimon notices a
# dead link within 100 ms.
BOND_OPTIONS = ['mode', 'active-backup', 'miimon', '100']
# The same rules as validation.py's (a unit test keeps them equal): the hook is installed alone.
SWITCH_NAME_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}')
INTERFACE_NAME_RE = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}')
MAX_UPLINKS = 8
NOT_UPLINKS = ('bridge', 'bond', 'team', 'tun', 'macvtap', 'openvswitch')   # link kinds that are no NIC


class HookError(Exception):
    """What the hook tells libvirt (and so the user) when it cannot build a switch's bridge."""


def read_switch(hook_xml):
    """The switch a hook call is about, from the <hookData> libvirt passes on stdin:
    {'name', 'bridge', 'uplinks', 'bond', 'mtu'}, or None for a network whose bridge is not the switch's own.
    Names are as written there: check_switch says whether they can be used."""
    try:
        network = ET.fromstring(hook_xml).find('network')
    except ET.ParseError as e:
        raise HookError('cannot read the network libvirt passed: %s' % e)
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
            'mtu': _mtu(mtu.get('size')) if mtu is not None else None}


def _mtu(text):
    if not re.fullmatch(r'[0-9]{1,5}', text or '') or not 68 <= int(text) <= 65535:
        raise HookError('the switch\'s MTU %r is not a number from 68 to 65535' % (text,))
    return int(text)


def check_switch(switch):
    """Refuse a switch whose names are not what they must be before they reach `ip`: the network's name (it
    goes into the mark), and the interface names of its bridge, bond and 1 to MAX_UPLINKS uplinks, all
    different."""
    if not isinstance(switch['name'], str) or not SWITCH_NAME_RE.fullmatch(switch['name']):
        raise HookError('invalid switch name %r' % (switch['name'],))
    names = [switch['bridge']] + ([switch['bond']] if switch['bond'] else []) + switch['uplinks']
    for name in names:
        if not isinstance(name, str) or not INTERFACE_NAME_RE.fullmatch(name):
            raise HookError('invalid interface name %r: 1 to 15 letters, digits, "_", "." or "-", not starting with '
                            '"." or "-"' % (name,))
    if not 1 <= len(switch['uplinks']) <= MAX_UPLINKS:
        raise HookError('switch %s names %d uplinks; it needs 1 to %d' % (switch['name'], len(switch['uplinks']),
                                                                          MAX_UPLINKS))
    if len(set(names)) != len(names):
        raise HookError('switch %s names an interface twice among its bridge, bond and uplinks: %s'
                        % (switch['name'], ', '.join(names)))
    return switch


def links_by_name(ip_json):
    """`ip -json -details address show` -> {name: {'kind', 'master', 'alias', 'addresses'}}; addresses are the
    ones that carry traffic (not link-local or host scope)."""
    links = {}
    for link in json.loads(ip_json or '[]'):
        info = link.get('linkinfo') or {}
        links[link['ifname']] = {
            'kind': info.get('info_kind'),
            'master': link.get('master'),
            'alias': link.get('ifalias'),
            'addresses': ['%s/%s' % (a['local'], a['prefixlen']) for a in link.get('addr_info', [])
                          if a.get('scope') == 'global'],
        }
    return links


def made_for(switch, name, links):
    """Whether link name is one the hook made for this switch (it carries the switch's mark)."""
    return name in links and links[name]['alias'] == MARK + switch['name']


def _check_uplink(name, switch, links):
    if name not in links:
        raise HookError('uplink %s does not exist on this host' % name)
    link = links[name]
    if link['addresses']:
        raise HookError('uplink %s carries addresses of this host (%s): putting it into a bridge would cut them '
                        'off. Give the switch a NIC of its own, or move the addresses to a bridge the host provides '
                        'and name that bridge' % (name, ', '.join(link['addresses'])))
    if link['master'] is not None and not made_for(switch, link['master'], links):
        raise HookError('uplink %s is already a port of %s' % (name, link['master']))
    if link['kind'] in NOT_UPLINKS:
        raise HookError('uplink %s is a %s, not a NIC' % (name, link['kind']))


def _ensure_link(name, kind, options, switch, links):
    """Create and mark a bridge or bond, or take the one this hook made for the switch before (left by a
    start that was not followed by a stop); refuse any other link of that name."""
    if name not in links:
        return [['link', 'add', 'name', name, 'type', kind] + options,
                ['link', 'set', 'dev', name, 'alias', MARK + switch['name']]]
    link = links[name]
    if not made_for(switch, name, links):
        addresses = ' and carries the addresses %s' % ', '.join(link['addresses']) if link['addresses'] else ''
        raise HookError('%s exists on this host%s, and this hook did not make it for switch %s (it is the host\'s or '
                        'another switch\'s): the switch would share its LAN, and stopping the switch would delete it. '
                        'Name a bridge of the switch\'s own' % (name, addresses, switch['name']))
    if link['kind'] != kind:
        raise HookError('%s exists on this host and is not a %s' % (name, kind))
    return []


def start_commands(switch, links):
    """The `ip` commands (argument lists) that build the switch's bridge over its uplinks. Raises HookError
    before anything is done when the host cannot have it."""
    check_switch(switch)
    commands = _ensure_link(switch['bridge'], 'bridge', ['stp_state', '0', 'forward_delay', '0'], switch, links)
    port = switch['uplinks'][0]
    if switch['bond']:
        port = switch['bond']
        commands += _ensure_link(port, 'bond', BOND_OPTIONS, switch, links)
    for name in switch['uplinks']:
        _check_uplink(name, switch, links)
    mtu = ['mtu', str(switch['mtu'])] if switch['mtu'] else []
    if switch['bond']:
        for name in switch['uplinks']:
            if links[name]['master'] != port:   # a bond takes only slaves that are down
                commands += [['link', 'set', 'dev', name, 'down'], ['link', 'set', 'dev', name, 'master', port]]
    for name in switch['uplinks'] + ([port] if switch['bond'] else []):
        commands.append(['link', 'set', 'dev', name] + mtu + ['up'])
    if links.get(port, {}).get('master') != switch['bridge']:
        commands.append(['link', 'set', 'dev', port, 'master', switch['bridge']])
    commands.append(['link', 'set', 'dev', switch['bridge']] + mtu + ['up'])
    return commands


def stop_commands(switch, links):
    """The `ip` commands that remove the switch's bridge and bond, those of them the hook made for it (their
    ports are released, and keep their state)."""
    check_switch(switch)
    return [['link', 'del', 'dev', name] for name in (switch['bond'], switch['bridge'])
            if name and made_for(switch, name, links)]


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
    """Carry out one hook call. A failed start removes the links it made, so the host is as it was."""
    if operation == 'stopped':
        for args in stop_commands(switch, _links()):
            _ip(args)
        return
    made = []
    try:
        for args in start_commands(switch, _links()):
            _ip(args)
            if args[:2] == ['link', 'add']:
                made.insert(0, args[3])
    except HookError:
        for name in made:
            _ip(['link', 'del', 'dev', name])
        raise


def main(argv, stdin):
    # libvirt calls: <hook> NETWORK OPERATION SUB-OPERATION -, with the hook data on stdin.
    if len(argv) < 3 or (argv[1], argv[2]) not in (('start', 'begin'), ('stopped', 'end')):
        return 0
    try:
        switch = read_switch(stdin.read())
        if switch is not None:
            run(argv[1], switch)
    except HookError as e:
        sys.stderr.write('virtual switch %s: %s\n' % (argv[0], e))
        return 1
    return 0


if __name__ == '__main__':
    raise SystemExit(main(sys.argv[1:], sys.stdin))
