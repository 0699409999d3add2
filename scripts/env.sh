# Shared by the scripts: where the Python environment and the collection path live.
# shellcheck shell=bash
: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
export HOME
VIRTUALIRON_CACHE=${VIRTUALIRON_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtualiron}
VIRTUALIRON_VENV=${VIRTUALIRON_VENV:-$VIRTUALIRON_CACHE/venv}
VIRTUALIRON_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# ansible finds the collection through a collections path that links to this checkout (one per
# checkout, so that two clones never run each other's code).
VIRTUALIRON_COLLECTIONS=$VIRTUALIRON_CACHE/collections-$(printf '%s' "$VIRTUALIRON_REPO" | md5sum | cut -c1-12)
export VIRTUALIRON_CACHE VIRTUALIRON_VENV VIRTUALIRON_REPO VIRTUALIRON_COLLECTIONS
export PATH="$VIRTUALIRON_VENV/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH=$VIRTUALIRON_COLLECTIONS
