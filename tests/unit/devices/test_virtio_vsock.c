// SPDX-License-Identifier: MIT
/*
 * test_virtio_vsock.c: the real virtio-vsock device on rings written by
 * th_vq_driver in real guest RAM, with real UNIX sockets in a temp directory
 * as the host side. The test thread plays the event-loop thread: it calls
 * queue_notify, vsock_host_ready (every socket ready) and vsock_expire (time
 * passed) itself; the loop's ring only collects the device's poll SQEs, which
 * evl_fini() cancels at teardown.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
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
	gpa_t rxbuf[RXQ_SIZE];
	unsigned rx_slot_of[RXQ_SIZE]; /* descriptor head -> rxbuf slot */
	unsigned rx_posted;
	gpa_t txbuf;
};

/* ---- fixture ------------------------------------------------------------------------- */

static void make_dev(struct tv *t, unsigned max_conns, unsigned max_pending)
{
	struct vsock_config cfg = { .guest_cid = CID, .path = t->path, .evl = &t->evl,
				    .max_conns = max_conns, .max_pending = max_pending };
	char err[256];
	int e = 0;

	t->dev = vsock_create(&cfg, &e, err, sizeof(err));
	if (!t->dev)
		fail_msg("vsock_create: %s", err);
}

static void activate(struct tv *t)
{
	struct virtio_activation act = { .gm = &t->gm, .vqs = t->vqs, .nr_vqs = VSOCK_NR_QUEUES,
					 .evl = &t->evl,
					 .features = 1ULL << VSOCK_F_STREAM };

	assert_int_equal(vsock_ops.set_features(t->dev, act.features), 0);
	assert_int_equal(vsock_ops.activate(t->dev, &act), 0);
}

static int setup_limits(void **state, unsigned max_conns, unsigned max_pending)
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
	activate(t);
	*state = t;
	return 0;
}

static int setup(void **state)
{
	return setup_limits(state, 0, 0);
}

static int setup_small(void **state)
{
	return setup_limits(state, 2, 1);
}

static int teardown(void **state)
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

static struct virtio_vsock_hdr gh(uint16_t op, uint32_t sport, uint32_t dport, uint32_t len,
				  uint32_t buf_alloc, uint32_t fwd_cnt)
{
	return (struct virtio_vsock_hdr){
		.src_cid = htole64(CID), .dst_cid = htole64(VSOCK_HOST_CID),
		.src_port = htole32(sport), .dst_port = htole32(dport), .len = htole32(len),
		.type = htole16(VIRTIO_VSOCK_TYPE_STREAM), .op = htole16(op),
		.buf_alloc = htole32(buf_alloc), .fwd_cnt = htole32(fwd_cnt),
	};
}

/* Post (n) receive buffers and kick the receive queue. */
static void post_rx(struct tv *t, unsigned n)
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
static bool get_rx(struct tv *t, struct virtio_vsock_hdr *h, void *data, uint32_t *dlen)
{
	uint32_t id, len;

	if (!th_vq_get_used(&t->rxd, &id, &len))
		return false;
	assert_true(len >= VSOCK_HDR_LEN);
	gpa_t g = t->rxbuf[t->rx_slot_of[id]];
	assert_int_equal(gm_read(&t->gm, g, h, sizeof(*h)), 0);
	assert_int_equal(le32toh(h->len), len - VSOCK_HDR_LEN);
	assert_int_equal(le64toh(h->src_cid), VSOCK_HOST_CID);
	assert_int_equal(le64toh(h->dst_cid), CID);
	assert_int_equal(le16toh(h->type), VIRTIO_VSOCK_TYPE_STREAM);
	if (data)
		assert_int_equal(gm_read(&t->gm, g + VSOCK_HDR_LEN, data, len - VSOCK_HDR_LEN), 0);
	if (dlen)
		*dlen = len - VSOCK_HDR_LEN;
	return true;
}

/* Expect the next packet to be (op) from host port (hp) to guest port (gp). */
static struct virtio_vsock_hdr expect_rx(struct tv *t, uint16_t op, uint32_t hp, uint32_t gp)
{
	struct virtio_vsock_hdr h;

	assert_true(get_rx(t, &h, NULL, NULL));
	assert_int_equal(le16toh(h.op), op);
	if (hp)
		assert_int_equal(le32toh(h.src_port), hp);
	assert_int_equal(le32toh(h.dst_port), gp);
	return h;
}

static void expect_no_rx(struct tv *t)
{
	struct virtio_vsock_hdr h;

	assert_false(get_rx(t, &h, NULL, NULL));
}

/* Transmit (h) + (plen) bytes of (pay): the header split over two descriptors. */
static void tx_bytes(struct tv *t, const void *bytes, uint32_t n, const void *pay, uint32_t plen)
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

