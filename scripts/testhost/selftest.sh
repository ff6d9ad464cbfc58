#!/bin/bash
# SPDX-License-Identifier: MIT
#
# selftest.sh: check the nested test host end to end (docs/testhost.md):
# exit status, /dev/kvm, an L3 boot of the cached cloud kernel with QEMU,
# virtiofsd with its default sandbox serving an L3 guest, netns + tap.
# Needs gcc with static glibc (libc6-dev). Exit 0 when every check passed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
th=$here/../testhost.sh
kc=${AV_KERNEL_CACHE:-/var/cache/agentvmm/kernel}
rel=$(cat "$kc/release")
work=$(mktemp -d "${TMPDIR:-/tmp}/thselftest.XXXXXX")
trap 'rm -rf "$work"' EXIT

# L3 init: loads virtio-pci + virtiofs, reads myfs:/f if present, powers off.
mkdir -p "$work/ir/m"
gcc -static -O2 -o "$work/ir/init" "$here/l3init.c"
m=$kc/lib/modules/$rel/kernel
cp "$m"/drivers/virtio/{virtio,virtio_ring,virtio_pci_legacy_dev,virtio_pci_modern_dev,virtio_pci}.ko \
	"$m"/fs/fuse/{fuse,virtiofs}.ko "$work/ir/m/"
(cd "$work/ir" && find . | cpio -o -H newc --quiet -R 0:0) >"$work/l3.cpio"

cat >"$work/l2.sh" <<'L2'
w=$(dirname "$0")
fail=0
ok() { echo "selftest: ok: $*"; }
bad() { echo "selftest: FAILED: $*"; fail=1; }
[ "$AV_TESTHOST" = 1 ] && [ -c /dev/kvm ] && ok "/dev/kvm in L2" || bad "/dev/kvm"
t0=$(date +%s%N)
out=$(qemu-system-x86_64 -M microvm -enable-kvm -cpu host -m 512 -nodefaults -no-user-config \
	-display none -serial stdio -no-reboot -kernel "$AV_KERNEL_CACHE/bzImage" \
	-initrd "$w/l3.cpio" -append "console=ttyS0 panic=-1 quiet loglevel=0" 2>&1)
t1=$(date +%s%N)
echo "$out" | grep -q 'L3 init' && ok "L3 microvm boot $(( (t1 - t0) / 1000000 )) ms" || { bad "L3 boot"; echo "$out"; }
mkdir -p /tmp/src && echo "data from L2" >/tmp/src/f
/usr/lib/qemu/virtiofsd --socket-path=/tmp/vfs.sock -o source=/tmp/src >/tmp/vfs.log 2>&1 &
for i in $(seq 50); do [ -S /tmp/vfs.sock ] && break; sleep 0.1; done
out=$(qemu-system-x86_64 -M q35 -enable-kvm -cpu host -m 512 -nodefaults -no-user-config \
	-display none -serial stdio -no-reboot \
	-object memory-backend-memfd,id=mem,size=512M,share=on -machine memory-backend=mem \
	-chardev socket,id=c0,path=/tmp/vfs.sock -device vhost-user-fs-pci,chardev=c0,tag=myfs \
	-kernel "$AV_KERNEL_CACHE/bzImage" -initrd "$w/l3.cpio" \
	-append "console=ttyS0 panic=-1 quiet loglevel=0" 2>&1)
echo "$out" | grep -q 'virtiofs: data from L2' && ok "virtiofsd (sandbox=namespace) to L3" ||
	{ bad "virtiofsd"; echo "$out"; cat /tmp/vfs.log; }
ip netns add t && ip netns exec t ip tuntap add tap0 mode tap && ok "netns + tap" || bad "netns + tap"
exit $fail
L2
"$th" --share "$work" -- sh -c 'sh -c "exit 3"; [ $? = 3 ] && echo "selftest: ok: exit status" && exec bash "$1"' sh "$work/l2.sh"
