#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/fuzz.sh [--seconds N] [--build DIR] [--only SUBSTRING]: build every
# libFuzzer target (clang, -DAGENTVMM_FUZZ=ON), run each for N seconds (default
# 60) from a copy of its seed corpus (tests/fuzz/corpus/<name>/) with -jobs=1,
# and print one row per target: execs total, execs/s, crashes, corpus size
# (seeds + what the run added). Exit status 1 if any target crashed (the inputs
# are kept under the printed work directory), 2 on bad usage. Not a test.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
secs=60
build=$root/build-fuzz
only=
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) secs=${2:?}; shift 2 ;;
	--build) build=${2:?}; shift 2 ;;
	--only) only=${2:?}; shift 2 ;;
	*) echo "usage: bench/fuzz.sh [--seconds N] [--build DIR] [--only SUBSTRING]" >&2; exit 2 ;;
	esac
done
case $secs in '' | *[!0-9]*) echo "fuzz.sh: --seconds wants a whole number" >&2; exit 2 ;; esac
command -v clang >/dev/null || { echo "fuzz.sh: clang not found" >&2; exit 2; }

targets=
for src in "$root"/tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	case $name in *"$only"*) targets="$targets $name" ;; esac
done
[ -n "$targets" ] || { echo "fuzz.sh: no target matches '$only'" >&2; exit 2; }

CC=clang cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAGENTVMM_FUZZ=ON \
	>/dev/null
# only the fuzz targets: nothing else needs clang here
# shellcheck disable=SC2086
cmake --build "$build" -j2 --target $targets >/dev/null

# UBSan only prints and goes on unless told to stop: a report must be a crash
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
work=$(mktemp -d "${TMPDIR:-/tmp}/av-fuzz-XXXXXX")
crashed=0
printf '%-20s %14s %10s %8s %12s\n' target execs execs/s crashes corpus
for name in $targets; do
	bin=$(find "$build/tests" -maxdepth 1 -type f -name "$name" | head -n 1)
	corpus=$work/$name/corpus
	mkdir -p "$corpus"
	seeds=$root/tests/fuzz/corpus/${name#fuzz_}
	[ -d "$seeds" ] && cp -r "$seeds/." "$corpus/"
	# -jobs=1 runs one fuzzing job in a child process that logs to fuzz-0.log
	(cd "$work/$name" && "$bin" -jobs=1 -workers=1 -max_total_time="$secs" \
		-print_final_stats=1 -artifact_prefix="$work/$name/" corpus \
		>run.log 2>&1) || true
	log=$work/$name/fuzz-0.log
	[ -f "$log" ] || log=$work/$name/run.log
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	crashes=$(find "$work/$name" -maxdepth 1 -type f \
		\( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
	# a run that died without its final stats is a failure too
	if [ -z "$execs" ]; then
		execs=?
		rate=?
		crashes=$((crashes > 0 ? crashes : 1))
	fi
	[ "$crashes" -gt 0 ] && crashed=1
	printf '%-20s %14s %10s %8s %12s\n' "$name" "$execs" "$rate" "$crashes" \
		"$(find "$corpus" -type f | wc -l)"
done
if [ "$crashed" -ne 0 ]; then
	echo "fuzz.sh: crashes; inputs and logs in $work" >&2
	exit 1
fi
rm -rf "$work"
