// SPDX-License-Identifier: MIT
/*
 * vnet_stream.c: virtio-net's stream back end (prefix vnet_stream_): a
 * connected SOCK_STREAM socket carrying Ethernet frames each behind a 4-byte
 * big-endian length, with no vnet header: the framing of QEMU's
 * `-netdev stream` that passt speaks (vmm/net_user.c starts passt).
 *
 * The byte stream must stay in step whatever the guest does, so:
 * - receive: bytes are read in bulk into the pair's stream buffer, and whole
 *   frames are cut from it one at a time into the bounce buffer behind a
 *   zeroed vnet header. A length outside [VNET_MIN_FRAME, VNET_MAX_FRAME]
 *   means the peer broke the framing: nothing more is read.
 * - transmit: a frame the socket takes only in part is finished from a copy
 *   of its rest (the guest's chain is completed at once), and the queue waits
 *   for the socket to become writable again before the next frame.
 * Both buffers outlive a driver reset: a frame half read or half written
 * still belongs to the stream.
 *
 * The peer closing the connection (passt exited) takes the link down
 * (VIRTIO_NET_S_LINK_UP cleared, a config interrupt), said once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devices/virtio/vnet_int.h"
#include "vmm/log.h"

#define LEN_BYTES 4

/* The peer is gone, or broke the framing: link down, said once. */
static void stream_lost_locked(struct vnet *n, const char *why)
{
	if (n->vn_stream_lost)
		return;
	n->vn_stream_lost = true;
	n->vn_cfg.status = 0; /* !VIRTIO_NET_S_LINK_UP */
	n->vn_link_changed = true;
	log_warn("virtio-net %s: the network back end %s: the guest's link is down", n->vn_name,
		 why);
}

int vnet_stream_read_locked(struct vnet *n, struct vnet_pair *p)
{
	if (n->vn_stream_lost)
		return -1;
	for (;;) {
		size_t avail = p->pr_sb_len - p->pr_sb_off;

		if (avail >= LEN_BYTES) {
			uint32_t be, flen;

			memcpy(&be, p->pr_sb + p->pr_sb_off, LEN_BYTES);
			flen = ntohl(be);
			if (flen < VNET_MIN_FRAME || flen > VNET_MAX_FRAME) {
				n->vn_stats.rx_dropped++;
				stream_lost_locked(n, "sent a frame length out of range");
				return -1;
			}
			if (avail >= LEN_BYTES + flen) {
				memset(p->pr_rxbuf, 0, VNET_HDR_LEN);
				memcpy(p->pr_rxbuf + VNET_HDR_LEN, p->pr_sb + p->pr_sb_off + LEN_BYTES,
				       flen);
				p->pr_sb_off += LEN_BYTES + flen;
				p->pr_rx_len = VNET_HDR_LEN + flen;
				return 1;
			}
		}
		/* too little for the next frame: move the rest to the front, read on */
		if (p->pr_sb_off) {
			memmove(p->pr_sb, p->pr_sb + p->pr_sb_off, avail);
			p->pr_sb_len = avail;
			p->pr_sb_off = 0;
		}
		ssize_t r = read(p->pr_fd, p->pr_sb + p->pr_sb_len, VNET_STREAM_BUF - p->pr_sb_len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return 0;
		if (r <= 0) {
			stream_lost_locked(n, r == 0 ? "closed the connection" : strerror(errno));
			return -1;
		}
		p->pr_sb_len += (size_t)r;
	}
}

static void tx_poll_done_cb(void *opaque, int res);

/* Ask the loop to call back when (p)'s socket is writable (once). */
static void tx_arm_locked(struct vnet *n, struct vnet_pair *p)
{
	struct io_uring_sqe *sqe;

	if (p->pr_tx_armed || !n->vn_evl || n->vn_evl->stopping)
		return;
	sqe = evl_get_sqe(n->vn_evl, &p->pr_tx_op);
	if (!sqe) {
		io_uring_submit(&n->vn_evl->ring); /* loop thread: make room */
		sqe = evl_get_sqe(n->vn_evl, &p->pr_tx_op);
		if (!sqe)
			return; /* the next kick tries again */
	}
	io_uring_prep_poll_add(sqe, p->pr_fd, POLLOUT);
	p->pr_tx_armed = true;
}

/* The socket became writable (or the poll was cancelled). Context: loop thread. */
static void tx_poll_done_cb(void *opaque, int res)
{
	struct vnet_pair *p = opaque;
	struct vnet *n = p->pr_n;

	pthread_mutex_lock(&n->vn_lock);
	p->pr_tx_armed = false;
	vnet_unlock_and_act(n, res < 0 ? NULL : vnet_run_pair_locked(n, p, VNET_RESUME_TX));
}

/* One write of what is left of the pending frame. Return: true when none is left. */
static bool flush_once_locked(struct vnet *n, struct vnet_pair *p)
{
	ssize_t w;

	while (p->pr_tp_off < p->pr_tp_len) {
		w = write(p->pr_fd, p->pr_tp + p->pr_tp_off, p->pr_tp_len - p->pr_tp_off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return false;
		if (w < 0) {
			stream_lost_locked(n, strerror(errno));
			p->pr_tp_off = p->pr_tp_len = 0;
			return true;
		}
		p->pr_tp_off += (size_t)w;
	}
	p->pr_tp_off = p->pr_tp_len = 0;
	return true;
}

bool vnet_stream_writable_locked(struct vnet *n, struct vnet_pair *p)
{
	if (!p->pr_tp_len || flush_once_locked(n, p))
		return true;
	tx_arm_locked(n, p);
	return false;
}

int vnet_stream_write_locked(struct vnet *n, struct vnet_pair *p, struct iovec *iov, int nr,
			     uint32_t len)
{
	uint32_t be = htonl(len);
	size_t total = LEN_BYTES + (size_t)len, done;
	ssize_t w;

	if (n->vn_stream_lost) {
		n->vn_stats.tx_errors++;
		return -1;
	}
	iov[0] = (struct iovec){ .iov_base = &be, .iov_len = LEN_BYTES };
	do
		w = writev(p->pr_fd, iov, nr + 1);
	while (w < 0 && errno == EINTR);
	if (w < 0 && errno != EAGAIN) {
		n->vn_stats.tx_errors++;
		stream_lost_locked(n, strerror(errno));
		return -1;
	}
	done = w < 0 ? 0 : (size_t)w;
	if (done == total)
		return 0;
	/* the rest of this frame goes first, from a copy: the chain is completed now */
	n->vn_stats.tx_partial++;
	p->pr_tp_len = 0;
	for (int i = 0; i <= nr; i++) {
		size_t k = iov[i].iov_len, skip = MIN(done, k);

		memcpy(p->pr_tp + p->pr_tp_len, (const uint8_t *)iov[i].iov_base + skip, k - skip);
		p->pr_tp_len += k - skip;
		done -= skip;
	}
	p->pr_tp_off = 0;
	vnet_stream_writable_locked(n, p);
	return 0;
}

bool vnet_stream_init(struct vnet_pair *p)
{
	p->pr_tx_op = (struct evl_op){ .done = tx_poll_done_cb, .opaque = p };
	p->pr_sb = malloc(VNET_STREAM_BUF);
	p->pr_tp = malloc(LEN_BYTES + VNET_MAX_FRAME);
	return p->pr_sb && p->pr_tp;
}

void vnet_stream_free(struct vnet_pair *p)
{
	free(p->pr_sb);
	free(p->pr_tp);
}
