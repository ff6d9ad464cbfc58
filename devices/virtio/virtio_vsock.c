// SPDX-License-Identifier: MIT
/*
 * virtio_vsock.c: virtio-vsock (prefix vsock_), the guest's side: the device
 * ops, packets from the guest (transmit queue, VSOCK_TX_PASS_* per pass, the
 * rest resumed at the loop's next turn) checked and applied to their
 * connection, and packets to the guest (receive queue): what connections owe
 * (REQUEST, RESPONSE, RST, SHUTDOWN, credit) and host data read straight into
 * receive buffers within the guest's credit, for SEQPACKET a whole message at
 * a time (virtio_vsock.h). The host's side is
 * vsock_host.c (sockets, the CONNECT line) and vsock_conn.c (connection
 * table, polls, timer); see virtio_vsock.h for the protocol and vsock_int.h
 * for a connection's life.
 *
 * Everything runs on the event-loop thread under vs_lock, except activate and
 * reset (vCPU thread), which take the same lock.
 *
 * Over 600 lines: the header check, the transmit dispatcher and the receive
 * scheduler are one protocol (what a packet owes is what the next one sends)
 * and read best side by side; the device ops are the short rest.
 */
#include "devices/virtio/virtio_vsock.h"

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <linux/virtio_ids.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/virtio/iov.h"
#include "devices/virtio/vsock_int.h"
#include "vmm/log.h"

#define VSOCK_CONFIG_SIZE sizeof(struct virtio_vsock_config)
_Static_assert(VSOCK_CONFIG_SIZE == 8, "virtio 1.2 §5.10.4");

/* ---- header checks --------------------------------------------------------------- */

int vsock_tx_hdr_check(const struct virtio_vsock_hdr *h, uint64_t guest_cid, uint32_t avail,
		       bool seqpacket)
{
	uint16_t op = le16toh(h->op), type = le16toh(h->type);
	uint32_t len = le32toh(h->len), flags = le32toh(h->flags), ok_flags = 0;

	/* virtio 1.2 §5.10.3: streams are implied, seqpacket only if the driver acked it */
	if (type != VIRTIO_VSOCK_TYPE_STREAM && (type != VIRTIO_VSOCK_TYPE_SEQPACKET || !seqpacket))
		return -EPROTOTYPE;
	if (op < VIRTIO_VSOCK_OP_REQUEST || op > VIRTIO_VSOCK_OP_CREDIT_REQUEST)
		return -EOPNOTSUPP;
	/* the guest speaks for itself only, and only to the host (no guest-to-guest) */
	if (le64toh(h->src_cid) != guest_cid || le64toh(h->dst_cid) != VSOCK_HOST_CID)
		return -EINVAL;
	if (le32toh(h->src_port) == VSOCK_PORT_ANY || le32toh(h->dst_port) == VSOCK_PORT_ANY)
		return -EINVAL;
	if (len > avail || len > VSOCK_MAX_PKT || (len && op != VIRTIO_VSOCK_OP_RW))
		return -EMSGSIZE;
	if (op == VIRTIO_VSOCK_OP_SHUTDOWN)
		ok_flags = VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND;
	else if (op == VIRTIO_VSOCK_OP_RW && type == VIRTIO_VSOCK_TYPE_SEQPACKET)
		ok_flags = VIRTIO_VSOCK_SEQ_EOM | VIRTIO_VSOCK_SEQ_EOR;
	if (flags & ~ok_flags)
		return -EINVAL;
	return 0;
}

static uint16_t conn_type(const struct vsock_conn *c)
{
	return c->vc_seq ? VIRTIO_VSOCK_TYPE_SEQPACKET : VIRTIO_VSOCK_TYPE_STREAM;
}

/* ---- receive: packets to the guest -------------------------------------------------- */

/* A header of (type) from the host end of (host_port, guest_port); (c) gives the credit fields. */
static void hdr_fill(const struct vsock *vs, struct virtio_vsock_hdr *h, uint32_t host_port,
		     uint32_t guest_port, uint16_t type, const struct vsock_conn *c, uint16_t op,
		     uint32_t len, uint32_t flags)
{
	*h = (struct virtio_vsock_hdr){
		.src_cid = htole64(VSOCK_HOST_CID),
		.dst_cid = htole64(vs->vs_cid),
		.src_port = htole32(host_port),
		.dst_port = htole32(guest_port),
		.len = htole32(len),
		.type = htole16(type),
		.op = htole16(op),
		.flags = htole32(flags),
		.buf_alloc = htole32(c ? VSOCK_BUF_ALLOC : 0),
		.fwd_cnt = htole32(c ? c->vc_fwd_cnt : 0),
	};
}

/*
 * Pop one receive chain into vs_held. Return: 1 held; 2 unusable (no room for
 * a header and a byte) and given back empty; 0 none; -EBADMSG broken ring.
 */
