#!/bin/sh
# SPDX-License-Identifier: MIT
#
# kvm-kind.sh [--describe]: say which kind of KVM this machine has, which
# decides where guests can run (docs/testhost.md, "Which machine runs what"):
#
#   nokvm    no usable KVM device: every guest, tiny or real, runs inside the
#            nested test host (scripts/testhost.sh, QEMU TCG, needs no /dev/kvm)
#   softkvm  a KVM device but no vmx/svm (software KVM): tiny guests run
#            directly, real Linux kernels inside the nested test host
#   hwkvm    hardware virtualization: everything runs directly
#
# Prints the kind; with --describe, one sentence for people instead.
#
# Environment (documented in docs/testhost.md):
#   AGENTVMM_KVM_DEVICE  the KVM device (default /dev/kvm), the same variable
#                        agentvmm itself reads; point it at a missing path to
#                        act as if the machine had no /dev/kvm
#   AV_FORCE_TESTHOST=1  treat hardware KVM as software KVM: real kernels go to
#                        the nested test host even where they could run here
#   AV_CPUINFO           file read instead of /proc/cpuinfo (for the tests of
#                        this script)
# Exit: 0, or 2 on a usage error.
set -eu
dev=${AGENTVMM_KVM_DEVICE:-/dev/kvm}
cpuinfo=${AV_CPUINFO:-/proc/cpuinfo}

describe=0
case ${1:-} in
'') ;;
--describe) describe=1 ;;
*) echo "kvm-kind.sh: unknown argument '$1'" >&2; exit 2 ;;
esac

if [ ! -c "$dev" ] || [ ! -r "$dev" ] || [ ! -w "$dev" ]; then
	kind=nokvm
	why="no usable KVM device at $dev"
elif ! grep -qwE 'vmx|svm' "$cpuinfo" 2>/dev/null; then
	kind=softkvm
	why="$dev exists but the CPU has no hardware virtualization (no vmx/svm: software KVM)"
elif [ "${AV_FORCE_TESTHOST:-}" = 1 ]; then
	kind=softkvm
	why="hardware KVM at $dev, but AV_FORCE_TESTHOST=1 sends real kernels to the nested test host"
else
	kind=hwkvm
	why="hardware KVM at $dev (vmx/svm)"
fi

if [ "$describe" = 1 ]; then
	case $kind in
	nokvm) echo "$why: every guest runs inside the nested test host (QEMU TCG)" ;;
	softkvm) echo "$why: tiny guests run directly, Linux guests inside the nested test host (QEMU TCG)" ;;
	hwkvm) echo "$why: every guest runs directly" ;;
	esac
else
	echo "$kind"
fi
