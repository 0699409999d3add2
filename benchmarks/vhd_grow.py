# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How long growing a VHD takes: a 10 GiB dynamic and a 10 GiB fixed disk, each grown to 20 GiB.

Each disk holds --data MiB written by qemu-io from offset 0 (so the dynamic disk's first data blocks lie
where its block allocation table must grow, and are moved). Timed: the collection's VHD library
(vhd.grow) alone, a virtual_disk task (ansible-playbook, with Ansible's start-up), and the same task run
again when there is nothing to do (module-noop: Ansible's and the module's own overhead). Each grow is checked
with qemu-img (new size; old contents unchanged) outside the timing.

Run:  . scripts/env.sh && python benchmarks/vhd_grow.py [--dir /var/tmp] [--runs 5] [--data 256]
Needs qemu-img and qemu-io. The module run needs a libvirt URI (--uri, default qemu:///system, the lab's
qemu+tcp://10.213.0.11/system works): it only asks the host which servers use the disk.
Leaves nothing behind.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from converge_servers import run_playbook  # this directory is on sys.path when the script runs

GIB = 1024 ** 3


def collection_path():
    try:
        return os.environ['VIRTUALIRON_COLLECTIONS']
    except KeyError:
        sys.exit('run it after ". scripts/env.sh", which sets VIRTUALIRON_COLLECTIONS')


def make_disk(path, vhd_type, data_mib):
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'vpc', '-o', 'subformat=%s,force_size=on' % vhd_type,
                    path, '10G'], check=True)
    if data_mib:
        subprocess.run(['qemu-io', '-f', 'vpc', '-c', 'write -P 0x5a 0 %dM' % data_mib, path],
                       check=True, stdout=subprocess.DEVNULL)


def check(path, data_mib, size):
    info = subprocess.run(['qemu-img', 'info', '-f', 'vpc', '--output', 'json', path],
                          check=True, capture_output=True, text=True).stdout
    assert '"virtual-size": %d' % size in info, info
    if data_mib:
        subprocess.run(['qemu-io', '-f', 'vpc', '-r', '-c', 'read -P 0x5a 0 %dM' % data_mib, path],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run(['qemu-io', '-f', 'vpc', '-r', '-c', 'read -P 0 %dM 64M' % data_mib, path],
                       check=True, stdout=subprocess.DEVNULL)


def time_library(path):
    sys.path.insert(0, collection_path())
    from ansible_collections.virtualiron.infra.plugins.module_utils.disk import vhd
    started = time.perf_counter()
    vhd.grow(path, 20 * GIB)
    return time.perf_counter() - started


def time_module(path, uri, workdir):
    return run_playbook([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'virtualiron.infra.virtual_disk': {'uri': uri, 'path': path, 'size': '20GiB'}}]}], workdir)


def measure(args, workdir, vhd_type, how):
    """Times of `how` (library, module, or module-noop: the same task once more, which changes nothing)."""
    times = []
    for run in range(args.runs):
        path = os.path.join(workdir, 'vi3d-bench-%s-%d.vhd' % (vhd_type, run))
        make_disk(path, vhd_type, args.data)
        if how == 'library':
            times.append(time_library(path))
        else:
            times.append(time_module(path, args.uri, workdir))
            if how == 'module-noop':
                times[-1] = time_module(path, args.uri, workdir)
        check(path, args.data, 20 * GIB)
        os.unlink(path)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--dir', default='/var/tmp', help='where the test disks go (sparse files)')
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--data', type=int, default=256, help='MiB written at the start of each disk')
    parser.add_argument('--uri', default='qemu:///system')
    args = parser.parse_args()
    os.environ['ANSIBLE_COLLECTIONS_PATH'] = collection_path()
    workdir = tempfile.mkdtemp(prefix='vi3d-bench-', dir=args.dir)
    try:
        for vhd_type in ('dynamic', 'fixed'):
            for how in ('library', 'module', 'module-noop'):
                times = measure(args, workdir, vhd_type, how)
                print('10 GiB %-7s VHD -> 20 GiB, %d MiB of data, %-11s: median %.3f s (min %.3f, max %.3f, %d runs)'
                      % (vhd_type, args.data, how, statistics.median(times), min(times), max(times), len(times)))
    finally:
        shutil.rmtree(workdir)


if __name__ == '__main__':
    main()
