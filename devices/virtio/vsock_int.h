/* SPDX-License-Identifier: MIT */
/*
 * vsock_int.h: the state the three files of virtio-vsock share:
 * virtio_vsock.c (the guest's side: queues, packets, credit), vsock_conn.c
 * (connection table, polls, timer) and vsock_host.c (UNIX sockets, CONNECT
 * lines). Not for use outside them.
 *
 * A connection lives in one slot of a table of vs_max_conns (cfg->max_conns,
 * lowered to what RLIMIT_NOFILE allows), allocated at create and never moved,
 * so a poll completion can name its slot:
 *
 *   FREE --accept--> LINE --CONNECT line--> REQ --guest RESPONSE--> OPEN
 *   FREE --guest REQUEST + connect(PATH_P)-------------------------> OPEN
 *   OPEN --guest SHUTDOWN both ways, or RST, with bytes held for the host peer--> DRAIN
 *   DRAIN --held bytes written, or VSOCK_DRAIN_TIMEOUT_MS passed--> FREE (or RST if still owed)
 *   any live state --reset/RST/error--> RST (host socket closed, RST owed) --sent--> FREE
 *   closing with a poll on the old socket in flight: DEAD until it completes, then FREE
 *
 * DRAIN is the host side alone: the connection has left the guest-visible
 * table (vs_hash), the guest had its RST at once (as Linux answers a full
 * shutdown), and what the guest sent before closing still reaches the host
 * peer (Linux keeps received data readable after an RST too). A device reset
 * keeps DRAIN connections; their owed RST is dropped with the old driver.
 *
 * A socket is never closed while a poll SQE names it (vc_in_armed/vc_out_armed:
 * set when the SQE is prepared, cleared when it completes): a prepared SQE is
 * submitted later and would find the fd number closed, or reused by another
 * socket. Closing shuts the socket down at once (the host peer sees it, and a
 * poll in flight completes with POLLHUP) and closes the fd after the last
 * completion.
 *
 * A SEQPACKET connection (vc_seq) keeps whole messages. Guest -> host, the
 * byte ring vc_buf also holds the message still being gathered (vc_seq_part
 * bytes at its end) and the complete ones the host socket did not take yet
 * (vc_seq_msgs), each ending where a bit of the bitmap after the ring
 * (VSOCK_SEQ_ENDS bytes) is set: as many messages as the credit's bytes, no
 * list to grow. Host -> guest, a message too big for one receive buffer is
 * read whole into vc_msg and given out from there.
 *
 * All fields are guarded by vs_lock.
 */
#ifndef AGENTVMM_DEVICES_VIRTIO_VSOCK_INT_H
#define AGENTVMM_DEVICES_VIRTIO_VSOCK_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "devices/virtio/virtio_vsock.h"

#define VSOCK_HASH_SIZE 1024      /* buckets of (host port, guest port) */
#define VSOCK_RST_RING 128        /* RSTs owed for packets of unknown connections */
#define VSOCK_RX_SEGS 16          /* writable segments used of one receive chain */
#define VSOCK_TX_IOV 256          /* payload segments of one transmit packet */
#define VSOCK_CREDIT_LOW VSOCK_MAX_PKT /* tell the guest fwd_cnt once its view of free space is below */
#define VSOCK_ACCEPT_BUDGET 16    /* accepts per listener wake-up */
#define VSOCK_RETRY_MS 100        /* out of fds or SQEs: try again after this */
#define VSOCK_PORT_TRIES 64       /* host ports tried for a CONNECT before giving up */
#define VSOCK_SEQ_ENDS (VSOCK_BUF_ALLOC / 8) /* the message-end bitmap after a SEQPACKET ring */
#define VSOCK_EMPTY_BUDGET 16     /* empty host messages dropped per read */
#define VSOCK_SEQ_SNDBUF (VSOCK_MSG_MAX + 4096) /* SO_SNDBUF: a whole message fits (less 32) */

enum vsock_state { VSC_FREE, VSC_LINE, VSC_REQ, VSC_OPEN, VSC_DRAIN, VSC_RST, VSC_DEAD };

