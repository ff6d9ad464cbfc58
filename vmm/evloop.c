// SPDX-License-Identifier: MIT
/* evloop.c: one io_uring per VM for fd readiness and asynchronous I/O, run by one thread. */
#include "vmm/evloop.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/compiler.h"
#include "vmm/log.h"

static void evl_arm_or_wait(struct evl_watch *w);

static uint64_t evl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The loop cannot serve the VM as it should: say so through (e->fail), or log. */
static void __printf(2, 3) evl_fail(struct evl *e, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (e->fail)
		e->fail(e->fail_opaque, msg);
	else
		log_err("%s", msg);
}

/* io_uring_enter(): submit, and wait for (wait_nr) completions. */
static int evl_enter(struct evl *e, unsigned wait_nr)
{
	if (e->test_enter_busy) {
		/* as a kernel answers while completions sit in its overflow list */
		e->test_enter_busy--;
		return -EBUSY;
	}
	return wait_nr ? io_uring_submit_and_wait(&e->ring, wait_nr) : io_uring_submit(&e->ring);
}

/*
 * An SQE whose completion goes to (op), counted in (inflight); when the SQ is
 * full, submit what it holds first. NULL when that submission fails too.
 */
static struct io_uring_sqe *evl_take_sqe(struct evl *e, struct evl_op *op)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&e->ring);

	if (!sqe) {
		evl_enter(e, 0);
		sqe = io_uring_get_sqe(&e->ring);
		if (!sqe)
			return NULL;
	}
	io_uring_sqe_set_data(sqe, op);
	e->inflight++;
	return sqe;
}

static void evl_watch_done(void *opaque, int res)
{
	struct evl_watch *w = opaque;

	if (w->evl->stopping)
		return;
	if (res < 0 && res != -EINTR && res != -ECANCELED && res != -EAGAIN && res != -ENOMEM) {
		/* e.g. -EBADF: a bug of ours; the device behind it would hang */
		evl_fail(w->evl, "event loop: poll on fd %d failed: %s; it is no longer watched",
			 w->fd, strerror(-res));
		return;
	}
	if (res != -EAGAIN && res != -ENOMEM)
		w->fn(w->opaque);
	evl_arm_or_wait(w);
}

/* Single-shot poll, re-armed after each callback: works on every io_uring kernel. */
static bool evl_arm_watch(struct evl_watch *w)
{
	/* no max_ops check: each watch has at most one poll in flight, in EVL_RESERVED_OPS */
	struct io_uring_sqe *sqe = evl_take_sqe(w->evl, &w->op);

	if (!sqe)
		return false;
	io_uring_prep_poll_add(sqe, w->fd, POLLIN);
	return true;
}

/* Arm (w), or leave it to the loop, which retries after reaping (evl_rearm_pending). */
static void evl_arm_or_wait(struct evl_watch *w)
{
	struct evl *e = w->evl;

	if (evl_arm_watch(w))
		return;
	w->rearm = true;
	if (!e->nr_rearm++)
		e->rearm_since = evl_now_ms();
}

/* Loop thread: arm the watches that could not be; fail the VM if that lasts. */
static void evl_rearm_pending(struct evl *e)
{
	for (unsigned i = 0; i < e->nr_watch && e->nr_rearm; i++) {
		struct evl_watch *w = &e->watch[i];

		if (w->rearm && evl_arm_watch(w)) {
			w->rearm = false;
			e->nr_rearm--;
		}
	}
	if (!e->nr_rearm) {
		e->rearm_since = 0;
		e->rearm_failed = false;
		return;
	}
	if (!e->rearm_failed && evl_now_ms() - e->rearm_since >= e->rearm_timeout_ms) {
		e->rearm_failed = true;
		evl_fail(e, "event loop: %u watched fds (doorbells, taps, sockets) cannot be "
			 "watched again: io_uring refuses submissions for %u ms", e->nr_rearm,
			 e->rearm_timeout_ms);
	}
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

/* CQ entries for (max_ops): a power of two in [2 * entries, EVL_MAX_CQ_ENTRIES]. */
static unsigned evl_cq_size(unsigned entries, unsigned max_ops)
{
	uint64_t want = (uint64_t)max_ops + EVL_RESERVED_OPS, cq = 1;

	if (want < 2ULL * entries)
		want = 2ULL * entries;
	while (cq < want && cq < EVL_MAX_CQ_ENTRIES)
		cq <<= 1;
	return (unsigned)cq;
}

int evl_init_bound(struct evl *e, unsigned entries, unsigned max_ops)
{
	struct io_uring_params p;
	int r;

	evl_init_empty(e);
	if (!max_ops || !entries || entries > EVL_MAX_CQ_ENTRIES / 2)
		return -EINVAL;
	e->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->stop_efd < 0)
		return -errno;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_R_DISABLED | IORING_SETUP_CQSIZE;
	p.cq_entries = evl_cq_size(entries, max_ops);
	r = io_uring_queue_init_params(entries, &e->ring, &p);
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
	e->cq_entries = p.cq_entries;
	e->max_ops = e->cq_entries - EVL_RESERVED_OPS;
	e->rearm_timeout_ms = EVL_REARM_TIMEOUT_MS;
	e->ring_ready = true;
	e->stop_op = (struct evl_op){ .done = evl_stop_done, .opaque = e };
	return 0;
}

