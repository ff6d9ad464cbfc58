/* SPDX-License-Identifier: MIT */
/*
 * virtq.h: split virtqueues (virtio 1.2 §2.7) as the device side sees them.
 *
 * Ring layout in guest memory, for a queue of size n (a power of two):
 *
 *   descriptor table  16 * n bytes, 16-aligned:
 *                     { le64 addr; le32 len; le16 flags; le16 next; } desc[n];
 *   available ring    6 + 2 * n bytes, 2-aligned:
 *                     { le16 flags; le16 idx; le16 ring[n]; le16 used_event; }
 *   used ring         6 + 8 * n bytes, 4-aligned:
 *                     { le16 flags; le16 idx; { le32 id; le32 len; } ring[n]; le16 avail_event; }
 *
 * A descriptor with VRING_DESC_F_INDIRECT names, instead of a buffer, a table
 * of (len / 16) descriptors in guest memory laid out like desc[] (virtio 1.2
 * §2.7.5.3); it ends the chain, and its entries' next fields index that table.
 *
 * The driver publishes chains by writing their head into avail.ring[idx % n]
 * and then bumping avail.idx; the device consumes them in order, and returns
 * each by writing { head, bytes written } into used.ring and bumping used.idx.
 * With VIRTIO_F_EVENT_IDX, used_event (after avail.ring) tells the device when
 * the driver wants an interrupt, and avail_event (after used.ring) tells the
 * driver when the device wants a notification.
 *
 * Everything read from the rings is guest-controlled: each descriptor is
 * copied to a local once, validated, and never read again (STYLE.md §4, §5).
 *
 * Use by a device (one owner thread per queue, normally the event loop):
 *
 *   for (;;) {
 *           while ((r = virtq_pop(vq, c)) == 1)
 *                   handle c, then (now or later, on the same thread) virtq_push();
 *           if (r < 0)
 *                   fail the device (NEEDS_RESET), stop this queue;
 *           if (virtq_need_notify(vq))
 *                   raise the queue's interrupt;
 *           if (!virtq_enable_notify(vq))
 *                   break;          (sleep until the next ioeventfd kick)
 *   }
 *
 * Skipping virtq_enable_notify() before sleeping can lose a kick with
 * EVENT_IDX: the driver only notifies when avail.idx crosses avail_event.
 */
#ifndef AGENTVMM_DEVICES_VIRTIO_VIRTQ_H
#define AGENTVMM_DEVICES_VIRTIO_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/compiler.h"
#include "vmm/guest_mem.h"

#define VQ_MAX_SIZE 1024  /* largest queue any device offers */
#define VQ_CHAIN_MAX 1024 /* most segments one chain may have (== VQ_MAX_SIZE) */

struct virtq {
	const struct guest_mem *vq_gm;
	uint16_t vq_size;          /* n, power of two, <= VQ_MAX_SIZE */
	gpa_t vq_desc, vq_avail, vq_used;
	bool vq_event_idx;         /* VIRTIO_F_EVENT_IDX negotiated */
	bool vq_indirect;          /* VIRTIO_F_INDIRECT_DESC negotiated */
	/*
	 * malformed ring seen: no more pops. Written under the device's queue
	 * lock with a release store; a thread without that lock reads it with
	 * __atomic_load_n (virtq_init() and a transport reset, which memset the
	 * struct, run only while no other thread uses the queue).
	 */
	bool vq_broken;
	uint16_t vq_last_avail;    /* next avail entry the device consumes */
	uint16_t vq_used_idx;      /* device's copy of used.idx */
	uint16_t vq_signalled_used; /* vq_used_idx at the last virtq_need_notify() */
	bool vq_signalled_valid;   /* false: the next virtq_need_notify() says yes */
	/*
	 * Host pointers to the ring areas, set by virtq_init() from gm_ptr() over
	 * the whole validated area; virtq.c only indexes them below vq_size.
	 */
	uint8_t *vq_desc_hva, *vq_avail_hva, *vq_used_hva;
};

/* One chain popped from the avail ring: readable segments first, then writable. */
struct vq_chain {
	uint16_t head;
	uint16_t nr_ro, nr_wo;
	uint32_t ro_len, wo_len;   /* byte totals */
	struct iovec seg[VQ_CHAIN_MAX];
};

