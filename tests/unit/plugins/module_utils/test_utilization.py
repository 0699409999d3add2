# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.host.utilization import cpu_percent, server_figures


@pytest.mark.parametrize('first, second, elapsed, vcpus, expected', [
    (0, 10 ** 9, 1.0, 1, 100.0),            # one vCPU busy for the whole second
    (10 ** 9, 2 * 10 ** 9, 1.0, 2, 50.0),   # one second of CPU over two vCPUs
    (0, 3 * 10 ** 9, 2.0, 4, 37.5),
    (5 * 10 ** 9, 5 * 10 ** 9, 10.0, 2, 0.0),
    (0, 10 ** 9, 3.0, 1, 33.3),             # rounded to one decimal
    (0, 10 ** 9, 0, 1, None),               # no time elapsed
    (0, 10 ** 9, -1.0, 1, None),
    (0, 10 ** 9, 1.0, 0, None),             # a stopped server has no vCPUs online
    (0, 10 ** 9, 1.0, None, None),
])
def test_cpu_percent(first, second, elapsed, vcpus, expected):
    assert cpu_percent(first, second, elapsed, vcpus) == expected


def test_server_figures():
    stats = {'state.state': 1, 'cpu.time': 12345678901, 'cpu.user': 1, 'vcpu.current': 2, 'vcpu.maximum': 4,
             'balloon.current': 2097152, 'balloon.maximum': 4194304, 'balloon.rss': 1048576}
    assert server_figures(stats) == {'cpu_time_seconds': 12.346, 'vcpus_online': 2,
                                     'memory_current_bytes': 2 * 1024 ** 3, 'memory_rss_bytes': 1024 ** 3}


def test_server_figures_of_a_stopped_server():
    assert server_figures({'state.state': 5}) == {'cpu_time_seconds': 0.0, 'vcpus_online': None,
                                                  'memory_current_bytes': None, 'memory_rss_bytes': None}
