// SPDX-License-Identifier: MIT
/*
 * virtio_blk.c: virtio-blk requests (prefix vblk_) served through io_uring on
 * the event-loop thread.
 *
 * Over 600 lines because it is one request state machine (parse, submit,
 * short-transfer restart, completion, reset quiescing) whose pieces share the
 * pool and lock invariants below; splitting it would export those internals.
 *
 * Threads and the device lock (vb_lock):
 *  - queue_notify, every io_uring completion and the end-of-batch interrupt
 *    (evl_defer) run on the loop thread; they own the queues and the request
 *    pools, and take vb_lock while they touch them (uncontended except
 *    against set_features/activate/reset);
 *  - activate/reset run on a vCPU thread under vb_lock. reset() sets
 *    vb_active = false, then waits on vb_idle (re-checking every 100 ms)
 *    until no SQE of this device is in flight and no end-of-batch interrupt
 *    is queued: the kernel may still be writing into guest memory until then.
 *    The loop thread never sleeps on a lock or condition while it holds
 *    vb_lock (it may submit to io_uring, which does not wait).
 *  - virtio_dev_fail() takes no lock (virtio_pci.c) but logs and interrupts:
 *    the reason is noted under vb_lock (vb_fail_why) and reported once the
 *    lock is dropped (dev_unlock), if the session it belongs to is still on.
 *
 * Pool: one request per queue entry, and a bitmap of the heads in flight: a
 * head made available again while in flight (virtio 1.2 §2.7.13) breaks the
 * queue like a malformed chain. A failed sync is latched (vb_wb_err): the
 * kernel reports a writeback error to one fsync only (docs/faults.md).
 *
 * Short transfers: a read or write that moves fewer bytes than asked (the
 * kernel caps one transfer at about 2 GiB) is resubmitted for the rest. A read
 * that hits end of file inside the capacity (the image shrank under us) reads
 * the rest as zeros, like a sparse raw image; a write that makes no progress
 * fails with IOERR.
 */
#include "devices/virtio/virtio_blk.h"

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio/iov.h"
#include "vmm/log.h"

#define VBLK_ID_BYTES VIRTIO_BLK_ID_BYTES /* 20, virtio 1.2 §5.2.6 */
/* config space up to write_zeroes_may_unmap + padding; no secure erase, no zones */
#define VBLK_CONFIG_SIZE offsetof(struct virtio_blk_config, max_secure_erase_sectors)
_Static_assert(VBLK_CONFIG_SIZE == 60, "virtio 1.2 §5.2.4 layout");
_Static_assert(sizeof(struct virtio_blk_outhdr) == 16, "virtio 1.2 §5.2.6");
_Static_assert(sizeof(struct virtio_blk_discard_write_zeroes) == 16, "virtio 1.2 §5.2.6");
/* the requests that change the image or say it is stable */
#define VBLK_T_WRITES (1u << VIRTIO_BLK_T_OUT | 1u << VIRTIO_BLK_T_FLUSH | \
		       1u << VIRTIO_BLK_T_DISCARD | 1u << VIRTIO_BLK_T_WRITE_ZEROES)

struct vblk_queue;

/* One request: lives in its queue's pool from pop to push. */
struct vblk_req {
	struct evl_op rq_op;        /* completion -> req_done_cb */
	struct vblk_queue *rq_q;
	struct vblk_req *rq_next;   /* free list or pending list */
	uint8_t *rq_status;         /* last writable byte of the chain (guest RAM) */
	uint32_t rq_type;           /* VIRTIO_BLK_T_* */
	uint16_t rq_head;
	uint16_t rq_nr_iov, rq_iov_idx;
	uint32_t rq_used;           /* payload bytes written to the guest on success */
	int rq_fa_mode;             /* fallocate mode for DISCARD / WRITE_ZEROES */
	bool rq_sync;               /* DISCARD / WRITE_ZEROES done: now its write-through fsync */
	uint64_t rq_off;            /* file offset of the next transfer */
	uint64_t rq_left;           /* bytes still to transfer / to fallocate */
	struct iovec rq_iov[VBLK_SEG_MAX];
};

struct vblk_queue {
	struct vblk *bq_dev;
	uint16_t bq_qidx;
	struct virtq *bq_vq;        /* NULL: not active */
	struct vq_chain *bq_chain;  /* scratch for virtq_pop; requests keep what they need */
	struct vblk_req *bq_reqs;   /* pool, bq_nr_reqs entries */
	uint16_t bq_nr_reqs;
	struct vblk_req *bq_free;
	struct vblk_req *bq_pend, *bq_pend_tail; /* parsed, waiting for an SQE */
	bool bq_stalled;            /* stopped popping because the pool ran dry */
	bool bq_broken;             /* malformed ring: popping stopped until reset */
	bool bq_pushed;             /* pushed since the last virtio_notify() */
	bool bq_notify_queued;      /* bq_notify waits for the end of the batch */
	struct evl_deferred bq_notify; /* one interrupt per completion batch */
	uint64_t bq_busy[VBLK_QUEUE_SIZE / 64]; /* heads popped and not yet pushed */
};

