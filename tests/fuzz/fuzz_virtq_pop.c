// SPDX-License-Identifier: MIT
/*
 * fuzz_virtq_pop.c: virtq_init/pop/push/notify on a mostly valid split ring.
 *
 * The input is read as a byte stream (zeros once exhausted). It picks the
 * queue size, features and starting index, then lays out up to (size) chains
 * of readable-then-writable buffers inside RAM, some ending in an indirect
 * table, and publishes them. rarely() (Cloud Hypervisor's idea: about 1 in 32,
 * never once the input is used up) swaps a value for a raw one, so most runs
 * reach the deep checks instead of failing the first. The device side pops
 * until empty or broken, walks each chain with the iov cursor, pushes it, and
 * asks about notifications; a second round applies raw byte patches to the
 * rings. Invariants of a popped chain are checked with abort().
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_ring.h>

#include "boot/layout.h"
#include "devices/virtio/iov.h"
#include "devices/virtio/virtq.h"
#include "tests/fuzz/fuzz_util.h"
#include "vmm/guest_mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_RAM KiB(64)
#define FUZZ_MAX_QSZ 128 /* rings of 128 use 3.3 KiB of the 64 KiB */
#define FUZZ_MAX_SEGS 6  /* per chain or indirect table, mostly */

/* struct in: tests/fuzz/fuzz_util.h */
static uint8_t u8(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

/* little-endian, one statement per byte so every compiler reads the same order */
static uint16_t u16(struct in *in)
{
	uint16_t lo = u8(in);

	return (uint16_t)(lo | u8(in) << 8);
}

static uint32_t u32(struct in *in)
{
	uint32_t lo = u16(in);

	return lo | (uint32_t)u16(in) << 16;
}

static uint64_t u64(struct in *in)
{
	uint64_t lo = u32(in);

	return lo | (uint64_t)u32(in) << 32;
}

static bool rarely(struct in *in)
{
	return in->n && (u8(in) & 0x1f) == 0;
}

struct layout {
	struct guest_mem *gm;
	uint16_t qsz;
	gpa_t desc, avail, used;
	gpa_t buf_end; /* buffers and tables live in [0, buf_end) */
};

static void wr(const struct layout *l, gpa_t gpa, const void *v, size_t len)
{
	if (gm_write(l->gm, gpa, v, len))
		abort();
}

static void wr16(const struct layout *l, gpa_t gpa, uint16_t v)
{
	uint16_t le = htole16(v);

	wr(l, gpa, &le, 2);
}

static void put_desc(const struct layout *l, gpa_t table, uint32_t idx, uint64_t addr,
		     uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc d = {
		.addr = htole64(addr), .len = htole32(len),
		.flags = htole16(flags), .next = htole16(next),
	};

	wr(l, table + 16 * (uint64_t)idx, &d, sizeof(d));
}

/* A buffer inside [0, buf_end), or rarely any (addr, len). */
static void pick_buf(struct in *in, const struct layout *l, uint64_t *addr, uint32_t *len)
{
	if (rarely(in)) {
		*addr = u64(in);
		*len = u32(in);
		return;
	}
	*len = u16(in) % 2048;
	*addr = (u16(in) * 8ull) % (l->buf_end - *len + 1);
}

/* Flags for segment (i) of (n): readable then writable from (first_wo), linked. */
static uint16_t seg_flags(struct in *in, unsigned i, unsigned n, unsigned first_wo)
{
	uint16_t flags = (i >= first_wo ? VRING_DESC_F_WRITE : 0) |
			 (i + 1 < n ? VRING_DESC_F_NEXT : 0);

	return rarely(in) ? u16(in) & 7 : flags;
}

/* An indirect table of (n) entries in buffer space; returns its gpa. */
static gpa_t build_table(struct in *in, const struct layout *l, unsigned n)
{
	gpa_t table = (u16(in) * 16ull) % (l->buf_end - 16 * n + 1);
	unsigned first_wo = u8(in) % (n + 1);

	for (unsigned i = 0; i < n; i++) {
		uint64_t addr;
		uint32_t len;
		uint16_t next = rarely(in) ? u16(in) : (uint16_t)(i + 1);

		pick_buf(in, l, &addr, &len);
		put_desc(l, table, i, addr, len, seg_flags(in, i, n, first_wo), next);
	}
	return table;
}

/*
 * Chain (c) of (nchains) takes descriptors [c * per, (c + 1) * per) of the
 * table, its last one possibly an INDIRECT descriptor.
 */
static uint16_t build_chain(struct in *in, const struct layout *l, uint16_t first, unsigned per)
{
	unsigned n = 1 + u8(in) % per;
	unsigned first_wo = u8(in) % (n + 1);
	bool ind = u8(in) & 1;

	for (unsigned i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)(first + i);
		uint16_t next = rarely(in) ? u16(in) : (uint16_t)(idx + 1);
		uint64_t addr;
		uint32_t len;
		uint16_t flags;

		if (ind && i + 1 == n) {
			unsigned m = 1 + u8(in) % (rarely(in) ? 2 * l->qsz : FUZZ_MAX_SEGS);

			addr = build_table(in, l, MIN(m, l->qsz * 2u));
			len = 16 * m;
			flags = VRING_DESC_F_INDIRECT;
			if (rarely(in))
				len = u32(in);
			if (rarely(in))
				flags |= u16(in) & 3;
		} else {
			pick_buf(in, l, &addr, &len);
			flags = seg_flags(in, i, n, first_wo);
		}
		put_desc(l, l->desc, idx, addr, len, flags, next);
	}
	return first;
}

