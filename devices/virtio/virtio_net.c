// SPDX-License-Identifier: MIT
/*
 * virtio_net.c: virtio-net over a TAP fd (prefix vnet_); see virtio_net.h
 * for the data path. One receive and one transmit queue, served on the
 * event-loop thread under vn_lock; activate/reset (vCPU thread) take the same
 * lock. Frames the guest or the tap get wrong are dropped and counted.
 *
 * Over 600 lines: the transmit header rules and the bounded receive path
 * with its per-pass budget guard this device's two queues against a hostile
 * driver and are kept beside the code they guard.
 */
#include "devices/virtio/virtio_net.h"

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <linux/virtio_ids.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devices/virtio/iov.h"
#include "vmm/log.h"

#define VNET_CONFIG_SIZE offsetof(struct virtio_net_config, mtu) /* mac, status, max pairs */
_Static_assert(VNET_CONFIG_SIZE == 10, "virtio 1.2 §5.1.4");
#define VNET_RXBUF_SIZE (VNET_HDR_LEN + VNET_MAX_FRAME + 1) /* +1: see oversize frames */
#define VNET_RX_SEGS 16       /* writable segments used per receive chain */
#define VNET_RX_HELD VNET_QUEUE_SIZE /* popped receive chains waiting: at most the ring */
#define VNET_TX_IOV 64        /* header copy + payload segments per frame */
#define VNET_NUM_BUFFERS_OFF offsetof(struct virtio_net_hdr_v1, num_buffers)

#define F(x) (1ULL << (x))

/* A receive chain popped and not yet pushed: its writable segments. */
struct vnet_held {
	uint16_t head;
	uint16_t nr;
	uint32_t cap;
	struct iovec iov[VNET_RX_SEGS];
};

struct vnet {
	pthread_mutex_t vn_lock;
	int vn_fd;
	bool vn_tap;
	uint64_t vn_offloads;       /* TUN_F_* the tap accepts */
	char vn_name[32];
	struct virtio_net_config vn_cfg; /* guest view, little-endian */
	uint64_t vn_acked;
	bool vn_active;
	struct vpci *vn_t;
	struct evl *vn_evl;
	struct virtq *vn_rxq, *vn_txq;  /* NULL: queue not enabled */
	struct vq_chain *vn_chain;      /* scratch for virtq_pop */
	/* receive */
	uint8_t *vn_rxbuf;          /* the pending frame (vnet header first) */
	size_t vn_rx_len;           /* its length; 0: none pending */
	bool vn_rx_armed;           /* a poll SQE on the tap is in flight */
	bool vn_rx_stalled;         /* waiting for the guest to post buffers */
	struct evl_op vn_rx_op;
	/*
	 * Receive chains popped and not pushed, oldest first: a ring of
	 * VNET_RX_HELD slots, of which vn_held_nr <= vn_rxq->vq_size are in use
	 * (a driver cannot have more chains out than its ring has entries), and
	 * vn_held_cap is the sum of their caps.
	 */
	struct vnet_held *vn_held;
	unsigned vn_held_first, vn_held_nr;
	uint64_t vn_held_cap;
	/* a pass that hit its budget: the rest runs at the loop's next turn */
	int vn_resume_efd;          /* eventfd, always readable: a poll on it completes at once */
	struct evl_op vn_resume_op;
	bool vn_resume_armed;       /* its poll SQE is queued or in flight */
	unsigned vn_resume;         /* VNET_RESUME_* owed */
	const char *vn_fail_why;    /* virtio_dev_fail() owed, called without vn_lock */
	bool vn_tap_warned;         /* the tap failed (deleted on the host): said once */
	struct vnet_stats vn_stats;
};

/*
 * The tap itself failed (EBADFD: deleted on the host; EIO: down): frames are
 * dropped from now on, and the user is told once (docs/faults.md).
 */
static void tap_warn_once(struct vnet *n, const char *op, int err)
{
	if (n->vn_tap_warned || (err != EBADFD && err != EIO && err != ENODEV && err != ENXIO))
		return;
	n->vn_tap_warned = true;
	log_warn("virtio-net %s: tap %s: %s: dropping the guest's frames (docs/faults.md)",
		 n->vn_name, op, strerror(err));
}

/* ---- header checks ----------------------------------------------------- */

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

