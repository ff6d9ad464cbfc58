// SPDX-License-Identifier: MIT
/*
 * test_vnet_stream.c: virtio-net's stream back end (vnet_stream.c), the
 * framing passt speaks: the real device on rings written by th_vq_driver in
 * real guest RAM, a connected SOCK_STREAM pair standing in for passt (4-byte
 * big-endian length, then the frame, no vnet header). The test thread plays
 * the event-loop thread (th_evl.h) where a poll must fire.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/virtio/virtio_net.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/helpers/th.h"
#include "tests/helpers/th_evl.h"
#include "tests/helpers/th_vq_driver.h"

#define RAM MiB(8)
#define F(x) (1ULL << (x))
#define MRG F(VIRTIO_NET_F_MRG_RXBUF)

struct ts {
	struct guest_mem gm;
	struct th_vq rxd, txd;
	struct virtq vqs[2];
	struct evl evl;
	int peer;   /* passt's end */
	int dev_fd; /* the device's end (it owns it) */
	void *dev;
};

static int setup(void **state)
{
	struct ts *t = calloc(1, sizeof(*t));
	struct virtio_activation act;
	int sv[2];
	char err[128];

	th_gm_create(&t->gm, RAM);
	th_vq_init(&t->rxd, &t->gm, 256);
	th_vq_init_at(&t->txd, &t->gm, 256, MiB(4));
	th_vq_bind(&t->rxd, &t->vqs[VNET_RXQ], true, true);
	th_vq_bind(&t->txd, &t->vqs[VNET_TXQ], true, true);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	t->peer = sv[1];
	t->dev_fd = sv[0];
	struct vnet_config cfg = { .fds = { sv[0] }, .stream = true,
				   .mac = { 2, 0, 0, 0, 0, 7 }, .name = "user" };
	t->dev = vnet_create(&cfg, err, sizeof(err));
	assert_non_null(t->dev);
	assert_int_equal(evl_init(&t->evl, 32), 0);
	act = (struct virtio_activation){ .gm = &t->gm, .vqs = t->vqs, .nr_vqs = 2,
					  .evl = &t->evl, .features = MRG };
	assert_int_equal(vnet_ops.set_features(t->dev, MRG), 0);
	assert_int_equal(vnet_ops.activate(t->dev, &act), 0);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct ts *t = *state;

	assert_int_equal(vnet_ops.reset(t->dev), 0);
	evl_fini(&t->evl);
	vnet_ops.destroy(t->dev);
	if (t->peer >= 0)
		close(t->peer);
	gm_destroy(&t->gm);
	free(t);
	return 0;
}

/* The guest sends one frame of (plen) bytes of (v), behind a plain header, in two descriptors. */
static void guest_tx(struct ts *t, size_t plen, uint8_t v)
{
	uint8_t *all = calloc(1, VNET_HDR_LEN + plen);
	struct th_seg s[2];

	memset(all + VNET_HDR_LEN, v, plen);
	s[0] = (struct th_seg){ th_vq_alloc(&t->txd, 5), 5, false };
	s[1] = (struct th_seg){ th_vq_alloc(&t->txd, VNET_HDR_LEN + plen - 5),
				(uint32_t)(VNET_HDR_LEN + plen - 5), false };
	assert_int_equal(gm_write(&t->gm, s[0].gpa, all, 5), 0);
	assert_int_equal(gm_write(&t->gm, s[1].gpa, all + 5, VNET_HDR_LEN + plen - 5), 0);
	th_vq_publish(&t->txd, th_vq_add_chain(&t->txd, s, 2));
	free(all);
}

/*
 * Read exactly (len) bytes from the peer; while none are there, play the
 * loop (the device's POLLOUT poll sends the rest), at most a second.
 */
static void peer_read_all(struct ts *t, void *buf, size_t len)
{
	size_t got = 0;
	unsigned idle = 0;

	while (got < len) {
		ssize_t r = read(t->peer, (uint8_t *)buf + got, len - got);

		if (r < 0 && errno == EAGAIN) {
			assert_true(++idle < 100);
			th_evl_turn(&t->evl, 10);
			continue;
		}
		idle = 0;
		assert_true(r > 0);
		got += (size_t)r;
	}
}

/* One frame from the peer: its length prefix, then (plen) bytes all (v). */
static void peer_expect_frame(struct ts *t, size_t plen, uint8_t v)
{
	uint8_t *f = malloc(plen);
	uint32_t be;

	peer_read_all(t, &be, 4);
	assert_int_equal(ntohl(be), plen);
	peer_read_all(t, f, plen);
	for (size_t i = 0; i < plen; i++)
		if (f[i] != v)
			fail_msg("byte %zu of a %zu-byte frame is %#x, not %#x", i, plen, f[i], v);
	free(f);
}

static void test_stream_offers_no_offloads(void **state)
{
	struct ts *t = *state;
	uint64_t f = vnet_ops.features(t->dev);

	assert_true(f & MRG);
	assert_false(f & F(VIRTIO_NET_F_CSUM));
	assert_false(f & F(VIRTIO_NET_F_HOST_TSO4));
	assert_false(f & F(VIRTIO_NET_F_HOST_TSO6));
	assert_false(f & F(VIRTIO_NET_F_GUEST_CSUM));
	assert_false(f & F(VIRTIO_NET_F_MQ));
}