static int held_pop(struct vsock *vs)
{
	const struct vq_chain *c = vs->vs_chain;
	struct vsock_held *h = &vs->vs_held;
	int r = virtq_pop(vs->vs_rxq, vs->vs_chain);

	if (r <= 0)
		return r;
	h->head = c->head;
	h->nr = 0;
	h->cap = 0;
	/* readable segments mean nothing here; writable ones beyond VSOCK_RX_SEGS go unused */
	for (unsigned i = c->nr_ro; i < (unsigned)c->nr_ro + c->nr_wo && h->nr < VSOCK_RX_SEGS;
	     i++) {
		if (!c->seg[i].iov_len)
			continue;
		h->iov[h->nr++] = c->seg[i];
		h->cap += (uint32_t)c->seg[i].iov_len;
	}
	if (h->cap <= VSOCK_HDR_LEN) {
		vs->vs_stats.bad_pkts++;
		log_guest_ratelimited("virtio-vsock: receive buffer of %u bytes", h->cap);
		virtq_push(vs->vs_rxq, c->head, 0);
		return 2;
	}
	h->valid = true;
	return 1;
}

/* Give the held chain back with header (h) written at its start and (len) payload bytes after. */
static void held_push(struct vsock *vs, const struct virtio_vsock_hdr *h, uint32_t len)
{
	struct iov_cur cur;

	iov_cur_init(&cur, vs->vs_held.iov, vs->vs_held.nr);
	/* cap > VSOCK_HDR_LEN was checked when the chain was taken */
	if (iov_cur_copy_in(&cur, h, sizeof(*h)))
		assert(0);
	virtq_push(vs->vs_rxq, vs->vs_held.head, VSOCK_HDR_LEN + len);
	vs->vs_held.valid = false;
}

static bool want_data(const struct vsock_conn *c)
{
	return c->vc_state == VSC_OPEN && c->vc_readable && !c->vc_host_eof &&
	       !c->vc_guest_no_recv && !c->vc_fd_shut;
}

/* No credit for what (c) has to give: the guest sends CREDIT_UPDATE as it reads; ask once. */
static void ask_credit(struct vsock_conn *c)
{
	if (!c->vc_credit_asked) {
		c->vc_credit_asked = true;
		c->vc_owe |= VSC_OWE_CREDIT_REQUEST;
	}
}

/* Reading (c)'s host peer gave (n) <= 0: EOF, nothing there yet, or an error. */
static void read_stopped(struct vsock_conn *c, ssize_t n)
{
	c->vc_readable = false;
	if (n == 0) {
		/* the host peer shut its side: the guest reads EOF after what it has */
		c->vc_host_eof = true;
		c->vc_shut_flags |= VIRTIO_VSOCK_SHUTDOWN_SEND;
		c->vc_owe |= VSC_OWE_SHUTDOWN;
	} else if (n == -EAGAIN || n == -EINTR) {
		vsock_conn_poll(c); /* wait for more */
	} else {
		vsock_conn_close(c, true);
	}
}

/* Up to (want) bytes of the held chain after the header's place, as iovecs; their number. */
static int held_payload(struct vsock *vs, uint32_t want, struct iovec *iov)
{
	struct iov_cur cur;

	iov_cur_init(&cur, vs->vs_held.iov, vs->vs_held.nr);
	if (iov_cur_skip(&cur, VSOCK_HDR_LEN))
		return 0;
	return iov_cur_take(&cur, want, iov, VSOCK_RX_SEGS);
}

/*
 * Read host data for (c) into the held chain, after the header's place, as
 * much as the guest's credit and the buffer allow. Return: bytes read (0:
 * none; the reason is recorded: no credit, EOF, nothing there, an error).
 */
static uint32_t read_data(struct vsock *vs, struct vsock_conn *c)
{
	uint32_t credit = vsock_guest_credit(c), want;
	struct iovec iov[VSOCK_RX_SEGS];
	ssize_t n;
	int nr;

	if (!credit) {
		ask_credit(c);
		return 0;
	}
	want = MIN(MIN(credit, vs->vs_held.cap - VSOCK_HDR_LEN), (uint32_t)VSOCK_MAX_PKT);
	nr = held_payload(vs, want, iov);
	if (nr <= 0)
		return 0;
	n = vsock_conn_read(c, iov, nr);
	if (n > 0) {
		c->vc_tx_cnt += (uint32_t)n;
		vs->vs_stats.bytes_to_guest += (uint64_t)n;
		return (uint32_t)n;
	}
	read_stopped(c, n);
	return 0;
}

/*
 * SEQPACKET: take the host peer's next message for (c) once the guest's credit
 * covers all of it (the guest keeps only whole messages, and takes none
 * beyond its buf_alloc): straight into the held chain when it fits one
 * packet (Return: its length, (*eom) set), else whole into vc_msg. Return: 0
 * then, or when there is none (the reason recorded as read_data() does).
 */
