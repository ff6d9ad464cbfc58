// SPDX-License-Identifier: MIT
/*
 * test_vnet_ctrl.c: virtio-net multiqueue (issue 16): the control-queue
 * parser on chains popped from rings in real guest RAM, and the real device
 * with several queue pairs, each on a SOCK_SEQPACKET pair standing in for a
 * tap queue. The test thread plays the event-loop thread (queue_notify,
 * vnet_rx_ready, loop_turn() for resumed passes), as in test_virtio_net.c.
 */
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
#include "devices/virtio/vnet_ctrl.h"
#include "tests/helpers/th.h"
#include "tests/helpers/th_vq_driver.h"
#include "tests/helpers/th_evl.h"

#define RAM MiB(8)
#define QSZ 128
#define REGION KiB(256)  /* rings and buffers of one queue, below its top */
#define PAIRS 4
#define NQ (2 * PAIRS + 1)
#define F(x) (1ULL << (x))
#define MQF (F(VIRTIO_NET_F_MQ) | F(VIRTIO_NET_F_CTRL_VQ))

struct tmq {
	struct guest_mem gm;
	struct th_vq d[NQ];     /* queue i's driver side */
	struct virtq vqs[NQ];
	struct evl evl;
	int peer[PAIRS];        /* the host side of each pair's "tap queue" */
	uint16_t pairs;
	void *dev;
};

/* ---- the parser alone ---------------------------------------------------- */

struct tp {
	struct guest_mem gm;
	struct th_vq d;
	struct virtq vq;
	struct vq_chain c;
};

static int setup_parse(void **state)
{
	struct tp *t = calloc(1, sizeof(*t));

	th_gm_create(&t->gm, MiB(2));
	th_vq_init(&t->d, &t->gm, QSZ);
	th_vq_bind(&t->d, &t->vq, true, true);
	*state = t;
	return 0;
}

static int teardown_parse(void **state)
{
	struct tp *t = *state;

	gm_destroy(&t->gm);
	free(t);
	return 0;
}

/* A buffer holding (len) bytes of (src) (or len writable bytes when src is NULL). */
static struct th_seg seg(struct th_vq *d, const void *src, uint32_t len, bool write)
{
	gpa_t g = th_vq_alloc(d, len ? len : 1);

	if (src && len)
		assert_int_equal(gm_write(d->gm, g, src, len), 0);
	return (struct th_seg){ g, len, write };
}

/* Publish (segs, n) and pop it into t->c. */
static void pop(struct tp *t, const struct th_seg *segs, unsigned n)
{
	th_vq_publish(&t->d, th_vq_add_chain(&t->d, segs, n));
	assert_int_equal(virtq_pop(&t->vq, &t->c), 1);
}

/* class, command, then (dlen) data bytes in one readable buffer, then a 1-byte ack. */
static gpa_t pop_cmd(struct tp *t, uint8_t class, uint8_t cmd, const void *data, uint32_t dlen)
{
	uint8_t b[16] = { class, cmd };
	struct th_seg s[2];

	assert_true(dlen <= sizeof(b) - 2);
	if (dlen)
		memcpy(b + 2, data, dlen);
	s[0] = seg(&t->d, b, 2 + dlen, false);
	s[1] = seg(&t->d, NULL, 1, true);
	pop(t, s, 2);
	return s[1].gpa;
}

static uint16_t le(uint16_t v)
{
	return htole16(v);
}

static void test_vnet_ctrl_vq_pairs_set_accepted_and_acked(void **state)
{
	struct tp *t = *state;
	struct vnet_ctrl_cmd cmd;
	uint16_t two = le(2);
	uint8_t ack = 0xee;
	gpa_t g = pop_cmd(t, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &two, 2);

	vnet_ctrl_parse(&t->c, 4, true, &cmd);
	assert_int_equal(cmd.ack, VIRTIO_NET_OK);
	assert_int_equal(cmd.pairs, 2);
	assert_null(cmd.why);
	assert_int_equal(vnet_ctrl_ack(&t->c, cmd.ack), 1);
	assert_int_equal(gm_read(&t->gm, g, &ack, 1), 0);
	assert_int_equal(ack, VIRTIO_NET_OK);
	/* the bounds themselves: 1 and max_virtqueue_pairs */
	uint16_t v = le(1);
	pop_cmd(t, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &v, 2);
	vnet_ctrl_parse(&t->c, 4, true, &cmd);
	assert_int_equal(cmd.pairs, 1);
	v = le(4);
	pop_cmd(t, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &v, 2);
	vnet_ctrl_parse(&t->c, 4, true, &cmd);
	assert_int_equal(cmd.pairs, 4);
}

