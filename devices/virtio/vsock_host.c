// SPDX-License-Identifier: MIT
/*
 * vsock_host.c: the host side of virtio-vsock (prefix vsock_): the UNIX
 * listener at PATH and its CONNECT lines, connect(2) to PATH_<port> for the
 * guest, the per-connection byte ring for host peers that do not read, and
 * SEQPACKET messages on the host sockets (whole ones each way). Every socket
 * is non-blocking and watched by one-shot io_uring polls on the loop thread
 * (vsock_conn.c arms them: POLLIN and POLLOUT separately, so neither has to
 * be changed while in flight).
 *
 * Over 600 lines: the ring and its SEQPACKET message ends are one structure
 * written and flushed by the same functions; vsock_inject() and the listener's
 * setup are the short rest.
 */
#include "devices/virtio/vsock_int.h"

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/log.h"

/* ---- the CONNECT line ------------------------------------------------------- */

int vsock_connect_scan(const char *buf, size_t len, uint32_t *port, size_t *used)
{
	static const char verb[] = "CONNECT ";
	const char *nl = memchr(buf, '\n', MIN(len, (size_t)VSOCK_CONNECT_LINE_MAX));
	uint64_t v = 0;
	size_t i, digits = 0;

	if (!nl)
		return len >= VSOCK_CONNECT_LINE_MAX ? -EMSGSIZE : 0;
	if ((size_t)(nl - buf) < sizeof(verb) - 1 || memcmp(buf, verb, sizeof(verb) - 1))
		return -EINVAL;
	for (i = sizeof(verb) - 1; buf + i < nl; i++, digits++) {
		/* 10 digits hold every u32; more are refused before they can overflow v */
		if (buf[i] < '0' || buf[i] > '9' || digits == 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(buf[i] - '0');
	}
	if (!digits || v >= VSOCK_PORT_ANY)
		return -EINVAL;
	*port = (uint32_t)v;
	*used = i + 1;
	return 1;
}

/* ---- host -> guest: listener, CONNECT line, OK ----------------------------------- */

void vsock_listen_arm(struct vsock *vs)
{
	struct io_uring_sqe *sqe;

	if (vs->vs_lfd < 0 || vs->vs_listen_armed || vs->vs_listen_paused)
		return;
	sqe = vsock_get_sqe(vs, &vs->vs_listen_op);
	if (!sqe)
		return;
	io_uring_prep_poll_add(sqe, vs->vs_lfd, POLLIN);
	vs->vs_listen_armed = true;
}

/* A new host connection: its CONNECT line must come before the deadline. */
static void host_new_conn(struct vsock *vs, int fd)
{
	struct vsock_conn *c = NULL;

	if (vs->vs_live < vs->vs_max_conns && vs->vs_pending < vs->vs_max_pending)
		c = vsock_conn_alloc(vs, fd);
	if (!c) {
		vs->vs_stats.refused++;
		log_guest_ratelimited("virtio-vsock: host connection refused: %u connections, %u "
				      "in the handshake (docs/vsock.md, Limits)", vs->vs_live,
				      vs->vs_pending);
		close(fd);
		return;
	}
	vsock_conn_set_state(c, VSC_LINE);
	c->vc_deadline = vsock_now_ns() + VSOCK_CONNECT_TIMEOUT_MS * VSOCK_NS_PER_MS;
	vsock_timer_update(vs);
	vsock_line_read(c); /* the line may be there already */
	if (c->vc_state == VSC_LINE)
		vsock_conn_poll(c);
}

/* Accept what is waiting, a bounded number at a time; out of fds: pause a while. */
void vsock_accept_some(struct vsock *vs)
{
	for (unsigned i = 0; i < VSOCK_ACCEPT_BUDGET && vs->vs_lfd >= 0; i++) {
		int fd = accept4(vs->vs_lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			host_new_conn(vs, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			/* EMFILE, ENFILE, ENOBUFS: the connection waits in the backlog */
			log_guest_ratelimited("virtio-vsock %s: accept: %s: pausing for %d ms",
					      vs->vs_path, strerror(errno), VSOCK_RETRY_MS);
			vs->vs_listen_paused = true;
			vsock_retry_later(vs);
		}
		break;
	}
	vsock_listen_arm(vs);
}

static void listen_done_cb(void *opaque, int res)
{
	struct vsock *vs = opaque;

	pthread_mutex_lock(&vs->vs_lock);
	vs->vs_listen_armed = false;
	if (res >= 0 && !vs->vs_evl->stopping) {
		vsock_accept_some(vs);
		vsock_rx_run_locked(vs);
	}
	vsock_unlock_and_fail(vs);
}

/* A host port for a connection to guest port (guest_port) that no connection uses. */
static bool pick_host_port(struct vsock *vs, uint32_t guest_port, uint32_t *out)
{
	for (unsigned tries = 0; tries < VSOCK_PORT_TRIES; tries++) {
		uint32_t p = vs->vs_next_port++;

		if (vs->vs_next_port >= VSOCK_PORT_ANY)
			vs->vs_next_port = VSOCK_HOST_PORT_BASE;
		if (!vsock_conn_find(vs, p, guest_port)) {
			*out = p;
			return true;
		}
	}
	return false;
}

/* The host asked for guest port (port): the guest gets a REQUEST. */
static void host_connect(struct vsock_conn *c, uint32_t port)
{
	struct vsock *vs = c->vc_vs;

	if (!vs->vs_active || !vs->vs_rxq || !vs->vs_txq ||
	    !pick_host_port(vs, port, &c->vc_host_port)) {
		vs->vs_stats.refused++;
		log_guest_ratelimited("virtio-vsock: CONNECT %u: the guest's driver is not ready",
				      port);
		vsock_conn_close(c, false);
		return;
	}
	c->vc_guest_port = port;
	vsock_conn_set_state(c, VSC_REQ);
	/* the line came in time; the guest's answer has its own, longer deadline (slow guests) */
	c->vc_deadline = vsock_now_ns() + VSOCK_RESPONSE_TIMEOUT_MS * VSOCK_NS_PER_MS;
	vsock_timer_update(vs);
	vsock_hash_add(c);
	c->vc_owe |= VSC_OWE_REQUEST;
	vsock_queue(c);
}

/*
 * Read the CONNECT line without taking a byte past its newline (the host may
 * send stream data right behind it): peek, then read exactly the line's part.
 * Bytes of an unfinished line are taken into vc_line, so POLLIN stays quiet
 * until more arrive.
 */
void vsock_line_read(struct vsock_conn *c)
{
	char tmp[VSOCK_CONNECT_LINE_MAX];
	size_t room = VSOCK_CONNECT_LINE_MAX - c->vc_line_len, used = 0, take;
	ssize_t n = recv(c->vc_fd, tmp, room, MSG_PEEK | MSG_DONTWAIT);
	uint32_t port = 0;
	int r;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		vsock_conn_close(c, false); /* closed or failed before a whole line */
		return;
	}
	memcpy(c->vc_line + c->vc_line_len, tmp, (size_t)n);
	r = vsock_connect_scan(c->vc_line, c->vc_line_len + (size_t)n, &port, &used);
	if (r < 0) {
		c->vc_vs->vs_stats.refused++;
		log_guest_ratelimited("virtio-vsock: host connection closed: %s CONNECT line",
				      r == -EMSGSIZE ? "over-long" : "malformed");
		vsock_conn_close(c, false);
		return;
	}
	take = r ? used - c->vc_line_len : (size_t)n;
	if (read(c->vc_fd, tmp, take) != (ssize_t)take) {
		vsock_conn_close(c, false); /* it was there a moment ago: a socket error */
		return;
	}
	c->vc_line_len = (uint8_t)(c->vc_line_len + take);
	if (r && c->vc_vs->vs_exec_port && port == c->vc_vs->vs_exec_port) {
		c->vc_vs->vs_stats.refused++;
		log_guest_ratelimited("virtio-vsock: host CONNECT %u refused: the port of agentvmm "
				      "exec sessions (use agentvmm exec; docs/vsock.md)", port);
		vsock_conn_close(c, false);
		return;
	}
	if (r)
		host_connect(c, port);
}

void vsock_host_accepted(struct vsock_conn *c)
{
	char ok[24];
	int n = snprintf(ok, sizeof(ok), "OK %u\n", c->vc_host_port);

	/* a fresh socket always has room for one short line: anything else is a dead peer */
	if (send(c->vc_fd, ok, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n) {
		vsock_conn_close(c, true);
		return;
	}
	vsock_conn_set_state(c, VSC_OPEN);
	c->vc_vs->vs_stats.opened++;
	vsock_conn_poll(c);
}

/* ---- agentvmm's own host connections: vsock_inject() ---------------------------- */

int vsock_inject(void *dev, int fd, uint32_t port)
{
	struct vsock *vs = dev;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = &port, .iov_len = sizeof(port) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	int r = 0;

	if (fd < 0)
		return -EBADF;
	memset(u.buf, 0, sizeof(u.buf));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (vs->vs_inject_tx < 0)
		r = -ENOTCONN;
	else if (sendmsg(vs->vs_inject_tx, &m, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		r = errno == EWOULDBLOCK ? -EAGAIN : -errno;
	close(fd); /* the queued message holds its own reference */
	return r;
}

/* A connection vsock_inject() asked for: like a CONNECT line, without the line. */
static void host_inject(struct vsock *vs, int fd, uint32_t port)
{
	struct vsock_conn *c = NULL;
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0 && port < VSOCK_PORT_ANY &&
	    vs->vs_live < vs->vs_max_conns && vs->vs_pending < vs->vs_max_pending)
		c = vsock_conn_alloc(vs, fd);
	if (!c) {
		vs->vs_stats.refused++;
		log_guest_ratelimited("virtio-vsock: session to guest port %u refused: %u "
				      "connections, %u in the handshake", port, vs->vs_live,
				      vs->vs_pending);
		close(fd);
		return;
	}
	vsock_conn_set_state(c, VSC_LINE);
	host_connect(c, port);
}

void vsock_inject_ready(void *opaque)
{
	struct vsock *vs = opaque;

	for (unsigned i = 0; i < VSOCK_ACCEPT_BUDGET; i++) {
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		uint32_t port = 0;
		struct iovec iov = { .iov_base = &port, .iov_len = sizeof(port) };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
				    .msg_controllen = sizeof(u.buf) };
		struct cmsghdr *cm;
		int fd = -1;
		ssize_t n = recvmsg(vs->vs_inject_rx, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (n < 0)
			break;
		cm = CMSG_FIRSTHDR(&m);
		if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
		if (fd < 0)
			continue;
		if (n != (ssize_t)sizeof(port) || (m.msg_flags & MSG_CTRUNC)) {
			close(fd);
			continue;
		}
		pthread_mutex_lock(&vs->vs_lock);
		if (vs->vs_evl->stopping)
			close(fd);
		else
			host_inject(vs, fd, port);
		vsock_rx_run_locked(vs);
		vsock_unlock_and_fail(vs);
	}
}

/* ---- guest -> host: connect, write, shutdown ------------------------------------- */

/*
 * A SOCK_SEQPACKET socket for the guest: SO_PASSCRED tells an empty message
 * (it has credentials) from EOF (none; vsock_conn_msg_peek()), and the send
 * buffer must hold a whole VSOCK_MSG_MAX message (AF_UNIX refuses one of more
 * than SO_SNDBUF less 32 bytes with EMSGSIZE; the kernel doubles the value,
 * capped by net.core.wmem_max). Return: the fd, or -1.
 */
static int seq_socket(void)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	int sndbuf = VSOCK_SEQ_SNDBUF;

	if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * --egress: a new stream socket pair, one end sent to the proxy on (ctl) with
 * MSG_DONTWAIT (its queue full: refused, the guest is not waited for).
 * Return: our end, non-blocking, or -1.
 */
static int egress_pass(int ctl)
{
	char one = 'C';
	struct iovec iov = { .iov_base = &one, .iov_len = 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u = { 0 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	int sv[2];
	ssize_t n;

	if (ctl < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &sv[1], sizeof(int));
	n = sendmsg(ctl, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n != 1) {
		log_guest_ratelimited("virtio-vsock: --egress: the proxy takes no connection: %s",
				      n < 0 ? strerror(errno) : "short send");
		goto fail;
	}
	close(sv[1]);
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
		close(sv[0]);
		return -1;
	}
	return sv[0];
fail:
	close(sv[0]);
	close(sv[1]);
	return -1;
}

void vsock_guest_connect(struct vsock *vs, const struct virtio_vsock_hdr *h)
{
	uint32_t hp = le32toh(h->dst_port), gp = le32toh(h->src_port);
	bool seq = le16toh(h->type) == VIRTIO_VSOCK_TYPE_SEQPACKET;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vsock_conn *c = NULL;
	int fd = -1;

	if (vs->vs_job_port && hp == vs->vs_job_port) {
		/* agentvmm's own session: once, a stream, and never a PATH_<port> socket */
		if (vs->vs_job_fd < 0 || seq)
			goto refuse;
		fd = vs->vs_job_fd;
		vs->vs_job_fd = -1;
		/* every socket of the device is non-blocking (the loop thread must never wait) */
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
			goto refuse;
		goto have_fd;
	}
	if (!vs->vs_path[0] && !(vs->vs_egress_port && hp == vs->vs_egress_port))
		goto refuse;
	if (vs->vs_live >= vs->vs_max_conns ||
	    vs->vs_guest_live >= vs->vs_max_conns - vs->vs_host_reserve) {
		/* the rest is kept for host CONNECTs: the guest cannot lock them out */
		log_guest_ratelimited("virtio-vsock: guest connect to host port %u refused: %u "
				      "connections, %u of them the guest's (docs/vsock.md, Limits)",
				      hp, vs->vs_live, vs->vs_guest_live);
		goto refuse;
	}
	if (vs->vs_egress_port && hp == vs->vs_egress_port) {
		fd = seq ? -1 : egress_pass(vs->vs_egress_fd);
		if (fd < 0)
			goto refuse;
		goto have_fd;
	}
	_Static_assert(VSOCK_PATH_MAX + sizeof("_4294967295") <= sizeof(sa.sun_path),
		       "PATH_P fits sun_path");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", vs->vs_path, hp);
	fd = seq ? seq_socket() : socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto refuse;
	/*
	 * AF_UNIX connects at once or fails (EAGAIN: the listener's backlog is
	 * full; EPROTOTYPE: a listener of the other type)
	 */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		log_guest_ratelimited("virtio-vsock: guest connect to host port %u: %s: %s", hp,
				      sa.sun_path, strerror(errno));
		goto refuse;
	}
have_fd:
	c = vsock_conn_alloc(vs, fd);
	if (!c)
		goto refuse;
	c->vc_host_port = hp;
	c->vc_guest_port = gp;
	c->vc_from_guest = true; /* before the state: counted in vs_guest_live */
	c->vc_seq = seq;
	c->vc_peer_buf_alloc = le32toh(h->buf_alloc);
	c->vc_peer_fwd_cnt = le32toh(h->fwd_cnt);
	vsock_conn_set_state(c, VSC_OPEN);
	vsock_hash_add(c);
	c->vc_owe |= VSC_OWE_RESPONSE;
	vsock_queue(c);
	vs->vs_stats.opened++;
	vsock_conn_poll(c);
	return;
refuse:
	if (fd >= 0)
		close(fd);
	vs->vs_stats.refused++;
	vsock_rst_orphan(vs, hp, gp, le16toh(h->type));
}

/* Owe the guest our fwd_cnt when its view of our free space runs low (Linux's rule). */
static void credit_check(struct vsock_conn *c)
{
	uint32_t seen_used = c->vc_rx_cnt - c->vc_fwd_sent;

	if (c->vc_fwd_cnt != c->vc_fwd_sent && c->vc_state == VSC_OPEN &&
	    VSOCK_BUF_ALLOC - MIN(seen_used, (uint32_t)VSOCK_BUF_ALLOC) < VSOCK_CREDIT_LOW) {
		c->vc_owe |= VSC_OWE_CREDIT_UPDATE;
		vsock_queue(c);
	}
}

/* Copy (len) bytes of (iov, nr), from byte (skip) on, to the end of the ring. */
static void ring_put(struct vsock_conn *c, const struct iovec *iov, int nr, size_t skip,
		     size_t len)
{
	uint32_t at = (c->vc_buf_head + c->vc_buf_len) % VSOCK_BUF_ALLOC;

	for (int i = 0; i < nr && len; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t k = iov[i].iov_len;

		if (skip >= k) {
			skip -= k;
			continue;
		}
		p += skip;
		k = MIN(k - skip, len);
		skip = 0;
		len -= k;
		c->vc_buf_len += (uint32_t)k;
		c->vc_vs->vs_stats.buffered += k;
		while (k) {
			size_t part = MIN(k, (size_t)(VSOCK_BUF_ALLOC - at));

			memcpy(c->vc_buf + at, p, part);
			at = (uint32_t)((at + part) % VSOCK_BUF_ALLOC);
			p += part;
			k -= part;
		}
	}
}

/* The message ends after the ring (SEQPACKET): bit (at) says a message's last byte is there. */
static bool end_at(const struct vsock_conn *c, uint32_t at)
{
	return c->vc_buf[VSOCK_BUF_ALLOC + at / 8] & (1U << (at % 8));
}

static void end_set(struct vsock_conn *c, uint32_t at, bool on)
{
	uint8_t *b = &c->vc_buf[VSOCK_BUF_ALLOC + at / 8];

	*b = on ? (uint8_t)(*b | 1U << (at % 8)) : (uint8_t)(*b & ~(1U << (at % 8)));
}

/* The length of the first complete message in (c)'s ring: to the first end bit from the head. */
static uint32_t first_msg_len(const struct vsock_conn *c)
{
	uint32_t at = c->vc_buf_head, n = 1;

	if (c->vc_seq_msgs == 1)
		return c->vc_buf_len - c->vc_seq_part;
	while (!end_at(c, at)) {
		/* a whole byte of the bitmap clear: 8 positions at once */
		uint32_t step = at % 8 == 0 && !c->vc_buf[VSOCK_BUF_ALLOC + at / 8] ? 8 : 1;

		at = (at + step) % VSOCK_BUF_ALLOC;
		n += step;
		assert(n <= c->vc_buf_len); /* vc_seq_msgs > 1: the bit is there */
	}
	return n;
}

/*
 * Send what (c)'s ring holds for the host peer: bytes as the socket takes
 * them, or (SEQPACKET) whole messages, each one sendmsg(). Return: 0, or -1
 * when the connection was closed (the host peer is gone, or cannot take a message).
 */
static int ring_send(struct vsock_conn *c)
{
	struct vsock *vs = c->vc_vs;

	while (c->vc_seq ? c->vc_seq_msgs > 0 : c->vc_buf_len > 0) {
		uint32_t len = c->vc_seq ? first_msg_len(c) : c->vc_buf_len;
		uint32_t first = MIN(len, VSOCK_BUF_ALLOC - c->vc_buf_head);
		struct iovec iov[2] = {
			{ c->vc_buf + c->vc_buf_head, first },
			{ c->vc_buf, len - first },
		};
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = iov[1].iov_len ? 2 : 1 };
		ssize_t n = sendmsg(c->vc_fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n < 0 || (c->vc_seq && n != len)) {
			if (c->vc_seq)
				log_guest_ratelimited("virtio-vsock: a message of %u bytes to host "
						      "port %u: %s: reset", len, c->vc_host_port,
						      n < 0 ? strerror(errno) : "cut short");
			vsock_conn_close(c, true);
			return -1;
		}
		if (c->vc_seq) {
			end_set(c, (c->vc_buf_head + len - 1) % VSOCK_BUF_ALLOC, false);
			c->vc_seq_msgs--;
			vs->vs_stats.msgs_to_host++;
		}
		c->vc_buf_head = (uint32_t)((c->vc_buf_head + (uint32_t)n) % VSOCK_BUF_ALLOC);
		c->vc_buf_len -= (uint32_t)n;
		c->vc_fwd_cnt += (uint32_t)n;
		vs->vs_stats.buffered -= (uint64_t)n;
		vs->vs_stats.bytes_to_host += (uint64_t)n;
	}
	return 0;
}

void vsock_conn_write(struct vsock_conn *c, struct iovec *iov, int nr, uint32_t len)
{
	struct vsock *vs = c->vc_vs;
	ssize_t n = 0;

	/* the caller checked the credit: what is held plus this fits the ring */
	assert(c->vc_buf_len + (uint64_t)len <= VSOCK_BUF_ALLOC);
	if (!c->vc_buf_len) {
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)nr };

		n = sendmsg(c->vc_fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			vsock_conn_close(c, true); /* the host peer is gone */
			return;
		}
		n = MAX(n, 0);
		c->vc_fwd_cnt += (uint32_t)n;
		vs->vs_stats.bytes_to_host += (uint64_t)n;
	}
	if ((uint32_t)n < len) {
		if (!c->vc_buf)
			c->vc_buf = malloc(VSOCK_BUF_ALLOC);
		if (!c->vc_buf) {
			log_guest_ratelimited("virtio-vsock: out of memory: a connection reset");
			vsock_conn_close(c, true);
			return;
		}
		ring_put(c, iov, nr, (size_t)n, len - (uint32_t)n);
	}
	credit_check(c);
	vsock_conn_poll(c);
}

