// SPDX-License-Identifier: MIT
/* evloop.c: one io_uring per VM for fd readiness and asynchronous I/O, run by one thread. */
#include "vmm/evloop.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/compiler.h"
#include "vmm/log.h"

static void evl_arm_watch(struct evl_watch *w);

static void evl_watch_done(void *opaque, int res)
{
	struct evl_watch *w = opaque;

	if (w->evl->stopping)
		return;
	if (res < 0 && res != -EINTR && res != -ECANCELED) {
		log_err("event loop: poll on fd %d failed: %s", w->fd, strerror(-res));
		return;
	}
	w->fn(w->opaque);
	evl_arm_watch(w);
}

/* Single-shot poll, re-armed after each callback: works on every io_uring kernel. */
static void evl_arm_watch(struct evl_watch *w)
{
	struct io_uring_sqe *sqe = evl_get_sqe(w->evl, &w->op);

	if (!sqe) {
		/* ring full: submit what is queued and try once more */
		io_uring_submit(&w->evl->ring);
		sqe = evl_get_sqe(w->evl, &w->op);
		if (!sqe) {
			log_err("event loop: ring full, fd %d no longer watched", w->fd);
			return;
		}
	}
	io_uring_prep_poll_add(sqe, w->fd, POLLIN);
}

static void evl_stop_done(void *opaque, int res)
{
	struct evl *e = opaque;

	e->stopping = true;
}

void evl_init_empty(struct evl *e)
{
	memset(e, 0, sizeof(*e));
	e->stop_efd = -1;
}

/*
 * The only operations the ring may ever run. io_uring requests bypass
 * seccomp, so the ring is created disabled, limited to these opcodes with no
 * SQE flags and no further io_uring_register() calls, then enabled: a thread
 * that goes astray cannot openat, connect or splice through it
 * (docs/security.md).
 */
static const uint8_t evl_allowed_ops[] = {
	IORING_OP_POLL_ADD, IORING_OP_ASYNC_CANCEL, IORING_OP_READV,
	IORING_OP_WRITEV,   IORING_OP_FSYNC,        IORING_OP_FALLOCATE,
};

static int evl_restrict(struct io_uring *ring)
{
	struct io_uring_restriction res[ARRAY_SIZE(evl_allowed_ops) + 1];
	unsigned n = 0;
	int r;

	memset(res, 0, sizeof(res));
	for (size_t i = 0; i < ARRAY_SIZE(evl_allowed_ops); i++) {
		res[n].opcode = IORING_RESTRICTION_SQE_OP;
		res[n++].sqe_op = evl_allowed_ops[i];
	}
	res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
	res[n++].sqe_flags = 0;
	/* the raw call: Debian's liburing 2.3 does not export the helpers it declares */
	r = io_uring_register(ring->ring_fd, IORING_REGISTER_RESTRICTIONS, res, n);
	if (r >= 0)
		r = io_uring_register(ring->ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
	return r < 0 ? r : 0;
}

int evl_init(struct evl *e, unsigned entries)
{
	int r;

	evl_init_empty(e);
	e->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->stop_efd < 0)
		return -errno;
	r = io_uring_queue_init(entries, &e->ring, IORING_SETUP_R_DISABLED);
	if (r == 0) {
		r = evl_restrict(&e->ring);
		if (r < 0)
			io_uring_queue_exit(&e->ring);
	}
	if (r < 0) {
		close(e->stop_efd);
		e->stop_efd = -1;
		return r;
	}
	e->ring_ready = true;
	e->stop_op = (struct evl_op){ .done = evl_stop_done, .opaque = e };
	return 0;
}

int evl_watch_fd(struct evl *e, int fd, evl_fd_fn fn, void *opaque)
{
	if (e->nr_watch >= EVL_MAX_WATCH)
		return -ENOSPC;
	struct evl_watch *w = &e->watch[e->nr_watch++];
	*w = (struct evl_watch){ .evl = e, .fd = fd, .fn = fn, .opaque = opaque, .active = true };
	w->op = (struct evl_op){ .done = evl_watch_done, .opaque = w };
	evl_arm_watch(w);
	return 0;
}

struct io_uring_sqe *evl_get_sqe(struct evl *e, struct evl_op *op)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&e->ring);

	if (!sqe)
		return NULL;
	io_uring_sqe_set_data(sqe, op);
	e->inflight++;
	return sqe;
}

static void evl_reap(struct evl *e, struct io_uring_cqe *cqe)
{
	struct evl_op *op = io_uring_cqe_get_data(cqe);
	int res = cqe->res;

	io_uring_cqe_seen(&e->ring, cqe);
	e->inflight--;
	if (op && op->done)
		op->done(op->opaque, res);
}

static void *evl_thread(void *arg)
{
	struct evl *e = arg;
	struct io_uring_cqe *cqe;

	if (e->thread_init && e->thread_init(e->thread_init_opaque) < 0)
		return NULL;
	while (!e->stopping) {
		int r = io_uring_submit_and_wait(&e->ring, 1);

		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
			log_err("event loop: io_uring: %s", strerror(-r));
			break;
		}
		while (io_uring_peek_cqe(&e->ring, &cqe) == 0)
			evl_reap(e, cqe);
	}
	return NULL;
}

int evl_start(struct evl *e)
{
	struct io_uring_sqe *sqe = evl_get_sqe(e, &e->stop_op);
	int r;

	if (!sqe)
		return -EBUSY;
	io_uring_prep_poll_add(sqe, e->stop_efd, POLLIN);
	r = pthread_create(&e->thread, NULL, evl_thread, e);
	if (r)
		return -r;
	e->started = true;
	return 0;
}

void evl_stop(struct evl *e)
{
	uint64_t one = 1;

	if (!e->started)
		return;
	if (write(e->stop_efd, &one, sizeof(one)) < 0)
		log_err("event loop: cannot signal stop: %s", strerror(errno));
	pthread_join(e->thread, NULL);
	e->started = false;
}

void evl_fini(struct evl *e)
{
	struct io_uring_cqe *cqe;

	evl_stop(e);
	if (e->ring_ready) {
		/* cancel the fd polls; wait for in-flight disk I/O so no buffer is freed under it */
		struct io_uring_sqe *sqe = io_uring_get_sqe(&e->ring);

		e->stopping = true;
		if (sqe) {
			io_uring_prep_cancel(sqe, NULL, IORING_ASYNC_CANCEL_ANY);
			io_uring_sqe_set_data(sqe, NULL);
			e->inflight++;
		}
		io_uring_submit(&e->ring);
		while (e->inflight && io_uring_wait_cqe(&e->ring, &cqe) == 0)
			evl_reap(e, cqe);
		io_uring_queue_exit(&e->ring);
		e->ring_ready = false;
	}
	if (e->stop_efd >= 0)
		close(e->stop_efd);
	e->stop_efd = -1;
}