/* virtio 1.2 message framing: class, command and data may sit in any descriptors */
static void test_vnet_ctrl_command_split_over_descriptors_parsed(void **state)
{
	struct tp *t = *state;
	struct vnet_ctrl_cmd cmd;
	uint8_t b[4] = { VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 3, 0 };
	uint8_t ack = 0xee;
	struct th_seg s[6] = { seg(&t->d, b, 1, false), seg(&t->d, b + 1, 2, false),
			       seg(&t->d, NULL, 0, false), seg(&t->d, b + 3, 1, false),
			       seg(&t->d, NULL, 0, true), seg(&t->d, NULL, 4, true) };

	pop(t, s, 6);
	vnet_ctrl_parse(&t->c, 4, true, &cmd);
	assert_int_equal(cmd.ack, VIRTIO_NET_OK);
	assert_int_equal(cmd.pairs, 3);
	/* the ack goes to the first writable byte, past a zero-length buffer */
	assert_int_equal(vnet_ctrl_ack(&t->c, VIRTIO_NET_OK), 1);
	assert_int_equal(gm_read(&t->gm, s[5].gpa, &ack, 1), 0);
	assert_int_equal(ack, VIRTIO_NET_OK);
}

static void expect_err(struct tp *t, uint16_t max, bool mq, const char *why)
{
	struct vnet_ctrl_cmd cmd;

	vnet_ctrl_parse(&t->c, max, mq, &cmd);
	assert_int_equal(cmd.ack, VIRTIO_NET_ERR);
	assert_int_equal(cmd.pairs, 0);
	assert_string_equal(cmd.why, why);
}

static void test_vnet_ctrl_pairs_out_of_range_refused(void **state)
{
	struct tp *t = *state;
	const uint16_t bad[] = { 0, 5, 0x8000, 0xffff };

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint16_t v = le(bad[i]);

		pop_cmd(t, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &v, 2);
		expect_err(t, 4, true, "virtqueue_pairs out of range");
	}
}

static void test_vnet_ctrl_pairs_set_without_mq_refused(void **state)
{
	struct tp *t = *state;
	uint16_t v = le(1);

	pop_cmd(t, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &v, 2);
	expect_err(t, 4, false, "VQ_PAIRS_SET without VIRTIO_NET_F_MQ");
}

static void test_vnet_ctrl_pairs_set_data_not_2_bytes_refused(void **state)
{
	struct tp *t = *state;
	uint8_t d[3] = { 2, 0, 0 };

	pop_cmd(t, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, d, 0);
	expect_err(t, 4, true, "VQ_PAIRS_SET data is not 2 bytes");
	pop_cmd(t, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, d, 1);
	expect_err(t, 4, true, "VQ_PAIRS_SET data is not 2 bytes");
	pop_cmd(t, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, d, 3);
	expect_err(t, 4, true, "VQ_PAIRS_SET data is not 2 bytes");
}

/* every class and command besides VQ_PAIRS_SET: none of their features is offered */
static void test_vnet_ctrl_other_classes_and_commands_refused(void **state)
{
	struct tp *t = *state;
	static const uint8_t cc[][2] = {
		{ VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC },
		{ VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET },
		{ VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_CTRL_VLAN_ADD },
		{ VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK },
		{ VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_RSS_CONFIG },
		{ VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_HASH_CONFIG },
		{ VIRTIO_NET_CTRL_MQ, 0xff },
		{ VIRTIO_NET_CTRL_GUEST_OFFLOADS, VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET },
		{ 6, 0 }, /* VIRTIO_NET_CTRL_NOTF_COAL */
		{ 0xff, 0xff },
	};
	uint16_t v = le(2);

	for (unsigned i = 0; i < sizeof(cc) / sizeof(cc[0]); i++) {
		pop_cmd(t, cc[i][0], cc[i][1], &v, 2);
		expect_err(t, 4, true, "class or command not offered");
	}
}