void vsock_conn_write_msg(struct vsock_conn *c, struct iovec *iov, int nr, uint32_t len, bool eom)
{
	struct vsock *vs = c->vc_vs;

	if (!c->vc_buf_len && eom && len) {
		/* a whole message in one packet, nothing before it: straight to the socket */
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)nr };
		ssize_t n = sendmsg(c->vc_fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n == (ssize_t)len) {
			c->vc_fwd_cnt += len;
			vs->vs_stats.bytes_to_host += len;
			vs->vs_stats.msgs_to_host++;
			credit_check(c);
			vsock_conn_poll(c);
			return;
		}
		if (n >= 0 || (errno != EAGAIN && errno != EINTR)) {
			log_guest_ratelimited("virtio-vsock: a message of %u bytes to host port "
					      "%u: %s: reset", len, c->vc_host_port,
					      n < 0 ? strerror(errno) : "cut short");
			vsock_conn_close(c, true); /* gone, or it cannot take this message */
			return;
		}
	}
	if (len && !c->vc_buf) {
		/* the ring and its message-end bits, all clear */
		c->vc_buf = calloc(1, VSOCK_BUF_ALLOC + VSOCK_SEQ_ENDS);
		if (!c->vc_buf) {
			log_guest_ratelimited("virtio-vsock: out of memory: a connection reset");
			vsock_conn_close(c, true);
			return;
		}
	}
	/* the credit was checked: what is held plus this fits the ring */
	assert(c->vc_buf_len + (uint64_t)len <= VSOCK_BUF_ALLOC);
	ring_put(c, iov, nr, 0, len);
	c->vc_seq_part += len;
	if (eom && c->vc_seq_part) {
		end_set(c, (c->vc_buf_head + c->vc_buf_len - 1) % VSOCK_BUF_ALLOC, true);
		c->vc_seq_msgs++;
		c->vc_seq_part = 0;
	}
	/* an empty message (EOM alone) is dropped: the host peer would read it as EOF */
	vsock_conn_flush(c);
}

