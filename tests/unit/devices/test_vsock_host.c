// SPDX-License-Identifier: MIT
/*
 * test_vsock_host.c: virtio-vsock's host side, on the fixture of th_vsock.h:
 * the CONNECT line and its deadlines, host connections and the guest's
 * answer, guest connects to PATH_<port> nobody serves, the connection limits
 * (the host's reserve, RLIMIT_NOFILE), the sockets' poll completions, device
 * reset, and the socket PATH (stale replaced, live refused).
 * test_virtio_vsock.c has the packets and credit.
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include "tests/unit/devices/th_vsock.h"

static int setup_one(void **state)
{
	return setup_limits(state, 1, 1);
}

static int setup_four(void **state)
{
	return setup_limits(state, 4, 4);
}

/* ---- the CONNECT line ------------------------------------------------------------------ */

static void test_vsock_connect_scan_cases(void **state)
{
	char long_line[80];
	uint32_t port = 0;
	size_t used = 0;

	assert_int_equal(vsock_connect_scan("CONNECT 1234\n", 13, &port, &used), 1);
	assert_int_equal(port, 1234);
	assert_int_equal(used, 13);
	/* stream bytes behind the line are not part of it */
	assert_int_equal(vsock_connect_scan("CONNECT 5\nDATA", 14, &port, &used), 1);
	assert_int_equal(port, 5);
	assert_int_equal(used, 10);
	assert_int_equal(vsock_connect_scan("CONNECT 4294967294\n", 19, &port, &used), 1);
	assert_int_equal(port, 4294967294U);
	/* not complete yet */
	assert_int_equal(vsock_connect_scan("CONNECT 12", 10, &port, &used), 0);
	assert_int_equal(vsock_connect_scan("", 0, &port, &used), 0);
	/* malformed */
	assert_int_equal(vsock_connect_scan("CONNECT abc\n", 12, &port, &used), -EINVAL);
	assert_int_equal(vsock_connect_scan("CONNECT \n", 9, &port, &used), -EINVAL);
	assert_int_equal(vsock_connect_scan("CONNECT  1\n", 11, &port, &used), -EINVAL);
	assert_int_equal(vsock_connect_scan("connect 1\n", 10, &port, &used), -EINVAL);
	assert_int_equal(vsock_connect_scan("CONNECT 1\r\n", 11, &port, &used), -EINVAL);
	assert_int_equal(vsock_connect_scan("CONNECT -1\n", 11, &port, &used), -EINVAL);
	assert_int_equal(vsock_connect_scan("\n", 1, &port, &used), -EINVAL);
	/* port out of range: VMADDR_PORT_ANY, beyond 32 bits, too many digits */
	assert_int_equal(vsock_connect_scan("CONNECT 4294967295\n", 19, &port, &used), -EINVAL);
	assert_int_equal(vsock_connect_scan("CONNECT 9999999999\n", 19, &port, &used), -EINVAL);
	assert_int_equal(vsock_connect_scan("CONNECT 00000000001\n", 20, &port, &used), -EINVAL);
	/* over-long: no newline within 64 bytes, or a newline past them */
	memset(long_line, 'A', sizeof(long_line));
	assert_int_equal(vsock_connect_scan(long_line, 64, &port, &used), -EMSGSIZE);
	assert_int_equal(vsock_connect_scan(long_line, 63, &port, &used), 0);
	long_line[70] = '\n';
	assert_int_equal(vsock_connect_scan(long_line, 71, &port, &used), -EMSGSIZE);
}

static void test_vsock_connect_line_errors_close(void **state)
{
	struct tv *t = *state;
	static const char *const bad[] = {
		"CONNECT abc\n", "CONNECT 4294967295\n", "CONNECT 99999999999\n", "HELLO\n",
		"CONNECT 0000000000000000000000000000000000000000000000000000000000001\n",
	};
	int fd;

	post_rx(t, 4);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fd = host_connect(t);
		host_send(fd, bad[i]);
		vsock_host_ready(t->dev);
		assert_closed(fd);
	}
	/* a line fed in pieces is fine until it is too long */
	fd = host_connect(t);
	for (int i = 0; i < VSOCK_CONNECT_LINE_MAX; i++) {
		host_send(fd, "C");
		vsock_host_ready(t->dev);
	}
	assert_closed(fd);
	fd = host_connect(t);
	host_send(fd, "CONN");
	vsock_host_ready(t->dev);
	host_send(fd, "ECT 321");
	vsock_host_ready(t->dev);
	host_send(fd, "\n");
	vsock_host_ready(t->dev);
	expect_rx(t, OP(REQUEST), 0, 321);
	close(fd);
	expect_no_rx(t);
}

