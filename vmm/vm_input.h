/* SPDX-License-Identifier: MIT */
/*
 * vm_input.h: the checks vm_create() makes before it opens /dev/kvm, so that
 * bad input is reported as such on any host, with or without KVM; and the
 * console file, checked then but created only after every check (the order is
 * in docs/architecture.md, "Start-up order").
 */
#ifndef AGENTVMM_VMM_VM_INPUT_H
#define AGENTVMM_VMM_VM_INPUT_H

#include <stddef.h>

#include "vmm/compiler.h"

struct vm;

/*
 * vm_check_input() - check (vm)->cfg in this order: the kernel (boot_probe())
 * or --raw-image (read into vm->raw_image), --initrd (a readable non-empty
 * regular file), --modules-dir (a directory); the SMBIOS OEM strings into
 * vm->oem (oem_strings_build(): --load-credential files read); virtiofsd and --owner for
 * --share (share_check()); --console (an existing file is opened, a new one
 * must be creatable; stdio claims stdin); then vm_devices_open(): the disk
 * images, the taps, the --fs sockets. What it opens stays in (vm) for
 * vm_create(); vm_destroy() releases it. The only thing it may create is a
 * missing tap, which vanishes with its fd.
 * Return: 0; -errno with one line in (err): -EINVAL and friends for bad input
 * (exit 2), -ENOMEM.
 * Context: main thread, in vm_create(), before kvm_open().
 */
int vm_check_input(struct vm *vm, char *err, size_t errlen) __must_check;

/*
 * vm_console_create() - create the --console file vm_check_input() found
 * missing (mode 0644, appended to); nothing for stdio, none or a file opened
 * already. Return: 0 or -EINVAL with one line in (err).
 * Context: main thread, in vm_create(), after every check.
 */
int vm_console_create(struct vm *vm, char *err, size_t errlen) __must_check;

/* vm_console_release() - close a console file, give stdin back; idempotent. */
void vm_console_release(struct vm *vm);

#endif
