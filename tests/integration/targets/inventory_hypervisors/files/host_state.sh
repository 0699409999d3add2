#!/usr/bin/env bash
# Prints true or false: is the lab host at URI $1 in maintenance, read from the libvirt secret the
# collection keeps its state in (host_state.py), with virsh, not with the collection's code.
set -euo pipefail
uuid=$(virsh -c "$1" secret-list | awk '/virtualiron-host-state/ {print $1}')
if [ -z "$uuid" ]; then echo false; exit 0; fi
value=$(virsh -c "$1" secret-get-value "$uuid" 2>/dev/null | base64 -d || true)
python3 -c 'import json, sys; print(str(bool(json.loads(sys.argv[1] or "{}").get("maintenance"))).lower())' "$value"
