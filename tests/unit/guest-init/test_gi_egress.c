// SPDX-License-Identifier: MIT
/*
 * test_gi_egress.c: guest-init's egress forwarder (guest-init/egress.c) on the
 * host: gi_egress_copy() between socketpairs, and gi_egress_serve() in a
 * process of its own with a real 127.0.0.1 listener and a loopback TCP
 * upstream standing in for the host's vsock port: bytes both ways, 8 MiB
 * compared byte for byte, half-close in both directions, upstream failure,
 * clients that reset, the GI_EGRESS_MAX_CONNS cap, and no fd or child left
 * behind. Each test is bounded by alarm() and poll/receive timeouts.
 * Over 600 lines because the stand-in servers and the fd/child accounting
 * these tests need live here (tests/helpers/ is for the VMM's tests).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "guest-init/egress.h"

#define TEST_TIMEOUT_S 60	/* alarm() per test */
#define IO_TIMEOUT_MS 10000	/* any single wait */
#define BIG_LEN (8u << 20)
#define REPLY_LEN (256u << 10)
#define CAP_CLIENTS 300

enum up_mode {
	UP_ECHO,	/* echo everything; at EOF shut down writing */
	UP_SINK_REPLY,	/* read to EOF, then "got N\n" + REPLY_LEN pattern bytes, close */
};

/* The byte at offset (i) of every test stream: not periodic at 64 KiB. */
static unsigned char pattern(size_t i)
{
	return (unsigned char)((i >> 16) * 7 + i * 131 + (i >> 8));
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Server processes (group leaders) a test started and has not stopped yet. */
static pid_t groups[4];

static void group_add(pid_t pid)
{
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (!groups[i]) {
			groups[i] = pid;
			return;
		}
	}
	fail_msg("too many server processes");
}

/* Kill (pid)'s whole group and reap (pid). */
static void group_kill(pid_t pid)
{
	kill(-pid, SIGKILL);
	waitpid(pid, NULL, 0);
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (groups[i] == pid)
			groups[i] = 0;
}

/*
 * In a forked server: its own process group, and SIGKILL when the test
 * process dies (an alarm, a crash), so nothing outlives a failed run.
 */
static void server_child_init(void)
{
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1); /* the test died before prctl() */
}

static int setup(void **state)
{
	alarm(TEST_TIMEOUT_S);
	return 0;
}

/* After a failed assertion too: no server is left running. */
static int teardown(void **state)
{
	alarm(0);
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (groups[i])
			group_kill(groups[i]);
	return 0;
}

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static int count_fds(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	return count_dir(path);
}

/* Children of (pid), zombies included: they show the acceptor's reaping. */
static int count_children(pid_t pid)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d))) {
		char path[300], buf[512], *p;
		ssize_t len;
		int fd, ppid;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = 0;
		p = strrchr(buf, ')'); /* "pid (comm) S ppid ..." */
		if (p && sscanf(p + 1, " %*c %d", &ppid) == 1 && ppid == pid)
			n++;
	}
	closedir(d);
	return n;
}

static uint16_t port_of(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	return ntohs(sa.sin_port);
}

static int tcp_connect(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), e;

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* A test client: connected, and no receive waits longer than IO_TIMEOUT_MS. */
static void set_rcv_timeout(int fd)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_MS / 1000 };

	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
}

static int client_connect(uint16_t port)
{
	int fd = tcp_connect(port);

	assert_true(fd >= 0);
	set_rcv_timeout(fd);
	return fd;
}

static int send_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Receive exactly (len) bytes; false on EOF, error or timeout. */
static bool recv_all(int fd, void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* The next receive on (fd) sees the end of the stream: EOF, or a reset. */
static void expect_end(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, 0);

	if (n == 0 || (n < 0 && errno == ECONNRESET))
		return;
	fail_msg("expected the end of the stream, got %zd (%s)", n,
		 n < 0 ? strerror(errno) : "data");
}

