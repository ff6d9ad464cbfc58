// SPDX-License-Identifier: MIT
/*
 * test_vsock_seqpacket.c: virtio-vsock's SOCK_SEQPACKET connections on the
 * fixture of th_vsock.h, with SOCK_SEQPACKET host listeners: the feature and
 * the header check, guest messages arriving as one recv each (also over
 * several packets, and exactly VSOCK_MSG_MAX), a message over the limit, a
 * packet of the other type, a stream listener at PATH_P, a host peer that does
 * not read (bounded, every message intact after, also when the guest closed),
 * host messages to the guest within its credit (EOM on the last packet), an
 * empty host message against EOF, and sd_notify()'s exchange.
 */
#include "tests/unit/devices/th_vsock.h"

#define SEQ VIRTIO_VSOCK_TYPE_SEQPACKET
#define EOM VIRTIO_VSOCK_SEQ_EOM
#define EOR VIRTIO_VSOCK_SEQ_EOR

static uint8_t big[VSOCK_MSG_MAX + 1], back[VSOCK_MSG_MAX + 1];

static void fill(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + seed * 31 + i / 251);
}

/* The next RW the guest gets: its payload into (buf), its flags returned. */
static uint32_t expect_rw(struct tv *t, uint32_t hp, uint32_t gp, void *buf, uint32_t want)
{
	struct virtio_vsock_hdr h;
	uint32_t n;

	assert_true(get_rx(t, &h, buf, &n));
	assert_int_equal(le16toh(h.op), OP(RW));
	assert_int_equal(le32toh(h.src_port), hp);
	assert_int_equal(le32toh(h.dst_port), gp);
	assert_int_equal(n, want);
	return le32toh(h.flags);
}

/* ---- the feature and the header --------------------------------------------------------- */

static void test_vsock_seq_hdr_check_type_and_flags(void **state)
{
	struct virtio_vsock_hdr h = gh_seq(OP(RW), 5000, 80, 4, 0, 0, EOM);

	assert_int_equal(vsock_tx_hdr_check(&h, CID, 4, true), 0);
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 4, false), -EPROTOTYPE); /* not negotiated */
	h.flags = htole32(EOM | EOR);
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 4, true), 0);
	h.flags = htole32(EOR);
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 4, true), 0);
	h.flags = htole32(4);
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 4, true), -EINVAL);
	/* EOM belongs to a SEQPACKET RW only */
	h = gh_seq(OP(REQUEST), 5000, 80, 0, 0, 0, EOM);
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 0, true), -EINVAL);
	h = gh(OP(RW), 5000, 80, 0, 0, 0);
	h.flags = htole32(EOM);
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 0, true), -EINVAL);
	h = gh_seq(OP(SHUTDOWN), 5000, 80, 0, 0, 0, VIRTIO_VSOCK_SHUTDOWN_SEND);
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 0, true), 0);
}

/* setup: the driver acked F_STREAM only. */
static void test_vsock_seq_not_negotiated_refused(void **state)
{
	struct tv *t = *state;
	int lfd = host_listen_seq(t, 1300), fd;

	assert_true(vsock_ops.features(t->dev) & 1ULL << VSOCK_F_SEQPACKET);
	post_rx(t, 8);
	tx(t, gh_seq(OP(REQUEST), 5000, 1300, 0, GUEST_BUF, 0, 0), NULL, 0);
	/* of the packet's type: a guest socket drops an RST of the other type and waits */
	t->rx_type = SEQ;
	expect_rx(t, OP(RST), 1300, 5000);
	assert_int_equal(accept4(lfd, NULL, NULL, SOCK_CLOEXEC), -1); /* PATH_P never connected */
	assert_int_equal(stats(t).bad_pkts, 1);
	assert_int_equal(stats(t).live, 0);
	/* the next driver acks it: the same REQUEST connects */
	assert_int_equal(vsock_ops.reset(t->dev), 0);
	activate_features(t, 1ULL << VSOCK_F_SEQPACKET);
	post_rx(t, 8);
	fd = guest_connect_seq(t, lfd, 5000, 1300, GUEST_BUF);
	assert_int_equal(stats(t).live, 1);
	close(fd);
	close(lfd);
}

