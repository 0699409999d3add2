# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""From a guest turning busy to its LiveCapacity move finished, split into window, sampling and migration.

Run with the lab up (nothing else busy on it):  . scripts/env.sh && python benchmarks/live_capacity.py
    [--minutes 1] [--interval 5]
Defines two idle OS-less guests on the first lab host (vi12-bench-*, on the shared storage, with the policy
"more capacity when CPU % > 80 for --minutes"), samples both lab hosts every --interval seconds into a history of
its own, and at a moment t0 turns both guests busy (a reset onto a looping boot sector). Then it runs a
LiveCapacity cycle after each sample, as playbooks/live_capacity.yml does from a schedule, until one guest moved,
and prints: the policy's window, when the condition first held (window and sampling), the decision, the
migration, the total from t0, and the guests' CPU % in each sample (a sample under the threshold restarts the
window). Removes its guests, disks and files at the end.
"""

import argparse
import os
import shutil
import tempfile
import time

import libvirt
import yaml

from ansible.plugins.loader import init_plugin_loader

init_plugin_loader()  # makes ansible_collections.* importable from ANSIBLE_COLLECTIONS_PATH (scripts/env.sh)
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity import cycle  # noqa: E402
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.sampling import sample_and_record  # noqa: E402

PREFIX = 'vi12-bench-'
IDLE, BUSY = bytes.fromhex('FAF4EBFD'), bytes.fromhex('EBFE')
DOMAIN = """<domain type='{kind}'><name>{name}</name><memory unit='MiB'>16</memory><vcpu>1</vcpu>
<metadata><virtualiron:server xmlns:virtualiron="https://virtualiron.example/xmlns/server/1">
<capacity direction="more" threshold="80" minutes="{minutes}"/><capacity direction="less" enabled="no"/>
</virtualiron:server></metadata>
<os><type arch='x86_64'>hvm</type><boot dev='hd'/></os><devices>
<disk type='file' device='disk'><driver name='qemu' type='raw' cache='none'/><source file='{disk}'/>
<target dev='vda' bus='virtio'/></disk></devices></domain>"""


def write_sector(path, code):
    with open(path, 'wb') as handle:
        handle.write(code + bytes(510 - len(code)) + b'\x55\xaa' + bytes(1024 * 1024 - 512))


def params(hosts, workdir, interval):
    return {'hosts': hosts, 'history': os.path.join(workdir, 'history.sqlite'),
            'events': os.path.join(workdir, 'events.jsonl'), 'interval': interval, 'tag_policies': {},
            'group_policies': {}, 'groups': {}, 'host_policies': {}, 'margin': 10.0, 'improvement': 10.0,
            'cooldown_minutes': 30.0, 'consolidate': False, 'maintenance_emptied': False, 'memory_overcommit': 1.0,
            'vcpu_overcommit': 4.0, 'concurrency': 1, 'connect_timeout': 20, 'storage': 'shared', 'live': True,
            'bandwidth': None, 'max_downtime': None, 'auto_converge': False, 'timeout': None,
            'timeout_action': 'abort'}


def run(hosts, names, disks, args, workdir):
    given = params(hosts, workdir, args.interval)
    for _round in range(3):   # a little history of the idle guests first
        sample_and_record(hosts, args.interval, given['history'], 86400)
    for disk in disks:
        write_sector(disk, BUSY)
    conn = libvirt.open(hosts[0]['uri'])
    started = time.time()
    for name in names:
        conn.lookupByName(name).reset()   # reboots onto the busy sector at once
    conn.close()
    held, busy = None, []
    while time.time() - started < args.minutes * 60 * 3 + 120:
        sampled = sample_and_record(hosts, args.interval, given['history'], 86400)
        decided = time.time()
        busy.append([round(s['cpu_percent'] or 0) for s in sampled['samples'] if s['server'] in names])
        converger = cycle.LiveCapacity(given)
        result = converger.run()
        if held is None and result['plan']['conditions']:
            held = decided
        if result['results']:
            moved = result['results'][0]
            finished = time.time()
            return {'window': args.minutes * 60, 'held': held - started, 'decision': finished - decided -
                    moved['duration_seconds'], 'migration': moved['duration_seconds'], 'total': finished - started,
                    'busy': busy}
    raise SystemExit('nothing moved within the time allowed')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--minutes', type=float, default=1.0, help="the policy's window")
    parser.add_argument('--interval', type=float, default=5.0, help='seconds between samples')
    parser.add_argument('--lab-vars', default='/var/lib/virtualiron-lab/lab-vars.yml')
    args = parser.parse_args()
    with open(args.lab_vars) as handle:
        lab = yaml.safe_load(handle)
    hosts = [{'name': h['name'], 'uri': h['uri']} for h in lab['lab_hosts'][:2]]
    kind = 'kvm' if lab.get('lab_kvm') else 'qemu'
    names = [PREFIX + str(i) for i in (1, 2)]
    disks = [os.path.join(lab['lab_shared_dir'], name + '.raw') for name in names]
    workdir = tempfile.mkdtemp(prefix='vi12-bench-')
    conn = libvirt.open(hosts[0]['uri'])
    try:
        for name, disk in zip(names, disks):
            write_sector(disk, IDLE)
            conn.defineXML(DOMAIN.format(kind=kind, name=name, disk=disk, minutes=args.minutes)).create()
        figures = run(hosts, names, disks, args, workdir)
        print('from a guest turning busy to its move finished (policy: CPU %% > 80 for %g min, samples every %g s)'
              % (args.minutes, args.interval))
        print('  %-52s %7.1f s' % ("the policy's window", figures['window']))
        print('  %-52s %7.1f s' % ('until the condition held (window, then sampling)', figures['held']))
        print('  %-52s %7.1f s' % ('the decision (reading the rack and history, deciding)', figures['decision']))
        print('  %-52s %7.1f s' % ('the live migration', figures['migration']))
        print('  %-52s %7.1f s' % ('total, from busy to moved', figures['total']))
        print("  the busy guests' CPU %% in each sample: %s" % ' '.join('/'.join(map(str, b)) for b in figures['busy']))
    finally:
        for host in hosts:
            other = libvirt.open(host['uri'])
            for name in names:
                try:
                    dom = other.lookupByName(name)
                    if dom.isActive():
                        dom.destroy()
                    dom.undefine()
                except libvirt.libvirtError:
                    pass
            other.close()
        conn.close()
        for disk in disks:
            if os.path.exists(disk):
                os.remove(disk)
        shutil.rmtree(workdir)


if __name__ == '__main__':
    main()
