// SPDX-License-Identifier: MIT
/*
 * test_evloop.c: the event loop's io_uring runs only the operations agentvmm
 * uses (readv, writev, poll, cancel, fsync, fallocate): anything else, an SQE
 * flag, or a later io_uring_register() is refused by the kernel. Its CQ has
 * room for every operation it lets in flight, a watch is never dropped when
 * the ring is full or the kernel answers -EBUSY (or the VM is failed when it
 * cannot be re-armed), and deferred work runs once per completion batch.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/evloop.h"

/* Submit the one SQE prepared on (e) and return its completion's result. */
static int run_one(struct evl *e)
{
	struct io_uring_cqe *cqe;
	int res;

	assert_int_equal(io_uring_submit(&e->ring), 1);
	assert_int_equal(io_uring_wait_cqe(&e->ring, &cqe), 0);
	res = cqe->res;
	io_uring_cqe_seen(&e->ring, cqe);
	return res;
}

static void test_evloop_allowed_ops_run(void **state)
{
	struct evl e;
	char buf[8] = "abcdefg";
	struct iovec iov = { buf, sizeof(buf) };
	int fds[2];

	(void)state;
	assert_int_equal(evl_init(&e, 8), 0);
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	io_uring_prep_writev(io_uring_get_sqe(&e.ring), fds[1], &iov, 1, 0);
	assert_int_equal(run_one(&e), (int)sizeof(buf));
	memset(buf, 0, sizeof(buf));
	io_uring_prep_readv(io_uring_get_sqe(&e.ring), fds[0], &iov, 1, 0);
	assert_int_equal(run_one(&e), (int)sizeof(buf));
	assert_string_equal(buf, "abcdefg");
	close(fds[0]);
	close(fds[1]);
	evl_fini(&e);
}

static void test_evloop_other_ops_flags_and_register_refused(void **state)
{
	struct evl e;
	struct io_uring_sqe *sqe;
	int fds[2];

	(void)state;
	assert_int_equal(evl_init(&e, 8), 0);
	/* an open through the ring would bypass the seccomp filters */
	io_uring_prep_openat(io_uring_get_sqe(&e.ring), AT_FDCWD, "/etc/hostname", O_RDONLY, 0);
	assert_int_equal(run_one(&e), -EACCES);
	io_uring_prep_nop(io_uring_get_sqe(&e.ring));
	assert_int_equal(run_one(&e), -EACCES);
	/* an allowed op with a flag that is not */
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	sqe = io_uring_get_sqe(&e.ring);
	io_uring_prep_fsync(sqe, fds[1], 0);
	io_uring_sqe_set_flags(sqe, IOSQE_ASYNC);
	assert_int_equal(run_one(&e), -EACCES);
	/* no registering of files or buffers after set-up */
	assert_int_equal(io_uring_register_files(&e.ring, fds, 1), -EACCES);
	close(fds[0]);
	close(fds[1]);
	evl_fini(&e);
}

/* A watched eventfd and what its callback saw; (e) is touched by the loop thread only. */
struct wt {
	struct evl *e;
	int efd;
	int never[2];           /* a pipe nobody writes: polls on it stay in flight */
	unsigned fired;         /* atomic */
	unsigned busy_on_first; /* test_enter_busy set by the first callback */
	unsigned done_ops;      /* atomic: completions of the filler operations */
	unsigned fails;         /* atomic: e->fail calls */
	unsigned sq_left;       /* SQ space after the first callback filled it */
	char fail_msg[256];
	struct evl_op filler;
};

static void filler_done(void *opaque, int res)
{
	struct wt *t = opaque;

	(void)res;
	__atomic_add_fetch(&t->done_ops, 1, __ATOMIC_RELEASE);
}

/* Take (n) operations (UINT32_MAX: as many as the loop allows) that stay in flight. */
static unsigned fill_ops(struct wt *t, unsigned n)
{
	unsigned got = 0;
	struct io_uring_sqe *sqe;

	while (got < n && (sqe = evl_get_sqe(t->e, &t->filler))) {
		io_uring_prep_poll_add(sqe, t->never[0], POLLIN);
		got++;
	}
	return got;
}

