// SPDX-License-Identifier: MIT
/* vu_msg.c: vhost-user message framing, SCM_RIGHTS fd passing and reply validation (prefix vu_). */
#include "devices/vhost_user/vu_msg.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Absolute CLOCK_MONOTONIC deadline in ms, so retries never extend the timeout. */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for (events) on (sock) until (deadline). Return: 0 ready, -ETIMEDOUT, -errno. */
static int wait_ready(int sock, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = sock, .events = events };
		int64_t left = deadline - now_ms();
		int r;

		if (left < 0)
			left = 0;
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return 0; /* readable, writable, or HUP/ERR: the next call reports which */
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

void vu_msg_init(struct vu_msg *m, uint32_t request, uint32_t size)
{
	memset(m, 0, sizeof(*m));
	m->hdr.request = request;
	m->hdr.flags = VU_VERSION;
	m->hdr.size = size;
}

int vu_msg_send(int sock, const struct vu_msg *m, const int *fds, unsigned nr_fds, int timeout_ms)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	int64_t deadline = now_ms() + timeout_ms;
	size_t total, done = 0;

	if (nr_fds > VU_MAX_FDS || m->hdr.size > VU_PAYLOAD_MAX)
		return -EINVAL;
	total = sizeof(m->hdr) + m->hdr.size;
	while (done < total) {
		/* header and payload are separate: struct vu_msg pads between them */
		size_t hd = MIN(done, sizeof(m->hdr)), pd = done - hd;
		struct iovec iov[2] = {
			/* sendmsg takes a non-const iovec but only reads through it */
			{ .iov_base = (void *)((uintptr_t)&m->hdr + hd), .iov_len = sizeof(m->hdr) - hd },
			{ .iov_base = (void *)((uintptr_t)&m->p + pd), .iov_len = m->hdr.size - pd },
		};
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
		ssize_t n;

		/* the fds ride with the first byte only; a short write resends none */
		if (nr_fds && done == 0) {
			struct cmsghdr *c;

			memset(&ctl, 0, sizeof(ctl));
			mh.msg_control = ctl.buf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * nr_fds);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * nr_fds);
			memcpy(CMSG_DATA(c), fds, sizeof(int) * nr_fds);
		}
		n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int r = wait_ready(sock, POLLOUT, deadline);

			if (r)
				return r;
			continue;
		}
		return n < 0 ? -errno : -EPIPE;
	}
	return 0;
}

static void close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
}

/*
 * Collect SCM_RIGHTS descriptors of one recvmsg into (fds) (capacity max,
 * count *nr). Descriptors beyond the capacity are closed at once. Return: 0,
 * or -EBADMSG when any were refused, the control data was truncated, or it
 * held something other than SCM_RIGHTS.
 */
static int take_fds(struct msghdr *mh, int *fds, unsigned max, unsigned *nr)
{
	int r = (mh->msg_flags & MSG_CTRUNC) ? -EBADMSG : 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;
		int got[VU_MAX_FDS * 4];

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0)) {
			r = -EBADMSG;
			continue;
		}
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (n > ARRAY_SIZE(got))
			n = ARRAY_SIZE(got); /* cannot happen: our control buffer is smaller */
		memcpy(got, CMSG_DATA(c), n * sizeof(int));
		for (size_t i = 0; i < n; i++) {
			if (*nr < max) {
				fds[(*nr)++] = got[i];
			} else {
				close(got[i]);
				r = -EBADMSG;
			}
		}
	}
	return r;
}

/* Read exactly (len) bytes into (buf) by (deadline), gathering fds. */
static int recv_full(int sock, void *buf, size_t len, int64_t deadline, int *fds, unsigned max,
		     unsigned *nr)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	size_t done = 0;
	int bad = 0;

	while (done < len) {
		struct iovec iov = { .iov_base = (char *)buf + done, .iov_len = len - done };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl.buf) };
		ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int r = wait_ready(sock, POLLIN, deadline);

			if (r)
				return r;
			continue;
		}
		if (n < 0)
			return -errno;
		if (mh.msg_controllen && take_fds(&mh, fds, max, nr))
			bad = -EBADMSG;
		if (n == 0)
			return -ECONNRESET;
		done += (size_t)n;
	}
	return bad;
}

int vu_msg_recv(int sock, struct vu_msg *m, int *fds, unsigned max_fds, unsigned *nr_fds,
		int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	unsigned nr = 0;
	int r;

	if (max_fds > VU_MAX_FDS)
		max_fds = VU_MAX_FDS;
	memset(m, 0, sizeof(*m));
	r = recv_full(sock, &m->hdr, sizeof(m->hdr), deadline, fds, max_fds, &nr);
	if (r)
		goto err_close_fds;
	/* validate the header before trusting its size for the payload read */
	if ((m->hdr.flags & VU_FLAG_VERSION_MASK) != VU_VERSION) {
		r = -EPROTO;
		goto err_close_fds;
	}
	if (m->hdr.size > VU_PAYLOAD_MAX) {
		r = -EMSGSIZE;
		goto err_close_fds;
	}
	r = recv_full(sock, &m->p, m->hdr.size, deadline, fds, max_fds, &nr);
	if (r)
		goto err_close_fds;
	if (nr_fds)
		*nr_fds = nr;
	else if (nr) {
		r = -EBADMSG; /* the caller takes no descriptors */
		goto err_close_fds;
	}
	return 0;

err_close_fds:
	close_fds(fds, nr);
	if (nr_fds)
		*nr_fds = 0;
	return r;
}

int vu_msg_check_reply(const struct vu_msg *m, uint32_t request, uint32_t size)
{
	if (m->hdr.flags != (VU_VERSION | VU_FLAG_REPLY))
		return -EPROTO;
	if (m->hdr.request != request)
		return -EBADMSG;
	if (m->hdr.size != size)
		return -EMSGSIZE;
	return 0;
}
