#!/bin/sh
# SPDX-License-Identifier: MIT
# test.sh: the whole test suite on a fresh Debian 12 machine: installs packages,
# fetches the test kernel, builds (release and ASan+UBSan), runs unit, fuzz
# corpus replay, layering, tiny-guest and end-to-end tests. Guest boots go
# through the nested test host where /dev/kvm cannot run a stock kernel.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh
scripts/fetch-kernel.sh
scripts/build.sh "$root/build"
scripts/build.sh "$root/build-asan" -DAGENTVMM_SANITIZE=address,undefined
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Unit tests and corpus replay under ASan+UBSan; guests with the release build.
ctest --test-dir build-asan -L 'unit|fuzz-replay|layering' --output-on-failure -j2
ctest --test-dir build -L 'tinyguest|e2e' --output-on-failure