static void test_vsock_connect_line_deadline(void **state)
{
	struct tv *t = *state;
	uint64_t now = now_ns();
	int quiet, partial, waiting;
	char buf[8];

	post_rx(t, 4);
	quiet = host_connect(t);          /* says nothing */
	partial = host_connect(t);
	host_send(partial, "CONNECT 12");  /* no newline */
	vsock_host_ready(t->dev);
	struct virtio_vsock_hdr r = host_asks(t, &waiting, "CONNECT 13\n", 13); /* guest silent */
	assert_int_equal(stats(t).pending, 3);
	vsock_expire(t->dev, now);
	assert_int_equal(host_recv(quiet, buf, sizeof(buf)), -1); /* not yet */
	/* the line has its own deadline... */
	vsock_expire(t->dev, now + (VSOCK_CONNECT_TIMEOUT_MS + 100) * 1000000ULL);
	assert_closed(quiet);
	assert_closed(partial);
	assert_int_equal(host_recv(waiting, buf, sizeof(buf)), -1);
	expect_no_rx(t);
	/* ...and the guest's answer its own from the line on, a longer one (slow guests) */
	vsock_expire(t->dev, now + (VSOCK_RESPONSE_TIMEOUT_MS - 100) * 1000000ULL);
	assert_int_equal(host_recv(waiting, buf, sizeof(buf)), -1);
	vsock_expire(t->dev, now_ns() + (VSOCK_RESPONSE_TIMEOUT_MS + 100) * 1000000ULL);
	assert_closed(waiting);
	/* the guest had the REQUEST: it gets an RST for it */
	expect_rx(t, OP(RST), le32toh(r.src_port), 13);
	assert_int_equal(stats(t).pending, 0);
}

/* ---- host -> guest ----------------------------------------------------------------------- */

