#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh PROGRAM [ARGS...]: run an e2e boot test where a stock kernel can boot:
# directly when /dev/kvm is hardware-backed (or we already are inside the test
# host), else inside the nested test host (one host for the whole program).
root=$(cd "$(dirname "$0")/../.." && pwd)
[ -e /dev/kvm ] || { echo "skip: no /dev/kvm"; exit 77; }
if [ -z "${AV_TESTHOST:-}" ] && "$root/scripts/testhost.sh" --need; then
	# one vCPU: with two (multi-threaded TCG) the nested host hung now and then
	exec "$root/scripts/testhost.sh" --smp 1 --timeout "${AV_TESTHOST_TIMEOUT:-3300}" -- "$@" </dev/null
fi
exec "$@" </dev/null
