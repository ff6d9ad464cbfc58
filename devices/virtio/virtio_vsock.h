/* SPDX-License-Identifier: MIT */
/*
 * virtio_vsock.h: virtio-vsock (virtio 1.2 §5.10) served in agentvmm's own
 * process, with the host side on UNIX sockets ("hybrid vsock", as Firecracker
 * and Cloud Hypervisor do it). docs/vsock.md is the user's guide.
 *
 * Queues: 0 receive (device -> guest), 1 transmit (guest -> device), 2 event
 * (buffers are taken by the guest and never used: no transport reset is ever
 * sent, there is no snapshot restore). Config space: le64 guest_cid. Features:
 * VIRTIO_VSOCK_F_STREAM (implied anyway) and VIRTIO_VSOCK_F_SEQPACKET; no DGRAM.
 * Each connection keeps the type of its REQUEST; a SEQPACKET one only when
 * the driver acked F_SEQPACKET.
 *
 * Every packet is a 44-byte struct virtio_vsock_hdr and, for OP_RW, len bytes
 * of payload; the header may be split over descriptors (virtio 1.2 §2.6.4).
 *
 * Host side, with --vsock cid=N,socket=PATH:
 *
 *   host -> guest   agentvmm listens on PATH. A host program connects, writes
 *                   "CONNECT <port>\n" (at most VSOCK_CONNECT_LINE_MAX bytes
 *                   with the newline, within VSOCK_CONNECT_TIMEOUT_MS of the
 *                   accept), agentvmm sends the guest OP_REQUEST from host
 *                   port H to <port>, and on OP_RESPONSE writes "OK <H>\n";
 *                   from then on the socket is the stream. OP_RST, a bad or
 *                   late line, limits: the socket is closed without "OK".
 *   guest -> host   a guest connect to CID 2 port P makes agentvmm connect
 *                   (non-blocking) to the UNIX socket "PATH_P", SOCK_STREAM or
 *                   SOCK_SEQPACKET as the guest's socket; nobody there (or a
 *                   listener of the other type): OP_RST at once.
 *
 * SEQPACKET (virtio 1.2 §5.10.6, "Seqpacket Sockets"; guest-started
 * connections only, a CONNECT line carries no message boundaries): a message
 * is the OP_RW packets up to one with VIRTIO_VSOCK_SEQ_EOM. Guest -> host, it
 * is gathered and becomes one sendmsg() on the host socket; it may be at most
 * VSOCK_MSG_MAX bytes (more: the connection is reset). Host -> guest, one
 * message read from the host socket goes out as packets, the last one with
 * EOM, once the guest's credit covers all of it (larger than the guest's
 * buf_alloc or VSOCK_MSG_MAX: reset). SEQ_EOR cannot be told through AF_UNIX
 * and is dropped; empty messages are dropped both ways (a SOCK_SEQPACKET
 * reader cannot tell one from EOF).
 *
 * Flow control (virtio 1.2 §5.10.6.3): every header carries buf_alloc and
 * fwd_cnt. Guest -> host, agentvmm advertises VSOCK_BUF_ALLOC per connection
 * and keeps at most that many bytes per connection for a host peer that does
 * not read (a guest sending beyond its credit gets the connection reset).
 * Host -> guest, agentvmm reads from a host socket only as much as the
 * guest's credit (its buf_alloc - (tx_cnt - fwd_cnt)) allows, straight into a
 * receive buffer, so nothing is buffered that way (SEQPACKET: a message longer
 * than a receive buffer is held whole, at most VSOCK_MSG_MAX per connection).
 * The transmit queue is never held up by one connection: every chain is
 * consumed at once.
 */
#ifndef AGENTVMM_DEVICES_VIRTIO_VIRTIO_VSOCK_H
#define AGENTVMM_DEVICES_VIRTIO_VIRTIO_VSOCK_H

#include <linux/virtio_vsock.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/virtio_dev.h"
#include "vmm/compiler.h"
#include "vmm/evloop.h"