void vsock_conn_cut_part(struct vsock_conn *c)
{
	if (!c->vc_seq_part)
		return;
	/* as if delivered: fwd_cnt keeps counting every byte the guest sent */
	c->vc_buf_len -= c->vc_seq_part;
	c->vc_fwd_cnt += c->vc_seq_part;
	c->vc_vs->vs_stats.buffered -= c->vc_seq_part;
	c->vc_seq_part = 0;
}

void vsock_conn_flush(struct vsock_conn *c)
{
	if (ring_send(c))
		return;
	if (!c->vc_buf_len) {
		/* an idle connection holds no buffer: memory follows what is in flight */
		free(c->vc_buf);
		c->vc_buf = NULL;
		c->vc_buf_head = 0;
		if (c->vc_guest_no_send && c->vc_guest_no_recv) {
			/* the guest closed (DRAIN, or OPEN): all it sent is delivered */
			vsock_conn_close(c, true);
			return;
		}
		if (c->vc_guest_no_send && !c->vc_wr_shut) {
			shutdown(c->vc_fd, SHUT_WR); /* the host peer reads EOF */
			c->vc_wr_shut = true;
		}
	}
	credit_check(c);
	vsock_conn_poll(c);
}

ssize_t vsock_conn_read(struct vsock_conn *c, const struct iovec *iov, int nr)
{
	ssize_t n = readv(c->vc_fd, iov, nr);

	return n < 0 ? -errno : n;
}

