/* SPDX-License-Identifier: MIT */
/*
 * vm_devices.h: the VM's PCI bus and virtio devices, registered in a fixed
 * order (virtio-rng, then one virtio-blk per --disk, then one virtio-fs per
 * --share/--fs, then one virtio-net per --net, in command-line order, then
 * the virtio-vsock device of --vsock, then the virtio-balloon of --balloon) so
 * guest device names are stable:
 * disk N is PCI slot N + 2 and has serial "agentvmm-disk<N>"; share N has the
 * tag "share<N>" (--fs: its own tag). Images, taps and --fs sockets are opened
 * earlier, before /dev/kvm (vm_devices_open()), in another order; that does
 * not change the bus.
 */
#ifndef AGENTVMM_VMM_VM_DEVICES_H
#define AGENTVMM_VMM_VM_DEVICES_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/compiler.h"

struct vm;
struct vm_config;

#define VM_DISK_SERIAL_FMT "agentvmm-disk%u"

/*
 * vm_devices_open() - the device checks that come before /dev/kvm is opened
 * (docs/architecture.md "Start-up order"), in this order: open and lock each
 * --disk image (a blank read-only one with mount= refused), open each --net
 * tap (a missing one is created, not persistent), claim the --vsock socket
 * PATH (vsock_create(): a live listener refused, a stale one replaced),
 * connect each --fs socket.
 * The devices are kept in (vm) for vm_devices_create(); vm_devices_destroy()
 * releases them if it never runs.
 * Return: 0; -EINVAL (-ENOMEM) with a one-line message in (err).
 * Context: main thread, during vm_create(), before kvm_open().
 */
int vm_devices_open(struct vm *vm, char *err, size_t errlen) __must_check;

/*
 * vm_devices_create() - MSI routing, event loop, PCI bus, and the virtio
 * devices put on it in the fixed order above: virtio-rng, the disks opened by
 * vm_devices_open(), the shares (a virtiofsd started per --share,
 * vmm/share.h; the vhost-user handshake), the nets, the vsock device, the
 * balloon.
 * Return: 0; -errno with a one-line message in (err) (-EINVAL and friends for
 * a --fs back end that fails the handshake or a virtiofsd that may not run;
 * -EIO when a virtiofsd fails).
 * Context: main thread, during vm_create(), after vm_devices_open() and kvm_open().
 */
int vm_devices_create(struct vm *vm, char *err, size_t errlen) __must_check;

/*
 * vm_devices_prepare() - create an ext4 filesystem on each blank --disk with
 * mount= (on the host, with mkfs.ext4, saying so on stderr). Called last in
 * vm_create(), so a failing VM never modifies an image.
 * Return: 0 or -EINVAL with a message in (err).
 */
int vm_devices_prepare(struct vm *vm, char *err, size_t errlen) __must_check;

/* vm_devices_start() - start the event loop thread. */
int vm_devices_start(struct vm *vm) __must_check;

/*
 * vm_devices_destroy() - stop the loop, destroy devices (also those opened but
 * never put on the bus), stop virtiofsd; idempotent, from any partial state.
 */
void vm_devices_destroy(struct vm *vm);

/*
 * Guest-physical layout of --pmem: device i's region starts at
 * vm_pmem_gpa(cfg, i), the first VPMEM_MAX_SIZE (32 GiB) boundary at or
 * above both 4 GiB and the end of RAM, then one 32 GiB window per device
 * (an image has at most that much). Not in the e820 map: the guest learns it
 * from the device's config space. Memory slot VM_PMEM_SLOT0 + i.
 */
#define VM_PMEM_SLOT0 8
uint64_t vm_pmem_gpa(const struct vm_config *cfg, unsigned i);

/*
 * vm_devices_cmdline() - kernel parameters telling guest-init what to mount
 * (agentvmm.disks=ENC, items "SERIAL:ro|rw:/path" per --disk with mount=;
 * agentvmm.pmem=ENC, items "GPA:erofs|ext4:ro|rw:dax|nodax:/path" per --pmem
 * with mount= (GPA as 0x hex: vm_pmem_gpa()): docs/pmem.md;
 * agentvmm.shares=ENC, items "TAG:ro|rw|store:/path" per share with a guest
 * path, "store" being a ro --share at /nix/store or /usr, which gets the
 * writable tmpfs overlay: docs/shares.md; agentvmm.nets=ENC, items
 * "MAC|A.B.C.D/N|GW|DNS" per --net, empty fields for what was not given:
 * docs/net.md; agentvmm.init=ENC, the --init path: docs/guest-init.md).
 * Return: 0 or -ENOSPC.
 */
int vm_devices_cmdline(const struct vm_config *cfg, char *buf, size_t len) __must_check;

#endif
