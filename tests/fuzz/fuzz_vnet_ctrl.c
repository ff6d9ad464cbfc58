// SPDX-License-Identifier: MIT
/*
 * fuzz_vnet_ctrl.c: the virtio-net control queue and queue pairs (issue 16)
 * through the device's own entry points (set_features, activate,
 * queue_notify, vnet_rx_ready, reset) on a small memfd guest_mem: a device of
 * F_PAIRS pairs, each on a SOCK_SEQPACKET pair standing in for a tap queue.
 * The test thread is the loop thread.
 *
 * Input: byte 0 picks the features (mostly MQ + CTRL_VQ; bit 0x40: CTRL_VQ
 * alone, so the control queue is 2; bit 0x20: MRG_RXBUF; bit 0x10:
 * EVENT_IDX); then operations, one selector byte and its arguments:
 *   0 control command: class, command, data length (mostly 2), le16 value
 *     (mostly 1..F_PAIRS), a layout byte (readable part in 1 to 4
 *     descriptors; writable part mostly one byte, rarely none, zero-length
 *     or several), then a kick of the control queue (not with a command
 *     byte of 0x80 or more: several published at once, past a pass's budget)
 *   1 transmit on a pair: pair byte, then a kick of its transmit queue
 *   2 receive buffers on a pair: pair byte, then a kick of its receive queue
 *   3 a frame from a pair's tap queue: pair byte; then vnet_rx_ready()
 *   4 a kick of any queue number (pairs not in use, no role, past the end)
 *   5 rarely: a malformed chain (bad next, loop) on the control queue
 *   6 one turn of the event loop (resumed passes, tap polls)
 *   7 rarely: reset and activate again
 * After each operation: the control queue's used entries have length 0 or
 * 1, and the pairs in use are 1..F_PAIRS (1 without MQ); else abort().
 */
#include <endian.h>
#include <linux/virtio_ring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "boot/layout.h"
#include "devices/virtio/virtio_net.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/helpers/th_evl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define F_RAM MiB(2)
#define F_QSIZE 128 /* more than a control pass takes (VNET_PASS_CHAINS) */
#define F_PAIRS 4
#define F_NQ (2 * F_PAIRS + 1)
#define F_MAX_OPS 96
#define FEAT(x) (1ULL << (x))

static struct guest_mem gm;
static struct fuzz_ring rings[F_NQ];
static struct virtq vqs[F_NQ];
static gpa_t buf;
static uint64_t feat;
static int peers[F_PAIRS];
static uint8_t scratch[4096];

static void wr(gpa_t g, const void *p, size_t n)
{
	fuzz_wr(&gm, g, p, n);
}

/* Buffer space below the rings, reused round robin (old contents are only payload). */
static gpa_t falloc(uint32_t len)
{
	if (buf < MiB(1) / 4 + len + 64)
		buf = MiB(1);
	buf = ALIGN_DOWN(buf - len, 8);
	return buf;
}

/* Room left in queue (q)'s avail ring: a driver past it breaks the ring. */
static unsigned room(unsigned q)
{
	return F_QSIZE - (uint16_t)(rings[q].avail_idx - vqs[q].vq_last_avail);
}

/* A chain of (n) descriptors (a, l, w each) published on (q). */
static void chain(unsigned q, const gpa_t *a, const uint32_t *l, const bool *w, unsigned n)
{
	fuzz_chain(&gm, &rings[q], a, l, w, false, n);
}

static uint16_t ctrl_q(void)
{
	return feat & FEAT(VIRTIO_NET_F_MQ) ? 2 * F_PAIRS : 2;
}