static void test_vsock_host_connect_ok_then_stream(void **state)
{
	struct tv *t = *state;
	char buf[64], want[32];
	uint32_t n;
	int fd;

	post_rx(t, 8);
	/* stream bytes sent right behind the line reach the guest after the handshake */
	struct virtio_vsock_hdr r = host_asks(t, &fd, "CONNECT 5000\nearly", 5000);
	uint32_t hp = le32toh(r.src_port);
	assert_int_equal(host_recv(fd, buf, sizeof(buf)), -1); /* no OK before the guest answers */
	tx(t, gh(OP(RESPONSE), 5000, hp, 0, GUEST_BUF, 0), NULL, 0);
	snprintf(want, sizeof(want), "OK %u\n", hp);
	assert_int_equal(host_recv(fd, buf, sizeof(buf)), (ssize_t)strlen(want));
	assert_memory_equal(buf, want, strlen(want));
	vsock_host_ready(t->dev);
	struct virtio_vsock_hdr h;
	assert_true(get_rx(t, &h, buf, &n));
	assert_int_equal(le16toh(h.op), OP(RW));
	assert_int_equal(n, 5);
	assert_memory_equal(buf, "early", 5);
	tx(t, gh(OP(RW), 5000, hp, 2, GUEST_BUF, 0), "hi", 2);
	assert_int_equal(host_recv(fd, buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "hi", 2);
	assert_int_equal(stats(t).opened, 1);
	assert_int_equal(stats(t).pending, 0);
	close(fd);
}

static void test_vsock_host_connect_guest_rst_closes_without_ok(void **state)
{
	struct tv *t = *state;
	char buf[16];
	int fd;

	post_rx(t, 4);
	struct virtio_vsock_hdr r = host_asks(t, &fd, "CONNECT 5001\n", 5001);
	/* nobody listens on 5001 in the guest */
	tx(t, gh(OP(RST), 5001, le32toh(r.src_port), 0, GUEST_BUF, 0), NULL, 0);
	assert_int_equal(host_recv(fd, buf, sizeof(buf)), 0);
	assert_int_equal(stats(t).live, 0);
	close(fd);
}

static void test_vsock_connect_before_driver_ready_closes(void **state)
{
	struct tv *t = *state;
	int fd;

	assert_int_equal(vsock_ops.reset(t->dev), 0);
	fd = host_connect(t);
	host_send(fd, "CONNECT 1\n");
	vsock_host_ready(t->dev);
	assert_closed(fd);
	activate(t);
}

/* ---- guest -> host: PATH_<port> -------------------------------------------------------- */

static void test_vsock_guest_connect_nobody_listening_gets_rst(void **state)
{
	struct tv *t = *state;

	post_rx(t, 4);
	tx(t, gh(OP(REQUEST), 5004, 9999, 0, GUEST_BUF, 0), NULL, 0);
	expect_rx(t, OP(RST), 9999, 5004);
	assert_int_equal(stats(t).refused, 1);
	assert_int_equal(stats(t).live, 0);
	/* a regular file at PATH_P is no listener either */
	char p[160];
	snprintf(p, sizeof(p), "%s_10", t->path);
	close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	tx(t, gh(OP(REQUEST), 5004, 10, 0, GUEST_BUF, 0), NULL, 0);
	expect_rx(t, OP(RST), 10, 5004);
}

/* ---- poll completions ------------------------------------------------------------------ */

/* A slot is reused only once the poll naming its socket completed (vsock_int.h). */
static void test_vsock_closed_slot_freed_after_poll_completes(void **state)
{
	struct tv *t = *state; /* setup_one: a single connection slot */
	int lfd = host_listen(t, 49), fd, fd2;
	char buf[4];

	post_rx(t, 8);
	th_reap(t, 0); /* the timer's first tick: the listener's poll is armed */
	fd = guest_connect(t, lfd, 5014, 49, GUEST_BUF); /* arms POLLIN: the guest has credit */
	tx(t, gh(OP(RST), 5014, 49, 0, GUEST_BUF, 0), NULL, 0);
	assert_int_equal(host_recv(fd, buf, sizeof(buf)), 0); /* shut down at once */
	assert_int_equal(stats(t).live, 0);
	/* the poll is still in flight: the slot is not free yet */
	tx(t, gh(OP(REQUEST), 5015, 49, 0, GUEST_BUF, 0), NULL, 0);
	expect_rx(t, OP(RST), 49, 5015);
	assert_true(th_reap(t, 0) >= 1); /* POLLHUP: the socket is closed, the slot freed */
	tx(t, gh(OP(REQUEST), 5015, 49, 0, GUEST_BUF, 0), NULL, 0);
	expect_rx(t, OP(RESPONSE), 49, 5015);
	fd2 = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fd2 >= 0);
	close(fd2);
	close(fd);
	close(lfd);
}

/* A poll the kernel fails closes its connection instead of being armed again and again. */
static void test_vsock_poll_error_closes_connection(void **state)
{
	struct tv *t = *state;
	int lfd = host_listen(t, 50), fd;
	char buf[8];
	uint32_t n;
	struct virtio_vsock_hdr h;

	post_rx(t, 8);
	fd = guest_connect(t, lfd, 5016, 50, GUEST_BUF);
	/* -ECANCELED outside teardown: the poll is armed again, the connection lives */
	assert_true(th_reap(t, -ECANCELED) >= 1);
	assert_int_equal(stats(t).live, 1);
	host_send(fd, "up");
	th_reap(t, 0);
	assert_true(get_rx(t, &h, buf, &n));
	assert_int_equal(le16toh(h.op), OP(RW));
	assert_int_equal(n, 2);
	/* any other error: closed, the guest told, nothing armed again */
	host_send(fd, "x");
	assert_true(th_reap(t, -EINVAL) >= 1);
	expect_rx(t, OP(RST), 50, 5016);
	assert_int_equal(stats(t).live, 0);
	assert_closed(fd);
	close(lfd);
}