static uint32_t take_msg(struct vsock *vs, struct vsock_conn *c, uint32_t room, bool *eom)
{
	struct iovec iov[VSOCK_RX_SEGS];
	ssize_t len = vsock_conn_msg_peek(c);
	int nr, r;

	if (len <= 0) {
		read_stopped(c, len);
		return 0;
	}
	if ((uint64_t)len > MIN(c->vc_peer_buf_alloc, (uint32_t)VSOCK_MSG_MAX)) {
		/* it could never go out whole; the host peer's send cannot fail any more */
		vs->vs_stats.msgs_too_big++;
		log_guest_ratelimited("virtio-vsock: host message of %zd bytes for guest port %u, "
				      "beyond its buffer of %u: reset", len, c->vc_guest_port,
				      MIN(c->vc_peer_buf_alloc, (uint32_t)VSOCK_MSG_MAX));
		vsock_conn_close(c, true);
		return 0;
	}
	if (vsock_guest_credit(c) < len) {
		c->vc_msg_need = (uint32_t)len; /* vsock_credit_ok() waits for all of it */
		ask_credit(c);
		return 0;
	}
	c->vc_msg_need = 0;
	if (len <= room) {
		nr = held_payload(vs, (uint32_t)len, iov);
		r = nr > 0 ? vsock_conn_msg_read(c, iov, nr, (uint32_t)len) : -EIO;
	} else {
		c->vc_msg = malloc((size_t)len);
		iov[0] = (struct iovec){ c->vc_msg, (size_t)len };
		r = c->vc_msg ? vsock_conn_msg_read(c, iov, 1, (uint32_t)len) : -ENOMEM;
		c->vc_msg_len = (uint32_t)len;
		c->vc_msg_off = 0;
		vs->vs_stats.msg_held += c->vc_msg ? (uint64_t)len : 0;
	}
	if (r) {
		log_guest_ratelimited("virtio-vsock: host message for guest port %u: %s: reset",
				      c->vc_guest_port, strerror(-r));
		vsock_conn_close(c, true); /* frees vc_msg */
		return 0;
	}
	if (c->vc_msg)
		return 0;
	c->vc_tx_cnt += (uint32_t)len;
	vs->vs_stats.bytes_to_guest += (uint64_t)len;
	vs->vs_stats.msgs_to_guest++;
	*eom = true;
	return (uint32_t)len;
}

/*
 * SEQPACKET: the next piece of a host message for (c) into the held chain,
 * (*eom) set on its last: read by take_msg(), or from vc_msg as far as the
 * credit and the buffer allow. Return: bytes given, 0 none.
 */
static uint32_t read_msg(struct vsock *vs, struct vsock_conn *c, bool *eom)
{
	uint32_t room = MIN(vs->vs_held.cap - VSOCK_HDR_LEN, (uint32_t)VSOCK_MAX_PKT), n;
	struct iov_cur cur;

	if (!c->vc_msg) {
		n = take_msg(vs, c, room, eom);
		if (n || !c->vc_msg)
			return n;
	}
	n = MIN(MIN(room, vsock_guest_credit(c)), c->vc_msg_len - c->vc_msg_off);
	if (!n) {
		ask_credit(c);
		return 0;
	}
	iov_cur_init(&cur, vs->vs_held.iov, vs->vs_held.nr);
	/* room was measured on this chain: both fit */
	if (iov_cur_skip(&cur, VSOCK_HDR_LEN) ||
	    iov_cur_copy_in(&cur, c->vc_msg + c->vc_msg_off, n))
		assert(0);
	c->vc_msg_off += n;
	c->vc_tx_cnt += n;
	vs->vs_stats.bytes_to_guest += n;
	if (c->vc_msg_off == c->vc_msg_len) {
		vsock_msg_drop(c);
		vs->vs_stats.msgs_to_guest++;
		*eom = true;
	}
	return n;
}

/* The control op (c) owes next, in VSC_OWE_* order after data; 0 none. */
static uint16_t owed_op(const struct vsock_conn *c, uint32_t data_len)
{
	if (c->vc_owe & VSC_OWE_RST)
		return VIRTIO_VSOCK_OP_RST;
	if (c->vc_owe & VSC_OWE_REQUEST)
		return VIRTIO_VSOCK_OP_REQUEST;
	if (c->vc_owe & VSC_OWE_RESPONSE)
		return VIRTIO_VSOCK_OP_RESPONSE;
	if (data_len)
		return VIRTIO_VSOCK_OP_RW;
	if (c->vc_owe & VSC_OWE_SHUTDOWN)
		return VIRTIO_VSOCK_OP_SHUTDOWN;
	if (c->vc_owe & VSC_OWE_CREDIT_UPDATE)
		return VIRTIO_VSOCK_OP_CREDIT_UPDATE;
	if (c->vc_owe & VSC_OWE_CREDIT_REQUEST)
		return VIRTIO_VSOCK_OP_CREDIT_REQUEST;
	return 0;
}

