/* SPDX-License-Identifier: MIT */
/*
 * virtio_net.h: virtio-net (virtio 1.2 §5.1) over a TAP file descriptor.
 *
 * Queues: 0 receive, 1 transmit (one pair, no multiqueue, no control queue).
 * Every buffer starts with the 12-byte struct virtio_net_hdr_v1 (VERSION_1),
 * which is exactly the tap's vnet header (TUNSETVNETHDRSZ 12), so headers pass
 * between guest and tap unchanged apart from validation and num_buffers.
 *
 * Receive: the tap is read on the event-loop thread into a bounce buffer when
 * a one-shot io_uring poll says it is readable; the frame is then copied into
 * one guest chain, or with MRG_RXBUF into as many as it needs (num_buffers).
 * When the guest has no buffers the frame stays pending and the tap is not
 * polled again until the guest kicks the receive queue. Transmit: each chain's
 * header is copied out and checked, then header copy + payload (in place in
 * guest RAM) are written to the tap with one writev(2).
 */
#ifndef AGENTVMM_DEVICES_VIRTIO_VIRTIO_NET_H
#define AGENTVMM_DEVICES_VIRTIO_VIRTIO_NET_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/virtio_dev.h"

#define VNET_QUEUE_SIZE 256
#define VNET_HDR_LEN 12           /* struct virtio_net_hdr_v1 */
#define VNET_MAX_FRAME 65550      /* largest Ethernet frame (GSO included) either way */
#define VNET_MIN_FRAME 14         /* an Ethernet header */
#define VNET_RXQ 0
#define VNET_TXQ 1
_Static_assert(sizeof(struct virtio_net_hdr_v1) == VNET_HDR_LEN, "virtio 1.2 §5.1.6");

struct vnet_config {
	int fd;                   /* tap (or, in tests, a SOCK_SEQPACKET end); the device owns it */
	bool tap;                 /* a real tap: TUNSETOFFLOAD applies */
	uint64_t offloads;        /* TUN_F_* the tap accepted when probed (0: none) */
	uint8_t mac[6];
	const char *name;         /* for log lines */
};

/* Counters of what the device dropped or moved; read with vnet_get_stats(). */
struct vnet_stats {
	uint64_t rx_frames, rx_bytes;
	uint64_t rx_dropped;      /* frames from the tap with no fitting guest buffer, or bad */
	uint64_t rx_bad_bufs;     /* guest receive buffers too small for a header */
	uint64_t tx_frames, tx_bytes;
	uint64_t tx_bad;          /* guest frames dropped: bad header, size or chain */
	uint64_t tx_errors;       /* writev to the tap failed */
};

/*
 * vnet_create() - a virtio-net device for vnet_ops over (cfg->fd), which it
 * takes over (closed by destroy, or here on failure).
 * Return: the device, or NULL with a message in (err) (out of memory).
 * Context: setup thread.
 */
void *vnet_create(const struct vnet_config *cfg, char *err, size_t errlen);

/*
 * vnet_tx_hdr_check() - whether a transmitted header (h, already copied out of
 * guest memory) is acceptable for a frame of (len) bytes after the header
 * under the negotiated (acked) features: known flags only; NEEDS_CSUM needs
 * VIRTIO_NET_F_CSUM and csum_start + csum_offset + 2 <= len; a GSO type needs
 * its HOST_* feature, NEEDS_CSUM and a non-zero gso_size; len within
 * [VNET_MIN_FRAME, VNET_MAX_FRAME].
 * Return: 0 or -EINVAL. Context: pure. Guest: everything.
 */
int vnet_tx_hdr_check(const struct virtio_net_hdr_v1 *h, uint32_t len, uint64_t acked) __must_check;

/* vnet_tun_offloads() - the TUN_F_* flags matching the guest's (acked) receive features. */
unsigned vnet_tun_offloads(uint64_t acked);

/* vnet_get_stats() - a snapshot of the counters. Context: any thread. */
void vnet_get_stats(void *dev, struct vnet_stats *out);

/*
 * vnet_rx_ready() - the tap is readable: move frames into the guest. Called by
 * the device's own poll completion; exported for tests and fuzzing.
 * Context: event-loop thread.
 */
void vnet_rx_ready(void *dev);

/*
 * vnet_ops - threads: queue_notify and the tap poll completion run on the loop
 * thread and read/write the tap synchronously (non-blocking) under the device
 * lock; activate/reset/set_features on a vCPU thread take only that lock
 * (nothing is in flight in guest memory outside it: the tap poll SQE touches
 * no guest buffer). virtio_dev_fail() is called without the device lock.
 */
extern const struct virtio_dev_ops vnet_ops;

#endif
