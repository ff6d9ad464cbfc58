// SPDX-License-Identifier: MIT
/*
 * virtio_net.c: virtio-net over a TAP fd (prefix vnet_); see virtio_net.h
 * for the data path. One receive and one transmit queue, served on the
 * event-loop thread under vn_lock; activate/reset (vCPU thread) take the same
 * lock. Frames the guest or the tap get wrong are dropped and counted.
 */
#include "devices/virtio/virtio_net.h"

#include <endian.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <linux/virtio_ids.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#define VNET_RX_BUDGET 64     /* frames per poll completion before polling again */
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
	struct vnet_held *vn_held;  /* ring of VNET_RX_HELD */
	unsigned vn_held_first, vn_held_nr;
	uint64_t vn_held_cap;       /* bytes in all held chains */
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

int vnet_tx_hdr_check(const struct virtio_net_hdr_v1 *h, uint32_t len, uint64_t acked)
{
	uint8_t gso = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	uint32_t start = le16toh(h->csum_start), off = le16toh(h->csum_offset);

	if (len < VNET_MIN_FRAME || len > VNET_MAX_FRAME)
		return -EINVAL;
	/* DATA_VALID means nothing on transmit (virtio 1.2 §5.1.6.2.1): allowed, ignored */
	if (h->flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
		return -EINVAL;
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!(acked & F(VIRTIO_NET_F_CSUM)) || start + off + 2 > len)
			return -EINVAL;
	}
	if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return 0;
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !(acked & F(VIRTIO_NET_F_HOST_ECN)))
		return -EINVAL;
	if (gso == VIRTIO_NET_HDR_GSO_TCPV4 && !(acked & F(VIRTIO_NET_F_HOST_TSO4)))
		return -EINVAL;
	if (gso == VIRTIO_NET_HDR_GSO_TCPV6 && !(acked & F(VIRTIO_NET_F_HOST_TSO6)))
		return -EINVAL;
	if (gso != VIRTIO_NET_HDR_GSO_TCPV4 && gso != VIRTIO_NET_HDR_GSO_TCPV6)
		return -EINVAL; /* UDP (UFO) is not offered */
	/* virtio 1.2 §5.1.6.2: GSO needs a partial checksum and a segment size */
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || !le16toh(h->gso_size) ||
	    le16toh(h->hdr_len) > len)
		return -EINVAL;
	return 0;
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

/* ---- transmit ---------------------------------------------------------- */

/* Send chain (c) to the tap, or drop it. Guest: the whole chain. */
static void tx_one_locked(struct vnet *n, const struct vq_chain *c)
{
	struct virtio_net_hdr_v1 hdr;
	struct iovec iov[VNET_TX_IOV];
	struct iov_cur cur;
	uint32_t len;
	int nr;

	iov_cur_init(&cur, c->seg, c->nr_ro);
	/* single fetch: the header is copied out, checked, and the copy is sent */
	if (c->ro_len < VNET_HDR_LEN || iov_cur_copy_out(&cur, &hdr, sizeof(hdr)))
		goto bad;
	len = c->ro_len - VNET_HDR_LEN;
	if (vnet_tx_hdr_check(&hdr, len, n->vn_acked))
		goto bad;
	hdr.num_buffers = 0;
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
	log_guest_ratelimited("virtio-net %s: dropped a bad transmit frame (%u bytes)", n->vn_name,
			      c->ro_len);
}

/* Send everything posted, following virtq.h's loop. Return: false on a broken ring. */
static bool tx_run_locked(struct vnet *n)
{
	struct virtq *vq = n->vn_txq;
	bool pushed = false;
	int r;

	virtq_disable_notify(vq);
	for (;;) {
		while ((r = virtq_pop(vq, n->vn_chain)) == 1) {
			tx_one_locked(n, n->vn_chain);
			virtq_push(vq, n->vn_chain->head, 0);
			pushed = true;
		}
		if (r < 0 || !virtq_enable_notify(vq))
			break;
	}
	if (pushed)
		virtio_notify(n->vn_t, VNET_TXQ);
	return r >= 0;
}

/* ---- receive ----------------------------------------------------------- */

static struct vnet_held *held_at(struct vnet *n, unsigned i)
{
	return &n->vn_held[(n->vn_held_first + i) % VNET_RX_HELD];
}

/*
 * Pop one receive chain into the held ring. Return: 1 popped (possibly
 * rejected and pushed back empty), 0 none available, -EBADMSG broken ring.
 */
static int rx_pop_locked(struct vnet *n)
{
	const struct vq_chain *c = n->vn_chain;
	struct vnet_held *h;
	int r = virtq_pop(n->vn_rxq, n->vn_chain);

	if (r <= 0)
		return r;
	h = held_at(n, n->vn_held_nr);
	h->head = c->head;
	h->nr = 0;
	h->cap = 0;
	for (unsigned i = c->nr_ro; i < (unsigned)c->nr_ro + c->nr_wo && h->nr < VNET_RX_SEGS; i++) {
		if (!c->seg[i].iov_len)
			continue;
		h->iov[h->nr++] = c->seg[i];
		h->cap += (uint32_t)c->seg[i].iov_len;
	}
	if (h->cap < VNET_HDR_LEN) {
		/* virtio 1.2 §5.1.6.3.1: every buffer holds at least a header */
		n->vn_stats.rx_bad_bufs++;
		log_guest_ratelimited("virtio-net %s: receive buffer of %u bytes", n->vn_name,
				      h->cap);
		virtq_push(n->vn_rxq, c->head, 0);
		return 1;
	}
	n->vn_held_nr++;
	n->vn_held_cap += h->cap;
	return 1;
}