static void test_vnet_ctrl_short_header_refused(void **state)
{
	struct tp *t = *state;
	uint8_t c = VIRTIO_NET_CTRL_MQ;
	struct th_seg s[2] = { seg(&t->d, &c, 1, false), seg(&t->d, NULL, 1, true) };

	pop(t, s, 2);
	expect_err(t, 4, true, "shorter than class and command");
	/* nothing readable at all */
	s[0] = seg(&t->d, NULL, 1, true);
	pop(t, s, 1);
	expect_err(t, 4, true, "shorter than class and command");
}

/* STYLE §5: no writable byte for the status → used length 0, nothing written or done */
static void test_vnet_ctrl_no_writable_byte_not_carried_out(void **state)
{
	struct tp *t = *state;
	uint8_t b[4] = { VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2, 0 };
	struct th_seg s[2] = { seg(&t->d, b, 4, false), seg(&t->d, NULL, 0, true) };

	pop(t, s, 1);
	expect_err(t, 4, true, "no writable byte for the ack");
	assert_int_equal(vnet_ctrl_ack(&t->c, VIRTIO_NET_ERR), 0);
	/* a zero-length writable descriptor is no byte either */
	pop(t, s, 2);
	expect_err(t, 4, true, "no writable byte for the ack");
	assert_int_equal(vnet_ctrl_ack(&t->c, VIRTIO_NET_ERR), 0);
}

/* ---- the device with several pairs --------------------------------------- */

static gpa_t top_of(unsigned q)
{
	return RAM - (gpa_t)q * REGION;
}

static void activate(struct tmq *t, uint64_t features)
{
	struct virtio_activation act = { .gm = &t->gm, .vqs = t->vqs, .nr_vqs = NQ,
					 .evl = &t->evl, .features = features };

	assert_int_equal(vnet_ops.set_features(t->dev, features), 0);
	assert_int_equal(vnet_ops.activate(t->dev, &act), 0);
}

/* A device of (pairs) pairs with every queue enabled, activated with (features). */
static int setup_pairs(void **state, uint16_t pairs, uint64_t features)
{
	struct tmq *t = calloc(1, sizeof(*t));
	struct vnet_config cfg = { .nr_pairs = pairs, .mac = { 2, 0, 0, 0, 0, 9 }, .name = "mq" };
	char err[128];

	th_gm_create(&t->gm, RAM);
	for (unsigned q = 0; q < NQ; q++) {
		th_vq_init_at(&t->d[q], &t->gm, QSZ, top_of(q));
		t->d[q].buf_floor = top_of(q + 1);
		th_vq_bind(&t->d[q], &t->vqs[q], true, true);
	}
	for (unsigned i = 0; i < pairs; i++) {
		int sv[2];

		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
					    0, sv), 0);
		cfg.fds[i] = sv[0];
		t->peer[i] = sv[1];
	}
	t->pairs = pairs;
	t->dev = vnet_create(&cfg, err, sizeof(err));
	assert_non_null(t->dev);
	assert_int_equal(evl_init(&t->evl, 32), 0);
	activate(t, features);
	*state = t;
	return 0;
}

static int setup_mq(void **state)
{
	return setup_pairs(state, PAIRS, MQF);
}

/* CTRL_VQ without MQ: one usable pair, the control queue at index 2 */
static int setup_ctrl_only(void **state)
{
	return setup_pairs(state, PAIRS, F(VIRTIO_NET_F_CTRL_VQ));
}

static int teardown(void **state)
{
	struct tmq *t = *state;

	assert_int_equal(vnet_ops.reset(t->dev), 0);
	evl_fini(&t->evl);
	vnet_ops.destroy(t->dev);
	for (unsigned i = 0; i < t->pairs; i++)
		close(t->peer[i]);
	gm_destroy(&t->gm);
	free(t);
	return 0;
}

/* Play the loop for one turn (test_virtio_net.c's loop_turn()). Return: completions run. */
static unsigned loop_turn(struct tmq *t, unsigned ms)
{
	return th_evl_turn(&t->evl, ms);
}

static struct vnet_stats stats(struct tmq *t)
{
	struct vnet_stats st;

	vnet_get_stats(t->dev, &st);
	return st;
}

/* Post a transmit frame of (plen) payload bytes (v) on pair (p) without kicking. */
static void post_tx(struct tmq *t, unsigned p, size_t plen, uint8_t v)
{
	struct th_vq *d = &t->d[2 * p + 1];
	uint8_t buf[VNET_HDR_LEN + 128] = { 0 };
	struct th_seg s;

	assert_true(plen <= sizeof(buf) - VNET_HDR_LEN);
	memset(buf + VNET_HDR_LEN, v, plen);
	s = seg(d, buf, (uint32_t)(VNET_HDR_LEN + plen), false);
	th_vq_publish(d, th_vq_add_chain(d, &s, 1));
}

