#!/usr/bin/env bash
# Bare-metal discovery on the lab: the pxe_server role, nodes (TCG guests on a lab host) network-booted in parallel
# into the discovery ramdisk, playbooks/provision_bare_metal.yml, and the inventory's `discovered` group.
# A script target, since it runs ansible-playbook and ansible-inventory itself; it reads the lab's hosts from
# integration_config.yml (scripts/test writes it from the lab's lab-vars.yml).
set -eux
config=../../integration_config.yml
ansible-playbook discovery.yml -i localhost, -c local -e "ansible_python_interpreter=$(command -v python)" \
  -e "@$config" "$@"
