#!/bin/bash
# SPDX-License-Identifier: MIT
#
# ksm.sh: what --ksm saves: two idle VMs (512 MiB, `sleep 90`) without and
# with --ksm, the host's KSM running fast (pages_to_scan 2000, every 10 ms);
# after 75 s, KSM's pages_sharing, each VMM's PSS and the CPU time ksmd
# spent in those 75 s (its cost, from /proc/PID/stat). A benchmark, not a
# test. Needs root (it writes /sys/kernel/mm/ksm) and a machine where Linux
# guests boot: run it inside the nested test host where they do not:
#   scripts/testhost.sh --share "$PWD" -- "$PWD/bench/ksm.sh" [AGENTVMM] [KERNEL]
# It leaves KSM running (run=1) with those settings.
set -u
here=$(cd "$(dirname "$0")" && pwd)
av=${1:-$here/../build/agentvmm}
k=${2:-${AV_KERNEL_CACHE:-/var/cache/agentvmm/kernel}/bzImage}
ksm=/sys/kernel/mm/ksm
[ -w $ksm/run ] || { echo "ksm.sh: needs root and a kernel with KSM ($ksm)" >&2; exit 2; }
# ksmd's user + system CPU time, seconds
ksmd_cpu() {
	local p
	p=$(pgrep -x ksmd | head -1)
	[ -n "$p" ] || { echo 0; return; }
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' \
		"/proc/$p/stat"
}
echo 2000 > $ksm/pages_to_scan
echo 10 > $ksm/sleep_millisecs
for mode in "" --ksm; do
	echo 2 > $ksm/run # unmerge everything, then start afresh
	sleep 2
	echo 1 > $ksm/run
	"$av" --kernel "$k" --mem 512 $mode -- sleep 90 >/dev/null 2>&1 &
	a=$!
	"$av" --kernel "$k" --mem 512 $mode -- sleep 90 >/dev/null 2>&1 &
	b=$!
	c0=$(ksmd_cpu)
	sleep 75
	c1=$(ksmd_cpu)
	echo "mode=${mode:-none} pages_sharing=$(cat $ksm/pages_sharing)" \
		"pages_shared=$(cat $ksm/pages_shared) full_scans=$(cat $ksm/full_scans)" \
		"ksmd_cpu_s=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }') in 75 s"
	for p in $a $b; do
		echo "  pss_kb=$(sed -n 's/^Pss: *\([0-9]*\).*/\1/p' /proc/$p/smaps_rollup)"
	done
	wait $a $b
done
