// SPDX-License-Identifier: MIT
/*
 * virtio_net.c: virtio-net over TAP fds, one per queue pair (prefix vnet_);
 * see virtio_net.h for the data path and vnet_int.h for the state. Each
 * pair's receive and transmit queue are served on the event-loop thread under
 * vn_lock; activate/reset (vCPU thread) take the same lock. Frames the guest
 * or the tap get wrong are dropped and counted. The control queue and the
 * pairs in use are in vnet_ctrl.c, the header rules in vnet_hdr.c.
 *
 * Over 600 lines: the bounded receive path with its held chains and per-pass
 * budget, per queue pair, guards against a hostile driver and is kept whole
 * beside the transmit path and the resumption both share.
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
#include "devices/virtio/vnet_int.h"
#include "vmm/log.h"

#define VNET_CONFIG_SIZE offsetof(struct virtio_net_config, mtu) /* mac, status, max pairs */
_Static_assert(VNET_CONFIG_SIZE == 10, "virtio 1.2 §5.1.4");
#define VNET_RXBUF_SIZE (VNET_HDR_LEN + VNET_MAX_FRAME + 1) /* +1: see oversize frames */
#define VNET_TX_IOV 64        /* header copy + payload segments per frame */
#define VNET_NUM_BUFFERS_OFF offsetof(struct virtio_net_hdr_v1, num_buffers)
#define VNET_RX_DIRECT_IOV 1024 /* IOV_MAX: segments of one direct read */

#define F(x) (1ULL << (x))

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

/* The receive offloads apply to the whole tap: set through pair 0's queue. */
static void vnet_set_offloads(struct vnet *n, unsigned o)
{
	if (!n->vn_tap || ioctl(n->vn_pairs[0].pr_fd, TUNSETOFFLOAD, (unsigned long)o) == 0)
		return;
	if (errno == EBADFD) /* the tap was deleted: said once, not at every driver reset */
		tap_warn_once(n, "TUNSETOFFLOAD", errno);
	else
		log_warn("virtio-net %s: TUNSETOFFLOAD %#x: %s", n->vn_name, o, strerror(errno));
}

/* ---- per-pass budget and resumption ------------------------------------ */

static void resume_done_cb(void *opaque, int res);

/*
 * Ask for another pass at the event loop's next turn: a one-shot poll on
 * vn_resume_efd, which is always readable, so its completion comes in the
 * same batch as the other fds' events and each gets its turn (evloop.h: the
 * loop submits, then runs every completion).
 */
bool vnet_resume_locked(struct vnet *n, struct vnet_pair *p, unsigned what)
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
	if (p)
		p->pr_resume |= what;
	else
		n->vn_resume_ctrl = true;
	n->vn_stats.passes_deferred++;
	return true;
}

/* ---- transmit ---------------------------------------------------------- */

/* Send chain (c) to pair (p)'s tap queue, or drop it. Guest: the whole chain. */
static void tx_one_locked(struct vnet *n, struct vnet_pair *p, const struct vq_chain *c)
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
	if (n->vn_stream) {
		if (vnet_stream_write_locked(n, p, iov, nr, len))
			return;
		goto sent;
	}
	iov[0] = (struct iovec){ .iov_base = &hdr, .iov_len = sizeof(hdr) };
	ssize_t w = writev(p->pr_fd, iov, nr + 1);
	if (w < 0) {
		/* a tap that is down says EIO; a full one drops by itself */
		n->vn_stats.tx_errors++;
		tap_warn_once(n, "write", errno);
		log_guest_ratelimited("virtio-net %s: tap write: %s", n->vn_name, strerror(errno));
		return;
	}
sent:
	n->vn_stats.tx_frames++;
	n->vn_stats.pair_tx_frames[p->pr_idx]++;
	n->vn_stats.tx_bytes += len;
	return;
bad:
	n->vn_stats.tx_bad++;
	log_guest_ratelimited("virtio-net %s: dropped a bad transmit frame (%u bytes): %s",
			      n->vn_name, c->ro_len, why);
}

/*
 * Send what is posted on (p)'s transmit queue, following virtq.h's loop, at
 * most one pass's budget; the rest is resumed on the loop.
 * Return: false on a broken ring.
 */