static void vnet_set_offloads(struct vnet *n, unsigned o)
{
	if (!n->vn_tap || ioctl(n->vn_fd, TUNSETOFFLOAD, (unsigned long)o) == 0)
		return;
	if (errno == EBADFD) /* the tap was deleted: said once, not at every driver reset */
		tap_warn_once(n, "TUNSETOFFLOAD", errno);
	else
		log_warn("virtio-net %s: TUNSETOFFLOAD %#x: %s", n->vn_name, o, strerror(errno));
}

/* ---- per-pass budget and resumption ------------------------------------ */

/* What a resumption owes: one more pass over a queue. */
#define VNET_RESUME_RX 1u
#define VNET_RESUME_TX 2u

/* Work done in one pass over a queue; see VNET_PASS_CHAINS in virtio_net.h. */
struct vnet_pass {
	unsigned chains;
	uint64_t bytes;
	bool pushed;                /* something went to the used ring: interrupt */
};

static bool pass_spent(const struct vnet_pass *p)
{
	return p->chains >= VNET_PASS_CHAINS || p->bytes >= VNET_PASS_BYTES;
}

static void resume_done_cb(void *opaque, int res);

/*
 * Ask for another pass (what) at the event loop's next turn: a one-shot poll
 * on vn_resume_efd, which is always readable, so its completion comes in the
 * same batch as the other fds' events and each gets its turn (evloop.h: the
 * loop submits, then runs every completion). Return: false when no SQE could
 * be had; the caller then goes on rather than leave the queue stalled.
 */
static bool resume_locked(struct vnet *n, unsigned what)
{
	struct io_uring_sqe *sqe;

	if (!n->vn_evl)
		return false;
	if (n->vn_evl->stopping)
		return true; /* the VM is ending: nothing more will run */
	if (!n->vn_resume_armed) {
		sqe = evl_get_sqe(n->vn_evl, &n->vn_resume_op);
		if (!sqe) {
			io_uring_submit(&n->vn_evl->ring); /* loop thread: make room */
			sqe = evl_get_sqe(n->vn_evl, &n->vn_resume_op);
			if (!sqe)
				return false;
		}
		io_uring_prep_poll_add(sqe, n->vn_resume_efd, POLLIN);
		n->vn_resume_armed = true;
	}
	n->vn_resume |= what;
	n->vn_stats.passes_deferred++;
	return true;
}

/* ---- transmit ---------------------------------------------------------- */

/* Send chain (c) to the tap, or drop it. Guest: the whole chain. */
static void tx_one_locked(struct vnet *n, const struct vq_chain *c)
{
	struct virtio_net_hdr_v1 hdr;
	struct iovec iov[VNET_TX_IOV];
	struct iov_cur cur;
	const char *why = "short header";
	uint32_t len;
	int nr;

	iov_cur_init(&cur, c->seg, c->nr_ro);
	/* single fetch: the header is copied out, checked, and the copy is sent */
	if (c->ro_len < VNET_HDR_LEN || iov_cur_copy_out(&cur, &hdr, sizeof(hdr)))
		goto bad;
	len = c->ro_len - VNET_HDR_LEN;
	why = vnet_tx_hdr_why(&hdr, len, n->vn_acked);
	if (why) {
		n->vn_stats.tx_bad_hdr++;
		goto bad;
	}
	hdr.num_buffers = 0;
	hdr.flags &= (uint8_t)~VIRTIO_NET_HDR_F_DATA_VALID; /* a claim the host must not trust */
	why = "too many segments";
	nr = iov_cur_take(&cur, len, iov + 1, VNET_TX_IOV - 1);
	if (nr <= 0)
		goto bad;
	iov[0] = (struct iovec){ .iov_base = &hdr, .iov_len = sizeof(hdr) };
	ssize_t w = writev(n->vn_fd, iov, nr + 1);
	if (w < 0) {
		/* a tap that is down says EIO; a full one drops by itself */
		n->vn_stats.tx_errors++;
		tap_warn_once(n, "write", errno);
		log_guest_ratelimited("virtio-net %s: tap write: %s", n->vn_name, strerror(errno));
		return;
	}
	n->vn_stats.tx_frames++;
	n->vn_stats.tx_bytes += len;
	return;
bad:
	n->vn_stats.tx_bad++;
	log_guest_ratelimited("virtio-net %s: dropped a bad transmit frame (%u bytes): %s",
			      n->vn_name, c->ro_len, why);
}