/* Control packets a connection owes the guest (vc_owe), in the order they go out. */
#define VSC_OWE_RST (1U << 0)
#define VSC_OWE_REQUEST (1U << 1)
#define VSC_OWE_RESPONSE (1U << 2)
#define VSC_OWE_SHUTDOWN (1U << 3)
#define VSC_OWE_CREDIT_UPDATE (1U << 4)
#define VSC_OWE_CREDIT_REQUEST (1U << 5)

struct vsock;

struct vsock_conn {
	struct vsock *vc_vs;
	int vc_fd;                  /* the host socket; -1 once closed */
	bool vc_fd_shut;            /* shut down both ways: closed once no poll names it */
	uint8_t vc_state;           /* enum vsock_state */
	uint8_t vc_owe;             /* VSC_OWE_* */
	uint8_t vc_shut_flags;      /* VIRTIO_VSOCK_SHUTDOWN_* to tell the guest (host side closed) */
	bool vc_req_sent;           /* VSC_REQ: the REQUEST went to the guest */
	bool vc_guest_no_send;      /* the guest sent SHUTDOWN SEND */
	bool vc_guest_no_recv;      /* the guest sent SHUTDOWN RCV */
	bool vc_host_eof;           /* the host peer shut its writing side (read gave 0) */
	bool vc_wr_shut;            /* we shut the host socket's writing side */
	bool vc_readable;           /* the host socket has data or EOF we have not read */
	bool vc_credit_asked;       /* CREDIT_REQUEST sent while the guest's credit was 0 */
	bool vc_in_armed, vc_out_armed; /* a POLLIN / POLLOUT poll SQE is in flight */
	bool vc_queued;             /* on the receive-work list */
	bool vc_hashed;             /* in vs_hash (REQ, OPEN, RST) */
	bool vc_from_guest;         /* the guest started it (counted in vs_guest_live) */
	bool vc_seq;                /* SOCK_SEQPACKET: every packet says so, whole messages */
	uint32_t vc_host_port, vc_guest_port;
	/* guest -> host: bytes taken from the guest, written to the host, last fwd_cnt told */
	uint32_t vc_rx_cnt, vc_fwd_cnt, vc_fwd_sent;
	/* host -> guest: bytes given to the guest; the guest's buf_alloc and fwd_cnt */
	uint32_t vc_tx_cnt, vc_peer_buf_alloc, vc_peer_fwd_cnt;
	uint8_t *vc_buf;            /* VSOCK_BUF_ALLOC ring for the host peer, or NULL when empty;
				     * SEQPACKET: VSOCK_SEQ_ENDS bytes of message ends follow */
	uint32_t vc_buf_head, vc_buf_len;
	uint32_t vc_seq_part;       /* SEQPACKET: bytes of the guest's unfinished message */
	uint32_t vc_seq_msgs;       /* SEQPACKET: complete messages in the ring */
	uint8_t *vc_msg;            /* SEQPACKET: a host message going to the guest, or NULL */
	uint32_t vc_msg_len, vc_msg_off;
	uint32_t vc_msg_need;       /* SEQPACKET: the next host message waits for this credit */
	uint64_t vc_deadline;       /* LINE/REQ/DRAIN: CLOCK_MONOTONIC ns when it is closed */
	uint8_t vc_line_len;
	char vc_line[VSOCK_CONNECT_LINE_MAX];
	int32_t vc_hnext, vc_qnext; /* hash chain, receive-work list (slot numbers, -1 ends) */
	struct evl_op vc_in_op, vc_out_op;
};

/* An RST for a packet that has no connection. */
struct vsock_rst {
	uint32_t host_port, guest_port;
	uint16_t type;              /* the packet's (a guest drops an RST of the other type) */
};

/* A receive chain popped and not used yet: its writable segments. */
struct vsock_held {
	bool valid;
	uint16_t head;
	uint16_t nr;
	uint32_t cap;
	struct iovec iov[VSOCK_RX_SEGS];
};

