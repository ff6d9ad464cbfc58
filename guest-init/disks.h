/* SPDX-License-Identifier: MIT */
/* disks.h: mount the virtio-blk disks the host asked for (agentvmm.disks), found by serial. */
#ifndef AGENTVMM_GUEST_INIT_DISKS_H
#define AGENTVMM_GUEST_INIT_DISKS_H

#include <stddef.h>

#include "guest-init/compiler.h"

#define GI_DISK_WAIT_MS 5000 /* how long a disk may take to appear after its driver loads */

/*
 * gi_disks_mount() - for each "SERIAL:ro|rw:/path" item, find the /dev/vdX
 * whose /sys/block/vdX/serial is SERIAL and mount it (ext4) at /path.
 * Return: 0, or -errno of the first failure (printed, naming the missing
 * driver or module when there is one: diag.h).
 * Context: PID 1, after the modules are loaded.
 */
int __must_check gi_disks_mount(char *const *items, size_t n);

#endif
