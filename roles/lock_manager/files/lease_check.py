# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which running servers of a host hold no disk lease of libvirt's lock manager lockd: a server started before lockd
was turned on (or started paused) runs unprotected until it is stopped and started again. Run on the host (the role
lock_manager does): it lists the running servers with virsh and looks for virtlockd's lock on each disk's lease, in
/proc/locks. Prints JSON: {"running": [names], "unleased": [{"name": name, "disks": [paths without a lease]}]}.

    python3 lease_check.py --uri URI [--lockspace-dir DIR]
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import argparse
import hashlib
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

VIRSH_TIMEOUT = 30


def posix_locks(text):
    """{(major, minor, inode)} of the files /proc/locks shows a POSIX lock on (virtlockd's fcntl locks; QEMU's own
    image locks are OFD locks and do not count)."""
    held = set()
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 6 or fields[1] != 'POSIX':
            continue   # another kind of lock, or a waiter ("->")
        try:
            major, minor, inode = fields[5].split(':')
            held.add((int(major, 16), int(minor, 16), int(inode)))
        except ValueError:
            continue
    return held


def leased_disks(domain_xml):
    """Paths of the file disks of a server that lockd leases: writable disks (read-only ones take no lease)."""
    paths = []
    for disk in ET.fromstring(domain_xml).findall('./devices/disk'):
        source = disk.find('source')
        if disk.get('type') != 'file' or disk.get('device', 'disk') != 'disk' or source is None \
                or not source.get('file') or disk.find('readonly') is not None:
            continue
        paths.append(source.get('file'))
    return paths


def lease_path(disk, lockspace_dir):
    """The file virtlockd locks for a disk: in the lockspace directory, named by the SHA-256 of the disk's path; without
    one, the disk file itself."""
    if not lockspace_dir:
        return disk
    return os.path.join(lockspace_dir, hashlib.sha256(disk.encode('utf-8')).hexdigest())


def file_key(path):
    """(major, minor, inode) of a file as /proc/locks names it; None if it does not exist."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return os.major(st.st_dev), os.minor(st.st_dev), st.st_ino


def unleased(servers, held, lockspace_dir, key=file_key):
    """[{name, disks}] of the servers ({name: [disk paths]}) with a disk whose lease nobody holds."""
    result = []
    for name in sorted(servers):
        missing = [d for d in servers[name] if key(lease_path(d, lockspace_dir)) not in held]
        if missing:
            result.append({'name': name, 'disks': missing})
    return result


def virsh(uri, *args):
    return subprocess.run(('virsh', '-q', '-c', uri) + args, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=VIRSH_TIMEOUT, check=True).stdout


def definition(uri, name):
    """The XML of a running server; None if it stopped meanwhile."""
    try:
        return virsh(uri, 'dumpxml', name)
    except subprocess.CalledProcessError:
        return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--uri', default='qemu:///system')
    parser.add_argument('--lockspace-dir', default='')
    args = parser.parse_args(argv)
    try:
        names = [n for n in virsh(args.uri, 'list', '--name').splitlines() if n.strip()]
        servers = dict((n, leased_disks(xml)) for n, xml in ((n, definition(args.uri, n)) for n in names) if xml)
        with open('/proc/locks') as f:
            held = posix_locks(f.read())
    except (OSError, subprocess.SubprocessError, ET.ParseError) as e:
        sys.exit('lease_check: %s' % (getattr(e, 'stderr', None) or e))
    print(json.dumps({'running': sorted(names), 'unleased': unleased(servers, held, args.lockspace_dir)}))


if __name__ == '__main__':
    main()
