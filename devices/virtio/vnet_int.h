/* SPDX-License-Identifier: MIT */
/*
 * vnet_int.h: the state the two files of virtio-net share: virtio_net.c (the
 * device, its queue pairs' receive and transmit paths) and vnet_ctrl.c (the
 * control queue and the number of pairs in use). Not for use outside them.
 *
 * A device has vn_nr_pairs pairs (1..VNET_MAX_PAIRS), each with its own tap
 * queue fd, queues, bounce buffer, held receive chains, poll and owed passes.
 * Which pairs the driver may touch follows the features it took:
 *
 *   vn_usable (pairs with queues): vn_nr_pairs with MQ, else 1
 *   vn_active_pairs (in use): 1 from activate on, VQ_PAIRS_SET sets 1..vn_usable
 *   a pair is served (kicks, polls, owed passes) only while in use and active
 *
 * All fields are guarded by vn_lock; the loop thread runs every pass, a vCPU
 * thread runs activate, reset and set_features.
 */
#ifndef AGENTVMM_DEVICES_VIRTIO_VNET_INT_H
#define AGENTVMM_DEVICES_VIRTIO_VNET_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/virtio/virtio_net.h"

#define VNET_RX_SEGS 16       /* writable segments used per receive chain */
#define VNET_RX_HELD VNET_QUEUE_SIZE /* popped receive chains waiting: at most the ring */

/* What a resumption owes a pair: one more pass over a queue. */
#define VNET_RESUME_RX 1u
#define VNET_RESUME_TX 2u

/* A receive chain popped and not yet pushed: its writable segments. */
struct vnet_held {
	uint16_t head;
	uint16_t nr;
	uint32_t cap;
	struct iovec iov[VNET_RX_SEGS];
};

struct vnet;

/* One queue pair: receive queue 2 * pr_idx, transmit queue 2 * pr_idx + 1. */
struct vnet_pair {
	struct vnet *pr_n;          /* for the poll completion */
	uint16_t pr_idx;
	int pr_fd;                  /* this pair's tap queue */
	bool pr_attached;           /* the tap queue is attached (vn_detach devices) */
	struct virtq *pr_rxq, *pr_txq; /* NULL: queue not enabled, or not usable */
	uint8_t *pr_rxbuf;          /* the pending frame (vnet header first) */
	size_t pr_rx_len;           /* its length; 0: none pending */
	bool pr_rx_armed;           /* a poll SQE on the tap queue is in flight */
	bool pr_rx_stalled;         /* waiting for the guest to post buffers */
	struct evl_op pr_rx_op;
	/*
	 * Receive chains popped and not pushed, oldest first: a ring of
	 * VNET_RX_HELD slots, of which pr_held_nr <= pr_rxq->vq_size are in use
	 * (a driver cannot have more chains out than its ring has entries), and
	 * pr_held_cap is the sum of their caps.
	 */
	struct vnet_held *pr_held;
	unsigned pr_held_first, pr_held_nr;
	uint64_t pr_held_cap;
	unsigned pr_resume;         /* VNET_RESUME_* owed */
	bool pr_start;              /* just put in use: run both passes once */
	/* stream back end only (vnet_stream.c); both outlive a driver reset */
	uint8_t *pr_sb;             /* bytes read, not yet cut into frames */
	size_t pr_sb_len, pr_sb_off; /* filled up to len, frames cut up to off */
	uint8_t *pr_tp;             /* the rest of a frame the socket took in part */
	size_t pr_tp_len, pr_tp_off; /* its length and what of it is written */
	bool pr_tx_armed;           /* a POLLOUT poll on the socket is in flight */
	struct evl_op pr_tx_op;
};

struct vnet {
	pthread_mutex_t vn_lock;
	bool vn_tap;
	bool vn_detach;             /* the fds are queues of one multi-queue tap (TUNSETQUEUE) */
	uint64_t vn_offloads;       /* TUN_F_* the tap accepts */
	char vn_name[32];
	struct virtio_net_config vn_cfg; /* guest view, little-endian */
	uint64_t vn_acked;
	bool vn_active;
	struct vpci *vn_t;
	struct evl *vn_evl;
	struct vq_chain *vn_chain;  /* scratch for virtq_pop */
	uint16_t vn_nr_pairs;
	uint16_t vn_usable;         /* pairs the driver's features give queues to */
	uint16_t vn_active_pairs;   /* pairs in use */
	struct virtq *vn_ctrlq;     /* NULL: no control queue (no CTRL_VQ, or not enabled) */
	uint16_t vn_ctrl_qidx;
	/* a pass that hit its budget: the rest runs at the loop's next turn */
	int vn_resume_efd;          /* eventfd, always readable: a poll on it completes at once */
	struct evl_op vn_resume_op;
	bool vn_resume_armed;       /* its poll SQE is queued or in flight */
	bool vn_resume_ctrl;        /* a control-queue pass owed */
	const char *vn_fail_why;    /* virtio_dev_fail() owed, called without vn_lock */
	bool vn_tap_warned;         /* the tap failed (deleted on the host): said once */
	bool vn_queue_warned;       /* TUNSETQUEUE failed: said once */
	bool vn_stream;             /* the fd is a stream socket (vnet_stream.c), not a tap */
	bool vn_stream_lost;        /* its peer closed it or broke the framing: link down */
	bool vn_link_changed;       /* config interrupt owed, raised without vn_lock */
	struct vnet_stats vn_stats;
	struct vnet_pair vn_pairs[]; /* vn_nr_pairs */
};