static bool tx_run_locked(struct vnet *n, struct vnet_pair *p)
{
	struct virtq *vq = p->pr_txq;
	struct vnet_pass ps = { 0 };
	int r = 0;

	/* a stream socket still busy with a frame: its POLLOUT poll runs this again */
	if (n->vn_stream && !vnet_stream_writable_locked(n, p))
		return true;
	virtq_disable_notify(vq);
	for (;;) {
		while (!vnet_pass_spent(&ps) && !p->pr_tp_len &&
		       (r = virtq_pop(vq, n->vn_chain)) == 1) {
			ps.chains++;
			ps.bytes += n->vn_chain->ro_len;
			tx_one_locked(n, p, n->vn_chain);
			virtq_push(vq, n->vn_chain->head, 0);
			ps.pushed = true;
		}
		if (r < 0 || p->pr_tp_len)
			break; /* broken, or waiting for the socket with notifications off */
		if (vnet_pass_spent(&ps)) {
			/* notifications stay off: the resumed pass turns them back on */
			if (vnet_resume_locked(n, p, VNET_RESUME_TX))
				break;
			ps.chains = 0; /* cannot yield: go on rather than strand the queue */
			ps.bytes = 0;
			continue;
		}
		if (!virtq_enable_notify(vq))
			break;
	}
	if (ps.pushed)
		virtio_notify(n->vn_t, (uint16_t)(2 * p->pr_idx + 1));
	return r >= 0;
}

/* ---- receive ----------------------------------------------------------- */

/* Outcomes of rx_deliver_locked() besides -EBADMSG. */
enum { RX_STALLED = 0, RX_DONE = 1, RX_LATER = 2 };

static struct vnet_held *held_at(struct vnet_pair *p, unsigned i)
{
	return &p->pr_held[(p->pr_held_first + i) % VNET_RX_HELD];
}

/*
 * Pop one receive chain of (p) into the held ring, whose free slot it fills.
 * A chain that cannot hold a header is pushed back empty and not held.
 * Return: 1 popped (held or given back), 0 none available, -EBADMSG broken ring.
 */
static int rx_pop_locked(struct vnet *n, struct vnet_pair *p, struct vnet_pass *ps)
{
	const struct vq_chain *c = n->vn_chain;
	struct vnet_held *h;
	int r;

	/* the caller pops only below the queue size, which the transport caps */
	assert(p->pr_held_nr < p->pr_rxq->vq_size && p->pr_rxq->vq_size <= VNET_RX_HELD);
	r = virtq_pop(p->pr_rxq, n->vn_chain);
	if (r <= 0)
		return r;
	ps->chains++;
	h = held_at(p, p->pr_held_nr);
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
		virtq_push(p->pr_rxq, c->head, 0);
		ps->pushed = true;
		return 1;
	}
	p->pr_held_nr++;
	p->pr_held_cap += h->cap;
	return 1;
}

/* Push the oldest held chain of (p) with (written) bytes and forget it. */
static void held_push_first_locked(struct vnet_pair *p, uint32_t written)
{
	struct vnet_held *h = held_at(p, 0);

	assert(p->pr_held_nr > 0 && p->pr_held_cap >= h->cap);
	virtq_push(p->pr_rxq, h->head, written);
	p->pr_held_cap -= h->cap;
	p->pr_held_first = (p->pr_held_first + 1) % VNET_RX_HELD;
	p->pr_held_nr--;
}

/* Copy (len) bytes of (p)'s pending frame into its first (nbufs) held chains and push them. */
static void rx_copy_locked(struct vnet_pair *p, size_t len, unsigned nbufs)
{
	const uint8_t *src = p->pr_rxbuf;

	for (unsigned b = 0; b < nbufs; b++) {
		const struct vnet_held *h = held_at(p, 0);
		uint32_t done = 0;

		for (unsigned i = 0; i < h->nr && len; i++) {
			size_t k = MIN(len, h->iov[i].iov_len);

			memcpy(h->iov[i].iov_base, src, k);
			src += k;
			len -= k;
			done += (uint32_t)k;
		}
		held_push_first_locked(p, done);
	}
}

/*
 * Drop (p)'s pending frame; with (give_back), also push every held chain
 * back with used length 0 (the frame needed more than the whole ring).
 */
static int rx_drop_locked(struct vnet *n, struct vnet_pair *p, bool give_back,
			  struct vnet_pass *ps)
{
	unsigned nr = p->pr_held_nr;

	while (give_back && p->pr_held_nr)
		held_push_first_locked(p, 0);
	ps->pushed |= give_back && nr;
	assert(!give_back || p->pr_held_cap == 0);
	n->vn_stats.rx_dropped++;
	log_guest_ratelimited("virtio-net %s: no guest buffer fits a %zu-byte frame%s", n->vn_name,
			      p->pr_rx_len, give_back ? ": buffers returned empty" : "");
	p->pr_rx_len = 0;
	return RX_DONE;
}

/* How many held chains of (p), oldest first, a frame of (len) bytes fills (<= pr_held_cap). */
static unsigned held_bufs_for(struct vnet_pair *p, uint64_t len)
{
	uint64_t cap = 0;
	unsigned nbufs;

	for (nbufs = 0; cap < len; nbufs++) {
		assert(nbufs < p->pr_held_nr);
		cap += held_at(p, nbufs)->cap;
	}
	return nbufs;
}