#define VSOCK_QUEUE_SIZE 256
#define VSOCK_RXQ 0
#define VSOCK_TXQ 1
#define VSOCK_EVQ 2
#define VSOCK_NR_QUEUES 3
#define VSOCK_HDR_LEN 44
_Static_assert(sizeof(struct virtio_vsock_hdr) == VSOCK_HDR_LEN, "virtio 1.2 §5.10.6");

#define VSOCK_F_STREAM 0              /* virtio 1.2 §5.10.3: VIRTIO_VSOCK_F_STREAM */
#define VSOCK_F_SEQPACKET 1           /* virtio 1.2 §5.10.3: VIRTIO_VSOCK_F_SEQPACKET */
_Static_assert(VSOCK_F_SEQPACKET == VIRTIO_VSOCK_F_SEQPACKET, "<linux/virtio_vsock.h>");
#define VSOCK_HOST_CID 2              /* VMADDR_CID_HOST */
#define VSOCK_MIN_GUEST_CID 3         /* 0-2 are reserved (hypervisor, local, host) */
#define VSOCK_MAX_GUEST_CID 0xfffffffeU /* 0xffffffff is VMADDR_CID_ANY */
#define VSOCK_PORT_ANY 0xffffffffU    /* VMADDR_PORT_ANY: never a real port */

/* Limits (docs/vsock.md "Limits"). */
#define VSOCK_BUF_ALLOC (256 * 1024)  /* credit given per connection; bytes kept for a host peer */
#define VSOCK_MAX_PKT (64 * 1024)     /* payload of one packet either way (Linux's MAX_PKT_BUF_SIZE) */
#define VSOCK_MSG_MAX VSOCK_BUF_ALLOC /* a SEQPACKET message either way (Linux's: our buf_alloc) */
#define VSOCK_MAX_CONNS 1024          /* connections per VM, all states (RLIMIT_NOFILE: lower) */
#define VSOCK_HOST_RESERVE 64         /* of them kept for host CONNECTs (at most a quarter) */
#define VSOCK_FD_RESERVE 512          /* fds left to the rest of agentvmm (vsock_create()) */
#define VSOCK_MIN_CONNS 8             /* the limit however low RLIMIT_NOFILE is */
#define VSOCK_MAX_PENDING 64          /* host connections still in the CONNECT handshake */
#define VSOCK_CONNECT_LINE_MAX 64     /* "CONNECT <port>\n", newline included */
#define VSOCK_CONNECT_TIMEOUT_MS 5000 /* accept -> the whole CONNECT line, or it is closed */
#define VSOCK_RESPONSE_TIMEOUT_MS 30000 /* the CONNECT line -> the guest's answer ("OK") */
#define VSOCK_DRAIN_TIMEOUT_MS 30000  /* a guest-closed connection's last bytes -> the host peer */
#define VSOCK_HOST_PORT_BASE (1U << 30) /* host ports agentvmm picks for host connections */
#define VSOCK_PATH_MAX 96             /* PATH, so that "PATH_4294967295" fits sun_path */
/*
 * Work per transmit pass (issue 14): a pass takes at most this many chains, or
 * stops once it has taken this many bytes of them (header and payload; the
 * chain that crosses it is the last), then the rest is taken at the event
 * loop's next turn, after the other fds' completions, so a guest that posts
 * as fast as it is served cannot hold the loop. Half a full queue: a queue
 * posted full in one go takes two passes.
 */
#define VSOCK_TX_PASS_CHAINS 128
#define VSOCK_TX_PASS_BYTES (1024 * 1024)