/* Post a receive buffer on pair (p). */
static void post_rx(struct tmq *t, unsigned p)
{
	struct th_vq *d = &t->d[2 * p];
	struct th_seg s = seg(d, NULL, 1526, true);

	th_vq_publish(d, th_vq_add_chain(d, &s, 1));
}

/* The tap queue of pair (p) delivers a frame of (plen) bytes (v). */
static void tap_send(struct tmq *t, unsigned p, size_t plen, uint8_t v)
{
	uint8_t f[VNET_HDR_LEN + 128] = { 0 };

	memset(f + VNET_HDR_LEN, v, plen);
	assert_int_equal(send(t->peer[p], f, VNET_HDR_LEN + plen, 0),
			 (ssize_t)(VNET_HDR_LEN + plen));
}

/* A frame the device wrote to pair (p)'s tap queue: its first payload byte, or -1. */
static int peer_got(struct tmq *t, unsigned p)
{
	uint8_t f[VNET_HDR_LEN + 256];
	ssize_t n = recv(t->peer[p], f, sizeof(f), MSG_DONTWAIT);

	return n > VNET_HDR_LEN ? f[VNET_HDR_LEN] : -1;
}

/* Send one control command (class, cmd, le16 v) on queue (cq) and kick; return the ack, or -1. */
static int ctrl(struct tmq *t, uint16_t cq, uint8_t class, uint8_t cmd, uint16_t v)
{
	struct th_vq *d = &t->d[cq];
	uint8_t b[4] = { class, cmd, (uint8_t)v, (uint8_t)(v >> 8) }, ack = 0xee;
	struct th_seg s[2] = { seg(d, b, 4, false), seg(d, NULL, 1, true) };
	uint16_t head = th_vq_add_chain(d, s, 2);
	uint32_t id, len;

	th_vq_publish(d, head);
	vnet_ops.queue_notify(t->dev, cq);
	if (!th_vq_get_used(d, &id, &len))
		return -1;
	assert_int_equal(id, head);
	assert_int_equal(len, 1);
	assert_int_equal(gm_read(&t->gm, s[1].gpa, &ack, 1), 0);
	return ack;
}

static int pairs_set(struct tmq *t, uint16_t v)
{
	return ctrl(t, 2 * PAIRS, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, v);
}

static void test_vnet_mq_offered_only_with_more_than_one_pair(void **state)
{
	struct vnet_config one = { .nr_pairs = 1 }, four = { .nr_pairs = 4 };
	struct virtio_net_config c;
	char err[128];
	int sv[2][2];

	for (int i = 0; i < 2; i++)
		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv[i]), 0);
	one.fds[0] = sv[0][0];
	void *d1 = vnet_create(&one, err, sizeof(err));
	/* four pairs over two socketpair ends: only the count matters here */
	four.fds[0] = sv[1][0];
	four.fds[1] = dup(sv[1][0]);
	four.fds[2] = dup(sv[1][0]);
	four.fds[3] = dup(sv[1][0]);
	void *d4 = vnet_create(&four, err, sizeof(err));

	assert_non_null(d1);
	assert_non_null(d4);
	/* one pair: exactly the device of before, two queues and no control queue */
	assert_int_equal(vnet_ops.features(d1) & MQF, 0);
	assert_int_equal(vnet_nr_queues(d1), 2);
	assert_int_equal(vnet_ops.features(d4) & MQF, MQF);
	assert_int_equal(vnet_nr_queues(d4), 9);
	vnet_ops.config_read(d1, 0, &c, 10);
	assert_int_equal(le16toh(c.max_virtqueue_pairs), 1);
	vnet_ops.config_read(d4, 0, &c, 10);
	assert_int_equal(le16toh(c.max_virtqueue_pairs), 4);
	/* virtio 1.2 §5.1.3.1: MQ needs CTRL_VQ */
	assert_int_equal(vnet_ops.set_features(d4, F(VIRTIO_NET_F_MQ)), -EINVAL);
	assert_int_equal(vnet_ops.set_features(d4, MQF), 0);
	assert_int_equal(vnet_ops.set_features(d4, F(VIRTIO_NET_F_CTRL_VQ)), 0);
	/* more pairs than the device takes: refused, every fd closed */
	struct vnet_config many = { .nr_pairs = VNET_MAX_PAIRS + 1 };
	for (int i = 0; i < VNET_MAX_PAIRS; i++)
		many.fds[i] = -1;
	assert_null(vnet_create(&many, err, sizeof(err)));
	assert_string_equal(err, "virtio-net: 17 queue pairs (at most 16)");
	vnet_ops.destroy(d1);
	vnet_ops.destroy(d4);
	close(sv[0][1]);
	close(sv[1][1]);
}

