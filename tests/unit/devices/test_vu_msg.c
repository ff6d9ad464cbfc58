// SPDX-License-Identifier: MIT
/*
 * test_vu_msg.c: the vhost-user codec over real socketpairs: framing, fd
 * passing, every rejection branch of vu_msg_recv()/vu_msg_check_reply(),
 * timeouts, and that a dead peer gives -EPIPE rather than SIGPIPE.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/vhost_user/vu_msg.h"
#include "tests/helpers/th_files.h"

#define T_TIMEOUT_MS 100

static int sp[2]; /* [0] front end, [1] back end */

static int setup(void **state)
{
	return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
}

static int teardown(void **state)
{
	if (sp[0] >= 0)
		close(sp[0]);
	if (sp[1] >= 0)
		close(sp[1]);
	return 0;
}

static int64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Raw bytes onto the back-end side, as a misbehaving back end would write them. */
static void raw(const void *buf, size_t len)
{
	assert_int_equal(write(sp[1], buf, len), (ssize_t)len);
}

static void raw_hdr(uint32_t request, uint32_t flags, uint32_t size)
{
	struct vu_hdr h = { .request = request, .flags = flags, .size = size };

	raw(&h, sizeof(h));
}

static int recv_front(struct vu_msg *m)
{
	return vu_msg_recv(sp[0], m, NULL, 0, NULL, T_TIMEOUT_MS);
}

static void test_vu_msg_roundtrip_u64_ok(void **state)
{
	struct vu_msg m, r;

	vu_msg_init(&m, VU_SET_FEATURES, sizeof(m.p.u64));
	m.p.u64 = 0x123456789abcdef0ULL;
	assert_int_equal(vu_msg_send(sp[0], &m, NULL, 0, T_TIMEOUT_MS), 0);
	assert_int_equal(vu_msg_recv(sp[1], &r, NULL, 0, NULL, T_TIMEOUT_MS), 0);
	assert_int_equal(r.hdr.request, VU_SET_FEATURES);
	assert_int_equal(r.hdr.flags, VU_VERSION);
	assert_int_equal(r.hdr.size, 8);
	assert_true(r.p.u64 == 0x123456789abcdef0ULL);
}

static void test_vu_msg_fd_passing_ok(void **state)
{
	int efd[2] = { eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC) };
	int got[VU_MAX_FDS];
	unsigned nr = 99;
	struct vu_msg m, r;
	uint64_t v = 7;

	vu_msg_init(&m, VU_SET_VRING_KICK, sizeof(m.p.u64));
	assert_int_equal(vu_msg_send(sp[0], &m, efd, 2, T_TIMEOUT_MS), 0);
	assert_int_equal(vu_msg_recv(sp[1], &r, got, VU_MAX_FDS, &nr, T_TIMEOUT_MS), 0);
	assert_int_equal(nr, 2);
	/* the received descriptors name the same eventfds */
	assert_int_equal(write(got[1], &v, sizeof(v)), 8);
	assert_int_equal(read(efd[1], &v, sizeof(v)), 8);
	assert_true(v == 7);
	for (int i = 0; i < 2; i++) {
		close(got[i]);
		close(efd[i]);
	}
}

static void test_vu_msg_unexpected_fds_closed_badmsg(void **state)
{
	int efd = eventfd(0, EFD_CLOEXEC);
	unsigned before;
	struct vu_msg m;

	vu_msg_init(&m, VU_GET_FEATURES, 8);
	m.hdr.flags |= VU_FLAG_REPLY;
	assert_int_equal(vu_msg_send(sp[1], &m, &efd, 1, T_TIMEOUT_MS), 0);
	close(efd);
	before = th_count_entries("/proc/self/fd");
	assert_int_equal(recv_front(&m), -EBADMSG);
	assert_int_equal(th_count_entries("/proc/self/fd"), before);
}

static void test_vu_msg_too_many_fds_closed_badmsg(void **state)
{
	int efd[3], got[2];
	unsigned before, nr = 5;
	struct vu_msg m;

	for (int i = 0; i < 3; i++)
		efd[i] = eventfd(0, EFD_CLOEXEC);
	vu_msg_init(&m, VU_SET_MEM_TABLE, 0);
	assert_int_equal(vu_msg_send(sp[1], &m, efd, 3, T_TIMEOUT_MS), 0);
	for (int i = 0; i < 3; i++)
		close(efd[i]);
	before = th_count_entries("/proc/self/fd");
	assert_int_equal(vu_msg_recv(sp[0], &m, got, 2, &nr, T_TIMEOUT_MS), -EBADMSG);
	assert_int_equal(nr, 0);
	assert_int_equal(th_count_entries("/proc/self/fd"), before);
}