/* Loop thread: the first call fills the SQ and makes the next enters fail. */
static void wt_cb(void *opaque)
{
	struct wt *t = opaque;
	uint64_t n;

	if (read(t->efd, &n, sizeof(n)) != sizeof(n))
		return;
	if (__atomic_add_fetch(&t->fired, 1, __ATOMIC_ACQ_REL) == 1 && t->busy_on_first) {
		/* the re-arm after this callback finds no SQE and a kernel saying -EBUSY */
		fill_ops(t, io_uring_sq_space_left(&t->e->ring));
		t->sq_left = io_uring_sq_space_left(&t->e->ring); /* checked by the test: 0 */
		t->e->test_enter_busy = t->busy_on_first;
	}
}

static void wt_fail(void *opaque, const char *msg)
{
	struct wt *t = opaque;

	snprintf(t->fail_msg, sizeof(t->fail_msg), "%s", msg);
	__atomic_add_fetch(&t->fails, 1, __ATOMIC_RELEASE);
}

static void wt_setup(struct wt *t, struct evl *e, unsigned entries, unsigned max_ops)
{
	memset(t, 0, sizeof(*t));
	t->e = e;
	assert_int_equal(evl_init_bound(e, entries, max_ops), 0);
	e->fail = wt_fail;
	e->fail_opaque = t;
	t->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(t->efd >= 0);
	assert_int_equal(pipe2(t->never, O_CLOEXEC), 0);
	t->filler = (struct evl_op){ .done = filler_done, .opaque = t };
	assert_int_equal(evl_watch_fd(e, t->efd, wt_cb, t), 0);
}

static void wt_teardown(struct wt *t)
{
	evl_fini(t->e);
	close(t->efd);
	close(t->never[0]);
	close(t->never[1]);
}

/* Wait (2 s at most) until *(v) >= (want). */
static bool wait_at_least(unsigned *v, unsigned want)
{
	for (int i = 0; i < 2000; i++) {
		if (__atomic_load_n(v, __ATOMIC_ACQUIRE) >= want)
			return true;
		usleep(1000);
	}
	return false;
}

/* Kick the watched eventfd and wait for callback number (n). */
static void kick_and_wait(struct wt *t, unsigned n)
{
	uint64_t one = 1;

	assert_int_equal(write(t->efd, &one, sizeof(one)), sizeof(one));
	if (!wait_at_least(&t->fired, n))
		fail_msg("watch fired %u times, expected %u", t->fired, n);
}

static void test_evloop_cq_sized_for_bound_and_ops_capped(void **state)
{
	struct evl e;
	struct wt t;
	unsigned got;

	(void)state;
	/* the VM's ring (1024 SQEs): room for the largest VM, 16 disks x 4 queues x 256 */
	assert_int_equal(evl_init(&e, 1024), 0);
	assert_true(e.cq_entries >= 16 * 4 * 256 + EVL_RESERVED_OPS);
	assert_int_equal(e.max_ops, e.cq_entries - EVL_RESERVED_OPS);
	assert_int_equal(e.ring.cq.ring_entries, e.cq_entries);
	evl_fini(&e);
	assert_int_equal(evl_init_bound(&e, 8, 0), -EINVAL);

	/* a small ring filled on purpose: 4 SQEs, CQ for 8 operations + the loop's own */
	wt_setup(&t, &e, 4, 8);
	/* 8 + EVL_RESERVED_OPS, rounded up to a power of two */
	unsigned want = 1;
	while (want < 8 + EVL_RESERVED_OPS)
		want <<= 1;
	assert_int_equal(e.cq_entries, want);
	assert_int_equal(e.max_ops, want - EVL_RESERVED_OPS);
	got = fill_ops(&t, UINT32_MAX);
	assert_int_equal(got, e.max_ops); /* then NULL: the next CQE might not have a slot */
	assert_null(evl_get_sqe(&e, &t.filler));
	assert_int_equal(evl_start(&e), 0);
	/* watches are outside the bound: still served */
	kick_and_wait(&t, 1);
	kick_and_wait(&t, 2);
	/* every filler completes at once: no CQE lost to an overflow */
	assert_int_equal(write(t.never[1], "x", 1), 1);
	assert_true(wait_at_least(&t.done_ops, got));
	kick_and_wait(&t, 3);
	assert_int_equal(t.fails, 0);
	evl_stop(&e);
	assert_int_equal(e.nr_ops, 0);
	wt_teardown(&t);
}

