/* SPDX-License-Identifier: MIT */
/*
 * net_user.h: --net user, user-mode networking through passt (prefix
 * net_user_). agentvmm starts one passt per --net user on a socket pair
 * (passt's -F: no socket file anywhere), in the foreground and one-off: when
 * agentvmm's end closes (at exit, or when agentvmm is killed) passt exits by
 * itself. The virtio-net device speaks passt's framing on agentvmm's end
 * (devices/virtio/vnet_stream.c). docs/net.md "User-mode networking".
 */
#ifndef AGENTVMM_VMM_NET_USER_H
#define AGENTVMM_VMM_NET_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "vmm/compiler.h"
#include "vmm/config.h"

#define NET_USER_PASST "/usr/bin/passt" /* Debian's passt; $AGENTVMM_PASST overrides */

struct net_user {
	bool live;   /* started and not yet stopped (a zeroed struct is not) */
	pid_t pid;   /* passt */
	int log_fd;  /* memfd holding passt's stderr */
};

/*
 * The guest's resolver with --net user and no dns= (net_user_resolver()),
 * from the host's /etc/resolv.conf, first IPv4 nameserver:
 * - a routable address: the guest asks NET_USER_DNS, passt forwards the
 *   queries to the host's resolvers (--dns-forward);
 * - 127.0.0.1: the guest asks the gateway address, which passt maps to the
 *   host's loopback;
 * - another loopback address (systemd-resolved's 127.0.0.53), or none: the
 *   guest gets no resolver (Debian 12's passt reaches neither; give dns=).
 * With dns= the guest asks that address, as any other traffic.
 */
#define NET_USER_DNS "10.0.2.3"
enum net_user_dns { NET_DNS_GIVEN, NET_DNS_FORWARD, NET_DNS_GATEWAY, NET_DNS_NONE };

/*
 * net_user_resolver() - the guest's resolver for (nc) into (guest) ("" for
 * none), reading (resolv_conf) (NULL: /etc/resolv.conf).
 * Return: how it is reached. Context: any (reads one file).
 */
enum net_user_dns net_user_resolver(const struct vm_net *nc, const char *resolv_conf,
				    char *guest, size_t len);

/*
 * net_user_start() - start passt for (nc) (addresses, forwards) and wait until
 * it is ready (it writes its pid file, a pipe here, just before serving).
 * (*fd) is agentvmm's end of the connection: SOCK_STREAM, non-blocking,
 * close-on-exec. Return: 0, or -EINVAL (passt missing, or it refused the
 * configuration: the reason is its own last line) / -EIO with one line in
 * (err); nothing is left running on failure.
 * Context: setup thread.
 */
int net_user_start(struct net_user *nu, const struct vm_net *nc, int *fd, char *err,
		   size_t errlen) __must_check;

/*
 * net_user_stop() - after the device closed its end: reap passt (it exits by
 * itself; killed after a second if not), say so if it had failed on its own,
 * free the log. Idempotent.
 */
void net_user_stop(struct net_user *nu);

#endif