struct vblk {
	int vb_fd;
	char *vb_path;
	bool vb_ro, vb_direct;
	bool vb_host_warned;        /* the image's file system failed us: said once */
	int vb_wb_err;              /* latched errno of a failed sync (file header) */
	uint64_t vb_nr_syncs;       /* fsyncs issued, atomic (vblk_nr_syncs) */
	uint64_t vb_capacity;       /* 512-byte sectors */
	uint32_t vb_blk_size;
	uint16_t vb_nr_queues;
	char vb_id[VBLK_ID_BYTES];  /* GET_ID answer, NUL-padded */
	struct virtio_blk_config vb_cfg; /* guest view, little-endian */
	uint64_t vb_acked;
	pthread_mutex_t vb_lock;
	pthread_cond_t vb_idle;     /* dev_busy_locked() became false while !vb_active */
	bool vb_active;
	unsigned vb_inflight;
	unsigned vb_deferred;       /* queues whose bq_notify is queued (evl_defer) */
	const char *vb_fail_why;    /* virtio_dev_fail() owed, see the file header */
	struct vpci *vb_t;
	struct evl *vb_evl;
	struct vblk_queue vb_q[VBLK_MAX_QUEUES];
};

static void req_done_cb(void *opaque, int res);
static void queue_drain_locked(struct vblk_queue *q);

/* ---- request pool ---------------------------------------------------- */

static struct vblk_req *req_get_locked(struct vblk_queue *q)
{
	struct vblk_req *r = q->bq_free;

	if (r)
		q->bq_free = r->rq_next;
	return r;
}

static void req_put_locked(struct vblk_queue *q, struct vblk_req *r)
{
	r->rq_next = q->bq_free;
	q->bq_free = r;
}

/* The bitmap of heads in flight: (head) < vq_size <= VBLK_QUEUE_SIZE (virtq_pop). */
static bool head_busy_locked(const struct vblk_queue *q, uint16_t head)
{
	return q->bq_busy[head / 64] >> (head % 64) & 1;
}

static void head_set_busy_locked(struct vblk_queue *q, uint16_t head, bool busy)
{
	uint64_t bit = 1ULL << (head % 64), *w = &q->bq_busy[head / 64];

	assert(head < VBLK_QUEUE_SIZE);
	*w = busy ? *w | bit : *w & ~bit;
}

/* Push (head) with (len) bytes written; it is no longer in flight. */
static void queue_push_locked(struct vblk_queue *q, uint16_t head, uint32_t len)
{
	head_set_busy_locked(q, head, false);
	virtq_push(q->bq_vq, head, len);
	q->bq_pushed = true;
}

/* Write the status, push the chain, recycle the request. */
static void req_complete_locked(struct vblk_queue *q, struct vblk_req *r, uint8_t status)
{
	*r->rq_status = status;
	queue_push_locked(q, r->rq_head, (status == VIRTIO_BLK_S_OK ? r->rq_used : 0) + 1);
	req_put_locked(q, r);
}

/* ---- submission -------------------------------------------------------- */

/* Without VIRTIO_BLK_F_FLUSH the driver expects write-through (virtio 1.2 §5.2.6.1). */
static bool dev_flush_acked(const struct vblk *d)
{
	return d->vb_acked & (1ULL << VIRTIO_BLK_F_FLUSH);
}

/*
 * Hand (r) to io_uring; its CQE's user data is &r->rq_op, which leads back to
 * (r) in O(1). Return: false when evl_get_sqe() has no SQE (as many operations
 * in flight as the CQ holds, or an SQ that cannot be submitted), or when the
 * loop is stopping (evl_fini() only reaps: an SQE taken then is never submitted).
 */
static bool req_submit_locked(struct vblk *d, struct vblk_req *r)
{
	struct io_uring_sqe *sqe = d->vb_evl->stopping ? NULL : evl_get_sqe(d->vb_evl, &r->rq_op);
	const struct iovec *iov = &r->rq_iov[r->rq_iov_idx];
	unsigned nr = r->rq_nr_iov - r->rq_iov_idx;

	if (!sqe)
		return false;
	d->vb_inflight++;
	if (r->rq_sync || r->rq_type == VIRTIO_BLK_T_FLUSH) {
		/* full fsync: DATASYNC may skip the size of a file that grew */
		io_uring_prep_fsync(sqe, d->vb_fd, 0);
		__atomic_add_fetch(&d->vb_nr_syncs, 1, __ATOMIC_RELAXED);
		return true;
	}
	switch (r->rq_type) {
	case VIRTIO_BLK_T_IN:
		io_uring_prep_readv(sqe, d->vb_fd, iov, nr, r->rq_off);
		break;
	case VIRTIO_BLK_T_OUT:
		io_uring_prep_writev(sqe, d->vb_fd, iov, nr, r->rq_off);
		if (!dev_flush_acked(d))
			sqe->rw_flags = RWF_DSYNC;
		break;
	default: /* DISCARD, WRITE_ZEROES; then an fsync without FLUSH (req_result_locked) */
		io_uring_prep_fallocate(sqe, d->vb_fd, r->rq_fa_mode, r->rq_off, r->rq_left);
		break;
	}
	return true;
}

