/* SPDX-License-Identifier: MIT */
/* fuzz_util.h: pieces the fuzz targets share (guest RAM, crafted-image mode). */
#ifndef AGENTVMM_TESTS_FUZZ_FUZZ_UTIL_H
#define AGENTVMM_TESTS_FUZZ_FUZZ_UTIL_H

#include <endian.h>
#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "boot/layout.h"
#include "vmm/compiler.h"
#include "vmm/guest_mem.h"

/* One guest RAM of (ram) bytes for the whole run (the first call's size wins). */
static inline struct guest_mem *fuzz_gm(uint64_t ram)
{
	static struct guest_mem gm;
	static int ready;

	if (!ready) {
		if (gm_create(&gm, ram, BOOT_MMIO_HOLE_GPA))
			abort();
		ready = 1;
	}
	return &gm;
}

/*
 * fuzz_pick_image() - byte 0 < 0xe0: the input patches a crafted image (img,
 * (full) bytes, already built by the caller), with bytes 1-2 an optional length
 * cut; otherwise the rest of the input is the raw image. Sets (*kimg, *klen)
 * and returns the offset of the first patch byte (0: raw, no patches).
 */
static inline size_t fuzz_pick_image(const uint8_t *data, size_t size, const uint8_t *img,
				     size_t full, const uint8_t **kimg, size_t *klen)
{
	*kimg = img;
	*klen = full;
	if (data[0] >= 0xe0) {
		*kimg = data + 1;
		*klen = size - 1;
		return 0;
	}
	if (size < 3)
		return 1;
	uint16_t cut = (uint16_t)(data[1] | data[2] << 8);
	if (cut < full && (data[0] & 1))
		*klen = cut;
	return 3;
}

/* The fuzz input read front to back; past its end every byte reads as 0. */
struct in {
	const uint8_t *p;
	size_t n;
};

/* take() - the next (bytes) bytes of (in), big-endian, as a number. */
static inline unsigned take(struct in *in, unsigned bytes)
{
	unsigned v = 0;

	for (unsigned i = 0; i < bytes; i++) {
		v = v << 8 | (in->n ? *in->p : 0);
		if (in->n) {
			in->p++;
			in->n--;
		}
	}
	return v;
}

/*
 * The driver's side of one split virtqueue (virtio 1.2 §2.7) that a device
 * target plays in guest RAM: the three parts, (size) entries, the next
 * descriptor to fill (handed out in order, wrapping), the avail index
 * published so far. (buf, floor, used_seen) are the target's own: a buffer
 * area it carves downwards and the used entries it has read back.
 */
struct fuzz_ring {
	gpa_t desc, avail, used;
	gpa_t buf, floor;
	uint16_t size, nd, avail_idx, used_seen, last_head;
};

/* fuzz_wr() - (n) bytes at (p) into guest RAM at (g); a target's own layout error aborts. */
static inline void fuzz_wr(struct guest_mem *gm, gpa_t g, const void *p, size_t n)
{
	if (gm_write(gm, g, p, n))
		abort();
}

/*
 * fuzz_ring_place() - (r) empty, of (size) entries, its parts placed right
 * below (top): avail ring, then used ring, then the descriptor table.
 */
static inline void fuzz_ring_place(struct fuzz_ring *r, gpa_t top, uint16_t size)
{
	*r = (struct fuzz_ring){ .size = size };
	r->avail = top - (6 + 2 * (gpa_t)size);
	r->used = ALIGN_DOWN(r->avail - (6 + 8 * (gpa_t)size), 4);
	r->desc = ALIGN_DOWN(r->used - 16 * (gpa_t)size, 16);
}

/* fuzz_put_desc() - descriptor (i) of (r), as given (no check: targets write bad ones too). */
static inline void fuzz_put_desc(struct guest_mem *gm, const struct fuzz_ring *r, uint16_t i,
				 uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc d = { htole64(addr), htole32(len), htole16(flags), htole16(next) };

	fuzz_wr(gm, r->desc + 16 * (uint64_t)i, &d, sizeof(d));
}

/* fuzz_publish() - put (head) in the avail ring and bump its index. */
static inline void fuzz_publish(struct guest_mem *gm, struct fuzz_ring *r, uint16_t head)
{
	uint16_t h = htole16(head), idx;

	r->last_head = head;
	fuzz_wr(gm, r->avail + 4 + 2 * (uint64_t)(r->avail_idx % r->size), &h, 2);
	r->avail_idx++;
	idx = htole16(r->avail_idx);
	fuzz_wr(gm, r->avail + 2, &idx, 2);
}

/*
 * fuzz_chain() - (n) descriptors (a[i], l[i]) from r->nd on, chained with
 * NEXT, device-writable where (w) says (w NULL: where (all_w)), then
 * published.
 */
static inline void fuzz_chain(struct guest_mem *gm, struct fuzz_ring *r, const uint64_t *a,
			      const uint32_t *l, const bool *w, bool all_w, unsigned n)
{
	uint16_t head = r->nd;

	for (unsigned i = 0; i < n; i++) {
		uint16_t me = r->nd, next = (uint16_t)((me + 1) % r->size);
		bool wr = w ? w[i] : all_w;

		fuzz_put_desc(gm, r, me, a[i], l[i], (uint16_t)((wr ? VRING_DESC_F_WRITE : 0) |
							       (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
			      next);
		r->nd = next;
	}
	fuzz_publish(gm, r, head);
}

#endif
