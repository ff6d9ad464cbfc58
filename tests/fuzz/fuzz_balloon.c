// SPDX-License-Identifier: MIT
/*
 * fuzz_balloon.c: the virtio-balloon device (devices/virtio/virtio_balloon.c)
 * through its own entry points (set_features, activate, queue_notify,
 * config_read/write, reset) on an 8 MiB memfd guest_mem split around a hole
 * at 4 MiB (region 1 at 4 GiB), so PFNs and reported ranges can name the hole,
 * straddle it or run past the end of RAM. The test thread is the loop thread;
 * the device's wake eventfd is never served (a pass past its budget resumes
 * at the next kick of that queue).
 *
 * Input: byte 0 picks the features (bit 0: STATS_VQ, bit 1: REPORTING), then
 * operations, one selector byte and its arguments:
 *   0 an inflate or deflate chain: mostly PFNs of RAM, rarely any u32,
 *     split over 1 to 3 descriptors anywhere (a PFN may straddle two)
 *   1 a free page report: 1 to 4 ranges, mostly 4 KiB- or 2 MiB-aligned
 *     inside a region, rarely any address and length (virtq_pop refuses)
 *   2 a stats buffer: entries of any tag and value, any length
 *   3 config space: a read or write of 1, 2 or 4 bytes within the 8
 *   4 a kick of any queue number
 *   5 rarely: a malformed chain (next out of range) on any queue
 *   6 rarely: reset, then set_features and activate again
 * Every used entry has length 0 (the device writes nothing); else abort().
 */
#include <endian.h>
#include <linux/virtio_ring.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/layout.h"
#include "devices/virtio/virtio_balloon.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define F_HOLE MiB(4)
#define F_RAM MiB(8)
#define F_QSIZE 64
#define F_MAX_OPS 64
#define F_RING_SPAN KiB(64) /* each queue: its ring and buffers, from the top of region 0 down */
#define F_PAGES (F_RAM / 4096)

static struct guest_mem gm;
static struct fuzz_ring rings[VBAL_NR_QUEUES];
static struct virtq vqs[VBAL_NR_QUEUES];
static uint64_t feat;

static bool rarely(struct in *in)
{
	return in->n && (take(in, 1) & 0x1f) == 0;
}

static void wr(gpa_t g, const void *p, size_t n)
{
	fuzz_wr(&gm, g, p, n);
}

static gpa_t falloc(struct fuzz_ring *r, uint32_t len)
{
	if (r->buf < r->floor + len + 16)
		r->buf = r->desc;
	r->buf = ALIGN_DOWN(r->buf - len, 16);
	return r->buf;
}

/* A chain of (n) descriptors on queue (q), unless its avail ring is full. */
static void chain(unsigned q, const uint64_t *a, const uint32_t *l, bool write, unsigned n)
{
	if ((uint16_t)(rings[q].avail_idx - vqs[q].vq_last_avail) < F_QSIZE)
		fuzz_chain(&gm, &rings[q], a, l, NULL, write, n);
}

/* Guest-physical address of RAM page (p) of F_PAGES (region 0, then region 1). */
static gpa_t page_gpa(uint64_t p)
{
	p %= F_PAGES;
	return p < F_HOLE / 4096 ? p * 4096 : BOOT_RAM_HIGH_GPA + p * 4096 - F_HOLE;
}

static uint16_t q_report(void)
{
	return feat & (1ULL << VIRTIO_BALLOON_F_STATS_VQ) ? 3 : 2;
}

static void op_pfns(void *dev, struct in *in)
{
	unsigned q = take(in, 1) & 1, n = take(in, 1) % 64 + 1, cut1, cut2;
	uint32_t pfns[64], l[3];
	uint64_t a[3];
	gpa_t g;

	for (unsigned i = 0; i < n; i++)
		pfns[i] = htole32(rarely(in) ? take(in, 4) :
					       (uint32_t)(page_gpa(take(in, 2)) >> 12));
	g = falloc(&rings[q], 4 * n);
	wr(g, pfns, 4 * n);
	cut1 = take(in, 1) % (4 * n + 1);
	cut2 = cut1 + take(in, 1) % (4 * n - cut1 + 1);
	a[0] = g, l[0] = cut1;
	a[1] = g + cut1, l[1] = cut2 - cut1;
	a[2] = g + cut2, l[2] = 4 * n - cut2;
	chain(q, a, l, false, 3);
	vbal_ops.queue_notify(dev, (uint16_t)q);
}

static void op_report(void *dev, struct in *in)
{
	unsigned n = take(in, 1) % 4 + 1;
	unsigned q = rarely(in) ? take(in, 1) % VBAL_NR_QUEUES : q_report();
	uint64_t a[4];
	uint32_t l[4];

	for (unsigned i = 0; i < n; i++) {
		if (rarely(in)) {
			a[i] = (uint64_t)take(in, 4) << 12 | take(in, 2);
			l[i] = take(in, 4);
			continue;
		}
		bool huge = take(in, 1) & 1;
		uint64_t unit = huge ? MiB(2) : 4096, units = (F_RAM - F_HOLE) / unit;
		uint64_t first = take(in, 1) % units, cnt = 1 + take(in, 1) % (units - first);

		/* region 1 holds whole 2 MiB pages; region 0's top holds the rings */
		a[i] = (take(in, 1) & 1 ? BOOT_RAM_HIGH_GPA : 0) + first * unit;
		l[i] = (uint32_t)(cnt * unit);
		/* keep the rings at the top of region 0 (rarely() above may hit them) */
		if (a[i] < BOOT_RAM_HIGH_GPA &&
		    a[i] + l[i] > F_HOLE - VBAL_NR_QUEUES * F_RING_SPAN) {
			a[i] = 0;
			l[i] = (uint32_t)unit;
		}
	}
	chain(q, a, l, true, n);
	vbal_ops.queue_notify(dev, (uint16_t)q);
}