/* One packet for (c) into the held chain. Return: whether the chain was used. */
static bool emit_one(struct vsock *vs, struct vsock_conn *c)
{
	struct virtio_vsock_hdr h;
	uint32_t len = 0, flags = 0;
	bool eom = false;
	uint16_t op;

	/* data only once the connection is known to the guest */
	if (want_data(c) && !(c->vc_owe & (VSC_OWE_RST | VSC_OWE_REQUEST | VSC_OWE_RESPONSE)))
		len = c->vc_seq ? read_msg(vs, c, &eom) : read_data(vs, c);
	op = owed_op(c, len);
	if (!op)
		return false;
	if (op == VIRTIO_VSOCK_OP_SHUTDOWN)
		flags = c->vc_shut_flags;
	else if (op == VIRTIO_VSOCK_OP_RW && eom)
		flags = VIRTIO_VSOCK_SEQ_EOM; /* the last packet of a host message */
	hdr_fill(vs, &h, c->vc_host_port, c->vc_guest_port, conn_type(c),
		 op == VIRTIO_VSOCK_OP_RST ? NULL : c, op, len, flags);
	held_push(vs, &h, len);
	switch (op) {
	case VIRTIO_VSOCK_OP_RST:
		vs->vs_stats.rst_sent++;
		if (c->vc_state == VSC_DRAIN)
			c->vc_owe = 0; /* the guest is told; the host peer still gets the bytes */
		else
			vsock_conn_release(c);
		return true;
	case VIRTIO_VSOCK_OP_REQUEST:
		c->vc_req_sent = true;
		c->vc_owe &= (uint8_t)~VSC_OWE_REQUEST;
		break;
	case VIRTIO_VSOCK_OP_RESPONSE:
		c->vc_owe &= (uint8_t)~VSC_OWE_RESPONSE;
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		c->vc_owe &= (uint8_t)~VSC_OWE_SHUTDOWN;
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		c->vc_owe &= (uint8_t)~VSC_OWE_CREDIT_REQUEST;
		break;
	}
	/* every header carries fwd_cnt: a credit update is never owed after one */
	c->vc_fwd_sent = c->vc_fwd_cnt;
	c->vc_owe &= (uint8_t)~VSC_OWE_CREDIT_UPDATE;
	return true;
}

static bool has_work(const struct vsock_conn *c)
{
	if (c->vc_state == VSC_DRAIN)
		return c->vc_owe; /* its RST, nothing else */
	if (c->vc_state != VSC_OPEN && c->vc_state != VSC_REQ && c->vc_state != VSC_RST)
		return false;
	return c->vc_owe || (want_data(c) && (vsock_credit_ok(c) || !c->vc_credit_asked));
}

static void emit_orphan_rst(struct vsock *vs)
{
	const struct vsock_rst *r = &vs->vs_rst[vs->vs_rst_first];
	struct virtio_vsock_hdr h;

	hdr_fill(vs, &h, r->host_port, r->guest_port, r->type, NULL, VIRTIO_VSOCK_OP_RST, 0, 0);
	held_push(vs, &h, 0);
	vs->vs_rst_first = (vs->vs_rst_first + 1) % VSOCK_RST_RING;
	vs->vs_rst_nr--;
	vs->vs_stats.rst_sent++;
}

static struct vsock_conn *dequeue(struct vsock *vs)
{
	struct vsock_conn *c = &vs->vs_conns[vs->vs_qhead];

	vs->vs_qhead = c->vc_qnext;
	if (vs->vs_qhead < 0)
		vs->vs_qtail = -1;
	c->vc_queued = false;
	return c;
}

void vsock_rst_orphan(struct vsock *vs, uint32_t host_port, uint32_t guest_port, uint16_t type)
{
	if (vs->vs_rst_nr == VSOCK_RST_RING) {
		/* a guest that floods without taking replies: its connect times out instead */
		vs->vs_stats.rst_dropped++;
		return;
	}
	vs->vs_rst[(vs->vs_rst_first + vs->vs_rst_nr) % VSOCK_RST_RING] =
		(struct vsock_rst){ host_port, guest_port, type };
	vs->vs_rst_nr++;
}

/*
 * Fill receive buffers while anything is owed: orphan RSTs first, then the
 * connections round robin, one packet each per turn. Bounded by the buffers
 * the guest posted. A broken ring leaves vs_fail_why set.
 */
void vsock_rx_run_locked(struct vsock *vs)
{
	bool pushed = false;

	if (!vs->vs_active || !vs->vs_rxq || vs->vs_rxq->vq_broken)
		return;
	while (vs->vs_rst_nr || vs->vs_qhead >= 0) {
		if (!vs->vs_held.valid) {
			int r = held_pop(vs);

			pushed |= r == 2;
			if (r > 0)
				continue;
			if (r == 0 && virtq_enable_notify(vs->vs_rxq))
				continue;
			if (r < 0 || vs->vs_rxq->vq_broken)
				vs->vs_fail_why = "malformed descriptor chain";
			break; /* no buffers: the guest's next receive kick brings us back */
		}
		if (vs->vs_rst_nr) {
			emit_orphan_rst(vs);
			pushed = true;
			continue;
		}
		struct vsock_conn *c = dequeue(vs);
		if (!emit_one(vs, c))
			continue; /* nothing to say now: an event queues it again */
		pushed = true;
		if (has_work(c))
			vsock_queue(c);
	}
	if (pushed)
		virtio_notify(vs->vs_t, VSOCK_RXQ); /* only signals an irqfd */
}