/* ---- guest -> host ------------------------------------------------------------------------ */

static void test_vsock_seq_two_messages_two_recvs(void **state)
{
	struct tv *t = *state;
	int lfd = host_listen_seq(t, 1234), fd;
	char buf[64];

	t->rx_type = SEQ;
	post_rx(t, 8);
	fd = guest_connect_seq(t, lfd, 5000, 1234, GUEST_BUF);
	tx(t, gh_seq(OP(RW), 5000, 1234, 5, GUEST_BUF, 0, EOM), "hello", 5);
	tx(t, gh_seq(OP(RW), 5000, 1234, 6, GUEST_BUF, 0, EOM | EOR), "world!", 6);
	/* a stream would hand over "helloworld!" at once */
	assert_int_equal(host_recv(fd, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(host_recv(fd, buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "world!", 6);
	assert_int_equal(host_recv(fd, buf, sizeof(buf)), -1);
	assert_int_equal(stats(t).msgs_to_host, 2);
	assert_int_equal(stats(t).bytes_to_host, 11);
	assert_int_equal(stats(t).buffered, 0);
	close(fd);
	close(lfd);
}

static void test_vsock_seq_message_over_several_packets(void **state)
{
	struct tv *t = *state;
	int lfd = host_listen_seq(t, 1235), fd;
	struct virtio_vsock_hdr h;
	uint32_t sent = 0, fwd = 0;
	char buf[64];

	t->rx_type = SEQ;
	post_rx(t, 16);
	fd = guest_connect_seq(t, lfd, 5001, 1235, GUEST_BUF);
	tx(t, gh_seq(OP(RW), 5001, 1235, 3, GUEST_BUF, 0, 0), "abc", 3);
	tx(t, gh_seq(OP(RW), 5001, 1235, 3, GUEST_BUF, 0, 0), "def", 3);
	assert_int_equal(host_recv(fd, buf, sizeof(buf)), -1); /* nothing before its end */
	assert_int_equal(stats(t).buffered, 6);
	tx(t, gh_seq(OP(RW), 5001, 1235, 2, GUEST_BUF, 0, EOM), "gh", 2);
	assert_int_equal(host_recv(fd, buf, sizeof(buf)), 8);
	assert_memory_equal(buf, "abcdefgh", 8);
	/* an EOM alone ends an empty message: nothing for the host (it would read EOF) */
	tx(t, gh_seq(OP(RW), 5001, 1235, 0, GUEST_BUF, 0, EOM), NULL, 0);
	assert_int_equal(host_recv(fd, buf, sizeof(buf)), -1);
	assert_int_equal(stats(t).live, 1);
	/* beyond one packet: three of 64 KiB and the rest, one recv */
	fill(big, sizeof(big), 1);
	for (int i = 0; i < 3; i++, sent += VSOCK_MAX_PKT)
		tx(t, gh_seq(OP(RW), 5001, 1235, VSOCK_MAX_PKT, GUEST_BUF, 0, 0), big + sent,
		   VSOCK_MAX_PKT);
	tx(t, gh_seq(OP(RW), 5001, 1235, 1000, GUEST_BUF, 0, EOM), big + sent, 1000);
	sent += 1000;
	assert_int_equal(host_recv(fd, back, sizeof(back)), sent);
	assert_memory_equal(back, big, sent);
	assert_int_equal(stats(t).msgs_to_host, 2);
	/* the guest hears the credit back (Linux's rule: its view fell below one packet) */
	while (get_rx(t, &h, NULL, NULL)) {
		assert_int_equal(le16toh(h.op), OP(CREDIT_UPDATE));
		fwd = le32toh(h.fwd_cnt);
	}
	assert_int_equal(fwd, sent + 8);
	close(fd);
	close(lfd);
}

static void test_vsock_seq_message_limit_then_oversized_resets(void **state)
{
	struct tv *t = *state;
	int lfd = host_listen_seq(t, 1236), fd;
	uint32_t off;

	t->rx_type = SEQ;
	post_rx(t, 16);
	fd = guest_connect_seq(t, lfd, 5002, 1236, GUEST_BUF);
	fill(big, sizeof(big), 2);
	/* exactly VSOCK_MSG_MAX, its EOM alone at the end: one message */
	for (off = 0; off < VSOCK_MSG_MAX; off += VSOCK_MAX_PKT)
		tx(t, gh_seq(OP(RW), 5002, 1236, VSOCK_MAX_PKT, GUEST_BUF, 0, 0), big + off,
		   VSOCK_MAX_PKT);
	tx(t, gh_seq(OP(RW), 5002, 1236, 0, GUEST_BUF, 0, EOM), NULL, 0);
	assert_int_equal(host_recv(fd, back, sizeof(back)), VSOCK_MSG_MAX);
	assert_memory_equal(back, big, VSOCK_MSG_MAX);
	while (get_rx(t, &(struct virtio_vsock_hdr){ 0 }, NULL, NULL))
		; /* credit updates */
	/* one byte more: it could never go whole, the connection is reset */
	for (off = 0; off < VSOCK_MSG_MAX; off += VSOCK_MAX_PKT)
		tx(t, gh_seq(OP(RW), 5002, 1236, VSOCK_MAX_PKT, GUEST_BUF, 0, 0), big + off,
		   VSOCK_MAX_PKT);
	assert_int_equal(stats(t).buffered, VSOCK_MSG_MAX);
	tx(t, gh_seq(OP(RW), 5002, 1236, 1, GUEST_BUF, 0, EOM), big, 1);
	expect_rx(t, OP(RST), 1236, 5002);
	assert_int_equal(stats(t).msgs_too_big, 1);
	assert_int_equal(stats(t).credit_lies, 0);
	assert_int_equal(stats(t).buffered, 0);
	assert_int_equal(stats(t).live, 0);
	assert_int_equal(host_recv(fd, back, sizeof(back)), 0); /* no half message: EOF */
	close(fd);
	close(lfd);
}

static void test_vsock_seq_other_type_on_a_connection_resets(void **state)
{
	struct tv *t = *state;
	int sl = host_listen_seq(t, 1237), ll = host_listen(t, 1238), fd, hfd;
	char buf[8];

	post_rx(t, 16);
	/* a stream packet on a SEQPACKET connection: reset, the RST of the connection's type */
	t->rx_type = SEQ;
	fd = guest_connect_seq(t, sl, 5003, 1237, GUEST_BUF);
	tx(t, gh(OP(RW), 5003, 1237, 3, GUEST_BUF, 0), "abc", 3);
	expect_rx(t, OP(RST), 1237, 5003);
	assert_int_equal(host_recv(fd, buf, sizeof(buf)), 0);
	close(fd);
	/* and the other way */
	t->rx_type = 0;
	fd = guest_connect(t, ll, 5004, 1238, GUEST_BUF);
	tx(t, gh_seq(OP(RW), 5004, 1238, 3, GUEST_BUF, 0, EOM), "abc", 3);
	expect_rx(t, OP(RST), 1238, 5004);
	assert_int_equal(host_recv(fd, buf, sizeof(buf)), 0);
	close(fd);
	/* host connections are streams: a SEQPACKET RESPONSE does not take one */
	struct virtio_vsock_hdr r = host_asks(t, &hfd, "CONNECT 6000\n", 6000);
	tx(t, gh_seq(OP(RESPONSE), 6000, le32toh(r.src_port), 0, GUEST_BUF, 0, 0), NULL, 0);
	expect_rx(t, OP(RST), le32toh(r.src_port), 6000);
	assert_closed(hfd);
	assert_int_equal(stats(t).bad_pkts, 3);
	assert_int_equal(stats(t).live, 0);
	close(sl);
	close(ll);
}

/* A listener of the other type at PATH_P: connect() fails (EPROTOTYPE), an RST at once. */
static void test_vsock_seq_stream_listener_refused(void **state)
{
	struct tv *t = *state;
	int lfd = host_listen(t, 1239);

	t->rx_type = SEQ;
	post_rx(t, 4);
	tx(t, gh_seq(OP(REQUEST), 5005, 1239, 0, GUEST_BUF, 0, 0), NULL, 0);
	expect_rx(t, OP(RST), 1239, 5005);
	assert_int_equal(accept4(lfd, NULL, NULL, SOCK_CLOEXEC), -1);
	/* nobody at PATH_P at all: the same */
	tx(t, gh_seq(OP(REQUEST), 5005, 1240, 0, GUEST_BUF, 0, 0), NULL, 0);
	expect_rx(t, OP(RST), 1240, 5005);
	/* and a stream to a SEQPACKET listener */
	int sl = host_listen_seq(t, 1246);
	t->rx_type = 0;
	tx(t, gh(OP(REQUEST), 5005, 1246, 0, GUEST_BUF, 0), NULL, 0);
	expect_rx(t, OP(RST), 1246, 5005);
	assert_int_equal(accept4(sl, NULL, NULL, SOCK_CLOEXEC), -1);
	assert_int_equal(stats(t).refused, 3);
	assert_int_equal(stats(t).bad_pkts, 0);
	assert_int_equal(stats(t).live, 0);
	close(sl);
	close(lfd);
}

/* ---- a host peer that does not read -------------------------------------------------------- */

static uint32_t msg_size(unsigned i)
{
	return 1000 + (i * 37) % 3000; /* odd sizes: message ends anywhere in the ring */
}

/* Guest messages from number (*i) on until the credit is used up; the bytes sent. */
static uint64_t send_until_full(struct tv *t, unsigned *i)
{
	uint64_t sent = 0;
	uint8_t m[4096];

	while (stats(t).buffered + msg_size(*i) <= VSOCK_BUF_ALLOC) {
		assert_true(*i < 4000);
		fill(m, msg_size(*i), *i);
		tx(t, gh_seq(OP(RW), 5006, 1241, msg_size(*i), GUEST_BUF, 0, EOM), m,
		   msg_size(*i));
		sent += msg_size(*i);
		++*i;
		/* never more held than the credit, however many messages it is */
		assert_true(stats(t).buffered <= VSOCK_BUF_ALLOC);
	}
	return sent;
}

/* Read messages (*next) .. (end - 1) on (fd), each whole and intact; the device writes on. */
static void read_msgs(struct tv *t, int fd, unsigned *next, unsigned end)
{
	uint8_t m[4096], got[4096];

	for (unsigned idle = 0; *next < end;) {
		ssize_t n = host_recv(fd, got, sizeof(got));

		if (n < 0) {
			assert_true(++idle < 1000);
			vsock_host_ready(t->dev);
			continue;
		}
		idle = 0;
		assert_int_equal(n, msg_size(*next));
		fill(m, msg_size(*next), *next);
		assert_memory_equal(got, m, (size_t)n);
		++*next;
	}
}

static void test_vsock_seq_host_not_reading_bounded_every_message_intact(void **state)
{
	struct tv *t = *state;
	int lfd = host_listen_seq(t, 1241), fd;
	unsigned sent = 0, got = 0;
	struct virtio_vsock_hdr s;
	uint8_t junk[8];

	t->rx_type = SEQ;
	post_rx(t, 64);
	fd = guest_connect_seq(t, lfd, 5006, 1241, GUEST_BUF);
	send_until_full(t, &sent);
	assert_true(stats(t).buffered > VSOCK_BUF_ALLOC - 4000); /* the socket took its share */
	assert_true(stats(t).buffered <= VSOCK_BUF_ALLOC);
	/* some read: the ring's head moves on, and the next messages wrap around its end */
	while (stats(t).buffered > VSOCK_BUF_ALLOC / 2) {
		read_msgs(t, fd, &got, got + 1);
		vsock_host_ready(t->dev);
	}
	while (get_rx(t, &s, NULL, NULL))
		assert_int_equal(le16toh(s.op), OP(CREDIT_UPDATE));
	send_until_full(t, &sent);
	read_msgs(t, fd, &got, sent);
	assert_int_equal(stats(t).buffered, 0);
	assert_int_equal(stats(t).msgs_to_host, sent);
	while (get_rx(t, &s, NULL, NULL))
		assert_int_equal(le16toh(s.op), OP(CREDIT_UPDATE));
	/* full again, then the guest closes: every message still arrives, then EOF */
	send_until_full(t, &sent);
	s = gh_seq(OP(SHUTDOWN), 5006, 1241, 0, GUEST_BUF, 0,
		   VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
	tx(t, s, NULL, 0);
	while (get_rx(t, &s, NULL, NULL) && le16toh(s.op) == OP(CREDIT_UPDATE))
		;
	assert_int_equal(le16toh(s.op), OP(RST));
	assert_true(stats(t).buffered > 0);
	read_msgs(t, fd, &got, sent);
	for (int i = 0; i < 1000 && stats(t).live; i++)
		vsock_host_ready(t->dev);
	assert_int_equal(host_recv(fd, junk, sizeof(junk)), 0);
	assert_int_equal(stats(t).live, 0);
	assert_int_equal(stats(t).credit_lies, 0);
	close(fd);
	close(lfd);
}

/* A guest that stops sending in the middle of a message: the half is dropped, the rest arrives. */
static void test_vsock_seq_shutdown_drops_half_message(void **state)
{
	struct tv *t = *state;
	int lfd = host_listen_seq(t, 1242), fd;
	char buf[16];

	t->rx_type = SEQ;
	post_rx(t, 8);
	fd = guest_connect_seq(t, lfd, 5007, 1242, GUEST_BUF);
	tx(t, gh_seq(OP(RW), 5007, 1242, 5, GUEST_BUF, 0, EOM), "whole", 5);
	tx(t, gh_seq(OP(RW), 5007, 1242, 4, GUEST_BUF, 0, 0), "half", 4);
	tx(t, gh_seq(OP(SHUTDOWN), 5007, 1242, 0, GUEST_BUF, 0, VIRTIO_VSOCK_SHUTDOWN_SEND), NULL,
	   0);
	assert_int_equal(host_recv(fd, buf, sizeof(buf)), 5);
	assert_int_equal(host_recv(fd, buf, sizeof(buf)), 0);
	assert_int_equal(stats(t).buffered, 0);
	close(fd);
	close(lfd);
}

/* ---- host -> guest --------------------------------------------------------------------------- */

static void test_vsock_seq_host_messages_to_guest_with_eom(void **state)
{
	struct tv *t = *state;
	int lfd = host_listen_seq(t, 1243), fd;
	uint32_t off = 0, n;
	char buf[4096];

	t->rx_type = SEQ;
	post_rx(t, 2);
	fd = guest_connect_seq(t, lfd, 5008, 1243, GUEST_BUF); /* takes one buffer */
	fill(big, 10000, 3);
	assert_int_equal(send(fd, "one", 3, 0), 3);
	assert_int_equal(send(fd, big, 10000, 0), 10000);
	assert_int_equal(send(fd, "three", 5, 0), 5);
	vsock_host_ready(t->dev);
	assert_int_equal(expect_rw(t, 1243, 5008, buf, 3), EOM);
	assert_memory_equal(buf, "one", 3);
	expect_no_rx(t);
	assert_int_equal(stats(t).msg_held, 0); /* nothing read without a buffer to put it in */
	/* 10000 bytes do not fit one receive buffer: read whole, given out piece by piece */
	post_rx(t, 1);
	assert_int_equal(expect_rw(t, 1243, 5008, buf, 4096), 0);
	assert_memory_equal(buf, big, 4096);
	assert_int_equal(stats(t).msg_held, 10000);
	post_rx(t, 8);
	for (off = 4096; off < 10000; off += n) {
		n = MIN(10000 - off, 4096u);
		assert_int_equal(expect_rw(t, 1243, 5008, buf, n), off + n == 10000 ? EOM : 0);
		assert_memory_equal(buf, big + off, n);
	}
	assert_int_equal(expect_rw(t, 1243, 5008, buf, 5), EOM);
	assert_memory_equal(buf, "three", 5);
	expect_no_rx(t);
	assert_int_equal(stats(t).msg_held, 0);
	assert_int_equal(stats(t).msgs_to_guest, 3);
	close(fd);
	close(lfd);
}

/* A host message goes only when the guest's credit covers all of it; beyond its buffer: reset. */
static void test_vsock_seq_host_message_waits_for_whole_credit(void **state)
{
	struct tv *t = *state;
	int lfd = host_listen_seq(t, 1244), fd;
	char buf[4096];

	t->rx_type = SEQ;
	post_rx(t, 16);
	fd = guest_connect_seq(t, lfd, 5009, 1244, 5000);
	memset(buf, 'A', sizeof(buf));
	assert_int_equal(send(fd, buf, 3000, 0), 3000);
	memset(buf, 'B', sizeof(buf));
	assert_int_equal(send(fd, buf, 3000, 0), 3000);
	vsock_host_ready(t->dev);
	assert_int_equal(expect_rw(t, 1244, 5009, buf, 3000), EOM);
	assert_int_equal(buf[0], 'A');
	/* 2000 left of 5000: not enough for B; asked once, nothing sent in part */
	expect_rx(t, OP(CREDIT_REQUEST), 1244, 5009);
	expect_no_rx(t);
	tx(t, gh_seq(OP(CREDIT_UPDATE), 5009, 1244, 0, 5000, 500, 0), NULL, 0);
	vsock_host_ready(t->dev);
	expect_no_rx(t); /* 2500 free: still short, no second request */
	tx(t, gh_seq(OP(CREDIT_UPDATE), 5009, 1244, 0, 5000, 3000, 0), NULL, 0);
	assert_int_equal(expect_rw(t, 1244, 5009, buf, 3000), EOM);
	assert_int_equal(buf[0], 'B');
	/* bigger than the guest's whole buffer: it could never take it */
	memset(big, 'C', 6000);
	assert_int_equal(send(fd, big, 6000, 0), 6000);
	vsock_host_ready(t->dev);
	expect_rx(t, OP(RST), 1244, 5009);
	assert_int_equal(stats(t).msgs_too_big, 1);
	assert_int_equal(stats(t).live, 0);
	close(fd);
	close(lfd);
}

/* An empty host message is dropped and not taken for EOF; EOF is told after the data. */
static void test_vsock_seq_empty_host_message_is_not_eof(void **state)
{
	struct tv *t = *state;
	int lfd = host_listen_seq(t, 1245), fd;
	struct virtio_vsock_hdr h;
	char buf[16];

	t->rx_type = SEQ;
	post_rx(t, 8);
	fd = guest_connect_seq(t, lfd, 5010, 1245, GUEST_BUF);
	assert_int_equal(send(fd, "", 0, 0), 0);
	assert_int_equal(send(fd, "abc", 3, 0), 3);
	assert_int_equal(send(fd, "", 0, 0), 0);
	vsock_host_ready(t->dev);
	assert_int_equal(expect_rw(t, 1245, 5010, buf, 3), EOM);
	expect_no_rx(t);
	assert_int_equal(send(fd, "d", 1, 0), 1);
	shutdown(fd, SHUT_WR);
	vsock_host_ready(t->dev);
	assert_int_equal(expect_rw(t, 1245, 5010, buf, 1), EOM);
	h = expect_rx(t, OP(SHUTDOWN), 1245, 5010);
	assert_int_equal(le32toh(h.flags), VIRTIO_VSOCK_SHUTDOWN_SEND);
	close(fd);
	close(lfd);
}

/*
 * systemd's sd_notify() over plain "vsock:2:8888" (src/libsystemd/sd-daemon/
 * sd-daemon.c): a SEQPACKET connect from a privileged port, one sendmsg, SHUT_WR,
 * then a recv() that waits for EOF. The host listener reads the one message and
 * EOF, and closes.
 */
static void test_vsock_seq_sd_notify_exchange(void **state)
{
	struct tv *t = *state;
	int lfd = host_listen_seq(t, 8888), fd;
	struct virtio_vsock_hdr h;
	char buf[64];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	t->rx_type = SEQ;
	post_rx(t, 8);
	fd = guest_connect_seq(t, lfd, 1023, 8888, GUEST_BUF);
	tx(t, gh_seq(OP(RW), 1023, 8888, 7, GUEST_BUF, 0, EOM), "READY=1", 7);
	tx(t, gh_seq(OP(SHUTDOWN), 1023, 8888, 0, GUEST_BUF, 0, VIRTIO_VSOCK_SHUTDOWN_SEND), NULL,
	   0);
	assert_int_equal(recvmsg(fd, &m, MSG_DONTWAIT), 7);
	assert_memory_equal(buf, "READY=1", 7);
	assert_false(m.msg_flags & MSG_TRUNC);
	assert_int_equal(host_recv(fd, buf, sizeof(buf)), 0);
	close(fd);
	/* the guest's recv() sees EOF; then its close() */
	vsock_host_ready(t->dev);
	h = expect_rx(t, OP(SHUTDOWN), 8888, 1023);
	assert_int_equal(le32toh(h.flags), VIRTIO_VSOCK_SHUTDOWN_SEND);
	tx(t, gh_seq(OP(SHUTDOWN), 1023, 8888, 0, GUEST_BUF, 0,
		     VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND), NULL, 0);
	expect_rx(t, OP(RST), 8888, 1023);
	expect_no_rx(t);
	assert_int_equal(stats(t).live, 0);
	assert_int_equal(stats(t).msgs_to_host, 1);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vsock_seq_hdr_check_type_and_flags),
		cmocka_unit_test_setup_teardown(test_vsock_seq_not_negotiated_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vsock_seq_two_messages_two_recvs, setup_seq,
						teardown),
		cmocka_unit_test_setup_teardown(test_vsock_seq_message_over_several_packets,
						setup_seq, teardown),
		cmocka_unit_test_setup_teardown(test_vsock_seq_message_limit_then_oversized_resets,
						setup_seq, teardown),
		cmocka_unit_test_setup_teardown(test_vsock_seq_other_type_on_a_connection_resets,
						setup_seq, teardown),
		cmocka_unit_test_setup_teardown(test_vsock_seq_stream_listener_refused, setup_seq,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_vsock_seq_host_not_reading_bounded_every_message_intact, setup_seq,
			teardown),
		cmocka_unit_test_setup_teardown(test_vsock_seq_shutdown_drops_half_message,
						setup_seq, teardown),
		cmocka_unit_test_setup_teardown(test_vsock_seq_host_messages_to_guest_with_eom,
						setup_seq, teardown),
		cmocka_unit_test_setup_teardown(test_vsock_seq_host_message_waits_for_whole_credit,
						setup_seq, teardown),
		cmocka_unit_test_setup_teardown(test_vsock_seq_empty_host_message_is_not_eof,
						setup_seq, teardown),
		cmocka_unit_test_setup_teardown(test_vsock_seq_sd_notify_exchange, setup_seq,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
