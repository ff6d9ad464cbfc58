// SPDX-License-Identifier: MIT
/*
 * fuzz_vsock_pkt.c: virtio-vsock packets from the guest, through the device's
 * own entry points (activate, queue_notify, vsock_host_ready, vsock_expire,
 * reset) on a small memfd guest_mem, with real UNIX sockets as the host side:
 * the device's PATH in a temp directory, SOCK_STREAM host listeners at PATH_1
 * and PATH_2 and a SOCK_SEQPACKET one at PATH_4, and an --egress control
 * socket for host port 5 (each guest connection's socket arrives there, as
 * the egress proxy gets it). The test thread is the loop thread.
 *
 * Input: one byte (bit 0: EVENT_IDX, bit 1: the driver acks F_SEQPACKET), then
 * a sequence of operations, each one selector byte and its arguments:
 *   0 guest packet: op (and SHUTDOWN's or a SEQPACKET RW's flags), port pair
 *     and type (bit 5 of the port byte: SEQPACKET, to PATH_4, PATH_1 (a stream
 *     listener) or nobody), length selector, credit bytes, flags of "rarely"
 *     damage (wrong cid, type, flags, len beyond the chain), split
 *   1 post receive buffers: count byte, then one size byte each
 *   2 host listeners: accept what is waiting (and take the egress sockets, or
 *     sometimes leave them queued), write (length byte; one message to a
 *     SEQPACKET peer, maybe empty) to one, or close one
 *   3 host client: connect to PATH and send a CONNECT line (valid or not)
 *   4 vsock_host_ready()
 *   5 vsock_expire() far in the future
 *   6 rarely: reset and activate again
 *   7 rarely: a damaged descriptor on a queue
 * Packets are mostly well formed for the connections that exist, so the
 * connection state machine, credit and shutdown paths are reached.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_ring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "boot/layout.h"
#include "devices/virtio/virtio_vsock.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/helpers/th_fdpass.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define F_RAM MiB(2)
#define F_QSIZE 32
#define F_MAX_OPS 64
#define F_CID 3
#define F_PEERS 8

static struct guest_mem gm;
static struct fuzz_ring rings[VSOCK_NR_QUEUES];
static gpa_t buf;
static uint8_t scratch[VSOCK_HDR_LEN + VSOCK_MAX_PKT + 64];
static char dir[64], path[128];
#define F_LISTENERS 3
static const uint32_t listen_ports[F_LISTENERS] = { 1, 2, 4 }; /* PATH_4: SOCK_SEQPACKET */
static int lfd[F_LISTENERS] = { -1, -1, -1 };
static int peers[F_PEERS], nr_peers;        /* accepted host ends */
static int clients[F_PEERS], nr_clients;    /* host connections to PATH */
static uint32_t last_host_port;             /* a host port the device picked, for RESPONSE */
static uint16_t rx_seen;                    /* used entries of the receive ring read back */

static void wr(gpa_t g, const void *p, size_t n)
{
	fuzz_wr(&gm, g, p, n);
}

static gpa_t falloc(uint32_t len)
{
	gpa_t lo = MiB(1) / 4;

	if (buf < lo + len + 64)
		buf = MiB(1); /* wrap: old contents are only payload */
	buf = ALIGN_DOWN(buf - len, 8);
	return buf;
}

static void chain(struct fuzz_ring *r, const gpa_t *a, const uint32_t *l, unsigned n, bool w)
{
	fuzz_chain(&gm, r, a, l, NULL, w, n);
}

/* Read back what the device gave the guest, remembering a host port it picked. */
static void drain_rx(void)
{
	struct fuzz_ring *r = &rings[VSOCK_RXQ];
	uint16_t idx;

	if (gm_read(&gm, r->used + 2, &idx, 2))
		abort();
	for (idx = le16toh(idx); rx_seen != idx; rx_seen++) {
		uint32_t id;
		struct vring_desc d;
		struct virtio_vsock_hdr h;

		if (gm_read(&gm, r->used + 4 + 8 * (uint64_t)(rx_seen % F_QSIZE), &id, 4) ||
		    gm_read(&gm, r->desc + 16 * (uint64_t)(le32toh(id) % F_QSIZE), &d, sizeof(d)))
			abort();
		if (le32toh(d.len) >= sizeof(h) && !gm_read(&gm, le64toh(d.addr), &h, sizeof(h)) &&
		    le16toh(h.op) == VIRTIO_VSOCK_OP_REQUEST)
			last_host_port = le32toh(h.src_port);
	}
}

