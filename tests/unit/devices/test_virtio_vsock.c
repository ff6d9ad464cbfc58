// SPDX-License-Identifier: MIT
/*
 * test_virtio_vsock.c: virtio-vsock's packets and credit (the guest's side),
 * on the fixture of th_vsock.h: header checks, guest connects and data both
 * ways, credit, a host peer that does not read, bad packets, shutdown and RST,
 * a closed connection's bytes still delivered (drain), the transmit queue's
 * per-pass budget and its resumption on the loop.
 * test_vsock_host.c has the host's side (CONNECT, PATH, limits, polls).
 */
#include "tests/unit/devices/th_vsock.h"

/* ---- pure parsers, config ---------------------------------------------------------------- */

static void test_vsock_hdr_check_each_field(void **state)
{
	struct virtio_vsock_hdr h = gh(OP(RW), 5000, 80, 10, 0, 0);

	assert_int_equal(vsock_tx_hdr_check(&h, CID, 10, false), 0);
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 9, false), -EMSGSIZE);   /* beyond the chain */
	assert_int_equal(vsock_tx_hdr_check(&h, CID + 1, 10, false), -EINVAL);  /* spoofed source */
	h.len = htole32(VSOCK_MAX_PKT + 1);
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 1 << 20, false), -EMSGSIZE);
	h = gh(OP(RW), 5000, 80, 0, 0, 0);
	h.dst_cid = htole64(4);                                               /* guest to guest */
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 0, false), -EINVAL);
	h = gh(OP(RW), 5000, 80, 0, 0, 0);
	h.type = htole16(VIRTIO_VSOCK_TYPE_SEQPACKET);                       /* not negotiated */
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 0, false), -EPROTOTYPE);
	h.type = htole16(3);
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 0, true), -EPROTOTYPE);
	h = gh(0, 5000, 80, 0, 0, 0);
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 0, false), -EOPNOTSUPP);       /* INVALID */
	h = gh(8, 5000, 80, 0, 0, 0);
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 0, false), -EOPNOTSUPP);
	h = gh(OP(REQUEST), 5000, 80, 4, 0, 0);                               /* payload on a control op */
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 4, false), -EMSGSIZE);
	h = gh(OP(SHUTDOWN), 5000, 80, 0, 0, 0);
	h.flags = htole32(3);
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 0, false), 0);
	h.flags = htole32(4);
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 0, false), -EINVAL);
	h = gh(OP(RW), 5000, 80, 0, 0, 0);
	h.flags = htole32(VIRTIO_VSOCK_SEQ_EOM);                              /* a seqpacket flag */
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 0, false), -EINVAL);
	h = gh(OP(REQUEST), VSOCK_PORT_ANY, 80, 0, 0, 0);
	assert_int_equal(vsock_tx_hdr_check(&h, CID, 0, false), -EINVAL);
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
	assert_int_equal(vsock_ops.features(t->dev),
			 1ULL << VSOCK_F_STREAM | 1ULL << VSOCK_F_SEQPACKET);
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
	h.type = htole16(VIRTIO_VSOCK_TYPE_SEQPACKET); /* not negotiated */
	tx(t, h, NULL, 0);
	/* of the packet's type: a guest socket drops an RST of the other type */
	t->rx_type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	expect_rx(t, OP(RST), 80, 5005);
	t->rx_type = 0;
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

/* ---- a guest that closes with bytes still held for the host peer ------------------------- */

/* Guest port (gp) sends until agentvmm holds bytes for host peer (fd) that does not read. */
static uint64_t fill_until_buffered(struct tv *t, uint32_t gp, uint32_t hp, const uint8_t *pay)
{
	struct virtio_vsock_hdr h;
	uint64_t sent = 0;

	while (stats(t).buffered + VSOCK_MAX_PKT <= VSOCK_BUF_ALLOC) {
		assert_true(sent < MiB(1));
		tx(t, gh(OP(RW), gp, hp, VSOCK_MAX_PKT, GUEST_BUF, 0), pay, VSOCK_MAX_PKT);
		sent += VSOCK_MAX_PKT;
	}
	assert_true(stats(t).buffered > 0); /* the socket alone did not hold it */
	while (get_rx(t, &h, NULL, NULL))
		assert_int_equal(le16toh(h.op), OP(CREDIT_UPDATE));
	return sent;
}

static void pattern(uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 13 + i / 253);
}

static void assert_stream(const uint8_t *got, size_t len, const uint8_t *pay)
{
	for (size_t i = 0; i < len; i++)
		if (got[i] != pay[i % VSOCK_MAX_PKT])
			fail_msg("byte %zu differs", i);
}

