#!/bin/sh
# SPDX-License-Identifier: MIT
# batch.sh PROGRAM...: run each test program in turn (all of them, even after a
# failure), say which failed, and exit 1 if any did, else 0.
# Output streams as it comes; the whole output of each failed program is printed
# again at the end, so a log cut in the middle still shows the cause.
#
# A program that exits 77 (skip) fails the batch too, unless AV_ALLOW_SKIP=1:
# every program here boots guests, and the suite must not pass without them.
#
# Inside the nested test host (AV_TESTHOST=1: L1 is emulated by QEMU TCG) a
# program that fails is run once more, because the emulated CPU itself now and
# then breaks a guest (docs/testhost.md, "Emulation artefacts"). It passes only
# if the second run passes; the first run's output is printed at the end either
# way, marked, so no failure goes unseen. Elsewhere there is no second run.
#
# With AV_RESULTS=FILE, one line per program is appended to FILE:
#   NAME STATUS SECONDS GUESTS [retried]
# GUESTS counts the VMs agentvmm ran to a guest-side end while the program
# ran (AGENTVMM_TEST_BOOT_LOG, docs/testhost.md), both runs included.
logs=$(mktemp -d "${TMPDIR:-/tmp}/av-batch-XXXXXX") || exit 1
trap 'rm -rf "$logs"' EXIT
trap 'exit 130' INT TERM
failed= retried=

# run NAME PROGRAM LOG: run it, output to the terminal and LOG; its status in $rc.
# Line-buffered (stdbuf), so a program that hangs shows how far it got.
run() {
	rm -f "$logs/$1.rc"
	{ AGENTVMM_TEST_BOOT_LOG="$logs/$1.boots" stdbuf -oL -eL "$2" </dev/null 2>&1
	  echo $? >"$logs/$1.rc"; } | tee "$3"
	rc=$(cat "$logs/$1.rc" 2>/dev/null || echo 1)
}

for p in "$@"; do
	name=$(basename "$p")
	echo "=== $name"
	t0=$(date +%s)
	: >"$logs/$name.boots"
	run "$name" "$p" "$logs/$name.log"
	again=
	if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ "${AV_TESTHOST:-}" = 1 ]; then
		echo "=== $name: FAILED (status $rc) in the emulated test host; running it once more"
		mv "$logs/$name.log" "$logs/$name.first.log"
		retried="$retried $name"
		again=retried
		run "$name" "$p" "$logs/$name.log"
	fi
	secs=$(($(date +%s) - t0))
	guests=$(wc -l <"$logs/$name.boots")
	case $rc in
	0) echo "=== $name: passed in ${secs}s, $guests guest(s) booted" ;;
	77)
		if [ "${AV_ALLOW_SKIP:-}" = 1 ]; then
			echo "=== $name: skipped (allowed by AV_ALLOW_SKIP=1)"
		else
			echo "=== $name: SKIPPED, which fails the suite (AV_ALLOW_SKIP=1 allows skips)"
			failed="$failed $name"
		fi ;;
	*) echo "=== $name: FAILED (status $rc)"; failed="$failed $name" ;;
	esac
	[ -n "${AV_RESULTS:-}" ] && echo "$name $rc $secs $guests $again" >>"$AV_RESULTS"
done
for name in $retried; do
	echo "=== the first, failed run of $name (it was run again):"
	cat "$logs/$name.first.log"
done
for name in $failed; do
	echo "=== again, the output of failed $name:"
	cat "$logs/$name.log"
done
[ -n "$retried" ] && echo "=== run twice after a first failure:$retried"
[ -z "$failed" ] && exit 0
echo "=== failed:$failed"
exit 1
