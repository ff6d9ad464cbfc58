// SPDX-License-Identifier: MIT
/*
 * test_vsock_session.c: the virtio-vsock device's part in sessions
 * (guest-init/session_proto.h): the job connection (the guest's first connect
 * to host port job_port gets job_fd, never a PATH_<port> socket, and only
 * once), the exec port (no host CONNECT line may name it) and vsock_inject()
 * (a host fd connected to a guest port, "OK <port>" once the guest accepts).
 */
#include "tests/unit/devices/th_vsock.h"

#define JOB_PORT 1000
#define EXEC_PORT 1001

static int host_end = -1; /* the session's end of the job stream */

/* The fixture's device, replaced by one with a job stream and an exec port. */
static int setup_session(void **state)
{
	struct tv *t;
	int sp[2], e = 0;
	char err[256];

	assert_int_equal(setup(state), 0);
	t = *state;
	assert_int_equal(vsock_ops.reset(t->dev), 0);
	vsock_ops.destroy(t->dev);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	host_end = sp[0];
	struct vsock_config cfg = { .guest_cid = CID, .path = t->path, .evl = &t->evl,
				    .job_fd = sp[1], .job_port = JOB_PORT,
				    .exec_port = EXEC_PORT };
	t->dev = vsock_create(&cfg, &e, err, sizeof(err));
	if (!t->dev)
		fail_msg("vsock_create: %s", err);
	activate(t);
	return 0;
}

static int teardown_session(void **state)
{
	close(host_end);
	host_end = -1;
	return teardown(state);
}

static void test_job_port_gets_job_fd_once(void **state)
{
	struct tv *t = *state;
	struct virtio_vsock_hdr h;
	char buf[64];
	uint32_t n;

	post_rx(t, 8);
	/* a listener at PATH_1000 is never used for the job port */
	int lfd = host_listen(t, JOB_PORT);
	tx(t, gh(OP(REQUEST), 5000, JOB_PORT, 0, GUEST_BUF, 0), NULL, 0);
	expect_rx(t, OP(RESPONSE), JOB_PORT, 5000);
	assert_int_equal(accept4(lfd, NULL, NULL, SOCK_NONBLOCK), -1);
	/* host -> guest through the job stream (the device made its end non-blocking) */
	assert_int_equal(write(host_end, "spec", 4), 4);
	vsock_host_ready(t->dev);
	assert_true(get_rx(t, &h, buf, &n));
	assert_int_equal(le16toh(h.op), OP(RW));
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "spec", 4);
	/* guest -> host */
	tx(t, gh(OP(RW), 5000, JOB_PORT, 3, GUEST_BUF, 0), "out", 3);
	assert_int_equal(read(host_end, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "out", 3);
	/* a second connect to the job port (another guest process) is refused */
	tx(t, gh(OP(REQUEST), 5001, JOB_PORT, 0, GUEST_BUF, 0), NULL, 0);
	expect_rx(t, OP(RST), JOB_PORT, 5001);
	assert_int_equal(accept4(lfd, NULL, NULL, SOCK_NONBLOCK), -1);
	close(lfd);
}

static void test_connect_line_cannot_name_exec_port(void **state)
{
	struct tv *t = *state;
	int fd = host_connect(t);

	post_rx(t, 4);
	host_send(fd, "CONNECT 1001\n");
	vsock_host_ready(t->dev);
	expect_no_rx(t);
	assert_closed(fd);
	assert_int_equal(stats(t).refused, 1);
}

static void test_inject_connects_and_says_ok(void **state)
{
	struct tv *t = *state;
	char buf[64], want[32];
	int sp[2];

	post_rx(t, 8);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	/* the device takes the fd over (it keeps its own reference) */
	assert_int_equal(vsock_inject(t->dev, sp[1], EXEC_PORT), 0);
	vsock_inject_ready(t->dev);
	struct virtio_vsock_hdr r = expect_rx(t, OP(REQUEST), 0, EXEC_PORT);
	uint32_t hp = le32toh(r.src_port);
	assert_true(hp >= VSOCK_HOST_PORT_BASE);
	tx(t, gh(OP(RESPONSE), EXEC_PORT, hp, 0, GUEST_BUF, 0), NULL, 0);
	snprintf(want, sizeof(want), "OK %u\n", hp);
	assert_int_equal(host_recv(sp[0], buf, sizeof(buf)), (ssize_t)strlen(want));
	assert_memory_equal(buf, want, strlen(want));
	/* a guest that refuses: the injected fd is closed without OK */
	int sp2[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp2), 0);
	assert_int_equal(vsock_inject(t->dev, sp2[1], EXEC_PORT), 0);
	vsock_inject_ready(t->dev);
	r = expect_rx(t, OP(REQUEST), 0, EXEC_PORT);
	tx(t, gh(OP(RST), EXEC_PORT, le32toh(r.src_port), 0, GUEST_BUF, 0), NULL, 0);
	assert_int_equal(host_recv(sp2[0], buf, sizeof(buf)), 0);
	close(sp2[0]);
	close(sp[0]);
	assert_int_equal(vsock_inject(t->dev, -1, EXEC_PORT), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_job_port_gets_job_fd_once, setup_session,
						teardown_session),
		cmocka_unit_test_setup_teardown(test_connect_line_cannot_name_exec_port,
						setup_session, teardown_session),
		cmocka_unit_test_setup_teardown(test_inject_connects_and_says_ok, setup_session,
						teardown_session),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
