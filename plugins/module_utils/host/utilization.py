# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CPU and memory figures from libvirt's bulk domain statistics (one call for every server)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


def server_figures(stats):
    """One virDomainGetStats record (cpu, balloon, vcpu groups) -> figures in the user's units."""
    figures = {
        'cpu_time_seconds': round(stats.get('cpu.time', 0) / 1e9, 3),
        'vcpus_online': stats.get('vcpu.current'),
        'memory_current_bytes': stats['balloon.current'] * 1024 if 'balloon.current' in stats else None,
        'memory_rss_bytes': stats['balloon.rss'] * 1024 if 'balloon.rss' in stats else None,
    }
    return figures


def cpu_percent(first_ns, second_ns, elapsed_seconds, vcpus):
    """Share of the server's vCPUs busy between two cpu.time samples: 100 = every vCPU fully busy."""
    if elapsed_seconds <= 0 or not vcpus:
        return None
    return round(100.0 * (second_ns - first_ns) / 1e9 / elapsed_seconds / vcpus, 1)
