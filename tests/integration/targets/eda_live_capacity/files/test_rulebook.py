# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The test's rulebook: the shipped one, unchanged, plus a rule that records our server's events (every rule that
matches runs, so the shipped rule still runs the playbook). Usage: test_rulebook.py SHIPPED OUT SERVER RECORDER DIR"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import yaml

shipped, out, server, recorder, record_dir = sys.argv[1:6]
with open(shipped) as f:
    rulesets = yaml.safe_load(f)
ruleset = rulesets[0]
ruleset['match_multiple_rules'] = True
for rule in ruleset['rules']:
    # The playbooks' task results in ansible-rulebook's output, for the test's log.
    rule['action'].get('run_playbook', {})['verbosity'] = 1
ruleset['rules'].insert(0, {
    'name': 'Record the events of %s' % server,
    'condition': 'event.live_capacity.server == "%s"' % server,
    'action': {'run_playbook': {'name': recorder, 'extra_vars': {'record_dir': record_dir}}}})
with open(out, 'w') as f:
    yaml.safe_dump(rulesets, f, sort_keys=False)
