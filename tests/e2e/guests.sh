#!/bin/bash
# SPDX-License-Identifier: MIT
#
# guests.sh [--plan] [--only GROUP] BUILD_DIR: run every test program that
# boots a guest, each where this machine can run it, and say at the end where
# each group ran and how many guests it booted (docs/testhost.md, "Which
# machine runs what"). --only direct or --only linux runs that group alone
# (scripts/tsan.sh runs the direct group of a ThreadSanitizer build).
#
# Two groups:
#   direct  tiny guests and the tests that boot no Linux kernel (test_tinyguest,
#           test_tiny_snapshot,
#           test_e2e_direct_*, test_e2e_badinput with and without a KVM device)
#   linux   the tests that boot real Linux kernels (every other test_e2e_*, the
#           compressed-modules script, agentvmm-oci through containerd:
#           tests/oci/lifecycle.sh)
# and three kinds of machine (scripts/kvm-kind.sh):
#   hwkvm    both groups run here, one program after another
#   softkvm  direct runs here; linux in nested test hosts
#   nokvm    both groups run in nested test hosts
# Test-host work is split into AV_LANES (default 2, 1 on a one-core machine)
# test hosts that run side by side, each with its share of the programs
# (longest first onto the least loaded lane), since each test host keeps one
# core busy.
#
# A program that is skipped (exit 77) fails the run unless AV_ALLOW_SKIP=1.
# --plan prints "GROUP PROGRAM WHERE" lines and exits without running anything
# (tests/scripts/test_kvm_kind.sh checks the decisions this way).
#
# Environment: AGENTVMM_KVM_DEVICE, AV_FORCE_TESTHOST, AV_CPUINFO (see
# scripts/kvm-kind.sh), AV_ALLOW_SKIP, AV_LANES, AV_TESTHOST_TIMEOUT (seconds
# per test host, default 2700: a lane takes 25 to 35 minutes), AV_TESTHOST_RERUNS
# (default 4: a lane that stalls or times out runs its unfinished programs
# again in a new test host, up to that many times).
# Exit: 0 when every program passed; 1 otherwise; 2 on a usage error.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

plan=0 only=
usage() { echo "usage: tests/e2e/guests.sh [--plan] [--only direct|linux] BUILD_DIR" >&2; exit 2; }
while [ $# -gt 1 ]; do
	case $1 in
	--plan) plan=1; shift ;;
	--only)
		case ${2:-} in direct | linux) only=$2 ;; *) usage ;; esac
		shift 2 ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || usage
build=$(cd "$1" 2>/dev/null && pwd) || { echo "guests.sh: $1: no such build directory" >&2; exit 2; }

kind=$("$root/scripts/kvm-kind.sh") || exit 2
why=$("$root/scripts/kvm-kind.sh" --describe)
lanes=${AV_LANES:-2}
[ "$(nproc)" -gt 1 ] || lanes=${AV_LANES:-1}
[[ $lanes =~ ^[1-9]$ ]] || { echo "guests.sh: AV_LANES=$lanes: want 1 to 9" >&2; exit 2; }

# ---- the programs -------------------------------------------------------------

t=$build/tests
direct=("$t/test_tinyguest" "$t/test_tiny_snapshot")
for p in "$t"/e2e/test_e2e_direct_*; do
	[ -x "$p" ] && direct+=("$p")
done
direct+=("$t/e2e/test_e2e_badinput" "$here/badinput-nokvm.sh")
linux=()
for p in "$t"/e2e/test_e2e_*; do
	case ${p##*/} in
	test_e2e_direct_* | test_e2e_badinput) ;;
	*) [ -x "$p" ] && linux+=("$p") ;;
	esac
done
linux+=("$here/compressed-modules.sh" "$root/tests/oci/lifecycle.sh")
# Software KVM cannot emulate a real-mode triple fault: test_tinyguest skips
# that case there and runs once more in the test host, where it runs.
[ "$kind" = softkvm ] && linux+=("$t/test_tinyguest")
[ "$only" = linux ] && direct=()
[ "$only" = direct ] && linux=()
for p in "${direct[@]}" "${linux[@]}"; do
	[ -x "$p" ] || { echo "guests.sh: $p missing: build first (scripts/build.sh)" >&2; exit 2; }