static void op_ctrl(void *dev, struct in *in)
{
	unsigned cls = take(in, 1), cmd = take(in, 1), dl = take(in, 1), v = take(in, 2);
	unsigned lay = take(in, 1), nro = lay % 4 + 1, nwo = 1;
	uint8_t b[8] = { 0 };
	uint32_t len, l[8];
	gpa_t a[8];
	bool w[8];

	/* mostly well-formed: VQ_PAIRS_SET with 2 bytes of 1..F_PAIRS */
	b[0] = (uint8_t)(cls >= 0x20 ? VIRTIO_NET_CTRL_MQ : cls);
	b[1] = (uint8_t)(cmd >= 0x20 ? VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET : cmd);
	dl = dl >= 0x10 ? 2 : dl % 6;
	v = v >= 0x1000 ? 1 + v % F_PAIRS : v;
	b[2] = (uint8_t)v;
	b[3] = (uint8_t)(v >> 8);
	len = 2 + dl;
	if (!room(ctrl_q()) || F_QSIZE - 8 < nro)
		return;
	for (unsigned i = 0, off = 0; i < nro; i++) {
		uint32_t k = i + 1 == nro ? len - off : MIN(len - off, (lay >> 2) % 3);

		a[i] = falloc(k ? k : 1);
		wr(a[i], b + off, k);
		l[i] = k;
		w[i] = false;
		off += k;
	}
	if ((lay & 0xe0) == 0xe0)
		nwo = (lay >> 4) & 1 ? 0 : 3; /* rarely: no writable byte, or several */
	for (unsigned i = 0; i < nwo; i++) {
		a[nro + i] = falloc(4);
		l[nro + i] = i == 0 && nwo > 1 ? 0 : 1; /* a zero-length one first */
		w[nro + i] = true;
	}
	chain(ctrl_q(), a, l, w, nro + nwo);
	if (cmd < 0x80)
		vnet_ops.queue_notify(dev, ctrl_q());
}

static void op_tx(void *dev, struct in *in)
{
	unsigned p = take(in, 1) % F_PAIRS, q = 2 * p + 1;
	uint32_t len = VNET_HDR_LEN + 60;
	gpa_t a = falloc(len);
	bool w = false;

	if (!room(q))
		return;
	memset(scratch, 0, VNET_HDR_LEN);
	memset(scratch + VNET_HDR_LEN, (int)p, 60);
	wr(a, scratch, len);
	chain(q, &a, &len, &w, 1);
	vnet_ops.queue_notify(dev, (uint16_t)q);
}

static void op_rx_bufs(void *dev, struct in *in)
{
	unsigned p = take(in, 1) % F_PAIRS, q = 2 * p;
	uint32_t len = 1526;
	bool w = true;

	for (unsigned i = 0; i < 4 && room(q); i++) {
		gpa_t a = falloc(len);

		chain(q, &a, &len, &w, 1);
	}
	vnet_ops.queue_notify(dev, (uint16_t)q);
}

static void drain_peers(void)
{
	for (unsigned p = 0; p < F_PAIRS; p++)
		while (recv(peers[p], scratch, sizeof(scratch), MSG_DONTWAIT) > 0)
			;
}

static void op_tap_frame(void *dev, struct in *in)
{
	unsigned p = take(in, 1) % F_PAIRS;

	memset(scratch, 0, VNET_HDR_LEN + 60);
	if (send(peers[p], scratch, VNET_HDR_LEN + 60, MSG_DONTWAIT) < 0) {
		/* full: the device reads some first */
	}
	vnet_rx_ready(dev);
}

static void op_damage(void *dev, struct in *in)
{
	unsigned sel = take(in, 1);
	struct fuzz_ring *r = &rings[ctrl_q()];

	if ((sel & 0xf0) != 0xf0 || !room(ctrl_q()))
		return; /* rarely */
	/* next out of range, or pointing at itself */
	fuzz_put_desc(&gm, r, r->nd, falloc(16), 16, VRING_DESC_F_NEXT,
		      (uint16_t)(sel & 1 ? r->nd : F_QSIZE + sel));
	fuzz_publish(&gm, r, r->nd);
	r->nd = (uint16_t)((r->nd + 1) % F_QSIZE);
	vnet_ops.queue_notify(dev, ctrl_q());
}

static void op_loop(struct evl *e)
{
	th_evl_run(e);
}