static void tx(struct tv *t, struct virtio_vsock_hdr h, const void *pay, uint32_t plen)
{
	tx_bytes(t, &h, sizeof(h), pay, plen);
}

static struct vsock_stats stats(struct tv *t)
{
	struct vsock_stats s;

	vsock_get_stats(t->dev, &s);
	return s;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- the host's side -------------------------------------------------------------------- */

static void sun_set(struct sockaddr_un *sa, const char *p)
{
	assert_true(strlen(p) < sizeof(sa->sun_path));
	memcpy(sa->sun_path, p, strlen(p) + 1);
}

static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	sun_set(&sa, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

/* A host listener at PATH_(port). */
static int host_listen(struct tv *t, uint32_t port)
{
	char p[160];

	snprintf(p, sizeof(p), "%s_%u", t->path, port);
	return listen_at(p);
}

static int host_connect(struct tv *t)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sun_set(&sa, t->path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void host_send(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* What the host peer can read now (without blocking): length, 0 at EOF, -1 nothing yet. */
static ssize_t host_recv(int fd, void *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);

	return n < 0 && errno == EAGAIN ? -1 : n;
}

/* Guest port (gp) connects to host port (hp), which listens on (lfd): the accepted host end. */
static int guest_connect(struct tv *t, int lfd, uint32_t gp, uint32_t hp, uint32_t buf_alloc)
{
	tx(t, gh(OP(REQUEST), gp, hp, 0, buf_alloc, 0), NULL, 0);
	struct virtio_vsock_hdr h = expect_rx(t, OP(RESPONSE), hp, gp);
	assert_int_equal(le32toh(h.buf_alloc), VSOCK_BUF_ALLOC);
	assert_int_equal(le32toh(h.fwd_cnt), 0);
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

/* ---- pure parsers ------------------------------------------------------------------------ */

static void test_vsock_hdr_check_each_field(void **state)
{
	struct virtio_vsock_hdr h = gh(OP(RW), 5000, 80, 10, 0, 0);

	assert_int_equal(vsock_tx_hdr_check(&h, CID, 10), 0);
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 9), -EMSGSIZE);          /* beyond the chain */
	assert_int_equal(vsock_tx_hdr_check(&h, CID + 1, 10), -EINVAL);       /* spoofed source */
	h.len = htole32(VSOCK_MAX_PKT + 1);
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 1 << 20), -EMSGSIZE);
	h = gh(OP(RW), 5000, 80, 0, 0, 0);
	h.dst_cid = htole64(4);                                               /* guest to guest */
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 0), -EINVAL);
	h = gh(OP(RW), 5000, 80, 0, 0, 0);
	h.type = htole16(VIRTIO_VSOCK_TYPE_SEQPACKET);
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 0), -EPROTOTYPE);
	h = gh(0, 5000, 80, 0, 0, 0);
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 0), -EOPNOTSUPP);       /* INVALID */
	h = gh(8, 5000, 80, 0, 0, 0);
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 0), -EOPNOTSUPP);
	h = gh(OP(REQUEST), 5000, 80, 4, 0, 0);                               /* payload on a control op */
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 4), -EMSGSIZE);
	h = gh(OP(SHUTDOWN), 5000, 80, 0, 0, 0);
	h.flags = htole32(3);
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 0), 0);
	h.flags = htole32(4);
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 0), -EINVAL);
	h = gh(OP(RW), 5000, 80, 0, 0, 0);
	h.flags = htole32(VIRTIO_VSOCK_SEQ_EOM);                              /* a seqpacket flag */
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 0), -EINVAL);
	h = gh(OP(REQUEST), VSOCK_PORT_ANY, 80, 0, 0, 0);
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 0), -EINVAL);
}

