# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The /init of the stateless hypervisor image: a busybox shell script that brings a node up as a libvirt
host with its whole root in memory (network by DHCP, a host UUID, virtlogd, virtlockd, libvirtd listening on
its address), then tells the provisioning server it is provisioned (or failed, and why).

A Python string so that it travels with the modules; the image builder hashes it, so that changing it rebuilds
the image. Kernel command line:
  vi.report=URL       where to POST the state report (the receiver's /report)
  vi.libvirt=tls|tcp-noauth   how libvirtd listens (default tls). tls needs the node's certificate and key and
                      the CA in /etc/pki (see docs/bare-metal.md): without them libvirtd is not started and the
                      node reports failed. tcp-noauth (TCP without authentication: anyone who reaches the
                      node controls it) is for a closed lab only.
  BOOTIF=01-aa-bb-..  the NIC the node booted from (iPXE, pxelinux); its MAC names the node
The host UUID is the DMI system UUID when it is readable and not a placeholder, else one made from the MAC:
live migration refuses a destination with the source's UUID.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.virtualiron.infra.plugins.module_utils.baremetal.ramdisk_init import NETWORK_UP

HYPERVISOR_INIT = r'''#!/bin/sh
# virtualiron.infra stateless hypervisor /init (plugins/module_utils/baremetal/hypervisor_init.py)
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
/bin/busybox mkdir -p /proc /sys /dev /tmp /run
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
/bin/busybox mkdir -p /dev/pts /dev/shm
/bin/busybox mount -t devpts devpts /dev/pts
/bin/busybox mount -t tmpfs -o mode=1777 tmpfs /dev/shm
/bin/busybox --install -s /bin
T_INIT=$(cut -d' ' -f1 /proc/uptime)
log() { echo "virtualiron-hypervisor: $*" > /dev/console; }
arg() { for w in $(cat /proc/cmdline); do case "$w" in "$1"=*) echo "${w#*=}";; esac; done; }
for m in $(cat /etc/modules); do insmod "/lib/modules/$m.ko" 2>/dev/null; done
REPORT=$(arg vi.report); LISTEN=$(arg vi.libvirt); BOOTIF=$(arg BOOTIF)
ip link set lo up
''' + NETWORK_UP + r'''
ADDRESS=$(cat /tmp/address 2>/dev/null)
mac=$boot_mac
for name in $nics; do  # the NIC that holds the lease, when the boot loader named none
  ip -4 addr show dev "$name" | grep -q "inet $ADDRESS/" && [ -z "$mac" ] && mac=$(cat "/sys/class/net/$name/address")
done
host=node-$(echo "$mac" | tr -d :)
hostname "$host"
printf '127.0.0.1 localhost\n%s %s\n' "$ADDRESS" "$host" > /etc/hosts

uuid=$(head -n1 /sys/class/dmi/id/product_uuid 2>/dev/null | tr 'A-F' 'a-f')
echo "$uuid" | grep -qE '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' || uuid=""
case "$uuid" in 00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff|03000200-0400-0500-0006-000700080009) uuid="";; esac
[ -n "$uuid" ] || uuid="00000000-0000-4000-8000-$(echo "$mac" | tr -d :)"

mkdir -p /etc/libvirt/storage/autostart /var/log/libvirt /var/lib/libvirt/images /var/cache/libvirt /run/libvirt
error=""
case "${LISTEN:-tls}" in
  tcp-noauth) transport=tcp; listen='listen_tls = 0
listen_tcp = 1
auth_tcp = "none"'; port=407D;;  # 16509
  *) transport=tls; listen='listen_tls = 1
listen_tcp = 0'; port=4082  # 16514
     for f in /etc/pki/CA/cacert.pem /etc/pki/libvirt/servercert.pem /etc/pki/libvirt/private/serverkey.pem; do
       [ -r "$f" ] || error="no $f for libvirtd over TLS: give the node its certificate (or vi.libvirt=tcp-noauth in a lab)"
     done;;
esac
cat > /etc/libvirt/libvirtd.conf <<EOF
$listen
listen_addr = "$ADDRESS"
host_uuid = "$uuid"
EOF
echo "migration_host = \"$ADDRESS\"" > /etc/libvirt/qemu.conf
echo "<pool type='dir'><name>default</name><target><path>/var/lib/libvirt/images</path></target></pool>" \
  > /etc/libvirt/storage/default.xml
ln -sf ../default.xml /etc/libvirt/storage/autostart/default.xml
[ -n "$ADDRESS" ] || error="no DHCP lease on $nics"
T_CONF=$(cut -d' ' -f1 /proc/uptime)
if [ -z "$error" ]; then
  virtlogd -d && virtlockd -d && libvirtd -d --listen || error="a libvirt daemon did not start"
  for i in $(seq 1 120); do  # libvirtd listens once its drivers are up (slow without hardware virtualization)
    [ -n "$error" ] || grep -q ":$port 00000000:0000 0A" /proc/net/tcp && break; sleep 0.5
  done
  [ -n "$error" ] || grep -q ":$port 00000000:0000 0A" /proc/net/tcp || error="libvirtd is not listening after 60 s"
fi
T_LIBVIRT=$(cut -d' ' -f1 /proc/uptime)
state=provisioned; [ -z "$error" ] || { state=failed; log "$error"; }
cat > /tmp/report.json <<EOF
{"version":1,"state":"$state","mac":"$mac","transport":"$transport","host_uuid":"$uuid","error":"$error",
"timings":{"init":$T_INIT,"link":$T_LINK,"network":$T_NET,"config":$T_CONF,"libvirt":$T_LIBVIRT}}
EOF
log "state: $(tr -d '\n' < /tmp/report.json)"
for try in 1 2 3 4 5; do
  [ -n "$REPORT" ] || { log "no vi.report= on the kernel command line"; break; }
  wget -q -O /tmp/answer --header 'Content-Type: application/json' --post-file /tmp/report.json "$REPORT" \
    && { log "reported to $REPORT: $(cat /tmp/answer)"; break; }
  log "report to $REPORT failed (try $try)"; sleep "$try"
done
# PID 1 stays, reaping the processes the daemons leave behind (QEMU of a server that moved away)
exec sh -c 'while :; do sleep 1; done'
'''