/* ---- transmit: packets from the guest ------------------------------------------------- */

/*
 * A packet (h) the device will not take: RST its connection (c), or answer it
 * with an RST of its type; never answer an RST (virtio 1.2 §5.10.6.3: two ends
 * would ping-pong).
 */
static void refuse(struct vsock *vs, struct vsock_conn *c, const struct virtio_vsock_hdr *h)
{
	/* a Linux guest drops an RST of the other type: its connect() would wait */
	uint16_t type = le16toh(h->type) == VIRTIO_VSOCK_TYPE_SEQPACKET ?
				VIRTIO_VSOCK_TYPE_SEQPACKET : VIRTIO_VSOCK_TYPE_STREAM;

	if (le16toh(h->op) == VIRTIO_VSOCK_OP_RST) {
		if (c)
			vsock_conn_close(c, false);
		return;
	}
	if (c)
		vsock_conn_close(c, true);
	if (!c || c->vc_state != VSC_RST)
		vsock_rst_orphan(vs, le32toh(h->dst_port), le32toh(h->src_port), type);
}

/* Every header carries the guest's buf_alloc and fwd_cnt: our credit towards it. */
static void credit_from(struct vsock_conn *c, const struct virtio_vsock_hdr *h)
{
	c->vc_peer_buf_alloc = le32toh(h->buf_alloc);
	c->vc_peer_fwd_cnt = le32toh(h->fwd_cnt);
	if (!vsock_credit_ok(c))
		return;
	c->vc_credit_asked = false;
	if (c->vc_readable)
		vsock_queue(c);
	vsock_conn_poll(c);
}

/*
 * OP_RW with (flags): the payload at (cur) goes to the host peer, within the
 * credit we gave; for SEQPACKET as part of a message of at most VSOCK_MSG_MAX.
 */
static void tx_payload(struct vsock *vs, struct vsock_conn *c, struct iov_cur *cur, uint32_t len,
		       uint32_t flags)
{
	struct iovec iov[VSOCK_TX_IOV];
	int nr = 0;

	if (c->vc_seq && (uint64_t)c->vc_seq_part + len > VSOCK_MSG_MAX) {
		/* it could never be sent whole; a Linux guest's send fails with EMSGSIZE first */
		vs->vs_stats.msgs_too_big++;
		log_guest_ratelimited("virtio-vsock: guest port %u: a message over %d bytes: reset",
				      c->vc_guest_port, VSOCK_MSG_MAX);
		vsock_conn_close(c, true);
		return;
	}
	if ((uint64_t)(c->vc_rx_cnt - c->vc_fwd_cnt) + len > VSOCK_BUF_ALLOC) {
		/* virtio 1.2 §5.10.6.3.1: the guest must not send beyond our buf_alloc */
		vs->vs_stats.credit_lies++;
		log_guest_ratelimited("virtio-vsock: guest port %u sent beyond its credit: reset",
				      c->vc_guest_port);
		vsock_conn_close(c, true);
		return;
	}
	if (!len && !c->vc_seq)
		return;
	if (len)
		nr = iov_cur_take(cur, len, iov, VSOCK_TX_IOV);
	if (len && nr <= 0) {
		vs->vs_stats.bad_pkts++;
		log_guest_ratelimited("virtio-vsock: payload in more than %d pieces: reset",
				      VSOCK_TX_IOV);
		vsock_conn_close(c, true);
		return;
	}
	c->vc_rx_cnt += len;
	if (c->vc_seq)
		vsock_conn_write_msg(c, iov, nr, len, flags & VIRTIO_VSOCK_SEQ_EOM);
	else
		vsock_conn_write(c, iov, nr, len);
}

