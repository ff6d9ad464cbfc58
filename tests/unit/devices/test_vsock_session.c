// SPDX-License-Identifier: MIT
/*
 * test_vsock_session.c: the virtio-vsock device's part in sessions
 * (guest-init/session_proto.h): the job connection (the guest's first connect
 * to host port job_port gets job_fd, never a PATH_<port> socket, and only
 * once), the exec port (no host CONNECT line may name it) and vsock_inject()
 * (a host fd connected to a guest port, "OK <port>" once the guest accepts),
 * and --egress (each guest connect to egress_port hands one end of a new
 * socket pair to the proxy's control socket; no proxy: RST).
 */
#include "tests/helpers/th_fdpass.h"
#include "tests/unit/devices/th_vsock.h"

#define JOB_PORT 1000
#define EXEC_PORT 1001
#define EGRESS_PORT 1002

static int host_end = -1; /* the session's end of the job stream */
static int proxy_end = -1; /* the egress proxy's end of its control socket */

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
	int ctl[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl), 0);
	proxy_end = ctl[1];
	/* the device borrows the control socket: it stays ours (closed in teardown) */
	static int dev_ctl = -1;
	if (dev_ctl >= 0)
		close(dev_ctl);
	dev_ctl = ctl[0];
	struct vsock_config cfg = { .guest_cid = CID, .path = t->path, .evl = &t->evl,
				    .job_fd = sp[1], .job_port = JOB_PORT,
				    .exec_port = EXEC_PORT, .egress_fd = ctl[0],
				    .egress_port = EGRESS_PORT };
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
	if (proxy_end >= 0)
		close(proxy_end);
	proxy_end = -1;
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

/* What the proxy gets on its control socket: one byte and one fd, or -1. */
static int proxy_take(void)
{
	int fd = th_fd_recv(proxy_end);

	assert_int_not_equal(fd, -2);
	return fd;
}

static void test_egress_port_hands_a_stream_to_the_proxy(void **state)
{
	struct tv *t = *state;
	struct virtio_vsock_hdr h;
	char buf[64];
	uint32_t n;
	int lfd = host_listen(t, EGRESS_PORT), fd, fd2;

	post_rx(t, 8);
	/* two guest connections: two streams for the proxy, never PATH_1002 */
	tx(t, gh(OP(REQUEST), 5000, EGRESS_PORT, 0, GUEST_BUF, 0), NULL, 0);
	expect_rx(t, OP(RESPONSE), EGRESS_PORT, 5000);
	tx(t, gh(OP(REQUEST), 5001, EGRESS_PORT, 0, GUEST_BUF, 0), NULL, 0);
	expect_rx(t, OP(RESPONSE), EGRESS_PORT, 5001);
	assert_int_equal(accept4(lfd, NULL, NULL, SOCK_NONBLOCK), -1);
	fd = proxy_take();
	fd2 = proxy_take();
	assert_true(fd >= 0 && fd2 >= 0);
	assert_int_equal(proxy_take(), -1);
	/* the proxy's end is blocking, as a thread of its own reads it */
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	tx(t, gh(OP(RW), 5000, EGRESS_PORT, 18, GUEST_BUF, 0), "CONNECT a.b:443 \r\n", 18);
	assert_int_equal(read(fd, buf, sizeof(buf)), 18);
	assert_int_equal(write(fd, "HTTP/1.1 200 OK\r\n\r\n", 19), 19);
	vsock_host_ready(t->dev);
	assert_true(get_rx(t, &h, buf, &n));
	assert_int_equal(le32toh(h.dst_port), 5000);
	assert_int_equal(n, 19);
	/* the proxy closes one: the guest's connection ends (SHUTDOWN, then RST) */
	close(fd);
	vsock_host_ready(t->dev);
	assert_true(get_rx(t, &h, buf, &n));
	assert_int_equal(le16toh(h.op), OP(SHUTDOWN));
	assert_int_equal(le32toh(h.dst_port), 5000);
	/* a SEQPACKET connect is refused */
	tx(t, gh_seq(OP(REQUEST), 5002, EGRESS_PORT, 0, GUEST_BUF, 0, 0), NULL, 0);
	t->rx_type = VIRTIO_VSOCK_TYPE_SEQPACKET; /* the RST answers in the request's type */
	expect_rx(t, OP(RST), EGRESS_PORT, 5002);
	t->rx_type = 0;
	/* the proxy gone: a new connect gets RST at once, the rest is untouched */
	close(proxy_end);
	proxy_end = -1;
	tx(t, gh(OP(REQUEST), 5003, EGRESS_PORT, 0, GUEST_BUF, 0), NULL, 0);
	expect_rx(t, OP(RST), EGRESS_PORT, 5003);
	assert_int_equal(write(fd2, "x", 1), 1);
	vsock_host_ready(t->dev);
	assert_true(get_rx(t, &h, buf, &n));
	assert_int_equal(le32toh(h.dst_port), 5001);
	assert_int_equal(n, 1);
	close(fd2);
	close(lfd);
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
		cmocka_unit_test_setup_teardown(test_egress_port_hands_a_stream_to_the_proxy,
						setup_session, teardown_session),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
