#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/netuser.sh [BUILD_DIR]: user-mode networking through passt, agentvmm
# (--net user: passt on a socket pair, devices/virtio/vnet_stream.c) against
# QEMU (-netdev stream to the same passt binary on a UNIX socket, virtio-net-pci),
# same kernel, same initramfs, same guest workload: TCP throughput each way
# between the guest and a server on the host's loopback (10.0.2.2 in the
# guest) and ping round-trip time, plus the host CPU time of the VMM and of
# passt per GiB moved. Not a test: prints figures and ratios. Runs inside the
# nested test host when this machine's /dev/kvm cannot boot a kernel.
#
# All traffic stays in namespace avnu-$$: a veth with a default route that
# leads nowhere (passt copies the interface that has it) and its loopback.
# Environment: NET_MIB (default 64) MiB per direction, NET_PINGS (default 50),
# NET_ROUNDS (default 3) rounds of both VMMs, alternating.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
if [ -z "${AV_TESTHOST:-}" ] && "$root/scripts/testhost.sh" --need; then
	exec "$root/scripts/testhost.sh" --timeout 3000 --env "NET_MIB=${NET_MIB:-64}" \
		--env "NET_PINGS=${NET_PINGS:-50}" --env "NET_ROUNDS=${NET_ROUNDS:-3}" \
		-- sh "$root/bench/netuser.sh" "$build"
fi
AV=$build/agentvmm
K=${AV_KERNEL_CACHE:-/var/cache/agentvmm/kernel}/bzImage
MIB=${NET_MIB:-64}
PINGS=${NET_PINGS:-50}
ROUNDS=${NET_ROUNDS:-3}
NS=avnu-$$
TMP=$(mktemp -d /tmp/av-netuser-XXXXXX)
chmod 755 "$TMP"
MAC=02:00:00:00:be:02
. "$root/bench/netlib.sh"
trap net_cleanup EXIT INT TERM
command -v qemu-system-x86_64 >/dev/null || { echo "netuser.sh: no qemu-system-x86_64"; exit 1; }
command -v passt >/dev/null || { echo "netuser.sh: no passt"; exit 1; }

net_ns_veth
# passt answers the guest's pings with ping sockets: let every user open them here
ip netns exec "$NS" sysctl -qw net.ipv4.ping_group_range="0 2147483647"

net_peer_py
# host -> guest keeps the guest's side open (a fifo on stdin): Debian 12's
# passt mishandles a connection the guest half-closes first (docs/net.md)
WORK="ping -c 3 -w 20 10.0.2.2 >/dev/null; dd if=/dev/zero bs=1M count=$MIB 2>/dev/null | nc 10.0.2.2 5001; mkfifo /tmp/h; exec 3<>/tmp/h; nc 10.0.2.2 5002 <&3 >/dev/null; ping -c $PINGS -i 0.05 10.0.2.2 | tail -1"

# cpu PID: user+system seconds of PID (0 when gone)
cpu() { awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# run_one NAME CMD...: both peers, the VM; one line of figures. The VMM's and
# passt's CPU time are read just before each exits (their pids in $TMP/pids).
run_one() {
	name=$1; shift
	ip netns exec "$NS" timeout 1500 python3 "$TMP/peer.py" recv 127.0.0.1 5001 $((MIB << 20)) > "$TMP/$name.g2h" &
	ip netns exec "$NS" timeout 1500 python3 "$TMP/peer.py" send 127.0.0.1 5002 $((MIB << 20)) > "$TMP/$name.h2g" &
	sleep 0.5
	: > "$TMP/cpu"
	ip netns exec "$NS" timeout 1500 "$@" > "$TMP/$name.out" 2>&1 &
	vpid=$!
	# sample the VMM's and passt's CPU time until the VM ends: the last sample counts
	while kill -0 "$vpid" 2>/dev/null; do
		v=0; p=0
		for q in $(ip netns pids "$NS"); do
			case $(cat "/proc/$q/comm" 2>/dev/null) in
			agentvmm | qemu-system-x86) v=$(cpu "$q") ;;
			passt*) p=$(cpu "$q") ;;
			esac
		done
		[ "$v" = 0 ] || echo "$v $p" > "$TMP/cpu"
		sleep 0.5
	done
	wait
	[ -s "$TMP/$name.g2h" ] || { echo "$name: no figures; its output:"; tail -20 "$TMP/$name.out"; }
	rtt=$(sed -n 's|.*min/avg/max = [0-9.]*/\([0-9.]*\)/.*|\1|p' "$TMP/$name.out" | tail -1)
	read -r vc pc < "$TMP/cpu" || { vc=0; pc=0; }
	echo "$name $(cat "$TMP/$name.g2h") $(cat "$TMP/$name.h2g") ${rtt:-?} $vc $pc"
}