static void test_vsock_connect_scan_cases(void **state)
{
	char long_line[80];
	uint32_t port = 0;
	size_t used = 0;

	assert_int_equal(vsock_connect_scan("CONNECT 1234\n", 13, &port, &used), 1);
	assert_int_equal(port, 1234);
	assert_int_equal(used, 13);
	/* stream bytes behind the line are not part of it */
	assert_int_equal(vsock_connect_scan("CONNECT 5\nDATA", 14, &port, &used), 1);
	assert_int_equal(port, 5);
	assert_int_equal(used, 10);
	assert_int_equal(vsock_connect_scan("CONNECT 4294967294\n", 19, &port, &used), 1);
	assert_int_equal(port, 4294967294U);
	/* not complete yet */
	assert_int_equal(vsock_connect_scan("CONNECT 12", 10, &port, &used), 0);
	assert_int_equal(vsock_connect_scan("", 0, &port, &used), 0);
	/* malformed */
	assert_int_equal(vsock_connect_scan("CONNECT abc\n", 12, &port, &used), -EINVAL);
	assert_int_equal(vsock_connect_scan("CONNECT \n", 9, &port, &used), -EINVAL);
	assert_int_equal(vsock_connect_scan("CONNECT  1\n", 11, &port, &used), -EINVAL);
	assert_int_equal(vsock_connect_scan("connect 1\n", 10, &port, &used), -EINVAL);
	assert_int_equal(vsock_connect_scan("CONNECT 1\r\n", 11, &port, &used), -EINVAL);
	assert_int_equal(vsock_connect_scan("CONNECT -1\n", 11, &port, &used), -EINVAL);
	assert_int_equal(vsock_connect_scan("\n", 1, &port, &used), -EINVAL);
	/* port out of range: VMADDR_PORT_ANY, beyond 32 bits, too many digits */
	assert_int_equal(vsock_connect_scan("CONNECT 4294967295\n", 19, &port, &used), -EINVAL);
	assert_int_equal(vsock_connect_scan("CONNECT 9999999999\n", 19, &port, &used), -EINVAL);
	assert_int_equal(vsock_connect_scan("CONNECT 00000000001\n", 20, &port, &used), -EINVAL);
	/* over-long: no newline within 64 bytes, or a newline past them */
	memset(long_line, 'A', sizeof(long_line));
	assert_int_equal(vsock_connect_scan(long_line, 64, &port, &used), -EMSGSIZE);
	assert_int_equal(vsock_connect_scan(long_line, 63, &port, &used), 0);
	long_line[70] = '\n';
	assert_int_equal(vsock_connect_scan(long_line, 71, &port, &used), -EMSGSIZE);
}

static void test_vsock_config_reads_guest_cid(void **state)
{
	struct tv *t = *state;
	uint64_t cid = 0;
	uint8_t b[2];

	vsock_ops.config_read(t->dev, 0, &cid, sizeof(cid));
	assert_int_equal(le64toh(cid), CID);
	vsock_ops.config_read(t->dev, 7, b, 2); /* past the end */
	assert_int_equal(b[0], 0xff);
	assert_int_equal(vsock_ops.features(t->dev), 1ULL << VSOCK_F_STREAM);
}

/* ---- guest -> host ----------------------------------------------------------------------- */

