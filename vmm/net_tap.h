/* SPDX-License-Identifier: MIT */
/*
 * net_tap.h: the TAP queues behind a --net device (prefix net_tap_), one fd
 * per queue pair: opened by name (an existing tap, or a new one when none
 * exists and we may create it), or taken over from fds the parent opened (a
 * tap's queues, or a macvtap's /dev/tapN opened once per queue).
 * A tap we create is not persistent, so the kernel deletes it when its last
 * fd closes, even if agentvmm is killed with SIGKILL.
 *
 * Every fd returned is non-blocking and close-on-exec, its vnet header size
 * is 12 and the tap's offloads are off until the guest negotiates them.
 */
#ifndef AGENTVMM_VMM_NET_TAP_H
#define AGENTVMM_VMM_NET_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/compiler.h"

/* What the opened queues are. */
struct net_tap_info {
	bool created;           /* a new tap (set up, IFF_UP, with no address) */
	bool multi_queue;       /* queues detach (TUNSETQUEUE): a multi_queue tap, a macvtap */
	uint64_t offloads;      /* the TUN_F_* flags the tap accepts */
};

/*
 * net_tap_open() - open (queues) queues of tap (name) into (fds): TUNSETIFF
 * with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR on non-blocking /dev/net/tun fds,
 * with IFF_MULTI_QUEUE when (queues) > 1. A tap made `multi_queue` (as
 * microvm.nix makes them with vCPUs > 1) refuses a single-queue attach with
 * EINVAL: then one queue is opened with IFF_MULTI_QUEUE. A missing tap is
 * created, multi_queue when (queues) > 1.
 * Return: 0, or -errno with one line in (err) and no fd left open: -EBUSY a
 * single-queue tap attached to another process; -EPERM no permission (to
 * attach, or to create a missing tap); -EINVAL not a tap (a tun or another
 * kind of interface), or (queues) > 1 on a single-queue tap; -ENOENT no
 * /dev/net/tun.
 * Context: setup.
 */
int net_tap_open(const char *name, unsigned queues, int *fds, struct net_tap_info *info,
		 char *err, size_t errlen) __must_check;

/*
 * net_tap_adopt() - take over (nr) tap or macvtap fds of this process (fds),
 * one per queue pair (--net fd=A:B...). Each must be open, a character
 * device whose TUNGETIFF says IFF_TAP with IFF_NO_PI and IFF_VNET_HDR, all
 * queues of one interface, no two the same open file; each is made
 * non-blocking and close-on-exec (so no helper inherits it) and gets vnet
 * header size 12. The device works on duplicates (F_DUPFD_CLOEXEC) written
 * to (out): the caller's fds stay open and its own. (label) ("fd=3:4") starts
 * every message.
 * Return: 0, or -errno with one line in (err) and no duplicate left open:
 * -EBADF an fd not open; -ENOTTY not a tap or macvtap (or a tun, or a
 * /dev/net/tun fd not attached to one); -EINVAL opened without IFF_NO_PI or
 * IFF_VNET_HDR, queues of different interfaces, one open file twice, or
 * several fds of a single-queue tap.
 * Context: setup.
 */
int net_tap_adopt(const char *label, const int *fds, unsigned nr, int *out,
		  struct net_tap_info *info, char *err, size_t errlen) __must_check;

#endif