struct vsock {
	pthread_mutex_t vs_lock;
	uint64_t vs_cid;
	char vs_path[VSOCK_PATH_MAX + 1]; /* "" without a listener */
	dev_t vs_path_dev;
	ino_t vs_path_ino;
	bool vs_path_own;           /* PATH is our socket: unlink it at destroy */
	int vs_lfd, vs_tfd;         /* listener, timerfd */
	int vs_inject_rx, vs_inject_tx; /* vsock_inject(): fds with their port, to the loop thread */
	int vs_job_fd;              /* for the guest's connection to vs_job_port; -1: taken/none */
	uint32_t vs_job_port, vs_exec_port; /* 0: none */
	int vs_egress_fd;           /* borrowed: the egress proxy's control socket; -1: none */
	uint32_t vs_egress_port;    /* 0: none */
	struct evl *vs_evl;
	/* guest side */
	bool vs_active;
	bool vs_seqpacket;          /* the driver acked VIRTIO_VSOCK_F_SEQPACKET */
	struct vpci *vs_t;
	struct virtq *vs_rxq, *vs_txq;
	struct vq_chain *vs_chain;  /* scratch for virtq_pop */
	struct vsock_held vs_held;
	const char *vs_fail_why;    /* virtio_dev_fail() owed, called without vs_lock */
	/* connections */
	struct vsock_conn *vs_conns;
	unsigned vs_max_conns, vs_max_pending;
	unsigned vs_host_reserve;   /* slots guest-started connections cannot take */
	unsigned vs_hwm;            /* slots [0, hwm) have been used */
	unsigned vs_alloc_next;     /* where the next free-slot search starts */
	unsigned vs_live, vs_pending, vs_guest_live;
	uint64_t vs_hash_key[2];    /* getrandom() at create: the guest cannot aim at a bucket */
	int32_t vs_hash[VSOCK_HASH_SIZE];
	int32_t vs_qhead, vs_qtail; /* receive-work list */
	struct vsock_rst vs_rst[VSOCK_RST_RING];
	unsigned vs_rst_first, vs_rst_nr;
	uint32_t vs_next_port;
	/* loop plumbing */
	bool vs_listen_armed, vs_listen_paused, vs_rearm; /* vs_rearm: a poll could not be armed */
	struct evl_op vs_listen_op;
	uint64_t vs_timer_at;       /* when the timerfd fires (CLOCK_MONOTONIC ns), 0: disarmed */
	uint64_t vs_retry_at;       /* listener pause / SQE shortage: try again then */
	int vs_resume_efd;          /* eventfd, always readable: a poll on it completes at once */
	struct evl_op vs_resume_op;
	bool vs_resume_armed;       /* its poll SQE is queued or in flight */
	bool vs_resume_tx;          /* a transmit pass is owed (VSOCK_TX_PASS_*) */
	struct vsock_stats vs_stats;
};

/* ---- vsock_conn.c: table, polls, timer --------------------------------------------- */
/* Context, unless said otherwise: vs_lock held, on the loop thread or a vCPU thread's reset. */

#define VSOCK_NS_PER_MS 1000000ULL
#define VSOCK_NS_PER_S 1000000000ULL

/* vsock_now_ns() - CLOCK_MONOTONIC in ns. Context: any thread. */
uint64_t vsock_now_ns(void);

/*
 * vsock_table_init() - the connection table for (cfg) in (vs): the limit
 * (cfg->max_conns, lowered to what RLIMIT_NOFILE leaves after
 * VSOCK_FD_RESERVE, whose soft value is raised towards the hard one first),
 * the host's reserve, the hash and its secret key.
 * Return: 0, or -ENOMEM with one line in (err). Context: setup, before the sandbox.
 */
int vsock_table_init(struct vsock *vs, const struct vsock_config *cfg, char *err,
		     size_t errlen) __must_check;

/*
 * vsock_conn_alloc() - a free slot, cleared, holding (fd).
 * Return: the slot, or NULL when every slot is taken (live ones, and closed
 * ones whose poll has not completed yet).
 */
struct vsock_conn *vsock_conn_alloc(struct vsock *vs, int fd) __must_check;

/*
 * vsock_conn_find() - the connection (host_port, guest_port) names in the
 * guest-visible table (REQ, OPEN, RST). Return: it, or NULL.
 * Guest: both ports (a keyed hash: the guest cannot pick colliding ones).
 */
struct vsock_conn *vsock_conn_find(struct vsock *vs, uint32_t host_port,
				   uint32_t guest_port) __must_check;

