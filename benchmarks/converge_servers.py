# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How long converging N running virtual servers takes, and how much of it is Ansible's overhead.

Run with the lab up:  . scripts/env.sh && python benchmarks/converge_servers.py [--count 50]
Prints one line per measurement. Leaves nothing behind (the servers are removed at the end).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

import libvirt
import yaml

IDLE_SECTOR = bytes.fromhex('FAF4EBFD') + bytes(506) + b'\x55\xaa'


def make_disks(directory, names):
    os.makedirs(directory, exist_ok=True)
    for name in names:
        with open(os.path.join(directory, name + '.raw'), 'wb') as disk:
            disk.write(IDLE_SECTOR + bytes(1024 * 1024 - 512))


def server(name, disk_dir):
    return {'name': name, 'memory': '16MiB', 'disks': [{'path': os.path.join(disk_dir, name + '.raw')}]}


def playbook(uri, servers, state, looped):
    task = {'virtualiron.infra.virtual_server': {'uri': uri, 'state': state, 'force': True, 'shutdown_timeout': 0}}
    if looped:
        task['virtualiron.infra.virtual_server'].update(
            name='{{ item.name }}', memory='{{ item.memory }}', disks='{{ item.disks }}')
        task['loop'] = servers
    else:
        task['virtualiron.infra.virtual_server']['servers'] = servers
    return [{'hosts': 'localhost', 'gather_facts': False, 'tasks': [task]}]


def run_playbook(plays, workdir):
    path = os.path.join(workdir, 'play.yml')
    with open(path, 'w') as handle:
        yaml.safe_dump(plays, handle)
    started = time.time()
    subprocess.run(['ansible-playbook', '-i', 'localhost,', '-c', 'local',
                    '-e', 'ansible_python_interpreter=' + sys.executable, path],
                   check=True, stdout=subprocess.DEVNULL)
    return time.time() - started


def libvirt_check(uri, names):
    """The floor: read the definition and state of every server through libvirt, nothing else."""
    conn = libvirt.open(uri)
    started = time.time()
    for name in names:
        dom = conn.lookupByName(name)
        dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        dom.state()
    elapsed = time.time() - started
    conn.close()
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--count', type=int, default=50)
    parser.add_argument('--uri', default='qemu+tcp://10.213.0.11/system')
    parser.add_argument('--disk-dir', default='/var/lib/virtualiron-lab/shared/benchmark')
    parser.add_argument('--settle', type=float, default=30,
                        help='seconds to let the new guests finish booting (firmware start-up loads the CPU)')
    args = parser.parse_args()
    names = ['bench-%03d' % i for i in range(args.count)]
    servers = [server(n, args.disk_dir) for n in names]
    make_disks(args.disk_dir, names)
    with tempfile.TemporaryDirectory() as workdir:
        try:
            figures = [
                ('ansible-playbook start-up, one no-op task',
                 run_playbook([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [{'ansible.builtin.meta': 'noop'}]}],
                              workdir)),
                ('create and start, one task (servers)', run_playbook(playbook(args.uri, servers, 'running', False), workdir)),
            ]
            time.sleep(args.settle)
            figures += [
                ('re-run, one task (servers), no change', run_playbook(playbook(args.uri, servers, 'running', False), workdir)),
                ('re-run, a loop of %d tasks, no change' % args.count,
                 run_playbook(playbook(args.uri, servers, 'running', True), workdir)),
                ('libvirt alone: definition and state of each', libvirt_check(args.uri, names)),
            ]
        finally:
            removed = run_playbook(playbook(args.uri, [{'name': n} for n in names], 'absent', False), workdir)
    figures.append(('power off and remove, one task (servers)', removed))
    print('%d virtual servers on %s' % (args.count, args.uri))
    for label, seconds in figures:
        print('  %-48s %7.2f s' % (label, seconds))


if __name__ == '__main__':
    main()