/* One chain from the guest. Guest: the whole chain. */
static void tx_one(struct vsock *vs, const struct vq_chain *ch)
{
	struct virtio_vsock_hdr h;
	struct vsock_conn *c;
	struct iov_cur cur;
	uint32_t hp, gp;
	uint16_t op;
	int r;

	iov_cur_init(&cur, ch->seg, ch->nr_ro);
	/* single fetch: the header is copied out, then only the copy is looked at */
	if (ch->ro_len < VSOCK_HDR_LEN || iov_cur_copy_out(&cur, &h, sizeof(h))) {
		vs->vs_stats.bad_pkts++;
		log_guest_ratelimited("virtio-vsock: transmit chain of %u bytes", ch->ro_len);
		return;
	}
	hp = le32toh(h.dst_port);
	gp = le32toh(h.src_port);
	op = le16toh(h.op);
	c = vsock_conn_find(vs, hp, gp);
	r = vsock_tx_hdr_check(&h, vs->vs_cid, ch->ro_len - VSOCK_HDR_LEN, vs->vs_seqpacket);
	if (r) {
		vs->vs_stats.bad_pkts++;
		log_guest_ratelimited("virtio-vsock: bad packet (op %u, len %u, port %u): %s", op,
				      le32toh(h.len), gp, strerror(-r));
		goto refuse;
	}
	if (c && c->vc_state == VSC_RST) {
		/* an RST owed and not sent yet: anything else of the old connection is moot */
		if (op != VIRTIO_VSOCK_OP_RST && op != VIRTIO_VSOCK_OP_REQUEST)
			return;
		/*
		 * The guest is done with it too (RST), or has forgotten it and starts
		 * anew (REQUEST): ours is not needed, and sent after the RESPONSE it
		 * would reset the new connection.
		 */
		vsock_conn_release(c);
		if (op == VIRTIO_VSOCK_OP_RST)
			return;
		c = NULL;
	}
	if (c && conn_type(c) != le16toh(h.type)) {
		/* a connection keeps the type of its REQUEST */
		vs->vs_stats.bad_pkts++;
		log_guest_ratelimited("virtio-vsock: guest port %u: op %u of type %u on a "
				      "connection of type %u: reset", gp, op, le16toh(h.type),
				      conn_type(c));
		goto refuse;
	}
	if (c && (c->vc_state == VSC_OPEN || c->vc_state == VSC_REQ))
		credit_from(c, &h);
	switch (op) {
	case VIRTIO_VSOCK_OP_REQUEST:
		if (c)
			goto refuse; /* a second REQUEST on a live connection */
		vsock_guest_connect(vs, &h);
		return;
	case VIRTIO_VSOCK_OP_RESPONSE:
		if (!c || c->vc_state != VSC_REQ || !c->vc_req_sent)
			goto refuse;
		vsock_host_accepted(c);
		return;
	case VIRTIO_VSOCK_OP_RST:
		/* half a message is nothing the host peer can take */
		if (c && c->vc_state == VSC_OPEN)
			vsock_conn_cut_part(c);
		if (c && c->vc_state == VSC_OPEN && c->vc_buf_len) {
			/* what the guest sent before its socket died still reaches the host */
			vsock_conn_drain(c, false);
			return;
		}
		goto refuse; /* closes (c) quietly */
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		if (!c || c->vc_state != VSC_OPEN)
			goto refuse;
		vsock_conn_guest_shutdown(c, le32toh(h.flags));
		return;
	case VIRTIO_VSOCK_OP_RW:
		if (!c || c->vc_state != VSC_OPEN || c->vc_guest_no_send)
			goto refuse;
		tx_payload(vs, c, &cur, le32toh(h.len), le32toh(h.flags));
		return;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		if (!c || c->vc_state != VSC_OPEN)
			goto refuse;
		c->vc_owe |= VSC_OWE_CREDIT_UPDATE;
		vsock_queue(c);
		return;
	default: /* CREDIT_UPDATE: credit_from() did it */
		if (!c || c->vc_state != VSC_OPEN)
			goto refuse;
		return;
	}
refuse:
	refuse(vs, c, &h);
}

/* ---- transmit: per-pass budget and resumption ----------------------------------------- */

/* Work done in one transmit pass; see VSOCK_TX_PASS_CHAINS in virtio_vsock.h. */
struct vsock_pass {
	unsigned chains;
	uint64_t bytes;
};

static bool pass_spent(const struct vsock_pass *p)
{
	return p->chains >= VSOCK_TX_PASS_CHAINS || p->bytes >= VSOCK_TX_PASS_BYTES;
}

/*
 * Owe another transmit pass at the event loop's next turn: a one-shot poll on
 * vs_resume_efd, which is always readable, so its completion comes in the
 * same batch as the other fds' events and each gets its turn (evloop.h: the
 * loop submits, then runs every completion). Return: false when no SQE could
 * be had; the caller then goes on rather than leave the queue stranded.
 */
static bool tx_resume_locked(struct vsock *vs)
{
	struct io_uring_sqe *sqe;

	if (!vs->vs_evl)
		return false;
	if (vs->vs_evl->stopping)
		return true; /* the VM is ending: nothing more will run */
	if (!vs->vs_resume_armed) {
		sqe = vsock_get_sqe(vs, &vs->vs_resume_op);
		if (!sqe)
			return false;
		io_uring_prep_poll_add(sqe, vs->vs_resume_efd, POLLIN);
		vs->vs_resume_armed = true;
	}
	vs->vs_resume_tx = true;
	vs->vs_stats.passes_deferred++;
	return true;
}

/*
 * Take what the guest posted, following virtq.h's loop, at most one pass's
 * budget; the rest is resumed on the loop. Return: false on a broken ring.
 */
