// SPDX-License-Identifier: MIT
/*
 * test_egress_proxy.c: the real agentvmm-egress program, started from the
 * copy embedded in libagentvmm by egress_start(), fed connections as the
 * vsock device feeds it (one byte + one fd over ctl_fd), serving test
 * servers on 127.0.0.1 (ephemeral ports). Proves: CONNECT to an allowed
 * name relays both ways (and half-closes), but only when an address rule
 * covers its loopback address (SSRF); refusals give 403 and one rate-limited
 * log line, before any lookup; a plain GET reaches the server in origin
 * form with Connection: close; slowloris gets 408, a huge head 431 with
 * memory bounded; 1000 connections at once get 256 served and 744 times
 * 503 with the proxy's RSS bounded; log mode lists each destination once;
 * control EOF ends the proxy; bad rules start nothing.
 * The proxy's stderr is a memfd over fd 2 while egress_start() runs.
 * Over 600 lines: one program under test with its two test servers (echo,
 * one-shot HTTP origin) and eleven scenarios that share them; split, each
 * part would carry its own copy of the servers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "egress/proxy.h"
#include "tests/helpers/th_fdpass.h"
#include "vmm/egress.h"

#define IO_MS 5000          /* any single wait in this test */
#define NR_FLOOD 1000       /* connections of the limit test */
#define RSS_LIMIT_KIB 32768 /* measured ~13 MiB with 256 live relays (see report) */

struct px {
	struct egress e;
	int log_fd; /* the proxy's stderr */
};

/* Start the proxy on (rules) with its stderr in a memfd of ours. */
static void px_start(struct px *p, const char *rules, bool log, int list_fd)
{
	char err[512];
	int saved = dup(2), r;

	p->log_fd = memfd_create("egress-log", MFD_CLOEXEC);
	assert_true(saved >= 0 && p->log_fd >= 0);
	dup2(p->log_fd, 2);
	r = egress_start(&p->e, rules, strlen(rules), log, list_fd, err, sizeof(err));
	dup2(saved, 2);
	close(saved);
	if (r)
		fail_msg("egress_start: %s", err);
}

static void px_stop(struct px *p)
{
	pid_t pid = p->e.pid;

	egress_stop(&p->e);
	assert_false(p->e.live);
	assert_true(kill(pid, 0) < 0 && errno == ESRCH);
	close(p->log_fd);
}

/* What the proxy wrote to stderr so far. */
static const char *px_log(struct px *p)
{
	static char buf[65536];
	ssize_t n = pread(p->log_fd, buf, sizeof(buf) - 1, 0);

	buf[n > 0 ? n : 0] = 0;
	return buf;
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *s = hay; (s = strstr(s, needle)); s++)
		n++;
	return n;
}

/* VmRSS of (pid) in KiB. */
static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* A new guest connection handed to the proxy, as the vsock device does. Return: our end. */
static int px_conn(struct px *p)
{
	int sv[2];
	struct pollfd pf = { .fd = p->e.ctl_fd, .events = POLLOUT };

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	while (th_fd_send(p->e.ctl_fd, &sv[1], 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		assert_int_equal(errno, EAGAIN);
		assert_int_equal(poll(&pf, 1, IO_MS), 1);
	}
	close(sv[1]);
	return sv[0];
}

static void xsend(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Read from (fd) until (stop) is in what was read (NULL: EOF), within IO_MS. */
static const char *read_until(int fd, const char *stop)
{
	static char buf[8192];
	size_t n = 0;

	buf[0] = 0;
	while (n < sizeof(buf) - 1 && !(stop && strstr(buf, stop))) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&pf, 1, IO_MS) != 1)
			fail_msg("timed out reading; have \"%s\"", buf);
		r = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = 0;
	}
	return buf;
}

/* Read exactly strlen(want) bytes from (fd) within IO_MS each, and compare. */
static void expect_stream(int fd, const char *want)
{
	char buf[256];
	size_t n = 0, len = strlen(want);

	assert_true(len < sizeof(buf));
	while (n < len) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&pf, 1, IO_MS) != 1)
			break;
		r = recv(fd, buf + n, len - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = 0;
	assert_string_equal(buf, want);
}

/* The whole reply to (head) on a new connection, which the proxy closes. */
static const char *reply_of(struct px *p, const char *head)
{
	int fd = px_conn(p);
	const char *r;

	xsend(fd, head);
	r = read_until(fd, NULL);
	close(fd);
	return r;
}