static void op_stats(void *dev, struct in *in)
{
	unsigned n = take(in, 1) % 12;
	struct virtio_balloon_stat st[12];
	uint32_t len;
	uint64_t a;

	if (!(feat & (1ULL << VIRTIO_BALLOON_F_STATS_VQ)))
		return;
	for (unsigned i = 0; i < n; i++) {
		st[i].tag = htole16((uint16_t)(rarely(in) ? take(in, 2) : take(in, 1) % 10));
		st[i].val = htole64((uint64_t)take(in, 4) << 20);
	}
	a = falloc(&rings[2], sizeof(st));
	wr(a, st, sizeof(st));
	len = rarely(in) ? take(in, 1) : n * (uint32_t)sizeof(st[0]);
	chain(2, &a, &len, false, 1);
	vbal_ops.queue_notify(dev, 2);
}

static void op_config(void *dev, struct in *in)
{
	static const uint32_t lens[] = { 1, 2, 4 };
	uint32_t len = lens[take(in, 1) % 3], off = take(in, 1) % (8 - len + 1), v = take(in, 4);
	uint8_t b[4];

	if (take(in, 1) & 1)
		vbal_ops.config_read(dev, off, b, len);
	else
		vbal_ops.config_write(dev, off, &v, len);
}

static void op_damage(void *dev, struct in *in)
{
	unsigned q = take(in, 1) % VBAL_NR_QUEUES;
	struct fuzz_ring *r = &rings[q];

	fuzz_put_desc(&gm, r, r->nd, falloc(r, 16), 16, VRING_DESC_F_NEXT,
		      (uint16_t)(F_QSIZE + take(in, 1)));
	fuzz_publish(&gm, r, r->nd);
	r->nd = (uint16_t)((r->nd + 1) % F_QSIZE);
	vbal_ops.queue_notify(dev, (uint16_t)q);
}

/* Rings at the top of region 0, fresh indices; set_features and activate. */
static void bring_up(void *dev)
{
	struct virtio_activation act = { .gm = &gm, .vqs = vqs, .nr_vqs = VBAL_NR_QUEUES,
					 .features = feat };

	for (unsigned q = 0; q < VBAL_NR_QUEUES; q++) {
		struct fuzz_ring *r = &rings[q];
		gpa_t top = F_HOLE - q * F_RING_SPAN;
		uint8_t z[F_QSIZE * 16] = { 0 };

		fuzz_ring_place(r, top, F_QSIZE);
		r->buf = r->desc;
		r->floor = top - F_RING_SPAN;
		wr(r->desc, z, sizeof(z));
		wr(r->used, z, 6 + 8 * F_QSIZE);
		wr(r->avail, z, 6 + 2 * F_QSIZE);
		if (virtq_init(&vqs[q], &gm, F_QSIZE, F_QSIZE, r->desc, r->avail, r->used, false,
			       false))
			abort();
	}
	if (vbal_ops.set_features(dev, feat) || vbal_ops.activate(dev, &act))
		abort();
}

/* Every used entry since the last look has length 0. */
static void check_used(void)
{
	for (unsigned q = 0; q < VBAL_NR_QUEUES; q++) {
		struct fuzz_ring *r = &rings[q];

		for (; r->used_seen != vqs[q].vq_used_idx; r->used_seen++) {
			uint32_t len;

			if (gm_read(&gm, r->used + 4 + 8 * (uint64_t)(r->used_seen % F_QSIZE) + 4,
				    &len, 4) || len)
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct vbal_config cfg = { .stats = true, .reporting = true, .deflate_on_oom = true };
	struct in in = { data, size };
	char err[128];

	if (!ready) {
		if (gm_create(&gm, F_RAM, F_HOLE))
			abort();
		ready = true;
	}
	void *dev = vbal_create(&cfg, err, sizeof(err));
	if (!dev)
		abort();
	vbal_set_ram(dev, F_RAM);
	unsigned fb = take(&in, 1);
	feat = (fb & 1 ? 1ULL << VIRTIO_BALLOON_F_STATS_VQ : 0) |
	       (fb & 2 ? 1ULL << VIRTIO_BALLOON_F_REPORTING : 0);
	bring_up(dev);
	for (unsigned i = 0; i < F_MAX_OPS && in.n; i++) {
		switch (take(&in, 1) % 8) {
		case 0:
			op_pfns(dev, &in);
			break;
		case 1:
			op_report(dev, &in);
			break;
		case 2:
			op_stats(dev, &in);
			break;
		case 3:
			op_config(dev, &in);
			break;
		case 4:
			vbal_ops.queue_notify(dev, (uint16_t)(take(&in, 1) % 8));
			break;
		case 5:
			if (rarely(&in))
				op_damage(dev, &in);
			break;
		default:
			if (rarely(&in)) {
				if (vbal_ops.reset(dev))
					abort();
				bring_up(dev);
			}
			break;
		}
		check_used();
	}
	vbal_ops.reset(dev);
	vbal_ops.destroy(dev);
	return 0;
}