/* The kernel refuses to submit (-EBUSY) when the watch must be re-armed: it still fires later. */
static void test_evloop_watch_rearmed_after_ebusy(void **state)
{
	struct evl e;
	struct wt t;

	(void)state;
	wt_setup(&t, &e, 4, 64);
	t.busy_on_first = 3; /* the re-arm's submit, the retry's, the loop's own enter */
	assert_int_equal(evl_start(&e), 0);
	kick_and_wait(&t, 1);
	kick_and_wait(&t, 2);
	kick_and_wait(&t, 3);
	assert_int_equal(t.sq_left, 0);
	assert_int_equal(t.fails, 0);
	wt_teardown(&t);
}

/* A watch that can never be armed again is not dropped silently: the VM is failed. */
static void test_evloop_watch_never_armed_fails_vm(void **state)
{
	struct evl e;
	struct wt t;

	(void)state;
	wt_setup(&t, &e, 4, 64);
	t.busy_on_first = UINT32_MAX;
	e.rearm_timeout_ms = 100;
	assert_int_equal(evl_start(&e), 0);
	kick_and_wait(&t, 1);
	assert_true(wait_at_least(&t.fails, 1));
	assert_non_null(strstr(t.fail_msg, "cannot be watched again"));
	usleep(200 * 1000);
	assert_int_equal(__atomic_load_n(&t.fails, __ATOMIC_ACQUIRE), 1); /* said once */
	wt_teardown(&t); /* the stop poll still ends the loop */
}

struct dt {
	struct evl *e;
	struct evl_deferred d;
	struct evl_op op;
	unsigned runs, done; /* atomic */
	unsigned bad_res, done_at_run;
};

static void dt_done(void *opaque, int res)
{
	struct dt *t = opaque;

	if (res != 1)
		t->bad_res++;
	__atomic_add_fetch(&t->done, 1, __ATOMIC_RELEASE);
	evl_defer(t->e, &t->d); /* queued once however many completions ask */
}

static void dt_run(void *opaque)
{
	struct dt *t = opaque;

	/* after the whole batch: every completion has been seen */
	t->done_at_run = __atomic_load_n(&t->done, __ATOMIC_ACQUIRE);
	__atomic_add_fetch(&t->runs, 1, __ATOMIC_RELEASE);
}

/* Eight writes completing in one batch: the deferred work runs once, after all of them. */
static void test_evloop_deferred_runs_once_per_batch(void **state)
{
	struct evl e;
	struct dt t = { .e = &e };
	char c = 'x';
	struct iovec iov = { &c, 1 };
	int fds[2];

	(void)state;
	t.d = (struct evl_deferred){ .fn = dt_run, .opaque = &t };
	t.op = (struct evl_op){ .done = dt_done, .opaque = &t };
	assert_int_equal(evl_init(&e, 16), 0);
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	/* prepared before the loop runs: its first enter submits them together */
	for (int i = 0; i < 8; i++)
		io_uring_prep_writev(evl_get_sqe(&e, &t.op), fds[1], &iov, 1, 0);
	assert_int_equal(evl_start(&e), 0);
	assert_true(wait_at_least(&t.runs, 1));
	evl_fini(&e);
	assert_int_equal(t.done, 8);
	assert_int_equal(t.bad_res, 0);
	assert_int_equal(t.runs, 1);
	assert_int_equal(t.done_at_run, 8);
	close(fds[0]);
	close(fds[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_evloop_allowed_ops_run),
		cmocka_unit_test(test_evloop_other_ops_flags_and_register_refused),
		cmocka_unit_test(test_evloop_cq_sized_for_bound_and_ops_capped),
		cmocka_unit_test(test_evloop_watch_rearmed_after_ebusy),
		cmocka_unit_test(test_evloop_watch_never_armed_fails_vm),
		cmocka_unit_test(test_evloop_deferred_runs_once_per_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
