# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a lab host really has, read without libvirt: /proc, /sys and `ip` in its network namespace.

Usage: host_view.py NAMESPACE   -> JSON on stdout, compared with host_info's answer by the target.
"""

import json
import re
import subprocess
import sys

VENDORS = {'AuthenticAMD': 'AMD', 'GenuineIntel': 'Intel'}


def in_namespace(namespace, *argv):
    return subprocess.run(['ip', 'netns', 'exec', namespace] + list(argv), check=True,
                          capture_output=True, text=True).stdout


def cpu():
    with open('/proc/cpuinfo') as f:
        blocks = [b for b in f.read().split('\n\n') if b.strip()]
    first = dict((k.strip(), v.strip()) for k, _sep, v in (line.partition(':') for line in blocks[0].splitlines()))
    flags = first.get('flags', '').split()
    return {'vendor': VENDORS.get(first['vendor_id'], first['vendor_id']), 'family': int(first['cpu family']),
            'model_number': int(first['model']), 'stepping': int(first['stepping']), 'count': len(blocks),
            'mhz': float(first['cpu MHz']), 'hardware_assist': 'vmx' if 'vmx' in flags else 'svm' if 'svm' in flags else None}


def memory_total_bytes():
    with open('/proc/meminfo') as f:
        return int(re.search(r'^MemTotal:\s+(\d+) kB', f.read(), re.M).group(1)) * 1024


def nics(namespace):
    links = json.loads(in_namespace(namespace, 'ip', '-j', 'link'))
    view = {}
    for link in links:
        speed = in_namespace(namespace, 'sh', '-c', 'cat /sys/class/net/%s/speed 2>/dev/null || true' % link['ifname'])
        view[link['ifname']] = {'mac': link.get('address'), 'operstate': link.get('operstate'),
                                'master': link.get('master'), 'speed': _speed(speed)}
    return view


def _speed(text):
    """sysfs speed in Mb/s; -1 (or nothing) when the link has no speed."""
    text = text.strip()
    return int(text) if text.isdigit() else None


def block_sizes(namespace):
    out = in_namespace(namespace, 'sh', '-c', 'for d in /sys/class/block/*; do echo "${d##*/} $(cat $d/size)"; done')
    return dict((name, int(sectors) * 512) for name, sectors in (line.split() for line in out.splitlines()))


def numa_cells(namespace):
    out = in_namespace(namespace, 'sh', '-c', 'for n in /sys/devices/system/node/node[0-9]*; do echo "${n##*node} $(cat $n/cpulist)"; done')
    return dict((int(cell), cpus) for cell, cpus in (line.split() for line in out.splitlines()))


def main():
    namespace = sys.argv[1]
    qemu = in_namespace(namespace, 'qemu-system-x86_64', '--version')
    print(json.dumps({
        'cpu': cpu(),
        'memory_total_bytes': memory_total_bytes(),
        'nics': nics(namespace),
        'block_sizes': block_sizes(namespace),
        'numa_cpulists': numa_cells(namespace),
        'qemu_version': re.search(r'version (\d+\.\d+\.\d+)', qemu).group(1),
    }))


if __name__ == '__main__':
    main()
