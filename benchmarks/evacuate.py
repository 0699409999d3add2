# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How long evacuating a host running N guests on shared storage takes, serially and N at a time, and
what the live_migrate module costs per migration over a bare libvirt migration, in the same run.

Run with the lab up (3 hosts: scripts/lab up --hosts 3):
    . scripts/env.sh && python benchmarks/evacuate.py [--count 10] [--concurrency 4]
The last lab host is evacuated to the others; only this benchmark's guests (vi5-bench-*) are moved, and
the host leaves maintenance again. Prints one line per measurement. Leaves nothing behind.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import libvirt
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IDLE_SECTOR = bytes.fromhex('FAF4EBFD') + bytes(506) + b'\x55\xaa'
FLAGS = libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
DOMAIN = """<domain type='kvm'><name>{name}</name><memory unit='MiB'>16</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type><boot dev='hd'/></os><devices>
<disk type='file' device='disk'><driver name='qemu' type='raw' cache='none'/>
<source file='{disk}'/><target dev='vda' bus='virtio'/></disk></devices></domain>"""


def make_guests(conn, names, disk_dir):
    os.makedirs(disk_dir, exist_ok=True)
    for name in names:
        disk = os.path.join(disk_dir, name + '.raw')
        with open(disk, 'wb') as handle:
            handle.write(IDLE_SECTOR + bytes(1024 * 1024 - 512))
        conn.defineXML(DOMAIN.format(name=name, disk=disk)).create()


def guests_on(conn, names):
    """The benchmark's guests that a host has."""
    for name in names:
        try:
            yield conn.lookupByName(name)
        except libvirt.libvirtError:
            continue


def remove_guests(uris, names):
    for uri in uris:
        conn = libvirt.open(uri)
        for dom in guests_on(conn, names):
            if dom.isActive():
                dom.destroy()
            dom.undefine()
        conn.close()


def bare_moves(sources, destination, names):
    """Move the guests found on the sources to the destination with bare libvirt migrations, one at a
    time; their durations."""
    target = libvirt.open(destination)
    durations = []
    for uri in sources:
        conn = libvirt.open(uri)
        for dom in guests_on(conn, names):
            started = time.time()
            dom.migrate3(target, {}, FLAGS)
            durations.append(time.time() - started)
        conn.close()
    target.close()
    return durations


def collection_path(workdir):
    """A collections path holding this checkout, for ansible-playbook and for importing its module_utils."""
    path = os.path.join(workdir, 'collections')
    os.makedirs(os.path.join(path, 'ansible_collections', 'virtualiron'))
    os.symlink(REPO, os.path.join(path, 'ansible_collections', 'virtualiron', 'infra'))
    return path


def interleaved(home, destination, names):
    """Each guest moves with a bare migration and with the module's code (migrate_server, what the module
    runs after Ansible hands it the options), alternately, so that load on the machine hits both alike."""
    from ansible_collections.virtualiron.infra.plugins.module_utils.migration.move import migrate_server
    from ansible_collections.virtualiron.infra.plugins.module_utils.migration.options import DEFAULT_OPTIONS
    bare, module = [], []
    for name in names:
        bare += bare_moves([home], destination, [name])
        bare_moves([destination], home, [name])
        started = time.time()
        migrate_server(home, destination, name, dict(DEFAULT_OPTIONS))
        module.append(time.time() - started)
        bare_moves([destination], home, [name])
    return bare, module


def run_play(tasks, workdir):
    """Runs one play of tasks; returns (wall seconds, results of registered tasks)."""
    path = os.path.join(workdir, 'play.yml')
    out = os.path.join(workdir, 'results.json')
    tasks = tasks + [{'ansible.builtin.copy': {'content': '{{ {"r": r} | to_json }}', 'dest': out}}]
    with open(path, 'w') as handle:
        yaml.safe_dump([{'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}], handle)
    started = time.time()
    subprocess.run(['ansible-playbook', '-i', 'localhost,', '-c', 'local',
                    '-e', 'ansible_python_interpreter=' + sys.executable, path],
                   check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(workdir, 'collections')))
    elapsed = time.time() - started
    with open(out) as handle:
        return elapsed, json.load(handle)['r']


def evacuate(home, others, names, concurrency, workdir):
    task = {'virtualiron.infra.host_maintenance': {
        'uri': home, 'evacuate': True, 'destinations': others, 'servers': names,
        'concurrency': concurrency, 'vcpu_overcommit': 100, 'reason': 'benchmark'}, 'register': 'r'}
    leave = {'virtualiron.infra.host_maintenance': {'uri': home, 'state': 'absent'}}
    elapsed, result = run_play([task, leave], workdir)
    assert not result['not_moved'], result['not_moved']
    return elapsed, result['duration_seconds']


def module_moves(home, destination, names, workdir):
    task = {'virtualiron.infra.live_migrate': {'uri': home, 'destination': destination, 'name': '{{ item }}'},
            'loop': names, 'register': 'r'}
    return run_play([task], workdir)[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--count', type=int, default=10)
    parser.add_argument('--concurrency', type=int, default=4)
    parser.add_argument('--lab-vars', default='/var/lib/virtualiron-lab/lab-vars.yml')
    args = parser.parse_args()
    with open(args.lab_vars) as handle:
        lab = yaml.safe_load(handle)
    uris = [h['uri'] for h in lab['lab_hosts']]
    home, others = uris[-1], uris[:-1]
    names = ['vi5-bench-%02d' % i for i in range(args.count)]
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    remove_guests(uris, names)
    disk_dir = os.path.join(lab['lab_shared_dir'], 'vi5-bench')
    conn = libvirt.open(home)
    make_guests(conn, names, disk_dir)
    conn.close()
    time.sleep(3)  # firmware start-up
    print('evacuating %s (%d guests of 16 MiB, shared storage) to %s' % (home, args.count, ', '.join(others)))
    try:
        with tempfile.TemporaryDirectory() as workdir:
            sys.path.insert(0, collection_path(workdir))
            for concurrency in (1, args.concurrency):
                wall, inside = evacuate(home, others, names, concurrency, workdir)
                print('evacuation, concurrency %d: %.2f s in the module (%.2f s for ansible-playbook, 2 tasks)'
                      % (concurrency, inside, wall))
                bare_moves(others, home, names)
            bare, module = interleaved(home, others[0], names)
            wall = module_moves(home, others[0], names, workdir)
            bare_moves([others[0]], home, names)
            empty = run_play([{'ansible.builtin.set_fact': {'r': {}}}], workdir)[0]
            per_task = (wall - empty) / len(names)
            print('bare libvirt migration (virDomainMigrate3, same flags, same hosts): median %.3f s over %d'
                  % (statistics.median(bare), len(bare)))
            print("the module's code (connections, pre-flight checks, move, verification), interleaved with "
                  'the bare ones: median %.3f s' % statistics.median(module))
            print('live_migrate as Ansible tasks: %.3f s per looped task (%d tasks in %.2f s, less %.2f s for '
                  'ansible-playbook with one trivial task)' % (per_task, len(names), wall, empty))
            print('module overhead per migration over bare libvirt: %+.3f s in its code, %+.3f s per Ansible task'
                  % (statistics.median(module) - statistics.median(bare), per_task - statistics.median(bare)))
    finally:
        remove_guests(uris, names)
        shutil.rmtree(disk_dir, ignore_errors=True)


if __name__ == '__main__':
    main()