/*
 * Send what is posted, following virtq.h's loop, at most one pass's budget;
 * the rest is resumed on the loop. Return: false on a broken ring.
 */
static bool tx_run_locked(struct vnet *n)
{
	struct virtq *vq = n->vn_txq;
	struct vnet_pass p = { 0 };
	int r = 0;

	virtq_disable_notify(vq);
	for (;;) {
		while (!pass_spent(&p) && (r = virtq_pop(vq, n->vn_chain)) == 1) {
			p.chains++;
			p.bytes += n->vn_chain->ro_len;
			tx_one_locked(n, n->vn_chain);
			virtq_push(vq, n->vn_chain->head, 0);
			p.pushed = true;
		}
		if (r < 0)
			break;
		if (pass_spent(&p)) {
			/* notifications stay off: the resumed pass turns them back on */
			if (resume_locked(n, VNET_RESUME_TX))
				break;
			p.chains = 0; /* cannot yield: go on rather than strand the queue */
			p.bytes = 0;
			continue;
		}
		if (!virtq_enable_notify(vq))
			break;
	}
	if (p.pushed)
		virtio_notify(n->vn_t, VNET_TXQ);
	return r >= 0;
}

/* ---- receive ----------------------------------------------------------- */

/* Outcomes of rx_deliver_locked() besides -EBADMSG. */
enum { RX_STALLED = 0, RX_DONE = 1, RX_LATER = 2 };

static struct vnet_held *held_at(struct vnet *n, unsigned i)
{
	return &n->vn_held[(n->vn_held_first + i) % VNET_RX_HELD];
}

/*
 * Pop one receive chain into the held ring, whose free slot it fills. A chain
 * that cannot hold a header is pushed back empty and not held. Return: 1
 * popped (held or given back), 0 none available, -EBADMSG broken ring.
 */
static int rx_pop_locked(struct vnet *n, struct vnet_pass *p)
{
	const struct vq_chain *c = n->vn_chain;
	struct vnet_held *h;
	int r;

	/* the caller pops only below the queue size, which the transport caps */
	assert(n->vn_held_nr < n->vn_rxq->vq_size && n->vn_rxq->vq_size <= VNET_RX_HELD);
	r = virtq_pop(n->vn_rxq, n->vn_chain);
	if (r <= 0)
		return r;
	p->chains++;
	h = held_at(n, n->vn_held_nr);
	h->head = c->head;
	h->nr = 0;
	h->cap = 0;
	for (unsigned i = c->nr_ro; i < (unsigned)c->nr_ro + c->nr_wo && h->nr < VNET_RX_SEGS; i++) {
		if (!c->seg[i].iov_len)
			continue;
		h->iov[h->nr++] = c->seg[i];
		h->cap += (uint32_t)c->seg[i].iov_len; /* virtq_pop: the chain's total < 2^32 */
	}
	if (h->cap < VNET_HDR_LEN) {
		/* virtio 1.2 §5.1.6.3.1: every buffer holds at least a header */
		n->vn_stats.rx_bad_bufs++;
		log_guest_ratelimited("virtio-net %s: receive buffer of %u bytes", n->vn_name,
				      h->cap);
		virtq_push(n->vn_rxq, c->head, 0);
		p->pushed = true;
		return 1;
	}
	n->vn_held_nr++;
	n->vn_held_cap += h->cap;
	return 1;
}

/* Push the oldest held chain with (written) bytes and forget it. */
static void held_push_first_locked(struct vnet *n, uint32_t written)
{
	struct vnet_held *h = held_at(n, 0);

	assert(n->vn_held_nr > 0 && n->vn_held_cap >= h->cap);
	virtq_push(n->vn_rxq, h->head, written);
	n->vn_held_cap -= h->cap;
	n->vn_held_first = (n->vn_held_first + 1) % VNET_RX_HELD;
	n->vn_held_nr--;
}