ssize_t vsock_conn_msg_peek(struct vsock_conn *c)
{
	for (unsigned i = 0; i < VSOCK_EMPTY_BUDGET; i++) {
		union {
			char buf[CMSG_SPACE(sizeof(struct ucred))];
			struct cmsghdr align;
		} u;
		/*
		 * Room for the credentials alone: file descriptors the host peer
		 * sends along are not installed here (the kernel drops what does
		 * not fit) and go with the message.
		 */
		struct msghdr m = { .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
		ssize_t n = recvmsg(c->vc_fd, &m, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);

		if (n < 0)
			return -errno;
		/* 0: EOF has no credentials, an empty message does (SO_PASSCRED, seq_socket()) */
		if (n > 0 || !CMSG_FIRSTHDR(&m))
			return n;
		if (recv(c->vc_fd, NULL, 0, MSG_DONTWAIT) < 0)
			return -errno;
	}
	return -EAGAIN; /* a run of empty messages: the next poll goes on */
}

int vsock_conn_msg_read(struct vsock_conn *c, struct iovec *iov, int nr, uint32_t len)
{
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)nr };
	ssize_t n = recvmsg(c->vc_fd, &m, MSG_DONTWAIT);

	if (n < 0)
		return -errno;
	return n == (ssize_t)len && !(m.msg_flags & MSG_TRUNC) ? 0 : -EIO;
}

