// SPDX-License-Identifier: MIT
/*
 * fuzz_vnet_hdr.c: virtio-net transmit header checks and receive buffer
 * merging through the device's own entry points (set_features, activate,
 * queue_notify, vnet_rx_ready, reset) on a small memfd guest_mem, with a
 * SOCK_SEQPACKET pair as the tap. The test thread is the loop thread.
 *
 * Input: byte 0 picks the negotiated features (bits: MRG_RXBUF, CSUM,
 * TSO4+TSO6, ECN, EVENT_IDX, UFO, USO; the device offers neither UFO nor USO,
 * but the header rules for them are checked all the same), and with bit 7 the
 * stream back end instead of a tap (vnet_stream.c, passt's framing: the
 * features are then what the device offers, and its socket's send buffer is
 * small, so frames go out in parts);
 * then a sequence of operations, each one selector byte and its arguments:
 *   0 transmit: 2 length bytes, 12 header bytes, 1 split byte (1..3
 *     descriptors; bit 7: publish without kicking, so a later kick finds
 *     several frames and the per-pass budget can run out)
 *   1 post receive buffers: count byte (bit 7: publish the last head again,
 *     as a hostile driver may), then one size byte each (< 32: that many
 *     bytes, so 12-byte and header-less buffers; else x 64 bytes)
 *   2 tap frame: 2 length bytes, 12 header bytes; then vnet_rx_ready(). On
 *     a stream: header byte 0 bit 0 replaces the length prefix with header
 *     bytes 1..4 (any value, a broken framing), and header byte 5 cuts what is
 *     written short (the rest of the frame never comes; the next one follows)
 *   3 rarely: a damaged descriptor (bad next / writable-first) published on a queue
 *   4 one turn of the event loop: submit, run the completions (passes resumed
 *     after their budget ran out, the tap poll)
 * Lengths are mostly small and valid; oversize, runt and zero-length cases
 * come from a few selector values only, so the delivery paths are reached.
 * The queues (128) are larger than a pass's budget (VNET_PASS_CHAINS).
 */
#include <endian.h>
#include <linux/virtio_ring.h>
#include <stdbool.h>
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
#define F_QSIZE 128
#define F_MAX_OPS 64
#define FEAT(x) (1ULL << (x))

static struct guest_mem gm;
static struct fuzz_ring rings[2];
static struct virtq vqs[2];
static gpa_t buf;
static uint8_t scratch[VNET_HDR_LEN + VNET_MAX_FRAME + 64];

static void wr(gpa_t g, const void *p, size_t n)
{
	fuzz_wr(&gm, g, p, n);
}

static gpa_t falloc(uint32_t len)
{
	gpa_t lo = MiB(1) / 2;

	if (buf < lo + len + 64)
		buf = MiB(1); /* wrap: old contents are only payload */
	buf = ALIGN_DOWN(buf - len, 8);
	return buf;
}

/* A chain of (n) descriptors over (segs); all read-only or all writable. */
static void chain(struct fuzz_ring *r, const gpa_t *a, const uint32_t *l, unsigned n, bool w)
{
	fuzz_chain(&gm, r, a, l, NULL, w, n);
}

/* Frame length: mostly 14..1600, sometimes big, rarely out of range. */
static uint32_t frame_len(unsigned sel)
{
	switch (sel >> 12) {
	case 0xf:
		return sel & 0xf; /* runt or empty */
	case 0xe:
		return VNET_MAX_FRAME - 8 + (sel & 0xf); /* around the limit */
	case 0xd:
	case 0xc:
		return 1600 + (sel & 0xfff) * 15;
	default:
		return 14 + sel % 1600;
	}
}

static void op_tx(void *dev, int peer, struct in *in)
{
	uint32_t len = frame_len(take(in, 2)), l[3];
	unsigned split = take(in, 1), n = split % 3 + 1;
	gpa_t a[3];

	for (unsigned i = 0; i < VNET_HDR_LEN; i++)
		scratch[i] = (uint8_t)take(in, 1);
	memset(scratch + VNET_HDR_LEN, 0x5a, len);
	uint32_t total = VNET_HDR_LEN + len, cut1 = n > 1 ? (split * 7) % (total + 1) : total;
	uint32_t cut2 = n > 2 ? cut1 + (total - cut1) / 2 : total;
	l[0] = cut1;
	l[1] = cut2 - cut1;
	l[2] = total - cut2;
	for (unsigned i = 0; i < n; i++) {
		a[i] = falloc(l[i] ? l[i] : 1);
		uint32_t off = i == 0 ? 0 : i == 1 ? cut1 : cut2;
		wr(a[i], scratch + off, l[i]);
	}
	chain(&rings[VNET_TXQ], a, l, n, false);
	if (split & 0x80)
		return; /* published, not kicked */
	vnet_ops.queue_notify(dev, VNET_TXQ);
	while (recv(peer, scratch, sizeof(scratch), MSG_DONTWAIT) > 0)
		;
}

/* Room left in (q)'s avail ring: a driver past it breaks the ring (a path of its own). */
static unsigned room(unsigned q)
{
	return F_QSIZE - (uint16_t)(rings[q].avail_idx - vqs[q].vq_last_avail);
}