#define F_EGRESS_PORT 5
static int egress[2] = { -1, -1 }; /* [0] the device's control socket, [1] the proxy's */
static const uint32_t host_ports[] = { 1, 2, 3, F_EGRESS_PORT };
/* SEQPACKET: PATH_4; PATH_1 (a stream listener) and the egress port refuse it */
static const uint32_t seq_host_ports[] = { 4, 1, 3, F_EGRESS_PORT };

static void op_packet(void *dev, struct in *in)
{
	unsigned sel = take(in, 1), ports = take(in, 1), lsel = take(in, 1);
	unsigned damage = take(in, 1), split = take(in, 1);
	uint16_t op = (uint16_t)(sel % 7 + 1);
	bool seq = ports & 0x20;
	uint32_t len = op == VIRTIO_VSOCK_OP_RW ? (lsel < 0xf0 ? lsel * 17 : VSOCK_MAX_PKT - 2 +
								  (lsel & 3)) : 0;
	uint32_t hp = (ports & 0x80) && last_host_port ? last_host_port :
		      seq ? seq_host_ports[ports & 3] : host_ports[ports & 3];
	/* SHUTDOWN's RCV/SEND, or a SEQPACKET RW's EOM/EOR: both bits 0 and 1 */
	bool flagged = op == VIRTIO_VSOCK_OP_SHUTDOWN || (seq && op == VIRTIO_VSOCK_OP_RW);
	struct virtio_vsock_hdr h = {
		.src_cid = htole64(F_CID), .dst_cid = htole64(VSOCK_HOST_CID),
		.src_port = htole32(1000 + ((ports >> 2) & 7)), .dst_port = htole32(hp),
		.len = htole32(len), .op = htole16(op),
		.type = htole16(seq ? VIRTIO_VSOCK_TYPE_SEQPACKET : VIRTIO_VSOCK_TYPE_STREAM),
		.flags = htole32(flagged ? (sel >> 4) & 3 : 0),
		.buf_alloc = htole32(take(in, 1) << 10), .fwd_cnt = htole32(take(in, 2) << 4),
	};
	uint32_t chain_len = len;

	if (op == VIRTIO_VSOCK_OP_RESPONSE || (ports & 0x40))
		h.src_port = htole32(ports & 0x80 ? 1000 + ((ports >> 2) & 7) : 5000);
	/* rarely: a field the device must refuse */
	switch (damage >= 0xf0 ? damage & 7 : 8) {
	case 0: h.src_cid = htole64(F_CID + 1); break;
	case 1: h.dst_cid = htole64(F_CID); break;
	case 2: h.type = htole16(seq ? 1 : 2); break; /* VIRTIO_VSOCK_TYPE_*: the other one */
	case 3: h.op = htole16((uint16_t)(damage >> 3)); break;
	case 4: h.flags = htole32(damage); break;
	case 5: chain_len = len / 2; break; /* len beyond the chain */
	case 6: h.len = htole32(VSOCK_MAX_PKT + 1); chain_len = VSOCK_MAX_PKT + 1; break;
	case 7: h.src_port = htole32(VSOCK_PORT_ANY); break;
	}
	memcpy(scratch, &h, sizeof(h));
	memset(scratch + sizeof(h), 0x3c, MIN(chain_len, (uint32_t)VSOCK_MAX_PKT + 1));
	uint32_t total = VSOCK_HDR_LEN + MIN(chain_len, (uint32_t)VSOCK_MAX_PKT + 1), l[3];
	unsigned n = split % 3 + 1;
	uint32_t cut1 = n > 1 ? (split * 5) % (total + 1) : total;
	uint32_t cut2 = n > 2 ? cut1 + (total - cut1) / 2 : total;
	gpa_t a[3];

	l[0] = cut1;
	l[1] = cut2 - cut1;
	l[2] = total - cut2;
	for (unsigned i = 0; i < n; i++) {
		uint32_t off = i == 0 ? 0 : i == 1 ? cut1 : cut2;

		a[i] = falloc(l[i] ? l[i] : 1);
		wr(a[i], scratch + off, l[i]);
	}
	chain(&rings[VSOCK_TXQ], a, l, n, false);
	vsock_ops.queue_notify(dev, VSOCK_TXQ);
}

