# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Converging N running virtual servers with this collection and with community.libvirt, in one run.

Run with the lab up:  . scripts/env.sh && python benchmarks/converge_servers.py [--count 50]
The peer (community.libvirt, from the `ansible` package) runs from a venv of its own (benchmarks/peer.py,
made on first use). Each side creates and starts the servers, then re-runs with nothing to change;
everything is removed between the two sides, and at the end with the disks. Prints each figure, then peer / ours.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

import libvirt
import yaml

import peer

IDLE_SECTOR = bytes.fromhex('FAF4EBFD') + bytes(506) + b'\x55\xaa'
# What virtual_server defines for such a server, for community.libvirt's virt module, which takes XML.
PEER_XML = """<domain type='kvm'><name>{name}</name><memory unit='MiB'>16</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type><boot dev='hd'/></os><devices>
<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{disk}'/>
<target dev='vda' bus='virtio'/></disk></devices></domain>"""


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
    return plays([task])


def peer_playbook(uri, servers):
    """community.libvirt's way: a loop that defines each server from its XML, and a loop that starts it."""
    items = [{'name': s['name'], 'xml': PEER_XML.format(name=s['name'], disk=s['disks'][0]['path'])} for s in servers]
    return plays([
        {'community.libvirt.virt': {'uri': uri, 'command': 'define', 'xml': '{{ item.xml }}'}, 'loop': items},
        {'community.libvirt.virt': {'uri': uri, 'name': '{{ item.name }}', 'state': 'running'}, 'loop': items},
    ])


def plays(tasks):
    return [{'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}]


def run_playbook(plays_, workdir, python=sys.executable, env=None):
    """Wall seconds of ansible-playbook (the first on env's PATH) over plays_, modules run by python."""
    path = os.path.join(workdir, 'play.yml')
    with open(path, 'w') as handle:
        yaml.safe_dump(plays_, handle)
    started = time.time()
    subprocess.run(['ansible-playbook', '-i', 'localhost,', '-c', 'local',
                    '-e', 'ansible_python_interpreter=' + python, path],
                   check=True, stdout=subprocess.DEVNULL, env=env)
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


def converge_with_peer(args, servers, workdir):
    venv = peer.peer_venv()
    env, python = peer.environ(venv), os.path.join(venv, 'bin', 'python')
    first = run_playbook(peer_playbook(args.uri, servers), workdir, python, env)
    time.sleep(args.settle)
    return first, run_playbook(peer_playbook(args.uri, servers), workdir, python, env)


def converge_with_ours(args, servers, workdir):
    first = run_playbook(playbook(args.uri, servers, 'running', False), workdir)
    time.sleep(args.settle)
    return (first, run_playbook(playbook(args.uri, servers, 'running', False), workdir),
            run_playbook(playbook(args.uri, servers, 'running', True), workdir))


def remove(args, names, workdir):
    return run_playbook(playbook(args.uri, [{'name': n} for n in names], 'absent', False), workdir)


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
            startup = run_playbook(plays([{'ansible.builtin.meta': 'noop'}]), workdir)
            peer_first, peer_again = converge_with_peer(args, servers, workdir)
            remove(args, names, workdir)
            first, again, looped = converge_with_ours(args, servers, workdir)
            floor = libvirt_check(args.uri, names)
        finally:
            removed = remove(args, names, workdir)
            for name in names:
                os.remove(os.path.join(args.disk_dir, name + '.raw'))
    report(args, [
        ('ansible-playbook start-up, one no-op task', startup, None),
        ('create and start', first, peer_first),
        ('re-run, no change (ours: one task, servers)', again, peer_again),
        ('re-run, no change, a loop of %d tasks (ours)' % args.count, looped, peer_again),
        ('libvirt alone: definition and state of each', floor, None),
        ('power off and remove, one task (servers)', removed, None),
    ])


def report(args, figures):
    print('%d virtual servers on %s; community.libvirt: a define loop and a state loop' % (args.count, args.uri))
    print('  %-48s %9s %9s %7s' % ('', 'ours', 'peer', 'peer/ours'))
    for label, ours, theirs in figures:
        if theirs is None:
            print('  %-48s %7.2f s' % (label, ours))
        else:
            print('  %-48s %7.2f s %7.2f s %6.1fx' % (label, ours, theirs, theirs / ours))


if __name__ == '__main__':
    main()
