/* SPDX-License-Identifier: MIT */
/*
 * mount.h: the guest's filesystems: the fixed early mounts, one-off mounts
 * (later: virtio-fs shares, disks, the store overlay) and the final unmount.
 */
#ifndef AGENTVMM_GUEST_INIT_MOUNT_H
#define AGENTVMM_GUEST_INIT_MOUNT_H

#include <sys/types.h>

#include "guest-init/compiler.h"
#include "guest-init/fsutil.h"

struct gi_mount {
	const char *source;
	const char *target;	/* absolute; created (with parents) if missing */
	const char *fstype;
	unsigned long flags;	/* MS_* */
	const char *data;	/* fs options, or NULL */
	mode_t mode;		/* for directories created on the way */
};

/*
 * gi_mount_one() - mkdir -p (m->target), then mount (m). A target that is
 * already mounted with that filesystem (EBUSY) counts as success.
 *
 * Return: 0 or -errno (also printed, always: a missing mount is worth seeing;
 * when the kernel lacks the filesystem or what it needs, the message names
 * the module: gi_diag_mount()).
 * Context: PID 1.
 */
int __must_check gi_mount_one(const struct gi_mount *m);

/*
 * gi_mount_early() - /proc, /sys, /dev (devtmpfs), /dev/pts, /dev/shm, /tmp
 * and /run, then the /dev nodes and links a system expects (console, null,
 * zero, tty, ptmx, random, urandom, full; fd, stdin, stdout, stderr) where
 * devtmpfs does not have them already. Failures are printed, never fatal.
 * Context: PID 1, first thing after gi_report_init().
 */
void gi_mount_early(void);

/*
 * gi_mount_teardown() - unmount everything listed in /proc/self/mounts except
 * the root, newest first; what stays busy stays mounted (the caller synced).
 * Context: PID 1, after all other processes are gone.
 */
void gi_mount_teardown(void);

#endif
