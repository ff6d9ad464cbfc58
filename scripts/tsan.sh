#!/bin/bash
# SPDX-License-Identifier: MIT
#
# tsan.sh [BUILD_DIR]: build agentvmm with ThreadSanitizer (-DAGENTVMM_TSAN=ON,
# default BUILD_DIR build-tsan), run the unit tests and the fuzz corpus replay
# under it, then the direct guest group (tests/e2e/guests.sh --only direct:
# tiny guests and the tests that boot no Linux kernel), and count the reports
# (docs/testhost.md, "ThreadSanitizer").
#
# Every TSan report of every process (test programs and the agentvmm processes
# they start) is written to its own file under BUILD_DIR/tsan-reports
# (TSAN_OPTIONS log_path), so a report in an agentvmm whose stderr a test
# swallows still counts. The one expected skip is test_e2e_direct_sandbox
# (seccomp is off in sanitizer builds, docs/security.md); any other skip or
# failure, or any report, fails the run.
#
# The guest part needs a KVM device (hardware or software, scripts/kvm-kind.sh);
# without one it is left out and said so. Run it nice'd on a shared machine:
#   nice -n 10 scripts/tsan.sh
# Exit: 0 clean; 1 a test failed or TSan reported; 2 bad usage.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -le 1 ] || { echo "usage: scripts/tsan.sh [BUILD_DIR]" >&2; exit 2; }
build=${1:-$root/build-tsan}

"$root/scripts/build.sh" "$build" -DAGENTVMM_SANITIZE= -DAGENTVMM_TSAN=ON || exit 1
build=$(cd "$build" && pwd)
reports=$build/tsan-reports
rm -rf "$reports"
mkdir -p "$reports" || exit 1
# halt_on_error=0: every report, not only the first; a process that reported
# still exits 66 at the end, so the test that ran it fails too
export TSAN_OPTIONS="halt_on_error=0:exitcode=66:second_deadlock_stack=1:log_path=$reports/tsan"
failed=0

echo "=== tsan: unit tests and corpus replay"
ctest --test-dir "$build" -L 'unit|fuzz-replay' --output-on-failure -j2 |
	tee "$reports/ctest.out" || failed=1
units=$(sed -n 's/.* tests passed, [0-9]* tests failed out of \([0-9]*\)$/\1/p' \
	"$reports/ctest.out" | tail -1)

kind=$("$root/scripts/kvm-kind.sh")
guests=
if [ "$kind" = nokvm ]; then
	echo "=== tsan: no KVM device here: the guest tests are left out"
else
	echo "=== tsan: the direct guest group"
	AV_ALLOW_SKIP=1 "$root/tests/e2e/guests.sh" --only direct "$build"
	results=$build/guests/here.results
	# NAME STATUS SECONDS GUESTS: a skip is a failure except the sandbox test's
	bad=$(awk '$2 != 0 && !($2 == 77 && $1 == "test_e2e_direct_sandbox") { print $1 }' \
		"$results" 2>/dev/null)
	[ -s "$results" ] && [ -z "$bad" ] || { failed=1; echo "=== tsan: failed:" $bad; }
	guests=$(awk '{ n++; g += $4 } END { printf "%d programs, %d guests booted", n, g }' \
		"$results" 2>/dev/null)
fi

nrep=$(cat "$reports"/tsan.* 2>/dev/null | grep -c '^WARNING: ThreadSanitizer')
nfiles=$(find "$reports" -name 'tsan.*' | wc -l)
echo "=== tsan: ${units:-?} unit/replay tests${guests:+; direct group: $guests};" \
	"$nrep report(s) in $nfiles process(es)${nfiles:+ (in $reports)}"
[ "$nrep" = 0 ] && [ "$nfiles" = 0 ] || failed=1
exit $failed
