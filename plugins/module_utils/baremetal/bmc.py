# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""bmc: a node's power and boot device brought to what is asked through its BMC (Redfish), and the node's
inventory as the BMC reports it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import re
import time

from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal.redfish import (
    ROOT, check_path, link, member_paths, number, text)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.converger import Converger
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError

# The user's words -> Redfish's, and back.
BOOT_TARGETS = {'pxe': 'Pxe', 'disk': 'Hdd', 'cd': 'Cd', 'usb': 'Usb', 'http': 'UefiHttp', 'none': 'None'}
BOOT_DEVICES = dict((v, k) for k, v in BOOT_TARGETS.items())
BOOT_MODES = {'uefi': 'UEFI', 'legacy': 'Legacy'}
BOOT_MODE_WORDS = dict((v, k) for k, v in BOOT_MODES.items())
POWER_STATES = {'On': 'on', 'Off': 'off', 'PoweringOn': 'powering on', 'PoweringOff': 'powering off',
                'Paused': 'paused'}
# What each power request asks of the system, in the order tried: the first the BMC allows.
RESET_TYPES = {'on': ('On', 'ForceOn'), 'off': ('ForceOff',), 'graceful_off': ('GracefulShutdown',),
               'restart': ('ForceRestart', 'PowerCycle')}
POWER_WORDS = {'on': 'powered on', 'off': 'powered off', 'graceful_off': 'shut down (graceful)', 'reset': 'reset'}
MAX_NICS = 64
MAC = re.compile(r'^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$')
POLL_SECONDS = 1.0


class BmcConverger(Converger):
    """One system of one BMC: boot override first (so that a power-on boots from it), then power."""

    result_key = 'system'
    sleep = staticmethod(time.sleep)
    clock = staticmethod(time.monotonic)

    def read(self):
        self.path = find_system(self.conn, self.params.get('system_id'))
        self.raw = self.conn.get(self.path)
        nics = read_nics(self.conn, self.raw) if self.params.get('inventory', True) else None
        return describe_system(self.raw, nics)

    def converge(self, before):
        # Everything is decided (and refused) before anything changes.
        boot_body = boot_patch(self.raw, before['boot'], self.params.get('boot'))
        asked = power_word(self.params.get('power'))
        power = power_plan(before['power'], asked)
        reset = reset_request(self.raw, self.path, power[0]) if power else None
        after = copy.deepcopy(before)
        if boot_body:
            wanted = wanted_boot(before['boot'], self.params['boot'])
            self.act('boot', before['boot'], wanted, self.conn.patch, self.path, {'Boot': boot_body})
            after['boot'] = wanted
        if power:
            state = power[1]
            if reset:
                self.act('power', before['power'], asked, self.conn.post, reset[0], reset[1])
            after['power'] = state
            if not self.check_mode:
                self.wait_for(state, asked)
        if self.changes and not self.check_mode:
            self.raw = self.conn.get(self.path)
            after.update(power=power_state(self.raw), boot=boot_state(self.raw))
        return after

    def wait_for(self, state, asked):
        """Wait until the system reports state, up to power_timeout seconds."""
        deadline = self.clock() + self.params.get('power_timeout', 120)
        while True:
            now = power_state(self.conn.get(self.path))
            if now == state:
                return
            if self.clock() >= deadline:
                raise VirtualIronError(timeout_message(self.params, asked, self.path, now, state))
            self.sleep(POLL_SECONDS)

    def describe(self, change):
        if change.field == 'power':
            return POWER_WORDS[change.new]
        return describe_boot(change.old, change.new)


def find_system(client, system_id):
    """The path of the system to manage: system_id among the BMC's systems, or its only one."""
    paths = member_paths(client.get(ROOT + '/Systems'), 'systems')
    ids = [p.rstrip('/').rsplit('/', 1)[-1] for p in paths]
    if system_id is not None:
        if system_id in ids:
            return paths[ids.index(system_id)]
        raise VirtualIronError('the BMC has no system %s; it has: %s' % (system_id, listed(ids) or 'none'))
    if len(paths) == 1:
        return paths[0]
    if not paths:
        raise VirtualIronError('the BMC lists no system')
    raise VirtualIronError('the BMC has %d systems: say which one in system_id (%s)' % (len(paths), listed(ids)))