/* vsock_hash_add() - put (c), its ports set, in the guest-visible table. */
void vsock_hash_add(struct vsock_conn *c);

/* vsock_conn_set_state() - move (c) to (s), keeping the live/pending/guest counts. */
void vsock_conn_set_state(struct vsock_conn *c, enum vsock_state s);

/*
 * vsock_conn_close() - close (c)'s host socket and drop what it holds; an RST
 * is owed to the guest when (rst) and the guest knows the connection (OPEN,
 * REQ with the REQUEST sent, DRAIN whose RST has not gone out).
 * Guest: (rst) is often the guest's doing (a bad packet).
 */
void vsock_conn_close(struct vsock_conn *c, bool rst);

/*
 * vsock_conn_drain() - the guest is done with OPEN (c) while bytes it sent
 * are still held for the host peer: take (c) out of the guest-visible table
 * and keep writing them (DRAIN) until they are all out or
 * VSOCK_DRAIN_TIMEOUT_MS passed, then close. (rst): answer the guest's full
 * SHUTDOWN with an RST now. Guest: when (a SHUTDOWN or RST packet).
 */
void vsock_conn_drain(struct vsock_conn *c, bool rst);

/* vsock_msg_drop() - SEQPACKET: free the host message held for the guest (vc_msg), if any. */
void vsock_msg_drop(struct vsock_conn *c);

/* vsock_conn_release() - nothing is owed any more (its RST sent, or not needed): free the slot. */
void vsock_conn_release(struct vsock_conn *c);

/* vsock_queue() - put (c) on the receive-work list (once). */
void vsock_queue(struct vsock_conn *c);

/*
 * vsock_guest_credit() - how many bytes the guest can still take on (c).
 * Return: its buf_alloc - (tx_cnt - fwd_cnt), 0 when that is negative.
 * Guest: buf_alloc and fwd_cnt, from its latest header.
 */
uint32_t vsock_guest_credit(const struct vsock_conn *c);

/*
 * vsock_credit_ok() - whether the guest's credit lets (c) read from its host
 * peer: at least a byte, and for SEQPACKET all of the message that waits
 * (vc_msg_need). Guest: buf_alloc and fwd_cnt.
 */
bool vsock_credit_ok(const struct vsock_conn *c);

/*
 * vsock_conn_poll() - arm the polls (c) now needs: POLLIN for a CONNECT line
 * or for data within the guest's credit, POLLOUT to write held bytes. An SQE
 * that cannot be had is retried by the timer. Context: loop thread.
 */
void vsock_conn_poll(struct vsock_conn *c);

/*
 * vsock_get_sqe() - an SQE for (op).
 * Return: it, or NULL (loop stopping, or no SQE: vs_rearm set, the timer
 * retries the arming later). Context: loop thread.
 */
struct io_uring_sqe *vsock_get_sqe(struct vsock *vs, struct evl_op *op) __must_check;

/* vsock_timer_update() - the timerfd at the earliest deadline or retry time (or off). */
void vsock_timer_update(struct vsock *vs);

/* vsock_retry_later() - try the listener / the polls again in VSOCK_RETRY_MS. */
void vsock_retry_later(struct vsock *vs);

/* vsock_timer_cb() - the timerfd is readable (evl watch). Context: loop thread, no lock. */
void vsock_timer_cb(void *opaque);

/*
 * vsock_unlock_and_fail() - drop vs_lock, then report the virtio_dev_fail()
 * owed, if any (the transport's lock is never taken with ours held). The
 * transport pointer is read before unlocking: activate() writes it on a vCPU.
 * Context: loop thread, with vs_lock; returns without it.
 */
void vsock_unlock_and_fail(struct vsock *vs);

/* ---- vsock_host.c: sockets ----------------------------------------------------------- */

/*
 * vsock_host_init() - the listener at cfg->path (if any) and the timer, at create.
 * Return: 0; -EINVAL (user error: path, live listener) or -errno, with one line
 * in (err). Context: setup.
 */
int vsock_host_init(struct vsock *vs, const struct vsock_config *cfg, char *err,
		    size_t errlen) __must_check;