void vsock_conn_guest_shutdown(struct vsock_conn *c, uint32_t flags)
{
	if ((flags & VIRTIO_VSOCK_SHUTDOWN_RCV) && !c->vc_guest_no_recv) {
		/* the host peer's writes fail (EPIPE) from now on */
		shutdown(c->vc_fd, SHUT_RD);
		c->vc_guest_no_recv = true;
		c->vc_readable = false;
		vsock_msg_drop(c);
	}
	if (flags & VIRTIO_VSOCK_SHUTDOWN_SEND) {
		c->vc_guest_no_send = true;
		vsock_conn_cut_part(c); /* half a message is nothing the host peer can take */
	}
	vsock_conn_flush(c); /* closes (c), RST owed, once both ways are shut and nothing is held */
	/* Linux's close(): it waits for our RST (VSOCK_CLOSE_TIMEOUT, 8 s), then sends its own */
	if (c->vc_state == VSC_OPEN && c->vc_guest_no_send && c->vc_guest_no_recv)
		vsock_conn_drain(c, true);
}

/* ---- listener setup and teardown ---------------------------------------------------- */

/* Is a listener alive at (path)? 1 yes, 0 no (stale), -errno when the probe fails. */
static int socket_live(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), r;

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	/* EAGAIN: a listener whose backlog is full is a live one */
	r = r == 0 || errno == EAGAIN ? 1 : errno == ECONNREFUSED ? 0 : -errno;
	close(fd);
	return r;
}