struct vsock_config {
	uint64_t guest_cid;       /* VSOCK_MIN_GUEST_CID..VSOCK_MAX_GUEST_CID */
	const char *path;         /* the hybrid socket PATH; NULL: no listener, no PATH_P (tests) */
	struct evl *evl;          /* the loop the device's sockets and timer are watched on */
	unsigned max_conns;       /* 0: VSOCK_MAX_CONNS (tests use small limits) */
	unsigned max_pending;     /* 0: VSOCK_MAX_PENDING */
	/*
	 * agentvmm's own sessions (guest-init/session_proto.h), with job_port
	 * and exec_port non-zero: the guest's first connection to host port
	 * job_port gets job_fd (taken over by the device; -1: none), never a
	 * PATH_<port> socket; a host CONNECT line may not name exec_port, which
	 * only vsock_inject() reaches.
	 */
	int job_fd;
	uint32_t job_port, exec_port;
	/*
	 * --egress (docs/net.md "Egress"), with egress_port non-zero: each guest
	 * connection to host port egress_port becomes one end of a new AF_UNIX
	 * stream socket pair; the other end goes to the egress proxy as one
	 * 1-byte SEQPACKET message on egress_fd with it attached (SCM_RIGHTS).
	 * The proxy's queue full, or the proxy gone: OP_RST. The device
	 * borrows egress_fd (never closes it); the guest's connection limits
	 * apply as to PATH_<port> connections.
	 */
	int egress_fd;
	uint32_t egress_port;
};

/* Counters; read with vsock_get_stats(). */
struct vsock_stats {
	uint64_t opened;          /* connections that reached the connected state */
	uint64_t refused;         /* guest REQUESTs and host CONNECTs nobody took, or over a limit */
	uint64_t rst_sent;        /* RST packets given to the guest */
	uint64_t rst_dropped;     /* RSTs for unknown connections dropped: their queue was full */
	uint64_t bad_pkts;        /* guest packets with a bad header or chain */
	uint64_t credit_lies;     /* connections reset for sending beyond their credit */
	uint64_t bytes_to_host, bytes_to_guest;
	unsigned live;            /* connections now (every state but closed) */
	unsigned pending;         /* of which host connections still in the handshake */
	uint64_t buffered;        /* bytes now held for host peers that do not read */
	uint64_t drain_expired;   /* guest-closed connections whose host peer did not read their
				   * last bytes within VSOCK_DRAIN_TIMEOUT_MS (the rest dropped) */
	uint64_t msgs_to_host, msgs_to_guest; /* SEQPACKET messages delivered */
	uint64_t msgs_too_big;    /* SEQPACKET connections reset for a message over the limit */
	uint64_t msg_held;        /* bytes of host messages now held for the guest (SEQPACKET) */
	uint64_t passes_deferred; /* transmit passes cut at VSOCK_TX_PASS_*, the rest resumed */
	unsigned max_conns;       /* the connection limit in force */
};

/*
 * vsock_create() - a virtio-vsock device for vsock_ops. With (cfg->path):
 * PATH's directory must exist; a live listener at PATH is refused, a stale
 * socket replaced, anything else at PATH refused; the new socket is mode
 * 0600 and removed again by destroy (only if it is still ours). Each
 * connection holds an fd: the soft RLIMIT_NOFILE is raised towards the hard
 * one as far as max_conns + VSOCK_FD_RESERVE (process-wide; call this before
 * the sandbox), and max_conns lowered to what it then leaves.
 * Return: the device, or NULL with one line in (err) and (*errp) -EINVAL
 * (user error: path, live listener, cid) or -ENOMEM / -errno (host).
 * Context: setup thread, before the event loop starts.
 */
void *vsock_create(const struct vsock_config *cfg, int *errp, char *err, size_t errlen);

/*
 * vsock_start() - watch the device's timer on (evl); its first tick, on the
 * loop thread, starts accepting on PATH. vsock_create() does this itself when
 * (cfg->evl) is given; otherwise call it once the loop exists (so PATH can be
 * claimed before it, with the other input checks).
 * Return: 0 or -ENOSPC (the loop watches too many fds).
 * Context: setup thread, before the loop starts.
 */
int vsock_start(void *dev, struct evl *evl) __must_check;