/* Submit (r), or park it until a completion frees ring space. */
static void req_start_locked(struct vblk_queue *q, struct vblk_req *r)
{
	struct vblk *d = q->bq_dev;

	if (!q->bq_pend && req_submit_locked(d, r))
		return;
	if (d->vb_evl->stopping) {
		req_complete_locked(q, r, VIRTIO_BLK_S_IOERR);
		return;
	}
	r->rq_next = NULL;
	if (q->bq_pend)
		q->bq_pend_tail->rq_next = r;
	else
		q->bq_pend = r;
	q->bq_pend_tail = r;
}

static void queue_submit_pending_locked(struct vblk_queue *q)
{
	while (q->bq_pend && req_submit_locked(q->bq_dev, q->bq_pend))
		q->bq_pend = q->bq_pend->rq_next;
}

/* ---- parsing ----------------------------------------------------------- */

/* Last writable byte of (c), skipping trailing zero-length segments; NULL if none. */
static uint8_t *chain_status_byte(const struct vq_chain *c)
{
	for (unsigned i = (unsigned)c->nr_ro + c->nr_wo; i > c->nr_ro; i--) {
		const struct iovec *s = &c->seg[i - 1];

		if (s->iov_len)
			return (uint8_t *)s->iov_base + s->iov_len - 1;
	}
	return NULL;
}

/* sector + len/512 <= capacity, without overflow (STYLE §5). */
static bool range_ok(const struct vblk *d, uint64_t sector, uint64_t nr_sectors)
{
	uint64_t end;

	return !add_overflows(sector, nr_sectors, &end) && end <= d->vb_capacity;
}

/* IN / OUT: (data) is where the payload lies. Return: a status, or -1 when started. */
static int req_parse_rw_locked(struct vblk_req *r, uint64_t sector, struct iov_cur *data,
			       uint64_t len)
{
	const struct vblk *d = r->rq_q->bq_dev;
	int n;

	if (r->rq_type == VIRTIO_BLK_T_OUT && d->vb_ro)
		return VIRTIO_BLK_S_IOERR;
	if (len % VBLK_SECTOR_SIZE || !range_ok(d, sector, len / VBLK_SECTOR_SIZE))
		return VIRTIO_BLK_S_IOERR;
	n = iov_cur_take(data, len, r->rq_iov, VBLK_SEG_MAX);
	if (n < 0)
		return VIRTIO_BLK_S_IOERR; /* more segments than seg_max */
	if (!len)
		return VIRTIO_BLK_S_OK;
	r->rq_nr_iov = (uint16_t)n;
	r->rq_iov_idx = 0;
	r->rq_off = sector * VBLK_SECTOR_SIZE; /* sector < capacity: cannot overflow */
	r->rq_left = len;
	r->rq_used = r->rq_type == VIRTIO_BLK_T_IN ? (uint32_t)len : 0;
	return -1;
}

/* DISCARD / WRITE_ZEROES: one segment (max_*_seg = 1). Return: status or -1. */
static int req_parse_zero_locked(struct vblk_req *r, struct iov_cur *ro)
{
	const struct vblk *d = r->rq_q->bq_dev;
	struct virtio_blk_discard_write_zeroes seg;
	bool discard = r->rq_type == VIRTIO_BLK_T_DISCARD;
	uint32_t flags, nr;
	uint64_t sector;

	if (d->vb_ro || iov_cur_left(ro) != sizeof(seg) || iov_cur_copy_out(ro, &seg, sizeof(seg)))
		return VIRTIO_BLK_S_IOERR; /* zero or several segments */
	sector = le64toh(seg.sector);
	nr = le32toh(seg.num_sectors);
	flags = le32toh(seg.flags);
	/* virtio 1.2 §5.2.6.2: unmap is only meaningful for WRITE_ZEROES */
	if (flags & ~(uint32_t)VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP ||
	    (discard && (flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)))
		return VIRTIO_BLK_S_UNSUPP;
	if (nr > VBLK_MAX_DISCARD_SECTORS || !range_ok(d, sector, nr))
		return VIRTIO_BLK_S_IOERR;
	if (!nr)
		return VIRTIO_BLK_S_OK;
	r->rq_off = sector * VBLK_SECTOR_SIZE;
	r->rq_left = (uint64_t)nr * VBLK_SECTOR_SIZE;
	r->rq_used = 0;
	/* punched holes read back as zeros, so WRITE_ZEROES with UNMAP may punch too */
	if (discard || (flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP))
		r->rq_fa_mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	else
		r->rq_fa_mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	return -1;
}

/*
 * Parse chain (c) into (r). Return: a VIRTIO_BLK_S_* to complete with now, or
 * -1 when (r) must be started. Guest: the whole chain.
 */