/* More descriptors than the receive control buffer holds: MSG_CTRUNC. */
static void test_vu_msg_ctrunc_badmsg(void **state)
{
	enum { N = VU_MAX_FDS * 2 };
	union {
		char buf[CMSG_SPACE(sizeof(int) * N)];
		struct cmsghdr align;
	} ctl;
	struct vu_hdr h = { .request = VU_GET_FEATURES, .flags = 5, .size = 0 };
	struct iovec iov = { .iov_base = &h, .iov_len = sizeof(h) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	int fds[N], got[VU_MAX_FDS];
	unsigned before, nr;
	struct vu_msg m;

	for (int i = 0; i < N; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	assert_int_equal(sendmsg(sp[1], &mh, 0), (ssize_t)sizeof(h));
	for (int i = 0; i < N; i++)
		close(fds[i]);
	before = th_count_entries("/proc/self/fd");
	assert_int_equal(vu_msg_recv(sp[0], &m, got, VU_MAX_FDS, &nr, T_TIMEOUT_MS), -EBADMSG);
	assert_int_equal(th_count_entries("/proc/self/fd"), before);
}

/* Ancillary data that is not SCM_RIGHTS (credentials, with SO_PASSCRED). */
static void test_vu_msg_foreign_cmsg_badmsg(void **state)
{
	int one = 1;
	struct vu_msg m;

	assert_int_equal(setsockopt(sp[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
	raw_hdr(VU_GET_FEATURES, 5, 0);
	assert_int_equal(recv_front(&m), -EBADMSG);
}

static void test_vu_msg_eof_before_header_connreset(void **state)
{
	struct vu_msg m;

	close(sp[1]);
	sp[1] = -1;
	assert_int_equal(recv_front(&m), -ECONNRESET);
}

static void test_vu_msg_eof_mid_header_connreset(void **state)
{
	struct vu_msg m;

	raw("\x01\x00\x00\x00\x05", 5);
	close(sp[1]);
	sp[1] = -1;
	assert_int_equal(recv_front(&m), -ECONNRESET);
}

static void test_vu_msg_eof_mid_payload_connreset(void **state)
{
	struct vu_msg m;

	raw_hdr(VU_GET_FEATURES, 5, 8);
	raw("\x01\x02\x03", 3);
	close(sp[1]);
	sp[1] = -1;
	assert_int_equal(recv_front(&m), -ECONNRESET);
}

static void test_vu_msg_bad_version_eproto(void **state)
{
	struct vu_msg m;

	raw_hdr(VU_GET_FEATURES, VU_FLAG_REPLY | 2, 8);
	assert_int_equal(recv_front(&m), -EPROTO);
}

static void test_vu_msg_oversized_emsgsize(void **state)
{
	struct vu_msg m;

	raw_hdr(VU_GET_FEATURES, 5, VU_PAYLOAD_MAX + 1);
	assert_int_equal(recv_front(&m), -EMSGSIZE);
}

static void test_vu_msg_max_payload_ok(void **state)
{
	static uint8_t pay[VU_PAYLOAD_MAX];
	struct vu_msg m;

	memset(pay, 0xa5, sizeof(pay));
	raw_hdr(VU_SET_MEM_TABLE, 1, VU_PAYLOAD_MAX);
	raw(pay, sizeof(pay));
	assert_int_equal(recv_front(&m), 0);
	assert_int_equal(m.p.raw[VU_PAYLOAD_MAX - 1], 0xa5);
}

static void test_vu_msg_no_data_times_out(void **state)
{
	int64_t t0 = ms_now();
	struct vu_msg m;

	assert_int_equal(recv_front(&m), -ETIMEDOUT);
	assert_in_range(ms_now() - t0, T_TIMEOUT_MS - 5, T_TIMEOUT_MS * 10);
}

static void test_vu_msg_partial_header_times_out(void **state)
{
	struct vu_msg m;

	raw("\x01\x00\x00", 3);
	assert_int_equal(recv_front(&m), -ETIMEDOUT);
}

static void test_vu_msg_partial_payload_times_out(void **state)
{
	struct vu_msg m;

	raw_hdr(VU_GET_VRING_BASE, 5, 8);
	raw("\x00\x00\x00\x00", 4);
	assert_int_equal(recv_front(&m), -ETIMEDOUT);
}

static void test_vu_msg_zero_timeout_queued_ok(void **state)
{
	uint64_t v = 42;
	struct vu_msg m;

	raw_hdr(VU_GET_FEATURES, 5, 8);
	raw(&v, 8);
	assert_int_equal(vu_msg_recv(sp[0], &m, NULL, 0, NULL, 0), 0);
	assert_true(m.p.u64 == 42);
}

static void *slow_writer(void *arg)
{
	uint64_t v = 0xfeed;
	struct vu_hdr h = { .request = VU_GET_FEATURES, .flags = 5, .size = 8 };

	/* header in two pieces, payload later: the reader must reassemble */
	raw(&h, 5);
	usleep(10000);
	raw((char *)&h + 5, sizeof(h) - 5);
	usleep(10000);
	raw(&v, sizeof(v));
	return NULL;
}

static void test_vu_msg_fragmented_reply_ok(void **state)
{
	pthread_t th;
	struct vu_msg m;

	assert_int_equal(pthread_create(&th, NULL, slow_writer, NULL), 0);
	assert_int_equal(vu_msg_recv(sp[0], &m, NULL, 0, NULL, 1000), 0);
	pthread_join(th, NULL);
	assert_int_equal(vu_msg_check_reply(&m, VU_GET_FEATURES, 8), 0);
	assert_true(m.p.u64 == 0xfeed);
}

static void test_vu_msg_check_reply_branches(void **state)
{
	struct vu_msg m;

	vu_msg_init(&m, VU_GET_VRING_BASE, 8);
	m.hdr.flags = VU_VERSION | VU_FLAG_REPLY;
	assert_int_equal(vu_msg_check_reply(&m, VU_GET_VRING_BASE, 8), 0);
	m.hdr.flags = VU_VERSION; /* not a reply */
	assert_int_equal(vu_msg_check_reply(&m, VU_GET_VRING_BASE, 8), -EPROTO);
	m.hdr.flags = VU_VERSION | VU_FLAG_REPLY | VU_FLAG_NEED_REPLY; /* stray bit */
	assert_int_equal(vu_msg_check_reply(&m, VU_GET_VRING_BASE, 8), -EPROTO);
	m.hdr.flags = 2 | VU_FLAG_REPLY; /* version 2 */
	assert_int_equal(vu_msg_check_reply(&m, VU_GET_VRING_BASE, 8), -EPROTO);
	m.hdr.flags = VU_VERSION | VU_FLAG_REPLY;
	assert_int_equal(vu_msg_check_reply(&m, VU_GET_FEATURES, 8), -EBADMSG);
	m.hdr.size = 4; /* truncated */
	assert_int_equal(vu_msg_check_reply(&m, VU_GET_VRING_BASE, 8), -EMSGSIZE);
	m.hdr.size = 16; /* oversized */
	assert_int_equal(vu_msg_check_reply(&m, VU_GET_VRING_BASE, 8), -EMSGSIZE);
}

static void test_vu_msg_send_bad_args_einval(void **state)
{
	int fds[VU_MAX_FDS + 1] = { 0 };
	struct vu_msg m;

	vu_msg_init(&m, VU_SET_MEM_TABLE, 8);
	assert_int_equal(vu_msg_send(sp[0], &m, fds, VU_MAX_FDS + 1, T_TIMEOUT_MS), -EINVAL);
	m.hdr.size = VU_PAYLOAD_MAX + 1;
	assert_int_equal(vu_msg_send(sp[0], &m, NULL, 0, T_TIMEOUT_MS), -EINVAL);
}

static void test_vu_msg_send_peer_gone_epipe(void **state)
{
	struct vu_msg m;

	close(sp[1]);
	sp[1] = -1;
	vu_msg_init(&m, VU_SET_OWNER, 0);
	/* MSG_NOSIGNAL: we get here instead of dying of SIGPIPE */
	assert_int_equal(vu_msg_send(sp[0], &m, NULL, 0, T_TIMEOUT_MS), -EPIPE);
}

static void test_vu_msg_send_full_socket_times_out(void **state)
{
	static uint8_t junk[65536];
	struct vu_msg m;
	int64_t t0;

	/* a back end that never reads: fill its receive buffer */
	while (send(sp[0], junk, sizeof(junk), MSG_DONTWAIT) > 0)
		;
	while (send(sp[0], junk, 1, MSG_DONTWAIT) > 0)
		;
	vu_msg_init(&m, VU_SET_OWNER, 0);
	t0 = ms_now();
	assert_int_equal(vu_msg_send(sp[0], &m, NULL, 0, T_TIMEOUT_MS), -ETIMEDOUT);
	assert_in_range(ms_now() - t0, T_TIMEOUT_MS - 5, T_TIMEOUT_MS * 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_vu_msg_roundtrip_u64_ok),
		T(test_vu_msg_fd_passing_ok),
		T(test_vu_msg_unexpected_fds_closed_badmsg),
		T(test_vu_msg_too_many_fds_closed_badmsg),
		T(test_vu_msg_ctrunc_badmsg),
		T(test_vu_msg_foreign_cmsg_badmsg),
		T(test_vu_msg_eof_before_header_connreset),
		T(test_vu_msg_eof_mid_header_connreset),
		T(test_vu_msg_eof_mid_payload_connreset),
		T(test_vu_msg_bad_version_eproto),
		T(test_vu_msg_oversized_emsgsize),
		T(test_vu_msg_max_payload_ok),
		T(test_vu_msg_no_data_times_out),
		T(test_vu_msg_partial_header_times_out),
		T(test_vu_msg_partial_payload_times_out),
		T(test_vu_msg_zero_timeout_queued_ok),
		T(test_vu_msg_fragmented_reply_ok),
		T(test_vu_msg_check_reply_branches),
		T(test_vu_msg_send_bad_args_einval),
		T(test_vu_msg_send_peer_gone_epipe),
		T(test_vu_msg_send_full_socket_times_out),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