/* Copy (len) bytes of the pending frame into the first (nbufs) held chains and push them. */
static void rx_copy_locked(struct vnet *n, size_t len, unsigned nbufs)
{
	const uint8_t *src = n->vn_rxbuf;

	for (unsigned b = 0; b < nbufs; b++) {
		const struct vnet_held *h = held_at(n, 0);
		uint32_t done = 0;

		for (unsigned i = 0; i < h->nr && len; i++) {
			size_t k = MIN(len, h->iov[i].iov_len);

			memcpy(h->iov[i].iov_base, src, k);
			src += k;
			len -= k;
			done += (uint32_t)k;
		}
		held_push_first_locked(n, done);
	}
}

/*
 * Drop the pending frame; with (give_back), also push every held chain back
 * with used length 0 (the frame needed more than the whole ring).
 */
static int rx_drop_locked(struct vnet *n, bool give_back, struct vnet_pass *p)
{
	unsigned nr = n->vn_held_nr;

	while (give_back && n->vn_held_nr)
		held_push_first_locked(n, 0);
	p->pushed |= give_back && nr;
	assert(!give_back || n->vn_held_cap == 0);
	n->vn_stats.rx_dropped++;
	log_guest_ratelimited("virtio-net %s: no guest buffer fits a %zu-byte frame%s", n->vn_name,
			      n->vn_rx_len, give_back ? ": buffers returned empty" : "");
	n->vn_rx_len = 0;
	return RX_DONE;
}

/*
 * Deliver the pending frame, within pass (p). Return: RX_DONE delivered or
 * dropped; RX_STALLED no guest buffers (stay pending until a kick); RX_LATER
 * the pass is spent (resume); -EBADMSG broken ring. Work: one pop per chain
 * taken, at most the queue size of them held; the copy touches only the
 * chains the frame uses.
 */
static int rx_deliver_locked(struct vnet *n, struct vnet_pass *p)
{
	bool mrg = n->vn_acked & F(VIRTIO_NET_F_MRG_RXBUF);
	size_t len = n->vn_rx_len;
	unsigned nbufs;
	uint16_t le;
	int r;

	while (mrg ? n->vn_held_cap < len : n->vn_held_nr == 0) {
		/* the whole ring is held and still too little: it never fits */
		if (n->vn_held_nr >= n->vn_rxq->vq_size)
			return rx_drop_locked(n, true, p);
		if (pass_spent(p))
			return RX_LATER;
		r = rx_pop_locked(n, p);
		if (r < 0)
			return r;
		if (r == 0 && !virtq_enable_notify(n->vn_rxq))
			return n->vn_rxq->vq_broken ? -EBADMSG : RX_STALLED;
	}
	if (!mrg && held_at(n, 0)->cap < len)
		return rx_drop_locked(n, false, p); /* bigger than the buffer: keep the buffer */
	nbufs = 1;
	if (mrg) {
		uint64_t cap = 0;

		/* held_cap >= len: ends within the held chains */
		for (nbufs = 0; cap < len; nbufs++) {
			assert(nbufs < n->vn_held_nr);
			cap += held_at(n, nbufs)->cap;
		}
	}
	le = htole16((uint16_t)nbufs);
	memcpy(n->vn_rxbuf + VNET_NUM_BUFFERS_OFF, &le, sizeof(le));
	rx_copy_locked(n, len, nbufs);
	p->pushed = true;
	p->bytes += len;
	n->vn_stats.rx_frames++;
	n->vn_stats.rx_bytes += len - VNET_HDR_LEN;
	n->vn_rx_len = 0;
	return RX_DONE;
}

static void rx_poll_done_cb(void *opaque, int res);

/* Ask the loop to call back when the tap is readable (once). */
static void rx_arm_locked(struct vnet *n)
{
	struct io_uring_sqe *sqe;

	if (n->vn_rx_armed || !n->vn_evl || n->vn_evl->stopping)
		return;
	sqe = evl_get_sqe(n->vn_evl, &n->vn_rx_op);
	if (!sqe) {
		io_uring_submit(&n->vn_evl->ring); /* loop thread: make room */
		sqe = evl_get_sqe(n->vn_evl, &n->vn_rx_op);
		if (!sqe)
			return; /* the next kick of either queue tries again */
	}
	io_uring_prep_poll_add(sqe, n->vn_fd, POLLIN);
	n->vn_rx_armed = true;
}