/* ---- the stand-in for the host: a loopback TCP server, one process per connection ---- */

static __attribute__((noreturn)) void upstream_conn(int fd, enum up_mode mode)
{
	static unsigned char buf[65536];
	size_t total = 0;
	ssize_t n;
	char hdr[64];

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		total += (size_t)n;
		if (mode == UP_ECHO && send_all(fd, buf, (size_t)n))
			_exit(1);
	}
	if (n < 0)
		_exit(1);
	if (mode == UP_SINK_REPLY) {
		snprintf(hdr, sizeof(hdr), "got %zu\n", total);
		if (send_all(fd, hdr, strlen(hdr)))
			_exit(1);
		for (size_t off = 0; off < REPLY_LEN; off += sizeof(buf)) {
			for (size_t i = 0; i < sizeof(buf); i++)
				buf[i] = pattern(off + i);
			if (send_all(fd, buf, sizeof(buf)))
				_exit(1);
		}
	}
	shutdown(fd, SHUT_WR);
	close(fd);
	_exit(0);
}

/* Fork a (mode) server on 127.0.0.1; its port in (*port). Return: its pid (a group leader). */
static pid_t upstream_start(enum up_mode mode, uint16_t *port)
{
	int lfd = gi_egress_listen(0);
	pid_t pid;

	assert_true(lfd >= 0);
	assert_int_equal(fcntl(lfd, F_SETFL, 0), 0); /* blocking accept */
	*port = port_of(lfd);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		server_child_init();
		signal(SIGCHLD, SIG_IGN); /* connections reap themselves */
		for (;;) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (fd < 0)
				_exit(1);
			if (fork() == 0) {
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				close(lfd);
				upstream_conn(fd, mode);
			}
			close(fd);
		}
	}
	setpgid(pid, pid);
	group_add(pid);
	close(lfd);
	return pid;
}

/* The forwarder's upstream in these tests: TCP to 127.0.0.1:*(uint16_t *)opaque. */
static int up_tcp(void *opaque)
{
	return tcp_connect(*(const uint16_t *)opaque);
}

/* Fork gi_egress_serve() on a fresh listener; its port in (*port). */
static pid_t forwarder_start(uint16_t *upstream_port, uint16_t *port)
{
	int lfd = gi_egress_listen(0);
	pid_t pid;

	assert_true(lfd >= 0);
	*port = port_of(lfd);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		server_child_init();
		_exit(gi_egress_serve(lfd, up_tcp, upstream_port) == 0 ? 2 : 3);
	}
	setpgid(pid, pid);
	group_add(pid);
	close(lfd);
	return pid;
}

/* Stop a server (pid) and its group; it must still have been running. */
static void group_stop(pid_t pid)
{
	assert_int_equal(waitpid(pid, NULL, WNOHANG), 0);
	group_kill(pid);
}

/* Wait until the acceptor (fwd) has no child left and (fds) fds again. */
static void expect_forwarder_idle(pid_t fwd, int fds)
{
	long long end = now_ms() + IO_TIMEOUT_MS;
	int kids, now;

	do {
		kids = count_children(fwd);
		now = count_fds(fwd);
		if (!kids && now == fds)
			return;
		usleep(10000);
	} while (now_ms() < end);
	fail_msg("forwarder: %d children, %d fds (wanted 0, %d)", kids, now, fds);
}

/* ---- gi_egress_copy() alone ------------------------------------------------------ */

