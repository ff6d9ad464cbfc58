#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/net.sh [BUILD_DIR]: TCP throughput (guest->host, host->guest) and ping
# round-trip time between a guest and a network namespace, agentvmm vs QEMU
# (-netdev tap,vhost=off + virtio-net-pci), same kernel, same initramfs (the
# one agentvmm builds), same guest workload (busybox nc/ping). Not a test:
# prints figures and ratios. Runs inside the nested test host when this
# machine's /dev/kvm cannot boot a kernel (docs/testhost.md).
#
# All traffic stays in namespace avbench-$$ (tap0, 10.0.2.1/24; guest 10.0.2.15).
# Environment: NET_MIB (default 64) MiB per direction, NET_PINGS (default 50).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
if [ -z "${AV_TESTHOST:-}" ] && "$root/scripts/testhost.sh" --need; then
	exec "$root/scripts/testhost.sh" --timeout 2400 --env "NET_MIB=${NET_MIB:-64}" \
		--env "NET_PINGS=${NET_PINGS:-50}" -- sh "$root/bench/net.sh" "$build"
fi
AV=$build/agentvmm
K=${AV_KERNEL_CACHE:-/var/cache/agentvmm/kernel}/bzImage
MIB=${NET_MIB:-64}
PINGS=${NET_PINGS:-50}
NS=avbench-$$
TMP=$(mktemp -d /tmp/av-netbench-XXXXXX)
MAC=02:00:00:00:be:01
. "$root/bench/netlib.sh"
trap net_cleanup EXIT INT TERM
command -v qemu-system-x86_64 >/dev/null || { echo "net.sh: no qemu-system-x86_64"; exit 1; }

ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" ip tuntap add tap0 mode tap
ip netns exec "$NS" ip addr add 10.0.2.1/24 dev tap0
ip netns exec "$NS" ip link set tap0 up

net_peer_py
WORK="ping -c 3 -w 20 10.0.2.1 >/dev/null; dd if=/dev/zero bs=1M count=$MIB 2>/dev/null | nc 10.0.2.1 5001; nc 10.0.2.1 5002 </dev/null >/dev/null; ping -c $PINGS -i 0.05 10.0.2.1 | tail -1"

# run_one NAME CMD...: start both peers, run the VM, collect figures
run_one() {
	name=$1; shift
	ip netns exec "$NS" timeout 1500 python3 "$TMP/peer.py" recv 10.0.2.1 5001 $((MIB << 20)) > "$TMP/$name.g2h" &
	ip netns exec "$NS" timeout 1500 python3 "$TMP/peer.py" send 10.0.2.1 5002 $((MIB << 20)) > "$TMP/$name.h2g" &
	sleep 0.5
	ip netns exec "$NS" timeout 1500 "$@" > "$TMP/$name.out" 2>&1 || true
	wait
	[ -s "$TMP/$name.g2h" ] || { echo "$name: no figures; its output:"; tail -20 "$TMP/$name.out"; }
	rtt=$(sed -n 's|.*min/avg/max = [0-9.]*/\([0-9.]*\)/.*|\1|p' "$TMP/$name.out" | tail -1)
	echo "$name $(cat "$TMP/$name.g2h") $(cat "$TMP/$name.h2g") ${rtt:-?}"
}

# Both VMMs boot the same initrd: agentvmm's own (modules, busybox) with /init
# replaced by a shell script (an appended cpio overrides it), because
# guest-init's exit/boot-timer ports fault under QEMU here. The script loads the
# modules, configures eth0 with busybox ip, runs the workload and powers off.
AGENTVMM_CACHE_DIR=$TMP ip netns exec "$NS" timeout 300 "$AV" --kernel "$K" \
	--net "tap=tap0,mac=$MAC" -- true >/dev/null 2>&1 || true
BASE=$(ls "$TMP"/initramfs-*.cpio | head -1)
mkdir -p "$TMP/over"
cat > "$TMP/over/init" <<INIT
#!/bin/sh
mkdir -p /proc /sys /dev
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
while read -r m; do insmod "/lib/modules/\$m" 2>/dev/null; done < /etc/agentvmm/modules
ip link set lo up; ip addr add 10.0.2.15/24 dev eth0; ip link set eth0 up
sh -c '$WORK' > /dev/ttyS0 2>&1
poweroff -f
INIT
chmod 755 "$TMP/over/init"
(cd "$TMP/over" && echo init | cpio -o -H newc 2>/dev/null) > "$TMP/over.cpio"
cat "$BASE" "$TMP/over.cpio" > "$TMP/bench.cpio"
APPEND="console=ttyS0 8250.nr_uarts=1 panic=-1 quiet loglevel=1"

echo "# $MIB MiB each way, $PINGS pings; nested: ${AV_TESTHOST:-0}"
echo "# vmm guest->host_MB/s host->guest_MB/s rtt_avg_ms"
run_one agentvmm "$AV" --kernel "$K" --initrd "$TMP/bench.cpio" --mem 512 \
	--net "tap=tap0,mac=$MAC" | tee "$TMP/res"
run_one qemu qemu-system-x86_64 -M q35,accel=kvm -cpu host -m 512 -smp 1 -nodefaults \
	-no-user-config -nographic -serial stdio -no-reboot -kernel "$K" -initrd "$TMP/bench.cpio" \
	-append "$APPEND" -netdev tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=off \
	-device virtio-net-pci,netdev=n0,mac=$MAC | tee -a "$TMP/res"
awk '$1 == "agentvmm" { a2 = $2; a3 = $3; a4 = $4 } $1 == "qemu" { q2 = $2; q3 = $3; q4 = $4 }
END { if (q2 > 0 && q3 > 0 && a4 > 0)
	printf "ratio agentvmm/qemu: guest->host %.2f, host->guest %.2f, rtt (qemu/agentvmm) %.2f\n",
		a2 / q2, a3 / q3, q4 / a4 }' "$TMP/res"
