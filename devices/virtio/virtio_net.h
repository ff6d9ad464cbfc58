/* SPDX-License-Identifier: MIT */
/*
 * virtio_net.h: virtio-net (virtio 1.2 §5.1) over TAP file descriptors, one per
 * queue pair.
 *
 * Queues (virtio 1.2 §5.1.2): pair i is receive queue 2i and transmit queue
 * 2i + 1. A device of one pair (the default) has exactly those two queues, no
 * control queue and neither VIRTIO_NET_F_MQ nor VIRTIO_NET_F_CTRL_VQ. A device
 * of N > 1 pairs has 2N + 1 queues, offers MQ and CTRL_VQ and says N in
 * max_virtqueue_pairs; the control queue is 2N when the driver takes MQ, 2
 * when it takes CTRL_VQ alone (then only pair 0 exists for it), absent
 * without CTRL_VQ (vnet_ctrl.h). Only pair 0 is in use until the driver sets
 * more with VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET; pairs beyond the count in use
 * are neither polled nor served on a kick, and their tap queues are detached
 * (TUNSETQUEUE IFF_DETACH_QUEUE) so the host kernel steers no frame there.
 *
 * Every buffer starts with the 12-byte struct virtio_net_hdr_v1 (VERSION_1),
 * which is exactly the tap's vnet header (TUNSETVNETHDRSZ 12), so headers pass
 * between guest and tap unchanged apart from validation and num_buffers.
 *
 * Receive, per pair: the pair's tap fd is read on the event-loop thread into
 * the pair's bounce buffer when a one-shot io_uring poll says it is readable;
 * the frame is then copied into one guest chain, or with MRG_RXBUF into as
 * many as it needs (num_buffers). When the guest has no buffers the frame
 * stays pending and the tap is not polled again until the guest kicks that
 * receive queue. Transmit: each chain's header is copied out and checked,
 * then header copy + payload (in place in guest RAM) are written to the
 * pair's tap fd with one writev(2).
 *
 * Bounds a guest cannot push past (each pair on its own):
 * - Receive chains popped and not yet returned ("held") never number more
 *   than the queue size. A frame that does not fit in a whole ring's worth of
 *   held chains is dropped and those chains are returned with used length 0;
 *   a chain whose writable space cannot hold the 12-byte header is returned
 *   at once with used length 0 and never held. Per frame the work is linear
 *   in the buffers it uses.
 * - Each pass over a queue (one kick, one tap poll, one resumption) handles at
 *   most VNET_PASS_CHAINS chains or VNET_PASS_BYTES bytes (receive: also
 *   VNET_RX_PASS_FRAMES frames from the tap; control: VNET_PASS_CHAINS
 *   commands). What is left is resumed on the event loop's next turn (a poll
 *   on an always-readable eventfd of the device's own), so the other queues
 *   and devices are served in between.
 * - With MRG_RXBUF and a tap, a frame is read straight into held chains (one
 *   copy, no bounce buffer) once they hold the largest frame; until the guest
 *   has posted that much, frames go through the bounce buffer as without it.
 * - Transmit headers pass the checks of vnet_tx_hdr_check() (the minimums of
 *   the Linux kernel's virtio_net_hdr_to_skb()) or the frame is dropped.
 */
#ifndef AGENTVMM_DEVICES_VIRTIO_VIRTIO_NET_H
#define AGENTVMM_DEVICES_VIRTIO_VIRTIO_NET_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/virtio_dev.h"
#include "devices/virtio/vnet_hdr.h"

#define VNET_QUEUE_SIZE 256
#define VNET_RXQ 0
#define VNET_TXQ 1
#define VNET_PASS_CHAINS 64       /* chains per queue pass, then resume on the loop */
#define VNET_PASS_BYTES (256u * 1024) /* bytes per queue pass, likewise */
#define VNET_RX_PASS_FRAMES 64    /* tap frames per receive pass */
#define VNET_MAX_PAIRS 16         /* queue pairs of one device (--net ...,queues=N) */
_Static_assert(2 * VNET_MAX_PAIRS + 1 <= VIRTIO_MAX_QUEUES, "the transport's queue table");