/* ---- limits, reset, the socket path ------------------------------------------------------ */

static void test_vsock_connection_limits(void **state)
{
	struct tv *t = *state; /* setup_small: 2 connections, 1 in the handshake */
	int lfd = host_listen(t, 55), a, b, h1, h2;

	post_rx(t, 16);
	a = guest_connect(t, lfd, 6001, 55, GUEST_BUF);
	h1 = host_connect(t);
	h2 = host_connect(t);
	vsock_host_ready(t->dev);
	assert_closed(h2); /* one handshake at a time */
	host_send(h1, "CONNECT 9\n");
	vsock_host_ready(t->dev);
	expect_rx(t, OP(REQUEST), 0, 9);
	/* two live connections: a third is refused */
	tx(t, gh(OP(REQUEST), 6002, 55, 0, GUEST_BUF, 0), NULL, 0);
	expect_rx(t, OP(RST), 55, 6002);
	assert_int_equal(stats(t).live, 2);
	assert_int_equal(accept4(lfd, NULL, NULL, SOCK_NONBLOCK), -1);
	b = host_connect(t);
	vsock_host_ready(t->dev);
	assert_closed(b);
	close(h1);
	close(a);
	close(lfd);
}

/* Guest-started connections leave the host's reserve of slots (a quarter, at most 64) free. */
static void test_vsock_guest_cannot_take_host_reserve(void **state)
{
	struct tv *t = *state; /* setup_four: 4 connections, 1 of them kept for the host */
	int lfd = host_listen(t, 56), g[3], h1, h2;

	post_rx(t, 16);
	assert_int_equal(stats(t).max_conns, 4);
	for (unsigned i = 0; i < 3; i++)
		g[i] = guest_connect(t, lfd, 6101 + i, 56, GUEST_BUF);
	/* a fourth from the guest would lock host programs out */
	tx(t, gh(OP(REQUEST), 6104, 56, 0, GUEST_BUF, 0), NULL, 0);
	expect_rx(t, OP(RST), 56, 6104);
	assert_int_equal(stats(t).live, 3);
	assert_int_equal(accept4(lfd, NULL, NULL, SOCK_NONBLOCK), -1);
	/* the host still gets in */
	host_asks(t, &h1, "CONNECT 9\n", 9);
	assert_int_equal(stats(t).live, 4);
	/* and beyond the limit, host connections are refused too */
	h2 = host_connect(t);
	vsock_host_ready(t->dev);
	assert_closed(h2);
	close(h1);
	for (unsigned i = 0; i < 3; i++)
		close(g[i]);
	close(lfd);
}

/* vsock_create() in a child whose RLIMIT_NOFILE is (soft, hard); its max_conns, or -errno. */
static long conns_under_rlimit(rlim_t soft, rlim_t hard, rlim_t *soft_after)
{
	struct vsock_config cfg = { .guest_cid = CID };
	struct rlimit rl = { soft, hard };
	int p[2], st, e = 0;
	long v = -1;
	char err[256];
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		long out[2] = { -EPERM, 0 };
		void *dev;

		if (setrlimit(RLIMIT_NOFILE, &rl) == 0) {
			dev = vsock_create(&cfg, &e, err, sizeof(err));
			out[0] = e;
			if (dev) {
				struct vsock_stats s;

				vsock_get_stats(dev, &s);
				out[0] = s.max_conns;
				vsock_ops.destroy(dev);
			}
			getrlimit(RLIMIT_NOFILE, &rl);
			out[1] = (long)rl.rlim_cur;
		}
		_exit(write(p[1], out, sizeof(out)) == sizeof(out) ? 0 : 1);
	}
	close(p[1]);
	long out[2];
	assert_int_equal(read(p[0], out, sizeof(out)), sizeof(out));
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	v = out[0];
	*soft_after = (rlim_t)out[1];
	return v;
}