def listed(ids, most=20):
    return ', '.join(ids[:most]) + (' and %d more' % (len(ids) - most) if len(ids) > most else '')


def power_state(raw):
    """The system's power state in the user's words; None when the BMC does not say."""
    value = raw.get('PowerState')
    return POWER_STATES.get(value, text(value, 40))


def boot_state(raw):
    """{device, once, mode} of the system's boot override; device 'none' when no override is set."""
    boot = raw.get('Boot') if isinstance(raw.get('Boot'), dict) else {}
    enabled = boot.get('BootSourceOverrideEnabled')
    target = text(boot.get('BootSourceOverrideTarget'), 40)
    device = 'none' if enabled == 'Disabled' else BOOT_DEVICES.get(target, target)
    once = {'Once': True, 'Continuous': False}.get(enabled) if device != 'none' else None
    mode = boot.get('BootSourceOverrideMode')
    return {'device': device, 'once': once,
            'mode': BOOT_MODE_WORDS.get(mode, text(mode, 40))}


def describe_system(raw, nics):
    """The system as the module returns it; what the BMC does not report is None."""
    processors = raw.get('ProcessorSummary') if isinstance(raw.get('ProcessorSummary'), dict) else {}
    memory = raw.get('MemorySummary') if isinstance(raw.get('MemorySummary'), dict) else {}
    gib = number(memory.get('TotalSystemMemoryGiB'), 2 ** 30)
    return {
        'id': text(raw.get('Id')), 'power': power_state(raw), 'boot': boot_state(raw),
        'manufacturer': text(raw.get('Manufacturer')), 'model': text(raw.get('Model')),
        'serial': text(raw.get('SerialNumber')), 'uuid': text(raw.get('UUID'), 64),
        'processors': {'count': number(processors.get('Count'), 2 ** 20), 'model': text(processors.get('Model'))},
        'memory_bytes': int(round(gib * 1024 ** 3)) if gib is not None else None,
        'nics': nics,
    }


def read_nics(client, raw):
    """The system's NICs as the BMC lists them; None when it lists none or cannot read them (the inventory is a
    bonus: it must never stand in the way of a power action, such as fencing)."""
    try:
        path = link(raw, 'EthernetInterfaces')
        return [describe_nic(client.get(p)) for p in member_paths(client.get(path), 'NICs', MAX_NICS)] if path else None
    except VirtualIronError:
        return None


def describe_nic(nic):
    mac = text(nic.get('MACAddress')) or text(nic.get('PermanentMACAddress'))
    return {'id': text(nic.get('Id')), 'mac': mac.lower() if mac and MAC.match(mac) else None,
            'link': text(nic.get('LinkStatus'), 40), 'speed_mbps': number(nic.get('SpeedMbps'), 10 ** 7),
            'enabled': nic.get('InterfaceEnabled') if isinstance(nic.get('InterfaceEnabled'), bool) else None}


def wanted_boot(current, boot):
    """The boot override asked for, in the shape boot_state returns."""
    device = boot['device']
    return {'device': device, 'once': None if device == 'none' else boot.get('once', True),
            'mode': boot.get('mode') or current['mode']}


