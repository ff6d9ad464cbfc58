/* SPDX-License-Identifier: MIT */
/*
 * snapshot.h: templates (docs/snapshot.md): capture a VM stopped at the
 * guest's ready mark into a template file, and create a VM from one.
 * The file format is vmm/snapshot_file.h; this side owns the KVM state.
 */
#ifndef AGENTVMM_VMM_SNAPSHOT_H
#define AGENTVMM_VMM_SNAPSHOT_H

#include <stddef.h>

#include "vmm/compiler.h"
#include "vmm/snapshot_file.h"

struct vm;

/*
 * snapshot_prepare() - before /dev/kvm, for a VM with template_out or
 * restore: the identity of what boots (raw image or kernel, initrd, the
 * user's --cmdline); for a restore also open and validate the
 * template and check what the options say against it (--mem, --cpus,
 * --raw-image/--kernel). Return: 0 or -errno with one line in (err).
 */
int snapshot_prepare(struct vm *vm, char *err, size_t errlen) __must_check;

/*
 * snapshot_check_host() - after kvm_open(): the CPUID crc (recorded for a
 * template, compared for a restore). Return: 0 or -EINVAL with one line.
 */
int snapshot_check_host(struct vm *vm, char *err, size_t errlen) __must_check;

/* snapshot_restore_memory() - guest RAM from the template (mapped or copied). */
int snapshot_restore_memory(struct vm *vm, char *err, size_t errlen) __must_check;

/*
 * snapshot_restore_state() - once the vCPUs and devices exist: irqchip,
 * clock, every vCPU, the devices. Return: 0 or -errno with one line.
 */
int snapshot_restore_state(struct vm *vm, char *err, size_t errlen) __must_check;

/*
 * snapshot_restore_config() - a restore of a Linux template: keep (cmdline)'s
 * agentvmm.* keys (what a cold boot of these options would get), its
 * page_reporting.page_reporting_order as agentvmm.page_reporting_order, and
 * a fresh agentvmm.seed from getrandom() for the restore port; the template's own
 * command line stays in the guest. Return: 0 or -errno with one line.
 */
int snapshot_restore_config(struct vm *vm, const char *cmdline, char *err,
			    size_t errlen) __must_check;

/*
 * snapshot_restore_arm() - just before the vCPUs start: add agentvmm.time
 * (the host's CLOCK_REALTIME now) and hand the text to the restore port; the
 * kept copy is wiped. Return: 0 or -errno.
 */
int snapshot_restore_arm(struct vm *vm) __must_check;

/* snapshot_template_open() - the file (0600) for agentvmm template --out (snap_out_open()). */
int snapshot_template_open(struct vm *vm, char *err, size_t errlen) __must_check;

/*
 * snapshot_write() - capture every vCPU (not running: joined), the VM's
 * irqchip and clock, the devices and RAM into --out's file, fsync, name it
 * FILE (snap_out_commit()). Return: 0 or -errno (logged). Context: the
 * supervisor thread.
 */
int snapshot_write(struct vm *vm) __must_check;

/*
 * snapshot_take() - a template VM held at its ready mark (agentvmm template
 * without --out, vm_template_hold()) into (fd), a regular file open O_RDWR
 * that the caller names afterwards; (size): its length. On success the VM
 * then ends with status 0; on an error it stays held (another try may come).
 * Return: 0; -EAGAIN not at the mark yet; -EINVAL not a template VM; -EBADF
 * (fd) unfit; -ESRCH stopping; -errno of a write; one line in (err).
 * Context: any thread but a vCPU's; blocks for the write (seconds).
 */
int snapshot_take(struct vm *vm, int fd, uint64_t *size, char *err, size_t errlen) __must_check;

/* snapshot_release() - close the template; remove FILE.tmp unless renamed. Idempotent. */
void snapshot_release(struct vm *vm);

/*
 * snapshot_ioctls() - the KVM ioctl numbers snapshot_write() issues, for the
 * supervisor's seccomp filter of a template VM. Return: how many (<= max).
 */
unsigned snapshot_ioctls(unsigned long *out, unsigned max);

/*
 * snapshot_peek() - mem size and vCPU count of template (path), fully
 * validated. Return: 0 or -errno with one line.
 */
int snapshot_peek(const char *path, struct snap_ident *id, char *err, size_t errlen) __must_check;

#endif