/* Read the next frame from the tap into vn_rxbuf. Return: 1 got one, 0 none, -1 tap error. */
static int rx_read_locked(struct vnet *n)
{
	for (;;) {
		ssize_t r = read(n->vn_fd, n->vn_rxbuf, VNET_RXBUF_SIZE);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			if (errno == EAGAIN)
				return 0;
			/* e.g. the tap was deleted: poll again at the next kick, not in a loop */
			tap_warn_once(n, "read", errno);
			log_guest_ratelimited("virtio-net %s: tap read: %s", n->vn_name,
					      strerror(errno));
			return -1;
		}
		if (r <= VNET_HDR_LEN || r > VNET_HDR_LEN + VNET_MAX_FRAME) {
			n->vn_stats.rx_dropped++;
			return 1; /* nothing pending: the caller reads on */
		}
		n->vn_rx_len = (size_t)r;
		return 1;
	}
}

/*
 * Read frames from the tap and deliver them, one pass: at most
 * VNET_RX_PASS_FRAMES frames and the pass budget. A frame still pending when
 * the budget runs out is resumed on the loop; otherwise the tap is polled.
 * Return: false on a broken ring.
 */
static bool rx_run_locked(struct vnet *n)
{
	struct vnet_pass p = { 0 };
	unsigned frames = VNET_RX_PASS_FRAMES;
	bool ok = true, tap_err = false;

	n->vn_rx_stalled = false;
	while (!pass_spent(&p)) {
		if (!n->vn_rx_len) {
			int g = frames ? rx_read_locked(n) : 0;

			if (g <= 0) {
				tap_err = g < 0;
				break;
			}
			frames--;
			if (!n->vn_rx_len)
				continue; /* a bad frame from the tap, dropped */
		}
		int d = rx_deliver_locked(n, &p);
		if (d < 0) {
			ok = false;
			break;
		}
		if (d == RX_STALLED) {
			n->vn_rx_stalled = true;
			break;
		}
		if (d == RX_LATER)
			break;
	}
	if (p.pushed)
		virtio_notify(n->vn_t, VNET_RXQ);
	if (!ok || n->vn_rx_stalled)
		return ok;
	/*
	 * A frame left over (budget spent) waits on no fd: resume. Otherwise,
	 * or with no SQE to resume with (the ring is full: the next tap event
	 * or kick goes on), the tap says when.
	 */
	if (n->vn_rx_len && resume_locked(n, VNET_RESUME_RX))
		return ok;
	if (!tap_err)
		rx_arm_locked(n);
	return ok;
}

/* Take a failure owed; called with vn_lock, acted on without it. */
static const char *take_fail_locked(struct vnet *n, bool ok)
{
	const char *why;

	if (!ok && !n->vn_fail_why)
		n->vn_fail_why = "malformed descriptor chain";
	why = n->vn_fail_why;
	n->vn_fail_why = NULL;
	return why;
}

/* One pass over (qidx) if the device and queue are live. Return: a failure owed, or NULL. */
static const char *run_queue_locked(struct vnet *n, uint16_t qidx)
{
	if (!n->vn_active)
		return NULL;
	if (qidx == VNET_TXQ && n->vn_txq && !n->vn_txq->vq_broken)
		return take_fail_locked(n, tx_run_locked(n));
	if (qidx == VNET_RXQ && n->vn_rxq && !n->vn_rxq->vq_broken)
		return take_fail_locked(n, rx_run_locked(n));
	return NULL;
}

/*
 * Drop vn_lock, then report (fail) if set: virtio_dev_fail() takes the
 * transport's lock, never with ours held. The transport pointer is read
 * before unlocking: activate() writes it on a vCPU thread.
 */
static void unlock_and_fail(struct vnet *n, const char *fail)
{
	struct vpci *t = n->vn_t;

	pthread_mutex_unlock(&n->vn_lock);
	if (fail)
		virtio_dev_fail(t, fail);
}

void vnet_rx_ready(void *dev)
{
	struct vnet *n = dev;

	pthread_mutex_lock(&n->vn_lock);
	unlock_and_fail(n, run_queue_locked(n, VNET_RXQ));
}