/* Only pair 0 is served until VQ_PAIRS_SET; then the new pairs start at once. */
static void test_vnet_mq_pair_unused_until_pairs_set(void **state)
{
	struct tmq *t = *state;
	struct vnet_stats st;

	assert_int_equal(stats(t).active_pairs, 1);
	post_tx(t, 1, 60, 0x11);
	vnet_ops.queue_notify(t->dev, 3); /* transmit queue of pair 1: not in use */
	post_rx(t, 1);
	vnet_ops.queue_notify(t->dev, 2);
	tap_send(t, 1, 40, 0x22);
	vnet_rx_ready(t->dev);
	assert_int_equal(peer_got(t, 1), -1);
	assert_int_equal(th_vq_used_idx(&t->d[3]), 0);
	assert_int_equal(th_vq_used_idx(&t->d[2]), 0);
	st = stats(t);
	assert_int_equal(st.kicks_ignored, 2);
	/* pair 0 works meanwhile */
	post_tx(t, 0, 60, 0x33);
	vnet_ops.queue_notify(t->dev, 1);
	assert_int_equal(peer_got(t, 0), 0x33);
	/* two pairs: the frame waiting on pair 1's transmit queue goes out, the tap's comes in */
	assert_int_equal(pairs_set(t, 2), VIRTIO_NET_OK);
	assert_int_equal(peer_got(t, 1), 0x11);
	assert_int_equal(th_vq_used_idx(&t->d[3]), 1);
	assert_int_equal(th_vq_used_idx(&t->d[2]), 1);
	st = stats(t);
	assert_int_equal(st.active_pairs, 2);
	assert_int_equal(st.ctrl_ok, 1);
	assert_int_equal(st.pair_tx_frames[0], 1);
	assert_int_equal(st.pair_tx_frames[1], 1);
	assert_int_equal(st.pair_rx_frames[1], 1);
	assert_int_equal(st.pair_rx_frames[0], 0);
	/* pair 2 is still not in use */
	post_tx(t, 2, 20, 0x44);
	vnet_ops.queue_notify(t->dev, 5);
	assert_int_equal(peer_got(t, 2), -1);
}

/* Each pair moves its own frames: transmit to its own tap queue, receive from it. */
static void test_vnet_mq_each_pair_uses_its_own_tap_queue(void **state)
{
	struct tmq *t = *state;
	struct vnet_stats st;

	assert_int_equal(pairs_set(t, PAIRS), VIRTIO_NET_OK);
	for (unsigned p = 0; p < PAIRS; p++) {
		post_tx(t, p, 30, (uint8_t)(0x50 + p));
		vnet_ops.queue_notify(t->dev, (uint16_t)(2 * p + 1));
		post_rx(t, p);
		vnet_ops.queue_notify(t->dev, (uint16_t)(2 * p));
	}
	for (unsigned p = 0; p < PAIRS; p++) {
		assert_int_equal(peer_got(t, p), 0x50 + p);
		assert_int_equal(peer_got(t, p), -1);
		tap_send(t, p, 20 + p, (uint8_t)p);
	}
	vnet_rx_ready(t->dev);
	st = stats(t);
	for (unsigned p = 0; p < PAIRS; p++) {
		uint32_t id, len;

		assert_true(th_vq_get_used(&t->d[2 * p], &id, &len));
		assert_int_equal(len, VNET_HDR_LEN + 20 + p);
		assert_int_equal(st.pair_rx_frames[p], 1);
		assert_int_equal(st.pair_tx_frames[p], 1);
	}
	assert_int_equal(st.rx_frames, PAIRS);
	assert_int_equal(st.tx_frames, PAIRS);
}