/*
 * Linux's close(): SHUTDOWN(RCV|SEND), then its own RST once VSOCK_CLOSE_TIMEOUT
 * (8 s) passed without ours. Both come while agentvmm still holds bytes for a
 * host peer that reads later: it gets every one of them, then EOF.
 */
static void test_vsock_guest_close_while_buffered_host_gets_every_byte(void **state)
{
	struct tv *t = *state;
	int lfd = host_listen(t, 45), fd;
	static uint8_t pay[VSOCK_MAX_PKT], back[MiB(2)];
	struct virtio_vsock_hdr s;
	uint64_t sent;

	pattern(pay, sizeof(pay));
	post_rx(t, 32);
	fd = guest_connect(t, lfd, 5010, 45, GUEST_BUF);
	sent = fill_until_buffered(t, 5010, 45, pay);
	s = gh(OP(SHUTDOWN), 5010, 45, 0, GUEST_BUF, 0);
	s.flags = htole32(VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
	tx(t, s, NULL, 0);
	/* answered at once, as Linux answers it: the guest's socket is gone now */
	expect_rx(t, OP(RST), 45, 5010);
	expect_no_rx(t);
	assert_int_equal(stats(t).live, 1); /* the host side still drains */
	/* the guest's own RST: the connection is no longer the guest's, nothing is dropped */
	tx(t, gh(OP(RST), 5010, 45, 0, GUEST_BUF, 0), NULL, 0);
	expect_no_rx(t);
	assert_true(stats(t).buffered > 0);
	assert_int_equal(host_read_to_eof(t, fd, back, sizeof(back)), sent);
	assert_stream(back, sent, pay);
	assert_int_equal(stats(t).buffered, 0);
	assert_int_equal(stats(t).live, 0);
	expect_no_rx(t);
	close(fd);
	close(lfd);
}

/* An RST alone (the guest's socket died) with bytes held: delivered, also across a reset. */
static void test_vsock_guest_rst_while_buffered_still_delivers(void **state)
{
	struct tv *t = *state;
	int lfd = host_listen(t, 46), fd;
	static uint8_t pay[VSOCK_MAX_PKT], back[MiB(2)];
	uint64_t sent;

	pattern(pay, sizeof(pay));
	post_rx(t, 32);
	fd = guest_connect(t, lfd, 5011, 46, GUEST_BUF);
	sent = fill_until_buffered(t, 5011, 46, pay);
	tx(t, gh(OP(RST), 5011, 46, 0, GUEST_BUF, 0), NULL, 0);
	expect_no_rx(t); /* never an RST for an RST */
	/* the driver goes away: what the guest already sent still reaches the host */
	assert_int_equal(vsock_ops.reset(t->dev), 0);
	activate(t);
	assert_true(stats(t).buffered > 0);
	assert_int_equal(host_read_to_eof(t, fd, back, sizeof(back)), sent);
	assert_stream(back, sent, pay);
	assert_int_equal(stats(t).live, 0);
	close(fd);
	close(lfd);
}

/* A host peer that never reads the last bytes: closed at the drain deadline. */
static void test_vsock_drain_deadline_closes(void **state)
{
	struct tv *t = *state;
	int lfd = host_listen(t, 47), fd;
	static uint8_t pay[VSOCK_MAX_PKT], back[MiB(2)];
	struct virtio_vsock_hdr s;
	uint64_t sent, now = now_ns();
	size_t got;

	pattern(pay, sizeof(pay));
	post_rx(t, 32);
	fd = guest_connect(t, lfd, 5012, 47, GUEST_BUF);
	sent = fill_until_buffered(t, 5012, 47, pay);
	s = gh(OP(SHUTDOWN), 5012, 47, 0, GUEST_BUF, 0);
	s.flags = htole32(VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
	tx(t, s, NULL, 0);
	expect_rx(t, OP(RST), 47, 5012);
	vsock_expire(t->dev, now + (VSOCK_DRAIN_TIMEOUT_MS - 1000) * 1000000ULL);
	assert_int_equal(stats(t).live, 1);
	vsock_expire(t->dev, now + (VSOCK_DRAIN_TIMEOUT_MS + 1000) * 1000000ULL);
	assert_int_equal(stats(t).live, 0);
	assert_int_equal(stats(t).buffered, 0);
	assert_int_equal(stats(t).drain_expired, 1);
	expect_no_rx(t); /* the guest had its RST already */
	/* what the socket held arrives, the rest was dropped, then EOF */
	got = host_read_to_eof(t, fd, back, sizeof(back));
	assert_true(got > 0 && got < sent);
	assert_stream(back, got, pay);
	close(fd);
	close(lfd);
}

/* A REQUEST on the tuple of a connection whose RST is still owed: a new connection. */
static void test_vsock_request_while_rst_owed_is_a_new_connection(void **state)
{
	struct tv *t = *state;
	int lfd = host_listen(t, 48), fd, fd2;
	struct virtio_vsock_hdr h = gh(OP(RW), 5013, 48, 0, GUEST_BUF, 0);
	char buf[4];

	post_rx(t, 1);
	fd = guest_connect(t, lfd, 5013, 48, GUEST_BUF); /* takes the one receive buffer */
	h.flags = htole32(1);
	tx(t, h, NULL, 0); /* a bad packet: RST owed, no buffer to send it in */
	assert_int_equal(host_recv(fd, buf, sizeof(buf)), 0);
	tx(t, gh(OP(REQUEST), 5013, 48, 0, GUEST_BUF, 0), NULL, 0);
	post_rx(t, 4);
	/* the stale RST would reset the new connection: the guest gets its RESPONSE only */
	expect_rx(t, OP(RESPONSE), 48, 5013);
	expect_no_rx(t);
	fd2 = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fd2 >= 0);
	tx(t, gh(OP(RW), 5013, 48, 3, GUEST_BUF, 0), "new", 3);
	assert_int_equal(host_recv(fd2, buf, sizeof(buf)), 3);
	assert_int_equal(stats(t).live, 1);
	close(fd2);
	close(fd);
	close(lfd);
}

/* ---- transmit: per-pass budget (issue 14) ------------------------------------------------- */

#define BIG_TXQ_TOP MiB(12) /* between the fixture's transmit rings (8 MiB) and receive rings */

/*
 * A transmit queue of VSOCK_QUEUE_SIZE (the fixture's holds fewer chains than
 * a pass takes) in place of the fixture's, before the device has used it;
 * without event index, so VRING_USED_F_NO_NOTIFY shows whether kicks are off.
 */
static void big_txq(struct tv *t)
{
	th_vq_init_at(&t->txd, &t->gm, VSOCK_QUEUE_SIZE, BIG_TXQ_TOP);
	th_vq_bind(&t->txd, &t->vqs[VSOCK_TXQ], false, true);
}

/* Post (n) chains of one read-only buffer (g, len), no kick; their heads into (heads). */
static void tx_post_n(struct tv *t, gpa_t g, uint32_t len, unsigned n, uint16_t *heads)
{
	for (unsigned i = 0; i < n; i++) {
		struct th_seg s = { g, len, false };

		heads[i] = th_vq_add_chain(&t->txd, &s, 1);
		th_vq_publish(&t->txd, heads[i]);
	}
}

/* The chains used since the last call: each must be heads[*next], length 0. Return: how many. */
static unsigned tx_used_in_order(struct tv *t, const uint16_t *heads, unsigned *next)
{
	uint32_t id, len;
	unsigned nr = 0;

	while (th_vq_get_used(&t->txd, &id, &len)) {
		assert_int_equal(id, heads[*next]);
		assert_int_equal(len, 0);
		(*next)++;
		nr++;
	}
	return nr;
}

/*
 * More chains than one pass takes, posted in one go: a kick takes exactly
 * VSOCK_TX_PASS_CHAINS with kicks left off, the rest is taken when the loop
 * runs its completions (the resumption), which turns kicks back on; every
 * chain is used once, in order, and an idle queue resumes nothing more.
 */
static void test_vsock_tx_budget_splits_passes_in_order(void **state)
{
	struct tv *t = *state;
	enum { N = VSOCK_TX_PASS_CHAINS + 72 };
	uint16_t heads[N + 1];
	unsigned next = 0;
	gpa_t g;

	big_txq(t);
	g = th_vq_alloc(&t->txd, 16);
	tx_post_n(t, g, 8, N, heads); /* short chains: each a bad packet, nothing else */
	vsock_ops.queue_notify(t->dev, VSOCK_TXQ);
	assert_int_equal(tx_used_in_order(t, heads, &next), VSOCK_TX_PASS_CHAINS);
	assert_int_equal(stats(t).bad_pkts, VSOCK_TX_PASS_CHAINS);
	assert_int_equal(stats(t).passes_deferred, 1);
	assert_int_equal(th_vq_used_flags(&t->txd), VRING_USED_F_NO_NOTIFY);
	assert_true(th_reap(t, 0) >= 1);
	assert_int_equal(tx_used_in_order(t, heads, &next), N - VSOCK_TX_PASS_CHAINS);
	assert_int_equal(next, N);
	assert_int_equal(th_vq_used_idx(&t->txd), N);
	assert_int_equal(stats(t).bad_pkts, N);
	assert_int_equal(stats(t).passes_deferred, 1);
	assert_int_equal(th_vq_used_flags(&t->txd), 0);
	/* idle: nothing is resumed; a kick goes on as before */
	th_reap(t, 0);
	assert_int_equal(th_vq_used_idx(&t->txd), N);
	tx_post_n(t, g, 8, 1, heads + N);
	vsock_ops.queue_notify(t->dev, VSOCK_TXQ);
	assert_int_equal(tx_used_in_order(t, heads, &next), 1);
	assert_int_equal(stats(t).passes_deferred, 1);
}

/* The byte budget: 64 KiB packets, VSOCK_TX_PASS_BYTES (and the one that crosses it) a pass. */
static void test_vsock_tx_byte_budget_splits_big_packets(void **state)
{
	struct tv *t = *state;
	const uint32_t len = VSOCK_HDR_LEN + VSOCK_MAX_PKT;
	const unsigned first = VSOCK_TX_PASS_BYTES / len + 1;
	enum { N = 20 };
	struct virtio_vsock_hdr h = gh(OP(RST), 5100, 90, VSOCK_MAX_PKT, GUEST_BUF, 0);
	uint16_t heads[N];
	unsigned next = 0;
	gpa_t g;

	big_txq(t);
	g = th_vq_alloc(&t->txd, len);
	/* an RST with payload: a bad packet, answered by nothing */
	assert_int_equal(gm_write(&t->gm, g, &h, sizeof(h)), 0);
	tx_post_n(t, g, len, N, heads);
	vsock_ops.queue_notify(t->dev, VSOCK_TXQ);
	assert_true(first < N && first < VSOCK_TX_PASS_CHAINS);
	assert_int_equal(tx_used_in_order(t, heads, &next), first);
	assert_true(th_reap(t, 0) >= 1);
	assert_int_equal(tx_used_in_order(t, heads, &next), N - first);
	assert_int_equal(stats(t).bad_pkts, N);
	assert_int_equal(stats(t).passes_deferred, 1);
	expect_no_rx(t);
}

/* A pass still owed when the driver resets the device: nothing runs after the reset. */
static void test_vsock_tx_resume_after_reset_runs_nothing(void **state)
{
	struct tv *t = *state;
	uint16_t heads[VSOCK_TX_PASS_CHAINS + 8];
	unsigned next = 0;

	big_txq(t);
	tx_post_n(t, th_vq_alloc(&t->txd, 16), 8, VSOCK_TX_PASS_CHAINS + 8, heads);
	vsock_ops.queue_notify(t->dev, VSOCK_TXQ);
	assert_int_equal(tx_used_in_order(t, heads, &next), VSOCK_TX_PASS_CHAINS);
	assert_int_equal(vsock_ops.reset(t->dev), 0);
	assert_true(th_reap(t, 0) >= 1); /* the resumption completes and finds nothing owed */
	assert_int_equal(th_vq_used_idx(&t->txd), VSOCK_TX_PASS_CHAINS);
	assert_int_equal(stats(t).bad_pkts, VSOCK_TX_PASS_CHAINS);
	/* a new driver, the same rings: its kick is served, the armed poll is gone */
	activate(t);
	vsock_ops.queue_notify(t->dev, VSOCK_TXQ);
	assert_int_equal(tx_used_in_order(t, heads, &next), 8);
	assert_int_equal(stats(t).passes_deferred, 1);
}

/* The loop is stopping: a spent pass owes nothing and arms nothing. */
static void test_vsock_tx_budget_while_stopping_arms_nothing(void **state)
{
	struct tv *t = *state;
	uint16_t heads[VSOCK_TX_PASS_CHAINS + 8];
	unsigned next = 0;

	big_txq(t);
	tx_post_n(t, th_vq_alloc(&t->txd, 16), 8, VSOCK_TX_PASS_CHAINS + 8, heads);
	t->evl.stopping = true;
	vsock_ops.queue_notify(t->dev, VSOCK_TXQ);
	assert_int_equal(tx_used_in_order(t, heads, &next), VSOCK_TX_PASS_CHAINS);
	th_reap(t, 0);
	assert_int_equal(th_vq_used_idx(&t->txd), VSOCK_TX_PASS_CHAINS);
	assert_int_equal(stats(t).passes_deferred, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vsock_hdr_check_each_field),
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
		cmocka_unit_test_setup_teardown(test_vsock_bad_packets_get_rst_and_no_crash, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vsock_bad_packet_on_live_connection_resets_it,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_vsock_shutdown_half_close_both_ways, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vsock_guest_rst_closes_host_socket, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vsock_guest_close_while_buffered_host_gets_every_byte,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_vsock_guest_rst_while_buffered_still_delivers,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_vsock_drain_deadline_closes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vsock_request_while_rst_owed_is_a_new_connection,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_vsock_tx_budget_splits_passes_in_order, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vsock_tx_byte_budget_splits_big_packets, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vsock_tx_resume_after_reset_runs_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vsock_tx_budget_while_stopping_arms_nothing,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