/* The tap poll fired (or was cancelled). Context: loop thread. */
static void rx_poll_done_cb(void *opaque, int res)
{
	struct vnet *n = opaque;

	pthread_mutex_lock(&n->vn_lock);
	n->vn_rx_armed = false;
	pthread_mutex_unlock(&n->vn_lock);
	if (res < 0)
		return; /* cancelled at teardown */
	vnet_rx_ready(n);
}

/*
 * The resumption poll completed: run the passes owed (transmit first: it
 * frees guest buffers fastest). Cancelled or at teardown: nothing.
 * Context: loop thread.
 */
static void resume_done_cb(void *opaque, int res)
{
	struct vnet *n = opaque;
	const char *fail = NULL;
	unsigned what;

	pthread_mutex_lock(&n->vn_lock);
	n->vn_resume_armed = false;
	what = n->vn_resume;
	n->vn_resume = 0;
	if (res >= 0 && n->vn_evl && !n->vn_evl->stopping) {
		if (what & VNET_RESUME_TX)
			fail = run_queue_locked(n, VNET_TXQ);
		if (!fail && (what & VNET_RESUME_RX))
			fail = run_queue_locked(n, VNET_RXQ);
	}
	unlock_and_fail(n, fail);
}

/* queue_notify - the driver kicked (qidx). Context: loop thread. */
static void vnet_queue_notify(void *dev, uint16_t qidx)
{
	struct vnet *n = dev;

	pthread_mutex_lock(&n->vn_lock);
	unlock_and_fail(n, run_queue_locked(n, qidx)); /* receive: new buffers, read on */
}

/* ---- lifecycle ---------------------------------------------------------- */

/* activate - Context: vCPU thread (DRIVER_OK). The tap is polled from the first RX kick. */
static int vnet_activate(void *dev, const struct virtio_activation *act)
{
	struct vnet *n = dev;

	pthread_mutex_lock(&n->vn_lock);
	n->vn_t = act->transport;
	n->vn_evl = act->evl;
	n->vn_acked = act->features;
	n->vn_rxq = act->nr_vqs > VNET_RXQ && act->vqs[VNET_RXQ].vq_size ? &act->vqs[VNET_RXQ] : NULL;
	n->vn_txq = act->nr_vqs > VNET_TXQ && act->vqs[VNET_TXQ].vq_size ? &act->vqs[VNET_TXQ] : NULL;
	n->vn_held_first = n->vn_held_nr = 0;
	n->vn_held_cap = 0;
	n->vn_rx_stalled = false;
	n->vn_resume = 0; /* a resumption still armed finds nothing owed */
	n->vn_fail_why = NULL;
	n->vn_active = true;
	pthread_mutex_unlock(&n->vn_lock);
	return 0;
}

/*
 * reset - forget the queues and held chains (they belong to the old driver),
 * any pending frame (read under the old offloads) and any pass owed. The tap
 * poll and the resumption poll may still be armed; they touch no guest memory
 * and their completions find us inactive.
 * Context: vCPU thread.
 */
static int vnet_reset(void *dev)
{
	struct vnet *n = dev;

	pthread_mutex_lock(&n->vn_lock);
	n->vn_active = false;
	n->vn_rxq = n->vn_txq = NULL;
	n->vn_held_first = n->vn_held_nr = 0;
	n->vn_held_cap = 0;
	n->vn_rx_len = 0;
	n->vn_resume = 0;
	n->vn_acked = 0;
	vnet_set_offloads(n, 0);
	pthread_mutex_unlock(&n->vn_lock);
	return 0;
}

/* features - offered. Context: vCPU thread. */
static uint64_t vnet_features(void *dev)
{
	const struct vnet *n = dev;
	uint64_t f = F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) | F(VIRTIO_NET_F_MRG_RXBUF) |
		     F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) |
		     F(VIRTIO_NET_F_HOST_ECN);

	/* receive offloads only when the tap can hand us such frames */
	if (n->vn_offloads & TUN_F_CSUM) {
		f |= F(VIRTIO_NET_F_GUEST_CSUM);
		if (n->vn_offloads & TUN_F_TSO4)
			f |= F(VIRTIO_NET_F_GUEST_TSO4);
		if (n->vn_offloads & TUN_F_TSO6)
			f |= F(VIRTIO_NET_F_GUEST_TSO6);
		if (n->vn_offloads & TUN_F_TSO_ECN)
			f |= F(VIRTIO_NET_F_GUEST_ECN);
	}
	return f;
}

