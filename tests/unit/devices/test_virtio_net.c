// SPDX-License-Identifier: MIT
/*
 * test_virtio_net.c: the real virtio-net device on rings written by
 * th_vq_driver in real guest RAM, with a SOCK_SEQPACKET pair standing in for
 * the tap (one message per frame, vnet header first, like a tap with
 * IFF_VNET_HDR). The test thread plays the event-loop thread: it calls
 * queue_notify and vnet_rx_ready itself; the loop's ring only carries the
 * device's tap poll, which is never submitted until evl_fini() cancels it.
 */
#include <endian.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/virtio/virtio_net.h"
#include "tests/helpers/th.h"
#include "tests/helpers/th_vq_driver.h"

#define RAM MiB(4)
#define F(x) (1ULL << (x))
#define MRG F(VIRTIO_NET_F_MRG_RXBUF)
#define TX_OFFLOADS (F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6))

struct tn {
	struct guest_mem gm;
	struct th_vq rxd, txd;
	struct virtq vqs[2];
	struct evl evl;
	int peer;               /* the "host side" of the tap */
	void *dev;
};

static void activate(struct tn *t, uint64_t features)
{
	struct virtio_activation act = { .gm = &t->gm, .vqs = t->vqs, .nr_vqs = 2,
					 .evl = &t->evl, .features = features };

	assert_int_equal(vnet_ops.set_features(t->dev, features), 0);
	assert_int_equal(vnet_ops.activate(t->dev, &act), 0);
}

static int setup_features(void **state, uint64_t features)
{
	struct tn *t = calloc(1, sizeof(*t));
	int sv[2];
	char err[128];

	th_gm_create(&t->gm, RAM);
	th_vq_init(&t->rxd, &t->gm, 64);
	th_vq_init_at(&t->txd, &t->gm, 64, MiB(2));
	th_vq_bind(&t->rxd, &t->vqs[VNET_RXQ], true, true);
	th_vq_bind(&t->txd, &t->vqs[VNET_TXQ], true, true);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv),
			 0);
	int big = 1 << 20;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	t->peer = sv[1];
	struct vnet_config cfg = { .fd = sv[0], .mac = { 2, 0, 0, 0, 0, 9 }, .name = "test" };
	t->dev = vnet_create(&cfg, err, sizeof(err));
	assert_non_null(t->dev);
	assert_int_equal(evl_init(&t->evl, 32), 0);
	activate(t, features);
	*state = t;
	return 0;
}

static int setup(void **state)
{
	return setup_features(state, TX_OFFLOADS);
}

static int setup_mrg(void **state)
{
	return setup_features(state, TX_OFFLOADS | MRG);
}

static int teardown(void **state)
{
	struct tn *t = *state;

	assert_int_equal(vnet_ops.reset(t->dev), 0);
	evl_fini(&t->evl);
	vnet_ops.destroy(t->dev);
	close(t->peer);
	gm_destroy(&t->gm);
	free(t);
	return 0;
}

static struct virtio_net_hdr_v1 hdr_plain(void)
{
	return (struct virtio_net_hdr_v1){ .num_buffers = htole16(7) };
}

/* Guest buffer (len) bytes holding (src). */
static gpa_t put(struct tn *t, struct th_vq *d, const void *src, size_t len)
{
	gpa_t g = th_vq_alloc(d, len ? len : 1);

	if (len)
		assert_int_equal(gm_write(&t->gm, g, src, len), 0);
	return g;
}

