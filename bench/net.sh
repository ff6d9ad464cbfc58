#!/bin/bash
# SPDX-License-Identifier: MIT
#
# net.sh: TCP throughput both ways (iperf3) and ping round-trip time between
# a guest and a network namespace over a tap, with the host CPU per GiB moved,
# agentvmm vs QEMU microvm (-netdev tap,vhost=off, and vhost=on where
# /dev/vhost-net exists) + virtio-net-pci: the same kernel, initramfs, kernel
# command line (guest-init configures the NIC by its MAC), the host's iperf3
# and ping from the /usr share, the same virtiofsd. Not a test: prints
# figures and ratios. Runs inside the nested test host when this machine's
# /dev/kvm cannot boot a kernel (docs/testhost.md).
#
# usage: bench/net.sh [--rounds N] [--up MiB] [--down MiB] [--pings N]
#                     [--mem MiB] [--vhost auto|off] [--vs-build DIR] [--out DIR] [BUILD_DIR]
#
# up: guest -> namespace (iperf3 -c), down: namespace -> guest (iperf3 -R).
# Rounds interleave the VMMs (A B C, C B A, ...; default 6); each row gives
# the median and min-max over the rounds of the throughput (iperf3's
# receiver) and of the host CPU (VMM process, its threads and children, its
# virtiofsds, vhost-net's worker) per GiB. All traffic stays in namespace
# avbench-$$ (tap0, 10.0.2.1/24; guest 10.0.2.15). Writes net.txt,
# net.records and logs into DIR (default BUILD_DIR/bench-results/net-<date>).
# --vs-build DIR: DIR/agentvmm (agentvmm-b) in QEMU's place, to measure a change.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
rounds=6 up=32 down=64 pings=50 mem=512 vhost=auto out='' vs=''

usage() { sed -n '13,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) rounds=${2:?}; shift 2 ;;
	--up) up=${2:?}; shift 2 ;;
	--down) down=${2:?}; shift 2 ;;
	--pings) pings=${2:?}; shift 2 ;;
	--mem) mem=${2:?}; shift 2 ;;
	--vhost) vhost=${2:?}; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	--vs-build) vs=$(cd "${2:?}" && pwd); shift 2 ;;
	-h | --help) usage ;;
	-*) echo "net.sh: unknown option '$1'" >&2; usage ;;
	*) build=$1; shift ;;
	esac
done
for v in "$rounds" "$up" "$down" "$pings" "$mem"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || { echo "net.sh: '$v' is not a positive number" >&2; exit 2; }
done
case $vhost in auto | off) ;; *) echo "net.sh: --vhost auto or off" >&2; exit 2 ;; esac
build=$(cd "$build" && pwd)
[ -n "$out" ] || out=$build/bench-results/net-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ -z "${AV_TESTHOST:-}" ] && "$root/scripts/testhost.sh" --need; then
	exec "$root/scripts/testhost.sh" --share "$root" --timeout 3000 -- "$root/bench/net.sh" \
		--rounds "$rounds" --up "$up" --down "$down" --pings "$pings" --mem "$mem" \
		--vhost "$vhost" --out "$out" ${vs:+--vs-build "$vs"} "$build"
