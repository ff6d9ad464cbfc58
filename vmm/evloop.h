/* SPDX-License-Identifier: MIT */
/*
 * evloop.h: the I/O event loop: one thread owning one io_uring, which both
 * waits on file descriptors (queue-notify eventfds, sockets, taps) and runs
 * asynchronous I/O (disk reads/writes/flushes) for the devices.
 *
 * Only the loop thread touches the ring. Work from other threads reaches it
 * through an fd it watches (an eventfd the other thread writes).
 */
#ifndef AGENTVMM_VMM_EVLOOP_H
#define AGENTVMM_VMM_EVLOOP_H

#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>

#include "vmm/compiler.h"

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

#define EVL_MAX_WATCH 64

struct evl_watch {
	struct evl *evl;
	int fd;
	evl_fd_fn fn;
	void *opaque;
	struct evl_op op;
	bool active;
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
	unsigned inflight; /* SQEs submitted and not completed, for teardown */
	/* optional, run first on the loop thread (its seccomp filter); < 0 ends the thread */
	int (*thread_init)(void *opaque);
	void *thread_init_opaque;
};

/* evl_init_empty() - zero (e) so evl_fini() is a no-op before evl_init(). */
void evl_init_empty(struct evl *e);

/*
 * evl_init() - set up the ring ((entries) SQEs) and the stop eventfd.
 * Return: 0 or -errno. Context: setup.
 */
int evl_init(struct evl *e, unsigned entries) __must_check;

/*
 * evl_watch_fd() - call (fn) on the loop thread each time (fd) is readable.
 * Before evl_start(), or from the loop thread.
 * Return: 0, -ENOSPC (too many watches), or -errno.
 */
int evl_watch_fd(struct evl *e, int fd, evl_fd_fn fn, void *opaque) __must_check;

/*
 * evl_get_sqe() - an SQE to fill for an asynchronous operation whose
 * completion runs (op->done) on the loop thread. Submission happens when the
 * loop next waits. NULL when the ring is full (the caller retries later).
 * Context: loop thread only.
 */
struct io_uring_sqe *evl_get_sqe(struct evl *e, struct evl_op *op);

/* evl_start()/evl_stop() - run / stop and join the loop thread (stop is idempotent). */
int evl_start(struct evl *e) __must_check;
void evl_stop(struct evl *e);

/* evl_fini() - stop, wait for in-flight operations, free the ring; idempotent. */
void evl_fini(struct evl *e);

#endif