/* Everything a device may rely on after virtq_pop() returned 1. */
static void check_chain(const struct layout *l, const struct virtq *vq, struct vq_chain *c)
{
	const uint8_t *ram = gm_ptr(l->gm, 0, FUZZ_RAM);
	unsigned nr = (unsigned)c->nr_ro + c->nr_wo;
	uint64_t ro = 0, wo = 0;
	uint8_t hdr[16], sink[64];
	struct iovec take[4];
	struct iov_cur cur;
	volatile uint8_t touch;

	if (!ram || c->head >= vq->vq_size || nr > VQ_CHAIN_MAX)
		abort();
	for (unsigned i = 0; i < nr; i++) {
		const uint8_t *b = c->seg[i].iov_base;
		size_t len = c->seg[i].iov_len;

		if (b < ram || len > FUZZ_RAM || (size_t)(b - ram) > FUZZ_RAM - len)
			abort();
		if (len) /* a wrong pointer hits the guard page */
			touch = b[0] + b[len - 1];
		*(i < c->nr_ro ? &ro : &wo) += len;
	}
	(void)touch;
	if (ro != c->ro_len || wo != c->wo_len || ro + wo > UINT32_MAX)
		abort();

	/* parse like a device: header, some payload as iovecs, status at the end */
	iov_cur_init(&cur, c->seg, c->nr_ro);
	if (iov_cur_copy_out(&cur, hdr, MIN(sizeof(hdr), iov_cur_left(&cur))))
		abort();
	int n = iov_cur_take(&cur, MIN(iov_cur_left(&cur), 3000), take, ARRAY_SIZE(take));
	if (n < 0 && n != -E2BIG)
		abort();
	if (iov_cur_skip(&cur, iov_cur_left(&cur)) || iov_cur_copy_out(&cur, sink, 1) != -EMSGSIZE)
		abort();
	iov_cur_init(&cur, c->seg + c->nr_ro, c->nr_wo);
	if (c->wo_len && (iov_cur_skip(&cur, c->wo_len - 1) || iov_cur_copy_in(&cur, "\0", 1)))
		abort();
}

/*
 * Pop until empty or broken, pushing every chain; then the notify calls. The
 * bound is only for termination: writes to a buffer or used ring that a
 * rarely() layout made overlap the avail ring can move avail.idx meanwhile.
 */
