#!/bin/sh
# SPDX-License-Identifier: MIT
# demo.sh [CMD [ARGS...]]: build agentvmm, fetch the test kernel, boot a VM and
# run CMD in it (default: uname -a). Where /dev/kvm cannot run a stock kernel
# (no vmx/svm), says so and runs inside the nested test host.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh
scripts/fetch-kernel.sh
scripts/build.sh "$root/build"
[ $# -gt 0 ] || set -- uname -a
kc=${AV_KERNEL_CACHE:-/var/cache/agentvmm/kernel}
if scripts/testhost.sh --need; then
	echo "demo: this host's /dev/kvm has no hardware virtualization (no vmx/svm);" \
		"running inside the nested test host (QEMU TCG), which takes a minute" >&2
	exec scripts/testhost.sh -- sh -c 'exec "$0" --kernel "$AV_KERNEL_CACHE/bzImage" -- "$@"' \
		"$root/build/vmm/agentvmm" "$@"
fi
exec "$root/build/vmm/agentvmm" --kernel "$kc/bzImage" -- "$@"
