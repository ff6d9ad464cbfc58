// SPDX-License-Identifier: MIT
/*
 * fuzz_vu_msg.c: vhost-user reply decoding, through the same entry points the
 * front end uses (vu_msg_recv() then vu_msg_check_reply()), fed from a real
 * socketpair as a hostile back end would write it.
 *
 * Input: byte 0 picks the request we "sent" (and so the reply size we
 * expect) and, rarely, how many eventfds ride along (SCM_RIGHTS); byte 1
 * picks the framing: mostly a correct header (reply flag, request, size) is
 * built around the rest of the input so the payload checks are reached;
 * rarely the rest is sent raw as header + payload, or the header is damaged
 * (flags, request, size) from byte 2. Every descriptor must be closed again
 * whatever the outcome (checked: the fd count never grows).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/vhost_user/vu_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define F_MAX_INPUT 4096

static const struct {
	uint32_t request, size;
} F_EXPECT[] = {
	{ VU_GET_FEATURES, 8 },   { VU_GET_PROTOCOL_FEATURES, 8 }, { VU_GET_QUEUE_NUM, 8 },
	{ VU_GET_VRING_BASE, 8 }, { VU_SET_MEM_TABLE, 8 },         { VU_SET_OWNER, 8 },
	{ VU_SET_VRING_ADDR, 8 }, { VU_SET_FEATURES, 8 },
};

static int sp[2] = { -1, -1 };

static void drain(int fd)
{
	uint8_t junk[4096];
	union {
		char buf[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} ctl;

	for (;;) {
		struct iovec iov = { .iov_base = junk, .iov_len = sizeof(junk) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl.buf) };
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

		if (n <= 0)
			return;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				int fds[16];
				size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

				memcpy(fds, CMSG_DATA(c), k * sizeof(int));
				for (size_t i = 0; i < k; i++)
					close(fds[i]);
			}
		}
	}
}

/* Write (buf, len) on the back-end side with (nfds) fresh eventfds attached. */
static void put(const uint8_t *buf, size_t len, unsigned nfds)
{
	int fds[VU_MAX_FDS + 2];
	union {
		char b[CMSG_SPACE(sizeof(fds))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (len == 0)
		return;
	if (nfds) {
		struct cmsghdr *c;

		for (unsigned i = 0; i < nfds; i++)
			fds[i] = eventfd(0, EFD_CLOEXEC);
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	if (sendmsg(sp[1], &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		abort(); /* the input is capped far below the socket buffer */
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]); /* our copies; the receiver owns the rest */
}

/* A leaked descriptor would take the lowest free number: the probe's must never rise. */
static void fd_leak_check(void)
{
	static int baseline = -1;
	int probe = eventfd(0, EFD_CLOEXEC);

	if (probe < 0)
		abort();
	close(probe);
	if (baseline < 0)
		baseline = probe;
	else if (probe > baseline)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[sizeof(struct vu_hdr) + F_MAX_INPUT];
	struct vu_hdr h;
	struct vu_msg m;
	int fds[VU_MAX_FDS];
	unsigned nr = 0, nfds = 0;
	size_t len;
	int r;

	if (sp[0] < 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		abort();
	if (size < 3)
		return 0;
	if (size > F_MAX_INPUT)
		size = F_MAX_INPUT;
	uint8_t sel = data[0], frame = data[1], dmg = data[2];
	const uint8_t *pay = data + 3;
	size_t plen = size - 3;
	uint32_t want = F_EXPECT[sel % 8].request, want_size = F_EXPECT[sel % 8].size;

	if ((sel >> 3) == 0x1f)
		nfds = 1 + dmg % (VU_MAX_FDS + 1); /* rarely: descriptors attached */
	if (frame < 0xe0) {
		/* mostly valid framing around a fuzzed payload */
		h = (struct vu_hdr){ .request = want, .flags = VU_VERSION | VU_FLAG_REPLY,
				     .size = frame < 0xc0 ? want_size : (uint32_t)plen };
		if (frame >= 0xd0) {
			/* rarely: one damaged header field */
			if (dmg & 1)
				h.flags ^= 1u << (dmg >> 3 & 7);
			if (dmg & 2)
				h.request ^= dmg;
			if (dmg & 4)
				h.size += (uint32_t)dmg << (dmg & 0x18);
		}
		memcpy(buf, &h, sizeof(h));
		memcpy(buf + sizeof(h), pay, plen);
		len = sizeof(h) + plen;
	} else {
		memcpy(buf, pay, plen); /* raw stream */
		len = plen;
	}
	put(buf, len, nfds);

	/* the front end's path: receive (no fds wanted), then check */
	r = vu_msg_recv(sp[0], &m, NULL, 0, NULL, 0);
	if (r == 0 && vu_msg_check_reply(&m, want, want_size) == 0) {
		/* what the front end does with an accepted reply */
		volatile uint64_t v = m.p.u64;
		(void)v;
		if (m.hdr.size > want_size)
			abort(); /* check_reply must have refused it */
	}
	/* the generic path, as a receiver that takes descriptors */
	if (r == 0 || frame & 1) {
		r = vu_msg_recv(sp[0], &m, fds, VU_MAX_FDS, &nr, 0);
		if (r == 0)
			for (unsigned i = 0; i < nr; i++)
				close(fds[i]);
		else if (nr)
			abort(); /* on error every descriptor is closed and the count zeroed */
	}
	drain(sp[0]);
	fd_leak_check();
	return 0;
}
