#!/bin/sh
# SPDX-License-Identifier: MIT
# demo.sh [CMD [ARGS...]]: build agentvmm, fetch the test kernel, and run CMD
# (default: uname -a; ls) in a throwaway VM that sees the host's /usr
# read-only (with a writable overlay that vanishes with the VM) and this
# checkout read-write at /work, where CMD starts:
#
#   agentvmm --kernel K --share ro:/usr --share rw:$PWD:/work -- CMD
#
# e.g. scripts/demo.sh make test. Where /dev/kvm cannot run a stock kernel
# (no vmx/svm), says so and runs inside the nested test host, which shares
# this checkout at the same path and the host's /usr.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh
scripts/fetch-kernel.sh
scripts/build.sh "$root/build"
[ $# -gt 0 ] || set -- sh -c 'uname -a && ls'
kc=${AV_KERNEL_CACHE:-/var/cache/agentvmm/kernel}
if scripts/testhost.sh --need; then
	echo "demo: this host's /dev/kvm has no hardware virtualization (no vmx/svm);" \
		"running inside the nested test host (QEMU TCG), which takes a minute" >&2
	exec scripts/testhost.sh -- sh -c 'exec "$0" --kernel "$AV_KERNEL_CACHE/bzImage" \
		--share ro:/usr --share "rw:$PWD:/work" -- "$@"' "$root/build/agentvmm" "$@"
fi
exec "$root/build/agentvmm" --kernel "$kc/bzImage" --share ro:/usr --share "rw:$root:/work" \
	-- "$@"
