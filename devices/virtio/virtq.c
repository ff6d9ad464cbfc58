// SPDX-License-Identifier: MIT
/* virtq.c: split-virtqueue geometry checks, chain walking and completion (prefix virtq_). */
#include "devices/virtio/virtq.h"

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <linux/virtio_ring.h>

#include "vmm/log.h"

/*
 * Memory-ordering model.
 *
 * The driver (a guest vCPU) and the device (this queue's owner thread) share
 * the rings through guest RAM and nothing else, so every ordering edge is a
 * pair of barriers, one on each side (virtio 1.2 §2.7.13, §2.7.14; the
 * driver side quoted is Linux drivers/virtio/virtio_ring.c):
 *
 *  1. avail.idx  driver: write desc + avail.ring[], virtio_wmb, write avail.idx
 *                device: acquire load of avail.idx, then read ring[] and desc.
 *  2. used.idx   device: write used.ring[], release store of used.idx
 *                driver: read used.idx, virtio_rmb, read used.ring[] and buffers.
 *  3. interrupt  device: store used.idx, FULL fence, load used_event/avail.flags
 *     (§2.7.7)   driver: store used_event (or clear NO_INTERRUPT), virtio_mb,
 *                        load used.idx (virtqueue_enable_cb_delayed/_poll).
 *  4. kick       device: store avail_event (or clear NO_NOTIFY), FULL fence,
 *     (§2.7.10)          load avail.idx (virtq_enable_notify)
 *                driver: store avail.idx, virtio_mb, load avail_event/used.flags
 *                        (virtqueue_kick_prepare_split).
 *
 * 3 and 4 are store-then-load on both sides (Dekker): acquire/release cannot
 * order a store before a later load, only a full fence does; without it each
 * side may read the other's stale value and both go to sleep.
 *
 * Every ring field is read once through ring_load16() (an acquire load plus
 * le16toh; acquire is free on x86 and keeps later reads after it elsewhere).
 * Descriptors are copied to a local before any check (single fetch, STYLE.md
 * §4): direct ones with relaxed atomic loads of each field, which the compiler
 * may not re-read, indirect ones entry by entry with gm_read().
 */

_Static_assert(sizeof(struct vring_desc) == 16, "virtio 1.2 §2.7.5");
_Static_assert(sizeof(struct vring_avail) == 4, "virtio 1.2 §2.7.6");
_Static_assert(sizeof(struct vring_used) == 4, "virtio 1.2 §2.7.8");
_Static_assert(sizeof(struct vring_used_elem) == 8, "virtio 1.2 §2.7.8");
_Static_assert(VQ_CHAIN_MAX >= VQ_MAX_SIZE, "a direct chain must fit in a vq_chain");

#define VQ_DESC_LEN sizeof(struct vring_desc)

/* A descriptor after its single fetch, in host byte order. */
struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static struct vring_desc *desc_table(const struct virtq *vq)
{
	return (struct vring_desc *)vq->vq_desc_hva;
}

static struct vring_avail *avail_ring(const struct virtq *vq)
{
	return (struct vring_avail *)vq->vq_avail_hva;
}

static struct vring_used *used_ring(const struct virtq *vq)
{
	return (struct vring_used *)vq->vq_used_hva;
}

/* used_event trails avail.ring[], avail_event trails used.ring[] (virtio 1.2 §2.7.6, §2.7.8). */
static __virtio16 *used_event(const struct virtq *vq)
{
	return &avail_ring(vq)->ring[vq->vq_size];
}

static __virtio16 *avail_event(const struct virtq *vq)
{
	return (__virtio16 *)&used_ring(vq)->ring[vq->vq_size];
}

/* The one way a driver-written ring field is read (STYLE.md §4). */
static uint16_t ring_load16(const __virtio16 *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_ACQUIRE));
}

static void ring_store16(__virtio16 *p, uint16_t v)
{
	__atomic_store_n(p, htole16(v), __ATOMIC_RELAXED);
}

static void desc_decode(const struct vring_desc *raw, struct vq_desc *d)
{
	d->addr = le64toh(raw->addr);
	d->len = le32toh(raw->len);
	d->flags = le16toh(raw->flags);
	d->next = le16toh(raw->next);
}