/* Count a frame of (len) bytes (vnet header included) pushed to (p)'s receive queue. */
static void rx_count_locked(struct vnet *n, struct vnet_pair *p, struct vnet_pass *ps, size_t len)
{
	ps->pushed = true;
	ps->bytes += len;
	n->vn_stats.rx_frames++;
	n->vn_stats.pair_rx_frames[p->pr_idx]++;
	n->vn_stats.rx_bytes += len - VNET_HDR_LEN;
}

/*
 * Deliver (p)'s pending frame, within pass (ps). Return: RX_DONE delivered or
 * dropped; RX_STALLED no guest buffers (stay pending until a kick); RX_LATER
 * the pass is spent (resume); -EBADMSG broken ring. Work: one pop per chain
 * taken, at most the queue size of them held; the copy touches only the
 * chains the frame uses.
 */
static int rx_deliver_locked(struct vnet *n, struct vnet_pair *p, struct vnet_pass *ps)
{
	bool mrg = n->vn_acked & F(VIRTIO_NET_F_MRG_RXBUF);
	size_t len = p->pr_rx_len;
	unsigned nbufs;
	uint16_t le;
	int r;

	while (mrg ? p->pr_held_cap < len : p->pr_held_nr == 0) {
		/* the whole ring is held and still too little: it never fits */
		if (p->pr_held_nr >= p->pr_rxq->vq_size)
			return rx_drop_locked(n, p, true, ps);
		if (vnet_pass_spent(ps))
			return RX_LATER;
		r = rx_pop_locked(n, p, ps);
		if (r < 0)
			return r;
		if (r == 0 && !virtq_enable_notify(p->pr_rxq))
			return p->pr_rxq->vq_broken ? -EBADMSG : RX_STALLED;
	}
	if (!mrg && held_at(p, 0)->cap < len)
		return rx_drop_locked(n, p, false, ps); /* bigger than the buffer: keep the buffer */
	/* with MRG_RXBUF held_cap >= len: the frame ends within the held chains */
	nbufs = mrg ? held_bufs_for(p, len) : 1;
	le = htole16((uint16_t)nbufs);
	memcpy(p->pr_rxbuf + VNET_NUM_BUFFERS_OFF, &le, sizeof(le));
	rx_copy_locked(p, len, nbufs);
	rx_count_locked(n, p, ps, len);
	p->pr_rx_len = 0;
	return RX_DONE;
}

static void rx_poll_done_cb(void *opaque, int res);

/* Ask the loop to call back when (p)'s tap queue is readable (once). */
static void rx_arm_locked(struct vnet *n, struct vnet_pair *p)
{
	struct io_uring_sqe *sqe;

	if (p->pr_rx_armed || !n->vn_evl || n->vn_evl->stopping)
		return;
	sqe = evl_get_sqe(n->vn_evl, &p->pr_rx_op);
	if (!sqe) {
		io_uring_submit(&n->vn_evl->ring); /* loop thread: make room */
		sqe = evl_get_sqe(n->vn_evl, &p->pr_rx_op);
		if (!sqe)
			return; /* the next kick of either queue tries again */
	}
	io_uring_prep_poll_add(sqe, p->pr_fd, POLLIN);
	p->pr_rx_armed = true;
}

/*
 * readv() of (p)'s tap queue, EINTR retried; a failure other than EAGAIN is
 * told (once loudly, then rate-limited). Return: bytes read, or -errno.
 */
static ssize_t tap_readv_locked(struct vnet *n, struct vnet_pair *p, const struct iovec *iov,
				int nr)
{
	ssize_t r;
	int e;

	do
		r = readv(p->pr_fd, iov, nr);
	while (r < 0 && errno == EINTR);
	if (r >= 0)
		return r;
	e = errno;
	if (e != EAGAIN) {
		tap_warn_once(n, "read", e);
		log_guest_ratelimited("virtio-net %s: tap read: %s", n->vn_name, strerror(e));
	}
	return -e;
}

/* A read of (r) bytes from the tap is a frame: a header, a payload, not oversize. */
static bool tap_frame_len_ok(ssize_t r)
{
	return r > VNET_HDR_LEN && r <= VNET_HDR_LEN + VNET_MAX_FRAME;
}

/* Read the next frame from (p)'s tap queue. Return: 1 got one, 0 none, -1 tap error. */
static int rx_read_locked(struct vnet *n, struct vnet_pair *p)
{
	const struct iovec iov = { .iov_base = p->pr_rxbuf, .iov_len = VNET_RXBUF_SIZE };
	ssize_t r;

	if (n->vn_stream)
		return vnet_stream_read_locked(n, p);
	r = tap_readv_locked(n, p, &iov, 1);
	if (r == -EAGAIN)
		return 0;
	if (r < 0)
		return -1; /* e.g. the tap was deleted: poll again at the next kick, not in a loop */
	if (!tap_frame_len_ok(r)) {
		n->vn_stats.rx_dropped++;
		return 1; /* nothing pending: the caller reads on */
	}
	p->pr_rx_len = (size_t)r;
	return 1;
}

