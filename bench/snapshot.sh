#!/bin/bash
# SPDX-License-Identifier: MIT
#
# snapshot.sh [--count N] [--rounds R] [AGENTVMM] [KERNEL]: what templates
# (docs/snapshot.md) buy, side by side in one run on one host:
#   1. agentvmm template: its time, the template's size apparent and on disk;
#   2. start to "job done" for `true` with the host's /usr read-only, a
#      workspace read-write and a NIC on a tap: restored from the template
#      against a cold boot of the same options, R rounds each, interleaved
#      (ABBA), medians and the ratio;
#   3. N idle VMs (`sleep`) restored from the template against N cold-booted
#      ones (no shares: clones map the template copy-on-write): PSS per VM
#      once all N are up, and MemAvailable's drop per VM.
# A benchmark, not a test. Needs root (taps, a network namespace) and a
# machine where Linux guests boot: inside the nested test host elsewhere:
#   scripts/testhost.sh --share "$PWD" --mem 8192 -- "$PWD/bench/snapshot.sh" --count 10
set -u
here=$(cd "$(dirname "$0")" && pwd)
count=10 rounds=4
while [ $# -gt 0 ]; do
	case $1 in
	--count) count=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	*) break ;;
	esac
done
av=${1:-$here/../build/agentvmm}
k=${2:-${AV_KERNEL_CACHE:-/var/cache/agentvmm/kernel}/bzImage}
w=$(mktemp -d /tmp/av-bench-snap-XXXXXX)
ns=avbsnap$$
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$w"
}
trap cleanup EXIT
now() { date +%s.%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ---- 1. the template ----
t0=$(now)
"$av" template --kernel "$k" --mem 512 --out "$w/t.tmpl" >/dev/null 2>"$w/template.err" ||
	{ cat "$w/template.err" >&2; exit 1; }
t1=$(now)
echo "template: made in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s;" \
	"$(stat -c %s "$w/t.tmpl") bytes apparent, $(( $(stat -c %b "$w/t.tmpl") * 512 )) on disk"

# ---- 2. start to job done: restore against cold boot ----
ip netns add "$ns" && ip netns exec "$ns" ip link set lo up &&
	ip netns exec "$ns" ip tuntap add tap0 mode tap &&
	ip netns exec "$ns" ip addr add 10.0.8.1/24 dev tap0 &&
	ip netns exec "$ns" ip link set tap0 up || { echo "snapshot.sh: no netns/tap" >&2; exit 1; }
mkdir -p "$w/ws"
opts=(--share ro:/usr --share "rw:$w/ws:/work" --net tap=tap0,ip=10.0.8.15/24)
run_once() { # run_once restore|cold: seconds to exit 0 of `true`
	local a b
	a=$(now)
	if [ "$1" = restore ]; then
		ip netns exec "$ns" "$av" --restore "$w/t.tmpl" "${opts[@]}" -- true >/dev/null 2>&1
	else
		ip netns exec "$ns" "$av" --kernel "$k" --mem 512 "${opts[@]}" -- true >/dev/null 2>&1
	fi || { echo "snapshot.sh: $1 run failed" >&2; exit 1; }
	b=$(now)
	awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f\n", b - a }'
}
: > "$w/restore.s"; : > "$w/cold.s"
for ((r = 0; r < rounds; r++)); do
	if [ $((r % 2)) = 0 ]; then order="restore cold"; else order="cold restore"; fi
	for m in $order; do run_once "$m" >> "$w/$m.s"; done
done
rm=$(median < "$w/restore.s") cm=$(median < "$w/cold.s")
echo "job done (true; /usr ro, workspace rw, tap): restore median ${rm} s [$(tr '\n' ' ' < "$w/restore.s")]" \
	"cold boot median ${cm} s [$(tr '\n' ' ' < "$w/cold.s")]" \
	"restore/cold $(awk -v a="$rm" -v b="$cm" 'BEGIN { printf "%.3f", a / b }')"

# ---- 3. N idle VMs: clones against cold boots ----
avail_kb() { sed -n 's/^MemAvailable: *\([0-9]*\).*/\1/p' /proc/meminfo; }
idle() { # idle restore|cold: PSS per VM and MemAvailable drop per VM, KiB
	local before after p sum=0 i
	pids=()
	sync; echo 3 > /proc/sys/vm/drop_caches
	before=$(avail_kb)
	for ((i = 0; i < count; i++)); do
		if [ "$1" = restore ]; then
			"$av" --restore "$w/t.tmpl" -- sleep 600 >/dev/null 2>&1 &
		else
			"$av" --kernel "$k" --mem 512 -- sleep 600 >/dev/null 2>&1 &
		fi
		pids+=($!)
	done
	sleep $((30 + 6 * count)) # all up and settled (the test host is slow)
	after=$(avail_kb)
	local up=0 k
	for p in "${pids[@]}"; do
		k=$(sed -n 's/^Pss: *\([0-9]*\).*/\1/p' "/proc/$p/smaps_rollup" 2>/dev/null)
		[ -n "$k" ] || continue
		sum=$((sum + k))
		up=$((up + 1))
	done
	[ "$up" = "$count" ] || { echo "snapshot.sh: $1: only $up of $count VMs up" >&2; exit 1; }
	echo "$1: $count idle VMs: PSS $((sum / count)) KiB per VM, MemAvailable drop $(((before - after) / count)) KiB per VM"
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	pids=()
}
idle restore
idle cold