/* Fewer pairs again: those beyond are neither polled nor served. */
static void test_vnet_mq_fewer_pairs_stop_serving_the_rest(void **state)
{
	struct tmq *t = *state;

	assert_int_equal(pairs_set(t, 3), VIRTIO_NET_OK);
	assert_int_equal(pairs_set(t, 1), VIRTIO_NET_OK);
	assert_int_equal(stats(t).active_pairs, 1);
	post_tx(t, 2, 30, 0x66);
	vnet_ops.queue_notify(t->dev, 5);
	assert_int_equal(peer_got(t, 2), -1);
	post_rx(t, 1);
	tap_send(t, 1, 30, 1);
	vnet_ops.queue_notify(t->dev, 2);
	vnet_rx_ready(t->dev);
	assert_int_equal(th_vq_used_idx(&t->d[2]), 0);
	/* a poll still armed on pair 1 may fire: it reads nothing for an unused pair */
	loop_turn(t, 10);
	assert_int_equal(th_vq_used_idx(&t->d[2]), 0);
	assert_int_equal(stats(t).pair_rx_frames[1], 0);
}

static void test_vnet_mq_pairs_set_out_of_range_and_others_answer_err(void **state)
{
	struct tmq *t = *state;
	struct vnet_stats st;

	assert_int_equal(pairs_set(t, 0), VIRTIO_NET_ERR);
	assert_int_equal(pairs_set(t, PAIRS + 1), VIRTIO_NET_ERR);
	assert_int_equal(pairs_set(t, 0xffff), VIRTIO_NET_ERR);
	assert_int_equal(ctrl(t, 2 * PAIRS, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 1),
			 VIRTIO_NET_ERR);
	assert_int_equal(ctrl(t, 2 * PAIRS, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, 0),
			 VIRTIO_NET_ERR);
	st = stats(t);
	assert_int_equal(st.active_pairs, 1);
	assert_int_equal(st.ctrl_err, 5);
	assert_int_equal(st.ctrl_ok, 0);
}

/* CTRL_VQ without MQ: the control queue is 2, one pair, VQ_PAIRS_SET refused. */
static void test_vnet_ctrl_vq_without_mq_is_queue_2(void **state)
{
	struct tmq *t = *state;

	assert_int_equal(ctrl(t, 2, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 1),
			 VIRTIO_NET_ERR);
	/* queue 8 has no role now, nor do queues 3.. */
	assert_int_equal(ctrl(t, 2 * PAIRS, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
			      2), -1);
	post_tx(t, 1, 30, 0x77);
	vnet_ops.queue_notify(t->dev, 3);
	assert_int_equal(peer_got(t, 1), -1);
	assert_int_equal(stats(t).active_pairs, 1);
}

/* A malformed control chain breaks that queue only; the pairs go on. */
static void test_vnet_ctrl_malformed_chain_breaks_control_queue(void **state)
{
	struct tmq *t = *state;
	struct th_vq *d = &t->d[2 * PAIRS];

	th_vq_write_desc(d, d->desc, 0, th_vq_alloc(d, 16), 16, VRING_DESC_F_NEXT, 0);
	th_vq_publish(d, 0);
	vnet_ops.queue_notify(t->dev, 2 * PAIRS);
	assert_true(t->vqs[2 * PAIRS].vq_broken);
	assert_int_equal(th_vq_used_idx(d), 0);
	/* later kicks find it broken and do nothing */
	vnet_ops.queue_notify(t->dev, 2 * PAIRS);
	post_tx(t, 0, 30, 0x12);
	vnet_ops.queue_notify(t->dev, 1);
	assert_int_equal(peer_got(t, 0), 0x12);
}

/* More commands than one pass takes: the rest are answered at the loop's next turns. */
static void test_vnet_ctrl_budget_splits_passes(void **state)
{
	struct tmq *t = *state;
	struct th_vq *d = &t->d[2 * PAIRS];
	uint32_t id, len;
	unsigned got = 0, turns = 0;

	for (unsigned i = 0; i < QSZ - 1; i++) {
		uint8_t b[4] = { VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
				 (uint8_t)(1 + i % PAIRS), 0 };
		struct th_seg s[2] = { seg(d, b, 4, false), seg(d, NULL, 1, true) };

		th_vq_publish(d, th_vq_add_chain(d, s, 2));
	}
	vnet_ops.queue_notify(t->dev, 2 * PAIRS);
	while (th_vq_get_used(d, &id, &len))
		got++;
	assert_int_equal(got, VNET_PASS_CHAINS < QSZ - 1 ? VNET_PASS_CHAINS : QSZ - 1);
	while (got < QSZ - 1 && turns++ < 10) {
		loop_turn(t, 50);
		while (th_vq_get_used(d, &id, &len))
			got++;
	}
	assert_int_equal(got, QSZ - 1);
	assert_int_equal(stats(t).ctrl_ok, QSZ - 1);
	assert_int_equal(stats(t).active_pairs, 1 + (QSZ - 2) % PAIRS);
}

