#!/bin/sh
# SPDX-License-Identifier: MIT
# test.sh: the whole test suite on a fresh Debian 12 machine: installs packages,
# fetches the test kernels, builds (release and ASan+UBSan), runs unit, fuzz
# corpus replay, layering and script tests, then every test that boots a guest
# (tests/e2e/guests.sh): directly where this machine can run it, inside nested
# test hosts where it cannot (docs/testhost.md, "Which machine runs what").
#
# A skipped guest test fails the run unless AV_ALLOW_SKIP=1 (CI never sets
# it). AGENTVMM_KVM_DEVICE=/nonexistent acts as if there were no /dev/kvm;
# AV_FORCE_TESTHOST=1 boots real kernels in the test host even on hardware KVM.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
t0=$(date +%s)
echo "test.sh: this machine: $(scripts/kvm-kind.sh --describe)"
scripts/setup.sh
scripts/fetch-kernel.sh
scripts/build.sh "$root/build"
scripts/build.sh "$root/build-asan" -DAGENTVMM_SANITIZE=address,undefined
t1=$(date +%s)
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Unit tests, corpus replay and script tests under ASan+UBSan; guests with the
# release build.
ctest --test-dir build-asan -L 'unit|fuzz-replay|layering|scripts' --output-on-failure -j2
t2=$(date +%s)
rc=0
tests/e2e/guests.sh build || rc=$?
t3=$(date +%s)
echo "test.sh: times: set-up and builds $((t1 - t0)) s, unit/fuzz/layering/scripts" \
	"$((t2 - t1)) s, guests $((t3 - t2)) s, total $((t3 - t0)) s"
echo "test.sh: this machine: $(scripts/kvm-kind.sh --describe)"
exit $rc
