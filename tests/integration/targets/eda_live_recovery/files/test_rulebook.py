# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The test's rulebook: the shipped one, its rules unchanged, plus a last rule that records every event of the
source (every rule that matches runs, in order, so the shipped rules run first). With STAND_IN, the shipped
rule runs that playbook instead of virtualiron.infra.recover, with DIR as record_dir. Usage: test_rulebook.py SHIPPED OUT RECORDER DIR [STAND_IN]"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import yaml

shipped, out, recorder, record_dir = sys.argv[1:5]
stand_in = sys.argv[5] if len(sys.argv) > 5 else None
with open(shipped) as f:
    rulesets = yaml.safe_load(f)
ruleset = rulesets[0]
ruleset['match_multiple_rules'] = True
for rule in ruleset['rules']:
    playbook = rule['action'].get('run_playbook')
    if playbook is not None:
        playbook['verbosity'] = 1  # the playbooks' task results in ansible-rulebook's output, for the test's log
        if stand_in:
            playbook['name'] = stand_in
            playbook['extra_vars']['record_dir'] = record_dir
ruleset['rules'].append({
    'name': 'Record the event',
    'condition': 'event.live_recovery is defined',
    'action': {'run_playbook': {'name': recorder, 'extra_vars': {'record_dir': record_dir}}}})
with open(out, 'w') as f:
    yaml.safe_dump(rulesets, f, sort_keys=False)