static int req_parse_locked(struct vblk_req *r, const struct vq_chain *c)
{
	const struct vblk *d = r->rq_q->bq_dev;
	struct virtio_blk_outhdr hdr;
	struct iov_cur ro, wo;
	size_t id_len;

	iov_cur_init(&ro, c->seg, c->nr_ro);
	iov_cur_init(&wo, c->seg + c->nr_ro, c->nr_wo);
	/* single fetch: the header is copied out once and validated here */
	if (iov_cur_copy_out(&ro, &hdr, sizeof(hdr)))
		return VIRTIO_BLK_S_IOERR;
	r->rq_type = le32toh(hdr.type);
	r->rq_used = 0;
	r->rq_nr_iov = r->rq_iov_idx = 0;
	r->rq_sync = false;
	/* a latched writeback error: lost data stays lost, nothing is stable again */
	if (d->vb_wb_err && r->rq_type < 32 && (VBLK_T_WRITES >> r->rq_type & 1))
		return VIRTIO_BLK_S_IOERR;
	switch (r->rq_type) {
	case VIRTIO_BLK_T_IN:
		return req_parse_rw_locked(r, le64toh(hdr.sector), &wo, c->wo_len - 1);
	case VIRTIO_BLK_T_OUT:
		return req_parse_rw_locked(r, le64toh(hdr.sector), &ro, iov_cur_left(&ro));
	case VIRTIO_BLK_T_FLUSH:
		return d->vb_ro ? VIRTIO_BLK_S_OK : -1;
	case VIRTIO_BLK_T_GET_ID:
		/* at most 20 bytes; NUL-padded only when the serial is shorter */
		id_len = MIN((size_t)VBLK_ID_BYTES, (size_t)c->wo_len - 1);
		if (iov_cur_copy_in(&wo, d->vb_id, id_len))
			return VIRTIO_BLK_S_IOERR;
		r->rq_used = (uint32_t)id_len;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return req_parse_zero_locked(r, &ro);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* Take one popped chain: complete it now or start its I/O. */
static void req_begin_locked(struct vblk_queue *q, const struct vq_chain *c)
{
	struct vblk_req *r = req_get_locked(q);
	int st;

	r->rq_head = c->head;
	r->rq_status = chain_status_byte(c);
	head_set_busy_locked(q, c->head, true);
	if (!r->rq_status) {
		/* nowhere to put a status: hand it back untouched (STYLE §5) */
		queue_push_locked(q, c->head, 0);
		req_put_locked(q, r);
		return;
	}
	st = req_parse_locked(r, c);
	if (st >= 0) {
		if (st != VIRTIO_BLK_S_OK)
			log_guest_ratelimited("virtio-blk: request type %u failed with status %d",
					      r->rq_type, st);
		req_complete_locked(q, r, (uint8_t)st);
		return;
	}
	req_start_locked(q, r);
}

/* ---- completion -------------------------------------------------------- */

/* Step the iovecs of (r) over (n) transferred bytes. */
static void req_advance(struct vblk_req *r, uint64_t n)
{
	r->rq_off += n;
	r->rq_left -= n;
	while (n) {
		struct iovec *v = &r->rq_iov[r->rq_iov_idx];

		if (n < v->iov_len) {
			v->iov_base = (uint8_t *)v->iov_base + n;
			v->iov_len -= n;
			return;
		}
		n -= v->iov_len;
		r->rq_iov_idx++;
	}
}

/* A sync failed: acknowledged data may be lost. Latch it, with one warning of its own. */
static void dev_latch_wb_err_locked(struct vblk *d, int res)
{
	if (d->vb_wb_err)
		return;
	d->vb_wb_err = -res;
	d->vb_host_warned = true;
	log_warn("virtio-blk %s: writeback failed (%s): data the guest had written may be lost; "
		 "every later flush and write of this disk fails (docs/faults.md)", d->vb_path,
		 strerror(-res));
}

/* A failed operation: latch a failed sync, warn once when the host is at fault; IOERR. */
static int req_failed_locked(struct vblk_queue *q, struct vblk_req *r, int res)
{
	struct vblk *d = q->bq_dev;

	/*
	 * A write-through write's EIO may be the writeback error of earlier
	 * writes too (the next sync of the file gets it); ENOSPC, EDQUOT, EFBIG
	 * refuse the write before anything is written.
	 */
	if (r->rq_sync || r->rq_type == VIRTIO_BLK_T_FLUSH ||
	    (r->rq_type == VIRTIO_BLK_T_OUT && !dev_flush_acked(d) && res == -EIO))
		dev_latch_wb_err_locked(d, res);
	/* the host's fault, not the guest's (full or failing disk): the user must know */
	if ((res == -ENOSPC || res == -EDQUOT || res == -EIO || res == -EFBIG) &&
	    !d->vb_host_warned) {
		d->vb_host_warned = true;
		log_warn("virtio-blk %s: %s: the guest gets I/O errors (docs/faults.md)",
			 d->vb_path, strerror(-res));
	}
	log_guest_ratelimited("virtio-blk: %s: request type %u%s: %s", d->vb_path, r->rq_type,
			      r->rq_sync ? " (its sync)" : "", strerror(-res));
	return VIRTIO_BLK_S_IOERR;
}

/* Interpret CQE (res) for (r). Return: a status, or -1 when (r) was restarted. */
static int req_result_locked(struct vblk_queue *q, struct vblk_req *r, int res)
{
	bool changed = res >= 0; /* DISCARD / WRITE_ZEROES changed the image */

	if (r->rq_sync)
		return res < 0 ? req_failed_locked(q, r, res) : VIRTIO_BLK_S_OK;
	switch (r->rq_type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (res < 0)
			return req_failed_locked(q, r, res);
		if (res == 0 && r->rq_type == VIRTIO_BLK_T_IN) {
			/* end of file inside the capacity: the rest reads as zeros */
			for (unsigned i = r->rq_iov_idx; i < r->rq_nr_iov; i++)
				memset(r->rq_iov[i].iov_base, 0, r->rq_iov[i].iov_len);
			return VIRTIO_BLK_S_OK;
		}
		if (res == 0 || (uint64_t)res > r->rq_left)
			return VIRTIO_BLK_S_IOERR;
		req_advance(r, (uint64_t)res);
		if (!r->rq_left)
			return VIRTIO_BLK_S_OK;
		req_start_locked(q, r); /* short transfer: the rest */
		return -1;
	case VIRTIO_BLK_T_DISCARD:
		/* a discard is a hint: a file system without hole punching may ignore it */
		if (res == -EOPNOTSUPP)
			return VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (res == -EOPNOTSUPP && (r->rq_fa_mode & FALLOC_FL_ZERO_RANGE)) {
			/* e.g. tmpfs: punching a hole zeroes the range as well */
			r->rq_fa_mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
			req_start_locked(q, r);
			return -1;
		}
		break;
	default: /* FLUSH */
		changed = false;
		break;
	}
	if (res < 0)
		return req_failed_locked(q, r, res);
	if (changed && !dev_flush_acked(q->bq_dev)) {
		/* write-through, as writes are (RWF_DSYNC): sync the new extents first */
		r->rq_sync = true;
		req_start_locked(q, r);
		return -1;
	}
	return VIRTIO_BLK_S_OK;
}

/* Interrupt for (q) if anything was pushed. virtio_notify() only signals an irqfd. */
static void queue_notify_locked(struct vblk_queue *q)
{
	if (!q->bq_pushed)
		return;
	q->bq_pushed = false;
	virtio_notify(q->bq_dev->vb_t, q->bq_qidx);
}

/* Drop vb_lock, then report a failure noted under it in this session (file header). */
static void dev_unlock(struct vblk *d)
{
	const char *why = d->vb_active ? d->vb_fail_why : NULL;
	struct vpci *t = d->vb_t; /* under vb_lock: activate() writes it on a vCPU */

	if (why)
		d->vb_fail_why = NULL;
	pthread_mutex_unlock(&d->vb_lock);
	if (why)
		virtio_dev_fail(t, why);
}

/* Whether reset() must still wait: SQEs in flight or an end-of-batch interrupt queued. */
static bool dev_busy_locked(const struct vblk *d)
{
	return d->vb_inflight || d->vb_deferred;
}

/* End of a completion batch (evl_defer): one interrupt for all (q) pushed in it. */
static void queue_batch_done_cb(void *opaque)
{
	struct vblk_queue *q = opaque;
	struct vblk *d = q->bq_dev;

	pthread_mutex_lock(&d->vb_lock);
	q->bq_notify_queued = false;
	d->vb_deferred--;
	if (d->vb_active && q->bq_vq)
		queue_notify_locked(q);
	else if (!dev_busy_locked(d))
		pthread_cond_broadcast(&d->vb_idle); /* reset() is waiting */
	pthread_mutex_unlock(&d->vb_lock);
}

/* Ring space was freed: start parked requests, refill stalled queues. */
static void dev_kick_locked(struct vblk *d)
{
	for (unsigned i = 0; i < d->vb_nr_queues; i++) {
		struct vblk_queue *q = &d->vb_q[i];

		if (!q->bq_vq)
			continue;
		queue_submit_pending_locked(q);
		if (q->bq_stalled && q->bq_free && !q->bq_broken && !d->vb_evl->stopping)
			queue_drain_locked(q);
		if (q->bq_pushed && !q->bq_notify_queued) {
			/* the interrupt waits for the batch's last completion */
			q->bq_notify_queued = true;
			d->vb_deferred++;
			evl_defer(d->vb_evl, &q->bq_notify);
		}
	}
}

/* Completion of one SQE. Context: loop thread (or evl_fini()'s caller). */
static void req_done_cb(void *opaque, int res)
{
	struct vblk_req *r = opaque;
	struct vblk_queue *q = r->rq_q;
	struct vblk *d = q->bq_dev;
	int st;

	pthread_mutex_lock(&d->vb_lock);
	d->vb_inflight--;
	if (!d->vb_active) {
		/* reset() is waiting: the chain belongs to a queue that is gone */
		req_put_locked(q, r);
		if (!dev_busy_locked(d))
			pthread_cond_broadcast(&d->vb_idle);
		pthread_mutex_unlock(&d->vb_lock);
		return;
	}
	st = req_result_locked(q, r, res);
	if (st >= 0)
		req_complete_locked(q, r, (uint8_t)st);
	dev_kick_locked(d);
	dev_unlock(d);
}

/* ---- queues ------------------------------------------------------------ */

/*
 * Pop and start everything available, following virtq.h's loop: re-enable
 * notifications when empty and look again, so no kick is lost.
 */
static void queue_drain_locked(struct vblk_queue *q)
{
	struct vblk *d = q->bq_dev;
	struct virtq *vq = q->bq_vq;
	int r = 0;

	q->bq_stalled = false;
	virtq_disable_notify(vq);
	for (;;) {
		while (q->bq_free && (r = virtq_pop(vq, q->bq_chain)) == 1) {
			if (head_busy_locked(q, q->bq_chain->head)) {
				/*
				 * virtio 1.2 §2.7.13: the driver gave us a chain still
				 * ours. Broken as virtq_pop() leaves a malformed ring (the
				 * transport stops kicking); the chain is not pushed.
				 */
				__atomic_store_n(&vq->vq_broken, true, __ATOMIC_RELEASE);
				q->bq_broken = true;
				if (!d->vb_fail_why)
					d->vb_fail_why = "chain head made available again in flight";
				return;
			}
			req_begin_locked(q, q->bq_chain);
		}
		if (!q->bq_free) {
			/* every request is busy: a completion drains again */
			q->bq_stalled = true;
			return;
		}
		if (r < 0) {
			q->bq_broken = true;
			if (!d->vb_fail_why)
				d->vb_fail_why = "malformed descriptor chain";
			return;
		}
		if (!virtq_enable_notify(vq))
			return;
	}
}

/* queue_notify - the driver kicked (qidx). Context: loop thread. */
static void vblk_queue_notify(void *dev, uint16_t qidx)
{
	struct vblk *d = dev;

	pthread_mutex_lock(&d->vb_lock);
	if (d->vb_active && qidx < d->vb_nr_queues) {
		struct vblk_queue *q = &d->vb_q[qidx];

		if (q->bq_vq && !q->bq_broken) {
			queue_drain_locked(q);
			queue_submit_pending_locked(q); /* parked ones too, not only at completions */
			queue_notify_locked(q);
		}
	}
	dev_unlock(d);
}

/* (Re)build (q)'s pool for a queue of (size); keeps a big-enough pool. */
static int queue_setup_locked(struct vblk_queue *q, struct virtq *vq)
{
	uint16_t size = vq->vq_size;

	if (!q->bq_chain) {
		q->bq_chain = malloc(sizeof(*q->bq_chain));
		if (!q->bq_chain)
			return -ENOMEM;
	}
	if (q->bq_nr_reqs < size) {
		free(q->bq_reqs);
		q->bq_nr_reqs = 0;
		q->bq_reqs = calloc(size, sizeof(*q->bq_reqs));
		if (!q->bq_reqs)
			return -ENOMEM;
		q->bq_nr_reqs = size;
	}
	q->bq_free = NULL;
	for (unsigned i = 0; i < size; i++) {
		struct vblk_req *r = &q->bq_reqs[i];

		r->rq_q = q;
		r->rq_op = (struct evl_op){ .done = req_done_cb, .opaque = r };
		req_put_locked(q, r);
	}
	q->bq_pend = q->bq_pend_tail = NULL;
	q->bq_stalled = q->bq_broken = q->bq_pushed = false;
	memset(q->bq_busy, 0, sizeof(q->bq_busy));
	q->bq_vq = vq;
	return 0;
}

/* activate - start serving (act->vqs). Context: vCPU thread (DRIVER_OK). */
static int vblk_activate(void *dev, const struct virtio_activation *act)
{
	struct vblk *d = dev;
	unsigned n = MIN(act->nr_vqs, d->vb_nr_queues);
	int r = 0;

	if (!act->evl)
		return -EINVAL;
	pthread_mutex_lock(&d->vb_lock);
	if (d->vb_active) {
		pthread_mutex_unlock(&d->vb_lock);
		return -EBUSY; /* the transport resets before activating again */
	}
	d->vb_t = act->transport;
	d->vb_evl = act->evl;
	d->vb_acked = act->features;
	for (unsigned i = 0; i < d->vb_nr_queues; i++)
		d->vb_q[i].bq_vq = NULL;
	for (unsigned i = 0; i < n && !r; i++) {
		/* a queue the driver did not enable has size 0 */
		if (act->vqs[i].vq_size)
			r = queue_setup_locked(&d->vb_q[i], &act->vqs[i]);
	}
	if (!r) {
		d->vb_fail_why = NULL;
		d->vb_active = true;
	}
	pthread_mutex_unlock(&d->vb_lock);
	if (r)
		log_err("virtio-blk: %s: cannot activate: %s", d->vb_path, strerror(-r));
	return r;
}

/*
 * reset - stop; wait until the kernel no longer uses any request buffer.
 * Context: vCPU thread. Completions need the loop thread, so the caller must
 * not hold a lock the loop thread waits for (see virtio_blk.h).
 */
static int vblk_reset(void *dev)
{
	struct vblk *d = dev;

	pthread_mutex_lock(&d->vb_lock);
	d->vb_active = false;
	while (dev_busy_locked(d)) {
		struct timespec ts;

		/* the loop thread no longer runs completions: waiting would hang */
		if (!d->vb_evl || !__atomic_load_n(&d->vb_evl->started, __ATOMIC_ACQUIRE)) {
			/* teardown: evl_fini() reaps the rest (and runs deferred work) first */
			if (d->vb_inflight)
				log_warn("virtio-blk: %s: reset with %u operations in flight and no "
					 "loop", d->vb_path, d->vb_inflight);
			break;
		}
		clock_gettime(CLOCK_REALTIME, &ts); /* + 100 ms */
		ts.tv_sec += ts.tv_nsec >= 900000000L;
		ts.tv_nsec = (ts.tv_nsec + 100000000L) % 1000000000L;
		pthread_cond_timedwait(&d->vb_idle, &d->vb_lock, &ts);
	}
	for (unsigned i = 0; i < d->vb_nr_queues; i++) {
		struct vblk_queue *q = &d->vb_q[i];

		q->bq_vq = NULL;
		q->bq_pend = q->bq_pend_tail = NULL;
		q->bq_stalled = q->bq_broken = q->bq_pushed = false;
	}
	d->vb_fail_why = NULL;
	pthread_mutex_unlock(&d->vb_lock);
	return 0;
}

/* ---- config and features ----------------------------------------------- */

/* features - offered. Context: vCPU thread. */
static uint64_t vblk_features(void *dev)
{
	const struct vblk *d = dev;
	uint64_t f = 1ULL << VIRTIO_BLK_F_SEG_MAX | 1ULL << VIRTIO_BLK_F_BLK_SIZE |
		     1ULL << VIRTIO_BLK_F_FLUSH;

	if (d->vb_ro)
		f |= 1ULL << VIRTIO_BLK_F_RO;
	else
		f |= 1ULL << VIRTIO_BLK_F_DISCARD | 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
	if (d->vb_nr_queues > 1)
		f |= 1ULL << VIRTIO_BLK_F_MQ;
	return f;
}

/* set_features - any subset of ours is fine. Context: vCPU thread. */
static int vblk_set_features(void *dev, uint64_t acked)
{
	struct vblk *d = dev;

	pthread_mutex_lock(&d->vb_lock);
	d->vb_acked = acked;
	pthread_mutex_unlock(&d->vb_lock);
	return 0;
}

/* config_read - (off, len) checked by the transport. Context: vCPU thread. */
static void vblk_config_read(void *dev, uint32_t off, void *buf, uint32_t len)
{
	const struct vblk *d = dev;

	if (off > VBLK_CONFIG_SIZE || len > VBLK_CONFIG_SIZE - off) {
		memset(buf, 0xff, len);
		return;
	}
	/* immutable after vblk_create(): no lock */
	memcpy(buf, (const uint8_t *)&d->vb_cfg + off, len);
}

/* config_write - nothing is writable (no CONFIG_WCE). Context: vCPU thread. */
static int vblk_config_write(void *dev, uint32_t off, const void *buf, uint32_t len)
{
	return 0;
}

static void vblk_fill_config(struct vblk *d)
{
	struct virtio_blk_config *c = &d->vb_cfg;

	memset(c, 0, sizeof(*c));
	c->capacity = htole64(d->vb_capacity);
	c->seg_max = htole32(VBLK_SEG_MAX);
	c->blk_size = htole32(d->vb_blk_size);
	c->num_queues = htole16(d->vb_nr_queues);
	c->max_discard_sectors = htole32(VBLK_MAX_DISCARD_SECTORS);
	c->max_discard_seg = htole32(1);
	c->discard_sector_alignment = htole32(d->vb_blk_size / VBLK_SECTOR_SIZE);
	c->max_write_zeroes_sectors = htole32(VBLK_MAX_DISCARD_SECTORS);
	c->max_write_zeroes_seg = htole32(1);
	c->write_zeroes_may_unmap = 1;
}

/* ---- lifecycle ---------------------------------------------------------- */

/* destroy - free everything; no completion may be pending (after evl_fini()). */
static void vblk_destroy(void *dev)
{
	struct vblk *d = dev;

	if (!d)
		return;
	for (unsigned i = 0; i < VBLK_MAX_QUEUES; i++) {
		free(d->vb_q[i].bq_reqs);
		free(d->vb_q[i].bq_chain);
	}
	if (d->vb_fd >= 0)
		close(d->vb_fd); /* drops the flock */
	pthread_cond_destroy(&d->vb_idle);
	pthread_mutex_destroy(&d->vb_lock);
	free(d->vb_path);
	free(d);
}

/* O_DIRECT alignment of the file's offsets, when the kernel reports it. */
static uint32_t dio_align(int fd, const struct stat *st)
{
	uint32_t a = 0;
#ifdef STATX_DIOALIGN
	struct statx sx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 && (sx.stx_mask & STATX_DIOALIGN))
		a = sx.stx_dio_offset_align;
#endif
	if (!a && S_ISBLK(st->st_mode)) {
		int ssz;

		if (ioctl(fd, BLKSSZGET, &ssz) == 0 && ssz > 0)
			a = (uint32_t)ssz;
	}
	/* a logical block size the guest can use: a power of two in [512, 4096] */
	if (a <= VBLK_SECTOR_SIZE || a > 4096 || (a & (a - 1)))
		return VBLK_SECTOR_SIZE;
	return a;
}

/* Fill (err) with one line; Return: -1. */
static int __printf(3, 4) open_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Open, lock and size (d->vb_path). Return: 0 or -1 with (err) filled. */
static int vblk_open(struct vblk *d, bool direct, char *err, size_t errlen)
{
	const char *p = d->vb_path;
	int flags = O_CLOEXEC | (d->vb_ro ? O_RDONLY : O_RDWR);
	struct stat st;
	uint64_t size;

	/* stat first: opening a FIFO would block */
	if (stat(p, &st) < 0)
		return open_fail(err, errlen, "%s: %s", p, strerror(errno));
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return open_fail(err, errlen, "%s: not a regular file or block device", p);
	d->vb_fd = open(p, flags | (direct ? O_DIRECT : 0));
	if (d->vb_fd < 0 && direct && errno == EINVAL) {
		log_warn("%s: the file system refuses O_DIRECT; using buffered I/O", p);
		direct = false;
		d->vb_fd = open(p, flags);
	}
	if (d->vb_fd < 0)
		return open_fail(err, errlen, "%s: cannot open%s: %s", p,
				d->vb_ro ? "" : " read-write", strerror(errno));
	if (fstat(d->vb_fd, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)))
		return open_fail(err, errlen, "%s: not a regular file or block device", p);
	if (flock(d->vb_fd, (d->vb_ro ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0)
		return open_fail(err, errlen, "%s: %s", p, errno == EWOULDBLOCK ?
				"already in use (locked by another disk or VM)" : strerror(errno));
	size = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode) && ioctl(d->vb_fd, BLKGETSIZE64, &size) < 0)
		return open_fail(err, errlen, "%s: cannot get size: %s", p, strerror(errno));
	if (!size)
		return open_fail(err, errlen, "%s: image is empty", p);
	if (size % VBLK_SECTOR_SIZE)
		return open_fail(err, errlen, "%s: size %" PRIu64 " is not a multiple of 512 bytes",
				p, size);
	d->vb_capacity = size / VBLK_SECTOR_SIZE;
	d->vb_direct = direct;
	d->vb_blk_size = direct ? dio_align(d->vb_fd, &st) : VBLK_SECTOR_SIZE;
	if (!d->vb_id[0]) {
		char id[32];

		/* stable for one image on one host: "av" + 8 hex of dev + 10 hex of inode */
		snprintf(id, sizeof(id), "av%08" PRIx32 "%010" PRIx64, (uint32_t)st.st_dev,
			 (uint64_t)(st.st_ino & 0xffffffffffULL));
		memcpy(d->vb_id, id, VBLK_ID_BYTES);
	}
	return 0;
}

