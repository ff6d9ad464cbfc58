/* SPDX-License-Identifier: MIT */
/*
 * vsock_int.h: the state the three files of virtio-vsock share:
 * virtio_vsock.c (the guest's side: queues, packets, credit), vsock_conn.c
 * (connection table, polls, timer) and vsock_host.c (UNIX sockets, CONNECT
 * lines). Not for use outside them.
 *
 * A connection lives in one slot of a table of cfg->max_conns, allocated at
 * create and never moved, so a poll completion can name its slot:
 *
 *   FREE --accept--> LINE --CONNECT line--> REQ --guest RESPONSE--> OPEN
 *   FREE --guest REQUEST + connect(PATH_P)-------------------------> OPEN
 *   any live state --reset/RST/error--> RST (host socket closed, RST owed) --sent--> FREE
 *   closing with a poll on the old socket in flight: DEAD until it completes, then FREE
 *
 * A socket is never closed while a poll SQE names it (vc_in_armed/vc_out_armed:
 * set when the SQE is prepared, cleared when it completes): a prepared SQE is
 * submitted later and would find the fd number closed, or reused by another
 * socket. Closing shuts the socket down at once (the host peer sees it, and a
 * poll in flight completes with POLLHUP) and closes the fd after the last
 * completion.
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

enum vsock_state { VSC_FREE, VSC_LINE, VSC_REQ, VSC_OPEN, VSC_RST, VSC_DEAD };

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
	uint32_t vc_host_port, vc_guest_port;
	/* guest -> host: bytes taken from the guest, written to the host, last fwd_cnt told */
	uint32_t vc_rx_cnt, vc_fwd_cnt, vc_fwd_sent;
	/* host -> guest: bytes given to the guest; the guest's buf_alloc and fwd_cnt */
	uint32_t vc_tx_cnt, vc_peer_buf_alloc, vc_peer_fwd_cnt;
	uint8_t *vc_buf;            /* VSOCK_BUF_ALLOC ring for the host peer, or NULL when empty */
	uint32_t vc_buf_head, vc_buf_len;
	uint64_t vc_deadline;       /* LINE/REQ: CLOCK_MONOTONIC ns when the handshake fails */
	uint8_t vc_line_len;
	char vc_line[VSOCK_CONNECT_LINE_MAX];
	int32_t vc_hnext, vc_qnext; /* hash chain, receive-work list (slot numbers, -1 ends) */
	struct evl_op vc_in_op, vc_out_op;
};

/* An RST for a packet that has no connection. */
struct vsock_rst {
	uint32_t host_port, guest_port;
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
	struct evl *vs_evl;
	/* guest side */
	bool vs_active;
	struct vpci *vs_t;
	struct virtq *vs_rxq, *vs_txq;
	struct vq_chain *vs_chain;  /* scratch for virtq_pop */
	struct vsock_held vs_held;
	const char *vs_fail_why;    /* virtio_dev_fail() owed, called without vs_lock */
	/* connections */
	struct vsock_conn *vs_conns;
	unsigned vs_max_conns, vs_max_pending;
	unsigned vs_hwm;            /* slots [0, hwm) have been used */
	unsigned vs_alloc_next;     /* where the next free-slot search starts */
	unsigned vs_live, vs_pending;
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
	struct vsock_stats vs_stats;
};

/* ---- vsock_conn.c: table, polls, timer --------------------------------------------- */

#define VSOCK_NS_PER_MS 1000000ULL
#define VSOCK_NS_PER_S 1000000000ULL

uint64_t vsock_now_ns(void);
/* A free slot, cleared, holding (fd); NULL when every slot is taken. */
struct vsock_conn *vsock_conn_alloc(struct vsock *vs, int fd);
struct vsock_conn *vsock_conn_find(struct vsock *vs, uint32_t host_port, uint32_t guest_port);
void vsock_hash_add(struct vsock_conn *c);
void vsock_conn_set_state(struct vsock_conn *c, enum vsock_state s);
/* Close the host socket; RST owed to the guest when (rst) and it knows the connection. */
void vsock_conn_close(struct vsock_conn *c, bool rst);
/* Nothing is owed any more (its RST sent, or not needed): free the slot. */
void vsock_conn_release(struct vsock_conn *c);
/* Put (c) on the receive-work list (once). */
void vsock_queue(struct vsock_conn *c);
/* The guest's credit for (c): how many bytes it can still take. */
uint32_t vsock_guest_credit(const struct vsock_conn *c);
/* Arm the polls (c) now needs (POLLIN for a line or data within credit, POLLOUT to drain). */
void vsock_conn_poll(struct vsock_conn *c);
/* An SQE for (op), or NULL (the timer retries the arming later). Context: loop thread. */
struct io_uring_sqe *vsock_get_sqe(struct vsock *vs, struct evl_op *op);
/* Set the timerfd to the earliest handshake deadline or retry time; try again soon. */
void vsock_timer_update(struct vsock *vs);
void vsock_retry_later(struct vsock *vs);
/* The timerfd is readable (evl watch callback). */
void vsock_timer_cb(void *opaque);
/* Take a virtio_dev_fail() owed; called with vs_lock, acted on without it. */
const char *vsock_take_fail(struct vsock *vs);

/* ---- vsock_host.c: sockets ----------------------------------------------------------- */

/* Listener and timer, at create; everything closed and PATH removed at destroy. */
int vsock_host_init(struct vsock *vs, const struct vsock_config *cfg, char *err, size_t errlen);
void vsock_host_fini(struct vsock *vs);
/* Poll the listener (once); accept what waits, a bounded number at a time. */
void vsock_listen_arm(struct vsock *vs);
void vsock_accept_some(struct vsock *vs);
/* Read the CONNECT line of a LINE connection, as far as it came. */
void vsock_line_read(struct vsock_conn *c);
/* Guest REQUEST to VSOCK_HOST_CID:(host_port): connect PATH_<port>, or RST. */
void vsock_guest_connect(struct vsock *vs, const struct virtio_vsock_hdr *h);
/* Guest RESPONSE to our REQUEST: "OK <port>\n" to the host peer. */
void vsock_host_accepted(struct vsock_conn *c);
/* Guest payload (iov, nr, len) for the host peer; the caller checked the credit. */
void vsock_conn_write(struct vsock_conn *c, struct iovec *iov, int nr, uint32_t len);
/* Write buffered bytes; finish a half/full close the guest asked for once drained. */
void vsock_conn_flush(struct vsock_conn *c);
/* Read from the host peer's stream into (iov, nr). Return: bytes, 0 at EOF, or -errno. */
ssize_t vsock_conn_read(struct vsock_conn *c, const struct iovec *iov, int nr);
/* Apply the guest's SHUTDOWN (flags) to the host socket. */
void vsock_conn_guest_shutdown(struct vsock_conn *c, uint32_t flags);

/* ---- virtio_vsock.c -------------------------------------------------------- */

/* Send what the connections owe and read host data into receive buffers. */
void vsock_rx_run_locked(struct vsock *vs);
/* Owe an RST for a packet with no connection (dropped and counted when the ring is full). */
void vsock_rst_orphan(struct vsock *vs, uint32_t host_port, uint32_t guest_port);

#endif