/* Copy (len) bytes of the pending frame into the first held chains and push them. */
static void rx_copy_locked(struct vnet *n, size_t len, unsigned nbufs)
{
	const uint8_t *src = n->vn_rxbuf;

	for (unsigned b = 0; b < nbufs; b++) {
		struct vnet_held *h = held_at(n, 0);
		uint32_t done = 0;

		for (unsigned i = 0; i < h->nr && len; i++) {
			size_t k = MIN(len, h->iov[i].iov_len);

			memcpy(h->iov[i].iov_base, src, k);
			src += k;
			len -= k;
			done += (uint32_t)k;
		}
		virtq_push(n->vn_rxq, h->head, done);
		n->vn_held_cap -= h->cap;
		n->vn_held_first = (n->vn_held_first + 1) % VNET_RX_HELD;
		n->vn_held_nr--;
	}
}

/*
 * Deliver the pending frame. Return: 1 delivered or dropped; 0 no guest
 * buffers (stay pending until a kick); -EBADMSG broken ring.
 */
static int rx_deliver_locked(struct vnet *n)
{
	bool mrg = n->vn_acked & F(VIRTIO_NET_F_MRG_RXBUF);
	size_t len = n->vn_rx_len;
	unsigned nbufs;
	uint16_t le;
	int r;

	while (mrg ? n->vn_held_cap < len : n->vn_held_nr == 0) {
		r = rx_pop_locked(n);
		if (r < 0)
			return r;
		if (r == 1)
			continue;
		/* the guest's whole ring is held and still too little: never fits */
		if (n->vn_held_nr >= n->vn_rxq->vq_size)
			goto drop;
		if (!virtq_enable_notify(n->vn_rxq))
			return n->vn_rxq->vq_broken ? -EBADMSG : 0;
	}
	if (!mrg && held_at(n, 0)->cap < len)
		goto drop; /* frame bigger than the buffer: keep the buffer, drop the frame */
	nbufs = 1;
	if (mrg) {
		uint64_t cap = 0;

		for (nbufs = 0; cap < len; nbufs++)
			cap += held_at(n, nbufs)->cap;
	}
	le = htole16((uint16_t)nbufs);
	memcpy(n->vn_rxbuf + VNET_NUM_BUFFERS_OFF, &le, sizeof(le));
	rx_copy_locked(n, len, nbufs);
	n->vn_stats.rx_frames++;
	n->vn_stats.rx_bytes += len - VNET_HDR_LEN;
	n->vn_rx_len = 0;
	return 1;
drop:
	n->vn_stats.rx_dropped++;
	log_guest_ratelimited("virtio-net %s: no guest buffer fits a %zu-byte frame", n->vn_name,
			      len);
	n->vn_rx_len = 0;
	return 1;
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

/* Read frames from the tap and deliver them. Return: false on a broken ring. */
static bool rx_run_locked(struct vnet *n)
{
	bool pushed = false, ok = true, tap_err = false;
	unsigned budget = VNET_RX_BUDGET;

	n->vn_rx_stalled = false;
	while (budget--) {
		if (!n->vn_rx_len) {
			ssize_t r = read(n->vn_fd, n->vn_rxbuf, VNET_RXBUF_SIZE);

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				/* e.g. the tap was deleted: poll again at the next kick, not in a loop */
				tap_err = errno != EAGAIN;
				if (tap_err)
					tap_warn_once(n, "read", errno);
				if (tap_err)
					log_guest_ratelimited("virtio-net %s: tap read: %s",
							      n->vn_name, strerror(errno));
				break;
			}
			if (r <= VNET_HDR_LEN || r > VNET_HDR_LEN + VNET_MAX_FRAME) {
				n->vn_stats.rx_dropped++;
				continue;
			}
			n->vn_rx_len = (size_t)r;
		}
		int d = rx_deliver_locked(n);
		if (d < 0) {
			ok = false;
			break;
		}
		if (d == 0) {
			n->vn_rx_stalled = true;
			break;
		}
		pushed = true;
	}
	if (pushed)
		virtio_notify(n->vn_t, VNET_RXQ);
	if (ok && !n->vn_rx_stalled && !tap_err)
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

void vnet_rx_ready(void *dev)
{
	struct vnet *n = dev;
	const char *fail = NULL;

	pthread_mutex_lock(&n->vn_lock);
	if (n->vn_active && n->vn_rxq && !n->vn_rxq->vq_broken)
		fail = take_fail_locked(n, rx_run_locked(n));
	pthread_mutex_unlock(&n->vn_lock);
	if (fail)
		virtio_dev_fail(n->vn_t, fail);
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

/* queue_notify - the driver kicked (qidx). Context: loop thread. */
static void vnet_queue_notify(void *dev, uint16_t qidx)
{
	struct vnet *n = dev;
	const char *fail = NULL;

	pthread_mutex_lock(&n->vn_lock);
	if (n->vn_active && qidx == VNET_TXQ && n->vn_txq && !n->vn_txq->vq_broken)
		fail = take_fail_locked(n, tx_run_locked(n));
	else if (n->vn_active && qidx == VNET_RXQ && n->vn_rxq && !n->vn_rxq->vq_broken)
		fail = take_fail_locked(n, rx_run_locked(n)); /* new buffers: read on */
	pthread_mutex_unlock(&n->vn_lock);
	/* the transport's lock is taken here: never with ours held */
	if (fail)
		virtio_dev_fail(n->vn_t, fail);
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
	n->vn_fail_why = NULL;
	n->vn_active = true;
	pthread_mutex_unlock(&n->vn_lock);
	return 0;
}

/*
 * reset - forget the queues and held chains (they belong to the old driver)
 * and any pending frame (read under the old offloads). The tap poll may still
 * be armed; it touches no guest memory and its completion finds us inactive.
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