static void test_vsock_guest_connect_data_both_ways(void **state)
{
	struct tv *t = *state;
	int lfd = host_listen(t, 1234), fd;
	char buf[64];
	uint32_t n;
	struct virtio_vsock_hdr h;

	post_rx(t, 8);
	fd = guest_connect(t, lfd, 5000, 1234, GUEST_BUF);
	/* guest -> host */
	tx(t, gh(OP(RW), 5000, 1234, 5, GUEST_BUF, 0), "hello", 5);
	assert_int_equal(host_recv(fd, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	/* host -> guest */
	host_send(fd, "world!");
	vsock_host_ready(t->dev);
	assert_true(get_rx(t, &h, buf, &n));
	assert_int_equal(le16toh(h.op), OP(RW));
	assert_int_equal(n, 6);
	assert_memory_equal(buf, "world!", 6);
	/* the header tells the guest what reached the host */
	assert_int_equal(le32toh(h.fwd_cnt), 5);
	assert_int_equal(stats(t).bytes_to_host, 5);
	assert_int_equal(stats(t).bytes_to_guest, 6);
	assert_int_equal(stats(t).opened, 1);
	expect_no_rx(t);
	close(fd);
	close(lfd);
}

static void test_vsock_split_rx_buffers_work(void **state)
{
	struct tv *t = *state;
	int lfd = host_listen(t, 7), fd;
	char buf[4096];
	uint32_t n;
	struct virtio_vsock_hdr h;

	t->rx_split = true;
	post_rx(t, 4);
	fd = guest_connect(t, lfd, 6000, 7, GUEST_BUF);
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(send(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	vsock_host_ready(t->dev);
	assert_true(get_rx(t, &h, buf, &n));
	assert_int_equal(n, 4096); /* one full payload descriptor */
	close(fd);
	close(lfd);
}

static void test_vsock_guest_credit_never_exceeded(void **state)
{
	struct tv *t = *state;
	int lfd = host_listen(t, 99), fd;
	char buf[300];
	uint32_t n, got = 0;
	struct virtio_vsock_hdr h;

	post_rx(t, 16);
	fd = guest_connect(t, lfd, 5001, 99, 100); /* the guest takes 100 bytes at a time */
	memset(buf, 'z', sizeof(buf));
	assert_int_equal(send(fd, buf, 250, 0), 250);
	vsock_host_ready(t->dev);
	assert_true(get_rx(t, &h, buf, &n));
	assert_int_equal(le16toh(h.op), OP(RW));
	assert_int_equal(n, 100);
	got += n;
	/* credit spent: the device asks once and waits */
	expect_rx(t, OP(CREDIT_REQUEST), 99, 5001);
	vsock_host_ready(t->dev);
	expect_no_rx(t);
	/* the guest read them: a CREDIT_UPDATE lets the next 100 go */
	tx(t, gh(OP(CREDIT_UPDATE), 5001, 99, 0, 100, 100), NULL, 0);
	assert_true(get_rx(t, &h, buf, &n));
	assert_int_equal(n, 100);
	got += n;
	expect_rx(t, OP(CREDIT_REQUEST), 99, 5001);
	/* a larger buf_alloc gives the rest */
	tx(t, gh(OP(CREDIT_UPDATE), 5001, 99, 0, 4096, 200), NULL, 0);
	assert_true(get_rx(t, &h, buf, &n));
	assert_int_equal(n, 50);
	got += n;
	assert_int_equal(got, 250);
	/* a fwd_cnt beyond what was sent gives no credit, not 4 GiB */
	tx(t, gh(OP(CREDIT_UPDATE), 5001, 99, 0, 100, 100000), NULL, 0);
	assert_int_equal(send(fd, buf, 10, 0), 10);
	vsock_host_ready(t->dev);
	expect_rx(t, OP(CREDIT_REQUEST), 99, 5001);
	expect_no_rx(t);
	close(fd);
	close(lfd);
}

static void test_vsock_host_not_reading_buffers_bounded_then_lie_resets(void **state)
{
	struct tv *t = *state;
	int lfd = host_listen(t, 42), fd;
	static uint8_t pay[VSOCK_MAX_PKT];
	struct virtio_vsock_hdr h;
	uint32_t room;

	post_rx(t, 32);
	fd = guest_connect(t, lfd, 5002, 42, GUEST_BUF);
	memset(pay, 7, sizeof(pay));
	/* the host never reads: the socket fills, then the ring, up to the credit given */
	for (int i = 0; stats(t).buffered + sizeof(pay) <= VSOCK_BUF_ALLOC; i++) {
		assert_true(i < 64);
		tx(t, gh(OP(RW), 5002, 42, sizeof(pay), GUEST_BUF, 0), pay, sizeof(pay));
	}
	room = (uint32_t)(VSOCK_BUF_ALLOC - stats(t).buffered);
	assert_true(room < sizeof(pay));
	if (room)
		tx(t, gh(OP(RW), 5002, 42, room, GUEST_BUF, 0), pay, room);
	/* never more held than the credit: memory is bounded whatever the guest sends */
	assert_int_equal(stats(t).buffered, VSOCK_BUF_ALLOC);
	assert_int_equal(stats(t).credit_lies, 0);
	while (get_rx(t, &h, NULL, NULL))
		assert_int_equal(le16toh(h.op), OP(CREDIT_UPDATE));
	/* one byte beyond the credit: the connection is reset, its buffer freed */
	tx(t, gh(OP(RW), 5002, 42, 1, GUEST_BUF, 0), pay, 1);
	assert_int_equal(stats(t).credit_lies, 1);
	expect_rx(t, OP(RST), 42, 5002);
	assert_int_equal(stats(t).buffered, 0);
	assert_int_equal(stats(t).live, 0);
	close(fd);
	close(lfd);
}

static void test_vsock_host_drains_ring_then_credit_update(void **state)
{
	struct tv *t = *state;
	int lfd = host_listen(t, 43), fd;
	static uint8_t pay[VSOCK_MAX_PKT], back[MiB(2)];
	uint64_t sent = 0, got = 0;
	struct virtio_vsock_hdr h;
	uint32_t last = 0;
	ssize_t n;

	post_rx(t, 32);
	fd = guest_connect(t, lfd, 5003, 43, GUEST_BUF);
	for (unsigned i = 0; i < sizeof(pay); i++)
		pay[i] = (uint8_t)(i * 7 + i / 251);
	while (stats(t).buffered + sizeof(pay) <= VSOCK_BUF_ALLOC) {
		assert_true(sent < MiB(1));
		tx(t, gh(OP(RW), 5003, 43, sizeof(pay), GUEST_BUF, 0), pay, sizeof(pay));
		sent += sizeof(pay);
	}
	assert_true(stats(t).buffered > 0); /* the socket alone did not hold it */
	while (get_rx(t, &h, NULL, NULL))
		last = le32toh(h.fwd_cnt);
	/* the host reads everything; the device writes the rest as the socket drains */
	while (got < sent) {
		n = host_recv(fd, back + got, sizeof(back) - got);
		assert_true(n != 0);
		if (n < 0)
			vsock_host_ready(t->dev);
		else
			got += (uint64_t)n;
	}
	assert_int_equal(got, sent);
	for (uint64_t i = 0; i < got; i++)
		if (back[i] != pay[i % sizeof(pay)])
			fail_msg("byte %llu differs", (unsigned long long)i);
	assert_int_equal(stats(t).buffered, 0);
	/* the guest heard enough of it to send a full packet again (Linux's rule) */
	while (get_rx(t, &h, NULL, NULL)) {
		assert_int_equal(le16toh(h.op), OP(CREDIT_UPDATE));
		last = le32toh(h.fwd_cnt);
	}
	assert_true((uint32_t)sent - last <= VSOCK_BUF_ALLOC - VSOCK_MAX_PKT);
	close(fd);
	close(lfd);
}

static void test_vsock_guest_connect_nobody_listening_gets_rst(void **state)
{
	struct tv *t = *state;

	post_rx(t, 4);
	tx(t, gh(OP(REQUEST), 5004, 9999, 0, GUEST_BUF, 0), NULL, 0);
	expect_rx(t, OP(RST), 9999, 5004);
	assert_int_equal(stats(t).refused, 1);
	assert_int_equal(stats(t).live, 0);
	/* a regular file at PATH_P is no listener either */
	char p[160];
	snprintf(p, sizeof(p), "%s_10", t->path);
	close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	tx(t, gh(OP(REQUEST), 5004, 10, 0, GUEST_BUF, 0), NULL, 0);
	expect_rx(t, OP(RST), 10, 5004);
}

static void test_vsock_bad_packets_get_rst_and_no_crash(void **state)
{
	struct tv *t = *state;
	struct virtio_vsock_hdr h;
	uint8_t junk[VSOCK_HDR_LEN] = { 1, 2, 3 };

	post_rx(t, 16);
	h = gh(OP(RW), 5005, 80, 100, GUEST_BUF, 0);
	tx(t, h, "short", 5); /* len beyond the chain */
	expect_rx(t, OP(RST), 80, 5005);
	h = gh(9, 5005, 80, 0, GUEST_BUF, 0); /* unknown op */
	tx(t, h, NULL, 0);
	expect_rx(t, OP(RST), 80, 5005);
	h = gh(OP(REQUEST), 5005, 80, 0, GUEST_BUF, 0);
	h.src_cid = htole64(CID + 7); /* not the guest's cid */
	tx(t, h, NULL, 0);
	expect_rx(t, OP(RST), 80, 5005);
	h = gh(OP(REQUEST), 5005, 80, 0, GUEST_BUF, 0);
	h.dst_cid = htole64(CID); /* to itself, not the host */
	tx(t, h, NULL, 0);
	expect_rx(t, OP(RST), 80, 5005);
	h = gh(OP(REQUEST), 5005, 80, 0, GUEST_BUF, 0);
	h.type = htole16(VIRTIO_VSOCK_TYPE_SEQPACKET);
	tx(t, h, NULL, 0);
	expect_rx(t, OP(RST), 80, 5005);
	/* packets for connections that do not exist */
	tx(t, gh(OP(RW), 5005, 80, 3, GUEST_BUF, 0), "abc", 3);
	expect_rx(t, OP(RST), 80, 5005);
	tx(t, gh(OP(RESPONSE), 5005, 80, 0, GUEST_BUF, 0), NULL, 0);
	expect_rx(t, OP(RST), 80, 5005);
	tx(t, gh(OP(SHUTDOWN), 5005, 80, 0, GUEST_BUF, 0), NULL, 0);
	expect_rx(t, OP(RST), 80, 5005);
	tx(t, gh(OP(CREDIT_UPDATE), 5005, 80, 0, GUEST_BUF, 0), NULL, 0);
	expect_rx(t, OP(RST), 80, 5005);
	/* an RST is never answered with an RST */
	tx(t, gh(OP(RST), 5005, 80, 0, GUEST_BUF, 0), NULL, 0);
	h = gh(OP(RST), 5005, 80, 0, GUEST_BUF, 0);
	h.type = htole16(7);
	tx(t, h, NULL, 0);
	expect_no_rx(t);
	/* chains too short for a header are taken and dropped */
	tx_bytes(t, junk, 10, NULL, 0);
	tx_bytes(t, junk, VSOCK_HDR_LEN - 1, NULL, 0);
	expect_no_rx(t);
	assert_int_equal(stats(t).bad_pkts, 8);
	assert_int_equal(stats(t).live, 0);
}

static void test_vsock_bad_packet_on_live_connection_resets_it(void **state)
{
	struct tv *t = *state;
	int lfd = host_listen(t, 77), fd;
	char buf[8];

	post_rx(t, 8);
	fd = guest_connect(t, lfd, 5006, 77, GUEST_BUF);
	struct virtio_vsock_hdr h = gh(OP(RW), 5006, 77, 0, GUEST_BUF, 0);
	h.flags = htole32(1);
	tx(t, h, NULL, 0);
	expect_rx(t, OP(RST), 77, 5006);
	expect_no_rx(t);
	assert_int_equal(host_recv(fd, buf, sizeof(buf)), 0); /* the host peer sees EOF */
	/* and a second REQUEST on a live tuple is refused the same way */
	close(fd);
	fd = guest_connect(t, lfd, 5007, 77, GUEST_BUF);
	tx(t, gh(OP(REQUEST), 5007, 77, 0, GUEST_BUF, 0), NULL, 0);
	expect_rx(t, OP(RST), 77, 5007);
	assert_int_equal(host_recv(fd, buf, sizeof(buf)), 0);
	close(fd);
	close(lfd);
}

static void test_vsock_shutdown_half_close_both_ways(void **state)
{
	struct tv *t = *state;
	int lfd = host_listen(t, 88), fd;
	char buf[16];
	uint32_t n;
	struct virtio_vsock_hdr h;

	post_rx(t, 16);
	fd = guest_connect(t, lfd, 5008, 88, GUEST_BUF);
	tx(t, gh(OP(RW), 5008, 88, 3, GUEST_BUF, 0), "end", 3);
	/* guest SHUT_WR: the host peer reads what was sent, then EOF */
	{
		struct virtio_vsock_hdr s = gh(OP(SHUTDOWN), 5008, 88, 0, GUEST_BUF, 0);

		s.flags = htole32(VIRTIO_VSOCK_SHUTDOWN_SEND);
		tx(t, s, NULL, 0);
	}
	assert_int_equal(host_recv(fd, buf, sizeof(buf)), 3);
	assert_int_equal(host_recv(fd, buf, sizeof(buf)), 0);
	/* the other way still works */
	host_send(fd, "more");
	vsock_host_ready(t->dev);
	assert_true(get_rx(t, &h, buf, &n));
	assert_int_equal(le16toh(h.op), OP(RW));
	assert_int_equal(n, 4);
	/* host closes: the guest hears SHUTDOWN SEND (it reads EOF after its data) */
	close(fd);
	vsock_host_ready(t->dev);
	h = expect_rx(t, OP(SHUTDOWN), 88, 5008);
	assert_int_equal(le32toh(h.flags), VIRTIO_VSOCK_SHUTDOWN_SEND);
	/* guest closes: RST from the device ends it */
	struct virtio_vsock_hdr s = gh(OP(SHUTDOWN), 5008, 88, 0, GUEST_BUF, 4);
	s.flags = htole32(VIRTIO_VSOCK_SHUTDOWN_SEND | VIRTIO_VSOCK_SHUTDOWN_RCV);
	tx(t, s, NULL, 0);
	expect_rx(t, OP(RST), 88, 5008);
	assert_int_equal(stats(t).live, 0);
	close(lfd);
}

static void test_vsock_guest_rst_closes_host_socket(void **state)
{
	struct tv *t = *state;
	int lfd = host_listen(t, 66), fd;
	char buf[4];

	post_rx(t, 4);
	fd = guest_connect(t, lfd, 5009, 66, GUEST_BUF);
	tx(t, gh(OP(RST), 5009, 66, 0, GUEST_BUF, 0), NULL, 0);
	expect_no_rx(t);
	assert_int_equal(host_recv(fd, buf, sizeof(buf)), 0);
	assert_int_equal(stats(t).live, 0);
	close(fd);
	close(lfd);
}

/* ---- host -> guest ----------------------------------------------------------------------- */

/* Host connects and asks for guest port (port); the REQUEST the guest then gets. */
static struct virtio_vsock_hdr host_asks(struct tv *t, int *fd, const char *line, uint32_t port)
{
	*fd = host_connect(t);
	host_send(*fd, line);
	vsock_host_ready(t->dev);
	struct virtio_vsock_hdr h = expect_rx(t, OP(REQUEST), 0, port);
	assert_true(le32toh(h.src_port) >= VSOCK_HOST_PORT_BASE);
	assert_int_equal(le32toh(h.buf_alloc), VSOCK_BUF_ALLOC);
	return h;
}

static void test_vsock_host_connect_ok_then_stream(void **state)
{
	struct tv *t = *state;
	char buf[64], want[32];
	uint32_t n;
	int fd;

	post_rx(t, 8);
	/* stream bytes sent right behind the line reach the guest after the handshake */
	struct virtio_vsock_hdr r = host_asks(t, &fd, "CONNECT 5000\nearly", 5000);
	uint32_t hp = le32toh(r.src_port);
	assert_int_equal(host_recv(fd, buf, sizeof(buf)), -1); /* no OK before the guest answers */
	tx(t, gh(OP(RESPONSE), 5000, hp, 0, GUEST_BUF, 0), NULL, 0);
	snprintf(want, sizeof(want), "OK %u\n", hp);
	assert_int_equal(host_recv(fd, buf, sizeof(buf)), (ssize_t)strlen(want));
	assert_memory_equal(buf, want, strlen(want));
	vsock_host_ready(t->dev);
	struct virtio_vsock_hdr h;
	assert_true(get_rx(t, &h, buf, &n));
	assert_int_equal(le16toh(h.op), OP(RW));
	assert_int_equal(n, 5);
	assert_memory_equal(buf, "early", 5);
	tx(t, gh(OP(RW), 5000, hp, 2, GUEST_BUF, 0), "hi", 2);
	assert_int_equal(host_recv(fd, buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "hi", 2);
	assert_int_equal(stats(t).opened, 1);
	assert_int_equal(stats(t).pending, 0);
	close(fd);
}

static void test_vsock_host_connect_guest_rst_closes_without_ok(void **state)
{
	struct tv *t = *state;
	char buf[16];
	int fd;

	post_rx(t, 4);
	struct virtio_vsock_hdr r = host_asks(t, &fd, "CONNECT 5001\n", 5001);
	/* nobody listens on 5001 in the guest */
	tx(t, gh(OP(RST), 5001, le32toh(r.src_port), 0, GUEST_BUF, 0), NULL, 0);
	assert_int_equal(host_recv(fd, buf, sizeof(buf)), 0);
	assert_int_equal(stats(t).live, 0);
	close(fd);
}

/*
 * The host connection is closed without a reply: EOF, or ECONNRESET when the
 * device closed its end with bytes of ours unread (Linux's AF_UNIX rule).
 */
static void assert_closed(int fd)
{
	char buf[16];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n != 0 && !(n < 0 && errno == ECONNRESET))
		fail_msg("host connection not closed: recv %zd (%s)", n, strerror(errno));
	close(fd);
}

static void test_vsock_connect_line_errors_close(void **state)
{
	struct tv *t = *state;
	static const char *const bad[] = {
		"CONNECT abc\n", "CONNECT 4294967295\n", "CONNECT 99999999999\n", "HELLO\n",
		"CONNECT 0000000000000000000000000000000000000000000000000000000000001\n",
	};
	int fd;

	post_rx(t, 4);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fd = host_connect(t);
		host_send(fd, bad[i]);
		vsock_host_ready(t->dev);
		assert_closed(fd);
	}
	/* a line fed in pieces is fine until it is too long */
	fd = host_connect(t);
	for (int i = 0; i < VSOCK_CONNECT_LINE_MAX; i++) {
		host_send(fd, "C");
		vsock_host_ready(t->dev);
	}
	assert_closed(fd);
	fd = host_connect(t);
	host_send(fd, "CONN");
	vsock_host_ready(t->dev);
	host_send(fd, "ECT 321");
	vsock_host_ready(t->dev);
	host_send(fd, "\n");
	vsock_host_ready(t->dev);
	expect_rx(t, OP(REQUEST), 0, 321);
	close(fd);
	expect_no_rx(t);
}

static void test_vsock_connect_line_deadline(void **state)
{
	struct tv *t = *state;
	int quiet, partial, waiting;
	char buf[8];

	post_rx(t, 4);
	quiet = host_connect(t);          /* says nothing */
	partial = host_connect(t);
	host_send(partial, "CONNECT 12");  /* no newline */
	vsock_host_ready(t->dev);
	struct virtio_vsock_hdr r = host_asks(t, &waiting, "CONNECT 13\n", 13); /* guest silent */
	assert_int_equal(stats(t).pending, 3);
	vsock_expire(t->dev, now_ns());
	assert_int_equal(host_recv(quiet, buf, sizeof(buf)), -1); /* not yet */
	vsock_expire(t->dev, now_ns() + (VSOCK_CONNECT_TIMEOUT_MS + 100) * 1000000ULL);
	assert_closed(quiet);
	assert_closed(partial);
	assert_closed(waiting);
	/* the guest had the REQUEST: it gets an RST for it */
	expect_rx(t, OP(RST), le32toh(r.src_port), 13);
	assert_int_equal(stats(t).pending, 0);
}

static void test_vsock_connect_before_driver_ready_closes(void **state)
{
	struct tv *t = *state;
	int fd;

	assert_int_equal(vsock_ops.reset(t->dev), 0);
	fd = host_connect(t);
	host_send(fd, "CONNECT 1\n");
	vsock_host_ready(t->dev);
	assert_closed(fd);
	activate(t);
}

/* ---- limits, reset, the socket path ------------------------------------------------------ */

static void test_vsock_connection_limits(void **state)
{
	struct tv *t = *state; /* setup_small: 2 connections, 1 in the handshake */
	int lfd = host_listen(t, 55), a, b, h1, h2;

	post_rx(t, 16);
	a = guest_connect(t, lfd, 6001, 55, GUEST_BUF);
	h1 = host_connect(t);
	h2 = host_connect(t);
	vsock_host_ready(t->dev);
	assert_closed(h2); /* one handshake at a time */
	host_send(h1, "CONNECT 9\n");
	vsock_host_ready(t->dev);
	expect_rx(t, OP(REQUEST), 0, 9);
	/* two live connections: a third is refused */
	tx(t, gh(OP(REQUEST), 6002, 55, 0, GUEST_BUF, 0), NULL, 0);
	expect_rx(t, OP(RST), 55, 6002);
	assert_int_equal(stats(t).live, 2);
	assert_int_equal(accept4(lfd, NULL, NULL, SOCK_NONBLOCK), -1);
	b = host_connect(t);
	vsock_host_ready(t->dev);
	assert_closed(b);
	close(h1);
	close(a);
	close(lfd);
}

static void test_vsock_reset_closes_every_connection(void **state)
{
	struct tv *t = *state;
	int lfd = host_listen(t, 44), a, b, line;
	char buf[4];

	post_rx(t, 8);
	a = guest_connect(t, lfd, 7001, 44, GUEST_BUF);
	host_asks(t, &b, "CONNECT 7002\n", 7002);
	line = host_connect(t);
	vsock_host_ready(t->dev);
	assert_int_equal(stats(t).live, 3);
	assert_int_equal(vsock_ops.reset(t->dev), 0);
	assert_int_equal(stats(t).live, 0);
	assert_int_equal(host_recv(a, buf, sizeof(buf)), 0);
	assert_closed(b);
	assert_closed(line);
	/* the listener stays for the next driver */
	activate(t);
	post_rx(t, 4);
	host_asks(t, &b, "CONNECT 7003\n", 7003);
	close(b);
	close(a);
	close(lfd);
}

static void test_vsock_socket_path_stale_replaced_live_refused(void **state)
{
	char dir[] = "/tmp/av-vsock-path-XXXXXX", path[128], cmd[160], err[256];
	struct vsock_config cfg = { .guest_cid = CID, .path = path };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int e = 0, fd;
	void *dev;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s", dir);
	/* a stale socket (bound, never unlinked) is replaced */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	sun_set(&sa, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	dev = vsock_create(&cfg, &e, err, sizeof(err));
	assert_non_null(dev);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* a live one (ours) is refused */
	assert_null(vsock_create(&cfg, &e, err, sizeof(err)));
	assert_int_equal(e, -EINVAL);
	assert_non_null(strstr(err, "another process is listening on it"));
	vsock_ops.destroy(dev);
	assert_int_equal(access(path, F_OK), -1);
	/* a regular file is not replaced */
	close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	assert_null(vsock_create(&cfg, &e, err, sizeof(err)));
	assert_non_null(strstr(err, "not a socket"));
	assert_int_equal(access(path, F_OK), 0);
	/* a missing directory, a bad cid */
	snprintf(path, sizeof(path), "%s/no/s", dir);
	assert_null(vsock_create(&cfg, &e, err, sizeof(err)));
	assert_int_equal(e, -EINVAL);
	cfg.guest_cid = 2;
	assert_null(vsock_create(&cfg, &e, err, sizeof(err)));
	assert_int_equal(e, -EINVAL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vsock_hdr_check_each_field),
		cmocka_unit_test(test_vsock_connect_scan_cases),
		cmocka_unit_test(test_vsock_socket_path_stale_replaced_live_refused),
		cmocka_unit_test_setup_teardown(test_vsock_config_reads_guest_cid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vsock_guest_connect_data_both_ways, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vsock_split_rx_buffers_work, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vsock_guest_credit_never_exceeded, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vsock_host_not_reading_buffers_bounded_then_lie_resets,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_vsock_host_drains_ring_then_credit_update, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vsock_guest_connect_nobody_listening_gets_rst,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_vsock_bad_packets_get_rst_and_no_crash, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vsock_bad_packet_on_live_connection_resets_it,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_vsock_shutdown_half_close_both_ways, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vsock_guest_rst_closes_host_socket, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vsock_host_connect_ok_then_stream, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vsock_host_connect_guest_rst_closes_without_ok,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_vsock_connect_line_errors_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vsock_connect_line_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vsock_connect_before_driver_ready_closes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vsock_connection_limits, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_vsock_reset_closes_every_connection, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
