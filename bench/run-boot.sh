#!/bin/bash
# SPDX-License-Identifier: MIT
#
# run-boot.sh: build agentvmm and agentvmm-bench, fetch the test kernel, and
# run the boot benchmark (agentvmm vs QEMU microvm vs QEMU q35) directly on a
# host with hardware virtualization, or inside the nested test host
# (scripts/testhost.sh) where /dev/kvm cannot boot Linux. See docs/bench.md.
#
# usage: bench/run-boot.sh [--runs N] [--warmup N] [--kernel bzImage|vmlinux]
#                          [--density N] [--against LIST] [--out DIR] [--no-build]
#                          [-- EXTRA-BENCH-ARGS...]
#
# Writes boot.txt (table), boot.json (every sample), boot.svg (plot) and,
# with --density N, density.txt and density.json into DIR (default
# build-bench/bench-results/<date>). Exit status: agentvmm-bench's.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")
build=${AV_BENCH_BUILD:-$top/build-bench}
runs=20
warmup=1
kfile=bzImage
density=0
out=
build_it=1
against=qemu-microvm,qemu-q35

usage() { sed -n '8,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=${2:?}; shift 2 ;;
	--warmup) warmup=${2:?}; shift 2 ;;
	--kernel) kfile=${2:?}; shift 2 ;;
	--density) density=${2:?}; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	--no-build) build_it=0; shift ;;
	--against) against=${2:?}; shift 2 ;;
	--) shift; break ;;
	-h | --help) usage ;;
	*) echo "run-boot.sh: unknown option '$1'" >&2; usage ;;
	esac
done
case $kfile in bzImage | vmlinux) ;; *) echo "run-boot.sh: --kernel bzImage or vmlinux" >&2; exit 2 ;; esac
[ -n "$out" ] || out=$build/bench-results/$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Build on this machine (compiling inside the TCG test host is slow).
if [ "$build_it" = 1 ]; then
	cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	make -C "$build" -s -j"$(nproc)" agentvmm agentvmm-bench
fi
"$top/scripts/fetch-kernel.sh" --kernel-only >&2

bench=$build/bench/agentvmm-bench
# $AV_KERNEL_CACHE is resolved where the bench runs: inside the test host it
# points at a tmpfs copy of the kernel cache (docs/testhost.md).
script='set -e
k=${AV_KERNEL_CACHE:-/var/cache/agentvmm/kernel}/'"$kfile"'
b='"$(printf %q "$bench")"'
o='"$(printf %q "$out")"'
# q35 with SeaBIOS kills the guest in the nested test host (docs/bench.md): qboot there
q=()
if [ "${AV_TESTHOST:-}" = 1 ] && [ -r /usr/share/qemu/qboot.rom ]; then
	q=(--q35-bios /usr/share/qemu/qboot.rom)
fi
"$b" boot --kernel "$k" --runs '"$runs"' --warmup '"$warmup"' "${q[@]}" \
	--against '"$against"' --json "$o/boot.json" --plot "$o/boot.svg" "$@" |
	tee "$o/boot.txt"
st=${PIPESTATUS[0]}
if [ '"$density"' -gt 0 ]; then
	"$b" density --kernel "$k" --count '"$density"' --against '"$against"' "${q[@]}" \
		--json "$o/density.json" "$@" | tee "$o/density.txt"
fi
exit "$st"'

if "$top/scripts/testhost.sh" --need; then
	echo "run-boot.sh: no vmx/svm here: running inside the nested test host" \
		"(figures count only as ratios)" >&2
	"$top/scripts/testhost.sh" --share "$top" -- bash -c "$script" bench "$@"
else
	bash -c "$script" bench "$@"
fi
echo "run-boot.sh: results in $out" >&2