/* Copy descriptor (idx < vq_size) of the table; the fields are never read again. */
static void desc_fetch(const struct virtq *vq, uint16_t idx, struct vq_desc *d)
{
	const struct vring_desc *src = &desc_table(vq)[idx];
	struct vring_desc raw = {
		.addr = __atomic_load_n(&src->addr, __ATOMIC_RELAXED),
		.len = __atomic_load_n(&src->len, __ATOMIC_RELAXED),
		.flags = __atomic_load_n(&src->flags, __ATOMIC_RELAXED),
		.next = __atomic_load_n(&src->next, __ATOMIC_RELAXED),
	};

	desc_decode(&raw, d);
}

/* Mark the queue broken: the driver must reset the device (STYLE.md §5, case 1). */
static int vq_fail(struct virtq *vq, const char *why)
{
	/* atomic: other threads may look (virtq.h, vq_broken) */
	__atomic_store_n(&vq->vq_broken, true, __ATOMIC_RELEASE);
	log_guest_ratelimited("virtq: %s (size %u, last_avail %u); queue broken", why,
			      vq->vq_size, vq->vq_last_avail);
	return -EBADMSG;
}

int virtq_init(struct virtq *vq, const struct guest_mem *gm, uint16_t size, uint16_t max_size,
	       gpa_t desc, gpa_t avail, gpa_t used, bool event_idx, bool indirect)
{
	/* area sizes of virtio 1.2 §2.7, including the event-index trailers */
	uint64_t desc_len = VQ_DESC_LEN * (uint64_t)size;
	uint64_t avail_len = 6 + 2 * (uint64_t)size;
	uint64_t used_len = 6 + 8 * (uint64_t)size;

	memset(vq, 0, sizeof(*vq));
	vq->vq_broken = true; /* until every check below passed */

	if (size == 0 || size > VQ_MAX_SIZE || size > max_size || (size & (size - 1))) {
		log_guest_ratelimited("virtq: bad queue size %u (max %u)", size, max_size);
		return -EINVAL;
	}
	if (!IS_ALIGNED(desc, VRING_DESC_ALIGN_SIZE) || !IS_ALIGNED(avail, VRING_AVAIL_ALIGN_SIZE) ||
	    !IS_ALIGNED(used, VRING_USED_ALIGN_SIZE)) {
		log_guest_ratelimited("virtq: misaligned ring (desc %#llx avail %#llx used %#llx)",
				      (unsigned long long)desc, (unsigned long long)avail,
				      (unsigned long long)used);
		return -EINVAL;
	}
	vq->vq_desc_hva = gm_ptr(gm, desc, desc_len);
	vq->vq_avail_hva = gm_ptr(gm, avail, avail_len);
	vq->vq_used_hva = gm_ptr(gm, used, used_len);
	if (!vq->vq_desc_hva || !vq->vq_avail_hva || !vq->vq_used_hva) {
		log_guest_ratelimited("virtq: ring outside RAM (desc %#llx avail %#llx used %#llx)",
				      (unsigned long long)desc, (unsigned long long)avail,
				      (unsigned long long)used);
		memset(vq, 0, sizeof(*vq));
		vq->vq_broken = true;
		return -EINVAL;
	}
	vq->vq_gm = gm;
	vq->vq_size = size;
	vq->vq_desc = desc;
	vq->vq_avail = avail;
	vq->vq_used = used;
	vq->vq_event_idx = event_idx;
	vq->vq_indirect = indirect;
	vq->vq_signalled_valid = true; /* used.idx 0 == signalled 0: nothing pending */
	vq->vq_broken = false;
	return 0;
}

/*
 * Append descriptor (d) to (c): the checks every buffer passes, direct or
 * from an indirect table. Length first, so a 2^32 total is caught whatever
 * the RAM size.
 */