fi
command -v qemu-system-x86_64 >/dev/null || { echo "net.sh: no qemu-system-x86_64" >&2; exit 1; }
command -v iperf3 >/dev/null || { echo "net.sh: no iperf3 (scripts/setup.sh)" >&2; exit 1; }
. "$root/bench/iolib.sh"
AV=$build/agentvmm
K=${AV_KERNEL_CACHE:-/var/cache/agentvmm/kernel}/bzImage
VFSD=${AGENTVMM_VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
NS=avbench-$$
TMP=$(mktemp -d /tmp/av-netbench-XXXXXX)
MAC=02:00:00:00:be:01
. "$root/bench/netlib.sh"
trap net_cleanup EXIT INT TERM
fs=$TMP/fs
records=$out/net.records
: >"$records"
mkdir -p "$fs" "$out/logs"

ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" ip tuntap add tap0 mode tap
ip netns exec "$NS" ip addr add 10.0.2.1/24 dev tap0
ip netns exec "$NS" ip link set tap0 up
# one iperf3 server for every run (one client at a time)
ip netns exec "$NS" iperf3 -s -B 10.0.2.1 >"$TMP/iperf3-server.log" 2>&1 &
vmms="av qemu"
if [ -n "$vs" ]; then
	vmms="av avb"
elif [ "$vhost" = auto ]; then
	modprobe vhost_net 2>/dev/null || true
	if [ -c /dev/vhost-net ]; then vmms="av qemu qemuvh"; else echo "net.sh: no /dev/vhost-net: vhost=on left out" >&2; fi
fi

# The guest's workload, with the host's bash, ping and iperf3 from /usr;
# each step between two marks (iolib.sh), where the host samples CPU.
io_marks_setup "$fs/sync"
cat >"$fs/run.sh" <<EOF
set -u
cd /tmp
echo "AVNET-CMDLINE \$(cat /proc/cmdline)"
m() { : >"/mnt/fs/sync/\$1.req"; }
m guest.start
res=/mnt/fs/res.txt
# iputils' ping where /usr has it, else the busybox scripts/testhost.sh needs
ping=\$(command -v ping || echo busybox ping)
\$ping -c 3 -w 20 10.0.2.1 >/dev/null
iperf3 -c 10.0.2.1 -n 64K >/dev/null
i() {
	local n=\$1 rc
	shift
	m \$n.start
	iperf3 -c 10.0.2.1 -J "\$@" >/tmp/\$n.json 2>&1
	rc=\$?
	m \$n.end
	echo "AVNET \$n \$rc" >>\$res
	cp /tmp/\$n.json /mnt/fs/
}
i up -n ${up}M
i down -R -n ${down}M
m ping.start
p=\$(\$ping -q -c $pings -i 0.05 10.0.2.1 | tail -n 1)
m ping.end
echo "AVPING \$p" >>\$res
sh /mnt/fs/sync/settle
echo AVNET-DONE
EOF

vmm_status=0
# fresh_share: the rw share as a VM finds it
fresh_share() { rm -f "$fs/res.txt" "$fs"/*.json "$fs"/sync/*.req; }

# collect VMM ROUND: the VM's figures into the records (iolib.sh io_table)
collect() {
	local vm=$1 r=$2 marks=$out/logs/$1.$2.marks n rc fig line
	cp "$fs/res.txt" "$out/logs/$vm.$r.res" 2>/dev/null || : >"$out/logs/$vm.$r.res"
	touch "$marks"
	while read -r _ n rc; do
		cp "$fs/$n.json" "$out/logs/$vm.$r.$n.json" 2>/dev/null || true
		fig=$(io_step_figures "$marks" "$n.start" "$n.end")
		line=$(python3 - "$fs/$n.json" 2>/dev/null <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))["end"]["sum_received"]
print("%.2f MB/s %.6f GiB" % (e["bytes"] / e["seconds"] / 1e6, e["bytes"] / 2**30))
PY
) || line=
		if [ "$rc" = 0 ] && [ -n "$fig" ] && [ -n "$line" ]; then
			echo "$vm $r $n $line $fig" >>"$records"
		else
			io_error_line "$vm" "$r" "$n" >>"$records"
			echo "net.sh: $vm round $r: $n failed (iperf3 $rc)" >&2
			vmm_status=1
		fi
	done < <(grep '^AVNET ' "$fs/res.txt" 2>/dev/null | tr -d '\r')
	# "rtt min/avg/max/mdev = a/b/c/d ms": the average, CPU per run of pings
	line=$(sed -n 's|^AVPING .* = [0-9.]*/\([0-9.]*\)/.*|\1|p' "$fs/res.txt" 2>/dev/null | tr -d '\r')
	fig=$(io_step_figures "$marks" ping.start ping.end)
	if [ -n "$line" ] && [ -n "$fig" ]; then
		echo "$vm $r ping-rtt $line ms 1 run $fig" >>"$records"
	else
		io_error_line "$vm" "$r" ping-rtt >>"$records"
		vmm_status=1
	fi
}

# run_av ROUND [BINARY LABEL]
run_av() {
	local r=$1 bin=${2:-$AV} lab=${3:-agentvmm} vp
	echo "== $lab (round $r)" >&2
	fresh_share
	# --stdio console: the command on the kernel command line, as QEMU gets it
	AGENTVMM_CACHE_DIR=$TMP/cache ip netns exec "$NS" "$bin" --kernel "$K" --cpus 1 \
		--mem "$mem" --stdio console --balloon off \
		--share ro:/usr --share "rw:$fs:/mnt/fs" \
		--net "tap=tap0,mac=$MAC,ip=10.0.2.15/24" \
		-- bash /mnt/fs/run.sh >"$TMP/$lab.$r.out" 2>&1 &
	vp=$!
	io_marks_serve "$vp" "$fs/sync" "$out/logs/$lab.$r.marks" "$vp"
	wait "$vp" || vmm_status=1
	cp "$TMP/$lab.$r.out" "$out/logs/"
	io_take_setup "$TMP/$lab.$r.out" AVNET-CMDLINE "$TMP/cache" "net.sh: $lab"
	collect "$lab" "$r"
}
run_avb() { run_av "$1" "$vs/agentvmm" agentvmm-b; }

# QEMU microvm with the same initramfs and command line, the same virtiofsd
# binary and flags as agentvmm's (vmm/share.c), a virtio-net-pci on tap0.
run_qemu_common() {
	local r=$1 name=$2 vh=$3 qp vpids=() i
	echo "== $name (round $r)" >&2
	fresh_share
	for i in 0 1; do
		rm -f "$TMP/vfs$i.sock"
		"$VFSD" --socket-path="$TMP/vfs$i.sock" -o source="$([ $i = 0 ] && echo /usr || echo "$fs")" \
			-o cache=auto -o sandbox=namespace -o log_level=warn --thread-pool-size=2 \
			--rlimit-nofile=0 2>>"$TMP/vfsd.err" &
		vpids+=($!)
	done
	for _ in $(seq 100); do
		[ -S "$TMP/vfs0.sock" ] && [ -S "$TMP/vfs1.sock" ] && break
		sleep 0.05
	done
	ip netns exec "$NS" qemu-system-x86_64 \
		-M microvm,pcie=on,auto-kernel-cmdline=off,memory-backend=mem \
		-object memory-backend-memfd,id=mem,size="$mem"M,share=on \
		-accel kvm -cpu host -smp 1 -m "$mem" -nodefaults -no-user-config -display none \
		-no-reboot -chardev stdio,id=con,signal=off -serial chardev:con \
		-kernel "$K" -initrd "$initrd" -append "$cmdline" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 \
		-netdev tap,id=n0,ifname=tap0,script=no,downscript=no,vhost="$vh" \
		-device virtio-net-pci,netdev=n0,mac=$MAC \
		-chardev socket,id=c0,path="$TMP/vfs0.sock" \
		-device vhost-user-fs-pci,chardev=c0,tag=share0 \
		-chardev socket,id=c1,path="$TMP/vfs1.sock" \
		-device vhost-user-fs-pci,chardev=c1,tag=share1 \
		</dev/null >"$TMP/$name.$r.out" 2>&1 &
	qp=$!
	io_marks_serve "$qp" "$fs/sync" "$out/logs/$name.$r.marks" "$qp" "${vpids[@]}"
	wait "$qp" || true
	wait "${vpids[@]}" 2>/dev/null || true
	cp "$TMP/$name.$r.out" "$out/logs/"
	grep -q AVNET-DONE "$TMP/$name.$r.out" ||
		{ echo "net.sh: $name round $r failed:" >&2; tail -n 20 "$TMP/$name.$r.out" >&2; vmm_status=1; }
	collect "$name" "$r"
}
run_qemu() { run_qemu_common "$1" qemu off; }
run_qemuvh() { run_qemu_common "$1" qemu-vhost on; }

# agentvmm goes first in round 1 (QEMU needs its command line and initramfs)
for r in $(seq "$rounds"); do
	for v in $(io_order "$r" $vmms); do "run_$v" "$r"; done
done

{
	echo "# bench/net.sh: $rounds rounds (ABBA), up $up MiB, down $down MiB, $pings pings," \
		"--mem $mem; nested: ${AV_TESTHOST:-0}"
	echo "# median (min–max); MB/s ratio above 1 and CPU ratio below 1: agentvmm leads;"
	echo "# ping-rtt (ms) below 1: agentvmm faster"
	if [ -n "$vs" ]; then
		echo "## agentvmm vs agentvmm-b ($vs)"
		io_table "$records" agentvmm agentvmm-b
	else
		echo "## agentvmm vs QEMU, vhost=off"
		io_table "$records" agentvmm qemu
	fi
	if [[ $vmms == *qemuvh* ]]; then
		echo "## agentvmm vs QEMU, vhost=on"
		io_table "$records" agentvmm qemu-vhost
	fi
} | tee "$out/net.txt"
exit "$vmm_status"