/* Clear PATH for bind as the control socket does (vmm/ctl.c): nothing there, or a stale socket. */
static int clear_path(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int r;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		r = -errno;
		snprintf(err, errlen, "--vsock socket=%s: %s", path, strerror(-r));
		return -EINVAL;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "--vsock socket=%s: exists and is not a socket (not replacing "
			 "it)", path);
		return -EINVAL;
	}
	r = socket_live(path);
	if (r == 1) {
		snprintf(err, errlen, "--vsock socket=%s: another process is listening on it", path);
		return -EINVAL;
	}
	if (r < 0 || (unlink(path) < 0 && errno != ENOENT)) {
		r = r < 0 ? r : -errno;
		snprintf(err, errlen, "--vsock socket=%s: cannot replace the stale socket: %s", path,
			 strerror(-r));
		return -EINVAL;
	}
	log_info("replaced a stale vsock socket at %s", path);
	return 0;
}

static int make_listener(struct vsock *vs, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int r = clear_path(vs->vs_path, err, errlen);

	if (r)
		return r;
	vs->vs_lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (vs->vs_lfd < 0)
		goto fail;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", vs->vs_path);
	if (bind(vs->vs_lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	/* 0600: the socket reaches into the guest; only its owner (and root) may connect */
	if (chmod(vs->vs_path, 0600) < 0 || lstat(vs->vs_path, &st) < 0 ||
	    listen(vs->vs_lfd, VSOCK_MAX_PENDING) < 0) {
		r = -errno;
		unlink(vs->vs_path);
		errno = -r;
		goto fail;
	}
	vs->vs_path_dev = st.st_dev;
	vs->vs_path_ino = st.st_ino;
	vs->vs_path_own = true;
	return 0;
fail:
	r = -errno;
	snprintf(err, errlen, "--vsock socket=%s: %s", vs->vs_path, strerror(-r));
	/* a missing directory or a read-only one is the user's to fix */
	return r == -ENOENT || r == -EACCES || r == -EROFS || r == -ENOTDIR || r == -EADDRINUSE ?
		       -EINVAL : r;
}

int vsock_host_init(struct vsock *vs, const struct vsock_config *cfg, char *err, size_t errlen)
{
	int r;

	int sp[2];

	vs->vs_lfd = vs->vs_tfd = -1;
	vs->vs_next_port = VSOCK_HOST_PORT_BASE;
	if (cfg->job_port) {
		vs->vs_job_fd = cfg->job_fd;
		vs->vs_job_port = cfg->job_port;
	}
	vs->vs_exec_port = cfg->exec_port;
	vs->vs_egress_fd = cfg->egress_port ? cfg->egress_fd : -1;
	vs->vs_egress_port = cfg->egress_port;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sp) < 0) {
		r = -errno;
		snprintf(err, errlen, "virtio-vsock: socketpair: %s", strerror(-r));
		return r;
	}
	vs->vs_inject_rx = sp[0];
	vs->vs_inject_tx = sp[1];
	vs->vs_listen_op = (struct evl_op){ .done = listen_done_cb, .opaque = vs };
	if (cfg->path) {
		if (!cfg->path[0] || strlen(cfg->path) > VSOCK_PATH_MAX) {
			snprintf(err, errlen, "--vsock socket=%s: path must be 1 to %d bytes",
				 cfg->path, VSOCK_PATH_MAX);
			return -EINVAL;
		}
		snprintf(vs->vs_path, sizeof(vs->vs_path), "%s", cfg->path);
		r = make_listener(vs, err, errlen);
		if (r)
			return r;
	}
	vs->vs_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (vs->vs_tfd < 0) {
		r = -errno;
		snprintf(err, errlen, "virtio-vsock: timerfd: %s", strerror(-r));
		return r;
	}
	if (cfg->evl) {
		r = vsock_start(vs, cfg->evl);
		if (r) {
			snprintf(err, errlen, "virtio-vsock: cannot watch its timer: %s", strerror(-r));
			return r;
		}
	}
	return 0;
}

