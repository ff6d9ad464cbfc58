/* SPDX-License-Identifier: MIT */
/*
 * evloop.h: the I/O event loop: one thread owning one io_uring, which both
 * waits on file descriptors (queue-notify eventfds, sockets, taps) and runs
 * asynchronous I/O (disk reads/writes/flushes) for the devices.
 *
 * Only the loop thread touches the ring. Work from other threads reaches it
 * through an fd it watches (an eventfd the other thread writes).
 *
 * Completions never overflow. The CQ is sized for (max_ops) operations from
 * evl_get_sqe() plus EVL_RESERVED_OPS (one poll per watch, the stop poll and
 * the teardown cancel); evl_get_sqe() refuses an operation beyond max_ops, so
 * every CQE has its slot however slowly the loop reaps. Watches never take
 * from max_ops: a watch is always re-armed. When the SQ is full and the
 * kernel refuses to submit (-EBUSY, -EAGAIN), the watch waits and the loop
 * retries after reaping; if it still cannot be armed after rearm_timeout_ms,
 * the loop reports it through (fail) and keeps trying.
 */
#ifndef AGENTVMM_VMM_EVLOOP_H
#define AGENTVMM_VMM_EVLOOP_H

#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/compiler.h"

struct log_limit; /* vmm/log.h */

struct evl;

/* Completion callback: (res) is the CQE result (bytes or -errno). Context: loop thread. */
typedef void (*evl_done_fn)(void *opaque, int res);

/*
 * A pending operation: embed one per in-flight SQE in the caller's request
 * struct, fill it, and pass it to evl_sqe_set().
 */
struct evl_op {
	evl_done_fn done;
	void *opaque;
};

/* fd watcher callback: the fd is readable (or hung up). Context: loop thread. */
typedef void (*evl_fd_fn)(void *opaque);

/*
 * Work for the end of the current batch of completions (e.g. one interrupt
 * for all the requests of a queue completed in that batch). Embed one in the
 * caller's struct; evl_defer() queues it at most once. Only the loop touches
 * (next, queued).
 */
struct evl_deferred {
	evl_fd_fn fn;
	void *opaque;
	struct evl_deferred *next;
	bool queued;
};

/*
 * Fds one loop watches. A VM at every limit (rng; 16 disks x 4 queue kicks;
 * 16 shares x (2 kicks + 2 interrupt relays + the back-end socket); 8 nets
 * x (2 kicks + the tap); vsock's kicks, timer and sockets; the balloon's 4
 * kicks, wake eventfd and stats timer) stays under 256.
 */
#define EVL_MAX_WATCH 256
/* CQ slots kept for the loop's own polls: the watches, the stop poll, the teardown cancel */
#define EVL_RESERVED_OPS (EVL_MAX_WATCH + 2)
/*
 * Operations in flight (from evl_get_sqe()) that evl_init() sizes the CQ
 * for: EVL_OPS_PER_SQE per SQ entry. The VM's ring has 1024 SQEs
 * (vmm/vm_devices.c), so 16384 operations: agentvmm's largest VM, 16 disks
 * x 4 queues x 256 requests (vmm/config.h, vmm/vm_devices.c), and the CQ
 * rounds up to 32768 entries (512 KiB), which leaves 16318 more for nets
 * and vsock. A larger load waits for completions (evl_get_sqe() returns
 * NULL); nothing is lost. Small test rings get small CQs (a 32768-entry CQ
 * costs ~0.7 ms to set up and tear down).
 */
#define EVL_OPS_PER_SQE 16
#define EVL_MAX_CQ_ENTRIES 65536 /* the kernel's IORING_MAX_CQ_ENTRIES */
#define EVL_REARM_TIMEOUT_MS 5000

struct evl_watch {
	struct evl *evl;
	int fd;
	evl_fd_fn fn;
	void *opaque;
	struct evl_op op;
	bool rearm;             /* could not be armed yet: the loop retries */
};