static void test_stream_tx_frames_behind_length_without_header(void **state)
{
	struct ts *t = *state;
	struct vnet_stats st;
	uint32_t id, len;

	guest_tx(t, 60, 0x11);
	guest_tx(t, 1514, 0x22);
	vnet_ops.queue_notify(t->dev, VNET_TXQ);
	assert_true(th_vq_get_used(&t->txd, &id, &len));
	assert_true(th_vq_get_used(&t->txd, &id, &len));
	peer_expect_frame(t, 60, 0x11);
	peer_expect_frame(t, 1514, 0x22);
	vnet_get_stats(t->dev, &st);
	assert_int_equal(st.tx_frames, 2);
	assert_int_equal(st.tx_errors, 0);
}

/*
 * The socket takes frames only in part (a small send buffer, a slow peer):
 * every frame still arrives whole and in order, the queue waits for POLLOUT
 * and goes on by itself.
 */
static void test_stream_tx_partial_writes_keep_framing(void **state)
{
	struct ts *t = *state;
	int small = 4096, fd = t->dev_fd; /* the device's end: a small send buffer */
	unsigned frames = 40, used = 0;
	uint32_t id, len;

	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	for (unsigned i = 0; i < frames; i++)
		guest_tx(t, 9000 + i, (uint8_t)(i + 1));
	vnet_ops.queue_notify(t->dev, VNET_TXQ);
	for (unsigned i = 0; i < frames; i++) {
		peer_expect_frame(t, 9000 + i, (uint8_t)(i + 1));
	}
	while (th_vq_get_used(&t->txd, &id, &len))
		used++;
	assert_int_equal(used, frames);
	struct vnet_stats st;
	vnet_get_stats(t->dev, &st);
	assert_true(st.tx_partial > 0); /* the case this test is about did happen */
	assert_int_equal(st.tx_frames, frames);
	uint8_t b;
	assert_int_equal(read(t->peer, &b, 1), -1); /* nothing more */
	assert_int_equal(errno, EAGAIN);
}

/* Post (n) receive buffers of (len) bytes each. */
static void post_rx(struct ts *t, unsigned n, uint32_t len, gpa_t *first)
{
	for (unsigned i = 0; i < n; i++) {
		struct th_seg s = { th_vq_alloc(&t->rxd, len), len, true };

		if (first && i == 0)
			*first = s.gpa;
		th_vq_publish(&t->rxd, th_vq_add_chain(&t->rxd, &s, 1));
	}
}

/* The peer writes (f, len) as it is. */
static void peer_write(struct ts *t, const void *f, size_t len)
{
	assert_int_equal(write(t->peer, f, len), (ssize_t)len);
}

/* A length-prefixed frame of (plen) bytes of (v) into (buf); returns its size. */
static size_t frame(uint8_t *buf, size_t plen, uint8_t v)
{
	uint32_t be = htonl((uint32_t)plen);

	memcpy(buf, &be, 4);
	memset(buf + 4, v, plen);
	return 4 + plen;
}

static void test_stream_rx_cuts_frames_from_bulk_and_split_writes(void **state)
{
	struct ts *t = *state;
	static uint8_t buf[3 * (4 + 70000)];
	uint8_t hdr[VNET_HDR_LEN], b;
	gpa_t g;
	uint32_t id, len;
	size_t n = 0;

	post_rx(t, 64, 2048, &g);
	/* three frames in one write, then one split in the middle of its length */
	n += frame(buf + n, 100, 0xa1);
	n += frame(buf + n, 1514, 0xa2);
	n += frame(buf + n, 60, 0xa3);
	size_t at = n;
	n += frame(buf + n, 3000, 0xa4);
	peer_write(t, buf, at + 2);
	vnet_rx_ready(t->dev);
	assert_true(th_vq_get_used(&t->rxd, &id, &len));
	assert_int_equal(len, VNET_HDR_LEN + 100);
	assert_int_equal(gm_read(&t->gm, g, hdr, sizeof(hdr)), 0);
	assert_int_equal(hdr[0], 0); /* no DATA_VALID: the guest checks the sums */
	assert_int_equal(hdr[10], 1);
	assert_int_equal(gm_read(&t->gm, g + VNET_HDR_LEN + 99, &b, 1), 0);
	assert_int_equal(b, 0xa1);
	assert_true(th_vq_get_used(&t->rxd, &id, &len));
	assert_int_equal(len, VNET_HDR_LEN + 1514);
	assert_true(th_vq_get_used(&t->rxd, &id, &len));
	assert_int_equal(len, VNET_HDR_LEN + 60);
	assert_false(th_vq_get_used(&t->rxd, &id, &len)); /* the 4th is incomplete */
	peer_write(t, buf + at + 2, n - at - 2);
	assert_true(th_evl_turn(&t->evl, 1000) >= 1); /* the device's read poll fires */
	/* 3000 + 12 bytes over two 2048-byte buffers (MRG_RXBUF) */
	assert_true(th_vq_get_used(&t->rxd, &id, &len));
	assert_int_equal(len, 2048);
	assert_true(th_vq_get_used(&t->rxd, &id, &len));
	assert_int_equal(len, VNET_HDR_LEN + 3000 - 2048);
	struct vnet_stats st;
	vnet_get_stats(t->dev, &st);
	assert_int_equal(st.rx_frames, 4);
}

