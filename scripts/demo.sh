#!/bin/sh
# SPDX-License-Identifier: MIT
# demo.sh [CMD [ARGS...]]: build agentvmm, fetch the test kernel, and run CMD
# (default: uname -a; ls) in a throwaway VM that sees the host's /usr
# read-only (with a writable overlay that vanishes with the VM) and this
# checkout read-write at /work, where CMD starts:
#
#   agentvmm --kernel K --share ro:/usr --share rw:$PWD:/work -- CMD
#
# e.g. scripts/demo.sh sh -c 'cmake -S . -B /tmp/b && cmake --build /tmp/b -j2'
# (agentvmm builds itself in its own VM, with the host's cmake and gcc from
# the /usr share). It says which kind of machine this is (scripts/kvm-kind.sh):
# with hardware KVM the VM runs here; with software KVM or no KVM device at
# all it runs inside the nested test host (QEMU TCG, slower but real), which
# shares this checkout at the same path and the host's /usr.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh
scripts/fetch-kernel.sh
scripts/build.sh "$root/build"
[ $# -gt 0 ] || set -- sh -c 'uname -a && ls'
kc=${AV_KERNEL_CACHE:-/var/cache/agentvmm/kernel}
case $(scripts/kvm-kind.sh) in
nokvm | softkvm)
	echo "demo: $(scripts/kvm-kind.sh --describe); starting it, which takes a minute" >&2
	# the test host has one vCPU: so has the VM inside it
	exec env -u AGENTVMM_KVM_DEVICE scripts/testhost.sh -- sh -c 'vmm=$0
		exec "$vmm" --cpus 1 --mem 2048 --kernel "$AV_KERNEL_CACHE/bzImage" \
		--share ro:/usr --share "rw:$PWD:/work" -- "$@"' "$root/build/agentvmm" "$@" ;;
esac
echo "demo: $(scripts/kvm-kind.sh --describe)" >&2
# 2 GiB: enough to build agentvmm inside the VM
exec "$root/build/agentvmm" --cpus "$(nproc)" --mem 2048 --kernel "$kc/bzImage" \
	--share ro:/usr --share "rw:$root:/work" -- "$@"