/* Work done in one pass over a queue; see VNET_PASS_CHAINS in virtio_net.h. */
struct vnet_pass {
	unsigned chains;
	uint64_t bytes;
	bool pushed;                /* something went to the used ring: interrupt */
};

/* vnet_pass_spent() - whether pass (p) used up its budget. */
static inline bool vnet_pass_spent(const struct vnet_pass *p)
{
	return p->chains >= VNET_PASS_CHAINS || p->bytes >= VNET_PASS_BYTES;
}

/* vnet_pair_in_use() - whether (p) is served: the device active and p within the count. */
static inline bool vnet_pair_in_use(const struct vnet *n, const struct vnet_pair *p)
{
	return n->vn_active && p->pr_idx < n->vn_active_pairs;
}

/*
 * vnet_resume_locked() - ask for another pass at the event loop's next turn:
 * (what) of pair (p), or of the control queue when (p) is NULL.
 * Return: false when no SQE could be had; the caller then goes on rather
 * than leave the queue stalled. Context: loop thread, vn_lock held.
 */
bool vnet_resume_locked(struct vnet *n, struct vnet_pair *p, unsigned what);

/*
 * vnet_pairs_attach_locked() - attach the tap queue of every pair in use and
 * detach the others' (pair 0 is never detached); a no-op unless vn_detach. A
 * failure is logged once and leaves that queue as it was.
 * Context: setup, vCPU (activate) or loop thread (VQ_PAIRS_SET), vn_lock held.
 */
void vnet_pairs_attach_locked(struct vnet *n);

/*
 * vnet_ctrl_run_locked() - one pass over the control queue: answer at most
 * VNET_PASS_CHAINS commands, the rest resumed. A VQ_PAIRS_SET carried out
 * changes vn_active_pairs and the tap queues before its chain is pushed
 * (virtio 1.2 §5.1.6.5.5), and marks the pairs it put in use pr_start.
 * Return: false on a broken ring. Context: loop thread, vn_lock held.
 * Guest: the whole queue.
 */
bool vnet_ctrl_run_locked(struct vnet *n);

/*
 * vnet_run_pair_locked() - one pass over (p)'s queues, (what) VNET_RESUME_*,
 * if the pair is in use. Return: a failure owed, or NULL. Context: loop
 * thread, vn_lock held.
 */
const char *vnet_run_pair_locked(struct vnet *n, struct vnet_pair *p, unsigned what);

/*
 * vnet_unlock_and_act() - drop vn_lock, then report (fail) if set and raise
 * the config interrupt owed (vn_link_changed): both take the transport's
 * lock, never with ours held.
 */
void vnet_unlock_and_act(struct vnet *n, const char *fail);

/*
 * The stream back end (vnet_stream.c): 4-byte big-endian length + frame, no
 * vnet header, one queue pair.
 * vnet_stream_read_locked() - cut the next frame into (p)'s bounce buffer
 * behind a zeroed header, reading the socket when the buffer holds none.
 * Return: 1 a frame pending, 0 none yet, -1 the stream is lost.
 * vnet_stream_writable_locked() - finish a frame the socket took in part.
 * Return: true when nothing is left of it (the queue may send); false: a
 * POLLOUT poll runs the transmit pass again.
 * vnet_stream_write_locked() - send one frame of (len) bytes, its payload in
 * (iov)[1..nr] ((iov)[0] is ours to fill). Return: 0 sent (or its rest
 * pending), -1 dropped (counted in tx_errors).
 * Context: loop thread, vn_lock held.
 */
#define VNET_STREAM_BUF (2 * (4 + VNET_MAX_FRAME)) /* a whole frame fits after any rest */
int vnet_stream_read_locked(struct vnet *n, struct vnet_pair *p);
bool vnet_stream_writable_locked(struct vnet *n, struct vnet_pair *p);
int vnet_stream_write_locked(struct vnet *n, struct vnet_pair *p, struct iovec *iov, int nr,
			     uint32_t len);
/* vnet_stream_init() / _free() - a pair's buffers. Return: false out of memory. */
bool vnet_stream_init(struct vnet_pair *p);
void vnet_stream_free(struct vnet_pair *p);

#endif
