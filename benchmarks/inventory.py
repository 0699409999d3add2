# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hypervisors inventory against community.libvirt's libvirt inventory, in one run on the lab.

Run with the lab up:  . scripts/env.sh && python benchmarks/inventory.py [--servers 50] [--repeat 7] [--profile]
Defines --servers servers (not running) on each of the first --hosts lab hosts, then times
`ansible-inventory --list` with this plugin (virtual_servers: true, server_variables: summary, its default, and
full; one file for all hosts) and with
community.libvirt's (one file per host, as it takes one URI), each from its own venv (the peer's: see
benchmarks/peer.py), the two interleaved so that load on the machine hits both alike. A plugin's own work
is its run less `ansible-inventory -i localhost, --list` in the same venv (Python and Ansible start-up).
Then splits this plugin's work: loading it, and per host connecting, host facts, describing the servers;
--profile prints where its run spends the time (cProfile). Removes the servers it defined (bench-inv-*).
"""

import argparse
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

import peer

from ansible.plugins.loader import init_plugin_loader

init_plugin_loader()  # makes ansible_collections.* importable from ANSIBLE_COLLECTIONS_PATH (scripts/env.sh)
from ansible_collections.virtualiron.infra.plugins.inventory import hypervisors  # noqa: E402
from ansible_collections.virtualiron.infra.plugins.module_utils.host.facts import host_facts  # noqa: E402
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import open_connection  # noqa: E402

PREFIX = 'bench-inv-'
OURS = os.path.dirname(sys.executable)


def lab_uris(lab_vars, count):
    with open(lab_vars) as handle:
        return [(h['name'], h['uri']) for h in yaml.safe_load(handle)['lab_hosts']][:count]


def write(workdir, name, config):
    path = os.path.join(workdir, name)
    with open(path, 'w') as handle:
        yaml.safe_dump(config, handle)
    return path


def our_source(workdir, uris, with_servers, server_variables='summary'):
    return write(workdir, '%s-%s.hypervisors.yml' % ('servers' if with_servers else 'hosts', server_variables), {
        'plugin': 'virtualiron.infra.hypervisors', 'virtual_servers': with_servers,
        'server_variables': server_variables, 'uris': [{'name': n, 'uri': u} for n, u in uris]})


def peer_sources(workdir, uris):
    return [write(workdir, '%s.libvirt.yml' % name, {'plugin': 'community.libvirt.libvirt', 'uri': uri})
            for name, uri in uris]


def inventory_argv(bin_dir, sources):
    argv = [os.path.join(bin_dir, 'ansible-inventory'), '--list']
    for source in sources:
        argv += ['-i', source]
    return argv


def seconds(argv, env=None):
    started = time.time()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.time() - started


def listed(argv, env=None):
    """How many hosts an inventory run lists with the benchmark's prefix (the runs timed are not parsed)."""
    out = subprocess.run(argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env).stdout
    return sum(1 for host in json.loads(out)['_meta']['hostvars'] if host.startswith(PREFIX))