/* Outcomes of rx_direct_locked(). */
enum { RXD_FALLBACK, RXD_DONE, RXD_EMPTY, RXD_TAP_ERR, RXD_BROKEN };

/*
 * Read the next frame of (p)'s tap straight into the held chains (MRG_RXBUF,
 * a tap): one copy, where the bounce buffer costs two. Only once the held
 * chains can take the largest frame (popping more first: at most the ring's
 * worth, outside the pass budget, which counts what frames use), so the tap
 * never truncates one; RXD_FALLBACK otherwise, and the caller reads into the
 * bounce buffer as before, for the rest of the pass. The frame's header
 * lands in guest memory as the tap wrote it; num_buffers is then written
 * over it. A bad frame (no payload, or oversize: the read filled
 * VNET_RXBUF_SIZE) is dropped and its chains stay held, unpushed.
 */
static int rx_direct_locked(struct vnet *n, struct vnet_pair *p, struct vnet_pass *ps)
{
	struct iovec iov[VNET_RX_DIRECT_IOV];
	unsigned nio = 0, nch, nbufs;
	uint64_t cap = 0;
	struct iov_cur cur;
	uint16_t le;
	ssize_t r;
	bool bad;

	if (n->vn_stream || !(n->vn_acked & F(VIRTIO_NET_F_MRG_RXBUF)))
		return RXD_FALLBACK;
	while (p->pr_held_cap < VNET_RXBUF_SIZE) {
		/* bounded by the ring, not the pass: the pass counts frames' chains */
		struct vnet_pass pre = { 0 };
		int g;

		if (p->pr_held_nr >= p->pr_rxq->vq_size)
			return RXD_FALLBACK;
		g = rx_pop_locked(n, p, &pre);
		ps->pushed |= pre.pushed;
		if (g < 0)
			return RXD_BROKEN;
		if (g == 0)
			return RXD_FALLBACK; /* not posted (yet): the bounce path waits for it */
	}
	for (nch = 0; cap < VNET_RXBUF_SIZE; nch++) {
		const struct vnet_held *h = held_at(p, nch);

		if (nio + h->nr > VNET_RX_DIRECT_IOV)
			return RXD_FALLBACK; /* chains of many small segments */
		memcpy(&iov[nio], h->iov, h->nr * sizeof(*iov));
		nio += h->nr;
		cap += h->cap;
	}
	r = tap_readv_locked(n, p, iov, (int)nio);
	if (r < 0)
		return r == -EAGAIN ? RXD_EMPTY : RXD_TAP_ERR;
	if (!tap_frame_len_ok(r)) {
		n->vn_stats.rx_dropped++;
		return RXD_DONE;
	}
	nbufs = held_bufs_for(p, (uint64_t)r);
	le = htole16((uint16_t)nbufs);
	/* the first chain holds at least a header (rx_pop_locked): both succeed */
	iov_cur_init(&cur, held_at(p, 0)->iov, held_at(p, 0)->nr);
	bad = iov_cur_skip(&cur, VNET_NUM_BUFFERS_OFF) || iov_cur_copy_in(&cur, &le, sizeof(le));
	assert(!bad);
	(void)bad;
	for (size_t left = (size_t)r; nbufs--;) {
		uint32_t k = (uint32_t)MIN(left, held_at(p, 0)->cap);

		held_push_first_locked(p, k);
		left -= k;
	}
	rx_count_locked(n, p, ps, (size_t)r);
	n->vn_stats.rx_direct++;
	return RXD_DONE;
}

/*
 * Read frames from (p)'s tap queue and deliver them, one pass: at most
 * VNET_RX_PASS_FRAMES frames and the pass budget. A frame still pending when
 * the budget runs out is resumed on the loop; otherwise the tap is polled.
 * Return: false on a broken ring.
 */