/*
 * virtq_init() - validate ring geometry and bind the queue to guest memory:
 * size a power of two in [1, VQ_MAX_SIZE] and <= (max_size); desc/avail/used
 * aligned to 16/2/4; each area (16n, 6 + 2n, 6 + 8n bytes, i.e. with the
 * event-index trailers) inside one RAM region. (event_idx) and (indirect) are
 * the negotiated VIRTIO_F_EVENT_IDX / VIRTIO_F_INDIRECT_DESC. Resets the
 * device-side indices to 0 (a fresh queue, virtio 1.2 §2.7) and clears
 * vq_broken. On error (vq) is left unbound and broken, so virtq_pop() on it
 * returns -EBADMSG.
 * Return: 0 or -EINVAL.
 * Context: event-loop or vCPU thread, with the device's queue lock. Handing
 * the queue to its owner thread afterwards needs a happens-before edge (a lock,
 * or the eventfd/io_uring submission that starts the owner).
 * Guest: every field.
 */
int virtq_init(struct virtq *vq, const struct guest_mem *gm, uint16_t size, uint16_t max_size,
	       gpa_t desc, gpa_t avail, gpa_t used, bool event_idx, bool indirect) __must_check;

/*
 * virtq_pop() - take the next available chain into (c), walking direct and
 * indirect descriptors with every check of STYLE.md §5 (avail.idx moved by at
 * most the queue size; next < size; at most size descriptors visited; INDIRECT
 * only when negotiated, len % 16 == 0, len / 16 <= size, in RAM, not nested,
 * not combined with NEXT; total length <= 2^32 - 1; no readable segment after
 * a writable one; at most VQ_CHAIN_MAX segments; every buffer in RAM).
 * Bounds: the direct part visits at most vq_size descriptors, an indirect
 * table holds at most vq_size entries and is walked at most once per entry,
 * so a pop does at most 2 * vq_size descriptor reads; the segments together
 * are capped at VQ_CHAIN_MAX (more is -EBADMSG, never truncation).
 * Segments of (c) point into guest RAM (bulk payload stays in place); they
 * stay valid while the guest memory lives, but their contents are
 * guest-writable at any time: copy headers out (iov_cur_copy_out) before
 * validating them. Zero-length descriptors are kept as zero-length segments.
 * Return: 1 chain taken; 0 ring empty; -EBADMSG the ring or chain is
 * malformed: the queue is marked broken (every later pop returns -EBADMSG)
 * and the caller fails the device. (c) is meaningless unless 1 is returned.
 * Context: the queue's owner thread.
 * Guest: everything.
 */
int virtq_pop(struct virtq *vq, struct vq_chain *c) __must_check;

/*
 * virtq_push() - return chain (head) with (written) bytes to the used ring;
 * publishes used.idx with release ordering. (head) must come from a chain
 * popped from this queue (a programming error otherwise: assert), and
 * (written) should not exceed that chain's wo_len. Chains may be pushed in any
 * order. Does not interrupt: call virtq_need_notify() after a batch.
 * Context: the queue's owner thread.
 */
void virtq_push(struct virtq *vq, uint16_t head, uint32_t written);

/*
 * virtq_need_notify() - whether the driver wants an interrupt for what was
 * pushed since the last call (EVENT_IDX used_event, else the
 * VRING_AVAIL_F_NO_INTERRUPT flag); false when nothing was pushed. Updates
 * the signalled index, so the caller must send the interrupt when it gets
 * true. Starts with a full fence (virtio 1.2 §2.7.7).
 * Context: the queue's owner thread.
 * Guest: used_event / avail.flags.
 */
bool virtq_need_notify(struct virtq *vq);

/*
 * virtq_enable_notify() - with EVENT_IDX, write avail_event = last_avail so
 * the driver notifies on the next buffer (else clear VRING_USED_F_NO_NOTIFY);
 * then, after a full fence (virtio 1.2 §2.7.10), tell whether more buffers
 * arrived meanwhile (so the caller pops again rather than sleeping). Call it
 * every time the queue is found empty, before waiting for a kick.
 * Return: true when avail.idx != last_avail; false on a broken queue.
 * Context: the queue's owner thread.
 * Guest: avail.idx.
 */
bool virtq_enable_notify(struct virtq *vq);

/*
 * virtq_disable_notify() - ask the driver not to notify while the device is
 * busy popping: sets VRING_USED_F_NO_NOTIFY without EVENT_IDX; a no-op with
 * EVENT_IDX, where an avail_event left behind already suppresses kicks. Only
 * an optimisation: the driver may notify anyway.
 * Context: the queue's owner thread.
 */
void virtq_disable_notify(struct virtq *vq);

#endif