static bool tx_run_locked(struct vsock *vs)
{
	struct virtq *vq = vs->vs_txq;
	struct vsock_pass p = { 0 };
	bool pushed = false;
	int r = 0;

	virtq_disable_notify(vq);
	for (;;) {
		while (!pass_spent(&p) && (r = virtq_pop(vq, vs->vs_chain)) == 1) {
			p.chains++;
			p.bytes += vs->vs_chain->ro_len;
			/* never held back: one stuck host peer must not stop the others */
			tx_one(vs, vs->vs_chain);
			virtq_push(vq, vs->vs_chain->head, 0);
			pushed = true;
		}
		if (r < 0)
			break;
		if (pass_spent(&p)) {
			/* notifications stay off: the resumed pass turns them back on */
			if (tx_resume_locked(vs))
				break;
			p = (struct vsock_pass){ 0 }; /* cannot yield: go on, not strand the queue */
			continue;
		}
		if (!virtq_enable_notify(vq))
			break;
	}
	if (pushed)
		virtio_notify(vs->vs_t, VSOCK_TXQ);
	return r >= 0;
}

/* A transmit pass if the device can take one, then what it owes the guest. */
static void run_locked(struct vsock *vs, bool tx)
{
	if (tx && vs->vs_active && vs->vs_txq && !vs->vs_txq->vq_broken && !tx_run_locked(vs))
		vs->vs_fail_why = "malformed descriptor chain";
	/* new receive buffers, or replies to what was just sent; the event queue is never used */
	vsock_rx_run_locked(vs);
}

/*
 * The resumption poll completed: run the transmit pass owed. Cancelled, at
 * teardown, or after a reset (which forgets what was owed): nothing.
 * Context: loop thread.
 */
static void tx_resume_done(void *opaque, int res)
{
	struct vsock *vs = opaque;
	bool owed;

	pthread_mutex_lock(&vs->vs_lock);
	vs->vs_resume_armed = false;
	owed = vs->vs_resume_tx;
	vs->vs_resume_tx = false;
	if (owed && res >= 0 && !vs->vs_evl->stopping)
		run_locked(vs, true);
	vsock_unlock_and_fail(vs);
}

/* queue_notify - the driver kicked (qidx). Context: loop thread. */
static void vsock_queue_notify(void *dev, uint16_t qidx)
{
	struct vsock *vs = dev;

	pthread_mutex_lock(&vs->vs_lock);
	run_locked(vs, qidx == VSOCK_TXQ);
	vsock_unlock_and_fail(vs);
}

/* ---- lifecycle ------------------------------------------------------------------------ */

/* activate - Context: vCPU thread (DRIVER_OK). */
static int vsock_activate(void *dev, const struct virtio_activation *act)
{
	struct vsock *vs = dev;

	pthread_mutex_lock(&vs->vs_lock);
	vs->vs_t = act->transport;
	if (act->evl)
		vs->vs_evl = act->evl;
	vs->vs_rxq = act->nr_vqs > VSOCK_RXQ && act->vqs[VSOCK_RXQ].vq_size ?
			     &act->vqs[VSOCK_RXQ] : NULL;
	vs->vs_txq = act->nr_vqs > VSOCK_TXQ && act->vqs[VSOCK_TXQ].vq_size ?
			     &act->vqs[VSOCK_TXQ] : NULL;
	vs->vs_held.valid = false;
	vs->vs_fail_why = NULL;
	vs->vs_resume_tx = false; /* a resumption still armed finds nothing owed */
	vs->vs_seqpacket = act->features & (1ULL << VSOCK_F_SEQPACKET);
	vs->vs_active = true;
	pthread_mutex_unlock(&vs->vs_lock);
	return 0;
}

/*
 * reset - every connection is closed (host peers see EOF/EPIPE at once) and
 * nothing is owed any more, a transmit pass neither (the resumption poll may
 * still be armed: its completion finds nothing owed); the listener stays for
 * the next driver. A DRAIN
 * connection keeps writing what the guest sent before it closed: that is the
 * host side's alone. Context: vCPU thread (the sockets are closed there, not
 * on the loop: shutdown(2) and close(2) do not block).
 */
static int vsock_reset(void *dev)
{
	struct vsock *vs = dev;

	pthread_mutex_lock(&vs->vs_lock);
	vs->vs_active = false;
	vs->vs_seqpacket = false;
	vs->vs_rxq = vs->vs_txq = NULL;
	vs->vs_resume_tx = false;
	vs->vs_held.valid = false; /* the old driver's buffer */
	for (unsigned i = 0; i < vs->vs_hwm; i++) {
		struct vsock_conn *c = &vs->vs_conns[i];

		if (c->vc_state == VSC_DRAIN)
			c->vc_owe = 0; /* its RST was for the old driver */
		else if (c->vc_state != VSC_FREE && c->vc_state != VSC_DEAD)
			vsock_conn_close(c, false);
		c->vc_queued = false;
	}
	vs->vs_qhead = vs->vs_qtail = -1;
	vs->vs_rst_first = vs->vs_rst_nr = 0;
	pthread_mutex_unlock(&vs->vs_lock);
	return 0;
}