/* set_features - apply the receive offloads to the tap. Context: vCPU thread. */
static int vnet_set_features(void *dev, uint64_t acked)
{
	struct vnet *n = dev;

	pthread_mutex_lock(&n->vn_lock);
	n->vn_acked = acked;
	vnet_set_offloads(n, vnet_tun_offloads(acked) & (unsigned)n->vn_offloads);
	pthread_mutex_unlock(&n->vn_lock);
	return 0;
}

/* config_read - (off, len) checked by the transport. Context: vCPU thread. */
static void vnet_config_read(void *dev, uint32_t off, void *buf, uint32_t len)
{
	const struct vnet *n = dev;

	if (off > VNET_CONFIG_SIZE || len > VNET_CONFIG_SIZE - off) {
		memset(buf, 0xff, len);
		return;
	}
	memcpy(buf, (const uint8_t *)&n->vn_cfg + off, len);
}

/* config_write - the MAC is not writable in virtio 1.x (virtio 1.2 §5.1.4.2). */
static int vnet_config_write(void *dev, uint32_t off, const void *buf, uint32_t len)
{
	return 0;
}

static void vnet_destroy(void *dev)
{
	struct vnet *n = dev;

	if (!n)
		return;
	if (n->vn_fd >= 0)
		close(n->vn_fd); /* a tap we created (not persistent) goes away with it */
	if (n->vn_resume_efd >= 0)
		close(n->vn_resume_efd);
	pthread_mutex_destroy(&n->vn_lock);
	free(n->vn_held);
	free(n->vn_rxbuf);
	free(n->vn_chain);
	free(n);
}

void vnet_get_stats(void *dev, struct vnet_stats *out)
{
	struct vnet *n = dev;

	pthread_mutex_lock(&n->vn_lock);
	*out = n->vn_stats;
	pthread_mutex_unlock(&n->vn_lock);
}

void *vnet_create(const struct vnet_config *cfg, char *err, size_t errlen)
{
	struct vnet *n = calloc(1, sizeof(*n));

	if (!n) {
		if (cfg->fd >= 0)
			close(cfg->fd);
		goto err_nomem;
	}
	pthread_mutex_init(&n->vn_lock, NULL);
	n->vn_fd = cfg->fd;
	/* count 1, never read: always readable, so a poll on it means "next turn" */
	n->vn_resume_efd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
	n->vn_resume_op = (struct evl_op){ .done = resume_done_cb, .opaque = n };
	n->vn_tap = cfg->tap;
	n->vn_offloads = cfg->offloads;
	snprintf(n->vn_name, sizeof(n->vn_name), "%s", cfg->name ? cfg->name : "");
	n->vn_rx_op = (struct evl_op){ .done = rx_poll_done_cb, .opaque = n };
	memcpy(n->vn_cfg.mac, cfg->mac, sizeof(n->vn_cfg.mac));
	n->vn_cfg.status = htole16(VIRTIO_NET_S_LINK_UP);
	n->vn_cfg.max_virtqueue_pairs = htole16(1);
	n->vn_chain = malloc(sizeof(*n->vn_chain));
	n->vn_rxbuf = malloc(VNET_RXBUF_SIZE);
	n->vn_held = calloc(VNET_RX_HELD, sizeof(*n->vn_held));
	if (n->vn_resume_efd < 0) {
		int e = errno;

		vnet_destroy(n);
		snprintf(err, errlen, "virtio-net: eventfd: %s", strerror(e));
		return NULL;
	}
	if (!n->vn_chain || !n->vn_rxbuf || !n->vn_held)
		goto err_destroy;
	return n;

err_destroy:
	vnet_destroy(n);
err_nomem:
	snprintf(err, errlen, "virtio-net: out of memory");
	return NULL;
}

const struct virtio_dev_ops vnet_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.nr_queues = 2,
	.max_queue_size = VNET_QUEUE_SIZE,
	.config_size = VNET_CONFIG_SIZE,
	.features = vnet_features,
	.set_features = vnet_set_features,
	.config_read = vnet_config_read,
	.config_write = vnet_config_write,
	.activate = vnet_activate,
	.queue_notify = vnet_queue_notify,
	.reset = vnet_reset,
	.destroy = vnet_destroy,
};