struct vnet_config {
	/*
	 * Per queue pair, a tap queue (or, in tests, a SOCK_SEQPACKET end); the
	 * device owns them all from vnet_create() on, also when it fails.
	 */
	int fds[VNET_MAX_PAIRS];
	uint16_t nr_pairs;        /* 0 means 1; at most VNET_MAX_PAIRS */
	bool tap;                 /* a real tap: TUNSETOFFLOAD applies (to fds[0]: device-wide) */
	/*
	 * fds[0] is a connected SOCK_STREAM socket carrying frames each behind a
	 * 4-byte big-endian length, without vnet header (QEMU's -netdev stream,
	 * passt): one pair, no offloads either way (vnet_stream.c).
	 */
	bool stream;
	bool detach;              /* fds are queues of one multi-queue tap: TUNSETQUEUE applies */
	uint64_t offloads;        /* TUN_F_* the tap accepted when probed (0: none) */
	uint8_t mac[6];
	const char *name;         /* for log lines */
};

/* Counters of what the device dropped or moved; read with vnet_get_stats(). */
struct vnet_stats {
	uint64_t rx_frames, rx_bytes;
	uint64_t rx_dropped;      /* frames from the tap with no fitting guest buffer, or bad */
	uint64_t rx_bad_bufs;     /* guest receive buffers too small for a header */
	uint64_t rx_direct;       /* of rx_frames, read from the tap straight into guest buffers */
	uint64_t tx_frames, tx_bytes;
	uint64_t tx_bad;          /* guest frames dropped: bad header, size or chain */
	uint64_t tx_bad_hdr;      /* of those, failing vnet_tx_hdr_check() */
	uint64_t passes_deferred; /* queue passes that hit the budget and resumed later */
	uint64_t tx_errors;       /* writev to the tap failed */
	uint64_t tx_partial;      /* stream: frames the socket took in part (the rest waited) */
	/* per queue pair: frames moved each way */
	uint64_t pair_rx_frames[VNET_MAX_PAIRS], pair_tx_frames[VNET_MAX_PAIRS];
	uint64_t ctrl_ok, ctrl_err; /* control commands answered VIRTIO_NET_OK / _ERR */
	uint64_t kicks_ignored;   /* kicks on a queue of a pair not in use, or of no role */
	uint16_t nr_pairs;        /* not counters: the pairs the device has, */
	uint16_t active_pairs;    /* and those in use (1 until VQ_PAIRS_SET) */
};

/*
 * vnet_create() - a virtio-net device for vnet_ops over (cfg->fds), one per
 * queue pair, which it takes over (closed by destroy, or here on failure).
 * With (cfg->detach) the tap queues of pairs 1.. are detached until the
 * driver uses them.
 * Return: the device, or NULL with a message in (err) (out of memory, more
 * than VNET_MAX_PAIRS pairs).
 * Context: setup thread.
 */
void *vnet_create(const struct vnet_config *cfg, char *err, size_t errlen);

/*
 * vnet_nr_queues() - the queues this instance has: 2 for one pair, else 2N + 1
 * (the transport uses this rather than vnet_ops.nr_queues, the one-pair default).
 */
uint16_t vnet_nr_queues(void *dev);

/* vnet_get_stats() - a snapshot of the counters. Context: any thread. */
void vnet_get_stats(void *dev, struct vnet_stats *out);

/*
 * vnet_rx_ready() - the taps are readable: move frames into the guest, on
 * every pair in use. The device's own poll completions do this per pair;
 * exported for tests and fuzzing.
 * Context: event-loop thread.
 */
void vnet_rx_ready(void *dev);

/*
 * vnet_ops - threads: queue_notify (the control queue too), the tap poll
 * completions and the resumption of a pass that hit its budget run on the
 * loop thread and read/write the taps synchronously (non-blocking) under the
 * device lock; activate/reset/set_features on a vCPU thread take only that
 * lock (nothing is in flight in guest memory outside it: the poll SQEs touch
 * no guest buffer). activate and VQ_PAIRS_SET attach or detach tap queues
 * (TUNSETQUEUE, non-blocking). virtio_dev_fail() is called without the
 * device lock. nr_queues is the one-pair default: see vnet_nr_queues().
 */
extern const struct virtio_dev_ops vnet_ops;

#endif
