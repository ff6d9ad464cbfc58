/* SPDX-License-Identifier: MIT */
/*
 * th_vsock.h: the fixture test_virtio_vsock.c and test_vsock_host.c share:
 * the real virtio-vsock device on rings written by th_vq_driver in real guest
 * RAM, with real UNIX sockets in a temp directory as the host side. The test
 * thread plays the event-loop thread: it calls queue_notify, vsock_host_ready
 * (every socket ready) and vsock_expire (time passed) itself; the loop's ring
 * collects the device's poll SQEs, which th_reap() submits and completes, and
 * evl_fini() cancels at teardown. Helpers abort the test on failure.
 * SEQPACKET: setup_seq() acks VIRTIO_VSOCK_F_SEQPACKET alone, as Linux does;
 * gh_seq() and the *_seq() host helpers; (rx_type) is the type every packet
 * the guest gets must have (0: STREAM).
 */
#ifndef AGENTVMM_TESTS_UNIT_DEVICES_TH_VSOCK_H
#define AGENTVMM_TESTS_UNIT_DEVICES_TH_VSOCK_H

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/virtio/virtio_vsock.h"
#include "tests/helpers/th.h"
#include "tests/helpers/th_vq_driver.h"

#define RAM MiB(16)
#define CID 3
#define RXQ_SIZE 64
#define TXQ_SIZE 16
#define RXBUF (VSOCK_HDR_LEN + 4096)
#define GUEST_BUF (256 * 1024) /* the guest's own buf_alloc, unless a test says otherwise */
#define OP(x) VIRTIO_VSOCK_OP_##x

struct tv {
	struct guest_mem gm;
	struct th_vq rxd, txd, evd;
	struct virtq vqs[VSOCK_NR_QUEUES];
	struct evl evl;
	char dir[64], path[128];
	void *dev;
	bool rx_split;              /* receive buffers as header + payload descriptors (Linux 6.1) */
	uint16_t rx_type;           /* the type of the packets the guest gets; 0: STREAM */
	gpa_t rxbuf[RXQ_SIZE];
	unsigned rx_slot_of[RXQ_SIZE]; /* descriptor head -> rxbuf slot */
	unsigned rx_posted;
	gpa_t txbuf;
};

/* ---- fixture ------------------------------------------------------------------------- */

static inline void make_dev(struct tv *t, unsigned max_conns, unsigned max_pending)
{
	struct vsock_config cfg = { .guest_cid = CID, .path = t->path, .evl = &t->evl,
				    .max_conns = max_conns, .max_pending = max_pending };
	char err[256];
	int e = 0;

	t->dev = vsock_create(&cfg, &e, err, sizeof(err));
	if (!t->dev)
		fail_msg("vsock_create: %s", err);
}

static inline void activate_features(struct tv *t, uint64_t features)
{
	struct virtio_activation act = { .gm = &t->gm, .vqs = t->vqs, .nr_vqs = VSOCK_NR_QUEUES,
					 .evl = &t->evl, .features = features };

	assert_int_equal(vsock_ops.set_features(t->dev, act.features), 0);
	assert_int_equal(vsock_ops.activate(t->dev, &act), 0);
}

static inline void activate(struct tv *t)
{
	activate_features(t, 1ULL << VSOCK_F_STREAM);
}

static inline int setup_features(void **state, unsigned max_conns, unsigned max_pending,
				 uint64_t features)
{
	struct tv *t = calloc(1, sizeof(*t));

	th_gm_create(&t->gm, RAM);
	th_vq_init(&t->rxd, &t->gm, RXQ_SIZE);
	th_vq_init_at(&t->txd, &t->gm, TXQ_SIZE, MiB(8));
	th_vq_init_at(&t->evd, &t->gm, 8, MiB(4));
	th_vq_bind(&t->rxd, &t->vqs[VSOCK_RXQ], true, true);
	th_vq_bind(&t->txd, &t->vqs[VSOCK_TXQ], true, true);
	th_vq_bind(&t->evd, &t->vqs[VSOCK_EVQ], true, true);
	for (unsigned i = 0; i < RXQ_SIZE; i++)
		t->rxbuf[i] = th_vq_alloc(&t->rxd, RXBUF);
	t->txbuf = th_vq_alloc(&t->txd, VSOCK_HDR_LEN + VSOCK_MAX_PKT + 64);
	snprintf(t->dir, sizeof(t->dir), "/tmp/av-vsock-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/v.sock", t->dir);
	assert_int_equal(evl_init(&t->evl, 256), 0);
	make_dev(t, max_conns, max_pending);
	activate_features(t, features);
	*state = t;
	return 0;
}

