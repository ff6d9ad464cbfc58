// SPDX-License-Identifier: MIT
/* th_vq_driver.c: driver-side split-ring writer for virtqueue tests (prefix th_vq_). */
#include "tests/helpers/th_vq_driver.h"

#include <endian.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>

/*
 * Ring index and flag fields are shared with the device while its event-loop
 * thread runs, so the driver side accesses them as a Linux driver does
 * (virtio_store_mb / virtio16 loads), not with gm_write()'s memcpy: release
 * stores (a descriptor or buffer written before avail.idx is visible when the
 * device acquires it, pairing with virtq.c's ring_load16) and acquire loads
 * (the used element and the bytes the device wrote before its used.idx store
 * are visible here). Under ThreadSanitizer this is also what makes the
 * hand-over from the "guest" to the device a happens-before edge.
 */
static uint16_t *ring16(const struct th_vq *d, gpa_t gpa)
{
	uint16_t *p = gm_ptr(d->gm, gpa, sizeof(*p));

	assert_non_null(p);
	return p;
}

static void wr16(const struct th_vq *d, gpa_t gpa, uint16_t v)
{
	__atomic_store_n(ring16(d, gpa), htole16(v), __ATOMIC_RELEASE);
}

static uint16_t rd16(const struct th_vq *d, gpa_t gpa)
{
	return le16toh(__atomic_load_n(ring16(d, gpa), __ATOMIC_ACQUIRE));
}

static void zero(const struct th_vq *d, gpa_t gpa, uint64_t len)
{
	static const uint8_t z[4096];

	while (len) {
		size_t n = MIN(len, sizeof(z));

		assert_int_equal(gm_write(d->gm, gpa, z, n), 0);
		gpa += n;
		len -= n;
	}
}

void th_vq_init_at(struct th_vq *d, const struct guest_mem *gm, uint16_t size, gpa_t top)
{
	memset(d, 0, sizeof(*d));
	d->gm = gm;
	d->size = size;
	d->avail = top - (6 + 2 * (uint64_t)size);
	d->used = ALIGN_DOWN(d->avail - (6 + 8 * (uint64_t)size), (uint64_t)4);
	d->desc = ALIGN_DOWN(d->used - 16 * (uint64_t)size, (uint64_t)16);
	d->buf_top = d->desc;
	d->buf_floor = 0;
	zero(d, d->desc, top - d->desc);
}

void th_vq_init(struct th_vq *d, const struct guest_mem *gm, uint16_t size)
{
	th_vq_init_at(d, gm, size, gm_low_end(gm));
}

void th_vq_bind(const struct th_vq *d, struct virtq *vq, bool event_idx, bool indirect)
{
	assert_int_equal(virtq_init(vq, d->gm, d->size, d->size, d->desc, d->avail, d->used,
				    event_idx, indirect), 0);
}

gpa_t th_vq_alloc(struct th_vq *d, uint64_t len)
{
	assert_true(d->buf_top - d->buf_floor >= len + 16);
	d->buf_top = ALIGN_DOWN(d->buf_top - len, (uint64_t)16);
	return d->buf_top;
}

void th_vq_write_desc(struct th_vq *d, gpa_t table, uint16_t idx, uint64_t addr, uint32_t len,
		      uint16_t flags, uint16_t next)
{
	struct vring_desc raw = {
		.addr = htole64(addr),
		.len = htole32(len),
		.flags = htole16(flags),
		.next = htole16(next),
	};

	assert_int_equal(gm_write(d->gm, table + 16 * (uint64_t)idx, &raw, sizeof(raw)), 0);
}

/* Write (segs, n) as a NEXT-linked chain at (first, first+1, ...) mod (count) of (table). */
static void write_linked(struct th_vq *d, gpa_t table, uint16_t count, uint16_t first,
			 const struct th_seg *segs, unsigned n, bool link_last)
{
	for (unsigned i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((first + i) % count);
		uint16_t next = (uint16_t)((idx + 1) % count);
		uint16_t flags = segs[i].write ? VRING_DESC_F_WRITE : 0;

		if (i + 1 < n || link_last)
			flags |= VRING_DESC_F_NEXT;
		th_vq_write_desc(d, table, idx, segs[i].gpa, segs[i].len, flags, next);
	}
}

uint16_t th_vq_add_chain(struct th_vq *d, const struct th_seg *segs, unsigned n)
{
	uint16_t head = d->next_desc;

	assert_true(n >= 1 && n <= d->size);
	write_linked(d, d->desc, d->size, head, segs, n, false);
	d->next_desc = (uint16_t)((head + n) % d->size);
	return head;
}

uint16_t th_vq_add_indirect(struct th_vq *d, const struct th_seg *direct, unsigned nd,
			    const struct th_seg *ind, unsigned ni)
{
	uint16_t head = d->next_desc;
	uint16_t last = (uint16_t)((head + nd) % d->size);
	gpa_t table;

	assert_true(nd + 1 <= d->size && ni >= 1 && ni <= UINT16_MAX);
	table = th_vq_alloc(d, 16 * (uint64_t)ni);
	write_linked(d, table, (uint16_t)ni, 0, ind, ni, false);
	write_linked(d, d->desc, d->size, head, direct, nd, true);
	th_vq_write_desc(d, d->desc, last, table, 16 * ni, VRING_DESC_F_INDIRECT, 0);
	d->next_desc = (uint16_t)((last + 1) % d->size);
	return head;
}

void th_vq_set_avail_entry(struct th_vq *d, uint16_t slot, uint16_t head)
{
	wr16(d, d->avail + 4 + 2 * (uint64_t)(slot % d->size), head);
}

void th_vq_set_avail_idx(struct th_vq *d, uint16_t idx)
{
	d->avail_idx = idx;
	wr16(d, d->avail + 2, idx);
}

void th_vq_publish(struct th_vq *d, uint16_t head)
{
	th_vq_set_avail_entry(d, d->avail_idx, head);
	th_vq_set_avail_idx(d, (uint16_t)(d->avail_idx + 1));
}

void th_vq_set_avail_flags(struct th_vq *d, uint16_t flags)
{
	wr16(d, d->avail, flags);
}

void th_vq_set_used_event(struct th_vq *d, uint16_t v)
{
	wr16(d, d->avail + 4 + 2 * (uint64_t)d->size, v);
}

uint16_t th_vq_avail_event(const struct th_vq *d)
{
	return rd16(d, d->used + 4 + 8 * (uint64_t)d->size);
}

uint16_t th_vq_used_flags(const struct th_vq *d)
{
	return rd16(d, d->used);
}

uint16_t th_vq_used_idx(const struct th_vq *d)
{
	return rd16(d, d->used + 2);
}

bool th_vq_get_used(struct th_vq *d, uint32_t *id, uint32_t *len)
{
	struct vring_used_elem e;

	if (th_vq_used_idx(d) == d->last_used)
		return false;
	assert_int_equal(gm_read(d->gm, d->used + 4 + 8 * (uint64_t)(d->last_used % d->size), &e,
				 sizeof(e)), 0);
	*id = le32toh(e.id);
	*len = le32toh(e.len);
	d->last_used++;
	return true;
}

uint32_t th_vq_wait_used(struct th_vq *d, uint16_t head)
{
	uint32_t id, len;

	for (int i = 0; i < 5000; i++) {
		if (th_vq_get_used(d, &id, &len)) {
			assert_int_equal(id, head);
			return len;
		}
		usleep(1000);
	}
	fail_msg("no used entry");
	return 0;
}