static uint64_t vsock_features(void *dev)
{
	return 1ULL << VSOCK_F_STREAM | 1ULL << VSOCK_F_SEQPACKET;
}

/* Linux acks F_SEQPACKET alone: it does not know F_STREAM's bit (virtio 1.2 §5.10.3). */
static int vsock_set_features(void *dev, uint64_t acked)
{
	return 0; /* stream is implied whether or not the driver knows the bit (§5.10.3) */
}

/* config_read - le64 guest_cid; (off, len) checked by the transport. Context: vCPU thread. */
static void vsock_config_read(void *dev, uint32_t off, void *buf, uint32_t len)
{
	const struct vsock *vs = dev;
	struct virtio_vsock_config cfg = { .guest_cid = htole64(vs->vs_cid) };

	if (off > VSOCK_CONFIG_SIZE || len > VSOCK_CONFIG_SIZE - off) {
		memset(buf, 0xff, len);
		return;
	}
	memcpy(buf, (const uint8_t *)&cfg + off, len);
}

/* config_write - guest_cid is read-only (virtio 1.2 §5.10.4). */
static int vsock_config_write(void *dev, uint32_t off, const void *buf, uint32_t len)
{
	return 0;
}

/* destroy - after the loop has stopped (no poll left armed): close everything, remove PATH. */
static void vsock_destroy(void *dev)
{
	struct vsock *vs = dev;

	if (!vs)
		return;
	vsock_host_fini(vs);
	if (vs->vs_resume_efd >= 0)
		close(vs->vs_resume_efd);
	pthread_mutex_destroy(&vs->vs_lock);
	free(vs->vs_conns);
	free(vs->vs_chain);
	free(vs);
}

void vsock_get_stats(void *dev, struct vsock_stats *out)
{
	struct vsock *vs = dev;

	pthread_mutex_lock(&vs->vs_lock);
	*out = vs->vs_stats;
	out->live = vs->vs_live;
	out->pending = vs->vs_pending;
	out->max_conns = vs->vs_max_conns;
	pthread_mutex_unlock(&vs->vs_lock);
}

void *vsock_create(const struct vsock_config *cfg, int *errp, char *err, size_t errlen)
{
	struct vsock *vs;
	int r = -ENOMEM;

	if (cfg->guest_cid < VSOCK_MIN_GUEST_CID || cfg->guest_cid > VSOCK_MAX_GUEST_CID) {
		if (cfg->job_port && cfg->job_fd >= 0)
			close(cfg->job_fd);
		snprintf(err, errlen, "--vsock cid=%llu: must be from %d to %u",
			 (unsigned long long)cfg->guest_cid, VSOCK_MIN_GUEST_CID,
			 VSOCK_MAX_GUEST_CID);
		*errp = -EINVAL;
		return NULL;
	}
	vs = calloc(1, sizeof(*vs));
	if (!vs) {
		if (cfg->job_port && cfg->job_fd >= 0)
			close(cfg->job_fd);
		goto err_nomem;
	}
	pthread_mutex_init(&vs->vs_lock, NULL);
	vs->vs_lfd = vs->vs_tfd = vs->vs_inject_rx = vs->vs_inject_tx = -1;
	vs->vs_job_fd = vs->vs_resume_efd = -1;
	vs->vs_cid = cfg->guest_cid;
	vs->vs_evl = cfg->evl;
	vs->vs_chain = malloc(sizeof(*vs->vs_chain));
	if (!vs->vs_chain)
		goto err_destroy;
	r = vsock_table_init(vs, cfg, err, errlen);
	if (!r)
		r = vsock_host_init(vs, cfg, err, errlen);
	if (r)
		goto err_destroy_msg;
	/* count 1, never read: always readable, so a poll on it means "next turn" */
	vs->vs_resume_efd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
	vs->vs_resume_op = (struct evl_op){ .done = tx_resume_done, .opaque = vs };
	if (vs->vs_resume_efd < 0) {
		r = -errno;
		snprintf(err, errlen, "virtio-vsock: eventfd: %s", strerror(-r));
		goto err_destroy_msg;
	}
	return vs;

err_destroy:
	snprintf(err, errlen, "virtio-vsock: out of memory");
err_destroy_msg:
	vsock_destroy(vs);
	*errp = r;
	return NULL;
err_nomem:
	snprintf(err, errlen, "virtio-vsock: out of memory");
	*errp = -ENOMEM;
	return NULL;
}

const struct virtio_dev_ops vsock_ops = {
	.name = "virtio-vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.nr_queues = VSOCK_NR_QUEUES,
	.max_queue_size = VSOCK_QUEUE_SIZE,
	.config_size = VSOCK_CONFIG_SIZE,
	.features = vsock_features,
	.set_features = vsock_set_features,
	.config_read = vsock_config_read,
	.config_write = vsock_config_write,
	.activate = vsock_activate,
	.queue_notify = vsock_queue_notify,
	.reset = vsock_reset,
	.destroy = vsock_destroy,
};