/* Transmit one frame given as (hdr) + (payload) split after (split) bytes; return used len. */
static void tx(struct tn *t, const void *hdr, size_t hlen, const void *pay, size_t plen)
{
	uint8_t *all = malloc(hlen + plen + 1);
	struct th_seg s[2];
	size_t split = hlen > 5 ? 5 : hlen;
	uint32_t id, len;

	memcpy(all, hdr, hlen);
	memcpy(all + hlen, pay, plen);
	s[0] = (struct th_seg){ put(t, &t->txd, all, split), (uint32_t)split, false };
	s[1] = (struct th_seg){ put(t, &t->txd, all + split, hlen + plen - split),
				(uint32_t)(hlen + plen - split), false };
	uint16_t head = th_vq_add_chain(&t->txd, s, 2);
	th_vq_publish(&t->txd, head);
	vnet_ops.queue_notify(t->dev, VNET_TXQ);
	assert_true(th_vq_get_used(&t->txd, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
	free(all);
}

static ssize_t peer_recv(struct tn *t, void *buf, size_t len)
{
	return recv(t->peer, buf, len, MSG_DONTWAIT);
}

static void test_vnet_tx_header_split_across_descriptors_reaches_tap(void **state)
{
	struct tn *t = *state;
	struct virtio_net_hdr_v1 h = hdr_plain();
	uint8_t pay[100], got[200];
	struct vnet_stats st;

	for (unsigned i = 0; i < sizeof(pay); i++)
		pay[i] = (uint8_t)i;
	tx(t, &h, sizeof(h), pay, sizeof(pay));
	assert_int_equal(peer_recv(t, got, sizeof(got)), VNET_HDR_LEN + sizeof(pay));
	/* num_buffers means nothing on transmit: sent as 0 */
	assert_int_equal(got[10] | got[11], 0);
	assert_memory_equal(got + VNET_HDR_LEN, pay, sizeof(pay));
	vnet_get_stats(t->dev, &st);
	assert_int_equal(st.tx_frames, 1);
	assert_int_equal(st.tx_bad, 0);
}

static void test_vnet_tx_bad_frames_dropped_and_counted(void **state)
{
	struct tn *t = *state;
	struct virtio_net_hdr_v1 h = hdr_plain();
	static uint8_t pay[VNET_MAX_FRAME + 1];
	uint8_t got[128];
	struct vnet_stats st;

	tx(t, &h, sizeof(h), pay, VNET_MIN_FRAME - 1);          /* runt */
	tx(t, &h, sizeof(h), pay, VNET_MAX_FRAME + 1);          /* oversize */
	tx(t, &h, 7, pay, 0);                                   /* short header */
	h.flags = 0x80;                                         /* unknown flag */
	tx(t, &h, sizeof(h), pay, 60);
	h = hdr_plain();
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;                    /* UFO never offered */
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.gso_size = htole16(1400);
	tx(t, &h, sizeof(h), pay, 60);
	h = hdr_plain();
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;                  /* checksum beyond the frame */
	h.csum_start = htole16(50);
	h.csum_offset = htole16(9);
	tx(t, &h, sizeof(h), pay, 60);
	assert_int_equal(peer_recv(t, got, sizeof(got)), -1);
	assert_int_equal(errno, EAGAIN);
	vnet_get_stats(t->dev, &st);
	assert_int_equal(st.tx_bad, 6);
	assert_int_equal(st.tx_frames, 0);
	/* and the queue still works */
	h = hdr_plain();
	tx(t, &h, sizeof(h), pay, 60);
	assert_int_equal(peer_recv(t, got, sizeof(got)), VNET_HDR_LEN + 60);
}

static void test_vnet_tx_hdr_check_follows_features(void **state)
{
	struct virtio_net_hdr_v1 h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				       .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
				       .hdr_len = htole16(54), .gso_size = htole16(1448),
				       .csum_start = htole16(34), .csum_offset = htole16(16) };

	assert_int_equal(vnet_tx_hdr_check(&h, 65000, TX_OFFLOADS), 0);
	assert_int_equal(vnet_tx_hdr_check(&h, 65000, F(VIRTIO_NET_F_CSUM)), -EINVAL);
	assert_int_equal(vnet_tx_hdr_check(&h, 65000, F(VIRTIO_NET_F_HOST_TSO4)), -EINVAL);
	h.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
	assert_int_equal(vnet_tx_hdr_check(&h, 65000, TX_OFFLOADS), -EINVAL);
	assert_int_equal(vnet_tx_hdr_check(&h, 65000, TX_OFFLOADS | F(VIRTIO_NET_F_HOST_ECN)), 0);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	h.gso_size = 0;
	assert_int_equal(vnet_tx_hdr_check(&h, 65000, TX_OFFLOADS), -EINVAL);
	h.gso_size = htole16(1448);
	assert_int_equal(vnet_tx_hdr_check(&h, 65000, TX_OFFLOADS), 0);
	h.flags = 0; /* GSO without a partial checksum */
	assert_int_equal(vnet_tx_hdr_check(&h, 65000, TX_OFFLOADS), -EINVAL);
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.hdr_len = htole16(60000);
	assert_int_equal(vnet_tx_hdr_check(&h, 1000, TX_OFFLOADS), -EINVAL);
	/* csum_start + csum_offset + 2 == len is the last valid place */
	struct virtio_net_hdr_v1 c = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				       .csum_start = htole16(40), .csum_offset = htole16(18) };
	assert_int_equal(vnet_tx_hdr_check(&c, 60, F(VIRTIO_NET_F_CSUM)), 0);
	assert_int_equal(vnet_tx_hdr_check(&c, 59, F(VIRTIO_NET_F_CSUM)), -EINVAL);
	c.flags |= VIRTIO_NET_HDR_F_DATA_VALID; /* ignored on transmit */
	assert_int_equal(vnet_tx_hdr_check(&c, 60, F(VIRTIO_NET_F_CSUM)), 0);
}

