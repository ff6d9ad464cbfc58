/* SPDX-License-Identifier: MIT */
/*
 * vnet_hdr.h: the virtio-net header rules (prefix vnet_): what a transmitted
 * struct virtio_net_hdr_v1 may say, and the tap offloads a driver's receive
 * features allow. Pure functions of copied-out values, shared by the device
 * (virtio_net.c), its tests and its fuzz target.
 */
#ifndef AGENTVMM_DEVICES_VIRTIO_VNET_HDR_H
#define AGENTVMM_DEVICES_VIRTIO_VNET_HDR_H

#include <linux/virtio_net.h>
#include <stdint.h>

#include "vmm/compiler.h"

#define VNET_HDR_LEN 12           /* struct virtio_net_hdr_v1 */
#define VNET_MAX_FRAME 65550      /* largest Ethernet frame (GSO included) either way */
#define VNET_MIN_FRAME 14         /* an Ethernet header */
_Static_assert(sizeof(struct virtio_net_hdr_v1) == VNET_HDR_LEN, "virtio 1.2 §5.1.6");

/* Newer than some distributions' <linux/virtio_net.h> (virtio 1.2 §5.1.3, §5.1.6) */
#ifndef VIRTIO_NET_F_HOST_USO
#define VIRTIO_NET_F_HOST_USO 56
#endif
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

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

#endif