/* The connection limit fits the fds agentvmm may open (RLIMIT_NOFILE, docs/vsock.md). */
static void test_vsock_connection_limit_follows_rlimit_nofile(void **state)
{
	struct rlimit rl;
	rlim_t soft;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	/* a hard limit that allows it: the soft one is raised as far as the device needs */
	if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= VSOCK_MAX_CONNS + VSOCK_FD_RESERVE) {
		assert_int_equal(conns_under_rlimit(256, rl.rlim_max, &soft), VSOCK_MAX_CONNS);
		assert_int_equal(soft, VSOCK_MAX_CONNS + VSOCK_FD_RESERVE);
	}
	/* a hard limit that does not: fewer connections, the reserve kept for the rest */
	assert_int_equal(conns_under_rlimit(VSOCK_FD_RESERVE + 100, VSOCK_FD_RESERVE + 200, &soft),
			 200);
	assert_int_equal(soft, VSOCK_FD_RESERVE + 200);
	/* hardly any: a few all the same (agentvmm is short of fds anyway) */
	assert_int_equal(conns_under_rlimit(64, 64, &soft), VSOCK_MIN_CONNS);
}

static void test_vsock_reset_closes_every_connection(void **state)
{
	struct tv *t = *state;
	int lfd = host_listen(t, 44), a, b, line;
	char buf[4];

	post_rx(t, 8);
	a = guest_connect(t, lfd, 7001, 44, GUEST_BUF);
	host_asks(t, &b, "CONNECT 7002\n", 7002);
	line = host_connect(t);
	vsock_host_ready(t->dev);
	assert_int_equal(stats(t).live, 3);
	assert_int_equal(vsock_ops.reset(t->dev), 0);
	assert_int_equal(stats(t).live, 0);
	assert_int_equal(host_recv(a, buf, sizeof(buf)), 0);
	assert_closed(b);
	assert_closed(line);
	/* the listener stays for the next driver */
	activate(t);
	post_rx(t, 4);
	host_asks(t, &b, "CONNECT 7003\n", 7003);
	close(b);
	close(a);
	close(lfd);
}

static void test_vsock_socket_path_stale_replaced_live_refused(void **state)
{
	char dir[] = "/tmp/av-vsock-path-XXXXXX", path[128], cmd[160], err[256];
	struct vsock_config cfg = { .guest_cid = CID, .path = path };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int e = 0, fd;
	void *dev;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s", dir);
	/* a stale socket (bound, never unlinked) is replaced */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	sun_set(&sa, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	dev = vsock_create(&cfg, &e, err, sizeof(err));
	assert_non_null(dev);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* a live one (ours) is refused */
	assert_null(vsock_create(&cfg, &e, err, sizeof(err)));
	assert_int_equal(e, -EINVAL);
	assert_non_null(strstr(err, "another process is listening on it"));
	vsock_ops.destroy(dev);
	assert_int_equal(access(path, F_OK), -1);
	/* a regular file is not replaced */
	close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	assert_null(vsock_create(&cfg, &e, err, sizeof(err)));
	assert_non_null(strstr(err, "not a socket"));
	assert_int_equal(access(path, F_OK), 0);
	/* a missing directory, a bad cid */
	snprintf(path, sizeof(path), "%s/no/s", dir);
	assert_null(vsock_create(&cfg, &e, err, sizeof(err)));
	assert_int_equal(e, -EINVAL);
	cfg.guest_cid = 2;
	assert_null(vsock_create(&cfg, &e, err, sizeof(err)));
	assert_int_equal(e, -EINVAL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vsock_connect_scan_cases),
		cmocka_unit_test(test_vsock_socket_path_stale_replaced_live_refused),
		cmocka_unit_test(test_vsock_connection_limit_follows_rlimit_nofile),
		cmocka_unit_test_setup_teardown(test_vsock_connect_line_errors_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vsock_connect_line_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vsock_host_connect_ok_then_stream, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vsock_host_connect_guest_rst_closes_without_ok,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_vsock_connect_before_driver_ready_closes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vsock_guest_connect_nobody_listening_gets_rst,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_vsock_closed_slot_freed_after_poll_completes,
						setup_one, teardown),
		cmocka_unit_test_setup_teardown(test_vsock_poll_error_closes_connection, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vsock_connection_limits, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_vsock_guest_cannot_take_host_reserve, setup_four,
						teardown),
		cmocka_unit_test_setup_teardown(test_vsock_reset_closes_every_connection, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
