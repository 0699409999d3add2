#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: discovery_image
short_description: Build the bare-metal discovery image (kernel, ramdisk, iPXE and pxelinux files) from Debian packages
version_added: 0.2.0
description:
  - Builds, into O(path), what a node needs to boot from the network and report its hardware. C(vmlinuz), the kernel
    of O(kernel_package); C(initrd.img), a busybox ramdisk with the virtio drivers whose C(/init) posts the node's
    inventory to the provisioning server; and the boot files C(undionly.kpxe), C(ipxe.efi) (iPXE), C(pxelinux.0),
    C(lpxelinux.0) and C(ldlinux.c32) (pxelinux).
  - The packages (O(kernel_package)'s versioned kernel, C(busybox-static), C(ipxe), C(pxelinux), C(syslinux-common))
    are fetched with C(apt-get download) and unpacked with C(dpkg-deb -x) into O(cache_dir); nothing is installed.
    The machine that runs the module needs apt sources that have them (Debian 12 or later).
  - What an image was built from (package versions, the hash of the ramdisk's C(/init), the builder's format) is
    kept in C(build.json); the image is rebuilt only when one of them changes, or a built file is missing.
  - "The ramdisk reads its kernel command line: C(vi.report=URL) (where to post the inventory),
    C(vi.after=poweroff|wait|reboot), C(vi.bmc=ADDRESS) and C(BOOTIF). The M(virtualiron.infra.pxe_boot) module
    writes it."
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
    description: Directory to build the image into (made when missing). Served over TFTP and HTTP.
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
  force:
    description: Rebuild even when nothing changed.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Discovery image for the provisioning server
  virtualiron.infra.discovery_image:
    path: /var/lib/virtualiron/pxe/default
  register: image
'''

RETURN = r'''
image:
  description: The image after the task (in check mode, the one there now).
  returned: always
  type: dict
  contains:
    path: {description: The directory., type: str, sample: /var/lib/virtualiron/pxe/default}
    kernel_version: {description: Version of the kernel., type: str, sample: 6.1.0-57-cloud-amd64}
    files:
      description: File name -> path, size in bytes and SHA-256.
      type: dict
      sample: {vmlinuz: {path: /var/lib/virtualiron/pxe/default/vmlinuz, size: 8453056, sha256: 1f...}}
    sources:
      description: What it was built from (package versions, init_sha256, format).
      type: dict
changes:
  description: What the task did.
  returned: always
  type: list
  elements: str
  sample: ["image built (linux-image-6.1.0-57-cloud-amd64 6.1.192-3, busybox-static 1:1.35.0-4+deb12u1+b1)"]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal.image import IMAGE_ARGUMENT_SPEC, ImageConverger
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError


def main():
    module = AnsibleModule(argument_spec=IMAGE_ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = ImageConverger(module.run_command, module.params, module.check_mode).run()
    except VirtualIronError as e:
        module.fail_json(msg=str(e))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