/* Fresh rings for every queue, then set_features and activate. */
static void bring_up(void *dev, struct evl *evl)
{
	for (unsigned q = 0; q < F_NQ; q++) {
		struct fuzz_ring *r = &rings[q];
		gpa_t top = F_RAM - q * KiB(64);

		fuzz_ring_place(r, top, F_QSIZE);
		memset(gm_ptr(&gm, r->desc, top - r->desc), 0, top - r->desc);
		if (virtq_init(&vqs[q], &gm, F_QSIZE, VNET_QUEUE_SIZE, r->desc, r->avail, r->used,
			       feat & FEAT(VIRTIO_RING_F_EVENT_IDX), true))
			abort();
	}
	struct virtio_activation act = { .gm = &gm, .vqs = vqs, .nr_vqs = F_NQ, .evl = evl,
					 .features = feat };
	if (vnet_ops.set_features(dev, feat) || vnet_ops.activate(dev, &act))
		abort();
}

/* The invariants after every operation (see the top of the file). */
static void check(void *dev)
{
	struct fuzz_ring *r = &rings[ctrl_q()];
	struct vnet_stats st;
	uint16_t idx;

	vnet_get_stats(dev, &st);
	if (st.active_pairs < 1 ||
	    st.active_pairs > (feat & FEAT(VIRTIO_NET_F_MQ) ? F_PAIRS : 1))
		abort();
	if (gm_read(&gm, r->used + 2, &idx, 2))
		abort();
	for (idx = le16toh(idx); r->used_seen != idx; r->used_seen++) {
		uint32_t e[2];

		if (gm_read(&gm, r->used + 4 + 8 * (uint64_t)(r->used_seen % F_QSIZE), e, 8))
			abort();
		if (le32toh(e[0]) >= F_QSIZE || le32toh(e[1]) > 1)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct vnet_config cfg = { .nr_pairs = F_PAIRS, .mac = { 2 } };
	struct in in = { data, size };
	struct evl evl;
	char err[128];

	if (!ready) {
		if (gm_create(&gm, F_RAM, BOOT_MMIO_HOLE_GPA))
			abort();
		ready = true;
	}
	for (unsigned p = 0; p < F_PAIRS; p++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
			abort();
		cfg.fds[p] = sv[0];
		peers[p] = sv[1];
	}
	void *dev = vnet_create(&cfg, err, sizeof(err));
	if (!dev || evl_init(&evl, 64))
		abort();
	unsigned fb = take(&in, 1);
	feat = FEAT(VIRTIO_NET_F_CTRL_VQ) | (fb & 0x40 ? 0 : FEAT(VIRTIO_NET_F_MQ)) |
	       (fb & 0x20 ? FEAT(VIRTIO_NET_F_MRG_RXBUF) : 0) |
	       (fb & 0x10 ? FEAT(VIRTIO_RING_F_EVENT_IDX) : 0);
	buf = MiB(1);
	bring_up(dev, &evl);
	for (unsigned i = 0; i < F_MAX_OPS && in.n; i++) {
		switch (take(&in, 1) % 8) {
		case 0:
			op_ctrl(dev, &in);
			break;
		case 1:
			op_tx(dev, &in);
			break;
		case 2:
			op_rx_bufs(dev, &in);
			break;
		case 3:
			op_tap_frame(dev, &in);
			break;
		case 4:
			vnet_ops.queue_notify(dev, (uint16_t)(take(&in, 1) % 16));
			break;
		case 5:
			op_damage(dev, &in);
			break;
		case 6:
			op_loop(&evl);
			break;
		default:
			if ((take(&in, 1) & 0xf0) == 0xf0) { /* rarely */
				if (vnet_ops.reset(dev))
					abort();
				bring_up(dev, &evl);
			}
			break;
		}
		drain_peers();
		check(dev);
	}
	if (vnet_ops.reset(dev))
		abort();
	evl_fini(&evl);
	vnet_ops.destroy(dev); /* closes every cfg.fds */
	for (unsigned p = 0; p < F_PAIRS; p++)
		close(peers[p]);
	return 0;
}
