# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How long the hypervisors inventory takes on the lab, and where the time goes.

Run with the lab up:  . scripts/env.sh && python benchmarks/inventory.py [--servers 50] [--repeat 5]
Measures `ansible-inventory --list` for the first --hosts lab hosts as they are, then with --servers
defined (not running) servers per host, with and without virtual_servers; splits a run into Python and
Ansible start-up, parsing the source (in process), and per host: connecting, host facts, describing the
servers; and compares 1 host entry with 20 queried by 20 threads and by 1. Prints one line per figure.
Removes the servers it defined (prefix vi6-bench-).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

# Before Ansible reads its configuration: the plugin must be enabled for the in-process parse too.
os.environ['ANSIBLE_INVENTORY_ENABLED'] = 'virtualiron.infra.hypervisors'
from ansible.plugins.loader import init_plugin_loader  # noqa: E402

init_plugin_loader()  # makes ansible_collections.* importable from ANSIBLE_COLLECTIONS_PATH (scripts/env.sh)
from ansible_collections.virtualiron.infra.plugins.inventory import hypervisors  # noqa: E402
from ansible_collections.virtualiron.infra.plugins.module_utils.host.facts import host_facts  # noqa: E402
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import open_connection  # noqa: E402

PREFIX = 'vi6-bench-'


def lab_uris(lab_vars, count):
    with open(lab_vars) as handle:
        return [(h['name'], h['uri']) for h in yaml.safe_load(handle)['lab_hosts']][:count]


def write_config(workdir, uris, with_servers):
    path = os.path.join(workdir, '%d-%s.hypervisors.yml' % (len(uris), 'servers' if with_servers else 'hosts'))
    with open(path, 'w') as handle:
        yaml.safe_dump({'plugin': 'virtualiron.infra.hypervisors', 'virtual_servers': with_servers,
                        'uris': [{'name': n, 'uri': u} for n, u in uris]}, handle)
    return path


def timed(argv, repeat):
    """Median wall time of a command over `repeat` runs."""
    times = []
    for _run in range(repeat):
        started = time.time()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        times.append(time.time() - started)
    return statistics.median(times)


def converge(host, uri, count, state, workdir):
    """Define (or remove) `count` servers with virtual_server's servers option, as a user would."""
    servers = [{'name': '%s%s-%03d' % (PREFIX, host, i), 'memory': '16MiB'} for i in range(count)]
    task = {'virtualiron.infra.virtual_server': {'uri': uri, 'state': state, 'force': True,
                                                 'shutdown_timeout': 0, 'servers': servers}}
    path = os.path.join(workdir, 'converge.yml')
    with open(path, 'w') as handle:
        yaml.safe_dump([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [task]}], handle)
    env = dict(os.environ)
    env.pop('ANSIBLE_INVENTORY_ENABLED')  # set above for the plugin; this playbook's inventory is a host list
    subprocess.run(['ansible-playbook', '-i', 'localhost,', '-c', 'local',
                    '-e', 'ansible_python_interpreter=' + sys.executable, path], check=True, stdout=subprocess.DEVNULL, env=env)


def breakdown(uri, repeat):
    """Median seconds of each part of querying one host: connect, host facts, describe every server."""
    parts = {'connect': [], 'host_facts': [], 'servers': []}
    for _run in range(repeat):
        started = time.time()
        conn = open_connection(uri)
        connected = time.time()
        host_facts(conn)
        facts_done = time.time()
        hypervisors._servers(conn)  # pylint: disable=protected-access
        parts['connect'].append(connected - started)
        parts['host_facts'].append(facts_done - connected)
        parts['servers'].append(time.time() - facts_done)
        conn.close()
    return dict((k, statistics.median(v)) for k, v in parts.items())


def parallel(uris, count, workers, with_servers, repeat):
    """Median seconds to query `count` host entries (the lab's hosts, repeated) with `workers` threads."""
    chosen = [{'name': 'h%02d' % i, 'uri': uris[i % len(uris)][1], 'registration': None} for i in range(count)]
    times = []
    for _run in range(repeat):
        started = time.time()
        hypervisors.query_hypervisors(chosen, with_servers, workers)
        times.append(time.time() - started)
    return statistics.median(times)


def parse_in_process(path, repeat):
    """Median seconds for Ansible to parse the source in this process: plugin load, queries, populating."""
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    times = []
    for _run in range(repeat):
        started = time.time()
        hosts = len(InventoryManager(DataLoader(), sources=[path]).hosts)
        times.append(time.time() - started)
    return statistics.median(times), hosts


def report(label, seconds):
    print('%-62s %7.3f s' % (label, seconds))


def measure(uris, workdir, repeat, label):
    hosts_only, with_servers = write_config(workdir, uris, False), write_config(workdir, uris, True)
    report('ansible-inventory --list, %s, hypervisors only' % label,
           timed(['ansible-inventory', '-i', hosts_only, '--list'], repeat))
    report('ansible-inventory --list, %s, virtual_servers: true' % label,
           timed(['ansible-inventory', '-i', with_servers, '--list'], repeat))
    seconds, hosts = parse_in_process(with_servers, repeat)
    report('  parsing the source in process (%d hosts), %s' % (hosts, label), seconds)
    for name, uri in uris:
        for part, seconds in breakdown(uri, repeat).items():
            report('  %s, %s: %s' % (label, name, part), seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--servers', type=int, default=50, help='servers to define per host')
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--hosts', type=int, default=2, help='how many of the lab hosts to use')
    parser.add_argument('--lab-vars', default='/var/lib/virtualiron-lab/lab-vars.yml')
    args = parser.parse_args()
    uris = lab_uris(args.lab_vars, args.hosts)
    with tempfile.TemporaryDirectory() as workdir:
        report('start-up: ansible-inventory --list, the plugin with no hosts',
               timed(['ansible-inventory', '-i', write_config(workdir, [], False), '--list'], args.repeat))
        measure(uris, workdir, args.repeat, 'lab as it is')
        try:
            for name, uri in uris:
                converge(name, uri, args.servers, 'present', workdir)
            measure(uris, workdir, args.repeat, '+%d defined servers per host' % args.servers)
            for with_servers in (False, True):
                what = 'with servers' if with_servers else 'hypervisors only'
                for count, workers in ((1, 1), (20, 20), (20, 1)):
                    report('query %d host entries, %d thread(s), %s' % (count, workers, what),
                           parallel(uris, count, workers, with_servers, args.repeat))
        finally:
            for name, uri in uris:
                converge(name, uri, args.servers, 'absent', workdir)


if __name__ == '__main__':
    main()