static int chain_add_seg(struct virtq *vq, struct vq_chain *c, const struct vq_desc *d)
{
	unsigned nr = (unsigned)c->nr_ro + c->nr_wo;
	bool wr = d->flags & VRING_DESC_F_WRITE;
	void *hva;

	if (nr >= VQ_CHAIN_MAX)
		return vq_fail(vq, "chain has more than VQ_CHAIN_MAX segments");
	/* virtio 1.2 §2.7.5.2 caps a chain at 2^32 bytes; ro/wo_len need < 2^32 */
	if ((uint64_t)c->ro_len + c->wo_len + d->len > UINT32_MAX)
		return vq_fail(vq, "chain length overflows 32 bits");
	/* virtio 1.2 §2.7.5.2: device-readable descriptors come first */
	if (!wr && c->nr_wo)
		return vq_fail(vq, "readable descriptor after a writable one");
	hva = gm_ptr(vq->vq_gm, d->addr, d->len);
	if (!hva)
		return vq_fail(vq, "buffer outside RAM");
	c->seg[nr].iov_base = hva;
	c->seg[nr].iov_len = d->len;
	if (wr) {
		c->nr_wo++;
		c->wo_len += d->len;
	} else {
		c->nr_ro++;
		c->ro_len += d->len;
	}
	return 0;
}

/*
 * Walk the indirect table (ind) names, entry by entry through gm_read():
 * the table is never dereferenced in place. It ends the chain (no NEXT).
 */
static int chain_walk_indirect(struct virtq *vq, const struct vq_desc *ind, struct vq_chain *c)
{
	uint32_t n = ind->len / VQ_DESC_LEN;
	uint32_t ttl = n;
	uint16_t idx = 0;
	struct vring_desc raw;
	struct vq_desc d;
	int rc;

	/* virtio 1.2 §2.7.5.3.1; the WRITE flag of (ind) is ignored (§2.7.5.3.2) */
	if (!vq->vq_indirect)
		return vq_fail(vq, "INDIRECT descriptor without VIRTIO_F_INDIRECT_DESC");
	if (ind->flags & VRING_DESC_F_NEXT)
		return vq_fail(vq, "INDIRECT and NEXT both set");
	if (ind->len == 0 || ind->len % VQ_DESC_LEN)
		return vq_fail(vq, "indirect table length not a non-zero multiple of 16");
	if (n > vq->vq_size)
		return vq_fail(vq, "indirect table larger than the queue");
	if (!gm_range_ok(vq->vq_gm, ind->addr, ind->len))
		return vq_fail(vq, "indirect table outside RAM");

	for (;;) {
		/* a table of n entries holds no chain longer than n: catches loops */
		if (ttl-- == 0)
			return vq_fail(vq, "indirect chain loops");
		/* in range: idx < n and the whole table was checked above */
		if (gm_read(vq->vq_gm, ind->addr + (uint64_t)idx * VQ_DESC_LEN, &raw, sizeof(raw)))
			return vq_fail(vq, "indirect table outside RAM");
		desc_decode(&raw, &d);
		if (d.flags & VRING_DESC_F_INDIRECT)
			return vq_fail(vq, "nested INDIRECT descriptor");
		rc = chain_add_seg(vq, c, &d);
		if (rc)
			return rc;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= n)
			return vq_fail(vq, "indirect next out of range");
		idx = d.next;
	}
}

/*
 * Walk the chain at (head) < vq_size: zero or more direct descriptors,
 * optionally ended by one INDIRECT descriptor (virtio 1.2 §2.7.5.3).
 */
static int chain_walk(struct virtq *vq, uint16_t head, struct vq_chain *c)
{
	/* Firecracker's ttl: a chain never visits more descriptors than the table holds */
	unsigned ttl = vq->vq_size;
	uint16_t idx = head;
	struct vq_desc d;
	int rc;

	for (;;) {
		if (ttl-- == 0)
			return vq_fail(vq, "chain longer than the queue (loop?)");
		desc_fetch(vq, idx, &d);
		if (d.flags & VRING_DESC_F_INDIRECT)
			return chain_walk_indirect(vq, &d, c);
		rc = chain_add_seg(vq, c, &d);
		if (rc)
			return rc;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= vq->vq_size)
			return vq_fail(vq, "next out of range");
		idx = d.next;
	}
}

