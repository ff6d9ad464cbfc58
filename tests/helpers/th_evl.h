/* SPDX-License-Identifier: MIT */
/*
 * th_evl.h: play the event loop's thread by hand in a test or fuzz target
 * whose device runs on a struct evl that was never started: submit what the
 * device prepared (evl_get_sqe()) and run the completions with the loop's own
 * bookkeeping, as evloop.c's evl_reap() does. Only the device's polls are in
 * such a ring: no watch, no stop poll.
 */
#ifndef AGENTVMM_TESTS_HELPERS_TH_EVL_H
#define AGENTVMM_TESTS_HELPERS_TH_EVL_H

#include <liburing.h>

#include "vmm/evloop.h"

/* th_evl_run() - submit, then run every completion there is now. Return: how many. */
static inline unsigned th_evl_run(struct evl *e)
{
	struct io_uring_cqe *cqe;
	unsigned nr = 0;

	io_uring_submit(&e->ring);
	while (io_uring_peek_cqe(&e->ring, &cqe) == 0) {
		struct evl_op *op = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&e->ring, cqe);
		e->inflight--;
		if (op && op != &e->stop_op)
			e->nr_ops--;
		if (op && op->done)
			op->done(op->opaque, res);
		nr++;
	}
	return nr;
}

/* th_evl_turn() - th_evl_run() after waiting up to (ms) for a first completion. */
static inline unsigned th_evl_turn(struct evl *e, unsigned ms)
{
	struct __kernel_timespec ts = { .tv_sec = ms / 1000,
					.tv_nsec = (long long)(ms % 1000) * 1000000 };
	struct io_uring_cqe *cqe;

	io_uring_submit(&e->ring);
	if (io_uring_wait_cqe_timeout(&e->ring, &cqe, &ts) != 0)
		return 0;
	return th_evl_run(e);
}

#endif
