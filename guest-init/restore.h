/* SPDX-License-Identifier: MIT */
/*
 * restore.h: guest-init's side of templates (docs/snapshot.md). Under
 * agentvmm.template, guest-init loads every module of the initramfs (no
 * device is there for them yet), writes the template mark (the host writes
 * the VM to a template there and stops it) and, in a VM
 * restored from that template, goes on by reading this VM's configuration
 * from the restore port (ports.h): the agentvmm.* keys a cold boot gets on
 * its kernel command line, plus agentvmm.seed, agentvmm.time and
 * agentvmm.page_reporting_order (--balloon reporting-order). Then it
 * reseeds the kernel's RNG, sets the clock, and has the kernel scan PCI for
 * the devices the restored VM has (the template had none), which bind to the
 * drivers loaded before the mark.
 */
#ifndef AGENTVMM_GUEST_INIT_RESTORE_H
#define AGENTVMM_GUEST_INIT_RESTORE_H

#include <stddef.h>

#include "guest-init/cmdline.h"

/*
 * Write the template mark, then read the configuration text from the
 * restore port into a malloc'd, NUL-terminated *text of *len bytes.
 * Return: 0; -ENODATA when the host has none; -EPERM without port access;
 * -E2BIG when it says more than GI_RESTORE_MAX.
 */
int gi_restore_wait(char **text, size_t *len);

/*
 * Apply what cl carries for a restored VM: mix cl_seed into the kernel's
 * input pool and force a reseed of its CRNG (RNDADDENTROPY, RNDRESEEDCRNG),
 * so clones of one template draw different random bytes; set CLOCK_REALTIME
 * to cl_time. Then rescan the PCI bus. Return: 0, or the first -errno (each
 * step is tried; failures are printed).
 */
int gi_restore_apply(const struct gi_cmdline *cl);

#endif
