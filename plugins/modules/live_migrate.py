#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: live_migrate
short_description: Move virtual servers to another host, live or stopped
version_added: 0.1.0
description:
  - Moves a virtual server from the host at O(uri) to the host at O(destination) (LiveMigrate). A running
    server keeps running during a live move; a stopped server's definition moves (a cold move).
  - The definition becomes persistent on the destination and leaves the source.
  - Idempotent. A server already on the destination and not on the source is not changed. If an earlier
    move completed but left the definition on the source, the stale definition is removed.
  - Pre-flight checks run before anything moves, and each refuses with its reason; a refusal changes
    nothing. They check that the destination answers and is not in maintenance (see
    M(virtualiron.infra.host_maintenance)), has enough free memory, can run the server's CPU model
    (libvirt's CPU comparison), reaches every disk (O(storage=shared)) or has a storage pool for it
    (O(storage=copy); for a stopped server also no file at the disk's path yet), has every switch the
    server's NICs use, and that every disk's format can be live-migrated (QEMU cannot live-migrate VHD images).
  - A stopped server moved with O(storage=copy) has its disks copied by the machine that runs the module, through
    libvirt only (volume download from the source, upload to the destination, holes kept); each disk becomes a
    volume of the same path, format and capacity in the destination's storage pool for its directory. Then the
    definition is defined on the destination and undefined on the source. B(The source keeps its disk files)
    (no data is ever deleted); remove them yourself once you no longer need them.
  - A failed move leaves the server running on the source only. The destination keeps nothing of it,
    no domain and no disk that the move created there (if its libvirtd is down at that moment, such a disk
    stays, and a re-run uses it). Both hosts are checked before and after every move.
  - O(servers) moves several servers of the same host at once, at most O(concurrency) at a time.
  - Supports check mode (pre-flight checks only) and C(--diff) (where the server is before and after).
author:
  - Virtual Iron revival team (@virtualiron)
extends_documentation_fragment:
  - virtualiron.infra.connection
attributes:
  check_mode:
    support: full
    description: Runs the pre-flight checks and reports what would move, without moving anything.
  diff_mode:
    support: full
    description: Shows the server's state on the source and the destination, before and after.
options:
  name:
    description:
      - Name of the virtual server to move. Required unless O(servers) is set.
    type: str
  servers:
    description:
      - Names of several servers of the source host to move to O(destination), at most O(concurrency) at a time.
      - Every server is tried; the task fails if any move fails, listing them, after the others are done.
      - Mutually exclusive with O(name).
    type: list
    elements: str
  destination:
    description:
      - The host to move the server to, as a libvirt URI (for example C(qemu+ssh://root@kvm2/system)), or as the
        name of an inventory host, whose C(virtualiron_uri) variable gives its URI (the inventory plugin and
        the lab's inventory set it).
      - The machine that runs the module must reach it, as it reaches O(uri); the hosts reach each other
        directly for the data (libvirt's C(migration_host) on the destination, or its host name).
    type: str
    required: true
  live:
    description:
      - V(true) moves a running server while it runs. A stopped server is always moved stopped.
      - V(false) moves a running server by shutting it down (gracefully, see O(shutdown_timeout) and O(force)),
        moving it, and starting it on the destination. Only when you say so.
    type: bool
    default: true
  storage:
    description:
      - V(shared) the disks are on storage both hosts see at the same path; only memory moves.
      - V(copy) copies every disk to the same path on the destination; the destination needs an active storage
        pool for each disk's directory. A live move copies while the server runs (the volume is created there if
        missing, reused if present).
      - A stopped server (or one that O(live=false) shuts down) has its disks copied before its definition moves;
        each disk must be a volume of an active storage pool on the source, and the pre-flight checks refuse if a
        file is already at its path on the destination (it is never overwritten). The source keeps its disk files.
      - A qcow2 overlay is copied alone when the server is stopped, so the pre-flight checks refuse unless its backing
        file is at the same path on the destination. A live move copies the whole chain into one image there.
    type: str
    choices: [shared, copy]
    default: shared
  bandwidth:
    description: Most bandwidth the move may use, in MiB/s (memory and disk copy). Default unlimited.
    type: int
  max_downtime:
    description: Longest pause of the server at the end of a live move, in milliseconds (QEMU's default is 300).
    type: int
  auto_converge:
    description: Slow the server's vCPUs down if its memory changes faster than the move can copy it.
    type: bool
    default: false
  postcopy:
    description:
      - Switch to post-copy after the first pass over memory, so that a server whose memory changes faster
        than the network can copy it still moves. It runs on the destination at once and fetches the rest of
        its memory from the source as it needs it.
      - B(Risk:) after the switch the server's state is split between the hosts. If either host or the network
        between them fails before the move completes, the server is lost (it cannot resume on either host).
        Use it only when O(auto_converge) is not enough, and never across an unreliable link.
    type: bool
    default: false
  parallel_connections:
    description: Number of parallel connections for the memory transfer (faster on fast links). Default one.
    type: int
  timeout:
    description:
      - Seconds a live move may take before O(timeout_action) is taken. Default no timeout.
    type: int
  timeout_action:
    description:
      - V(abort) cancels the move at the timeout; the server keeps running on the source.
      - V(suspend) pauses the server so that the move completes; it is resumed on the destination.
    type: str
    choices: [abort, suspend]
    default: abort
  concurrency:
    description: With O(servers), how many moves run at the same time.
    type: int
    default: 2
  shutdown_timeout:
    description: With O(live=false), seconds to wait for a running server to shut down gracefully.
    type: int
    default: 120
  force:
    description: With O(live=false), power the server off if it does not shut down within O(shutdown_timeout).
    type: bool
    default: false
notes:
  - The migration is managed by the machine that runs the module (libvirt's client-managed migration), so
    the hosts need no credentials for each other; they need a network path for the data.
  - On shared storage libvirt needs the disks to use O(virtualiron.infra.virtual_server#module:disks[].cache=none)
    (the default of M(virtualiron.infra.virtual_server)).
  - CD drives are not moved; their ISO must be at the same path on the destination.
seealso:
  - module: virtualiron.infra.host_maintenance
  - module: virtualiron.infra.virtual_server
'''

EXAMPLES = r'''
- name: Move web1 from kvm1 to kvm2 while it runs (disks on shared storage)
  virtualiron.infra.live_migrate:
    uri: qemu+ssh://root@kvm1.example.com/system
    destination: qemu+ssh://root@kvm2.example.com/system
    name: web1

- name: Move it to an inventory host, copying its local disks, within 10 minutes or not at all
  virtualiron.infra.live_migrate:
    uri: "{{ hostvars['kvm1'].virtualiron_uri }}"
    destination: kvm2           # an inventory host: its virtualiron_uri
    name: db1
    storage: copy
    bandwidth: 500
    timeout: 600
    timeout_action: abort

- name: A busy server that never converges - slow its vCPUs, or pause it for the last part
  virtualiron.infra.live_migrate:
    uri: qemu+ssh://root@kvm1.example.com/system
    destination: qemu+ssh://root@kvm2.example.com/system
    name: batch1
    auto_converge: true
    max_downtime: 500
    timeout: 120
    timeout_action: suspend

- name: Move three servers, two at a time
  virtualiron.infra.live_migrate:
    uri: qemu+ssh://root@kvm1.example.com/system
    destination: qemu+ssh://root@kvm2.example.com/system
    servers: [app1, app2, app3]
    concurrency: 2

- name: Move a server by shutting it down and starting it on the other host
  virtualiron.infra.live_migrate:
    uri: qemu+ssh://root@kvm1.example.com/system
    destination: qemu+ssh://root@kvm2.example.com/system
    name: legacy1
    live: false
    shutdown_timeout: 60
    force: true

- name: Move a stopped server whose disks are local to its host, copying them (the source keeps its files)
  virtualiron.infra.live_migrate:
    uri: qemu+ssh://root@kvm1.example.com/system
    destination: qemu+ssh://root@kvm2.example.com/system
    name: archive1
    live: false
    storage: copy
'''

RETURN = r'''
name:
  description: The server moved.
  returned: without O(servers)
  type: str
  sample: web1
source:
  description: URI of the host the server came from.
  returned: without O(servers)
  type: str
  sample: qemu+ssh://root@kvm1.example.com/system
destination:
  description: URI of the host the server is on now.
  returned: without O(servers)
  type: str
  sample: qemu+ssh://root@kvm2.example.com/system
action:
  description:
    - What the move needed. V(none) already there; V(finish) a stale definition removed from the source;
      V(live) moved while running; V(cold) a stopped server's definition moved (and its disks copied, with
      O(storage=copy)); V(restart) shut down, moved, started.
  returned: without O(servers)
  type: str
  sample: live
changes:
  description: What was done (or would be, in check mode).
  returned: without O(servers)
  type: list
  elements: str
  sample: [live-migrated]
duration_seconds:
  description:
    - Time the move took, measured by the module, from connecting to both hosts to checking them after the
      move (pre-flight checks and verification included).
  returned: when the server moved
  type: float
  sample: 0.61
migration_seconds:
  description: Time libvirt's migration job took, from its statistics; for a stopped server's disk copy, the time
    the copy and the definition's move took.
  returned: when the server moved live, or a stopped server's disks were copied
  type: float
  sample: 0.29
downtime_ms:
  description: How long the server was paused at the switch-over, measured by the hypervisor.
  returned: when the server moved live
  type: int
  sample: 9
bytes_transferred:
  description: Bytes the move sent (memory and disks), from the job statistics; for a stopped server's disk copy,
    the disks' data sent (holes are not sent).
  returned: when the server moved live, or a stopped server's disks were copied
  type: int
  sample: 516907
memory_bytes_transferred:
  description: Of which memory.
  returned: when the server moved live
  type: int
disk_bytes_transferred:
  description: Of which disks (O(storage=copy)).
  returned: when the server moved live, or a stopped server's disks were copied
  type: int
source_disks_kept:
  description: The disk files a stopped server's copy left on the source (they are never deleted).
  returned: when a stopped server's disks were copied
  type: list
  elements: str
  sample: [/var/lib/libvirt/images/legacy1.raw]
timed_out:
  description: The O(timeout) was reached and O(timeout_action) taken.
  returned: when the timeout was reached
  type: bool
postcopy_started:
  description: With O(postcopy), whether the move switched to post-copy.
  returned: with O(postcopy)
  type: bool
server:
  description: The server on the destination, as M(virtualiron.infra.virtual_server) returns it.
  returned: when not in check mode
  type: dict
results:
  description: With O(servers), one result per server (keys as above, and C(failed) and C(msg) for a failed move).
  returned: when O(servers) is set
  type: list
  elements: dict
failed_servers:
  description: With O(servers), the servers that did not move.
  returned: when O(servers) is set
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import CONNECTION_ARGUMENT_SPEC
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError, failure_details
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.move import move_servers
from ansible_collections.virtualiron.infra.plugins.module_utils.migration.options import MIGRATION_ARGUMENT_SPEC

ARGUMENT_SPEC = dict(CONNECTION_ARGUMENT_SPEC, name=dict(type='str'), servers=dict(type='list', elements='str'),
                     destination=dict(type='str', required=True), concurrency=dict(type='int', default=2),
                     **MIGRATION_ARGUMENT_SPEC)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                           mutually_exclusive=[('name', 'servers')], required_one_of=[('name', 'servers')])
    # The moves open their own connections to both hosts: no libvirt_session here.
    try:
        result = move_servers(module.params, module.check_mode, module._diff)
    except VirtualIronError as e:
        module.fail_json(msg=str(e), **failure_details(e))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
