# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time from power-on to `provisioned` of a stateless hypervisor node, split into its parts.

On one lab host, the pxe_server role sets up a provisioning network, the receiver, the discovery image and the
hypervisor image; a node (TCG guest, 1 vCPU, --memory MiB, virtio NIC, network boot) is discovered first (the
receiver takes a state report only from a node it discovered), then its boot choice becomes the hypervisor image
and it is started again, timed from that start to its registration turning `provisioned`, from the receiver's
request log (time each request ended) and the node's own timings (seconds since its kernel started):
- dhcp:        power-on to the end of boot.ipxe (firmware, iPXE start, DHCP)
- boot_files:  boot.ipxe to the end of the node's iPXE script
- kernel:      download of the kernel
- initrd:      download of the initramfs (the whole root, about 80 MB)
- boot:        iPXE handing over, the kernel decompressing itself and unpacking the root, to /init
- network:     /init to its DHCP lease (drivers, link, DHCP)
- libvirt:     configuration, virtlogd, virtlockd, libvirtd up and listening
- report:      the rest: the POST, and the registration written
Also prints the time to set up the server (the first time it builds both images).

Run:  . scripts/env.sh && python benchmarks/hypervisor_boot.py [--host 1] [--memory 1024] [--runs 1]
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

from converge_servers import run_playbook  # this directory is on sys.path when the script runs
from discovery import lab_host, role_vars

PARTS = ('dhcp', 'boot_files', 'kernel', 'initrd', 'boot', 'network', 'libvirt', 'report')
MAC = '52:54:00:13:79:01'
NODE = """<domain type='qemu'><name>vi13-bench-hv</name><memory unit='MiB'>{memory}</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type><boot dev='network'/><bios useserial='yes'/></os>
<features><acpi/></features><on_poweroff>destroy</on_poweroff>
<devices><interface type='network'><source network='vi13-bench'/><mac address='{mac}'/><model type='virtio'/></interface>
<serial type='file'><source path='{work}/node.log'/></serial></devices></domain>"""


def server(host, work, boot, state='present'):
    """Set up (or remove) the provisioning server with the node's boot choice -> seconds it took."""
    variables = dict(role_vars(host, work, True, state), pxe_server_hypervisor=True,
                     pxe_server_nodes=[dict(boot, mac=MAC)])
    play = [{'hosts': 'localhost', 'gather_facts': False, 'vars': variables, 'roles': ['virtualiron.infra.pxe_server']}]
    return run_playbook(play, work)


def hypervisor_boot(url):
    return {'boot': 'image', 'kernel': 'hypervisor/vmlinuz', 'initrd': 'hypervisor/initrd.img',
            'cmdline': 'console=ttyS0 vi.report=%s/report vi.libvirt=tcp-noauth' % url}


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while not predicate():
        if time.time() > deadline:
            raise SystemExit('timed out waiting for %s' % what)
        time.sleep(0.1)


def registration(work):
    try:
        with open('%s/registrations/node-%s.json' % (work, MAC.replace(':', ''))) as handle:
            return json.load(handle)
    except (IOError, ValueError):
        return None


def run_once(conn, host, work, memory):
    """Discover the node, then time its boot into the hypervisor image -> part -> seconds."""
    dom = conn.defineXML(NODE.format(memory=memory, mac=MAC, work=work))
    try:
        server(host, work, {'boot': 'discover', 'after': 'poweroff'})
        dom.create()
        wait_for(lambda: registration(work) is not None and not dom.isActive(), 120, 'discovery')
        server(host, work, hypervisor_boot('http://10.213.78.1:8078'))
        started = time.time()
        dom.create()
        wait_for(lambda: (registration(work) or {}).get('state') == 'provisioned', 300, 'provisioned')
        with open(work + '/pxe/receiver/requests.log') as handle:
            log = [e for e in (json.loads(line) for line in handle) if e['time'] >= started]
        return split(log, started)
    finally:
        if dom.isActive():
            dom.destroy()
        dom.undefine()
        for name in os.listdir(work + '/registrations'):   # the receiver writes there: keep the directory
            os.unlink(os.path.join(work + '/registrations', name))
        os.unlink(work + '/pxe/receiver/requests.log')


def split(log, started):
    when = dict((e['path'].rsplit('/', 1)[-1], e['time']) for e in log if e['status'] == 200)
    report = [e for e in log if e['stage'] == 'report' and e.get('state') == 'provisioned'][0]
    timings = report['timings']
    kernel_start = report['time'] - timings['libvirt']  # the node's clock starts with its kernel
    parts = {'dhcp': when['boot.ipxe'] - started, 'boot_files': when[MAC.replace(':', '-') + '.ipxe'] - when['boot.ipxe'],
             'kernel': when['vmlinuz'] - when[MAC.replace(':', '-') + '.ipxe'], 'initrd': when['initrd.img'] - when['vmlinuz'],
             'boot': kernel_start + timings['init'] - when['initrd.img'], 'network': timings['network'] - timings['init'],
             'libvirt': timings['libvirt'] - timings['network'], 'total': report['time'] - started}
    parts['report'] = parts['total'] - sum(v for k, v in parts.items() if k != 'total')
    return parts


def show(label, memory, results):
    print('%-12s hypervisor node, %d MiB: %s  total %.1f s' % (
        label, memory, '  '.join('%s %.1f' % (p, statistics.mean(r[p] for r in results)) for p in PARTS),
        statistics.mean(r['total'] for r in results)), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--host', type=int, default=1)
    parser.add_argument('--memory', type=int, default=1024, help='MiB of the node')
    parser.add_argument('--runs', type=int, default=1)
    args = parser.parse_args()
    host = lab_host(args.host)
    work = tempfile.mkdtemp(prefix='vi13-bench-hv-')
    os.chmod(work, 0o755)   # dnsmasq serves TFTP as nobody
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    conn = libvirt.open(host['uri'])
    try:
        print('setting up the provisioning server (both images): %.1f s' % server(host, work, {'boot': 'discover'}))
        results = []
        for run in range(1, args.runs + 1):
            results.append(run_once(conn, host, work, args.memory))
            show('run %d:' % run, args.memory, results[-1:])
        show('mean of %d:' % len(results), args.memory, results)
    finally:
        server(host, work, {'boot': 'discover'}, state='absent')
        conn.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