static bool rx_run_locked(struct vnet *n, struct vnet_pair *p)
{
	struct vnet_pass ps = { 0 };
	unsigned frames = VNET_RX_PASS_FRAMES;
	bool ok = true, tap_err = false, direct = true;

	p->pr_rx_stalled = false;
	while (!vnet_pass_spent(&ps)) {
		if (!p->pr_rx_len && frames) {
			int g = direct ? rx_direct_locked(n, p, &ps) : RXD_FALLBACK;

			direct = g != RXD_FALLBACK; /* tried once per pass */
			if (g == RXD_DONE) {
				frames--;
				continue;
			}
			if (g == RXD_BROKEN) {
				ok = false;
				break;
			}
			if (g == RXD_EMPTY || g == RXD_TAP_ERR) {
				tap_err = g == RXD_TAP_ERR;
				break;
			}
		}
		if (!p->pr_rx_len) {
			int g = frames ? rx_read_locked(n, p) : 0;

			if (g <= 0) {
				tap_err = g < 0;
				break;
			}
			frames--;
			if (!p->pr_rx_len)
				continue; /* a bad frame from the tap, dropped */
		}
		int d = rx_deliver_locked(n, p, &ps);
		if (d < 0) {
			ok = false;
			break;
		}
		if (d == RX_STALLED) {
			p->pr_rx_stalled = true;
			break;
		}
		if (d == RX_LATER)
			break;
	}
	if (ps.pushed)
		virtio_notify(n->vn_t, (uint16_t)(2 * p->pr_idx));
	if (!ok || p->pr_rx_stalled)
		return ok;
	/*
	 * A frame left over (budget spent) waits on no fd: resume. Otherwise,
	 * or with no SQE to resume with (the ring is full: the next tap event
	 * or kick goes on), the tap says when.
	 */
	if (p->pr_rx_len && vnet_resume_locked(n, p, VNET_RESUME_RX))
		return ok;
	/* frames read into a stream buffer wait on no fd either */
	if (n->vn_stream && !frames && !tap_err && vnet_resume_locked(n, p, VNET_RESUME_RX))
		return ok;
	if (!tap_err)
		rx_arm_locked(n, p);
	return ok;
}

/* ---- dispatch ---------------------------------------------------------- */

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

/* One pass over (p)'s queues (what: VNET_RESUME_*) if in use. Return: a failure owed, or NULL. */
const char *vnet_run_pair_locked(struct vnet *n, struct vnet_pair *p, unsigned what)
{
	const char *fail = NULL;

	if (!vnet_pair_in_use(n, p))
		return NULL;
	/* transmit first: it frees guest buffers fastest */
	if ((what & VNET_RESUME_TX) && p->pr_txq && !p->pr_txq->vq_broken)
		fail = take_fail_locked(n, tx_run_locked(n, p));
	if (!fail && (what & VNET_RESUME_RX) && p->pr_rxq && !p->pr_rxq->vq_broken)
		fail = take_fail_locked(n, rx_run_locked(n, p));
	return fail;
}

/* A control pass, then both passes of each pair it put in use. */
static const char *run_ctrl_locked(struct vnet *n)
{
	const char *fail;

	if (n->vn_ctrlq->vq_broken)
		return NULL;
	fail = take_fail_locked(n, vnet_ctrl_run_locked(n));
	for (uint16_t i = 0; i < n->vn_nr_pairs; i++) {
		struct vnet_pair *p = &n->vn_pairs[i];

		if (!p->pr_start)
			continue;
		p->pr_start = false;
		if (!fail)
			fail = vnet_run_pair_locked(n, p, VNET_RESUME_TX | VNET_RESUME_RX);
	}
	return fail;
}

/*
 * One pass over queue (qidx) if the device is active and the queue has a
 * role: the control queue, or a queue of a pair in use (virtio_net.h). A kick
 * on any other queue is counted and ignored. Return: a failure owed, or NULL.
 */
static const char *run_queue_locked(struct vnet *n, uint16_t qidx)
{
	struct vnet_pair *p;

	if (!n->vn_active)
		return NULL;
	if (n->vn_ctrlq && qidx == n->vn_ctrl_qidx)
		return run_ctrl_locked(n);
	p = qidx / 2 < n->vn_nr_pairs ? &n->vn_pairs[qidx / 2] : NULL;
	if (!p || !vnet_pair_in_use(n, p) || !(qidx % 2 ? p->pr_txq : p->pr_rxq)) {
		n->vn_stats.kicks_ignored++;
		return NULL;
	}
	return vnet_run_pair_locked(n, p, qidx % 2 ? VNET_RESUME_TX : VNET_RESUME_RX);
}

/*
 * Drop vn_lock, then report (fail) if set and raise a config interrupt owed:
 * virtio_dev_fail() and virtio_config_changed() take the transport's lock,
 * never with ours held. The transport pointer is read before unlocking:
 * activate() writes it on a vCPU thread.
 */
void vnet_unlock_and_act(struct vnet *n, const char *fail)
{
	struct vpci *t = n->vn_t;
	bool changed = n->vn_link_changed;

	n->vn_link_changed = false;
	pthread_mutex_unlock(&n->vn_lock);
	if (fail)
		virtio_dev_fail(t, fail);
	if (changed)
		virtio_config_changed(t);
}

