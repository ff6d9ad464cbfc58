/* SPDX-License-Identifier: MIT */
/*
 * egress.h: the egress forwarder (prefix gi_egress_): with agentvmm.egress the
 * guest has no NIC, and programs reach the outside through an HTTP proxy on
 * the host. guest-init listens on TCP 127.0.0.1:GI_EGRESS_PORT and pipes each
 * accepted connection, byte for byte, to the host's vsock port
 * AVS_PORT_EGRESS (session_proto.h), where agentvmm's egress proxy speaks the
 * HTTP-proxy protocol (docs/net.md). The forwarder parses nothing.
 *
 * Processes (init.c starts it):
 *
 *   PID 1 ── binds and listens (gi_egress_listen()) before the workload
 *    │       starts, so the first connection queues even before accept();
 *    └─ acceptor (gi_egress_serve()), root, its own session; lives until
 *        │   the VM ends (PID 1's final kill(-1, SIGTERM))
 *        └─ one child per connection (at most GI_EGRESS_MAX_CONNS at once;
 *           more are reset at once): connects upstream, gi_egress_copy(),
 *           exits. Two GI_EGRESS_BUF buffers each.
 *
 * The core (listen, copy, serve with an upstream callback) is plain socket
 * code, also built into av_gi_lib for tests/unit/guest-init/test_gi_egress.c.
 */
#ifndef AGENTVMM_GUEST_INIT_EGRESS_H
#define AGENTVMM_GUEST_INIT_EGRESS_H

#include <stdint.h>

#include "guest-init/compiler.h"

#define GI_EGRESS_PORT 3128		/* the proxy's port in the guest, squid's classic one */
#define GI_EGRESS_MAX_CONNS 256		/* connections forwarded at once */
#define GI_EGRESS_BUF 65536		/* bytes buffered per direction of a connection */
#define GI_EGRESS_BACKLOG 128		/* listen() queue */

#define GI_EGRESS_STR_(x) #x
#define GI_EGRESS_STR(x) GI_EGRESS_STR_(x)
/* The value of HTTP_PROXY and friends (gi_egress_setenv()). */
#define GI_EGRESS_PROXY_URL "http://127.0.0.1:" GI_EGRESS_STR(GI_EGRESS_PORT)
/* The value of NO_PROXY/no_proxy: the guest's own loopback never goes to the host. */
#define GI_EGRESS_NO_PROXY "localhost,127.0.0.1,::1"

/*
 * Open an upstream stream for one accepted connection (opaque as given to
 * gi_egress_serve()). Return: a connected stream socket, or -errno.
 * Context: the connection's own child process.
 */
typedef int (*gi_egress_connect_fn)(void *opaque);

/*
 * gi_egress_listen() - a TCP listener on 127.0.0.1:(port) (0: an ephemeral
 * port, for tests), SO_REUSEADDR, non-blocking, close-on-exec, backlog
 * GI_EGRESS_BACKLOG. lo must be up (net.c), or bind fails.
 * Return: the fd or -errno. Context: any.
 */
int __must_check gi_egress_listen(uint16_t port);

/*
 * gi_egress_copy() - copy bytes both ways between the connected stream
 * sockets (a) and (b) until both directions have ended: the end of one
 * side's data is passed on as shutdown(SHUT_WR) of the other (half-close),
 * and the other direction goes on. At most GI_EGRESS_BUF bytes per direction
 * are held. Uses MSG_DONTWAIT and MSG_NOSIGNAL, so the sockets may be
 * blocking and SIGPIPE need not be ignored. Closes neither socket.
 * Return: 0 when both directions ended cleanly; -errno of the first failed
 * read, write or poll (a reset peer: -ECONNRESET, -EPIPE), -ENOMEM.
 * Context: any; blocks in poll() for as long as the connection lasts.
 * Guest: both peers (the workload and the host's proxy) control all data.
 */
int __must_check gi_egress_copy(int a, int b);

/*
 * gi_egress_serve() - the acceptor: accept connections on (lfd) (from
 * gi_egress_listen()) forever; for each, fork a child that calls (up)(opaque)
 * and pipes the connection to the stream it returns with gi_egress_copy()
 * (or resets the connection when (up) fails), then exits. With
 * GI_EGRESS_MAX_CONNS children alive, a new connection is reset at once.
 * Children are reaped as they exit (SIGCHLD wakes the loop). Ignores SIGPIPE;
 * transient accept() and fork() failures (a client that went away, fd or
 * memory shortage) never end the loop.
 * Return: only on a broken (lfd): -EBADF, -EINVAL, -ENOTSOCK and the like.
 * Context: a process of its own (it forks and reaps every child it has);
 * signal dispositions other than SIGPIPE and SIGCHLD are left alone.
 * Guest: the workload controls the connections and their data.
 */
int __must_check gi_egress_serve(int lfd, gi_egress_connect_fn up, void *opaque);

/*
 * gi_egress_connect_host() - the guest's upstream: a vsock stream to the
 * host (CID 2), port AVS_PORT_EGRESS. (opaque) is unused.
 * Return: the fd (close-on-exec) or -errno. Context: a connection's child.
 */
int gi_egress_connect_host(void *opaque);

/*
 * gi_egress_setenv() - point the environment at the forwarder:
 * HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and their lowercase forms =
 * GI_EGRESS_PROXY_URL, NO_PROXY and no_proxy = GI_EGRESS_NO_PROXY
 * (overwriting). guest-init calls it before applying agentvmm.env, so the
 * user's values win. Return: 0 or -ENOMEM. Context: PID 1 (or a test).
 */
int __must_check gi_egress_setenv(void);

#endif
