/* SPDX-License-Identifier: MIT */
/*
 * vm_devices.h: the VM's PCI bus and virtio devices, created in a fixed order
 * (virtio-rng, then one virtio-blk per --disk, then one virtio-fs per
 * --share/--fs, then one virtio-net per --net, in command-line order) so
 * guest device names are stable:
 * disk N is PCI slot N + 2 and has serial "agentvmm-disk<N>"; share N has the
 * tag "share<N>" (--fs: its own tag).
 */
#ifndef AGENTVMM_VMM_VM_DEVICES_H
#define AGENTVMM_VMM_VM_DEVICES_H

#include <stddef.h>

#include "vmm/compiler.h"

struct vm;
struct vm_config;

#define VM_DISK_SERIAL_FMT "agentvmm-disk%u"

/*
 * vm_devices_create() - MSI routing, event loop, PCI bus and virtio devices,
 * starting a virtiofsd per --share (vmm/share.h).
 * Return: 0; -errno with a one-line message in (err) (-EINVAL and friends for
 * bad --disk/--fs arguments or a missing virtiofsd; -EIO when a virtiofsd
 * fails).
 * Context: main thread, during vm_create().
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

/* vm_devices_destroy() - stop the loop, destroy devices; idempotent. */
void vm_devices_destroy(struct vm *vm);

/*
 * vm_devices_cmdline() - kernel parameters telling guest-init what to mount
 * (agentvmm.disks=ENC, items "SERIAL:ro|rw:/path" per --disk with mount=;
 * agentvmm.shares=ENC, items "TAG:ro|rw|store:/path" per share with a guest
 * path, "store" being a ro --share at /nix/store or /usr, which gets the
 * writable tmpfs overlay: docs/shares.md; agentvmm.nets=ENC, items
 * "MAC|A.B.C.D/N|GW|DNS" per --net, empty fields for what was not given:
 * docs/net.md; agentvmm.init=ENC, the --init path: docs/guest-init.md).
 * Return: 0 or -ENOSPC.
 */
int vm_devices_cmdline(const struct vm_config *cfg, char *buf, size_t len) __must_check;

#endif