int virtq_pop(struct virtq *vq, struct vq_chain *c)
{
	uint16_t avail_idx, pending, head;
	int rc;

	if (vq->vq_broken)
		return -EBADMSG;
	assert(vq->vq_size != 0);
	/*
	 * Acquire: the ring entry and descriptors read below were written before
	 * avail.idx; pairs with the driver's virtio_wmb before its avail.idx store
	 * (model edge 1).
	 */
	avail_idx = ring_load16(&avail_ring(vq)->idx);
	pending = avail_idx - vq->vq_last_avail;
	if (pending == 0)
		return 0;
	if (pending > vq->vq_size)
		return vq_fail(vq, "avail.idx moved by more than the queue size");
	head = ring_load16(&avail_ring(vq)->ring[vq->vq_last_avail & (vq->vq_size - 1)]);
	if (head >= vq->vq_size)
		return vq_fail(vq, "avail ring head out of range");

	c->head = head;
	c->nr_ro = c->nr_wo = 0;
	c->ro_len = c->wo_len = 0;
	rc = chain_walk(vq, head, c);
	if (rc)
		return rc;
	vq->vq_last_avail++;
	return 1;
}

void virtq_push(struct virtq *vq, uint16_t head, uint32_t written)
{
	struct vring_used *used = used_ring(vq);
	struct vring_used_elem *e;

	/* programming errors, not guest input: head came from virtq_pop() */
	assert(vq->vq_size != 0 && head < vq->vq_size);
	e = &used->ring[vq->vq_used_idx & (vq->vq_size - 1)];
	__atomic_store_n(&e->id, htole32(head), __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, htole32(written), __ATOMIC_RELAXED);
	vq->vq_used_idx++;
	/*
	 * Release: the element above is visible before the new used.idx; pairs
	 * with the driver's virtio_rmb after it reads used.idx (model edge 2).
	 */
	__atomic_store_n(&used->idx, htole16(vq->vq_used_idx), __ATOMIC_RELEASE);
}

/*
 * virtio 1.2 §2.7.7.2: interrupt when used.idx moved past used_event, i.e.
 * event lies in [old, new) modulo 2^16 (Linux vring_need_event).
 */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

bool virtq_need_notify(struct virtq *vq)
{
	uint16_t old_idx = vq->vq_signalled_used;
	uint16_t new_idx = vq->vq_used_idx;
	bool valid = vq->vq_signalled_valid;

	/*
	 * Full fence: the used.idx store of virtq_push() must be visible before
	 * we load used_event / avail.flags. Pairs with the driver's virtio_mb
	 * between its used_event store and its used.idx reload (model edge 3);
	 * otherwise both read stale values and the interrupt is lost.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->vq_signalled_used = new_idx;
	vq->vq_signalled_valid = true;
	if (valid && new_idx == old_idx)
		return false; /* nothing pushed since the last call */
	if (!vq->vq_event_idx)
		return !(ring_load16(&avail_ring(vq)->flags) & VRING_AVAIL_F_NO_INTERRUPT);
	if (!valid)
		return true;
	return need_event(ring_load16(used_event(vq)), new_idx, old_idx);
}

bool virtq_enable_notify(struct virtq *vq)
{
	if (vq->vq_broken)
		return false;
	/* virtio 1.2 §2.7.10: kick me when you publish entry last_avail */
	if (vq->vq_event_idx)
		ring_store16(avail_event(vq), vq->vq_last_avail);
	else
		ring_store16(&used_ring(vq)->flags, 0);
	/*
	 * Full fence: the store above must be visible before we reload avail.idx.
	 * Pairs with the driver's virtio_mb between its avail.idx store and its
	 * avail_event / used.flags load (model edge 4); without it the driver may
	 * skip the kick while we miss its new buffer, and the queue stalls.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return ring_load16(&avail_ring(vq)->idx) != vq->vq_last_avail;
}

void virtq_disable_notify(struct virtq *vq)
{
	/* with EVENT_IDX the stale avail_event already suppresses kicks */
	if (vq->vq_event_idx || vq->vq_broken)
		return;
	/* a hint only (virtio 1.2 §2.7.10): no ordering needed */
	ring_store16(&used_ring(vq)->flags, VRING_USED_F_NO_NOTIFY);
}
