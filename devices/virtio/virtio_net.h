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
 *
 * Bounds a guest cannot push past:
 * - Receive chains popped and not yet returned ("held") never number more
 *   than the queue size. A frame that does not fit in a whole ring's worth of
 *   held chains is dropped and those chains are returned with used length 0;
 *   a chain whose writable space cannot hold the 12-byte header is returned
 *   at once with used length 0 and never held. Per frame the work is linear
 *   in the buffers it uses.
 * - Each pass over a queue (one kick, one tap poll, one resumption) handles at
 *   most VNET_PASS_CHAINS chains or VNET_PASS_BYTES bytes (receive: also
 *   VNET_RX_PASS_FRAMES frames from the tap). What is left is resumed on the
 *   event loop's next turn (a poll on an always-readable eventfd of the
 *   device's own), so the other devices' fds are served in between.
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

#define VNET_QUEUE_SIZE 256
#define VNET_HDR_LEN 12           /* struct virtio_net_hdr_v1 */
#define VNET_MAX_FRAME 65550      /* largest Ethernet frame (GSO included) either way */
#define VNET_MIN_FRAME 14         /* an Ethernet header */
#define VNET_RXQ 0
#define VNET_TXQ 1
#define VNET_PASS_CHAINS 64       /* chains per queue pass, then resume on the loop */
#define VNET_PASS_BYTES (256u * 1024) /* bytes per queue pass, likewise */
#define VNET_RX_PASS_FRAMES 64    /* tap frames per receive pass */
_Static_assert(sizeof(struct virtio_net_hdr_v1) == VNET_HDR_LEN, "virtio 1.2 §5.1.6");

/* Newer than some distributions' <linux/virtio_net.h> (virtio 1.2 §5.1.3, §5.1.6) */
#ifndef VIRTIO_NET_F_HOST_USO
#define VIRTIO_NET_F_HOST_USO 56
#endif
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

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
	uint64_t tx_bad_hdr;      /* of those, failing vnet_tx_hdr_check() */
	uint64_t passes_deferred; /* queue passes that hit the budget and resumed later */
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
 * under the negotiated (acked) features. The rules are at least those of the
 * Linux kernel's virtio_net_hdr_to_skb(), which the tap applies to what we
 * pass it, so a frame the host kernel would refuse never reaches it:
 * - len within [VNET_MIN_FRAME, VNET_MAX_FRAME]; flags NEEDS_CSUM/DATA_VALID
 *   only; hdr_len <= len;
 * - NEEDS_CSUM: VIRTIO_NET_F_CSUM; csum_start at least an IPv4 header (an
 *   IPv6 one for TCPV6); csum_start + max(L4 header, csum_offset + 2) <= len;
 * - gso_type: NONE, TCPV4, TCPV6, UDP, UDP_L4 (each with its HOST_* feature),
 *   plus the ECN bit only on TCPV4/TCPV6 with HOST_ECN; a GSO frame needs
 *   NEEDS_CSUM and a gso_size that is neither 0 nor GSO_BY_FRAGS (0xffff);
 *   TCP's csum_offset is that of the TCP checksum (16), UDP_L4's that of the
 *   UDP checksum (6), and UDP_L4 makes at most 128 segments.
 * Return: 0 or -EINVAL. Context: pure. Guest: everything.
 */
int vnet_tx_hdr_check(const struct virtio_net_hdr_v1 *h, uint32_t len, uint64_t acked) __must_check;

/*
 * vnet_tx_hdr_why() - the same check, naming the rule that failed (a static
 * string), or NULL when (h) passes. Context: pure. Guest: everything.
 */
const char *vnet_tx_hdr_why(const struct virtio_net_hdr_v1 *h, uint32_t len, uint64_t acked);

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
 * vnet_ops - threads: queue_notify, the tap poll completion and the
 * resumption of a pass that hit its budget run on the loop thread and
 * read/write the tap synchronously (non-blocking) under the device lock;
 * activate/reset/set_features on a vCPU thread take only that lock (nothing
 * is in flight in guest memory outside it: the poll SQEs touch no guest
 * buffer). virtio_dev_fail() is called without the device lock.
 */
extern const struct virtio_dev_ops vnet_ops;

#endif