# One initrd for both, as bench/net.sh builds it: agentvmm's own initramfs
# with /init replaced by a script that loads the modules, configures eth0 as
# guest-init does for --net user (MTU 65520), runs the workload, powers off.
AGENTVMM_CACHE_DIR=$TMP ip netns exec "$NS" timeout 300 "$AV" --kernel "$K" \
	--net "user,mac=$MAC" -- true >/dev/null 2>&1 || true
BASE=$(ls "$TMP"/initramfs-*.cpio | head -1)
mkdir -p "$TMP/over"
cat > "$TMP/over/init" <<INIT
#!/bin/sh
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
while read -r m; do insmod "/lib/modules/\$m" 2>/dev/null; done < /etc/agentvmm/modules
ip link set lo up; ip addr add 10.0.2.15/24 dev eth0; ip link set eth0 mtu 65520; ip link set eth0 up
ip route add default via 10.0.2.2
sh -c '$WORK' > /dev/ttyS0 2>&1
poweroff -f
INIT
chmod 755 "$TMP/over/init"
(cd "$TMP/over" && echo init | cpio -o -H newc 2>/dev/null) > "$TMP/over.cpio"
cat "$BASE" "$TMP/over.cpio" > "$TMP/bench.cpio"
APPEND="console=ttyS0 8250.nr_uarts=1 panic=-1 quiet loglevel=1"

# QEMU's passt: the same binary and addresses, on a UNIX socket, one-off
qemu_passt() {
	rm -f "$TMP/passt.sock"
	ip netns exec "$NS" passt -f -q -1 -s "$TMP/passt.sock" -a 10.0.2.15 -n 24 -g 10.0.2.2 \
		>/dev/null 2>&1 &
	for _ in $(seq 100); do [ -S "$TMP/passt.sock" ] && break; sleep 0.1; done
}

echo "# $MIB MiB each way, $PINGS pings, $ROUNDS rounds; nested: ${AV_TESTHOST:-0}"
echo "# vmm guest->host_MB/s host->guest_MB/s rtt_avg_ms vmm_cpu_s passt_cpu_s"
: > "$TMP/res"
r=0
while [ "$r" -lt "$ROUNDS" ]; do
	r=$((r + 1))
	run_one agentvmm "$AV" --kernel "$K" --initrd "$TMP/bench.cpio" --mem 512 \
		--net "user,mac=$MAC" | tee -a "$TMP/res"
	qemu_passt
	run_one qemu qemu-system-x86_64 -M q35,accel=kvm -cpu host -m 512 -smp 1 -nodefaults \
		-no-user-config -nographic -serial stdio -no-reboot -kernel "$K" \
		-initrd "$TMP/bench.cpio" -append "$APPEND" \
		-netdev "stream,id=n0,server=off,addr.type=unix,addr.path=$TMP/passt.sock" \
		-device "virtio-net-pci,netdev=n0,mac=$MAC" | tee -a "$TMP/res"
done
# medians per VMM, then ratios; CPU per GiB = (VMM + passt) / (2 x MIB / 1024)
awk -v mib="$MIB" '
function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
	if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
$2 > 0 { k = $1; n[k]++; g[k, n[k]] = $2; h[k, n[k]] = $3; t[k, n[k]] = $4
	c[k, n[k]] = ($5 + $6) / (2 * mib / 1024) }
END {
	for (k in n) { for (i = 1; i <= n[k]; i++) { G[i] = g[k, i]; H[i] = h[k, i]; T[i] = t[k, i]; C[i] = c[k, i] }
		mg[k] = med(G, n[k]); mh[k] = med(H, n[k]); mt[k] = med(T, n[k]); mc[k] = med(C, n[k])
		printf "median %s (%d rounds): guest->host %.1f MB/s, host->guest %.1f MB/s, rtt %.3f ms, host CPU %.2f s/GiB\n",
			k, n[k], mg[k], mh[k], mt[k], mc[k] }
	if (mg["qemu"] > 0 && mh["qemu"] > 0 && mt["agentvmm"] > 0 && mc["qemu"] > 0)
		printf "ratio agentvmm/qemu: guest->host %.2f, host->guest %.2f, rtt (qemu/agentvmm) %.2f, CPU per GiB %.2f\n",
			mg["agentvmm"] / mg["qemu"], mh["agentvmm"] / mh["qemu"], mt["qemu"] / mt["agentvmm"],
			mc["agentvmm"] / mc["qemu"] }' "$TMP/res"
