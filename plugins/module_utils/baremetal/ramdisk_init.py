# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The /init of the discovery ramdisk: a busybox shell script that reports a node's hardware to the provisioning
server as JSON, then powers the node off (or waits, or reboots).

It is a Python string so that it travels with the modules (Ansible ships only .py files of module_utils); the
image builder hashes it, so that changing it rebuilds the ramdisk. Kernel command line:
  vi.report=URL     where to POST the report (required)
  vi.after=poweroff|wait|reboot   what to do once the report is accepted (default poweroff)
  vi.bmc=ADDRESS    the node's BMC address, when the provisioning server knows it
  BOOTIF=01-aa-bb-..  the NIC the node booted from (pxelinux IPAPPEND 2, iPXE); tried first
The fields follow Ironic's agent inventory; the receiver (discovery.py) checks every one, since the
node is not trusted.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

# Network up, shared with the hypervisor image's /init (hypervisor_init.py): a DHCP lease on the NIC the node booted
# from (BOOTIF) first, then on the others; sets boot_mac, nics, T_LINK and T_NET, and the address in /tmp/address.
NETWORK_UP = r'''cat > /etc/udhcpc.script <<'EOF'
#!/bin/sh
case "$1" in bound|renew)
  ip addr flush dev "$interface"; ip addr add "$ip/${mask:-24}" dev "$interface"
  [ -n "$router" ] && ip route add default via "${router%% *}" dev "$interface"
  echo "$ip" > /tmp/address;;
esac
EOF
chmod 755 /etc/udhcpc.script

# NICs: the one the node booted from first (BOOTIF), then the others
boot_mac=$(echo "${BOOTIF#01-}" | tr '-' ':' | tr 'A-F' 'a-f')
nics=""
for n in /sys/class/net/*; do
  name=${n##*/}; [ "$name" = lo ] && continue
  ip link set "$name" up
  if [ "$(cat "$n/address")" = "$boot_mac" ]; then nics="$name $nics"; else nics="$nics $name"; fi
done
for i in 1 2 3 4 5 6 7 8 9 10; do  # carrier takes a moment after the driver loads
  grep -q 1 /sys/class/net/*/carrier 2>/dev/null && break; sleep 0.3
done
T_LINK=$(cut -d' ' -f1 /proc/uptime)
for try in 1 2; do
  for name in $nics; do
    udhcpc -s /etc/udhcpc.script -i "$name" -n -q -t 4 -T 1 > /tmp/udhcpc.log 2>&1 && break 2
  done
done
[ -s /tmp/address ] || log "no DHCP lease on $nics: $(tail -n 3 /tmp/udhcpc.log)"
T_NET=$(cut -d' ' -f1 /proc/uptime)
'''

INIT_SCRIPT = r'''#!/bin/sh
# virtualiron.infra discovery ramdisk /init (plugins/module_utils/baremetal/ramdisk_init.py)
export PATH=/bin:/sbin
/bin/busybox mkdir -p /proc /sys /dev /tmp /run
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
/bin/busybox --install -s /bin
T_INIT=$(cut -d' ' -f1 /proc/uptime)
log() { echo "virtualiron-discovery: $*" > /dev/console; }
arg() { for w in $(cat /proc/cmdline); do case "$w" in "$1"=*) echo "${w#*=}";; esac; done; }
# JSON string of a file's first line, without control characters; "" when unreadable
jstr() { v=$(head -n1 "$1" 2>/dev/null | tr -d '\000-\037\177' | sed 's/\\/\\\\/g; s/"/\\"/g; s/^ *//; s/ *$//')
         printf '"%s"' "$v"; }
num() { v=$(cat "$1" 2>/dev/null); case "$v" in ''|*[!0-9]*) echo null;; *) echo "$v";; esac; }

for m in $(cat /etc/modules); do insmod "/lib/modules/$m.ko" 2>/dev/null; done
REPORT=$(arg vi.report); AFTER=$(arg vi.after); BMC=$(arg vi.bmc); BOOTIF=$(arg BOOTIF)
[ -n "$REPORT" ] || { log "no vi.report= on the kernel command line"; AFTER=wait; }

''' + NETWORK_UP + r'''
nic_json() {
  sep=""
  for n in /sys/class/net/*; do
    name=${n##*/}; [ -e "$n/address" ] && [ "$name" != lo ] || continue
    driver=$(readlink "$n/device/driver" 2>/dev/null); driver=${driver##*/}
    link=false; [ "$(cat "$n/carrier" 2>/dev/null)" = 1 ] && link=true
    speed=$(num "$n/speed")
    printf '%s{"name":"%s","mac":%s,"driver":"%s","link":%s,"speed_mbps":%s}' \
      "$sep" "$name" "$(jstr "$n/address")" "$driver" "$link" "$speed"
    sep=","
  done
}
disk_json() {
  sep=""
  for d in /sys/block/*; do
    name=${d##*/}; [ -e "$d/size" ] || continue
    case "$name" in loop*|ram*|sr*|fd*|zram*|nbd*) continue;; esac
    serial="$d/serial"; [ -r "$serial" ] || serial="$d/device/serial"
    printf '%s{"name":"%s","size_bytes":%s,"model":%s,"serial":%s}' \
      "$sep" "$name" "$(( $(cat "$d/size") * 512 ))" "$(jstr "$d/device/model")" "$(jstr "$serial")"
    sep=","
  done
}
dmi=/sys/class/dmi/id
boot_mode=bios; [ -d /sys/firmware/efi ] && boot_mode=uefi
ipmi=false; [ -e /sys/firmware/dmi/entries/38-0 ] && ipmi=true
mem_kib=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)
T_INV=$(cut -d' ' -f1 /proc/uptime)
cat > /tmp/report.json <<EOF
{"version":1,"cpus":$(grep -c '^processor' /proc/cpuinfo),"memory_bytes":$((mem_kib * 1024)),
"boot_mode":"$boot_mode","address":"$(cat /tmp/address 2>/dev/null)","boot_mac":"$boot_mac",
"system":{"manufacturer":$(jstr $dmi/sys_vendor),"product":$(jstr $dmi/product_name),
"serial":$(jstr $dmi/product_serial),"uuid":$(jstr $dmi/product_uuid)},
"bmc":{"address":"$BMC","ipmi_device":$ipmi},
"nics":[$(nic_json)],"disks":[$(disk_json)],
"timings":{"init":$T_INIT,"link":$T_LINK,"network":$T_NET,"inventory":$T_INV}}
EOF
log "inventory: $(cat /tmp/report.json | tr -d '\n')"

sent=false
for try in 1 2 3 4 5; do
  [ -n "$REPORT" ] || break
  if wget -q -O /tmp/answer --header 'Content-Type: application/json' --post-file /tmp/report.json "$REPORT"
  then sent=true; log "reported to $REPORT: $(cat /tmp/answer)"; break; fi
  log "report to $REPORT failed (try $try)"; sleep "$try"
done
case "${AFTER:-poweroff}" in
  reboot) $sent && reboot -f;;
  poweroff) $sent && poweroff -f;;
esac
log "waiting (vi.after=${AFTER:-poweroff}, reported: $sent)"
exec sh -c 'while :; do sleep 3600; done'
'''