static void drain(const struct layout *l, struct virtq *vq, struct vq_chain *c, struct in *in)
{
	for (unsigned i = 0; i < 4u * vq->vq_size + 4; i++) {
		int r = virtq_pop(vq, c);

		if (r == 0)
			break;
		if (r == -EBADMSG) {
			if (!vq->vq_broken || virtq_pop(vq, c) != -EBADMSG)
				abort();
			break;
		}
		if (r != 1)
			abort();
		check_chain(l, vq, c);
		virtq_push(vq, c->head, rarely(in) ? u32(in) : c->wo_len);
		if (u8(in) & 1)
			(void)virtq_need_notify(vq);
	}
	(void)virtq_need_notify(vq);
	virtq_disable_notify(vq);
	(void)virtq_enable_notify(vq);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vq_chain chain;
	struct in in = { data, size };
	struct layout l = { .gm = fuzz_gm(FUZZ_RAM) };
	struct virtq vq;
	uint8_t cfg = u8(&in);
	bool event_idx = cfg & 0x08, indirect = cfg & 0x10;
	uint16_t base, nchains;
	unsigned per;

	memset(gm_ptr(l.gm, 0, FUZZ_RAM), 0, FUZZ_RAM);
	l.qsz = (uint16_t)(1u << (cfg & 7));
	if (rarely(&in))
		l.qsz = u16(&in);
	/* the driver test helper's layout: avail ends at the end of RAM */
	l.avail = FUZZ_RAM - (6 + 2 * (uint64_t)l.qsz);
	l.used = ALIGN_DOWN(l.avail - (6 + 8 * (uint64_t)l.qsz), (uint64_t)4);
	l.desc = ALIGN_DOWN(l.used - 16 * (uint64_t)l.qsz, (uint64_t)16);
	if (rarely(&in))
		l.desc += (int8_t)u8(&in);
	if (rarely(&in))
		l.avail += (int8_t)u8(&in);
	if (rarely(&in))
		l.used += (int8_t)u8(&in);
	if (virtq_init(&vq, l.gm, l.qsz, FUZZ_MAX_QSZ, l.desc, l.avail, l.used, event_idx,
		       indirect)) {
		if (!vq.vq_broken || virtq_pop(&vq, &chain) != -EBADMSG)
			abort();
		return 0;
	}
	l.buf_end = MIN(l.desc, l.used) & ~15ull;
	if (l.buf_end < 16 * 2 * FUZZ_MAX_QSZ + 2048)
		return 0; /* a rarely() shift left no room for buffers */

	/* a queue that already did (base) chains, so indices wrap */
	base = u16(&in);
	vq.vq_last_avail = vq.vq_used_idx = vq.vq_signalled_used = base;
	wr16(&l, l.used + 2, base);
	nchains = u8(&in) % (l.qsz + 1);
	per = nchains ? MAX(1u, MIN(l.qsz / nchains, FUZZ_MAX_SEGS)) : 1;
	for (uint16_t i = 0; i < nchains; i++) {
		uint16_t head = build_chain(&in, &l, (uint16_t)(i * per), per);

		if (rarely(&in))
			head = u16(&in);
		wr16(&l, l.avail + 4 + 2 * (uint64_t)((base + i) & (l.qsz - 1)), head);
	}
	wr16(&l, l.avail, u8(&in) & 1 ? VRING_AVAIL_F_NO_INTERRUPT : 0);
	wr16(&l, l.avail + 4 + 2 * (uint64_t)l.qsz, (uint16_t)(base + u16(&in))); /* used_event */
	wr16(&l, l.avail + 2, rarely(&in) ? u16(&in) : (uint16_t)(base + nchains));
	drain(&l, &vq, &chain, &in);

	/* round two: raw patches anywhere in the rings, then more avail entries */
	while (in.n >= 3 && !vq.vq_broken) {
		uint16_t off = u16(&in);
		uint8_t v = u8(&in);
		gpa_t ring_lo = MIN(l.desc, l.used);

		wr(&l, ring_lo + off % (FUZZ_RAM - ring_lo), &v, 1);
		if ((off & 0xf) == 0) {
			wr16(&l, l.avail + 2, (uint16_t)(vq.vq_last_avail + v % (l.qsz + 1)));
			drain(&l, &vq, &chain, &in);
		}
	}
	return 0;
}
