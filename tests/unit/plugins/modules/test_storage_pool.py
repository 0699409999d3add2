# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_pool's converger and storage_pool_info's facts against libvirt's test hypervisor."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.storage.pools import lookup_pool, pool_facts
from ansible_collections.virtualiron.infra.plugins.module_utils.storage.pool_xml import SYSTEM_DIRECTORIES, SYSTEM_TREES
from ansible_collections.virtualiron.infra.plugins.module_utils.storage.pool_converger import PoolConverger
from ansible_collections.virtualiron.infra.plugins.modules.storage_pool import ARGUMENT_SPEC, DOCUMENTATION

NAME = 'vi3l-pool'


@pytest.fixture
def pools(conn):
    """The test hypervisor, with the pools a test made removed again afterwards."""
    yield conn
    for pool in conn.listAllStoragePools():
        if pool.name().startswith('vi3l'):
            persistent = pool.isPersistent()
            if pool.isActive():
                for volume in pool.listAllVolumes():
                    volume.delete()
                pool.destroy()
            if persistent:
                pool.undefine()


def converge(conn, check_mode=False, **params):
    full = dict((key, spec.get('default')) for key, spec in ARGUMENT_SPEC.items())
    full.update(dict(name=NAME, path='/vi3l/images'), **params)
    return PoolConverger(conn, full, check_mode, diff=True).run()


def test_new_dir_pool_defined_built_started_autostarted(pools):
    result = converge(pools)
    assert result['changes'] == ['defined', 'built', 'started', 'autostart enabled']
    pool = result['pool']
    assert (pool['type'], pool['path'], pool['state'], pool['autostart'], pool['volumes']) == \
        ('dir', '/vi3l/images', 'active', True, [])
    assert pool['capacity_bytes'] > 0 and pool['capacity'].endswith('B')
    again = converge(pools)
    assert (again['changed'], again['changes']) == (False, [])
    assert again['diff']['before'] == again['diff']['after']


def test_diff_only_when_asked(pools):
    full = dict((key, spec.get('default')) for key, spec in ARGUMENT_SPEC.items())
    result = PoolConverger(pools, dict(full, name=NAME, path='/vi3l/images'), check_mode=True).run()
    assert 'diff' not in result


def test_check_mode_predicts_and_changes_nothing(pools):
    result = converge(pools, check_mode=True, autostart=False)
    assert result['changes'] == ['defined', 'built', 'started']
    assert (result['pool']['state'], result['pool']['autostart']) == ('active', False)
    assert lookup_pool(pools, NAME) is None


def test_present_and_inactive(pools):
    assert converge(pools, state='present')['pool']['state'] == 'inactive'
    assert converge(pools, state='active', autostart=False)['changes'] == ['started']
    stopped = converge(pools, state='inactive', path=None)
    assert (stopped['changes'], stopped['pool']['volumes']) == (['stopped'], None)


def test_transient_pool_not_stopped(pools):
    pools.storagePoolCreateXML("<pool type='dir'><name>%s</name><target><path>/vi3l/t</path></target></pool>" % NAME, 0)
    with pytest.raises(VirtualIronError, match='is transient .not defined.: stopping it would make libvirt forget it'):
        converge(pools, state='inactive', path=None)
    assert lookup_pool(pools, NAME).isActive()


def test_existing_pool_with_another_definition_refused(pools):
    converge(pools)
    with pytest.raises(VirtualIronError, match='exists with another definition .path: /vi3l/images, not /vi3l/other'):
        converge(pools, path='/vi3l/other')
    with pytest.raises(VirtualIronError, match='type: dir, not logical'):
        converge(pools, type='logical', path=None)


def test_remove_refused_while_it_holds_volumes(pools):
    converge(pools)
    lookup_pool(pools, NAME).createXML('<volume><name>web1.raw</name><capacity>1048576</capacity></volume>', 0)
    with pytest.raises(VirtualIronError, match=r'refusing to remove storage pool vi3l-pool: it holds volumes '
                                               r'\(web1.raw\)'):
        converge(pools, state='absent')
    assert lookup_pool(pools, NAME) is not None
    assert converge(pools, state='absent', force=True, check_mode=True)['pool'] is None
    assert lookup_pool(pools, NAME) is not None
    assert converge(pools, state='absent', force=True)['changes'] == ['removed']
    assert lookup_pool(pools, NAME) is None
    assert converge(pools, state='absent')['changed'] is False


def test_remove_refused_while_stopped_unless_forced(pools):
    converge(pools, state='present')
    with pytest.raises(VirtualIronError, match='it is stopped, so libvirt cannot tell'):
        converge(pools, state='absent')
    assert converge(pools, state='absent', force=True)['changes'] == ['removed']


def test_empty_pool_removed(pools):
    converge(pools)
    assert converge(pools, state='absent')['changes'] == ['removed']
    assert lookup_pool(pools, NAME) is None


def test_logical_pool_that_cannot_be_built_is_undefined_again(pools):
    # The test hypervisor refuses build flags, as a real host refuses devices that hold data.
    with pytest.raises(VirtualIronError, match='unsupported flags.*; storage pool vi3l-pool was undefined again'):
        converge(pools, type='logical', path=None, devices=['/dev/vi3l-none'])
    assert lookup_pool(pools, NAME) is None


def test_logical_pool_over_an_existing_group_is_not_built(pools):
    result = converge(pools, type='logical', path=None, volume_group='vi3l-vg', state='present')
    assert result['changes'] == ['defined']
    assert (result['pool']['path'], result['pool']['volume_group']) == ('/dev/vi3l-vg', 'vi3l-vg')


def test_pool_facts_of_the_test_hypervisor_default_pool(conn):
    facts = pool_facts(conn.storagePoolLookupByName('default-pool'))
    assert (facts['name'], facts['type'], facts['state'], facts['persistent']) == ('default-pool', 'dir', 'active', True)
    assert lookup_pool(conn, 'vi3l-no-such-pool') is None


@pytest.mark.parametrize('path', ['/', '/etc', '/usr/lib', '/var', '/root/', 'images', '/srv/../etc'])
def test_a_pool_on_a_system_or_relative_directory_is_refused_and_nothing_defined(pools, path):
    before = sorted(p.name() for p in pools.listAllStoragePools())
    with pytest.raises(VirtualIronError, match='refusing storage pool vi3l-pool directory|must be an absolute path'):
        converge(pools, path=path)
    assert sorted(p.name() for p in pools.listAllStoragePools()) == before


def test_the_documentation_lists_every_refused_system_directory():
    text = ' '.join(DOCUMENTATION.split())
    assert [d for d in SYSTEM_DIRECTORIES + SYSTEM_TREES if 'C(%s)' % d not in text] == []


def test_a_logical_pool_on_a_file_is_refused_before_anything_is_defined(pools, tmp_path):
    """libvirt's build zeroes the first MiB of a regular file before pvcreate refuses it (seen on the lab)."""
    victim = tmp_path / 'data.img'
    victim.write_bytes(b'precious\n' * 100)
    with pytest.raises(VirtualIronError, match='is not a device: give the path of a block device under /dev'):
        converge(pools, type='logical', path=None, volume_group='vi3lvg', devices=[str(victim)])
    assert lookup_pool(pools, NAME) is None
    assert victim.read_bytes() == b'precious\n' * 100
