/* SPDX-License-Identifier: MIT */
/*
 * handoff.h: hand PID 1 over to a system's own init (NixOS stage 2, a
 * Debian-style /sbin/init, busybox init), as a stage-1 initrd does.
 *
 * guest-init plays stage 1: by the time gi_handoff() runs, the root is a
 * fresh tmpfs with /proc, /sys, /dev (+ /dev/pts, /dev/shm), /run and /tmp
 * moved in, and the disks, shares and store overlay are mounted. gi_handoff()
 *   1. checks the init: it must resolve (symlinks followed, e.g. through
 *      /nix/store) to an executable regular file;
 *   2. records the mounts guest-init made in /run/mount/utab with the
 *      userspace option x-initrd.mount, as util-linux mount(8) does in a
 *      NixOS stage 1 for fileSystems marked neededForBoot: systemd (and
 *      anything else reading mounts through libmount) then treats them as
 *      initrd mounts and never stops them at shutdown;
 *   3. gives up the agentvmm I/O ports, restores default signal handling,
 *      chdir("/") and execve()s the init in PID 1 itself.
 */
#ifndef AGENTVMM_GUEST_INIT_HANDOFF_H
#define AGENTVMM_GUEST_INIT_HANDOFF_H

#include <stddef.h>

#include "guest-init/compiler.h"

#define GI_UTAB_DIR "/run/mount"
#define GI_UTAB_PATH GI_UTAB_DIR "/utab"

/*
 * gi_handoff_check() - can (init) be exec'd? Its resolved path goes to
 * (resolved, len) for messages.
 * Return: 0; -ENOENT (missing, or a dangling link), -EACCES (not an
 * executable regular file), another -errno. Context: PID 1.
 */
int __must_check gi_handoff_check(const char *init, char *resolved, size_t len);

/*
 * gi_handoff_mark_mounts() - append a "x-initrd.mount" line to
 * GI_UTAB_PATH for every mount in /proc/self/mountinfo except /, /run and
 * the API filesystems /proc, /sys, /dev and below (systemd never stops
 * those). Return: how many were marked, or -errno.
 */
int gi_handoff_mark_mounts(void);

/*
 * gi_handoff_exec() - execve (init) as PID 1 with argv { init } and the
 * current environment, after dropping port access and resetting signals.
 * Return: only on failure, -errno (nothing has been undone that matters:
 * the caller reports and ends the VM).
 */
int gi_handoff_exec(const char *init);

#endif