static void test_gi_egress_copy_socketpair_half_close_both_orders(void **state)
{
	char buf[64];
	int fds_before = count_fds(getpid());

	for (int order = 0; order < 2; order++) {
		int c[2], s[2], st, first, second;
		pid_t pid;

		/* client c[0] <-> c[1] copy s[0] <-> s[1] server */
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, c), 0);
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(c[0]);
			close(s[1]);
			_exit(gi_egress_copy(c[1], s[0]) ? 1 : 0);
		}
		close(c[1]);
		close(s[0]);
		set_rcv_timeout(c[0]);
		set_rcv_timeout(s[1]);
		assert_int_equal(send_all(c[0], "ping", 4), 0);
		assert_true(recv_all(s[1], buf, 4));
		assert_memory_equal(buf, "ping", 4);
		assert_int_equal(send_all(s[1], "pong", 4), 0);
		assert_true(recv_all(c[0], buf, 4));
		assert_memory_equal(buf, "pong", 4);
		/* order 0: the client ends first; 1: the server does */
		first = order ? s[1] : c[0];
		second = order ? c[0] : s[1];
		assert_int_equal(shutdown(first, SHUT_WR), 0);
		expect_end(second);
		/* the other direction still works after the half-close */
		assert_int_equal(send_all(second, "after", 5), 0);
		assert_true(recv_all(first, buf, 5));
		assert_memory_equal(buf, "after", 5);
		assert_int_equal(shutdown(second, SHUT_WR), 0);
		expect_end(first);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0); /* both directions ended cleanly */
		close(c[0]);
		close(s[1]);
	}
	assert_int_equal(count_fds(getpid()), fds_before);
}

static void test_gi_egress_copy_peer_reset_is_an_error(void **state)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int a, b, l, st, u[2];
	struct pollfd p;
	pid_t pid;

	/* TCP, so the client end can reset */
	l = gi_egress_listen(0);
	assert_true(l >= 0);
	a = client_connect(port_of(l));
	p = (struct pollfd){ .fd = l, .events = POLLIN };
	assert_int_equal(poll(&p, 1, IO_TIMEOUT_MS), 1);
	b = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	assert_true(b >= 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, u), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(a);
		close(u[1]);
		_exit(gi_egress_copy(b, u[0]) < 0 ? 0 : 1);
	}
	close(b);
	close(u[0]);
	assert_int_equal(setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	close(a); /* RST */
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	close(u[1]);
	close(l);
}

/* ---- gi_egress_serve() ------------------------------------------------------------ */

/* Send BIG_LEN pattern bytes through (fd) while reading their echo, then expect EOF. */
static void echo_big(int fd)
{
	static unsigned char out[65536], in[65536];
	size_t sent = 0, got = 0;

	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	while (got < BIG_LEN) {
		struct pollfd p = { .fd = fd, .events = POLLIN | (sent < BIG_LEN ? POLLOUT : 0) };
		ssize_t n;

		assert_true(poll(&p, 1, IO_TIMEOUT_MS) > 0);
		if (sent < BIG_LEN && (p.revents & POLLOUT)) {
			size_t len = BIG_LEN - sent < sizeof(out) ? BIG_LEN - sent : sizeof(out);

			for (size_t i = 0; i < len; i++)
				out[i] = pattern(sent + i);
			n = send(fd, out, len, MSG_NOSIGNAL);
			assert_true(n > 0 || errno == EAGAIN);
			if (n > 0)
				sent += (size_t)n;
			if (sent == BIG_LEN)
				assert_int_equal(shutdown(fd, SHUT_WR), 0);
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = recv(fd, in, sizeof(in), 0);
			if (n < 0 && errno == EAGAIN)
				continue;
			if (n <= 0)
				fail_msg("stream ended after %zu of %u bytes", got, BIG_LEN);
			for (ssize_t i = 0; i < n; i++)
				if (in[i] != pattern(got + (size_t)i))
					fail_msg("byte %zu differs", got + (size_t)i);
			got += (size_t)n;
		}
	}
	assert_int_equal(fcntl(fd, F_SETFL, 0), 0);
	expect_end(fd);
}