done
if [ ${#linux[@]} -gt 0 ] && [ ! -x "$build/oci/agentvmm-oci" ]; then
	echo "guests.sh: $build/oci/agentvmm-oci missing: build first (scripts/build.sh)" >&2
	exit 2
fi

# Seconds each program took in a test host (measured in one run with two
# test hosts side by side): only the split between lanes uses them. Unknown
# programs count 90.
weight() {
	case ${1##*/} in
	test_e2e_microvm | test_e2e_microvm_seccomp) echo 550 ;; # an 8-vCPU VM to systemd and back (576 s seen)
	test_e2e_stage2) echo 225 ;;
	test_e2e_net) echo 330 ;; # 2 x 32 MiB at the test host's 0.5 MB/s, eight more boots
	test_e2e_faults) echo 165 ;;
	test_e2e_session) echo 120 ;;
	test_e2e_boot) echo 95 ;;
	test_e2e_share) echo 80 ;;
	test_e2e_soak | test_e2e_disk | test_e2e_generic) echo 70 ;;
	test_e2e_hostile) echo 55 ;;
	test_e2e_shutdown | test_e2e_vsock) echo 30 ;;
	test_e2e_balloon) echo 75 ;; # three boots; 300 MiB written and freed
	test_e2e_snapshot) echo 150 ;; # a template, two clones with virtio-fs at once, four restores
	test_e2e_pmem) echo 45 ;; # three boots, images made with mkfs.erofs and mkfs.ext4
	test_e2e_lib) echo 25 ;;
	test_e2e_netuser) echo 45 ;;
	test_e2e_egress) echo 60 ;; # two boots and a third killed
	test_e2e_bench_smoke) echo 20 ;;
	compressed-modules.sh) echo 15 ;;
	lifecycle.sh) echo 300 ;; # agentvmm-oci through containerd: 18 cases, ~14 boots
	test_tinyguest) echo 95 ;; # 1 MiB of console, one VM exit a byte
	test_tiny_snapshot) echo 20 ;; # templates of tiny guests: 8 cases
	test_e2e_direct_* | test_e2e_badinput | badinput-nokvm.sh) echo 10 ;;
	*) echo 90 ;;
	esac
}

# ---- where each program runs ---------------------------------------------------

here_progs=() # run directly, one after another
declare -a lane_progs lane_load
for ((i = 0; i < lanes; i++)); do lane_progs[i]=""; lane_load[i]=0; done

# to_lanes GROUP PROGRAM...: longest first, each onto the least loaded lane
to_lanes() {
	local g=$1 p w best i
	shift
	while read -r w p; do
		best=0
		for ((i = 1; i < lanes; i++)); do
			[ "${lane_load[i]}" -lt "${lane_load[best]}" ] && best=$i
		done
		lane_progs[best]+="$p"$'\n'
		lane_load[best]=$((lane_load[best] + w))
		entries+=("$g|$p|$((best + 1))")
	done < <(for p in "$@"; do echo "$(weight "$p") $p"; done | sort -rn)
}
to_here() {
	local g=$1 p
	shift
	for p in "$@"; do
		here_progs+=("$p")
		entries+=("$g|$p|here")
	done
}
entries=() # GROUP|PROGRAM|WHERE (here, or a test host number)

case $kind in
hwkvm) to_here direct "${direct[@]}"; to_here linux "${linux[@]}" ;;
softkvm) to_here direct "${direct[@]}"; to_lanes linux "${linux[@]}" ;;
nokvm) to_lanes direct "${direct[@]}"; to_lanes linux "${linux[@]}" ;;
esac
# where_name WHERE: "here" or "test host N"
where_name() { [ "$1" = here ] && echo here || echo "test host $1"; }

if [ "$plan" = 1 ]; then
	echo "kind $kind"
	for e in "${entries[@]}"; do
		IFS='|' read -r g p w <<<"$e"
		echo "$g ${p##*/} $(where_name "$w")"
	done | sort
	exit 0
fi

# ---- run ---------------------------------------------------------------------

echo "guests: $why"
out=$build/guests
rm -rf "$out"
mkdir -p "$out" || exit 1
start=$(date +%s)
export AV_ALLOW_SKIP=${AV_ALLOW_SKIP:-}
# the programs' own inputs, passed into test hosts too (testhost.sh forwards AV_*)
export AV_AGENTVMM=$build/agentvmm AV_BADINPUT=$t/e2e/test_e2e_badinput
export AV_OCI_RUNTIME=$build/oci/agentvmm-oci
failed=0
# The xz copy of the modules for compressed-modules.sh: made here, where it is
# fast, rather than in a test host under TCG (minutes).
if printf '%s\n' "${lane_progs[@]}" | grep -q 'compressed-modules\.sh$'; then
	if "$here/compressed-modules.sh" --prepare "$out/cm-base"; then
		export AV_CM_MODULES_BASE=$out/cm-base
	fi
fi

