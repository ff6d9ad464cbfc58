/* SPDX-License-Identifier: MIT */
/*
 * th_vq_driver.h: the driver side of a split virtqueue for tests: writes
 * descriptor tables (direct and indirect) and the avail ring into real guest
 * memory, and reads the used ring back (Firecracker's VirtQueue test helper).
 *
 * Layout made by th_vq_init() for a queue of size n, at the top of RAM so an
 * off-by-one in virtq.c runs into the guard page:
 *
 *   ... buffers (th_vq_alloc, growing down) | desc 16n | used 6+8n | avail 6+2n | end of RAM
 *
 * The avail ring (with used_event as its last two bytes) ends exactly at the
 * end of RAM; used and desc follow below at their alignments.
 */
#ifndef AGENTVMM_TESTS_HELPERS_TH_VQ_DRIVER_H
#define AGENTVMM_TESTS_HELPERS_TH_VQ_DRIVER_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_ring.h>

#include "devices/virtio/virtq.h"
#include "vmm/guest_mem.h"

struct th_vq {
	const struct guest_mem *gm;
	uint16_t size;
	gpa_t desc, avail, used; /* ring areas */
	gpa_t buf_top;           /* th_vq_alloc() hands out memory below this */
	gpa_t buf_floor;         /* and never below this */
	uint16_t next_desc;      /* next free descriptor, round robin */
	uint16_t avail_idx;      /* driver's copy of avail.idx */
	uint16_t last_used;      /* next used entry th_vq_get_used() reads */
};

/* One buffer of a chain to build: device-writable when (write). */
struct th_seg {
	gpa_t gpa;
	uint32_t len;
	bool write;
};

/* th_vq_init() - zeroed rings of (size) at the top of RAM region 0 (see above). */
void th_vq_init(struct th_vq *d, const struct guest_mem *gm, uint16_t size);

/* th_vq_init_at() - the same layout with the avail ring ending at (top). */
void th_vq_init_at(struct th_vq *d, const struct guest_mem *gm, uint16_t size, gpa_t top);

/* th_vq_bind() - virtq_init() on this layout; fails the test unless it returns 0. */
void th_vq_bind(const struct th_vq *d, struct virtq *vq, bool event_idx, bool indirect);

/* th_vq_alloc() - (len) bytes of 16-aligned buffer space below the rings (not zeroed). */
gpa_t th_vq_alloc(struct th_vq *d, uint64_t len);

/* th_vq_write_desc() - raw descriptor (idx) of the table at (table), any values. */
void th_vq_write_desc(struct th_vq *d, gpa_t table, uint16_t idx, uint64_t addr, uint32_t len,
		      uint16_t flags, uint16_t next);

/*
 * th_vq_add_chain() - write (segs, n) as n direct descriptors linked with
 * NEXT, taken round robin from the table. Return: the head (not published).
 */
uint16_t th_vq_add_chain(struct th_vq *d, const struct th_seg *segs, unsigned n);

/*
 * th_vq_add_indirect() - (direct, nd) direct descriptors, then one INDIRECT
 * descriptor pointing at a fresh table (th_vq_alloc) holding (ind, ni).
 * Return: the head (not published).
 */
uint16_t th_vq_add_indirect(struct th_vq *d, const struct th_seg *direct, unsigned nd,
			    const struct th_seg *ind, unsigned ni);

/* th_vq_publish() - avail.ring[avail_idx % n] = (head), then avail.idx + 1. */
void th_vq_publish(struct th_vq *d, uint16_t head);

/* Raw ring fields, for negative and notification tests. */
void th_vq_set_avail_idx(struct th_vq *d, uint16_t idx);
void th_vq_set_avail_entry(struct th_vq *d, uint16_t slot, uint16_t head);
void th_vq_set_avail_flags(struct th_vq *d, uint16_t flags);
void th_vq_set_used_event(struct th_vq *d, uint16_t v);
uint16_t th_vq_avail_event(const struct th_vq *d);
uint16_t th_vq_used_flags(const struct th_vq *d);
uint16_t th_vq_used_idx(const struct th_vq *d);

/* th_vq_get_used() - next used entry into (id, len); false when none is new. */
bool th_vq_get_used(struct th_vq *d, uint32_t *id, uint32_t *len);

/*
 * th_vq_wait_used() - wait up to 5 s (a device on its own loop thread) for
 * the next used entry, which must be (head); its used length. Fails the test
 * when none comes.
 */
uint32_t th_vq_wait_used(struct th_vq *d, uint16_t head);

#endif
