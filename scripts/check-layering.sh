#!/bin/sh
# SPDX-License-Identifier: MIT
# check-layering.sh: enforce the module boundaries of STYLE.md §2 by grepping #include lines.
set -u
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2
fail=0

bad() {
	echo "layering: $1"
	fail=1
}

# devices/: vmm/{guest_mem,iobus,irq,evloop,log,compiler}.h and devices/* only; no KVM, no exit()
for f in $(find devices -name '*.[ch]'); do
	grep -n '#include' "$f" | grep -v -E '#include <[^>]+>|"devices/|"vmm/(guest_mem|iobus|irq|evloop|log|compiler)\.h"|"boot/layout\.h"' |
		while read -r l; do echo "layering: $f: $l"; done | grep . && fail=1
	grep -n '<linux/kvm.h>' "$f" && bad "$f includes <linux/kvm.h>"
	grep -n -E '(^|[^_a-z])exit\(' "$f" && bad "$f calls exit()"
done
# boot/: vmm/{guest_mem,log,compiler}.h and boot/* only
for f in $(find boot -name '*.[ch]'); do
	grep -n '#include' "$f" | grep -v -E '#include <[^>]+>|"boot/|"vmm/(guest_mem|log|compiler)\.h"|"[a-z_]+\.hex"' |
		while read -r l; do echo "layering: $f: $l"; done | grep . && fail=1
	grep -n '<linux/kvm.h>' "$f" && bad "$f includes <linux/kvm.h>"
	grep -n -E '(^|[^_a-z])exit\(' "$f" && bad "$f calls exit()"
done
# guest-init/: libc and guest-init/ only
for f in $(find guest-init -name '*.[ch]'); do
	grep -n '#include "' "$f" | grep -v -E '"guest-init/|"[a-z_]+\.h"' |
		while read -r l; do echo "layering: $f: $l"; done | grep . && fail=1
done
# egress/: libc and egress/ only (the proxy program is built from these files alone)
for f in $(find egress -name '*.[ch]'); do
	grep -n '#include "' "$f" | grep -v -E '"egress/' |
		while read -r l; do echo "layering: $f: $l"; done | grep . && fail=1
done
# <linux/kvm.h> only in vmm/kvm.c, vmm/vcpu.c and vmm/snapshot.c (the KVM state of templates)
for f in $(grep -rl '<linux/kvm.h>' vmm include 2>/dev/null); do
	case "$f" in vmm/kvm.c|vmm/vcpu.c|vmm/snapshot.c) ;; *) bad "$f includes <linux/kvm.h>" ;; esac
done
# exit() only in vmm/main.c (guest-init is a separate program)
for f in $(grep -rlE '(^|[^_a-z])exit\(' vmm 2>/dev/null); do
	case "$f" in vmm/main.c) ;; *) bad "$f calls exit()" ;; esac
done
# vmm/main.c and examples/: the public API only (include/agentvmm.h), no vmm/ internals
for f in vmm/main.c $(find examples -name '*.c' 2>/dev/null); do
	grep -n '#include "' "$f" | while read -r l; do echo "layering: $f: $l (public API only)"; done |
		grep . && fail=1
done
[ $fail = 0 ] && echo "layering: ok"
exit $fail