void vnet_rx_ready(void *dev)
{
	struct vnet *n = dev;
	const char *fail = NULL;

	pthread_mutex_lock(&n->vn_lock);
	for (uint16_t i = 0; i < n->vn_nr_pairs && !fail; i++)
		fail = vnet_run_pair_locked(n, &n->vn_pairs[i], VNET_RESUME_RX);
	vnet_unlock_and_act(n, fail);
}

/* A pair's tap poll fired (or was cancelled). Context: loop thread. */
static void rx_poll_done_cb(void *opaque, int res)
{
	struct vnet_pair *p = opaque;
	struct vnet *n = p->pr_n;

	pthread_mutex_lock(&n->vn_lock);
	p->pr_rx_armed = false;
	/*
	 * Cancelled at teardown, or a pair no longer in use (a frame queued
	 * before its tap queue was detached): nothing read, not re-armed until
	 * the pair is in use again.
	 */
	vnet_unlock_and_act(n, res < 0 ? NULL : vnet_run_pair_locked(n, p, VNET_RESUME_RX));
}

/*
 * The resumption poll completed: run the passes owed (control first: it may
 * put pairs in use). Cancelled or at teardown: nothing. Context: loop thread.
 */
static void resume_done_cb(void *opaque, int res)
{
	struct vnet *n = opaque;
	unsigned what[VNET_MAX_PAIRS];
	const char *fail = NULL;
	bool ctrl;

	pthread_mutex_lock(&n->vn_lock);
	n->vn_resume_armed = false;
	ctrl = n->vn_resume_ctrl;
	n->vn_resume_ctrl = false;
	for (uint16_t i = 0; i < n->vn_nr_pairs; i++) {
		what[i] = n->vn_pairs[i].pr_resume;
		n->vn_pairs[i].pr_resume = 0; /* a pass that runs out again owes anew */
	}
	if (res >= 0 && n->vn_evl && !n->vn_evl->stopping) {
		if (ctrl && n->vn_active && n->vn_ctrlq)
			fail = run_ctrl_locked(n);
		for (uint16_t i = 0; i < n->vn_nr_pairs && !fail; i++)
			fail = vnet_run_pair_locked(n, &n->vn_pairs[i], what[i]);
	}
	vnet_unlock_and_act(n, fail);
}

/* queue_notify - the driver kicked (qidx). Context: loop thread. */
static void vnet_queue_notify(void *dev, uint16_t qidx)
{
	struct vnet *n = dev;

	pthread_mutex_lock(&n->vn_lock);
	vnet_unlock_and_act(n, run_queue_locked(n, qidx)); /* receive: new buffers, read on */
}

/* ---- lifecycle ---------------------------------------------------------- */

/* Queue (qidx) of (act) if the driver enabled it, else NULL. */
static struct virtq *act_queue(const struct virtio_activation *act, unsigned qidx)
{
	return qidx < act->nr_vqs && act->vqs[qidx].vq_size ? &act->vqs[qidx] : NULL;
}

/* Forget (p)'s held chains, pending frame and owed passes (they belong to the old driver). */
static void pair_forget_locked(struct vnet_pair *p)
{
	p->pr_held_first = p->pr_held_nr = 0;
	p->pr_held_cap = 0;
	p->pr_rx_len = 0;
	p->pr_rx_stalled = false;
	p->pr_resume = 0;
	p->pr_start = false;
}

/*
 * activate - give each usable pair its queues (virtio_net.h), find the
 * control queue, put pair 0 alone in use. Context: vCPU thread (DRIVER_OK).
 * A pair's tap is polled from its first receive kick.
 */
static int vnet_activate(void *dev, const struct virtio_activation *act)
{
	struct vnet *n = dev;
	bool mq = act->features & F(VIRTIO_NET_F_MQ);

	pthread_mutex_lock(&n->vn_lock);
	n->vn_t = act->transport;
	n->vn_evl = act->evl;
	n->vn_acked = act->features;
	n->vn_usable = mq ? n->vn_nr_pairs : 1;
	for (uint16_t i = 0; i < n->vn_nr_pairs; i++) {
		struct vnet_pair *p = &n->vn_pairs[i];

		p->pr_rxq = i < n->vn_usable ? act_queue(act, 2u * i) : NULL;
		p->pr_txq = i < n->vn_usable ? act_queue(act, 2u * i + 1) : NULL;
		pair_forget_locked(p);
	}
	/* virtio 1.2 §5.1.2: the control queue follows the pairs the driver may use */
	n->vn_ctrl_qidx = (uint16_t)(2 * n->vn_usable);
	n->vn_ctrlq = act->features & F(VIRTIO_NET_F_CTRL_VQ) ? act_queue(act, n->vn_ctrl_qidx)
							       : NULL;
	n->vn_active_pairs = 1; /* virtio 1.2 §5.1.6.5.5: until VQ_PAIRS_SET */
	n->vn_resume_ctrl = false;
	n->vn_fail_why = NULL;
	n->vn_active = true;
	vnet_pairs_attach_locked(n);
	pthread_mutex_unlock(&n->vn_lock);
	return 0;
}

