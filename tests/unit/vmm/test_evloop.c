// SPDX-License-Identifier: MIT
/*
 * test_evloop.c: the event loop's io_uring runs only the operations agentvmm
 * uses (readv, writev, poll, cancel, fsync, fallocate): anything else, an SQE
 * flag, or a later io_uring_register() is refused by the kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_evloop_allowed_ops_run),
		cmocka_unit_test(test_evloop_other_ops_flags_and_register_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
