/* SPDX-License-Identifier: MIT */
/*
 * share.h: one virtiofsd per --share, started, watched and stopped by agentvmm.
 *
 * How a share's back end runs (docs/shares.md has the why):
 *
 *   agentvmm ── clone(NEWUSER|NEWNS|NEWPID) ──> virtiofsd, PID 1 of its own PID
 *                                               namespace, PDEATHSIG=SIGKILL
 *
 *   - user namespace: guest root's files land on the host as --owner (the
 *     invoking user by default); agentvmm writes uid_map/gid_map.
 *   - mount namespace: / is made private, and a ro share is bind-mounted
 *     read-only onto itself (recursively), so no guest request can write
 *     a host file whatever the guest's own mount flags say.
 *   - PID namespace: virtiofsd's sandbox forks; when PID 1 dies (with
 *     agentvmm, by PDEATHSIG) the kernel kills everything in the namespace.
 *   - agentvmm creates the listening socket itself, in a private 0700
 *     directory, and hands it over with --fd, so there is nothing to wait for;
 *     the socket and directory are unlinked as soon as the front end has
 *     connected, so even a SIGKILL leaves nothing in the filesystem.
 */
#ifndef AGENTVMM_VMM_SHARE_H
#define AGENTVMM_VMM_SHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "vmm/compiler.h"
#include "vmm/config.h"

#define SHARE_VIRTIOFSD "/usr/lib/qemu/virtiofsd" /* Debian qemu-system-common */
#define SHARE_THREADS 2          /* virtiofsd --thread-pool-size: footprint over throughput */
#define SHARE_STOP_WAIT_MS 1000  /* after disconnect, before SIGTERM; again before SIGKILL */

struct share_proc {
	pid_t pid;                   /* virtiofsd (PID 1 of its namespace); -1 */
	int log_fd;                  /* memfd holding virtiofsd's stderr; -1 */
	int sync_fd;                 /* write end of the start pipe, held while we live; -1 */
	/* our end, from share_start() (--fs: share_connect_external()); -1 once passed on */
	int conn_fd;
	char dir[64];                /* private runtime directory; "" once removed */
	char sock[96];               /* the socket's name there (removed in share_start()) */
	bool connected;              /* share_connected() ran */
};

/*
 * share_check() - before anything is created: virtiofsd is there
 * ($AGENTVMM_VIRTIOFSD or SHARE_VIRTIOFSD) when a --share needs it, and the
 * owner is one we may map. Return: 0 or -EINVAL with one line in (err).
 */
int share_check(const struct vm_config *cfg, char *err, size_t errlen) __must_check;

/* share_init() - an idle share_proc, safe to share_stop(). */
void share_init(struct share_proc *sp);

/*
 * share_start() - start virtiofsd for (s), files created by guest root owned
 * by (uid, gid). On return (sp)->conn_fd is connected to it (its socket name
 * already removed: nothing is left on disk, even after a SIGKILL).
 * Return: 0; -EINVAL (no user namespace allowed) or -EIO with one line naming
 * the share in (err). Context: main thread, setup, after share_check().
 */
int share_start(struct share_proc *sp, const struct vm_share *s, uid_t uid, gid_t gid,
		char *err, size_t errlen) __must_check;

/*
 * share_connect_external() - connect to the back end of a --fs (s) (its
 * vhost-user socket, s->socket) and keep the connected fd in (sp)->conn_fd for
 * the virtio-fs device, which does the handshake later. Done before /dev/kvm
 * is opened, so a socket nobody listens on is reported like any bad input.
 * A socket that does not exist yet or refuses (its back end still starting)
 * is tried again every 100 ms until s->wait_s seconds after (since_ms)
 * (CLOCK_MONOTONIC milliseconds: all --fs of a VM wait from one start); one
 * warning after 2 s of waiting; a pending (blocked) SIGTERM, SIGINT, SIGHUP
 * or SIGQUIT ends the wait.
 * Return: 0; -EINVAL with "--fs TAG: vhost-user PATH: connect: ERROR" in
 * (err); -EINTR when a stop signal ended the wait.
 * Context: main thread, setup, on an idle share_init()ed (sp).
 */
int share_connect_external(struct share_proc *sp, const struct vm_share *s, uint64_t since_ms,
			   char *err, size_t errlen) __must_check;

/* share_connected() - the front end took (sp)->conn_fd and completed the handshake. */
void share_connected(struct share_proc *sp);

/*
 * share_explain() - the front end could not connect or negotiate: if
 * virtiofsd has exited (waiting up to a second for it), replace (err) with a
 * line naming the share and virtiofsd's last words.
 */
void share_explain(struct share_proc *sp, const struct vm_share *s, char *err, size_t errlen);

/*
 * share_stop() - stop virtiofsd (it exits by itself once disconnected; else
 * SIGTERM, then SIGKILL, each after SHARE_STOP_WAIT_MS), reap it, remove what
 * is left of the runtime directory. Idempotent.
 */
void share_stop(struct share_proc *sp);

/*
 * share_owner() - who owns files guest root creates in rw shares: --owner,
 * else SUDO_UID/SUDO_GID when root runs us under sudo, else our own ids.
 */
void share_owner(const struct vm_config *cfg, uid_t *uid, gid_t *gid);

#endif
