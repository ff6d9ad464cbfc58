#!/bin/bash
# SPDX-License-Identifier: MIT
#
# microvm-post.sh: the microvm.nix post's VM (tests/e2e/microvm-post.sh:
# 8 vCPUs, 4 GiB, NixOS-style stage 1, systemd stage 2, four virtiofsd, an
# ext4 /var, a multi-queue tap) under agentvmm (the runner's command line)
# and under QEMU q35 with the same kernel, initrd, virtiofsd, volume and tap,
# in interleaved rounds (A B, B A, ...) inside one nested test host. Reports,
# per VMM, the median time from start to "ready" (systemd reached the agent
# target and logind watches the power button), from the shutdown command to
# the VMM's exit, and the VMM's PSS at ready (guest RAM it touched
# included), with agentvmm/QEMU ratios. A benchmark, not a test.
#
# usage: bench/microvm-post.sh [--rounds N] [--single-queue] [--out DIR]
# Needs the build in build-bench (scripts/build.sh or cmake) or AV_AGENTVMM.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")
rounds=3 out='' sq=''
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "microvm-post.sh: --rounds N" >&2; exit 2; }
		rounds=$2; shift 2 ;;
	--single-queue) sq=1; shift ;;
	--out) out=${2:?}; shift 2 ;;
	--inner) shift; break ;;
	*) echo "usage: bench/microvm-post.sh [--rounds N] [--single-queue] [--out DIR]" >&2; exit 2 ;;
	esac
done
agentvmm=${AV_AGENTVMM:-$top/build-bench/agentvmm}
[ -x "$agentvmm" ] || { echo "microvm-post.sh: no $agentvmm (build build-bench first)" >&2; exit 2; }
out=${out:-$top/build-bench/bench-results/microvm-post-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"

if [ "$(cat /proc/1/comm 2>/dev/null)" != testhost-init ] && [ -z "${AV_IN_TESTHOST:-}" ] &&
	"$top/scripts/testhost.sh" --need >/dev/null 2>&1; then
	# nested: one test host for all rounds (8 vCPUs of an L3 guest want the RAM)
	exec "$top/scripts/testhost.sh" --mem 8192 --timeout 7200 --share "$top" \
		--env AV_IN_TESTHOST=1 --env AV_AGENTVMM="$agentvmm" -- \
		"$here/microvm-post.sh" --rounds "$rounds" ${sq:+--single-queue} --out "$out"
fi

raw=$out/microvm-post.raw
: > "$raw"
for r in $(seq "$rounds"); do
	order="agentvmm qemu"
	[ $((r % 2)) = 0 ] && order="qemu agentvmm"
	for vmm in $order; do
		w=/tmp/mpb-$vmm
		if AV_MICROVM_VMM=$vmm AV_MICROVM_SQ=$sq AV_AGENTVMM=$agentvmm \
			"$top/tests/e2e/microvm-post.sh" "$w" > "$out/$vmm-$r.log" 2>&1 &&
			grep -q '^status=0$' "$w/result"; then
			echo "$vmm $r $(tr '\n' ' ' < "$w/result")" >> "$raw"
		else
			echo "$vmm $r failed: $(tr '\n' ' ' < "$w/result" 2>/dev/null)" >> "$raw"
		fi
		cp "$w/console.log" "$out/$vmm-$r.console" 2>/dev/null || true
	done
done

med() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2); else print "nan" }'; }
col() { grep "^$1 " "$raw" | grep -v failed | tr ' ' '\n' | sed -n "s/^$2=//p" | med; }
{
	echo "microvm-post: $rounds rounds, $(date -u +%FT%TZ), $(uname -r), queues per NIC: $([ -n "$sq" ] && echo 1 || echo 8)"
	printf '%-28s %12s %12s %8s\n' row agentvmm qemu ratio
	for k in boot_s shutdown_s vmm_pss_kb; do
		a=$(col agentvmm $k) q=$(col qemu $k)
		printf '%-28s %12s %12s %8s\n' "$k" "$a" "$q" \
			"$(awk -v a="$a" -v q="$q" 'BEGIN { if (q > 0) printf "%.2f", a / q; else print "-" }')"
	done
	echo "failed runs: $(grep -c failed "$raw" || true)"
} | tee "$out/microvm-post.txt"