static void op_rx_bufs(void *dev, struct in *in)
{
	unsigned count = take(in, 1) % 8 + 1;

	for (unsigned i = 0; i < count; i++) {
		unsigned s = take(in, 1);
		uint32_t len = s >= 0xf8 ? s & 7 : VSOCK_HDR_LEN + s * 17; /* rarely too small */
		gpa_t a = falloc(len ? len : 1);

		chain(&rings[VSOCK_RXQ], &a, &len, 1, true);
	}
	vsock_ops.queue_notify(dev, VSOCK_RXQ);
	drain_rx();
}

/* One egress connection's socket, as the proxy takes it: -1 when none is queued. */
static int egress_take(void)
{
	int fd = th_fd_recv(egress[1]);

	if (fd == -2)
		abort(); /* not one byte with one fd: the device's bug */
	if (fd >= 0)
		fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static void op_listeners(struct in *in)
{
	unsigned sel = take(in, 1), len = take(in, 1) * 64;
	int fd;

	for (int i = 0; i < F_LISTENERS; i++) {
		while (nr_peers < F_PEERS && (fd = accept4(lfd[i], NULL, NULL,
							   SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
			peers[nr_peers++] = fd;
	}
	while (!(sel & 0x40) && nr_peers < F_PEERS && (fd = egress_take()) >= 0)
		peers[nr_peers++] = fd;
	if (!nr_peers)
		return;
	int *p = &peers[sel % nr_peers];
	if (sel & 0x80) {
		close(*p);
		*p = peers[--nr_peers];
		return;
	}
	memset(scratch, 0x5a, len);
	if (send(*p, scratch, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* full or closed by the device: fine */
	}
	while (recv(*p, scratch, sizeof(scratch), MSG_DONTWAIT) > 0)
		; /* read what the guest sent */
}

static void op_client(struct in *in)
{
	static const char *const lines[] = { "CONNECT 1000\n", "CONNECT 1001\nearly", "CONNECT 5",
					     "CONNECT x\n", "" };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	unsigned sel = take(in, 1);
	const char *l = lines[sel % 5];
	int fd;

	if (nr_clients == F_PEERS)
		return;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	if (send(fd, l, strlen(l), MSG_NOSIGNAL) < 0) {
		/* closed already: fine */
	}
	clients[nr_clients++] = fd;
}

static void op_damage(void *dev, struct in *in)
{
	unsigned sel = take(in, 1);
	struct fuzz_ring *r = &rings[sel % 2];

	if ((sel & 0xf0) != 0xf0)
		return; /* rarely */
	fuzz_put_desc(&gm, r, r->nd, falloc(64), 64,
		      VRING_DESC_F_NEXT | ((sel & 4) ? VRING_DESC_F_WRITE : 0),
		      (uint16_t)(F_QSIZE + sel));
	fuzz_publish(&gm, r, r->nd);
	r->nd = (uint16_t)((r->nd + 1) % F_QSIZE);
	vsock_ops.queue_notify(dev, (uint16_t)(sel % 2));
}

/* At exit: the host listeners and the temp directory go (the device removed PATH itself). */
static void cleanup(void)
{
	char p[160];

	for (int i = 0; i < F_LISTENERS; i++) {
		snprintf(p, sizeof(p), "%s_%u", path, listen_ports[i]);
		unlink(p);
		if (lfd[i] >= 0)
			close(lfd[i]);
	}
	rmdir(dir);
	for (int i = 0; i < 2; i++)
		if (egress[i] >= 0)
			close(egress[i]);
}

static void setup_once(void)
{
	char p[160];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (gm_create(&gm, F_RAM, BOOT_MMIO_HOLE_GPA))
		abort();
	snprintf(dir, sizeof(dir), "/tmp/av-fuzz-vsock-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/v", dir);
	for (int i = 0; i < F_LISTENERS; i++) {
		int type = listen_ports[i] == 4 ? SOCK_SEQPACKET : SOCK_STREAM;

		snprintf(p, sizeof(p), "%s_%u", path, listen_ports[i]);
		memcpy(sa.sun_path, p, strlen(p) + 1);
		lfd[i] = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (lfd[i] < 0 || bind(lfd[i], (struct sockaddr *)&sa, sizeof(sa)) ||
		    listen(lfd[i], 64))
			abort();
	}
	/* a small queue, so the device also meets a proxy that takes no more */
	int small = 4096;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, egress) ||
	    setsockopt(egress[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)))
		abort();
	atexit(cleanup);
}

static void activate(void *dev, struct virtq *vqs, struct evl *evl, bool event_idx, bool seq)
{
	rx_seen = 0;
	for (unsigned q = 0; q < VSOCK_NR_QUEUES; q++) {
		struct fuzz_ring *r = &rings[q];
		gpa_t top = F_RAM - q * MiB(1) / 4;

		fuzz_ring_place(r, top, F_QSIZE);
		memset(gm_ptr(&gm, r->desc, top - r->desc), 0, top - r->desc);
		if (virtq_init(&vqs[q], &gm, F_QSIZE, VSOCK_QUEUE_SIZE, r->desc, r->avail, r->used,
			       event_idx, true))
			abort();
	}
	/* a Linux driver acks F_SEQPACKET alone */
	struct virtio_activation act = { .gm = &gm, .vqs = vqs, .nr_vqs = VSOCK_NR_QUEUES,
					 .evl = evl,
					 .features = seq ? 1ULL << VSOCK_F_SEQPACKET :
							   1ULL << VSOCK_F_STREAM };
	if (vsock_ops.set_features(dev, act.features) || vsock_ops.activate(dev, &act))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct in in = { data, size };
	struct virtq vqs[VSOCK_NR_QUEUES];
	struct evl evl;
	char err[256];
	int e;

	if (!ready) {
		setup_once();
		ready = true;
	}
	if (evl_init(&evl, 64))
		abort();
	struct vsock_config cfg = { .guest_cid = F_CID, .path = path, .evl = &evl, .max_conns = 8,
				    .max_pending = 4, .egress_fd = egress[0],
				    .egress_port = F_EGRESS_PORT };
	void *dev = vsock_create(&cfg, &e, err, sizeof(err));
	if (!dev) {
		fprintf(stderr, "vsock_create: %s\n", err);
		abort();
	}
	unsigned first = take(&in, 1);
	bool event_idx = first & 1, seq = first & 2;
	buf = MiB(1);
	last_host_port = 0;
	activate(dev, vqs, &evl, event_idx, seq);
	for (unsigned i = 0; i < F_MAX_OPS && in.n; i++) {
		switch (take(&in, 1) % 8) {
		case 0: op_packet(dev, &in); break;
		case 1: op_rx_bufs(dev, &in); break;
		case 2: op_listeners(&in); break;
		case 3: op_client(&in); break;
		case 4: vsock_host_ready(dev); break;
		case 5: vsock_expire(dev, UINT64_MAX / 2); break;
		case 6:
			if ((take(&in, 1) & 0xf0) == 0xf0) {
				if (vsock_ops.reset(dev))
					abort();
				activate(dev, vqs, &evl, event_idx, seq);
			}
			break;
		default: op_damage(dev, &in); break;
		}
		drain_rx();
	}
	struct vsock_stats st;
	vsock_get_stats(dev, &st);
	if (st.buffered > (uint64_t)cfg.max_conns * VSOCK_BUF_ALLOC || st.live > cfg.max_conns ||
	    st.msg_held > (uint64_t)cfg.max_conns * VSOCK_MSG_MAX)
		abort(); /* memory and connections stay bounded whatever the guest sends */
	if (vsock_ops.reset(dev))
		abort();
	evl_fini(&evl);
	vsock_ops.destroy(dev); /* closes every socket, removes PATH */
	for (int i = 0; i < nr_peers; i++)
		close(peers[i]);
	for (int i = 0; i < nr_clients; i++)
		close(clients[i]);
	nr_peers = nr_clients = 0;
	for (int i = 0; i < F_LISTENERS; i++) {
		int fd;

		while ((fd = accept4(lfd[i], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
			close(fd);
	}
	for (int fd; (fd = egress_take()) >= 0;)
		close(fd);
	return 0;
}