/*
 * reset - forget the queues and held chains (they belong to the old driver),
 * any pending frame (read under the old offloads) and any pass owed. The tap
 * polls and the resumption poll may still be armed; they touch no guest
 * memory and their completions find us inactive. Tap queues are attached or
 * detached at the next activate, not here: reset also runs at teardown, on
 * the main thread, whose seccomp filter has no TUNSETQUEUE.
 * Context: vCPU thread, or the main thread at teardown.
 */
static int vnet_reset(void *dev)
{
	struct vnet *n = dev;

	pthread_mutex_lock(&n->vn_lock);
	n->vn_active = false;
	for (uint16_t i = 0; i < n->vn_nr_pairs; i++) {
		n->vn_pairs[i].pr_rxq = n->vn_pairs[i].pr_txq = NULL;
		pair_forget_locked(&n->vn_pairs[i]);
	}
	n->vn_ctrlq = NULL;
	n->vn_active_pairs = 1;
	n->vn_resume_ctrl = false;
	n->vn_acked = 0;
	vnet_set_offloads(n, 0);
	pthread_mutex_unlock(&n->vn_lock);
	return 0;
}

/* features - offered. Context: vCPU thread. */
static uint64_t vnet_features(void *dev)
{
	const struct vnet *n = dev;
	uint64_t f = F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) | F(VIRTIO_NET_F_MRG_RXBUF);

	/* a stream peer takes whole frames with their checksums, no vnet header */
	if (!n->vn_stream)
		f |= F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) |
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
	/* one pair: exactly the device of before multiqueue, no control queue */
	if (n->vn_nr_pairs > 1)
		f |= F(VIRTIO_NET_F_MQ) | F(VIRTIO_NET_F_CTRL_VQ);
	return f;
}

/*
 * set_features - refuse MQ without CTRL_VQ (virtio 1.2 §5.1.3.1: its pair
 * count is set through the control queue), apply the receive offloads to the
 * tap. Context: vCPU thread. Guest: acked.
 */
static int vnet_set_features(void *dev, uint64_t acked)
{
	struct vnet *n = dev;

	if ((acked & F(VIRTIO_NET_F_MQ)) && !(acked & F(VIRTIO_NET_F_CTRL_VQ)))
		return -EINVAL;
	pthread_mutex_lock(&n->vn_lock);
	n->vn_acked = acked;
	vnet_set_offloads(n, vnet_tun_offloads(acked) & (unsigned)n->vn_offloads);
	pthread_mutex_unlock(&n->vn_lock);
	return 0;
}

/* config_read - (off, len) checked by the transport. Context: vCPU thread. */
static void vnet_config_read(void *dev, uint32_t off, void *buf, uint32_t len)
{
	struct vnet *n = dev;

	if (off > VNET_CONFIG_SIZE || len > VNET_CONFIG_SIZE - off) {
		memset(buf, 0xff, len);
		return;
	}
	pthread_mutex_lock(&n->vn_lock); /* the status changes when a stream is lost */
	memcpy(buf, (const uint8_t *)&n->vn_cfg + off, len);
	pthread_mutex_unlock(&n->vn_lock);
}

/* config_write - the MAC is not writable in virtio 1.x (virtio 1.2 §5.1.4.2). */
static int vnet_config_write(void *dev, uint32_t off, const void *buf, uint32_t len)
{
	return 0;
}

/* What each pair moved, for -v: the one way to see the spread over pairs. */
static void log_pair_stats(const struct vnet *n)
{
	char line[VNET_MAX_PAIRS * 48];
	size_t used = 0;

	if (n->vn_nr_pairs < 2 || log_get_level() < LOG_INFO)
		return;
	line[0] = 0;
	for (uint16_t i = 0; i < n->vn_nr_pairs && used < sizeof(line); i++)
		used += (size_t)snprintf(line + used, sizeof(line) - used, "%s%u: rx %llu tx %llu",
					 i ? ", " : "", i,
					 (unsigned long long)n->vn_stats.pair_rx_frames[i],
					 (unsigned long long)n->vn_stats.pair_tx_frames[i]);
	log_info("virtio-net %s: frames per queue pair: %s; %u in use; control commands %llu ok, "
		 "%llu refused; kicks ignored %llu", n->vn_name, line, n->vn_active_pairs,
		 (unsigned long long)n->vn_stats.ctrl_ok, (unsigned long long)n->vn_stats.ctrl_err,
		 (unsigned long long)n->vn_stats.kicks_ignored);
}

