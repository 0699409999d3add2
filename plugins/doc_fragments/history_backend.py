# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    # The options of the modules that read the utilization history (capacity/prometheus.py's argument spec).
    DOCUMENTATION = r'''
options:
  history_backend:
    description:
      - Where the utilization history is read from.
      - V(sqlite) is the file O(history) that M(virtualiron.infra.utilization) records.
      - V(prometheus) is the Prometheus server O(prometheus_url), which scrapes C(prometheus-libvirt-exporter)
        on each host (and C(prometheus-node-exporter), for the hosts' own rows); the figures are computed from the
        exporter's counters as M(virtualiron.infra.utilization) computes them. See C(docs/capacity-history.md) for
        the scrape config.
    type: str
    choices: [sqlite, prometheus]
    default: sqlite
  prometheus_url:
    description: The Prometheus server's URL, such as V(https://prometheus.example.com:9090).
    type: str
  prometheus_step:
    description:
      - Seconds between the readings of the exporter's counters; each sample is the rate over one step. Use the
        scrape interval or a multiple of it.
      - Defaults to O(virtualiron.infra.live_capacity#module:interval) in M(virtualiron.infra.live_capacity), and
        to 60 in M(virtualiron.infra.utilization_info).
    type: float
  prometheus_host_label:
    description: The label that names each scrape target's host as the inventory does (set in the scrape config).
    type: str
    default: host
  prometheus_username:
    description: User name for HTTP basic authentication to Prometheus.
    type: str
  prometheus_password:
    description: Password for HTTP basic authentication to Prometheus.
    type: str
  prometheus_token:
    description: Bearer token sent to Prometheus (instead of a user name and password).
    type: str
  validate_certs:
    description: Whether Prometheus's TLS certificate is checked. Only V(false) on a lab.
    type: bool
    default: true
'''
