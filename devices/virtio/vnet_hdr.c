// SPDX-License-Identifier: MIT
/* vnet_hdr.c: virtio-net header rules and receive offload mapping (see vnet_hdr.h). */
#include "devices/virtio/vnet_hdr.h"

#include <endian.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <stdbool.h>
#include <stddef.h>

#include "vmm/compiler.h"

#define F(x) (1ULL << (x))

/*
 * Sizes and offsets the Linux kernel's virtio_net_hdr_to_skb()
 * (include/linux/virtio_net.h) checks a header against.
 */
#define VNET_IPV4_HLEN 20      /* struct iphdr: the least csum_start */
#define VNET_IPV6_HLEN 40      /* struct ipv6hdr: the least csum_start for TCPV6 */
#define VNET_TCP_HLEN 20       /* struct tcphdr */
#define VNET_UDP_HLEN 8        /* struct udphdr */
#define VNET_TCP_CSUM_OFF 16   /* offsetof(struct tcphdr, check) */
#define VNET_UDP_CSUM_OFF 6    /* offsetof(struct udphdr, check) */
#define VNET_UDP_MAX_SEGS 128  /* UDP_MAX_SEGMENTS, include/linux/udp.h */
#define VNET_GSO_BY_FRAGS 0xffff /* include/linux/skbuff.h: special to the kernel */

/* The GSO rules of (gso): feature, L4 header, least network header. false: unknown type. */
static bool gso_kind(uint8_t gso, uint64_t *feat, uint32_t *thlen, uint32_t *nh_min)
{
	*nh_min = VNET_IPV4_HLEN;
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
		*feat = F(VIRTIO_NET_F_HOST_TSO4);
		*thlen = VNET_TCP_HLEN;
		return true;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		*feat = F(VIRTIO_NET_F_HOST_TSO6);
		*thlen = VNET_TCP_HLEN;
		*nh_min = VNET_IPV6_HLEN;
		return true;
	case VIRTIO_NET_HDR_GSO_UDP:
		*feat = F(VIRTIO_NET_F_HOST_UFO);
		*thlen = VNET_UDP_HLEN;
		return true;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		*feat = F(VIRTIO_NET_F_HOST_USO);
		*thlen = VNET_UDP_HLEN;
		return true;
	}
	return false;
}

const char *vnet_tx_hdr_why(const struct virtio_net_hdr_v1 *h, uint32_t len, uint64_t acked)
{
	uint8_t gso = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	bool ecn = h->gso_type & VIRTIO_NET_HDR_GSO_ECN, csum = h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
	uint32_t start = le16toh(h->csum_start), off = le16toh(h->csum_offset);
	uint32_t gso_size = le16toh(h->gso_size), thlen = 0, nh_min = VNET_IPV4_HLEN;
	uint64_t feat = 0;

	if (len < VNET_MIN_FRAME || len > VNET_MAX_FRAME)
		return "frame size";
	/* DATA_VALID means nothing on transmit (virtio 1.2 §5.1.6.2.1): allowed, not passed on */
	if (h->flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
		return "unknown flags";
	/* the tap refuses hdr_len past the frame (the tun driver reading the vnet header) */
	if (le16toh(h->hdr_len) > len)
		return "hdr_len beyond the frame";
	if (gso != VIRTIO_NET_HDR_GSO_NONE) {
		if (!gso_kind(gso, &feat, &thlen, &nh_min))
			return "unknown gso_type";
		if (!(acked & feat))
			return "gso_type not negotiated";
		/* virtio 1.2 §5.1.6.2.1: a partial checksum and the MSS in gso_size */
		if (!csum)
			return "GSO without NEEDS_CSUM";
		if (!gso_size || gso_size == VNET_GSO_BY_FRAGS)
			return "gso_size";
	}
	/* VIRTIO_NET_HDR_GSO_ECN: "TCP has ECN set", and only with HOST_ECN */
	if (ecn && (gso != VIRTIO_NET_HDR_GSO_TCPV4 && gso != VIRTIO_NET_HDR_GSO_TCPV6))
		return "ECN bit without TCP segmentation";
	if (ecn && !(acked & F(VIRTIO_NET_F_HOST_ECN)))
		return "ECN bit not negotiated";
	if (csum) {
		if (!(acked & F(VIRTIO_NET_F_CSUM)))
			return "NEEDS_CSUM not negotiated";
		/* the kernel's transport-offset minimum, and its pskb_may_pull() of the L4 header */
		if (start < nh_min)
			return "csum_start inside the network header";
		if (start + MAX(thlen, off + 2) > len)
			return "checksum beyond the frame";
	}
	if ((gso == VIRTIO_NET_HDR_GSO_TCPV4 || gso == VIRTIO_NET_HDR_GSO_TCPV6) &&
	    off != VNET_TCP_CSUM_OFF)
		return "csum_offset is not the TCP checksum";
	if (gso == VIRTIO_NET_HDR_GSO_UDP_L4) {
		if (off != VNET_UDP_CSUM_OFF)
			return "csum_offset is not the UDP checksum";
		if (len - (start + VNET_UDP_HLEN) > gso_size * VNET_UDP_MAX_SEGS)
			return "more than 128 UDP segments";
	}
	return NULL;
}

int vnet_tx_hdr_check(const struct virtio_net_hdr_v1 *h, uint32_t len, uint64_t acked)
{
	return vnet_tx_hdr_why(h, len, acked) ? -EINVAL : 0;
}

unsigned vnet_tun_offloads(uint64_t acked)
{
	unsigned o = 0;

	if (!(acked & F(VIRTIO_NET_F_GUEST_CSUM)))
		return 0; /* every receive offload presumes partial checksums */
	o |= TUN_F_CSUM;
	if (acked & F(VIRTIO_NET_F_GUEST_TSO4))
		o |= TUN_F_TSO4;
	if (acked & F(VIRTIO_NET_F_GUEST_TSO6))
		o |= TUN_F_TSO6;
	if ((o & (TUN_F_TSO4 | TUN_F_TSO6)) && (acked & F(VIRTIO_NET_F_GUEST_ECN)))
		o |= TUN_F_TSO_ECN;
	return o;
}

