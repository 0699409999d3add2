# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""LiveRecovery: kill a lab host running protected servers and time until every one of them runs elsewhere.

Ten OS-less protected guests (64 MiB, priorities 1..10) run on the last of three lab hosts. The host is killed
(scripts/lab poweroff: every process at once, as a power failure), then LiveRecovery restarts them on the two
others, through two paths:
- playbook:  ansible-playbook playbooks/recover.yml started at the kill, as an operator or a schedule would;
- rulebook:  ansible-rulebook with extensions/eda/rulebooks/live_recovery.yml already watching the hosts; its event
             source says the host failed after the grace period, and the rule runs the same playbook.
Each path prints the time from the kill to the last of the ten running elsewhere (polled through libvirt every
0.1 s on the survivors) and the module's own timeline: detection (the grace period the playbook waits; for the
rulebook path the source's detection, taken from the kill to the playbook's start), fencing (the BMC's power-off,
confirmed), placement, starts; plus ansible's own start-up, the rest.

Run:  . scripts/env.sh && python benchmarks/recovery.py [--paths playbook rulebook] [--grace 10] [--servers 10]
Needs the lab with three hosts (scripts/lab up --hosts 3) and, for the rulebook path, scripts/bootstrap's
ansible-rulebook. Leaves nothing behind (the killed host is powered on again).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import libvirt
import yaml

from converge_servers import run_playbook  # this directory is on sys.path when the script runs

LAB = os.environ.get('VIRTUALIRON_LAB_DIR', '/var/lib/virtualiron-lab')
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get('VIRTUALIRON_CACHE', os.path.expanduser('~/.cache/virtualiron'))
PREFIX = 'vi14b-'


def lab_hosts():
    with open(os.path.join(LAB, 'lab-vars.yml')) as handle:
        hosts = yaml.safe_load(handle)['lab_hosts']
    if len(hosts) < 3:
        sys.exit('needs three lab hosts: scripts/lab up --hosts 3')
    return hosts[:3]


def lab(*args):
    subprocess.run([os.path.join(REPO, 'scripts', 'lab')] + list(args), check=True, stdout=subprocess.DEVNULL)


def disks(count):
    path = os.path.join(LAB, 'shared', 'bench-recovery')
    os.makedirs(path, exist_ok=True)
    sector = bytes.fromhex('FAF4EBFD') + bytes(506) + b'\x55\xaa'
    for i in range(count):
        with open(os.path.join(path, '%s%02d.raw' % (PREFIX, i)), 'wb') as handle:
            handle.write(sector + bytes(1024 * 1024 - 512))
    return path


def servers_play(host, count, path, state):
    servers = [{'name': '%s%02d' % (PREFIX, i), 'memory': '64MiB', 'vcpus': 1, 'console': 'none', 'nics': [],
                'disks': [{'path': '%s/%s%02d.raw' % (path, PREFIX, i), 'format': 'raw', 'cache': 'none'}],
                'recovery': {'protected': True, 'priority': i + 1, 'store': 'shared'}, 'state': state,
                'force': True, 'shutdown_timeout': 0} for i in range(count)]
    return [{'hosts': 'localhost', 'gather_facts': False,
             'tasks': [{'virtualiron.infra.virtual_server': {'uri': host['uri'], 'servers': servers}}]}]


def remove_everywhere(hosts, count, path, work):
    for host in hosts:
        run_playbook(servers_play(host, count, path, 'absent'), work)


def running_on(hosts, names):
    """{name: [host names running it]} through libvirt."""
    found = dict((n, []) for n in names)
    for host in hosts:
        conn = libvirt.open(host['uri'])
        try:
            for dom in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
                if dom.name() in found:
                    found[dom.name()].append(host['name'])
        finally:
            conn.close()
    return found


def wait_all_elsewhere(survivors, names, limit=120):
    """Seconds from now until every server runs on exactly one survivor (polled every 0.1 s), or None."""
    started = time.time()
    while time.time() - started < limit:
        where = running_on(survivors, names)
        if all(len(h) == 1 for h in where.values()):
            return time.time()
        time.sleep(0.1)
    return None


def playbook_path(args, hosts, work, events):
    cmd = ['ansible-playbook', '-i', os.path.join(LAB, 'inventory.yml'), os.path.join(REPO, 'playbooks', 'recover.yml'),
           '-e', 'recovery_store=shared', '-e', 'recovery_grace_seconds=%s' % args.grace, '-e', 'recovery_events=' + events,
           '-e', 'ansible_python_interpreter=' + sys.executable]
    killed = time.time()
    lab('poweroff', hosts[2]['name'][3:])
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return killed, time.time()


