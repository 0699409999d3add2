#!/usr/bin/env bash
# The hypervisors inventory plugin on the lab, through ansible-inventory --list and --graph.
# The lab's hosts come from integration_config.yml (scripts/test writes it from the lab's lab-vars.yml),
# which ansible-test gives to role targets only: a script target reads it itself.
set -eux
config=../../integration_config.yml
ansible-playbook inventory.yml -i localhost, -c local -e "ansible_python_interpreter=$(command -v python)" \
  -e "@$config" "$@"