static void test_vnet_tun_offloads_follow_guest_features(void **state)
{
	assert_int_equal(vnet_tun_offloads(F(VIRTIO_NET_F_GUEST_TSO4)), 0);
	assert_int_equal(vnet_tun_offloads(F(VIRTIO_NET_F_GUEST_CSUM)), TUN_F_CSUM);
	assert_int_equal(vnet_tun_offloads(F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_GUEST_TSO4) |
					   F(VIRTIO_NET_F_GUEST_TSO6) | F(VIRTIO_NET_F_GUEST_ECN)),
			 TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN);
	assert_int_equal(vnet_tun_offloads(F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_GUEST_ECN)),
			 TUN_F_CSUM);
}

/* Post a receive buffer of (len) writable bytes; return its gpa. */
static gpa_t post_rx(struct tn *t, uint32_t len, uint16_t *head)
{
	gpa_t g = th_vq_alloc(&t->rxd, len ? len : 1);
	struct th_seg s = { g, len, true };

	*head = th_vq_add_chain(&t->rxd, &s, 1);
	th_vq_publish(&t->rxd, *head);
	return g;
}

/* The tap delivers a frame: vnet header (flags) + (plen) payload bytes of value (v). */
static void tap_send(struct tn *t, size_t plen, uint8_t v)
{
	uint8_t *f = malloc(VNET_HDR_LEN + plen);

	memset(f, 0, VNET_HDR_LEN);
	f[0] = VIRTIO_NET_HDR_F_DATA_VALID;
	memset(f + VNET_HDR_LEN, v, plen);
	assert_int_equal(send(t->peer, f, VNET_HDR_LEN + plen, 0), (ssize_t)(VNET_HDR_LEN + plen));
	free(f);
}