static inline int setup_limits(void **state, unsigned max_conns, unsigned max_pending)
{
	return setup_features(state, max_conns, max_pending, 1ULL << VSOCK_F_STREAM);
}

static inline int setup(void **state)
{
	return setup_limits(state, 0, 0);
}

/* What a Linux driver acks: F_SEQPACKET alone (it does not know F_STREAM's bit). */
static inline int setup_seq(void **state)
{
	return setup_features(state, 0, 0, 1ULL << VSOCK_F_SEQPACKET);
}

static inline int setup_small(void **state)
{
	return setup_limits(state, 2, 1);
}

static inline int teardown(void **state)
{
	struct tv *t = *state;
	char cmd[128];

	assert_int_equal(vsock_ops.reset(t->dev), 0);
	evl_fini(&t->evl);
	vsock_ops.destroy(t->dev);
	/* nothing of the device is left behind */
	assert_int_equal(access(t->path, F_OK), -1);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
	assert_int_equal(system(cmd), 0);
	gm_destroy(&t->gm);
	free(t);
	return 0;
}

/* ---- the guest's side ------------------------------------------------------------------ */

static inline struct virtio_vsock_hdr gh(uint16_t op, uint32_t sport, uint32_t dport,
					 uint32_t len, uint32_t buf_alloc, uint32_t fwd_cnt)
{
	return (struct virtio_vsock_hdr){
		.src_cid = htole64(CID), .dst_cid = htole64(VSOCK_HOST_CID),
		.src_port = htole32(sport), .dst_port = htole32(dport), .len = htole32(len),
		.type = htole16(VIRTIO_VSOCK_TYPE_STREAM), .op = htole16(op),
		.buf_alloc = htole32(buf_alloc), .fwd_cnt = htole32(fwd_cnt),
	};
}

/* A SEQPACKET header with (flags) (VIRTIO_VSOCK_SEQ_EOM on a message's last RW). */
static inline struct virtio_vsock_hdr gh_seq(uint16_t op, uint32_t sport, uint32_t dport,
					     uint32_t len, uint32_t buf_alloc, uint32_t fwd_cnt,
					     uint32_t flags)
{
	struct virtio_vsock_hdr h = gh(op, sport, dport, len, buf_alloc, fwd_cnt);

	h.type = htole16(VIRTIO_VSOCK_TYPE_SEQPACKET);
	h.flags = htole32(flags);
	return h;
}

/* Post (n) receive buffers and kick the receive queue. */
static inline void post_rx(struct tv *t, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		unsigned slot = t->rx_posted++ % RXQ_SIZE;
		gpa_t g = t->rxbuf[slot];
		struct th_seg s[2] = { { g, VSOCK_HDR_LEN, true },
				       { g + VSOCK_HDR_LEN, RXBUF - VSOCK_HDR_LEN, true } };
		struct th_seg one = { g, RXBUF, true };
		uint16_t head = t->rx_split ? th_vq_add_chain(&t->rxd, s, 2) :
					      th_vq_add_chain(&t->rxd, &one, 1);

		t->rx_slot_of[head] = slot;
		th_vq_publish(&t->rxd, head);
	}
	vsock_ops.queue_notify(t->dev, VSOCK_RXQ);
}

/* The next packet the device gave the guest, header into (h), payload into (data) (may be NULL). */
static inline bool get_rx(struct tv *t, struct virtio_vsock_hdr *h, void *data,
			  uint32_t *dlen)
{
	uint32_t id, len;

	if (dlen)
		*dlen = 0;
	if (!th_vq_get_used(&t->rxd, &id, &len))
		return false;
	assert_true(len >= VSOCK_HDR_LEN);
	gpa_t g = t->rxbuf[t->rx_slot_of[id]];
	assert_int_equal(gm_read(&t->gm, g, h, sizeof(*h)), 0);
	assert_int_equal(le32toh(h->len), len - VSOCK_HDR_LEN);
	assert_int_equal(le64toh(h->src_cid), VSOCK_HOST_CID);
	assert_int_equal(le64toh(h->dst_cid), CID);
	assert_int_equal(le16toh(h->type), t->rx_type ? t->rx_type : VIRTIO_VSOCK_TYPE_STREAM);
	if (data)
		assert_int_equal(gm_read(&t->gm, g + VSOCK_HDR_LEN, data, len - VSOCK_HDR_LEN), 0);
	if (dlen)
		*dlen = len - VSOCK_HDR_LEN;
	return true;
}