def rulebook_path(args, hosts, work, events):
    with open(os.path.join(work, 'vars.yml'), 'w') as handle:
        yaml.safe_dump({'live_recovery_hosts': [{'name': h['name'], 'uri': h['uri']} for h in hosts],
                        'recovery_store': 'shared', 'recovery_grace_seconds': args.grace, 'recovery_events': events,
                        'live_recovery_interval': 0.5}, handle)
    inventory = yaml.safe_load(open(os.path.join(LAB, 'inventory.yml')))
    inventory['all'].setdefault('hosts', {})['localhost'] = {
        'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}
    with open(os.path.join(work, 'inventory.yml'), 'w') as handle:
        yaml.safe_dump(inventory, handle)
    java = os.path.dirname(os.path.dirname(os.path.realpath(shutil.which('java'))))
    log = open(os.path.join(work, 'rulebook.log'), 'w')
    rulebook = subprocess.Popen(
        [os.path.join(CACHE, 'eda-venv', 'bin', 'ansible-rulebook'), '-r',
         os.path.join(REPO, 'extensions', 'eda', 'rulebooks', 'live_recovery.yml'), '-i', 'inventory.yml',
         '--vars', 'vars.yml', '-v'], cwd=work, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env=dict(os.environ, JAVA_HOME=java))
    try:
        deadline = time.time() + 90
        while 'Waiting for events' not in open(log.name).read():
            if rulebook.poll() is not None or time.time() > deadline:
                sys.exit('ansible-rulebook did not start: see %s' % log.name)
            time.sleep(0.2)
        time.sleep(2)  # its source has probed every host
        killed = time.time()
        lab('poweroff', hosts[2]['name'][3:])
        done = wait_all_elsewhere(hosts[:2], names(args))
        deadline = time.time() + 30  # the playbook logs the run once it has saved where the servers run
        while time.time() < deadline and '"recovery.run"' not in (open(events).read() if os.path.exists(events) else ''):
            time.sleep(0.2)
    finally:
        os.killpg(rulebook.pid, 15)
        rulebook.wait()
    return killed, done


def names(args):
    return ['%s%02d' % (PREFIX, i) for i in range(args.servers)]


def report(path, killed, done, events):
    """The kill-to-running time and the run's timeline, from the event log the module wrote."""
    with open(events) as handle:
        lines = [json.loads(line) for line in handle]
    run = [e for e in lines if e['kind'] == 'recovery.run'][-1]['figures']
    restarts = [e for e in lines if e['kind'] == 'recovery.restart']
    total = done - killed
    parts = [(k, run[k]) for k in ('detection', 'fencing', 'placement', 'starts')]
    print('%-9s kill to all %d running elsewhere: %.1f s' % (path, len(restarts), total))
    print('          ' + ', '.join('%s %.2f s' % p for p in parts)
          + ', the rest (ansible, the source waiting, reading the hosts and the store) %.2f s' % (total - sum(v for _k, v in parts)))
    per_host = {}
    for e in restarts:
        per_host.setdefault(e['hosts']['destination'], []).append(e['figures']['seconds'])
    print('          define and start, summed per host: ' + ', '.join('%s %.2f s (%d)' % (h, sum(v), len(v))
                                                                      for h, v in sorted(per_host.items())))
    order = ['%s->%s' % (e['server'][len(PREFIX):], e['hosts']['destination']) for e in restarts]
    print('          restarted in order: ' + ' '.join(order))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--paths', nargs='+', default=['playbook', 'rulebook'], choices=['playbook', 'rulebook'])
    parser.add_argument('--grace', type=float, default=10)
    parser.add_argument('--servers', type=int, default=10)
    parser.add_argument('--keep', action='store_true', help="keep the work directory (logs, event logs)")
    args = parser.parse_args()
    hosts = lab_hosts()
    work = tempfile.mkdtemp(prefix='vi14b-')
    path = disks(args.servers)
    try:
        for which in args.paths:
            events = os.path.join(work, which + '-events.jsonl')
            remove_everywhere(hosts, args.servers, path, work)
            run_playbook(servers_play(hosts[2], args.servers, path, 'running'), work)
            killed, done = (playbook_path if which == 'playbook' else rulebook_path)(args, hosts, work, events)
            if done is None or wait_all_elsewhere(hosts[:2], names(args), limit=5) is None:
                sys.exit('%s: not every server runs elsewhere, once: %s' % (which, running_on(hosts, names(args))))
            report(which, killed, done, events)
            lab('poweron', hosts[2]['name'][3:])
    finally:
        lab('poweron', hosts[2]['name'][3:])
        remove_everywhere(hosts, args.servers, path, work)
        shutil.rmtree(path, ignore_errors=True)
        if args.keep:
            print('work directory kept: ' + work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
