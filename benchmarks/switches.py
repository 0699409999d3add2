# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a bridged switch's own bridge costs: starting and stopping it, and the network hook on every NIC.

Timed on one lab host (which has the collection's network hook, as `scripts/lab up` installs it):
- libvirt starting and stopping a bridged switch whose bridge the hook makes over the host's LAN uplink,
  next to an isolated switch whose bridge libvirt makes itself (both through libvirt-python alone);
- the hook called for something that is not its business, as libvirt calls it for every NIC of every server
  it starts or stops on any switch (the hook's Python start-up);
- the virtual_switch task creating the bridged switch, and the same task again with nothing to do
  (ansible-playbook, with Ansible's start-up).

Run:  . scripts/env.sh && python benchmarks/switches.py [--host 1] [--runs 10]
Needs the lab (scripts/lab up). Leaves nothing behind.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import libvirt
import yaml

from converge_servers import run_playbook  # this directory is on sys.path when the script runs

LAB = os.environ.get('VIRTUALIRON_LAB_DIR', '/var/lib/virtualiron-lab')
SWITCH_NS = 'https://virtualiron.example/xmlns/switch/1'
OWN_BRIDGE = ("<network><name>vi4-bench-own</name><metadata><v:switch xmlns:v='%s'><v:uplink dev='%%s'/>"
              "</v:switch></metadata><forward mode='bridge'/><bridge name='vi4-bench-br'/></network>" % SWITCH_NS)
ISOLATED = "<network><name>vi4-bench-iso</name><bridge name='vi4-bench-iso'/></network>"


def lab_host(number):
    with open(os.path.join(LAB, 'lab-vars.yml')) as handle:
        lab = yaml.safe_load(handle)
    return [h for h in lab['lab_hosts'] if h['name'] == 'lab%d' % number][0], lab['lab_lan_uplink']


def start_stop(conn, xml, runs):
    """Times of libvirt starting and of it stopping a transient network."""
    starts, stops = [], []
    for dummy in range(runs):
        started = time.perf_counter()
        net = conn.networkCreateXML(xml)
        starts.append(time.perf_counter() - started)
        started = time.perf_counter()
        net.destroy()
        stops.append(time.perf_counter() - started)
    return starts, stops


def hook_call(hook, runs):
    """Times of one hook call about a server's NIC (libvirt's 'plugged' operation): nothing to do."""
    times = []
    for dummy in range(runs):
        started = time.perf_counter()
        subprocess.run([hook, 'vi4-bench', 'plugged', 'begin', '-'], input=b'<hookData/>', check=True)
        times.append(time.perf_counter() - started)
    return times


def module_runs(uri, uplink, runs, workdir):
    """Times of a virtual_switch task creating the switch, and of the same task again."""
    task = {'virtualiron.infra.virtual_switch': {'uri': uri, 'name': 'vi4-bench-mod', 'mode': 'bridged',
                                                 'uplinks': [uplink]}}
    remove = {'virtualiron.infra.virtual_switch': {'uri': uri, 'name': 'vi4-bench-mod', 'state': 'absent'}}
    create, again = [], []
    for dummy in range(runs):
        create.append(run_playbook([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [task]}], workdir))
        again.append(run_playbook([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [task]}], workdir))
        run_playbook([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [remove]}], workdir)
    return create, again


def show(what, times):
    print('%-62s median %.3f s (min %.3f, max %.3f, %d runs)'
          % (what, statistics.median(times), min(times), max(times), len(times)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--host', type=int, default=1, help='lab host number')
    parser.add_argument('--runs', type=int, default=10)
    args = parser.parse_args()
    if 'VIRTUALIRON_COLLECTIONS' not in os.environ:
        sys.exit('run it after ". scripts/env.sh", which sets VIRTUALIRON_COLLECTIONS')
    host, uplink = lab_host(args.host)
    conn = libvirt.open(host['uri'])
    starts, stops = start_stop(conn, OWN_BRIDGE % uplink, args.runs)
    show('bridged switch, own bridge by the hook: libvirt start', starts)
    show('bridged switch, own bridge by the hook: libvirt stop', stops)
    starts, stops = start_stop(conn, ISOLATED, args.runs)
    show('isolated switch, bridge by libvirt: libvirt start', starts)
    show('isolated switch, bridge by libvirt: libvirt stop', stops)
    conn.close()
    show('hook call for a server NIC (per NIC start/stop)',
         hook_call(os.path.join(host['hooks_dir'], 'network.d', 'virtualiron-switch'), args.runs))
    workdir = tempfile.mkdtemp(prefix='vi4-bench-')
    try:
        create, again = module_runs(host['uri'], uplink, max(3, args.runs // 3), workdir)
    finally:
        shutil.rmtree(workdir)
    show('virtual_switch task: create the bridged switch', create)
    show('virtual_switch task: the same again (nothing to do)', again)


if __name__ == '__main__':
    main()