def boot_patch(raw, current, boot):
    """The Boot object to PATCH to get boot (None: nothing to do); refuses what the BMC does not allow."""
    if not boot:
        return None
    wanted = wanted_boot(current, boot)
    offered = raw.get('Boot') if isinstance(raw.get('Boot'), dict) else {}
    body = {}
    if wanted['device'] == 'none':
        if current['device'] != 'none':
            body['BootSourceOverrideEnabled'] = 'Disabled'
    elif (wanted['device'], wanted['once']) != (current['device'], current['once']):
        target = BOOT_TARGETS[wanted['device']]
        check_allowed(offered, 'BootSourceOverrideTarget', target, wanted['device'], BOOT_DEVICES)
        body.update(BootSourceOverrideTarget=target, BootSourceOverrideEnabled='Once' if wanted['once'] else 'Continuous')
    if boot.get('mode') and wanted['mode'] != current['mode']:
        if current['mode'] is None:
            raise VirtualIronError('the BMC does not report a boot mode for this system, so it cannot set one: leave '
                                   'boot.mode out')
        mode = BOOT_MODES[wanted['mode']]
        check_allowed(offered, 'BootSourceOverrideMode', mode, wanted['mode'], BOOT_MODE_WORDS)
        body['BootSourceOverrideMode'] = mode
    return body or None


def check_allowed(boot, key, value, word, words):
    """Refuse value for boot[key] when the BMC lists the values it allows and value is not one of them."""
    allowed = boot.get(key + '@Redfish.AllowableValues')
    if isinstance(allowed, list) and value not in allowed:
        shown = [words.get(v, text(v, 40)) for v in allowed[:MAX_NICS]]
        raise VirtualIronError('the BMC does not allow %s %s (Redfish %s) for this system; it allows: %s. Nothing was '
                               'changed' % ('boot device' if key.endswith('Target') else 'boot mode', word, value,
                                            ', '.join(str(v) for v in shown) or 'none'))


def power_word(power):
    """The power option in the module's words: YAML reads an unquoted on/off as a boolean."""
    if isinstance(power, bool):
        return 'on' if power else 'off'
    if power is None or power in POWER_WORDS:
        return power
    raise VirtualIronError('power must be one of on, off, graceful_off, reset, not %r' % (power,))


def power_plan(current, power):
    """(request, state): the reset request to send (None: only wait) and the power state to wait for; None when the
    system is already as asked."""
    if power is None:
        return None
    if power == 'reset':
        return ('restart' if current != 'off' else 'on', 'on')
    state = 'on' if power == 'on' else 'off'
    if current == state:
        return None
    if current == 'powering %s' % state:
        return (None, state)
    return (power, state)


def reset_request(raw, path, request):
    """(action path, body) of the Reset action for request, the first of its reset types the BMC allows."""
    if request is None:
        return None
    actions = raw.get('Actions') if isinstance(raw.get('Actions'), dict) else {}
    action = actions.get('#ComputerSystem.Reset') if isinstance(actions.get('#ComputerSystem.Reset'), dict) else {}
    target = action.get('target')
    target = check_path(target) if target is not None else path.rstrip('/') + '/Actions/ComputerSystem.Reset'
    allowed = action.get('ResetType@Redfish.AllowableValues')
    choices = RESET_TYPES[request]
    usable = [t for t in choices if not isinstance(allowed, list) or t in allowed]
    if not usable:
        raise VirtualIronError('the BMC allows none of the reset types %s for this system (it allows: %s). Nothing '
                               'was changed' % ('/'.join(choices), ', '.join(text(a, 40) or '?' for a in allowed[:20])))
    return target, {'ResetType': usable[0]}


def describe_boot(old, new):
    if (new['device'], new['once']) == (old['device'], old['once']):
        words = []
    elif new['device'] == 'none':
        words = ['boot override disabled']
    else:
        words = ['boot device set to %s (%s)' % (new['device'], 'once' if new['once'] else 'persistent')]
    if new['mode'] != old['mode']:
        words.append('boot mode set to %s' % new['mode'])
    return ', '.join(words)


def timeout_message(params, asked, path, now, state):
    message = 'system %s did not reach power %s within %d s (power_timeout); it is %s' % (
        path.rstrip('/').rsplit('/', 1)[-1], state, params.get('power_timeout', 120), now)
    if asked == 'graceful_off':
        message += ': its operating system may ignore the shutdown request (ACPI); power=off forces it'
    return message