static void test_gi_egress_serve_8mib_both_ways(void **state)
{
	uint16_t up_port, port;
	pid_t up = upstream_start(UP_ECHO, &up_port);
	pid_t fwd = forwarder_start(&up_port, &port);
	int fds = count_fds(fwd);

	for (int round = 0; round < 2; round++) {
		int c = client_connect(port);

		echo_big(c);
		close(c);
	}
	expect_forwarder_idle(fwd, fds);
	group_stop(fwd);
	group_stop(up);
}

static void test_gi_egress_serve_half_close_propagates(void **state)
{
	static unsigned char buf[REPLY_LEN];
	uint16_t up_port, port;
	pid_t up = upstream_start(UP_SINK_REPLY, &up_port);
	pid_t fwd = forwarder_start(&up_port, &port);
	int fds = count_fds(fwd), c;
	char hdr[32], want[32];
	size_t sent = 100000;

	c = client_connect(port);
	for (size_t i = 0; i < sent; i++)
		buf[i] = pattern(i);
	assert_int_equal(send_all(c, buf, sent), 0);
	/* the server answers only once it saw our end: the shutdown must reach it */
	assert_int_equal(shutdown(c, SHUT_WR), 0);
	snprintf(want, sizeof(want), "got %zu\n", sent);
	assert_true(recv_all(c, hdr, strlen(want)));
	assert_memory_equal(hdr, want, strlen(want));
	assert_true(recv_all(c, buf, REPLY_LEN));
	for (size_t i = 0; i < REPLY_LEN; i++)
		if (buf[i] != pattern(i))
			fail_msg("reply byte %zu differs", i);
	expect_end(c);
	close(c);
	expect_forwarder_idle(fwd, fds);
	group_stop(fwd);
	group_stop(up);
}

static void test_gi_egress_serve_upstream_failure_closes_client(void **state)
{
	uint16_t dead_port, port;
	int l = gi_egress_listen(0);
	pid_t fwd;
	int fds;

	/* a port nobody listens on any more: connect() is refused */
	assert_true(l >= 0);
	dead_port = port_of(l);
	close(l);
	fwd = forwarder_start(&dead_port, &port);
	fds = count_fds(fwd);
	for (int i = 0; i < 3; i++) {
		int c = client_connect(port);

		/* a request may or may not get out before the reset: either is fine */
		(void)send_all(c, "GET http://example.com/ HTTP/1.1\r\n\r\n", 36);
		expect_end(c);
		close(c);
	}
	expect_forwarder_idle(fwd, fds);
	group_stop(fwd); /* still serving: it never ends for a client's sake */
}

static void test_gi_egress_serve_survives_client_resets(void **state)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	uint16_t up_port, port;
	pid_t up = upstream_start(UP_ECHO, &up_port);
	pid_t fwd = forwarder_start(&up_port, &port);
	int fds = count_fds(fwd), c;
	char buf[4];

	for (int i = 0; i < 20; i++) {
		c = client_connect(port);
		assert_int_equal(send_all(c, "abc", 3), 0);
		if (i & 1)
			assert_true(recv_all(c, buf, 3));
		assert_int_equal(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
		close(c);
	}
	c = client_connect(port);
	assert_int_equal(send_all(c, "abcd", 4), 0);
	assert_true(recv_all(c, buf, 4));
	assert_memory_equal(buf, "abcd", 4);
	close(c);
	expect_forwarder_idle(fwd, fds);
	group_stop(fwd);
	group_stop(up);
}

/*
 * CAP_CLIENTS connections open at once: the first CAP_SERIAL one by one (each
 * echoed before the next), the rest in one burst (within the listen backlog,
 * so the accept order stays the connect order); GI_EGRESS_MAX_CONNS are
 * served, the rest reset at once; then all close and the slots come back.
 */
