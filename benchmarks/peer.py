# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The peer the benchmarks compare with: community.libvirt, as the `ansible` package bundles it, in a venv
of its own (made once with pip, then reused) under $VIRTUALIRON_CACHE or ~/.cache/virtualiron.

Run alone to make the venv:  python benchmarks/peer.py
"""

import os
import subprocess
import sys

# The bundle of the same ansible-core as this collection's venv, so that only the collections differ.
PACKAGES = ('ansible>=12,<13', 'libvirt-python', 'lxml')


def cache_dir():
    return os.environ.get('VIRTUALIRON_CACHE') or os.path.join(
        os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'), 'virtualiron')


def peer_venv():
    """The peer's venv directory, made (or remade, when PACKAGES changed) first if needed."""
    venv = os.path.join(cache_dir(), 'peer-venv')
    stamp = os.path.join(venv, 'packages.txt')
    wanted = '\n'.join(PACKAGES) + '\n'
    if os.path.exists(stamp):
        with open(stamp) as handle:
            if handle.read() == wanted:
                return venv
    print('making %s with %s (once)' % (venv, ', '.join(PACKAGES)), file=sys.stderr)
    subprocess.run([sys.executable, '-m', 'venv', '--clear', venv], check=True)
    subprocess.run([os.path.join(venv, 'bin', 'python'), '-m', 'pip', 'install', '-q'] + list(PACKAGES), check=True)
    with open(stamp, 'w') as handle:
        handle.write(wanted)
    return venv


def environ(venv, base=None):
    """The environment to run the venv's Ansible in: its commands first on PATH, and no setting of ours
    that could make it load this collection or enable only our inventory plugin."""
    env = dict(base if base is not None else os.environ)
    for name in ('ANSIBLE_COLLECTIONS_PATH', 'ANSIBLE_INVENTORY_ENABLED', 'VIRTUAL_ENV'):
        env.pop(name, None)
    env['PATH'] = os.path.join(venv, 'bin') + os.pathsep + env.get('PATH', '')
    return env


if __name__ == '__main__':
    print(peer_venv())