/* More frames than one pass reads, all already in the stream buffer: none is stranded. */
static void test_stream_rx_many_small_frames_all_delivered(void **state)
{
	struct ts *t = *state;
	static uint8_t buf[200 * 64];
	size_t n = 0;
	unsigned got = 0;
	uint32_t id, len;

	for (unsigned i = 0; i < 200; i++)
		n += frame(buf + n, 60, (uint8_t)i);
	post_rx(t, 200, 128, NULL);
	peer_write(t, buf, n);
	vnet_rx_ready(t->dev);
	for (int turns = 0; turns < 20 && got < 200; turns++) {
		while (th_vq_get_used(&t->rxd, &id, &len)) {
			assert_int_equal(len, VNET_HDR_LEN + 60);
			got++;
		}
		th_evl_turn(&t->evl, 100);
	}
	while (th_vq_get_used(&t->rxd, &id, &len))
		got++;
	assert_int_equal(got, 200);
}

static uint16_t status(struct ts *t)
{
	uint8_t c[8];

	vnet_ops.config_read(t->dev, 0, c, sizeof(c));
	return (uint16_t)(c[6] | c[7] << 8);
}

static void test_stream_peer_closing_takes_link_down(void **state)
{
	struct ts *t = *state;
	uint8_t buf[4 + 60];
	uint32_t id, len;
	struct vnet_stats st;

	assert_int_equal(status(t), VIRTIO_NET_S_LINK_UP);
	post_rx(t, 4, 2048, NULL);
	peer_write(t, buf, frame(buf, 60, 1));
	close(t->peer);
	t->peer = -1;
	vnet_rx_ready(t->dev);
	assert_true(th_vq_get_used(&t->rxd, &id, &len)); /* what came before the close */
	assert_int_equal(status(t), 0);
	/* the guest's frames are dropped and counted from here, the queue still completes them */
	guest_tx(t, 60, 2);
	vnet_ops.queue_notify(t->dev, VNET_TXQ);
	assert_true(th_vq_get_used(&t->txd, &id, &len));
	vnet_get_stats(t->dev, &st);
	assert_int_equal(st.tx_errors, 1);
}

static void test_stream_length_out_of_range_stops_reading(void **state)
{
	struct ts *t = *state;
	uint8_t buf[2 * (4 + 60)];
	uint32_t be = htonl(VNET_MAX_FRAME + 1), id, len;
	size_t n = frame(buf, 60, 3);

	post_rx(t, 4, 2048, NULL);
	memcpy(buf + n, &be, 4);
	peer_write(t, buf, n + 4);
	vnet_rx_ready(t->dev);
	assert_true(th_vq_get_used(&t->rxd, &id, &len));
	assert_false(th_vq_get_used(&t->rxd, &id, &len));
	assert_int_equal(status(t), 0);
	/* nothing after a broken length is believed */
	peer_write(t, buf, n);
	vnet_rx_ready(t->dev);
	assert_false(th_vq_get_used(&t->rxd, &id, &len));
}

/* A driver reset between halves of a frame: the stream stays in step. */
static void test_stream_reset_keeps_stream_in_step(void **state)
{
	struct ts *t = *state;
	uint8_t buf[2 * (4 + 100)];
	size_t n = frame(buf, 100, 5);
	struct virtio_activation act = { .gm = &t->gm, .vqs = t->vqs, .nr_vqs = 2,
					 .evl = &t->evl, .features = MRG };
	uint32_t id, len;

	n += frame(buf + n, 100, 6);
	peer_write(t, buf, n - 50);
	post_rx(t, 1, 2048, NULL);
	vnet_rx_ready(t->dev);
	assert_true(th_vq_get_used(&t->rxd, &id, &len));
	assert_int_equal(vnet_ops.reset(t->dev), 0);
	th_vq_init(&t->rxd, &t->gm, 256);
	th_vq_bind(&t->rxd, &t->vqs[VNET_RXQ], true, true);
	assert_int_equal(vnet_ops.activate(t->dev, &act), 0);
	post_rx(t, 1, 2048, NULL);
	peer_write(t, buf + n - 50, 50);
	vnet_rx_ready(t->dev);
	assert_true(th_vq_get_used(&t->rxd, &id, &len));
	assert_int_equal(len, VNET_HDR_LEN + 100);
	assert_int_equal(status(t), VIRTIO_NET_S_LINK_UP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stream_offers_no_offloads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_tx_frames_behind_length_without_header,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_tx_partial_writes_keep_framing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stream_rx_cuts_frames_from_bulk_and_split_writes,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_rx_many_small_frames_all_delivered, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stream_peer_closing_takes_link_down, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stream_length_out_of_range_stops_reading, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stream_reset_keeps_stream_in_step, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
