# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time from power-on to registration of bare-metal nodes discovered over the network, split into its parts.

On one lab host, the pxe_server role sets up a provisioning network and the receiver; nodes (TCG guests,
1 vCPU, 128 MiB, virtio NIC, network boot) are started at once and timed from their start to their
registration, from the receiver's request log (time each request ended) and the ramdisk's own timings:
- dhcp:        power-on to the end of boot.ipxe (firmware, iPXE start, DHCP, IPv6 router answer)
- boot_files:  boot.ipxe to the end of the node's iPXE script (default.ipxe)
- kernel:      download of the kernel and the ramdisk
- inventory:   kernel start to the inventory taken (kernel boot, drivers, DHCP in the ramdisk, /sys read)
- report:      the rest, to the registration written: iPXE handing over and the kernel decompressing itself
               (before the kernel's clock starts, slow under TCG), then the POST
Runs for one node and for four at once, with IPv6 router advertisements on the provisioning network and
(--no-ipv6 too) without, where iPXE waits for an IPv6 router before it boots.

Run:  . scripts/env.sh && python benchmarks/discovery.py [--host 1] [--nodes 1 4] [--no-ipv6]
Needs the lab (scripts/lab up). Leaves nothing behind.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

import libvirt
import yaml

from converge_servers import run_playbook  # this directory is on sys.path when the script runs

LAB = os.environ.get('VIRTUALIRON_LAB_DIR', '/var/lib/virtualiron-lab')
PARTS = ('dhcp', 'boot_files', 'kernel', 'inventory', 'report')  # report includes the kernel's decompression
NODE = """<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type><boot dev='network'/><bios useserial='yes'/></os>
<features><acpi/></features><on_poweroff>destroy</on_poweroff>
<devices><interface type='network'><source network='vi13-bench'/><mac address='{mac}'/><model type='virtio'/></interface>
<serial type='file'><source path='{work}/{name}.log'/></serial></devices></domain>"""


def lab_host(number):
    with open(os.path.join(LAB, 'lab-vars.yml')) as handle:
        return yaml.safe_load(handle)['lab_hosts'][number - 1]


def role_vars(host, work, ipv6, state='present'):
    return {'pxe_server_uri': host['uri'], 'pxe_server_netns': 'vilab-' + host['name'],
            'pxe_server_network': 'vi13-bench', 'pxe_server_bridge': 'vi13-bench', 'pxe_server_address': '10.213.78.1',
            'pxe_server_dhcp_start': '10.213.78.100', 'pxe_server_dhcp_end': '10.213.78.199',
            'pxe_server_ipv6_address': 'fd00:213:78::1' if ipv6 else '', 'pxe_server_port': 8078,
            'pxe_server_dir': work + '/pxe', 'pxe_server_registrations': work + '/registrations',
            'pxe_server_state': state}


def server(host, work, ipv6, state='present'):
    play = [{'hosts': 'localhost', 'gather_facts': False, 'vars': role_vars(host, work, ipv6, state),
             'roles': ['virtualiron.infra.pxe_server']}]
    return run_playbook(play, work)


def discover(conn, work, count, timeout=120):
    """Start count nodes at once; -> one dict of part -> seconds per node."""
    macs = ['52:54:00:13:78:%02x' % i for i in range(1, count + 1)]
    for dom in conn.listAllDomains():   # left by an interrupted run
        if dom.name().startswith('vi13-bench-'):
            if dom.isActive():
                dom.destroy()
            dom.undefine()
    doms = [conn.defineXML(NODE.format(name='vi13-bench-%d' % i, mac=mac, work=work)) for i, mac in enumerate(macs, 1)]
    registrations = work + '/registrations'
    try:
        started = time.time()
        for dom in doms:
            dom.create()
        while time.time() - started < timeout and len(os.listdir(registrations)) < count:
            time.sleep(0.1)
        with open(work + '/pxe/receiver/requests.log') as handle:
            log = [json.loads(line) for line in handle]
        return [split(mac, log, started) for mac in macs]
    finally:
        for dom in doms:
            try:
                dom.destroy()
            except libvirt.libvirtError:
                pass   # it powered itself off after reporting
            dom.undefine()
        for name in os.listdir(registrations):
            os.unlink(os.path.join(registrations, name))
        os.unlink(work + '/pxe/receiver/requests.log')


def split(mac, log, started):
    clients = set(e['client'] for e in log if e.get('mac') == mac)
    mine = [e for e in log if e.get('mac') == mac or (e['path'] == '/boot.ipxe' and e['client'] in clients)]
    when = dict((e['path'], e['time']) for e in mine)
    report = [e for e in mine if e['stage'] == 'report' and e['status'] == 200]
    if not report:
        return None
    inventory = report[0]['timings']['inventory']
    parts = {'dhcp': when['/boot.ipxe'] - started, 'boot_files': when['/default.ipxe'] - when['/boot.ipxe'],
             'kernel': when['/initrd.img'] - when['/default.ipxe'], 'inventory': inventory}
    parts['report'] = report[0]['time'] - when['/initrd.img'] - inventory
    parts['total'] = report[0]['time'] - started
    return parts


def show(label, results):
    done = [r for r in results if r]
    print('%-28s %s  total %s  (%d of %d registered)' % (
        label, '  '.join('%s %.1f' % (p, statistics.mean(r[p] for r in done)) for p in PARTS),
        '%.1f s (max %.1f)' % (statistics.mean(r['total'] for r in done), max(r['total'] for r in done)) if done else '-',
        len(done), len(results)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--host', type=int, default=1)
    parser.add_argument('--nodes', type=int, nargs='+', default=[1, 4])
    parser.add_argument('--no-ipv6', action='store_true', help='also measure without IPv6 router advertisements')
    args = parser.parse_args()
    host = lab_host(args.host)
    work = tempfile.mkdtemp(prefix='vi13-bench-')
    os.chmod(work, 0o755)   # dnsmasq serves TFTP as nobody
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)   # errors are exceptions; do not print them too
    conn = libvirt.open(host['uri'])
    try:
        for ipv6 in [True] + ([False] if args.no_ipv6 else []):
            print('setting up the provisioning server: %.1f s' % server(host, work, ipv6))
            for count in args.nodes:
                show('%d node(s), IPv6 RA %s:' % (count, 'on' if ipv6 else 'off'), discover(conn, work, count))
    finally:
        server(host, work, True, state='absent')
        conn.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
