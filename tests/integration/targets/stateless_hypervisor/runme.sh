#!/usr/bin/env bash
# A stateless hypervisor node on the lab: a node (TCG guest on a lab host, with an emulated Redfish BMC) is
# discovered by playbooks/provision_bare_metal.yml with `then: hypervisor`, reset into the hypervisor image, shows up
# in the inventory's group `hypervisors`, and takes a live migration (storage copied) from the lab host.
# A script target, since it runs ansible-playbook and ansible-inventory itself; it reads the lab's hosts from
# integration_config.yml (scripts/test writes it from the lab's lab-vars.yml).
set -eux
config=../../integration_config.yml
ansible-playbook hypervisor.yml -i localhost, -c local -e "ansible_python_interpreter=$(command -v python)" \
  -e "@$config" "$@"