/* vsock_host_fini() - close every socket and the timer, remove PATH if ours. Context: destroy. */
void vsock_host_fini(struct vsock *vs);

/* vsock_listen_arm() - poll the listener (once). Context: loop thread. */
void vsock_listen_arm(struct vsock *vs);

/* vsock_accept_some() - accept what waits, VSOCK_ACCEPT_BUDGET at a time. Context: loop thread. */
void vsock_accept_some(struct vsock *vs);

/* vsock_line_read() - read LINE (c)'s CONNECT line as far as it came. Context: loop thread. */
void vsock_line_read(struct vsock_conn *c);

/*
 * vsock_guest_connect() - guest REQUEST (h) to VSOCK_HOST_CID:dst_port: connect
 * PATH_<port> with a socket of (h)'s type (SOCK_STREAM or SOCK_SEQPACKET) and
 * answer RESPONSE, or RST (nobody there, a listener of the other type, a limit).
 * Guest: the whole header (checked), how often.
 */
void vsock_guest_connect(struct vsock *vs, const struct virtio_vsock_hdr *h);

/* vsock_host_accepted() - the guest's RESPONSE to REQ (c): "OK <port>\n" to the host peer. */
void vsock_host_accepted(struct vsock_conn *c);

/*
 * vsock_conn_write() - guest payload (iov, nr, len) for OPEN (c)'s host peer:
 * written now, the rest held. The caller checked the credit. Guest: the payload.
 */
void vsock_conn_write(struct vsock_conn *c, struct iovec *iov, int nr, uint32_t len);

/*
 * vsock_conn_write_msg() - SEQPACKET: guest payload (iov, nr, len) of OPEN
 * (c)'s current message, its last part when (eom): a whole message is sent
 * with one sendmsg() now, or held (with what comes after it) until the host
 * socket takes it. The caller checked the credit and VSOCK_MSG_MAX.
 * Guest: the payload, where messages end.
 */
void vsock_conn_write_msg(struct vsock_conn *c, struct iovec *iov, int nr, uint32_t len,
			  bool eom);

/*
 * vsock_conn_cut_part() - SEQPACKET: drop the guest's unfinished message (it
 * stopped sending: SHUTDOWN, RST); the host peer can take only whole ones.
 */
void vsock_conn_cut_part(struct vsock_conn *c);

/* vsock_conn_flush() - write held bytes; finish a close the guest asked for once drained. */
void vsock_conn_flush(struct vsock_conn *c);

/*
 * vsock_conn_read() - read from (c)'s host peer into (iov, nr).
 * Return: bytes, 0 at EOF, or -errno (-EAGAIN: nothing there).
 */
ssize_t vsock_conn_read(struct vsock_conn *c, const struct iovec *iov, int nr) __must_check;

/*
 * vsock_conn_msg_peek() - SEQPACKET: the length of the host peer's next
 * message, without taking it; empty messages are taken and dropped.
 * Return: the length; 0 at EOF; -EAGAIN nothing there (yet); -errno.
 */
ssize_t vsock_conn_msg_peek(struct vsock_conn *c) __must_check;

/*
 * vsock_conn_msg_read() - SEQPACKET: take the host peer's next message, of
 * (len) bytes as vsock_conn_msg_peek() said, into (iov, nr), which hold len.
 * Return: 0, or -errno (-EIO: not len bytes).
 */
int vsock_conn_msg_read(struct vsock_conn *c, struct iovec *iov, int nr,
			uint32_t len) __must_check;

/* vsock_conn_guest_shutdown() - apply the guest's SHUTDOWN (flags). Guest: (flags), when. */
void vsock_conn_guest_shutdown(struct vsock_conn *c, uint32_t flags);

/* ---- virtio_vsock.c -------------------------------------------------------- */

/* vsock_rx_run_locked() - send what the connections owe; read host data into receive buffers. */
void vsock_rx_run_locked(struct vsock *vs);

/*
 * vsock_rst_orphan() - owe an RST of (type) for a packet with no connection
 * (dropped and counted when VSOCK_RST_RING are owed already).
 * Guest: the ports, the type, how often.
 */
void vsock_rst_orphan(struct vsock *vs, uint32_t host_port, uint32_t guest_port, uint16_t type);

#endif