static void vnet_destroy(void *dev)
{
	struct vnet *n = dev;

	if (!n)
		return;
	log_pair_stats(n);
	for (uint16_t i = 0; i < n->vn_nr_pairs; i++) {
		struct vnet_pair *p = &n->vn_pairs[i];

		if (p->pr_fd >= 0)
			close(p->pr_fd); /* a tap we created goes with its last queue */
		free(p->pr_held);
		free(p->pr_rxbuf);
		vnet_stream_free(p);
	}
	if (n->vn_resume_efd >= 0)
		close(n->vn_resume_efd);
	pthread_mutex_destroy(&n->vn_lock);
	free(n->vn_chain);
	free(n);
}

void vnet_get_stats(void *dev, struct vnet_stats *out)
{
	struct vnet *n = dev;

	pthread_mutex_lock(&n->vn_lock);
	*out = n->vn_stats;
	out->nr_pairs = n->vn_nr_pairs;
	out->active_pairs = n->vn_active_pairs;
	pthread_mutex_unlock(&n->vn_lock);
}

uint16_t vnet_nr_queues(void *dev)
{
	const struct vnet *n = dev;

	return n->vn_nr_pairs > 1 ? (uint16_t)(2 * n->vn_nr_pairs + 1) : 2;
}

/* (nr) fds of (fds) closed: vnet_create()'s promise when it fails early. */
static void close_fds(const int *fds, unsigned nr)
{
	for (unsigned i = 0; i < nr; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Pair (i) of (n) over (fd), which it owns from here. Return: false out of memory. */
static bool pair_init(struct vnet *n, uint16_t i, int fd, bool stream)
{
	struct vnet_pair *p = &n->vn_pairs[i];

	p->pr_n = n;
	p->pr_idx = i;
	p->pr_fd = fd;
	p->pr_attached = true;
	p->pr_rx_op = (struct evl_op){ .done = rx_poll_done_cb, .opaque = p };
	p->pr_rxbuf = malloc(VNET_RXBUF_SIZE);
	p->pr_held = calloc(VNET_RX_HELD, sizeof(*p->pr_held));
	return p->pr_rxbuf && p->pr_held && (!stream || vnet_stream_init(p));
}

void *vnet_create(const struct vnet_config *cfg, char *err, size_t errlen)
{
	unsigned nr = cfg->nr_pairs ? cfg->nr_pairs : 1;
	struct vnet *n;
	bool ok = true;

	if (nr > VNET_MAX_PAIRS || (cfg->stream && (nr > 1 || cfg->tap))) {
		close_fds(cfg->fds, MIN(nr, VNET_MAX_PAIRS));
		snprintf(err, errlen, "virtio-net: %u queue pairs (at most %d%s)", nr,
			 cfg->stream ? 1 : VNET_MAX_PAIRS, cfg->stream ? ", on a stream, no tap" : "");
		return NULL;
	}
	n = calloc(1, sizeof(*n) + nr * sizeof(n->vn_pairs[0]));
	if (!n) {
		close_fds(cfg->fds, nr);
		goto err_nomem;
	}
	pthread_mutex_init(&n->vn_lock, NULL);
	n->vn_nr_pairs = (uint16_t)nr;
	n->vn_active_pairs = n->vn_usable = 1;
	for (uint16_t i = 0; i < nr; i++)
		ok &= pair_init(n, i, cfg->fds[i], cfg->stream);
	/* count 1, never read: always readable, so a poll on it means "next turn" */
	n->vn_resume_efd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
	n->vn_resume_op = (struct evl_op){ .done = resume_done_cb, .opaque = n };
	n->vn_tap = cfg->tap;
	n->vn_stream = cfg->stream;
	n->vn_detach = cfg->detach && nr > 1;
	n->vn_offloads = cfg->offloads;
	snprintf(n->vn_name, sizeof(n->vn_name), "%s", cfg->name ? cfg->name : "");
	memcpy(n->vn_cfg.mac, cfg->mac, sizeof(n->vn_cfg.mac));
	n->vn_cfg.status = htole16(VIRTIO_NET_S_LINK_UP);
	n->vn_cfg.max_virtqueue_pairs = htole16((uint16_t)nr);
	n->vn_chain = malloc(sizeof(*n->vn_chain));
	if (n->vn_resume_efd < 0) {
		int e = errno;

		vnet_destroy(n);
		snprintf(err, errlen, "virtio-net: eventfd: %s", strerror(e));
		return NULL;
	}
	if (!n->vn_chain || !ok)
		goto err_destroy;
	/* not in use until the driver says so: the host kernel steers nothing there */
	vnet_pairs_attach_locked(n);
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