def converge(host, uri, count, state, workdir):
    """Define (or remove) `count` servers with virtual_server's servers option, as a user would."""
    servers = [{'name': '%s%s-%03d' % (PREFIX, host, i), 'memory': '16MiB'} for i in range(count)]
    task = {'virtualiron.infra.virtual_server': {'uri': uri, 'state': state, 'force': True,
                                                 'shutdown_timeout': 0, 'servers': servers}}
    path = write(workdir, 'converge.yml', [{'hosts': 'localhost', 'gather_facts': False, 'tasks': [task]}])
    subprocess.run([os.path.join(OURS, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                    '-e', 'ansible_python_interpreter=' + sys.executable, path], check=True, stdout=subprocess.DEVNULL)


def side_by_side(runs, repeat):
    """{(side, what): median seconds}, the commands of `runs` ((side, what, argv, env)) taken in turn."""
    times = {}
    for _run in range(repeat):
        for side, what, argv, env in runs:
            times.setdefault((side, what), []).append(seconds(argv, env))
    return dict((key, statistics.median(values)) for key, values in times.items())


def breakdown(uri, repeat):
    """Median seconds of each part of querying one host in this process: connect, host facts, servers."""
    parts = {'connecting': [], 'host facts': [], 'describing the servers': []}
    for _run in range(repeat):
        started = time.time()
        conn = open_connection(uri)
        connected = time.time()
        host_facts(conn)
        facts_done = time.time()
        hypervisors._servers(conn)  # pylint: disable=protected-access
        parts['connecting'].append(connected - started)
        parts['host facts'].append(facts_done - connected)
        parts['describing the servers'].append(time.time() - facts_done)
        conn.close()
    return dict((k, statistics.median(v)) for k, v in parts.items())


def profile(source, lines):
    """Where an ansible-inventory run with this plugin spends its time, as cProfile sees it."""
    with tempfile.NamedTemporaryFile(suffix='.prof') as out:
        subprocess.run([sys.executable, '-m', 'cProfile', '-o', out.name, os.path.join(OURS, 'ansible-inventory'),
                        '-i', source, '--list'], check=True, stdout=subprocess.DEVNULL)
        # The plugin's own functions, and Ansible's parsing of the source and writing of the output.
        pstats.Stats(out.name).sort_stats('cumulative').print_stats(
            r'virtualiron/infra/|cli/inventory\.py|inventory/manager\.py:\d+\(parse_source', lines)


def line(label, ours, theirs=None):
    if theirs is None:
        print('  %-58s %7.3f s' % (label, ours))
    else:
        print('  %-58s %7.3f s %7.3f s %8.2fx' % (label, ours, theirs, theirs / ours))


def compare(uris, servers, workdir, repeat):
    venv = peer.peer_venv()
    ours_env, peer_env = None, peer.environ(venv)
    ours_argv = inventory_argv(OURS, [our_source(workdir, uris, True)])
    peer_argv = inventory_argv(os.path.join(venv, 'bin'), peer_sources(workdir, uris))
    print('%d hosts x %d servers (defined, not running); listed: ours %d, community.libvirt %d' % (
        len(uris), servers, listed(ours_argv), listed(peer_argv, peer_env)))
    start_up = ['ansible-inventory', '--list', '-i', 'localhost,']
    median = side_by_side([
        ('ours', 'start-up', [os.path.join(OURS, start_up[0])] + start_up[1:], ours_env),
        ('ours', 'total', ours_argv, ours_env),
        ('peer', 'start-up', [os.path.join(venv, 'bin', start_up[0])] + start_up[1:], peer_env),
        ('peer', 'total', peer_argv, peer_env),
        ('ours', 'full', inventory_argv(OURS, [our_source(workdir, uris, True, 'full')]), ours_env),
        ('ours', 'no hosts', inventory_argv(OURS, [our_source(workdir, [], False)]), ours_env),
        ('ours', 'hypervisors only', inventory_argv(OURS, [our_source(workdir, uris, False)]), ours_env),
    ], repeat)
    print('  %-58s %9s %9s %9s' % ('ansible-inventory --list, medians of %d runs' % repeat, 'ours', 'peer', 'peer/ours'))
    line('total', median['ours', 'total'], median['peer', 'total'])
    line('start-up (-i localhost,)', median['ours', 'start-up'], median['peer', 'start-up'])
    line("the plugin's own work (total less start-up)", median['ours', 'total'] - median['ours', 'start-up'],
         median['peer', 'total'] - median['peer', 'start-up'])
    line("ours' own work, server_variables: full", median['ours', 'full'] - median['ours', 'start-up'])
    line("ours' own work, a source of no hosts (loading it)",
         median['ours', 'no hosts'] - median['ours', 'start-up'])
    line("ours' own work, hypervisors only (no virtual_servers)",
         median['ours', 'hypervisors only'] - median['ours', 'start-up'])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--servers', type=int, default=50, help='servers to define per host')
    parser.add_argument('--repeat', type=int, default=7)
    parser.add_argument('--hosts', type=int, default=2, help='how many of the lab hosts to use')
    parser.add_argument('--profile', action='store_true', help="print cProfile's view of this plugin's run")
    parser.add_argument('--lab-vars', default='/var/lib/virtualiron-lab/lab-vars.yml')
    args = parser.parse_args()
    uris = lab_uris(args.lab_vars, args.hosts)
    print('load average at start: %.2f %.2f %.2f' % os.getloadavg())
    with tempfile.TemporaryDirectory() as workdir:
        try:
            for name, uri in uris:
                converge(name, uri, args.servers, 'present', workdir)
            compare(uris, args.servers, workdir, args.repeat)
            for name, uri in uris:
                for part, median in breakdown(uri, args.repeat).items():
                    line('ours, in process, %s: %s' % (name, part), median)
            if args.profile:
                profile(our_source(workdir, uris, True), 40)
        finally:
            for name, uri in uris:
                converge(name, uri, args.servers, 'absent', workdir)
    print('load average at end: %.2f %.2f %.2f' % os.getloadavg())


if __name__ == '__main__':
    main()
