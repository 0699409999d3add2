#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: hypervisor_image
short_description: Build the stateless hypervisor image (kernel and a root with libvirtd and QEMU in memory) from Debian packages
version_added: 0.2.0
description:
  - Builds, into O(path), what a node needs to run as a libvirt host from memory, with nothing installed on its disks.
    C(vmlinuz), the kernel of O(kernel_package) (the discovery image's); C(initrd.img), a whole root in an initramfs
    with O(packages) and everything they depend on (Depends and Pre-Depends, no Recommends), busybox, the virtio, tun,
    bridge, vhost_net and KVM kernel modules, and an C(/init) that starts C(virtlogd), C(virtlockd) and
    C(libvirtd --listen), then reports the node C(provisioned) to the provisioning server.
  - The packages are fetched with C(apt-get download) and unpacked with C(dpkg-deb -x) into O(cache_dir) (shared with
    M(virtualiron.infra.discovery_image)); nothing is installed and no maintainer script runs. Documentation, manual
    pages and translations are left out. The machine that runs the module needs apt sources with the packages
    (Debian 12 or later).
  - What the image was built from (every package version, the hash of C(/init), the builder's format) is kept in
    C(build.json); the image is rebuilt only when one of them changes, or a built file is missing.
  - "Boot it with M(virtualiron.infra.pxe_boot) O(virtualiron.infra.pxe_boot#module:boot=image). The kernel command
    line: C(vi.report=URL) (the receiver's C(/report)), C(vi.libvirt=tls) (the default; the node needs its
    certificate, key and CA in C(/etc/pki), which this image does not hold, see docs/bare-metal.md) or
    C(vi.libvirt=tcp-noauth) (TCP without any authentication, for a closed lab only), and C(BOOTIF)."
  - The node needs memory for the whole root (about 210 MB unpacked; C(initrd.img) is about 80 MB) besides its servers.
  - Runs on the machine that serves the files (the provisioning server). Idempotent; supports check mode.
author:
  - Virtual Iron revival team (@virtualiron)
attributes:
  check_mode:
    support: full
    description: Reads apt's candidate versions and reports whether the image would be rebuilt; downloads nothing.
  diff_mode:
    support: none
    description: No diff.
options:
  path:
    description: Directory to build the image into (made when missing). Served over HTTP.
    type: path
    required: true
  cache_dir:
    description: Where downloaded packages and their unpacked trees are kept between builds.
    type: path
    default: ~/.cache/virtualiron/discovery
  kernel_package:
    description: The kernel metapackage whose versioned dependency gives the kernel and its modules.
    type: str
    default: linux-image-cloud-amd64
  packages:
    description: The packages of the root (with what they depend on). Add, say, C(qemu-utils) or C(ovmf).
    type: list
    elements: str
    default: [libvirt-daemon, libvirt-daemon-driver-qemu, qemu-system-x86]
  force:
    description: Rebuild even when nothing changed.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Stateless hypervisor image next to the discovery image
  virtualiron.infra.hypervisor_image:
    path: /var/lib/virtualiron/pxe/boot/hypervisor
  register: hypervisor

- name: A discovered node boots it
  virtualiron.infra.pxe_boot:
    root: /var/lib/virtualiron/pxe/boot
    server_url: http://10.0.5.1:8080
    mac: "52:54:00:a1:b2:c3"
    boot: image
    kernel: hypervisor/vmlinuz
    initrd: hypervisor/initrd.img
    cmdline: console=ttyS0 vi.report=http://10.0.5.1:8080/report vi.libvirt=tls
'''

RETURN = r'''
image:
  description: The image after the task (in check mode, the one there now).
  returned: always
  type: dict
  contains:
    path: {description: The directory., type: str, sample: /var/lib/virtualiron/pxe/boot/hypervisor}
    kernel_version: {description: Version of the kernel., type: str, sample: 6.1.0-57-cloud-amd64}
    files:
      description: File name (C(vmlinuz), C(initrd.img)) -> path, size in bytes and SHA-256.
      type: dict
      sample: {initrd.img: {path: /var/lib/virtualiron/pxe/boot/hypervisor/initrd.img, size: 84233728, sha256: 1f...}}
    sources:
      description: What it was built from (package versions, roots, kernel_package, init_sha256, modules, format).
      type: dict
changes:
  description: What the task did.
  returned: always
  type: list
  elements: str
  sample: ["image built (147 packages: libvirt-daemon 9.0.0-4+deb12u2, qemu-system-x86 1:7.2+dfsg-7+deb12u18+b3, ...)"]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal.image import IMAGE_ARGUMENT_SPEC
from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal.hypervisor_image import (
    HYPERVISOR_PACKAGES, HypervisorImageConverger)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError

ARGUMENT_SPEC = dict(IMAGE_ARGUMENT_SPEC, packages=dict(type='list', elements='str', default=list(HYPERVISOR_PACKAGES)))


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = HypervisorImageConverger(module.run_command, module.params, module.check_mode).run()
    except VirtualIronError as e:
        module.fail_json(msg=str(e))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