void *vblk_create(const struct vblk_config *cfg, char *err, size_t errlen)
{
	struct vblk *d = calloc(1, sizeof(*d));

	if (!d) {
		snprintf(err, errlen, "%s: out of memory", cfg->path);
		return NULL;
	}
	d->vb_fd = -1;
	pthread_mutex_init(&d->vb_lock, NULL);
	pthread_cond_init(&d->vb_idle, NULL);
	d->vb_ro = cfg->readonly;
	d->vb_nr_queues = cfg->nr_queues ? MIN(cfg->nr_queues, VBLK_MAX_QUEUES) : 1;
	for (unsigned i = 0; i < VBLK_MAX_QUEUES; i++) {
		struct vblk_queue *q = &d->vb_q[i];

		*q = (struct vblk_queue){ .bq_dev = d, .bq_qidx = (uint16_t)i };
		q->bq_notify = (struct evl_deferred){ .fn = queue_batch_done_cb, .opaque = q };
	}
	if (cfg->serial) /* NUL-padded, unterminated at exactly VBLK_ID_BYTES (virtio 1.2 §5.2.6) */
		memcpy(d->vb_id, cfg->serial, strnlen(cfg->serial, VBLK_ID_BYTES));
	d->vb_path = strdup(cfg->path);
	if (!d->vb_path) {
		snprintf(err, errlen, "%s: out of memory", cfg->path);
		goto err_destroy;
	}
	if (vblk_open(d, cfg->direct, err, errlen) < 0)
		goto err_destroy;
	vblk_fill_config(d);
	return d;

err_destroy:
	vblk_destroy(d);
	return NULL;
}

uint16_t vblk_nr_queues(void *dev)
{
	return ((const struct vblk *)dev)->vb_nr_queues;
}

uint64_t vblk_nr_syncs(void *dev)
{
	return __atomic_load_n(&((const struct vblk *)dev)->vb_nr_syncs, __ATOMIC_RELAXED);
}

const struct virtio_dev_ops vblk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.nr_queues = 1,
	.max_queue_size = VBLK_QUEUE_SIZE,
	.config_size = VBLK_CONFIG_SIZE,
	.features = vblk_features,
	.set_features = vblk_set_features,
	.config_read = vblk_config_read,
	.config_write = vblk_config_write,
	.activate = vblk_activate,
	.queue_notify = vblk_queue_notify,
	.reset = vblk_reset,
	.destroy = vblk_destroy,
};