struct evl {
	struct io_uring ring;
	bool ring_ready;
	pthread_t thread;
	bool started;
	int stop_efd;
	bool stopping;
	unsigned nr_watch;
	struct evl_watch watch[EVL_MAX_WATCH];
	struct evl_op stop_op;
	unsigned inflight;      /* SQEs taken and not completed (every kind), for teardown */
	unsigned nr_ops;        /* of which from evl_get_sqe() */
	unsigned max_ops;       /* evl_get_sqe()'s bound: cq_entries - EVL_RESERVED_OPS */
	unsigned cq_entries;    /* CQ size the kernel gave */
	unsigned nr_rearm;      /* watches waiting to be armed */
	uint64_t rearm_since;   /* CLOCK_MONOTONIC ms of the first failed arm */
	bool rearm_failed;      /* (fail) was called for it */
	unsigned rearm_timeout_ms; /* EVL_REARM_TIMEOUT_MS; tests shorten it */
	struct evl_deferred *deferred; /* run at the end of this batch */
	/*
	 * optional: the loop thread's limiter for guest log lines (its VM's,
	 * log_limit_bind()); NULL shares the process-wide one. Set after evl_init().
	 */
	struct log_limit *log_limit;
	/* optional, run first on the loop thread (its seccomp filter); < 0 ends the thread */
	int (*thread_init)(void *opaque);
	void *thread_init_opaque;
	/*
	 * optional: the loop cannot go on serving the VM (a watch that cannot be
	 * armed, io_uring failing); (msg) is one line. A VM's calls vm_fail();
	 * without it the line is only logged. Context: loop thread.
	 */
	void (*fail)(void *opaque, const char *msg);
	void *fail_opaque;
	unsigned test_enter_busy; /* test hook: the next n io_uring_enter()s return -EBUSY */
};

/* evl_init_empty() - zero (e) so evl_fini() is a no-op before evl_init(). */
void evl_init_empty(struct evl *e);

/*
 * evl_init() - set up the ring ((entries) SQEs, a CQ for (entries) *
 * EVL_OPS_PER_SQE operations, evl_init_bound()) and the stop eventfd.
 * Return: 0 or -errno. Context: setup.
 */
int evl_init(struct evl *e, unsigned entries) __must_check;

/*
 * evl_init_bound() - evl_init() with a CQ for (max_ops) operations in flight
 * from evl_get_sqe() at once (the creator's bound); the CQ gets max_ops +
 * EVL_RESERVED_OPS entries rounded up to a power of two, at least 2 *
 * (entries), at most EVL_MAX_CQ_ENTRIES; e->max_ops is what that allows.
 * Return: 0, -EINVAL ((max_ops) or (entries) 0, (entries) over 32768), or
 * -errno from io_uring. Context: setup.
 */
int evl_init_bound(struct evl *e, unsigned entries, unsigned max_ops) __must_check;

/*
 * evl_watch_fd() - call (fn) on the loop thread each time (fd) is readable.
 * Before evl_start(), or from the loop thread. A watch that cannot be armed
 * at once (SQ full and the kernel refusing to submit) is armed by the loop
 * later; it is never dropped.
 * Return: 0, -ENOSPC (too many watches).
 */
int evl_watch_fd(struct evl *e, int fd, evl_fd_fn fn, void *opaque) __must_check;

/*
 * evl_get_sqe() - an SQE to fill for an asynchronous operation whose
 * completion runs (op->done) on the loop thread. Submission happens when the
 * loop next waits (or now, when the SQ is full). NULL when (max_ops)
 * operations are in flight or the SQ is full and cannot be submitted: the
 * caller retries after one of its completions.
 * Context: loop thread only (or setup, before evl_start()).
 */
struct io_uring_sqe *evl_get_sqe(struct evl *e, struct evl_op *op);

/*
 * evl_defer() - run (d->fn) once at the end of the current batch of
 * completions, on the loop thread; a no-op when (d) is already queued. (d)
 * must stay valid until then; (d->fn) must not defer (d) again.
 * Context: loop thread only (or evl_fini()'s caller, which runs it too).
 */
void evl_defer(struct evl *e, struct evl_deferred *d);

/* evl_start()/evl_stop() - run / stop and join the loop thread (stop is idempotent). */
int evl_start(struct evl *e) __must_check;
void evl_stop(struct evl *e);

/* evl_fini() - stop, wait for in-flight operations, free the ring; idempotent. */
void evl_fini(struct evl *e);

#endif
