/* SPDX-License-Identifier: MIT */
/*
 * shares.h: mount the virtio-fs shares the host asked for (agentvmm.shares),
 * the writable store overlay, and the root built around a shared host /usr.
 *
 * Items are "TAG:MODE:/path", MODE one of
 *   rw     virtio-fs TAG at /path
 *   ro     the same, mounted read-only (the host enforces it anyway)
 *   store  read-only store with a throwaway writable overlay, microvm.nix's
 *          writableStoreOverlay layout, for /D/N (e.g. /nix/store, /usr):
 *            /D/.ro-N          virtio-fs TAG, read-only
 *            /D/.rw-N          tmpfs; upper dir /D/.rw-N/N, work dir /D/.rw-N/work
 *            /D/N              overlay(lower /D/.ro-N, upper, work)
 *          so /nix/store gets /nix/.ro-store and /nix/.rw-store, /usr gets
 *          /.ro-usr and /.rw-usr.
 *
 * When /usr is shared the guest runs the host's programs: before anything is
 * mounted, guest-init switches to a fresh tmpfs root where /bin /sbin /lib
 * /lib64 point into /usr and /etc holds generated passwd, group, hosts,
 * hostname, resolv.conf and nsswitch.conf (docs/shares.md).
 */
#ifndef AGENTVMM_GUEST_INIT_SHARES_H
#define AGENTVMM_GUEST_INIT_SHARES_H

#include <stdbool.h>
#include <stddef.h>

#include "guest-init/compiler.h"

#define GI_ROOT_DIR "/.agentvmm-root" /* where the /usr root is built, in the initramfs */

/* gi_shares_need_root() - true when an item mounts something at /usr. */
bool gi_shares_need_root(char *const *items, size_t n);

/*
 * gi_root_switch() - build a new root on a tmpfs at GI_ROOT_DIR, move /proc
 * /sys /dev /run /tmp into it and make it the root (switch_root). With
 * (usr), the root around a shared /usr (links, generated /etc); without, an
 * empty root holding only those mount points, the tmpfs / a system init
 * (NixOS stage 2) expects from its stage 1.
 * Return: 0 or -errno (printed). Context: PID 1, before any share or disk
 * is mounted.
 */
int __must_check gi_root_switch(bool usr);

/*
 * gi_shares_mount() - mount every item (parents before children: shorter
 * paths first), then, in a switched root, fill /etc/alternatives for the
 * usual names whose targets the shared /usr has.
 * Return: 0 or -errno of the first failure (printed). Context: PID 1.
 */
int __must_check gi_shares_mount(char *const *items, size_t n, bool switched);

/* gi_shares_workdir() - the first rw share's path (the workload's cwd), or NULL. */
const char *gi_shares_workdir(char *const *items, size_t n);

#endif
