#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh PROGRAM [ARGS...]: run an e2e boot test where a stock kernel can boot:
# directly with hardware KVM (or when we already are inside the test host),
# else inside the nested test host (one host for the whole program), which
# needs no /dev/kvm here (scripts/kvm-kind.sh). tests/e2e/guests.sh runs the
# whole suite this way; this is for one program by hand.
root=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${AV_TESTHOST:-}" ] && "$root/scripts/testhost.sh" --need; then
	# one vCPU: with two (multi-threaded TCG) the nested host hung now and then
	exec env -u AGENTVMM_KVM_DEVICE "$root/scripts/testhost.sh" --smp 1 \
		--timeout "${AV_TESTHOST_TIMEOUT:-3300}" -- "$@" </dev/null
fi
exec "$@" </dev/null
