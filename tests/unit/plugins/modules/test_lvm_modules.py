# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""lvm_volume and lvm_volume_group as tables of cases (fixtures/lvm_volume.yml, fixtures/lvm_volume_group.yml),
in the manner of community.general's uthelper: each case gives

  input:  the module's arguments
  flags:  {check: bool, diff: bool} (both false when left out)
  libvirt: {pools: [xml], domains: [xml]} made on the test hypervisor (test:///default) for the run
  mocks:  {run_command: [{command: argv, environ: {...}, rc: 0, out: '', err: ''}]}: every command the module
          must run, in order, with LVM's answer; argv and environment are compared exactly
  output: the module's exact result (exit_json's or fail_json's arguments, with failed: true for the latter,
          and warnings: the module's warnings)
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest
import yaml
from ansible.module_utils import basic

from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.storage import lvm_converger
from ansible_collections.virtualiron.infra.plugins.modules import lvm_volume, lvm_volume_group

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')


def load(name):
    with open(os.path.join(FIXTURES, name + '.yml')) as f:
        return yaml.safe_load(f)


VOLUME = load('lvm_volume')
GROUP = load('lvm_volume_group')


@pytest.fixture
def run_case(run_main, monkeypatch, conn):
    """run_case(module, case): run the module's main() as the case says, answering its commands from the
    case's mocks; returns (the commands it ran, its result)."""
    def run(module, case):
        answers = list(case['mocks']['run_command'])
        ran = []

        def run_command(_module, argv, environ_update=None, **_kwargs):
            ran.append({'command': argv, 'environ': environ_update})
            expected = answers.pop(0) if answers else {}
            assert ran[-1] == {'command': expected.get('command'), 'environ': expected.get('environ')}, \
                'command %d' % len(ran)
            return expected.get('rc', 0), expected.get('out', ''), expected.get('err', '')

        warnings = []
        monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
        monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda _module, name, **_kwargs: '/sbin/' + name)
        monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda _module, text: warnings.append(text))
        # Whether a path is a block device is resolve_devices' own test; here every path is one.
        monkeypatch.setattr(lvm_converger, 'resolve_devices', lambda paths: list(paths or []))
        flags = case.get('flags', {})
        args = dict(case['input'], _ansible_check_mode=flags.get('check', False),
                    _ansible_diff=flags.get('diff', False))
        made = [conn.storagePoolCreateXML(xml, 0) for xml in case.get('libvirt', {}).get('pools', [])]
        for xml in case.get('libvirt', {}).get('domains', []):
            conn.defineXML(xml)  # the conn fixture undefines them again
        try:
            exited = run_main(module.main, args)
        finally:
            for pool in made:
                pool.destroy()
        result = dict(exited.result, **({'failed': True} if exited.failed else {}))
        if warnings:
            result['warnings'] = warnings
        assert answers == [], 'commands the module did not run'
        return ran, result
    return run


@pytest.mark.parametrize('case', GROUP['test_cases'], ids=[c['id'] for c in GROUP['test_cases']])
def test_lvm_volume_group(run_case, case):
    assert run_case(lvm_volume_group, case)[1] == case['output']


@pytest.mark.parametrize('case', VOLUME['test_cases'], ids=[c['id'] for c in VOLUME['test_cases']])
def test_lvm_volume(run_case, case):
    assert run_case(lvm_volume, case)[1] == case['output']


@pytest.mark.parametrize('name', ['vmdisks', 'vi3l-vg', 'a.b_c+d', 'x' * 127])
def test_valid_names_reach_lvm_as_given(run_case, name):
    anchors = VOLUME['anchors']
    create = dict(command=['/sbin/lvm', 'lvcreate', '--config', 'devices {hints="none"} global {activation=0}',
                           '-l', '1', '-n', name, '--yes', '--zero', 'n', 'vmdisks'], environ=anchors['environ'])
    case = {'input': {'name': name, 'volume_group': 'vmdisks', 'size': '4MiB'}, 'mocks': {'run_command': [
        anchors['version_no_dm'], anchors['vgs_no_dm'], dict(anchors['lvs_no_dm'], out=anchors['no_volumes']),
        create, dict(anchors['lvs_no_dm'], out=anchors['no_volumes'])]}}
    assert run_case(lvm_volume, case)[1]['changes'] == ['logical volume vmdisks/%s created with 4MiB' % name]


def test_resolve_devices_refuses_files_and_missing(tmp_path):
    image = tmp_path / 'disk.img'
    image.write_bytes(b'')
    with pytest.raises(VirtualIronError, match='is not a block device'):
        lvm_converger.resolve_devices([str(image)])
    with pytest.raises(VirtualIronError, match='does not exist on this host'):
        lvm_converger.resolve_devices([str(tmp_path / 'nope')])


@pytest.mark.parametrize('path, message', [
    ('loop0', 'must be an absolute path'),
    ('./loop0', 'must be an absolute path'),
    ('/dev/../dev/loop0', 'must be an absolute path'),
    ('/dev/loop0\0', 'must not contain control characters'),   # was a crash (ValueError) in realpath
])
def test_resolve_devices_refuses_relative_and_unnormalized_paths(monkeypatch, path, message):
    monkeypatch.chdir('/dev')  # where a relative name would find a block device
    with pytest.raises(VirtualIronError, match='physical volume ' + message):
        lvm_converger.resolve_devices([path])