int evl_init(struct evl *e, unsigned entries)
{
	return evl_init_bound(e, entries, MIN(entries, EVL_MAX_CQ_ENTRIES) * EVL_OPS_PER_SQE);
}

int evl_watch_fd(struct evl *e, int fd, evl_fd_fn fn, void *opaque)
{
	if (e->nr_watch >= EVL_MAX_WATCH)
		return -ENOSPC;
	struct evl_watch *w = &e->watch[e->nr_watch++];
	*w = (struct evl_watch){ .evl = e, .fd = fd, .fn = fn, .opaque = opaque };
	w->op = (struct evl_op){ .done = evl_watch_done, .opaque = w };
	evl_arm_or_wait(w);
	return 0;
}

struct io_uring_sqe *evl_get_sqe(struct evl *e, struct evl_op *op)
{
	struct io_uring_sqe *sqe;

	/* beyond max_ops a CQE could find the CQ full (docs: evloop.h) */
	if (e->nr_ops >= e->max_ops)
		return NULL;
	sqe = evl_take_sqe(e, op);
	if (sqe)
		e->nr_ops++;
	return sqe;
}

void evl_defer(struct evl *e, struct evl_deferred *d)
{
	if (d->queued)
		return;
	d->queued = true;
	d->next = e->deferred;
	e->deferred = d;
}

static void evl_run_deferred(struct evl *e)
{
	struct evl_deferred *d;

	while ((d = e->deferred)) {
		/* unlinked before the call: (d) may be freed once fn has run */
		e->deferred = d->next;
		d->queued = false;
		d->fn(d->opaque);
	}
}

/* The loop's own operations: not counted in nr_ops (see EVL_RESERVED_OPS). */
static bool evl_op_reserved(const struct evl *e, const struct evl_op *op)
{
	return !op || op == &e->stop_op || op->done == evl_watch_done;
}

static void evl_reap(struct evl *e, struct io_uring_cqe *cqe)
{
	struct evl_op *op = io_uring_cqe_get_data(cqe);
	int res = cqe->res;

	io_uring_cqe_seen(&e->ring, cqe);
	e->inflight--;
	if (!evl_op_reserved(e, op))
		e->nr_ops--;
	if (op && op->done)
		op->done(op->opaque, res);
}

/* Reap every CQE there is (this also flushes a kernel overflow), then the deferred work. */
static unsigned evl_reap_all(struct evl *e)
{
	struct io_uring_cqe *cqe;
	unsigned n = 0;

	while (io_uring_peek_cqe(&e->ring, &cqe) == 0) {
		evl_reap(e, cqe);
		n++;
	}
	evl_run_deferred(e);
	return n;
}

static void *evl_thread(void *arg)
{
	struct evl *e = arg;

	log_limit_bind(e->log_limit);
	if (e->thread_init && e->thread_init(e->thread_init_opaque) < 0)
		return NULL;
	while (!e->stopping) {
		int r;

		if (e->nr_rearm)
			evl_rearm_pending(e);
		/* a watch waiting to be armed: do not sleep in the kernel, come back to it */
		r = evl_enter(e, e->nr_rearm ? 0 : 1);
		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
			evl_fail(e, "event loop: io_uring: %s", strerror(-r));
			break;
		}
		if (!evl_reap_all(e) && (e->nr_rearm || r == -EAGAIN || r == -EBUSY)) {
			/* nothing came back yet: do not spin */
			struct timespec ms = { 0, 1000 * 1000 };

			nanosleep(&ms, NULL);
		}
	}
	return NULL;
}

int evl_start(struct evl *e)
{
	struct io_uring_sqe *sqe = evl_take_sqe(e, &e->stop_op);
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
		/* cancel the fd polls; wait for in-flight disk I/O: no buffer is freed under it */
		struct io_uring_sqe *sqe;

		e->stopping = true;
		e->test_enter_busy = 0;
		sqe = io_uring_get_sqe(&e->ring);
		if (!sqe) {
			io_uring_submit(&e->ring); /* a full SQ: make room for the cancel */
			sqe = io_uring_get_sqe(&e->ring);
		}
		if (sqe) {
			io_uring_prep_cancel(sqe, NULL, IORING_ASYNC_CANCEL_ANY);
			io_uring_sqe_set_data(sqe, NULL);
			e->inflight++;
		}
		io_uring_submit(&e->ring);
		while (e->inflight && io_uring_wait_cqe(&e->ring, &cqe) == 0) {
			evl_reap(e, cqe);
			evl_run_deferred(e);
		}
		evl_run_deferred(e);
		io_uring_queue_exit(&e->ring);
		e->ring_ready = false;
	}
	if (e->stop_efd >= 0)
		close(e->stop_efd);
	e->stop_efd = -1;
}