if [ ${#here_progs[@]} -gt 0 ]; then
	echo "=== running ${#here_progs[@]} program(s) directly on this machine"
	AV_RESULTS=$out/here.results "$here/batch.sh" "${here_progs[@]}" || failed=1
fi

# run_lane N PROGRAM...: one test host running PROGRAMs, output prefixed
# "[host N]", results appended to lane N's file, its status in laneN.rc.
run_lane() {
	local n=$1
	shift
	(
		env -u AGENTVMM_KVM_DEVICE -u AV_FORCE_TESTHOST AV_RESULTS="$out/lane$n.results" \
			"$root/scripts/testhost.sh" --smp 1 --timeout "${AV_TESTHOST_TIMEOUT:-2700}" \
			--env AV_RESULTS="$out/lane$n.results" -- "$here/batch.sh" "$@" 2>&1
		echo $? >"$out/lane$n.rc"
	) | sed -u "s/^/[host $n] /"
}

# lane_left N: the programs of lane N with no result yet, one a line
lane_left() {
	local p
	printf '%s' "${lane_progs[$1 - 1]}" | while IFS= read -r p; do
		awk -v n="${p##*/}" '$1 == n { f = 1 } END { exit !f }' "$out/lane$1.results" \
			2>/dev/null || echo "$p"
	done
}

pids=()
for ((i = 0; i < lanes; i++)); do
	[ -n "${lane_progs[i]}" ] || continue
	mapfile -t progs < <(printf '%s' "${lane_progs[i]}")
	n=$((i + 1))
	echo "=== test host $n: ${#progs[@]} program(s), about ${lane_load[i]} s of work"
	run_lane "$n" "${progs[@]}" &
	pids+=($!)
done
for pid in "${pids[@]}"; do
	wait "$pid"
done
# A test host that stalled or died (an emulation artefact, docs/testhost.md)
# leaves programs without a result: they run again in a new test host, up to
# AV_TESTHOST_RERUNS times (default 4: the 8-vCPU post VM livelocks its test
# host in about four boots of nine, docs/testhost.md "Stalls").
declare -A rerun
reruns=${AV_TESTHOST_RERUNS:-4}
for ((i = 0; i < lanes; i++)); do
	n=$((i + 1))
	for ((try = 1; try <= reruns; try++)); do
		[ -e "$out/lane$n.rc" ] && [ "$(cat "$out/lane$n.rc")" != 0 ] || break
		mapfile -t left < <(lane_left "$n")
		[ ${#left[@]} -gt 0 ] || break
		echo "=== test host $n ended with status $(cat "$out/lane$n.rc") before ${#left[@]}" \
			"program(s) ran: running them in a new test host ($try of $reruns)"
		for p in "${left[@]}"; do rerun[${p##*/}]=1; done
		run_lane "$n" "${left[@]}"
	done
done
for f in "$out"/lane*.rc; do
	[ -e "$f" ] || continue
	rc=$(cat "$f")
	if [ "$rc" != 0 ]; then
		failed=1
		[ "$rc" = 1 ] || echo "=== ${f##*/}: the test host ended with status $rc" \
			"(124 timeout or stall, 125 the test host itself failed)"
	fi
done

# ---- summary -------------------------------------------------------------------

pass=0 fail=0 skipped=0
declare -A g_n g_guests g_where
echo
echo "=== guests summary: $why"
printf '%-7s %-30s %-12s %6s %6s %s\n' group program where status secs guests
for e in "${entries[@]}"; do
	IFS='|' read -r g p w <<<"$e"
	name=${p##*/}
	if [ "$w" = here ]; then rf=$out/here.results; else rf=$out/lane$w.results; fi
	line=$(awk -v n="$name" '$1 == n { l = $0 } END { print l }' "$rf" 2>/dev/null)
	rc= secs= guests= again=
	read -r _ rc secs guests again <<<"$line"
	rc=${rc:-none} secs=${secs:--} guests=${guests:-0}
	case $rc in
	0) pass=$((pass + 1)) ;;
	77) skipped=$((skipped + 1)); [ "$AV_ALLOW_SKIP" = 1 ] || fail=$((fail + 1)) ;;
	*) fail=$((fail + 1)) ;;
	esac
	[ "$w" != here ] && [ -n "${rerun[$name]:-}" ] && again="${again:+$again, }new test host"
	printf '%-7s %-30s %-12s %6s %6s %s\n' "$g" "$name" "$(where_name "$w")" "$rc" "$secs" \
		"$guests${again:+ ($again)}"
	g_n[$g]=$((${g_n[$g]:-0} + 1))
	g_guests[$g]=$((${g_guests[$g]:-0} + guests))
	case " ${g_where[$g]:-} " in
	*" $(where_name "$w");"*) ;;
	*) g_where[$g]="${g_where[$g]:-} $(where_name "$w");" ;;
	esac
done
for g in direct linux; do
	w=${g_where[$g]:- nowhere;} # a group left out by --only ran nowhere
	echo "=== group $g: ${g_n[$g]:-0} program(s), ran on:${w%;}; ${g_guests[$g]:-0} guest(s) booted"
done
echo "=== guests wall time: $(($(date +%s) - start)) s"
echo "guests: $pass passed, $fail failed, $skipped skipped"
[ "$failed" = 0 ] && [ "$fail" = 0 ]