#define CAP_SERIAL 200
static void test_gi_egress_serve_cap_refuses_excess_without_leaks(void **state)
{
	static int c[CAP_CLIENTS];
	int self_fds = count_fds(getpid()), served = 0, refused = 0, fds;
	uint16_t up_port, port;
	struct rlimit rl;
	pid_t up, fwd;
	char b;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < 2 * CAP_CLIENTS)
		skip();
	up = upstream_start(UP_ECHO, &up_port);
	fwd = forwarder_start(&up_port, &port);
	fds = count_fds(fwd);
	for (int i = 0; i < CAP_SERIAL; i++) {
		c[i] = client_connect(port);
		assert_int_equal(send_all(c[i], "x", 1), 0);
		assert_true(recv_all(c[i], &b, 1));
	}
	served = CAP_SERIAL;
	for (int i = CAP_SERIAL; i < CAP_CLIENTS; i++) {
		c[i] = client_connect(port);
		(void)send_all(c[i], "x", 1);
	}
	for (int i = CAP_SERIAL; i < CAP_CLIENTS; i++) {
		ssize_t n = recv(c[i], &b, 1, 0);

		if (n == 1 && b == 'x') {
			served++;
		} else if (n == 0 || (n < 0 && errno == ECONNRESET)) {
			refused++;
			/* accept order is connect order: the refused ones are the last */
			assert_true(i >= GI_EGRESS_MAX_CONNS);
		} else {
			fail_msg("client %d: %zd (%s)", i, n, n < 0 ? strerror(errno) : "?");
		}
	}
	assert_int_equal(served, GI_EGRESS_MAX_CONNS);
	assert_int_equal(refused, CAP_CLIENTS - GI_EGRESS_MAX_CONNS);
	assert_int_equal(count_children(fwd), GI_EGRESS_MAX_CONNS);
	for (int i = 0; i < CAP_CLIENTS; i++)
		close(c[i]);
	expect_forwarder_idle(fwd, fds);
	/* the slots are free again */
	c[0] = client_connect(port);
	assert_int_equal(send_all(c[0], "y", 1), 0);
	assert_true(recv_all(c[0], &b, 1));
	close(c[0]);
	expect_forwarder_idle(fwd, fds);
	group_stop(fwd);
	group_stop(up);
	assert_int_equal(count_fds(getpid()), self_fds);
}

static void test_gi_egress_listen_port_in_use_fails(void **state)
{
	int a = gi_egress_listen(0), b;

	assert_true(a >= 0);
	assert_true(fcntl(a, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(a, F_GETFL) & O_NONBLOCK);
	b = gi_egress_listen(port_of(a));
	assert_int_equal(b, -EADDRINUSE);
	close(a);
}

static void test_gi_egress_setenv_sets_every_proxy_variable(void **state)
{
	static const char *const names[] = { "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
					     "http_proxy", "https_proxy", "all_proxy" };

	assert_string_equal(GI_EGRESS_PROXY_URL, "http://127.0.0.1:3128");
	assert_int_equal(setenv("HTTP_PROXY", "http://user.example:1", 1), 0);
	assert_int_equal(gi_egress_setenv(), 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_string_equal(getenv(names[i]), "http://127.0.0.1:3128");
	assert_string_equal(getenv("NO_PROXY"), "localhost,127.0.0.1,::1");
	assert_string_equal(getenv("no_proxy"), "localhost,127.0.0.1,::1");
}

#define EGRESS_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		EGRESS_TEST(test_gi_egress_copy_socketpair_half_close_both_orders),
		EGRESS_TEST(test_gi_egress_copy_peer_reset_is_an_error),
		EGRESS_TEST(test_gi_egress_serve_8mib_both_ways),
		EGRESS_TEST(test_gi_egress_serve_half_close_propagates),
		EGRESS_TEST(test_gi_egress_serve_upstream_failure_closes_client),
		EGRESS_TEST(test_gi_egress_serve_survives_client_resets),
		EGRESS_TEST(test_gi_egress_serve_cap_refuses_excess_without_leaks),
		EGRESS_TEST(test_gi_egress_listen_port_in_use_fails),
		EGRESS_TEST(test_gi_egress_setenv_sets_every_proxy_variable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
