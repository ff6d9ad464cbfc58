/* SPDX-License-Identifier: MIT */
/*
 * net_tap.h: open a TAP interface for virtio-net (prefix net_tap_): an
 * existing one by name, or a new one when none exists and we may create it.
 * A tap we create is not persistent, so the kernel deletes it when its last
 * fd closes, even if agentvmm is killed with SIGKILL.
 */
#ifndef AGENTVMM_VMM_NET_TAP_H
#define AGENTVMM_VMM_NET_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/compiler.h"

/*
 * net_tap_open() - TUNSETIFF (name) with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR on
 * a non-blocking /dev/net/tun fd, vnet header size 12, offloads off until the
 * guest negotiates them. *created says whether the tap is new (then it is set
 * up, IFF_UP, with no address); *offloads the TUN_F_* flags the tap accepts.
 * Return: the fd, or -errno with one line in (err): -EBUSY the tap is attached
 * to another process; -EPERM no permission (to attach, or to create a missing
 * tap); -EINVAL not a tap (a tun, or multi_queue); -ENOENT no /dev/net/tun.
 * Context: setup.
 */
int net_tap_open(const char *name, bool *created, uint64_t *offloads, char *err,
		 size_t errlen) __must_check;

#endif