int vsock_start(void *dev, struct evl *evl)
{
	struct vsock *vs = dev;
	int r = evl_watch_fd(evl, vs->vs_tfd, vsock_timer_cb, vs);

	if (!r)
		r = evl_watch_fd(evl, vs->vs_inject_rx, vsock_inject_ready, vs);
	if (r)
		return r;
	pthread_mutex_lock(&vs->vs_lock);
	vs->vs_evl = evl;
	/* fire at once: the first tick, on the loop thread, arms the listener's poll */
	vs->vs_retry_at = 1;
	vs->vs_listen_paused = true;
	vsock_timer_update(vs);
	pthread_mutex_unlock(&vs->vs_lock);
	return 0;
}

void vsock_host_fini(struct vsock *vs)
{
	struct stat st;

	for (unsigned i = 0; vs->vs_conns && i < vs->vs_hwm; i++) {
		struct vsock_conn *c = &vs->vs_conns[i];

		if (c->vc_fd >= 0)
			close(c->vc_fd);
		c->vc_fd = -1;
		free(c->vc_buf);
		c->vc_buf = NULL;
		free(c->vc_msg);
		c->vc_msg = NULL;
	}
	if (vs->vs_lfd >= 0)
		close(vs->vs_lfd);
	vs->vs_lfd = -1;
	/* only if PATH is still the socket we made (someone may have replaced it) */
	if (vs->vs_path_own && lstat(vs->vs_path, &st) == 0 && st.st_dev == vs->vs_path_dev &&
	    st.st_ino == vs->vs_path_ino)
		unlink(vs->vs_path);
	vs->vs_path_own = false;
	if (vs->vs_tfd >= 0)
		close(vs->vs_tfd);
	vs->vs_tfd = -1;
	if (vs->vs_job_fd >= 0)
		close(vs->vs_job_fd);
	vs->vs_job_fd = -1;
	if (vs->vs_inject_rx >= 0)
		close(vs->vs_inject_rx);
	if (vs->vs_inject_tx >= 0)
		close(vs->vs_inject_tx);
	vs->vs_inject_rx = vs->vs_inject_tx = -1;
}