/* A connection sending (head), with the proxy's reply read through the blank line. */
static const char *ask(struct px *p, const char *head, int *fdp)
{
	int fd = px_conn(p);
	const char *r;

	xsend(fd, head);
	r = read_until(fd, "\r\n\r\n");
	if (fdp)
		*fdp = fd;
	else
		close(fd);
	return r;
}

/* --- test servers on 127.0.0.1 --------------------------------------------- */

static in_addr_t listen_addr; /* where test servers listen; 0: 127.0.0.1 */

static int listen_lo(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = listen_addr ? listen_addr : htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 1024), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* An echo server: every connection gets its bytes back, and is closed on EOF. */
struct echo {
	int lfd, stop[2];
	uint16_t port;
	pthread_t t;
};

static void *echo_run(void *arg)
{
	struct echo *s = arg;
	static struct pollfd pf[NR_FLOOD + 2];
	nfds_t n = 2;
	char buf[16384];

	pf[0] = (struct pollfd){ .fd = s->stop[0], .events = POLLIN };
	pf[1] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
	while (poll(pf, n, -1) >= 0 && !pf[0].revents) {
		if (pf[1].revents && n < NR_FLOOD + 2) {
			int c = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);

			if (c >= 0)
				pf[n++] = (struct pollfd){ .fd = c, .events = POLLIN };
		}
		for (nfds_t i = 2; i < n; i++) {
			ssize_t r = pf[i].revents ? recv(pf[i].fd, buf, sizeof(buf), 0) : 1;

			if (r > 0 && pf[i].revents)
				(void)!send(pf[i].fd, buf, (size_t)r, MSG_NOSIGNAL);
			if (r <= 0) {
				close(pf[i].fd);
				pf[i--] = pf[--n];
			}
		}
	}
	for (nfds_t i = 2; i < n; i++)
		close(pf[i].fd);
	return NULL;
}

static void echo_start(struct echo *s)
{
	s->lfd = listen_lo(&s->port);
	assert_int_equal(pipe2(s->stop, O_CLOEXEC), 0);
	assert_int_equal(pthread_create(&s->t, NULL, echo_run, s), 0);
}

static void echo_stop(struct echo *s)
{
	assert_int_equal(write(s->stop[1], "x", 1), 1);
	pthread_join(s->t, NULL);
	close(s->lfd);
	close(s->stop[0]);
	close(s->stop[1]);
}

/* A one-shot HTTP server: keeps the request head it got, answers "ok". */
struct origin {
	int lfd;
	uint16_t port;
	pthread_t t;
	char head[4096];
};

