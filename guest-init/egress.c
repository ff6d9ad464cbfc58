// SPDX-License-Identifier: MIT
/*
 * egress.c: the egress forwarder (egress.h): a loopback TCP listener whose
 * connections are piped byte for byte to the host over vsock, one child
 * process per connection. No parsing: the host end speaks HTTP-proxy.
 */
#include "guest-init/egress.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest-init/session_proto.h"
#include "guest-init/vsock_addr.h"

#define EGRESS_PUMP_ROUNDS 16		/* per direction and wake-up, so neither starves */
#define EGRESS_BACKOFF_NS 50000000L	/* after a resource shortage: 50 ms, no busy loop */

int gi_egress_listen(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd, e;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, GI_EGRESS_BACKLOG) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* ---- the byte pipe --------------------------------------------------------------- */

/* One direction of a connection: bytes from (from) to (to) through (buf). */
struct egress_dir {
	int from, to;
	unsigned char *buf;
	size_t off, len;	/* bytes read but not yet written: buf[off, off + len) */
	bool eof;		/* (from) has no more to give */
	bool done;		/* eof, everything written, (to) shut down for writing */
};

static bool would_block(int e)
{
	return e == EAGAIN || e == EWOULDBLOCK;
}

/* Move what (d) can move now without blocking. Return: 0 or -errno. */
static int dir_pump(struct egress_dir *d)
{
	ssize_t n;

	for (int round = 0; round < EGRESS_PUMP_ROUNDS && !d->done; round++) {
		if (!d->len && !d->eof) {
			n = recv(d->from, d->buf, GI_EGRESS_BUF, MSG_DONTWAIT);
			if (n < 0)
				goto io_err;
			d->eof = n == 0;
			d->off = 0;
			d->len = (size_t)n;
		}
		if (d->len) {
			n = send(d->to, d->buf + d->off, d->len, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n < 0)
				goto io_err;
			d->off += (size_t)n;
			d->len -= (size_t)n;
			continue;
		}
		/* the half-close, passed on; ENOTCONN: (to) is gone, its direction says so */
		if (shutdown(d->to, SHUT_WR) < 0 && errno != ENOTCONN)
			return -errno;
		d->done = true;
	}
	return 0;
io_err:
	if (errno == EINTR || would_block(errno))
		return 0;
	return -errno;
}

/* poll() events (d) waits for on its (from) and its (to). */
static short dir_want_in(const struct egress_dir *d)
{
	return !d->done && !d->eof && !d->len ? POLLIN : 0;
}

static short dir_want_out(const struct egress_dir *d)
{
	return d->len ? POLLOUT : 0;
}

int gi_egress_copy(int a, int b)
{
	unsigned char *mem = malloc(2 * (size_t)GI_EGRESS_BUF);
	struct egress_dir d[2] = { { .from = a, .to = b }, { .from = b, .to = a } };
	struct pollfd p[2];
	int ret = 0;

	if (!mem)
		return -ENOMEM;
	d[0].buf = mem;
	d[1].buf = mem + GI_EGRESS_BUF;
	for (;;) {
		for (int i = 0; i < 2 && !ret; i++)
			ret = dir_pump(&d[i]);
		if (ret || (d[0].done && d[1].done))
			break;
		/* a is d[0]'s source and d[1]'s sink; b the reverse */
		p[0] = (struct pollfd){ .fd = a,
					.events = dir_want_in(&d[0]) | dir_want_out(&d[1]) };
		p[1] = (struct pollfd){ .fd = b,
					.events = dir_want_in(&d[1]) | dir_want_out(&d[0]) };
		/* a socket we wait nothing from may sit in POLLHUP: leave it out, or poll spins */
		for (int i = 0; i < 2; i++)
			if (!p[i].events)
				p[i].fd = -1;
		if (poll(p, 2, -1) < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
	}
	free(mem);
	return ret;
}

/* ---- the acceptor ---------------------------------------------------------------- */

/* Close (fd) with a reset, not a FIN: the client must not take a cut stream as complete. */
static void close_reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* A connection's child: upstream, pipe, exit. */
static __attribute__((noreturn)) void serve_one(int fd, gi_egress_connect_fn up, void *opaque)
{
	int one = 1, u, ret;

	/* we only pass on what the client already segmented: no Nagle delay on top */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	u = up(opaque);
	if (u < 0) {
		close_reset(fd);
		_exit(1);
	}
	ret = gi_egress_copy(fd, u);
	if (ret) {
		close_reset(fd);
		close_reset(u);
		_exit(1);
	}
	close(fd);
	close(u);
	_exit(0);
}

static void sigchld_wake(int sig)
{
	(void)sig;	/* only interrupts ppoll() */
}

/* Reap every exited child; (*live) counts those still running. */
static void reap_children(unsigned *live)
{
	pid_t pid;

	for (;;) {
		pid = waitpid(-1, NULL, WNOHANG);
		if (pid > 0 && *live)
			(*live)--;
		if (pid > 0)
			continue;
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0 && errno == ECHILD)
			*live = 0;
		return;
	}
}