static void test_vnet_rx_one_buffer_without_mrg(void **state)
{
	struct tn *t = *state;
	uint16_t head;
	gpa_t g = post_rx(t, 1526, &head);
	uint8_t got[VNET_HDR_LEN + 100];
	uint32_t id, len;

	tap_send(t, 100, 0x5a);
	vnet_rx_ready(t->dev);
	assert_true(th_vq_get_used(&t->rxd, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, VNET_HDR_LEN + 100);
	assert_int_equal(gm_read(&t->gm, g, got, sizeof(got)), 0);
	assert_int_equal(got[0], VIRTIO_NET_HDR_F_DATA_VALID);
	assert_int_equal(got[10], 1); /* num_buffers is 1 without MRG_RXBUF */
	assert_int_equal(got[VNET_HDR_LEN + 99], 0x5a);
	/* a frame larger than the buffer is dropped; the buffer stays for the next one */
	tap_send(t, 2000, 1);
	tap_send(t, 10, 2);
	vnet_rx_ready(t->dev);
	assert_true(th_vq_get_used(&t->rxd, &id, &len) == false);
	(void)post_rx(t, 1526, &head);
	vnet_rx_ready(t->dev);
	assert_true(th_vq_get_used(&t->rxd, &id, &len));
	assert_int_equal(len, VNET_HDR_LEN + 10);
	struct vnet_stats st;
	vnet_get_stats(t->dev, &st);
	assert_int_equal(st.rx_dropped, 1);
	assert_int_equal(st.rx_frames, 2);
}

static void test_vnet_rx_mrg_merges_buffers_and_sets_num_buffers(void **state)
{
	struct tn *t = *state;
	uint16_t h[3];
	gpa_t g0 = post_rx(t, 1000, &h[0]);
	uint32_t id, len;
	uint8_t b[2];

	post_rx(t, 1000, &h[1]);
	post_rx(t, 1000, &h[2]);
	tap_send(t, 2500, 0x77);
	vnet_rx_ready(t->dev);
	static const uint32_t want[] = { 1000, 1000, VNET_HDR_LEN + 2500 - 2000 };
	for (int i = 0; i < 3; i++) {
		assert_true(th_vq_get_used(&t->rxd, &id, &len));
		assert_int_equal(id, h[i]);
		assert_int_equal(len, want[i]);
	}
	assert_int_equal(gm_read(&t->gm, g0 + 10, b, 2), 0);
	assert_int_equal(b[0] | b[1] << 8, 3);
}

static void test_vnet_rx_waits_for_buffers_then_delivers_on_kick(void **state)
{
	struct tn *t = *state;
	uint32_t id, len;
	uint16_t head;

	tap_send(t, 64, 3);
	vnet_rx_ready(t->dev); /* no buffers: the frame stays pending */
	assert_false(th_vq_get_used(&t->rxd, &id, &len));
	/* a buffer too small for the header is given back empty and counted */
	post_rx(t, 8, &head);
	post_rx(t, 4096, &head);
	vnet_ops.queue_notify(t->dev, VNET_RXQ);
	assert_true(th_vq_get_used(&t->rxd, &id, &len));
	assert_int_equal(len, 0);
	assert_true(th_vq_get_used(&t->rxd, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, VNET_HDR_LEN + 64);
	struct vnet_stats st;
	vnet_get_stats(t->dev, &st);
	assert_int_equal(st.rx_bad_bufs, 1);
}

static void test_vnet_rx_frame_bigger_than_whole_ring_is_dropped(void **state)
{
	struct tn *t = *state;
	uint32_t id, len;
	uint16_t head;

	/* fill the ring: 64 buffers of 64 bytes hold 4 KiB, the frame needs 9 KiB */
	for (int i = 0; i < 64; i++)
		post_rx(t, 64, &head);
	tap_send(t, 9000, 4);
	tap_send(t, 20, 5);
	vnet_rx_ready(t->dev);
	assert_true(th_vq_get_used(&t->rxd, &id, &len));
	assert_int_equal(len, VNET_HDR_LEN + 20);
	struct vnet_stats st;
	vnet_get_stats(t->dev, &st);
	assert_int_equal(st.rx_dropped, 1);
}

static void test_vnet_rx_malformed_ring_breaks_queue(void **state)
{
	struct tn *t = *state;

	th_vq_write_desc(&t->rxd, t->rxd.desc, 0, th_vq_alloc(&t->rxd, 64), 64,
			 VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 4000);
	th_vq_publish(&t->rxd, 0);
	tap_send(t, 20, 5);
	vnet_rx_ready(t->dev);
	assert_true(t->vqs[VNET_RXQ].vq_broken);
	assert_int_equal(th_vq_used_idx(&t->rxd), 0);
}

static void test_vnet_config_has_mac_and_link_up(void **state)
{
	struct tn *t = *state;
	uint8_t cfg[10];

	vnet_ops.config_read(t->dev, 0, cfg, sizeof(cfg));
	assert_int_equal(cfg[0], 2);
	assert_int_equal(cfg[5], 9);
	assert_int_equal(cfg[6], VIRTIO_NET_S_LINK_UP);
	assert_int_equal(vnet_ops.device_id, 1);
	assert_int_equal(vnet_ops.nr_queues, 2);
	uint64_t f = vnet_ops.features(t->dev);
	assert_true(f & MRG);
	assert_false(f & F(VIRTIO_NET_F_GUEST_CSUM)); /* the socketpair has no offloads */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_vnet_tx_header_split_across_descriptors_reaches_tap,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_vnet_tx_bad_frames_dropped_and_counted, setup,
						teardown),
		cmocka_unit_test(test_vnet_tx_hdr_check_follows_features),
		cmocka_unit_test(test_vnet_tun_offloads_follow_guest_features),
		cmocka_unit_test_setup_teardown(test_vnet_rx_one_buffer_without_mrg, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vnet_rx_mrg_merges_buffers_and_sets_num_buffers,
						setup_mrg, teardown),
		cmocka_unit_test_setup_teardown(test_vnet_rx_waits_for_buffers_then_delivers_on_kick,
						setup_mrg, teardown),
		cmocka_unit_test_setup_teardown(test_vnet_rx_frame_bigger_than_whole_ring_is_dropped,
						setup_mrg, teardown),
		cmocka_unit_test_setup_teardown(test_vnet_rx_malformed_ring_breaks_queue, setup_mrg,
						teardown),
		cmocka_unit_test_setup_teardown(test_vnet_config_has_mac_and_link_up, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
