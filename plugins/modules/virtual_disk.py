#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: virtual_disk
short_description: Create, grow, copy, convert and remove virtual disk images (VHD, qcow2, raw)
version_added: 0.1.0
description:
  - Brings one virtual disk image to the state you describe. Idempotent; supports check mode and C(--diff).
  - "Where the work happens: the image's bytes are read and written B(on the machine where the module
    runs), with C(qemu-img) and the collection's own VHD code. Run it on the hypervisor host that holds the
    image (C(delegate_to) the host), or on any machine that mounts the same storage at the same path
    (the lab's shared directory, an NFS export). The libvirt host at O(uri) is asked only which of its
    servers use the disk and where a storage pool keeps its volumes, and its pool is refreshed after a change."
  - VHD is the Microsoft Virtual Hard Disk format that Virtual Iron used, a file you can copy and carry.
    C(qemu-img) cannot resize VHDs, so growing one is done by the collection itself (footer, dynamic header
    and block allocation table; data blocks are moved when the table must grow); data stays intact.
  - A smaller O(size) than the disk has is refused and nothing is touched. Images are never shrunk.
  - "What it refuses, before anything is read or written: a O(path) that is relative or not normalized; a O(name)
    that is not one file name, or that resolves outside its pool's directory; a pool on a system directory
    (see M(virtualiron.infra.storage_pool)); anything at the path other than a regular file or a block device
    (a character device such as C(/dev/null), a FIFO, a socket, a directory); and a symbolic link, which is
    never followed except under C(/dev) to a block device (the names LVM and udev give devices)."
  - "Formats are stated, never guessed from an image's contents: a disk is read as O(format) and a copy's source
    as O(source_format), so a raw disk onto which a guest wrote a qcow2 header stays raw. A qcow2 image whose
    header names another file (a backing file or an external data file) is refused, as a source and as an
    existing disk, and so is a differencing VHD (it names a parent): reading one would read that file, any file
    of the machine (the class of OpenStack's CVE-2024-32498). Flatten such an image yourself, from a trusted
    source, with C(qemu-img convert). C(qemu-img info) runs with at most 1 GiB of address space and 30 s of CPU
    time, as OpenStack runs it, so that a crafted header cannot exhaust the machine."
  - Copies (O(source)) and conversions are written to a hidden temporary file next to the target and renamed
    into place, so an interrupted copy never leaves a half-written disk under the target's name (it may leave
    a hidden C(.NAME.partial-XXXXXXXX) file, which is safe to delete). A disk the task created is removed
    again when a later step of the task fails (growing a copy), and the error says so.
  - "Growing or converting a disk that a running guest uses is refused (the error names the servers):
    QEMU can resize neither a VHD nor a raw slice while the guest runs, and writing the file behind its back
    would race with QEMU's own writes. Stop the server, grow the disk, start it again; a server that
    attaches a fixed VHD as a raw slice then needs a M(virtualiron.infra.virtual_server) run so that its
    slice covers the new size. A running guest on another host is noticed through QEMU's image lock."
  - "Live migration: QEMU refuses to live-migrate a guest with a disk on its VHD (vpc) driver. A fixed VHD is
    raw data plus a 512-byte footer, so M(virtualiron.infra.virtual_server) attaches it as a raw slice (offset 0,
    the virtual size), which live-migrates and keeps the footer out of the guest's reach; a dynamic VHD goes
    through the vpc driver and does not live-migrate. RV(disk.live_migratable) says which. Converting a dynamic
    VHD to fixed is one task: O(vhd_type=fixed)."
  - "A fixed VHD may live on a block device (its footer in the device's last sector). Growing it grows the device
    first: a loop device by growing its backing file and C(losetup -c); any other device (a logical volume)
    must be grown beforehand to at least O(size) + 512 bytes, for example with an LVM module, or the task
    fails saying how large it must be."
author:
  - Virtual Iron revival team (@virtualiron)
extends_documentation_fragment:
  - virtualiron.infra.connection
attributes:
  check_mode:
    support: full
    description: Reports what would change without changing the image.
  diff_mode:
    support: full
    description: Shows the disk's format, type and size before and after.
options:
  path:
    description:
      - Absolute, normalized path of the image (a regular file, or for a fixed VHD a block device) on the machine
        where the module runs. A symbolic link is refused, except under C(/dev) to a block device.
      - Give O(path), or O(pool) and O(name).
    type: path
  pool:
    description:
      - A libvirt storage pool of the host at O(uri) whose target directory holds the image
        (that directory must be reachable at the same path where the module runs).
    type: str
  name:
    description:
      - File name of the image in O(pool) (for a logical pool, the logical volume's name).
      - One name, without C(/), not C(.) or C(..); in a pool of files it must resolve inside the pool's directory
        (a symbolic link there to a file elsewhere is refused).
    type: str
  format:
    description:
      - Image format of the disk. An existing disk is read as this format, never probed; one that does not read
        as this format is refused and left as it is (it is not converted in place; copy it with O(source)).
    type: str
    choices: [vhd, qcow2, raw]
    default: vhd
  vhd_type:
    description:
      - For O(format=vhd). V(dynamic) grows as the guest writes; V(fixed) is laid out as a raw image of the whole
        size (sparse where the file system allows) followed by the footer, and is the one that live-migrates.
      - A fixed VHD file that this module writes has zero padding before its footer, up to a length that is a
        multiple of 4096 bytes, because QEMU opens an image for direct I/O (cache none, which live migration
        needs) only if its length is a multiple of the storage's alignment. Readers find the footer at the end
        and the data from offset 0, as for a fixed VHD on a block device; C(qemu-img) reads it as usual.
      - A new disk is V(dynamic) unless you say otherwise; an existing disk keeps its type unless you set this,
        in which case it is converted (a dynamic VHD to fixed, or back).
    type: str
    choices: [dynamic, fixed]
  size:
    description:
      - Virtual size, with units (V(10GiB), V(512MiB), V(10G); a bare number is in MiB). Rounded up to whole
        512-byte sectors.
      - Required to create a disk without O(source). Larger than the disk grows it in place; smaller fails.
    type: str
  source:
    description:
      - Create the disk as a copy of this image (absolute path; a regular file, or a block device), read as
        O(source_format). This is clone, import and export.
      - Used only when the disk does not exist; an existing disk is not overwritten.
      - A qcow2 source with a backing file or an external data file is refused (see the description).
    type: path
  source_format:
    description:
      - The format of O(source); required with it. It is never guessed from the contents, which may come from
        a guest or a download.
    type: str
    choices: [vhd, qcow2, raw]
  state:
    description:
      - V(present) creates or changes the disk.
      - V(absent) removes the image file; only a regular file that reads as an image of O(format) (never a block
        device, a link or a device node).
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - With O(state=absent), remove the image even though servers of the host have it in their definition.
      - It does not allow growing or converting a disk under a running guest.
    type: bool
    default: false
notes:
  - Requires C(qemu-img) and C(qemu-io) (Debian package C(qemu-utils)) and C(prlimit) (util-linux) where the module
    runs; C(losetup) for loop devices.
'''

EXAMPLES = r'''
- name: A 20 GiB dynamic VHD in the shared pool
  virtualiron.infra.virtual_disk:
    uri: qemu+ssh://root@kvm1.example.com/system
    pool: shared
    name: web1.vhd
    size: 20GiB
  delegate_to: kvm1.example.com

- name: Grow it (the server that uses it is stopped)
  virtualiron.infra.virtual_disk:
    path: /srv/shared/web1.vhd
    size: 40GiB

- name: Make it fixed, so that web1 can live-migrate
  virtualiron.infra.virtual_disk:
    path: /srv/shared/web1.vhd
    vhd_type: fixed

- name: Import a qcow2 cloud image as a VHD
  virtualiron.infra.virtual_disk:
    path: /srv/shared/debian.vhd
    source: /srv/images/debian-12-generic-amd64.qcow2
    source_format: qcow2

- name: Export a VHD to qcow2
  virtualiron.infra.virtual_disk:
    path: /srv/export/web1.qcow2
    format: qcow2
    source: /srv/shared/web1.vhd
    source_format: vhd

- name: Remove a disk that no server uses any more
  virtualiron.infra.virtual_disk:
    path: /srv/shared/old.vhd
    state: absent
'''

RETURN = r'''
disk:
  description: The disk after the task (in check mode, what it would be); absent after O(state=absent).
  returned: when the disk exists after the task
  type: dict
  contains:
    path: {description: Path of the image., type: str, sample: /srv/shared/web1.vhd}
    format: {description: "vhd, qcow2 or raw.", type: str, sample: vhd}
    virtual_size: {description: Size the guest sees (bytes)., type: int, sample: 21474836480}
    size: {description: The same with a unit., type: str, sample: 20GiB}
    allocation:
      description: Bytes the image occupies on its storage (the whole device for a block device); null in check mode for a new image.
      type: int
      sample: 2097152
    vhd_type: {description: "dynamic or fixed (VHD only).", type: str, sample: dynamic}
    creator: {description: "The VHD's creator application, for example qem2 (qemu-img), win (Hyper-V) (VHD only).", type: str, sample: qem2}
    block_device: {description: The image is a block device., type: bool, sample: false}
    live_migratable:
      description: A server with this disk can live-migrate (false for a dynamic VHD, which needs QEMU's vpc driver).
      type: bool
      sample: false
changes:
  description: What the task did (or would do), in order.
  returned: always
  type: list
  elements: str
  sample: ["grown to 40GiB"]
used_by:
  description: Servers of the host whose definition has the disk (a disk in use cannot be grown while they run).
  returned: always
  type: list
  elements: str
  sample: [web1]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import (
    CONNECTION_ARGUMENT_SPEC, libvirt_session)
from ansible_collections.virtualiron.infra.plugins.module_utils.disk.converger import DiskConverger

ARGUMENT_SPEC = dict(
    CONNECTION_ARGUMENT_SPEC,
    path=dict(type='path'),
    pool=dict(type='str'),
    name=dict(type='str'),
    format=dict(type='str', default='vhd', choices=['vhd', 'qcow2', 'raw']),
    vhd_type=dict(type='str', choices=['dynamic', 'fixed']),
    size=dict(type='str'),
    source=dict(type='path'),
    source_format=dict(type='str', choices=['vhd', 'qcow2', 'raw']),
    state=dict(type='str', default='present', choices=['present', 'absent']),
    force=dict(type='bool', default=False),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                           required_one_of=[('path', 'pool')], mutually_exclusive=[('path', 'pool')],
                           required_together=[('pool', 'name')])
    with libvirt_session(module) as conn:
        result = DiskConverger(conn, module.params, module.check_mode, module._diff,
                               run_command=module.run_command).run()
    module.exit_json(**result)


if __name__ == '__main__':
    main()