static void backoff(void)
{
	struct timespec ts = { 0, EGRESS_BACKOFF_NS };

	nanosleep(&ts, NULL);
}

/*
 * Accept what is queued on (lfd) and fork a child for each, within the cap.
 * Return: 0, or -errno for a broken listener.
 */
static int accept_all(int lfd, gi_egress_connect_fn up, void *opaque, unsigned *live,
		      const sigset_t *child_mask)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		pid_t pid;

		if (fd < 0) {
			int e = errno;

			if (would_block(e) || e == EINTR || e == ECONNABORTED || e == EPROTO ||
			    e == EPERM)
				return 0;
			if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
				backoff(); /* the connection stays queued: try again later */
				return 0;
			}
			return -e;
		}
		reap_children(live);
		if (*live >= GI_EGRESS_MAX_CONNS) {
			close_reset(fd);
			continue;
		}
		pid = fork();
		if (pid == 0) {
			sigprocmask(SIG_SETMASK, child_mask, NULL);
			signal(SIGCHLD, SIG_DFL);
			close(lfd);
			serve_one(fd, up, opaque);
		}
		if (pid < 0) {
			close_reset(fd);
			backoff(); /* EAGAIN/ENOMEM: out of processes or memory for now */
			continue;
		}
		(*live)++;
		close(fd);
	}
}

int gi_egress_serve(int lfd, gi_egress_connect_fn up, void *opaque)
{
	struct sigaction sa = { .sa_handler = sigchld_wake, .sa_flags = SA_NOCLDSTOP };
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	sigset_t chld, orig, wait_mask;
	unsigned live = 0;
	int ret;

	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGCHLD, &sa, NULL); /* no SA_RESTART: an exit wakes ppoll() */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	/* SIGCHLD only inside ppoll(): no exit is missed between the reap and the wait */
	sigprocmask(SIG_BLOCK, &chld, &orig);
	wait_mask = orig;
	sigdelset(&wait_mask, SIGCHLD);
	for (;;) {
		reap_children(&live);
		ret = ppoll(&p, 1, NULL, &wait_mask);
		if (ret < 0) {
			if (errno != EINTR && errno != ENOMEM)
				return -errno;
			if (errno == ENOMEM)
				backoff();
			continue;
		}
		if (p.revents & POLLNVAL)
			return -EBADF;
		ret = accept_all(lfd, up, opaque, &live, &orig);
		if (ret)
			return ret;
	}
}

int gi_egress_connect_host(void *opaque)
{
	struct gi_sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = GI_VSOCK_HOST_CID,
					 .svm_port = AVS_PORT_EGRESS };
	int fd, e;

	(void)opaque;
	fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

int gi_egress_setenv(void)
{
	static const char *const proxied[] = { "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
					       "http_proxy", "https_proxy", "all_proxy" };

	for (size_t i = 0; i < GI_ARRAY_SIZE(proxied); i++)
		if (setenv(proxied[i], GI_EGRESS_PROXY_URL, 1))
			return -ENOMEM;
	if (setenv("NO_PROXY", GI_EGRESS_NO_PROXY, 1) || setenv("no_proxy", GI_EGRESS_NO_PROXY, 1))
		return -ENOMEM;
	return 0;
}