/* A reset puts the device back to one pair; so does the next activation. */
static void test_vnet_mq_reset_back_to_one_pair(void **state)
{
	struct tmq *t = *state;

	assert_int_equal(pairs_set(t, 3), VIRTIO_NET_OK);
	assert_int_equal(vnet_ops.reset(t->dev), 0);
	assert_int_equal(stats(t).active_pairs, 1);
	for (unsigned q = 0; q < NQ; q++) {
		th_vq_init_at(&t->d[q], &t->gm, QSZ, top_of(q));
		t->d[q].buf_floor = top_of(q + 1);
		th_vq_bind(&t->d[q], &t->vqs[q], true, true);
	}
	activate(t, MQF);
	assert_int_equal(stats(t).active_pairs, 1);
	post_tx(t, 2, 30, 0x21);
	vnet_ops.queue_notify(t->dev, 5);
	assert_int_equal(peer_got(t, 2), -1);
	assert_int_equal(pairs_set(t, 3), VIRTIO_NET_OK);
	assert_int_equal(peer_got(t, 2), 0x21);
}

/* Kicks on queue numbers past every role are counted and ignored. */
static void test_vnet_mq_kick_on_queue_without_role_ignored(void **state)
{
	struct tmq *t = *state;

	vnet_ops.queue_notify(t->dev, NQ);
	vnet_ops.queue_notify(t->dev, 63);
	vnet_ops.queue_notify(t->dev, 0xffff);
	assert_int_equal(stats(t).kicks_ignored, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_vnet_ctrl_vq_pairs_set_accepted_and_acked,
						setup_parse, teardown_parse),
		cmocka_unit_test_setup_teardown(
			test_vnet_ctrl_command_split_over_descriptors_parsed, setup_parse,
			teardown_parse),
		cmocka_unit_test_setup_teardown(test_vnet_ctrl_pairs_out_of_range_refused,
						setup_parse, teardown_parse),
		cmocka_unit_test_setup_teardown(test_vnet_ctrl_pairs_set_without_mq_refused,
						setup_parse, teardown_parse),
		cmocka_unit_test_setup_teardown(test_vnet_ctrl_pairs_set_data_not_2_bytes_refused,
						setup_parse, teardown_parse),
		cmocka_unit_test_setup_teardown(test_vnet_ctrl_other_classes_and_commands_refused,
						setup_parse, teardown_parse),
		cmocka_unit_test_setup_teardown(test_vnet_ctrl_short_header_refused, setup_parse,
						teardown_parse),
		cmocka_unit_test_setup_teardown(test_vnet_ctrl_no_writable_byte_not_carried_out,
						setup_parse, teardown_parse),
		cmocka_unit_test(test_vnet_mq_offered_only_with_more_than_one_pair),
		cmocka_unit_test_setup_teardown(test_vnet_mq_pair_unused_until_pairs_set, setup_mq,
						teardown),
		cmocka_unit_test_setup_teardown(test_vnet_mq_each_pair_uses_its_own_tap_queue,
						setup_mq, teardown),
		cmocka_unit_test_setup_teardown(test_vnet_mq_fewer_pairs_stop_serving_the_rest,
						setup_mq, teardown),
		cmocka_unit_test_setup_teardown(
			test_vnet_mq_pairs_set_out_of_range_and_others_answer_err, setup_mq,
			teardown),
		cmocka_unit_test_setup_teardown(test_vnet_ctrl_vq_without_mq_is_queue_2,
						setup_ctrl_only, teardown),
		cmocka_unit_test_setup_teardown(test_vnet_ctrl_malformed_chain_breaks_control_queue,
						setup_mq, teardown),
		cmocka_unit_test_setup_teardown(test_vnet_ctrl_budget_splits_passes, setup_mq,
						teardown),
		cmocka_unit_test_setup_teardown(test_vnet_mq_reset_back_to_one_pair, setup_mq,
						teardown),
		cmocka_unit_test_setup_teardown(test_vnet_mq_kick_on_queue_without_role_ignored,
						setup_mq, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
