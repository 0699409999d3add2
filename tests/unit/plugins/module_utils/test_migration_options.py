# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""migration.options: a move's options and the libvirt flags and parameters they become."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import libvirt
import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.options import (
    DEFAULT_OPTIONS, check_concurrency, migration_flags, migration_options, migration_params)


def options(**changes):
    return dict(DEFAULT_OPTIONS, **changes)


def test_live_flags():
    flags = migration_flags(options(), 'live')
    assert flags & libvirt.VIR_MIGRATE_LIVE and flags & libvirt.VIR_MIGRATE_PERSIST_DEST
    assert flags & libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
    assert not flags & (libvirt.VIR_MIGRATE_NON_SHARED_DISK | libvirt.VIR_MIGRATE_POSTCOPY | libvirt.VIR_MIGRATE_OFFLINE)


def test_option_flags():
    flags = migration_flags(options(storage='copy', auto_converge=True, postcopy=True, parallel_connections=4), 'live')
    for flag in (libvirt.VIR_MIGRATE_NON_SHARED_DISK, libvirt.VIR_MIGRATE_AUTO_CONVERGE,
                 libvirt.VIR_MIGRATE_POSTCOPY, libvirt.VIR_MIGRATE_PARALLEL):
        assert flags & flag


def test_cold_flags():
    flags = migration_flags(options(auto_converge=True), 'cold')
    assert flags & libvirt.VIR_MIGRATE_OFFLINE and not flags & libvirt.VIR_MIGRATE_LIVE
    assert not flags & libvirt.VIR_MIGRATE_AUTO_CONVERGE


def test_params():
    assert migration_params(options(), 'live') == {}
    assert migration_params(options(bandwidth=100, parallel_connections=2), 'live') == {
        libvirt.VIR_MIGRATE_PARAM_BANDWIDTH: 100, libvirt.VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS: 2}
    assert migration_params(options(bandwidth=100), 'cold') == {}


def test_migration_options_fill_what_a_module_lacks():
    assert migration_options({'storage': 'copy', 'timeout': 5, 'uri': 'x'}) == \
        dict(DEFAULT_OPTIONS, storage='copy', timeout=5, connect_timeout=20)
    assert migration_options({'connect_timeout': 3})['connect_timeout'] == 3


@pytest.mark.parametrize('concurrency, message', [(0, 'concurrency must be at least 1, got 0'),
                                                  (-2, 'concurrency must be at least 1, got -2')])
def test_concurrency_must_be_positive(concurrency, message):
    with pytest.raises(VirtualIronError, match=message):
        check_concurrency(concurrency)
    check_concurrency(1)