/*
 * vsock_tx_hdr_check() - whether a guest packet header (h, already copied
 * out of guest memory) with (avail) bytes after it in its chain may be
 * processed for a guest with (guest_cid): type STREAM, or SEQPACKET when
 * (seqpacket) was negotiated; a known op (REQUEST .. CREDIT_REQUEST); src_cid
 * == guest_cid; dst_cid == VSOCK_HOST_CID; no port is VSOCK_PORT_ANY; len <=
 * avail and <= VSOCK_MAX_PKT, and 0 unless the op is RW; flags 0 except
 * SHUTDOWN's RCV/SEND bits and a SEQPACKET RW's SEQ_EOM/SEQ_EOR.
 * Return: 0; -EMSGSIZE (len); -EPROTOTYPE (type); -EOPNOTSUPP (op); -EINVAL
 * (cid, port, flags). Context: pure. Guest: everything.
 */
int vsock_tx_hdr_check(const struct virtio_vsock_hdr *h, uint64_t guest_cid, uint32_t avail,
		       bool seqpacket) __must_check;

/*
 * vsock_connect_scan() - look for a complete CONNECT line at the start of the
 * (len) bytes a host peer sent (buf): "CONNECT", one space, 1 to 10 decimal
 * digits, '\n', VSOCK_CONNECT_LINE_MAX bytes at most; the port must be below
 * VSOCK_PORT_ANY. (*used) is the line's length with its newline.
 * Return: 1 line found ((*port), (*used) set); 0 no newline yet and fewer than
 * VSOCK_CONNECT_LINE_MAX bytes; -EMSGSIZE longer than that; -EINVAL malformed
 * (also a port out of range). Context: pure. Guest: no; the host peer: all.
 */
int vsock_connect_scan(const char *buf, size_t len, uint32_t *port, size_t *used) __must_check;

/*
 * vsock_host_ready() - act as if every host socket of the device (listener,
 * connections) were readable and writable: accept, read CONNECT lines, move
 * data both ways as far as credit and buffers allow. The device's own poll
 * completions do the same per socket; exported for tests and fuzzing.
 * Context: event-loop thread.
 */
void vsock_host_ready(void *dev);

/*
 * vsock_expire() - close host connections whose CONNECT handshake passed its
 * deadline at CLOCK_MONOTONIC time (now_ns) (the device's timer does this with
 * the real time); exported for tests. Context: event-loop thread.
 */
void vsock_expire(void *dev, uint64_t now_ns);

/*
 * vsock_inject() - connect host socket (fd) to guest port (port) as if a host
 * program had sent "CONNECT <port>" on PATH (also a reserved port): the
 * device takes (fd) over (also on failure), writes "OK <hostport>\n" to it
 * once the guest accepted, or closes it when the guest refuses. The work is
 * done on the loop thread; this only queues it.
 * Return: 0; -EAGAIN (too many queued), -EBADF, -errno. Context: any thread
 * after vsock_start().
 */
int vsock_inject(void *dev, int fd, uint32_t port) __must_check;

/*
 * vsock_inject_ready() - take the connections vsock_inject() queued (the
 * device's own watch does this on the loop; exported for tests).
 * Context: event-loop thread.
 */
void vsock_inject_ready(void *dev);

/* vsock_get_stats() - a snapshot of the counters. Context: any thread. */
void vsock_get_stats(void *dev, struct vsock_stats *out);

/*
 * vsock_ops - threads: queue_notify, the sockets' poll completions and the
 * timer run on the loop thread and do non-blocking socket I/O under the
 * device lock; activate/reset (vCPU thread) take only that lock: reset
 * shuts down and closes every connection (a poll still in flight on a closed
 * socket completes later and only frees its slot) except those still
 * delivering what the guest sent before it closed them (vsock_int.h, DRAIN).
 * destroy (after the loop stopped) closes the listener and removes PATH.
 * virtio_dev_fail() is called without the device lock.
 */
extern const struct virtio_dev_ops vsock_ops;

#endif