static void op_rx_bufs(void *dev, struct in *in)
{
	unsigned cb = take(in, 1), count = cb % 8 + 1;
	struct fuzz_ring *r = &rings[VNET_RXQ];

	for (unsigned i = 0; i < count; i++) {
		unsigned v = take(in, 1);
		uint32_t len = v < 32 ? v : v * 64u;
		gpa_t a = falloc(len ? len : 1);

		if ((cb & 0x80) && r->avail_idx && room(VNET_RXQ))
			fuzz_publish(&gm, r, r->last_head); /* the same head again */
		else
			chain(r, &a, &len, 1, true);
	}
	vnet_ops.queue_notify(dev, VNET_RXQ);
}

/* One turn of the loop thread with its bookkeeping (evloop.c's evl_reap()), without waiting. */
static void op_loop(struct evl *e, int peer)
{
	th_evl_run(e);
	while (recv(peer, scratch, sizeof(scratch), MSG_DONTWAIT) > 0)
		;
}

static void op_tap_frame(void *dev, int peer, bool stream, struct in *in)
{
	uint32_t len = frame_len(take(in, 2));
	size_t n = VNET_HDR_LEN + len;

	for (unsigned i = 0; i < VNET_HDR_LEN; i++)
		scratch[i] = (uint8_t)take(in, 1);
	if (stream) {
		/* passt's framing: 4-byte big-endian length, the frame, no vnet header */
		uint8_t h[VNET_HDR_LEN];
		uint32_t be = htobe32(len);

		memcpy(h, scratch, sizeof(h));
		memcpy(scratch, (h[0] & 1) ? h + 1 : (const uint8_t *)&be, 4);
		memset(scratch + 4, 0xa5, len);
		n = 4 + len;
		if (h[5] && h[5] < n)
			n = h[5]; /* a frame cut short */
	} else {
		memset(scratch + VNET_HDR_LEN, 0xa5, len);
	}
	if (send(peer, scratch, n, MSG_DONTWAIT) < 0) {
		/* socket full: the device reads some first */
	}
	vnet_rx_ready(dev);
}

static void op_damage(void *dev, struct in *in)
{
	unsigned sel = take(in, 1);
	struct fuzz_ring *r = &rings[sel & 1];

	if ((sel & 0xf0) != 0xf0)
		return; /* rarely */
	fuzz_put_desc(&gm, r, r->nd, falloc(64), 64,
		      VRING_DESC_F_NEXT | ((sel & 2) ? VRING_DESC_F_WRITE : 0),
		      (uint16_t)(F_QSIZE + sel));
	fuzz_publish(&gm, r, r->nd);
	r->nd = (uint16_t)((r->nd + 1) % F_QSIZE);
	vnet_ops.queue_notify(dev, (uint16_t)(sel & 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct in in = { data, size };
	struct evl evl;
	char err[128];
	int sv[2];

	if (!ready) {
		if (gm_create(&gm, F_RAM, BOOT_MMIO_HOLE_GPA))
			abort();
		ready = true;
	}
	unsigned fb = take(&in, 1);
	bool stream = fb & 128;

	if (socketpair(AF_UNIX, (stream ? SOCK_STREAM : SOCK_SEQPACKET) | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       0, sv))
		abort();
	int big = 4 << 20, small = 8192; /* several 64 KiB frames in flight either way */
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, stream ? &small : &big, sizeof(big));
	void *dev = vnet_create(&(struct vnet_config){ .fds = { sv[0] }, .mac = { 2 },
						       .stream = stream }, err, sizeof(err));
	if (!dev || evl_init(&evl, 64))
		abort();
	uint64_t feat = (fb & 1 ? FEAT(VIRTIO_NET_F_MRG_RXBUF) : 0) |
			(fb & 2 ? FEAT(VIRTIO_NET_F_CSUM) : 0) |
			(fb & 4 ? FEAT(VIRTIO_NET_F_HOST_TSO4) | FEAT(VIRTIO_NET_F_HOST_TSO6) : 0) |
			(fb & 8 ? FEAT(VIRTIO_NET_F_HOST_ECN) : 0) |
			(fb & 32 ? FEAT(VIRTIO_NET_F_HOST_UFO) : 0) |
			(fb & 64 ? FEAT(VIRTIO_NET_F_HOST_USO) : 0);
	buf = MiB(1);
	for (unsigned q = 0; q < 2; q++) {
		struct fuzz_ring *r = &rings[q];
		gpa_t top = F_RAM - q * MiB(1) / 4;

		fuzz_ring_place(r, top, F_QSIZE);
		memset(gm_ptr(&gm, r->desc, top - r->desc), 0, top - r->desc);
		if (virtq_init(&vqs[q], &gm, F_QSIZE, VNET_QUEUE_SIZE, r->desc, r->avail, r->used,
			       fb & 16, true))
			abort();
	}
	if (stream)
		feat &= vnet_ops.features(dev); /* as the transport would */
	struct virtio_activation act = { .gm = &gm, .vqs = vqs, .nr_vqs = 2, .evl = &evl,
					 .features = feat };
	if (vnet_ops.set_features(dev, feat) || vnet_ops.activate(dev, &act))
		abort();
	for (unsigned i = 0; i < F_MAX_OPS && in.n; i++) {
		switch (take(&in, 1) % 5) {
		case 0:
			op_tx(dev, sv[1], &in);
			break;
		case 1:
			op_rx_bufs(dev, &in);
			break;
		case 2:
			op_tap_frame(dev, sv[1], stream, &in);
			break;
		case 3:
			op_damage(dev, &in);
			break;
		default:
			op_loop(&evl, sv[1]);
			break;
		}
	}
	if (vnet_ops.reset(dev))
		abort();
	evl_fini(&evl);
	vnet_ops.destroy(dev); /* closes sv[0] */
	close(sv[1]);
	return 0;
}