static void *origin_run(void *arg)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	struct origin *o = arg;
	struct pollfd pf = { .fd = o->lfd, .events = POLLIN };
	int c;

	if (poll(&pf, 1, IO_MS) != 1 || (c = accept4(o->lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return NULL;
	snprintf(o->head, sizeof(o->head), "%s", read_until(c, "\r\n\r\n"));
	(void)!send(c, resp, sizeof(resp) - 1, MSG_NOSIGNAL);
	close(c);
	return NULL;
}

/* --- the tests ------------------------------------------------------------- */

static void test_egress_proxy_connect_allowed_name_relays_both_ways(void **state)
{
	struct echo s;
	struct px p;
	char rules[128], head[128];
	int fd;

	echo_start(&s);
	snprintf(rules, sizeof(rules), "# test\nlocalhost:%u\n127.0.0.1/32:%u\n", s.port, s.port);
	px_start(&p, rules, false, -1);
	/* bytes sent along with the head go first */
	snprintf(head, sizeof(head), "CONNECT localhost:%u HTTP/1.1\r\nHost: x\r\n\r\nearly", s.port);
	fd = px_conn(&p);
	xsend(fd, head);
	expect_stream(fd, "HTTP/1.1 200 Connection established\r\n\r\nearly");
	xsend(fd, "hello");
	assert_string_equal(read_until(fd, "hello"), "hello");
	/* our EOF reaches the server, which closes: EOF comes back */
	shutdown(fd, SHUT_WR);
	assert_string_equal(read_until(fd, NULL), "");
	close(fd);
	/* not logged: allowed connections in allow mode */
	assert_string_equal(px_log(&p), "");
	px_stop(&p);

	/* the name alone: its only address is loopback, which no rule covers */
	snprintf(rules, sizeof(rules), "localhost:%u\n", s.port);
	px_start(&p, rules, false, -1);
	snprintf(head, sizeof(head), "CONNECT localhost:%u HTTP/1.1\r\n\r\n", s.port);
	const char *r = reply_of(&p, head);

	assert_non_null(strstr(r, "HTTP/1.1 403 Forbidden\r\n"));
	assert_non_null(strstr(r, "Connection: close\r\n"));
	snprintf(head, sizeof(head), "\r\n\r\nagentvmm egress: localhost:%u resolves only to "
		 "private or loopback addresses (allow the address explicitly)\n", s.port);
	assert_non_null(strstr(r, head));
	px_stop(&p);
	echo_stop(&s);
}

static void test_egress_proxy_refuses_before_lookup_and_logs_once(void **state)
{
	static const char body[] = "agentvmm egress: evil.invalid:443 is not in the allow-list\n";
	struct px p;
	char want[256];

	px_start(&p, "good.example:443\n", false, -1);
	/* .invalid never resolves: a 403 (not 502) shows no lookup was made */
	const char *r = reply_of(&p, "CONNECT evil.invalid:443 HTTP/1.1\r\n\r\n");

	snprintf(want, sizeof(want), "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", sizeof(body) - 1, body);
	assert_string_equal(r, want);
	/* the same HOST:PORT again: no second line */
	for (int i = 0; i < 3; i++)
		assert_non_null(strstr(ask(&p, "GET http://evil.invalid:443/ HTTP/1.1\r\n\r\n", NULL),
				       " 403 "));
	/* the port is part of the rule */
	assert_non_null(strstr(ask(&p, "CONNECT good.example:80 HTTP/1.1\r\n\r\n", NULL), " 403 "));
	assert_string_equal(px_log(&p),
			    "agentvmm: egress: refused evil.invalid:443: is not in the allow-list\n"
			    "agentvmm: egress: refused good.example:80: is not in the allow-list\n");
	px_stop(&p);
}

static void test_egress_proxy_log_lines_rate_limited(void **state)
{
	struct timespec nap = { 0, 100 * 1000 * 1000 };
	struct px p;
	char head[128];

	px_start(&p, "", false, -1);
	for (int i = 0; i < 30; i++) {
		snprintf(head, sizeof(head), "CONNECT h%d.invalid:1 HTTP/1.1\r\n\r\n", i);
		assert_non_null(strstr(ask(&p, head, NULL), " 403 "));
	}
	assert_int_equal(count(px_log(&p), "refused h"), 20);
	/* the window ends within 10 s: one line for the rest */
	for (int i = 0; i < 130 && !strstr(px_log(&p), "more refusals"); i++)
		nanosleep(&nap, NULL);
	assert_non_null(strstr(px_log(&p), "agentvmm: egress: 10 more refusals not logged\n"));
	px_stop(&p);
}

static void test_egress_proxy_literal_needs_address_rule(void **state)
{
	struct echo s;
	struct px p;
	char rules[128], head[128], want[256];
	int fd;

	echo_start(&s);
	snprintf(rules, sizeof(rules), "localhost:%u\n*.example.com\n", s.port);
	px_start(&p, rules, false, -1);
	snprintf(head, sizeof(head), "CONNECT 127.0.0.1:%u HTTP/1.1\r\n\r\n", s.port);
	const char *r = reply_of(&p, head);

	assert_non_null(strstr(r, "HTTP/1.1 403 Forbidden\r\n"));
	snprintf(want, sizeof(want), "\r\n\r\nagentvmm egress: 127.0.0.1:%u is a private or "
		 "loopback address (allow it explicitly)\n", s.port);
	assert_non_null(strstr(r, want));
	assert_non_null(strstr(ask(&p, "CONNECT [::1]:22 HTTP/1.1\r\n\r\n", NULL), " 403 "));
	assert_non_null(strstr(ask(&p, "CONNECT 8.8.8.8:53 HTTP/1.1\r\n\r\n", NULL), " 403 "));
	/* malformed: 400 with the reason */
	r = reply_of(&p, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.1 400 Bad Request\r\n"));
	assert_non_null(strstr(r, "\r\n\r\nagentvmm egress: not a proxy request: send an "
			       "absolute http:// URI or CONNECT\n"));
	px_stop(&p);
	/* an address rule allows the literal */
	snprintf(rules, sizeof(rules), "127.0.0.1:%u\n", s.port);
	px_start(&p, rules, false, -1);
	fd = px_conn(&p);
	xsend(fd, head);
	xsend(fd, "x");
	expect_stream(fd, "HTTP/1.1 200 Connection established\r\n\r\nx");
	close(fd);
	px_stop(&p);
	echo_stop(&s);
}

static void test_egress_proxy_plain_get_rewritten(void **state)
{
	struct origin o = { 0 };
	struct px p;
	char rules[128], head[512], want[512];
	int fd;

	o.lfd = listen_lo(&o.port);
	assert_int_equal(pthread_create(&o.t, NULL, origin_run, &o), 0);
	snprintf(rules, sizeof(rules), "LOCALHOST:%u\n127.0.0.0/8\n", o.port);
	px_start(&p, rules, false, -1);
	snprintf(head, sizeof(head), "GET http://localhost:%u/path?q=1 HTTP/1.1\r\n"
		 "Host: other.example\r\nProxy-Connection: keep-alive\r\n"
		 "Proxy-Authorization: Basic eDp5\r\nUser-Agent: t/1\r\nConnection: keep-alive\r\n"
		 "\r\n", o.port);
	fd = px_conn(&p);
	xsend(fd, head);
	assert_string_equal(read_until(fd, NULL), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	close(fd);
	pthread_join(o.t, NULL);
	snprintf(want, sizeof(want), "GET /path?q=1 HTTP/1.1\r\nHost: localhost:%u\r\n"
		 "User-Agent: t/1\r\nConnection: close\r\n\r\n", o.port);
	assert_string_equal(o.head, want);
	close(o.lfd);
	px_stop(&p);
}

static void test_egress_proxy_slowloris_408(void **state)
{
	struct timespec t0, t1;
	struct px p;
	int fd;

	setenv(EGRESS_ENV_HEAD_TIMEOUT, "1000", 1);
	px_start(&p, "a.example\n", false, -1);
	unsetenv(EGRESS_ENV_HEAD_TIMEOUT);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fd = px_conn(&p);
	xsend(fd, "CONNECT a.example:443 HTTP/1.1\r\nX-Slow: 1\r\n");
	const char *r = read_until(fd, NULL);

	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_non_null(strstr(r, "HTTP/1.1 408 Request Timeout\r\n"));
	assert_non_null(strstr(r, "agentvmm egress: no complete request head within 1000 ms\n"));
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;

	assert_true(ms >= 900 && ms < 3000);
	close(fd);
	px_stop(&p);
}

static void test_egress_proxy_huge_head_431_memory_bounded(void **state)
{
	size_t big = 100 * 1024, sent = 0;
	char *hdr = malloc(big);
	struct px p;
	long before, after;
	int fd;

	px_start(&p, "a.example\n", false, -1);
	before = rss_kib(p.e.pid);
	memset(hdr, 'a', big);
	memcpy(hdr, "CONNECT a.example:443 HTTP/1.1\r\nX-Big: ", 39);
	fd = px_conn(&p);
	/* the proxy stops reading at 8 KiB: send what it takes until it closes */
	while (sent < big) {
		struct pollfd pf = { .fd = fd, .events = POLLOUT };
		ssize_t n;

		if (poll(&pf, 1, IO_MS) != 1)
			break;
		n = send(fd, hdr + sent, big - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN)
			break;
		sent += n > 0 ? (size_t)n : 0;
	}
	const char *r = read_until(fd, NULL);

	assert_non_null(strstr(r, "HTTP/1.1 431 Request Header Fields Too Large\r\n"));
	assert_non_null(strstr(r, "agentvmm egress: request head larger than 8192 bytes\n"));
	after = rss_kib(p.e.pid);
	print_message("egress: RSS %ld KiB before, %ld KiB after a 100 KiB head\n", before, after);
	assert_true(after - before < 1024);
	close(fd);
	free(hdr);
	px_stop(&p);
}

static void test_egress_proxy_1000_at_once_256_served_rss_bounded(void **state)
{
	static int fds[NR_FLOOD];
	static bool live[NR_FLOOD];
	struct rlimit rl;
	struct echo s;
	struct px p;
	char rules[128], head[128];
	unsigned ok = 0, busy = 0;
	long idle, full;

	/* 1000 of ours, 256 of the echo server's, a few more */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = rl.rlim_max;
	if (rl.rlim_cur < 2 * NR_FLOOD || setrlimit(RLIMIT_NOFILE, &rl))
		skip();
	echo_start(&s);
	snprintf(rules, sizeof(rules), "localhost:%u\n127.0.0.1:%u\n", s.port, s.port);
	px_start(&p, rules, false, -1);
	idle = rss_kib(p.e.pid);
	snprintf(head, sizeof(head), "CONNECT localhost:%u HTTP/1.1\r\n\r\n", s.port);
	for (int i = 0; i < NR_FLOOD; i++) {
		fds[i] = px_conn(&p);
		/* may fail: the proxy may have answered 503 and closed already */
		(void)!send(fds[i], head, strlen(head), MSG_NOSIGNAL);
	}
	for (int i = 0; i < NR_FLOOD; i++) {
		const char *r = read_until(fds[i], "\r\n\r\n");

		live[i] = !strcmp(r, "HTTP/1.1 200 Connection established\r\n\r\n");
		ok += live[i];
		busy += !!strstr(r, "HTTP/1.1 503 Service Unavailable\r\n");
	}
	assert_int_equal(ok, EGRESS_MAX_CONNS);
	assert_int_equal(busy, NR_FLOOD - EGRESS_MAX_CONNS);
	/* 16 KiB through each live relay, both ways */
	char blob[16384];

	memset(blob, 'z', sizeof(blob));
	blob[sizeof(blob) - 1] = 0;
	for (int i = 0; i < NR_FLOOD; i++) {
		if (!live[i])
			continue;
		xsend(fds[i], blob);
		for (size_t got = 0; got < sizeof(blob) - 1;)
			got += strlen(read_until(fds[i], "z"));
	}
	full = rss_kib(p.e.pid);
	print_message("egress: RSS %ld KiB idle, %ld KiB with %d live relays (%ld KiB each)\n",
		      idle, full, EGRESS_MAX_CONNS, (full - idle) / EGRESS_MAX_CONNS);
	assert_true(full < RSS_LIMIT_KIB);
	for (int i = 0; i < NR_FLOOD; i++)
		close(fds[i]);
	px_stop(&p);
	echo_stop(&s);
}

static void test_egress_proxy_log_mode_lists_once(void **state)
{
	struct echo s;
	struct px p;
	char rules[64], head[128], want[128], list[256];
	int lfd = memfd_create("egress-list", MFD_CLOEXEC), fd;

	echo_start(&s);
	snprintf(rules, sizeof(rules), "127.0.0.1/32:%u\n", s.port);
	px_start(&p, rules, true, lfd);
	for (int i = 0; i < 3; i++) {
		snprintf(head, sizeof(head), "CONNECT %s:%u HTTP/1.1\r\n\r\n",
			 i == 1 ? "127.0.0.1" : "localhost", s.port);
		assert_string_equal(ask(&p, head, &fd), "HTTP/1.1 200 Connection established\r\n\r\n");
		close(fd);
	}
	/* any name, but still no loopback address a rule does not cover */
	assert_non_null(strstr(ask(&p, "CONNECT localhost:9 HTTP/1.1\r\n\r\n", NULL), " 403 "));
	snprintf(want, sizeof(want), "localhost:%u\n127.0.0.1:%u\n", s.port, s.port);
	ssize_t n = pread(lfd, list, sizeof(list) - 1, 0);

	list[n > 0 ? n : 0] = 0;
	assert_string_equal(list, want);
	snprintf(want, sizeof(want), "agentvmm: egress: reached localhost:%u\n", s.port);
	assert_int_equal(count(px_log(&p), want), 1);
	assert_int_equal(count(px_log(&p), "reached"), 2);
	px_stop(&p);
	close(lfd);
	echo_stop(&s);
}

static void test_egress_proxy_lifecycle(void **state)
{
	struct timespec nap = { 0, 10 * 1000 * 1000 };
	struct egress e = { 0 };
	char err[256], buf[64];
	struct px p;
	int st = 0, fd, sv[2], waited;

	/* bad rules: -EINVAL with the line, nothing started */
	assert_int_equal(egress_start(&e, "ok.example\nbad_name\n", 20, false, -1, err,
				      sizeof(err)), -EINVAL);
	assert_string_equal(err, "egress rules:2: bad entry \"bad_name\": host names may have "
				 "only letters, digits, '-' and '.'");
	assert_false(e.live);
	assert_true(waitpid(-1, &st, WNOHANG) < 0 && errno == ECHILD);
	egress_stop(&e); /* idempotent on a failed start */
	/* no program: -EIO */
	setenv("AGENTVMM_EGRESS", "/nonexistent/agentvmm-egress", 1);
	assert_int_equal(egress_start(&e, "", 0, false, -1, err, sizeof(err)), -EIO);
	unsetenv("AGENTVMM_EGRESS");
	assert_true(waitpid(-1, &st, WNOHANG) < 0 && errno == ECHILD);

	/* messages with no fd or two fds are ignored; the proxy runs on, as nobody when root */
	px_start(&p, "", false, -1);
	assert_int_equal(send(p.e.ctl_fd, "x", 1, MSG_DONTWAIT), 1);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(th_fd_send(p.e.ctl_fd, sv, 2, MSG_DONTWAIT), 1);
	close(sv[1]);
	assert_string_equal(read_until(sv[0], NULL), ""); /* closed by the proxy, unanswered */
	close(sv[0]);
	assert_non_null(strstr(ask(&p, "CONNECT x.example:1 HTTP/1.1\r\n\r\n", NULL), " 403 "));
	if (geteuid() == 0) {
		char path[64], line[128];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/status", (int)p.e.pid);
		f = fopen(path, "re");
		assert_non_null(f);
		while (fgets(line, sizeof(line), f) && strncmp(line, "Uid:", 4))
			;
		fclose(f);
		assert_non_null(strstr(line, "65534"));
	}
	/* control EOF: the proxy exits at once, even with a connection open */
	fd = px_conn(&p);
	xsend(fd, "CONNECT x.example:1");
	close(p.e.ctl_fd);
	for (waited = 0; waited < 1000; waited += 10) {
		if (waitpid(p.e.pid, &st, WNOHANG) == p.e.pid)
			break;
		nanosleep(&nap, NULL);
	}
	assert_true(waited < 1000);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* EOF, or a reset: the proxy died with our bytes unread */
	assert_true(recv(fd, buf, sizeof(buf), 0) <= 0);
	close(fd);
	p.e.live = false; /* reaped here */
	close(p.log_fd);
}

/*
 * A public address of the host itself (198.51.100.1 on lo, in a network
 * namespace of this thread's own): reached by a literal in log mode, the
 * connection ends at the host, so it is refused unless an address rule
 * names it. Needs root and ip(8); skipped otherwise.
 */
static void test_egress_proxy_host_own_address_refused(void **state)
{
	int orig = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	char rules[64], head[128], want[160];
	struct echo s;
	struct px p;

	if (geteuid() != 0 || access("/usr/sbin/ip", X_OK) || orig < 0 || unshare(CLONE_NEWNET))
		skip();
	if (system("ip link set lo up && ip addr add 198.51.100.1/32 dev lo")) {
		assert_int_equal(setns(orig, CLONE_NEWNET), 0);
		skip();
	}
	listen_addr = inet_addr("198.51.100.1");
	echo_start(&s);
	px_start(&p, "", true, -1);
	snprintf(head, sizeof(head), "CONNECT 198.51.100.1:%u HTTP/1.1\r\n\r\n", s.port);
	snprintf(want, sizeof(want), "\r\n\r\nagentvmm egress: 198.51.100.1:%u is this host's own "
		 "address (allow it explicitly)\n", s.port);
	assert_non_null(strstr(reply_of(&p, head), want));
	px_stop(&p);
	snprintf(rules, sizeof(rules), "198.51.100.1:%u\n", s.port);
	px_start(&p, rules, false, -1);
	assert_string_equal(ask(&p, head, NULL), "HTTP/1.1 200 Connection established\r\n\r\n");
	px_stop(&p);
	echo_stop(&s);
	listen_addr = 0;
	assert_int_equal(setns(orig, CLONE_NEWNET), 0);
	close(orig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_egress_proxy_connect_allowed_name_relays_both_ways),
		cmocka_unit_test(test_egress_proxy_refuses_before_lookup_and_logs_once),
		cmocka_unit_test(test_egress_proxy_log_lines_rate_limited),
		cmocka_unit_test(test_egress_proxy_literal_needs_address_rule),
		cmocka_unit_test(test_egress_proxy_plain_get_rewritten),
		cmocka_unit_test(test_egress_proxy_slowloris_408),
		cmocka_unit_test(test_egress_proxy_huge_head_431_memory_bounded),
		cmocka_unit_test(test_egress_proxy_1000_at_once_256_served_rss_bounded),
		cmocka_unit_test(test_egress_proxy_log_mode_lists_once),
		cmocka_unit_test(test_egress_proxy_lifecycle),
		cmocka_unit_test(test_egress_proxy_host_own_address_refused),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