/* Expect the next packet to be (op) from host port (hp) to guest port (gp). */
static inline struct virtio_vsock_hdr expect_rx(struct tv *t, uint16_t op, uint32_t hp,
						uint32_t gp)
{
	struct virtio_vsock_hdr h;

	assert_true(get_rx(t, &h, NULL, NULL));
	assert_int_equal(le16toh(h.op), op);
	if (hp)
		assert_int_equal(le32toh(h.src_port), hp);
	assert_int_equal(le32toh(h.dst_port), gp);
	return h;
}

static inline void expect_no_rx(struct tv *t)
{
	struct virtio_vsock_hdr h;

	assert_false(get_rx(t, &h, NULL, NULL));
}

/* Transmit (h) + (plen) bytes of (pay): the header split over two descriptors. */
static inline void tx_bytes(struct tv *t, const void *bytes, uint32_t n, const void *pay,
			    uint32_t plen)
{
	struct th_seg s[3];
	unsigned nr = 0;
	uint32_t cut = n > 20 ? 20 : n, id, len;

	assert_int_equal(gm_write(&t->gm, t->txbuf, bytes, n), 0);
	s[nr++] = (struct th_seg){ t->txbuf, cut, false };
	if (n > cut)
		s[nr++] = (struct th_seg){ t->txbuf + cut, n - cut, false };
	if (plen) {
		assert_int_equal(gm_write(&t->gm, t->txbuf + VSOCK_HDR_LEN + 16, pay, plen), 0);
		s[nr++] = (struct th_seg){ t->txbuf + VSOCK_HDR_LEN + 16, plen, false };
	}
	uint16_t head = th_vq_add_chain(&t->txd, s, nr);
	th_vq_publish(&t->txd, head);
	vsock_ops.queue_notify(t->dev, VSOCK_TXQ);
	/* every transmit chain is taken at once, whatever it carries */
	assert_true(th_vq_get_used(&t->txd, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
}

static inline void tx(struct tv *t, struct virtio_vsock_hdr h, const void *pay, uint32_t plen)
{
	tx_bytes(t, &h, sizeof(h), pay, plen);
}

static inline struct vsock_stats stats(struct tv *t)
{
	struct vsock_stats s;

	vsock_get_stats(t->dev, &s);
	return s;
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- the host's side -------------------------------------------------------------------- */

static inline void sun_set(struct sockaddr_un *sa, const char *p)
{
	assert_true(strlen(p) < sizeof(sa->sun_path));
	memcpy(sa->sun_path, p, strlen(p) + 1);
}

static inline int listen_type_at(const char *path, int type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	sun_set(&sa, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

static inline int listen_at(const char *path)
{
	return listen_type_at(path, SOCK_STREAM);
}

/* A host listener at PATH_(port). */
static inline int host_listen(struct tv *t, uint32_t port)
{
	char p[160];

	snprintf(p, sizeof(p), "%s_%u", t->path, port);
	return listen_at(p);
}

/* A SOCK_SEQPACKET host listener at PATH_(port). */
static inline int host_listen_seq(struct tv *t, uint32_t port)
{
	char p[160];

	snprintf(p, sizeof(p), "%s_%u", t->path, port);
	return listen_type_at(p, SOCK_SEQPACKET);
}

static inline int host_connect(struct tv *t)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sun_set(&sa, t->path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static inline void host_send(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* What the host peer can read now (without blocking): length, 0 at EOF, -1 nothing yet. */
static inline ssize_t host_recv(int fd, void *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);

	return n < 0 && errno == EAGAIN ? -1 : n;
}

/* Guest port (gp) connects to host port (hp), which listens on (lfd): the accepted host end. */
static inline int guest_connect(struct tv *t, int lfd, uint32_t gp, uint32_t hp,
				uint32_t buf_alloc)
{
	tx(t, gh(OP(REQUEST), gp, hp, 0, buf_alloc, 0), NULL, 0);
	struct virtio_vsock_hdr h = expect_rx(t, OP(RESPONSE), hp, gp);
	assert_int_equal(le32toh(h.buf_alloc), VSOCK_BUF_ALLOC);
	assert_int_equal(le32toh(h.fwd_cnt), 0);
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

/* The same over SEQPACKET (t->rx_type must say so): the accepted SOCK_SEQPACKET host end. */
static inline int guest_connect_seq(struct tv *t, int lfd, uint32_t gp, uint32_t hp,
				    uint32_t buf_alloc)
{
	tx(t, gh_seq(OP(REQUEST), gp, hp, 0, buf_alloc, 0, 0), NULL, 0);
	struct virtio_vsock_hdr h = expect_rx(t, OP(RESPONSE), hp, gp);
	assert_int_equal(le32toh(h.buf_alloc), VSOCK_BUF_ALLOC);
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

/*
 * Read what the host peer (fd) gets until EOF into (buf, cap), letting the
 * device write (vsock_host_ready) whenever nothing is there; fails the test
 * on a socket error, more than (cap) bytes, or a device that stops writing.
 * Return: bytes read.
 */
static inline size_t host_read_to_eof(struct tv *t, int fd, uint8_t *buf, size_t cap)
{
	size_t got = 0;

	for (unsigned idle = 0;;) {
		ssize_t n = recv(fd, buf + got, cap - got, MSG_DONTWAIT);

		if (n == 0)
			return got;
		if (n > 0) {
			got += (size_t)n;
			idle = 0;
			assert_true(got < cap);
			continue;
		}
		if (errno != EAGAIN)
			fail_msg("host peer: recv after %zu bytes: %s", got, strerror(errno));
		if (++idle > 1000)
			fail_msg("host peer: no EOF after %zu bytes", got);
		vsock_host_ready(t->dev);
	}
}

/*
 * The host connection is closed without a reply: EOF, or ECONNRESET when the
 * device closed its end with bytes of ours unread (Linux's AF_UNIX rule).
 */
static inline void assert_closed(int fd)
{
	char buf[16];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n != 0 && !(n < 0 && errno == ECONNRESET))
		fail_msg("host connection not closed: recv %zd (%s)", n, strerror(errno));
	close(fd);
}

/* Host connects and asks for guest port (port); the REQUEST the guest then gets. */
static inline struct virtio_vsock_hdr host_asks(struct tv *t, int *fd, const char *line,
						uint32_t port)
{
	*fd = host_connect(t);
	host_send(*fd, line);
	vsock_host_ready(t->dev);
	struct virtio_vsock_hdr h = expect_rx(t, OP(REQUEST), 0, port);
	assert_true(le32toh(h.src_port) >= VSOCK_HOST_PORT_BASE);
	assert_int_equal(le32toh(h.buf_alloc), VSOCK_BUF_ALLOC);
	return h;
}

/* One of the loop's own operations (a watch's poll, the stop poll): not counted in nr_ops. */
static inline bool loop_own_op(const struct evl *e, const struct evl_op *op)
{
	if (!op || op == &e->stop_op)
		return true;
	for (unsigned i = 0; i < e->nr_watch; i++)
		if (op == &e->watch[i].op)
			return true;
	return false;
}

/*
 * th_reap() - play one turn of the loop: submit the SQEs the device prepared
 * and run every completion there is, with the loop's bookkeeping (evloop.c's
 * evl_reap()). (forced) != 0 replaces the result of the device's own polls:
 * a poll the kernel failed. Return: completions run.
 */
static inline unsigned th_reap(struct tv *t, int forced)
{
	struct io_uring_cqe *cqe;
	unsigned n = 0;

	assert_true(io_uring_submit(&t->evl.ring) >= 0);
	/* a poll on a ready socket completes while it is submitted */
	while (io_uring_peek_cqe(&t->evl.ring, &cqe) == 0) {
		struct evl_op *op = io_uring_cqe_get_data(cqe);
		bool own = loop_own_op(&t->evl, op);
		int res = forced && !own ? forced : cqe->res;

		io_uring_cqe_seen(&t->evl.ring, cqe);
		t->evl.inflight--;
		if (!own)
			t->evl.nr_ops--;
		if (op && op->done)
			op->done(op->opaque, res);
		n++;
	}
	return n;
}

#endif
