// SPDX-License-Identifier: MIT
/*
 * proxy.c: agentvmm-egress, the per-VM HTTP proxy (interface in proxy.h).
 * The control loop receives guest connections; each gets a detached thread
 * that reads the request head within a deadline, checks the allow-list
 * before any name is looked up, resolves, drops addresses the SSRF rule
 * forbids, connects with a deadline and relays (egress/relay.c). Blocking
 * work stays in the connection's thread; the control loop never waits on a
 * guest. Statuses: 400 malformed, 403 not allowed, 408 head timeout, 431 head
 * too large, 502 no address / no connection, 503 too many connections, 504
 * connect timeout.
 */
#include "egress/proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "egress/http.h"
#include "egress/log.h"
#include "egress/relay.h"
#include "egress/rules.h"

#define REPLY_MS 1000 /* to write an error reply */

static struct egress_rules *rules;
static bool log_mode;
static int head_ms = EGRESS_HEAD_TIMEOUT_MS, connect_ms = EGRESS_CONNECT_TIMEOUT_MS;
static atomic_uint live; /* connections being served */

int main(int argc, char **argv);

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for (ev) on (fd) until (deadline). Return: 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short ev, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int64_t left = deadline - now_ms();
	int r;

	if (left <= 0)
		return 0;
	r = poll(&p, 1, (int)left);
	return r < 0 && errno == EINTR ? 1 : r;
}

/* Send (len) bytes at (s) to (fd) within (ms). Return: whether all went. */
static bool send_all(int fd, const char *s, size_t len, int ms)
{
	int64_t deadline = now_ms() + ms;

	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return false;
		if (n > 0) {
			s += n;
			len -= (size_t)n;
		} else if (wait_fd(fd, POLLOUT, deadline) <= 0) {
			return false;
		}
	}
	return true;
}

static const char *status_text(int code)
{
	switch (code) {
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 408: return "Request Timeout";
	case 431: return "Request Header Fields Too Large";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Error";
	}
}

/* An error reply (code) with a one-line body "agentvmm egress: <fmt>", sent within (ms). */
static void __attribute__((format(printf, 4, 5))) reply(int fd, int ms, int code,
							const char *fmt, ...)
{
	char body[512], msg[768];
	va_list ap;
	int b, n;

	b = snprintf(body, sizeof(body), "agentvmm egress: ");
	va_start(ap, fmt);
	b += vsnprintf(body + b, sizeof(body) - (size_t)b - 1, fmt, ap);
	va_end(ap);
	if (b > (int)sizeof(body) - 2)
		b = (int)sizeof(body) - 2;
	body[b++] = '\n';
	body[b] = 0;
	n = snprintf(msg, sizeof(msg),
		     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
		     "Connection: close\r\n\r\n%s", code, status_text(code), b, body);
	send_all(fd, msg, (size_t)n, ms);
}

/*
 * Read the request head into (buf) (EGRESS_HEAD_MAX), (*have) bytes in all.
 * Return: its length, -ETIMEDOUT, -EMSGSIZE, -EPIPE (peer gone or broken).
 */
static ssize_t read_head(int fd, char *buf, size_t *have)
{
	int64_t deadline = now_ms() + head_ms;

	for (;;) {
		size_t hl = egress_http_head_len(buf, *have);

		if (hl)
			return (ssize_t)hl;
		if (*have == EGRESS_HEAD_MAX)
			return -EMSGSIZE;
		int r = wait_fd(fd, POLLIN, deadline);

		if (r == 0)
			return -ETIMEDOUT;
		ssize_t n = r < 0 ? -1 : recv(fd, buf + *have, EGRESS_HEAD_MAX - *have, MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return -EPIPE;
		if (n > 0)
			*have += (size_t)n;
	}
}

/* "host:port", an IPv6 literal in brackets, into (key). */
static void make_key(const struct egress_req *req, char key[EGRESS_KEY_MAX])
{
	bool v6 = req->literal && req->addr.ss_family == AF_INET6;

	snprintf(key, EGRESS_KEY_MAX, "%s%s%s:%u", v6 ? "[" : "", req->host, v6 ? "]" : "",
		 req->port);
}

/* Whether the request may go on to name resolution; if not, replied 403. */
static bool policy_ok(int fd, const struct egress_req *req, const char *key)
{
	const struct sockaddr *sa = (const struct sockaddr *)&req->addr;
	const char *why = "is not in the allow-list";

	if (!req->literal && (log_mode || egress_rules_allow_name(rules, req->host, req->port)))
		return true;
	if (req->literal) {
		if (egress_rules_allow_addr(rules, sa, req->port))
			return true;
		if (egress_addr_restricted(sa))
			why = "is a private or loopback address (allow it explicitly)";
		else if (log_mode)
			return true;
	}
	/* the line first: once the guest has its answer, the log holds the reason */
	egress_log_refused(key, "%s", why);
	reply(fd, REPLY_MS, 403, "%s %s", key, why);
	return false;
}

/* The addresses (req) may reach into (cand), port set; 403/502 replied if none. */
static size_t candidates(int fd, const struct egress_req *req, const char *key,
			 struct sockaddr_storage cand[EGRESS_ADDRS_MAX])
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *ai;
	size_t nr = 0;
	int e;

	if (req->literal) {
		cand[0] = req->addr;
		nr = 1;
	} else if ((e = getaddrinfo(req->host, NULL, &hints, &res))) {
		reply(fd, REPLY_MS, 502, "cannot resolve %s: %s", req->host,
		      e == EAI_SYSTEM ? strerror(errno) : gai_strerror(e));
		return 0;
	} else {
		for (ai = res; ai && nr < EGRESS_ADDRS_MAX; ai = ai->ai_next) {
			/* the SSRF rule: a restricted address only if an address rule covers it */
			if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
			    (!egress_addr_restricted(ai->ai_addr) ||
			     egress_rules_allow_addr(rules, ai->ai_addr, req->port)))
				memcpy(&cand[nr++], ai->ai_addr, ai->ai_addrlen);
		}
		freeaddrinfo(res);
		if (!nr) {
			const char *why = "resolves only to private or loopback addresses "
					  "(allow the address explicitly)";

			egress_log_refused(key, "%s", why);
			reply(fd, REPLY_MS, 403, "%s %s", key, why);
		}
	}
	for (size_t i = 0; i < nr; i++) {
		if (cand[i].ss_family == AF_INET)
			((struct sockaddr_in *)&cand[i])->sin_port = htons(req->port);
		else
			((struct sockaddr_in6 *)&cand[i])->sin6_port = htons(req->port);
	}
	return nr;
}

/* Connect to (sa) before (deadline). Return: the socket, or -errno. */
static int connect_one(const struct sockaddr_storage *sa, int64_t deadline)
{
	socklen_t len = sa->ss_family == AF_INET ? sizeof(struct sockaddr_in)
						 : sizeof(struct sockaddr_in6);
	int s = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), e = 0;
	socklen_t el = sizeof(e);

	if (s < 0)
		return -errno;
	if (connect(s, (const struct sockaddr *)sa, len) == 0)
		return s;
	e = errno;
	if (e == EINPROGRESS) {
		int r = wait_fd(s, POLLOUT, deadline);

		e = r == 0 ? ETIMEDOUT : 0;
		if (r > 0 && getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
			e = errno;
		if (r < 0)
			e = errno;
		if (!e)
			return s;
	}
	close(s);
	return -e;
}

/*
 * Whether the connected socket (s) reached this host itself: a public
 * address of one of its interfaces, which no table can list in advance.
 * Linux routes such a connection over loopback, so both ends carry the
 * same address.
 */
static bool reached_self(int s)
{
	struct sockaddr_storage a, b;
	socklen_t al = sizeof(a), bl = sizeof(b);

	if (getsockname(s, (struct sockaddr *)&a, &al) || getpeername(s, (struct sockaddr *)&b, &bl))
		return false;
	if (a.ss_family == AF_INET && b.ss_family == AF_INET)
		return ((struct sockaddr_in *)&a)->sin_addr.s_addr ==
		       ((struct sockaddr_in *)&b)->sin_addr.s_addr;
	return a.ss_family == AF_INET6 && b.ss_family == AF_INET6 &&
	       !memcmp(&((struct sockaddr_in6 *)&a)->sin6_addr,
		       &((struct sockaddr_in6 *)&b)->sin6_addr, 16);
}

/* The upstream socket for (req), or -1 with the reply sent. */
static int open_upstream(int fd, const struct egress_req *req, const char *key)
{
	static const char self_why[] = "is this host's own address (allow it explicitly)";
	struct sockaddr_storage cand[EGRESS_ADDRS_MAX];
	int64_t deadline;
	bool self = false;
	size_t nr;
	int s = -ECONNREFUSED;

	if (!policy_ok(fd, req, key))
		return -1;
	nr = candidates(fd, req, key, cand);
	if (!nr)
		return -1;
	deadline = now_ms() + connect_ms;
	for (size_t i = 0; i < nr; i++) {
		s = connect_one(&cand[i], deadline);
		if (s >= 0 && reached_self(s) &&
		    !egress_rules_allow_addr(rules, (struct sockaddr *)&cand[i], req->port)) {
			close(s); /* the SSRF rule, for the host's public addresses */
			s = -ECONNREFUSED;
			self = true;
			continue;
		}
		if (s >= 0 || s == -ETIMEDOUT)
			break;
	}
	if (s >= 0) {
		egress_log_reached(key);
		return s;
	}
	if (s == -ETIMEDOUT) {
		reply(fd, REPLY_MS, 504, "connecting to %s timed out", key);
	} else if (self) {
		egress_log_refused(key, "%s", self_why);
		reply(fd, REPLY_MS, 403, "%s %s", key, self_why);
	} else {
		reply(fd, REPLY_MS, 502, "cannot connect to %s: %s", key, strerror(-s));
	}
	return -1;
}

/* Serve one guest connection (fd) to its end. */
static void serve(int fd)
{
	static const char established[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	char head[EGRESS_HEAD_MAX], out[EGRESS_REWRITE_MAX + EGRESS_HEAD_MAX], key[EGRESS_KEY_MAX];
	struct egress_req req;
	const char *why;
	size_t have = 0;
	ssize_t hl = read_head(fd, head, &have), n;
	int up;

	if (hl == -ETIMEDOUT)
		reply(fd, REPLY_MS, 408, "no complete request head within %d ms", head_ms);
	else if (hl == -EMSGSIZE)
		reply(fd, REPLY_MS, 431, "request head larger than %d bytes", EGRESS_HEAD_MAX);
	if (hl < 0)
		return;
	if (egress_http_parse(head, (size_t)hl, &req, &why)) {
		reply(fd, REPLY_MS, 400, "%s", why);
		return;
	}
	make_key(&req, key);
	up = open_upstream(fd, &req, key);
	if (up < 0)
		return;
	if (req.kind == EGRESS_REQ_CONNECT) {
		if (send_all(fd, established, sizeof(established) - 1, REPLY_MS))
			egress_relay(fd, up, head + hl, have - (size_t)hl);
	} else {
		n = egress_http_rewrite(head, &req, out, EGRESS_REWRITE_MAX);
		if (n < 0) {
			reply(fd, REPLY_MS, 431, "request head too large to rewrite");
		} else {
			memcpy(out + n, head + hl, have - (size_t)hl);
			egress_relay(fd, up, out, (size_t)n + have - (size_t)hl);
		}
	}
	close(up);
}

static void *conn_thread(void *arg)
{
	int fd = (int)(intptr_t)arg;

	serve(fd);
	close(fd);
	atomic_fetch_sub(&live, 1);
	return NULL;
}

/* A guest connection (fd) from the control socket: a thread, or 503. */
static void take_conn(int fd)
{
	pthread_attr_t attr;
	pthread_t t;
	int e = EAGAIN;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (atomic_fetch_add(&live, 1) < EGRESS_MAX_CONNS && !pthread_attr_init(&attr)) {
		pthread_attr_setstacksize(&attr, EGRESS_STACK_SIZE);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		e = pthread_create(&t, &attr, conn_thread, (void *)(intptr_t)fd);
		pthread_attr_destroy(&attr);
		if (!e)
			return;
	}
	atomic_fetch_sub(&live, 1);
	egress_log_refused("connection", "more than %d at once%s%s", EGRESS_MAX_CONNS,
			   e == EAGAIN ? "" : ": ", e == EAGAIN ? "" : strerror(e));
	reply(fd, 0, 503, "more than %d connections at once", EGRESS_MAX_CONNS);
	close(fd);
}

/*
 * One message from the control socket. Return: 1 handled (or ignored),
 * 0 EOF, -1 error.
 */
static int control_recv(void)
{
	char byte, cbuf[CMSG_SPACE(8 * sizeof(int))];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	int fds[8], nfd = 0, type = 0;
	socklen_t tl = sizeof(type);
	ssize_t n = recvmsg(EGRESS_FD_CTL, &m, MSG_CMSG_CLOEXEC);

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		for (size_t i = 0; i < k && nfd < 8; i++)
			memcpy(&fds[nfd++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	if (n == 0 && !nfd)
		return 0;
	if (nfd == 1 && !getsockopt(fds[0], SOL_SOCKET, SO_TYPE, &type, &tl) &&
	    type == SOCK_STREAM) {
		take_conn(fds[0]);
		return 1;
	}
	for (int i = 0; i < nfd; i++)
		close(fds[i]);
	return 1;
}

/* The rules from fd 4 into (rules). Return: 0, or -1 with the reason in (err). */
static int load_rules(char *err, size_t errlen)
{
	struct stat st;
	char *text;
	size_t len = 0;
	int e;

	rules = egress_rules_new();
	if (!rules || fstat(EGRESS_FD_RULES, &st) < 0 || st.st_size > EGRESS_RULES_TEXT_MAX) {
		snprintf(err, errlen, "cannot read the rules (fd %d)", EGRESS_FD_RULES);
		return -1;
	}
	text = malloc((size_t)st.st_size + 1);
	while (text && len < (size_t)st.st_size) {
		ssize_t n = pread(EGRESS_FD_RULES, text + len, (size_t)st.st_size - len, (off_t)len);

		if (n <= 0)
			break;
		len += (size_t)n;
	}
	e = text ? egress_rules_load(rules, text, len, "egress rules", err, errlen) : -ENOMEM;
	if (!text)
		snprintf(err, errlen, "out of memory");
	free(text);
	close(EGRESS_FD_RULES);
	return e ? -1 : 0;
}

/* As root: become nobody. Then no_new_privs and the parent-death signal (setuid clears it). */
static int drop_privileges(char *err, size_t errlen)
{
	if (geteuid() == 0 &&
	    (setgroups(0, NULL) < 0 || setgid(EGRESS_UID) < 0 || setuid(EGRESS_UID) < 0)) {
		snprintf(err, errlen, "cannot change to uid %d: %s", EGRESS_UID, strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) {
		snprintf(err, errlen, "prctl: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* A timeout from the environment variable (name), or (dflt). */
static int env_ms(const char *name, int dflt)
{
	const char *s = getenv(name);
	char *end;
	long v = s ? strtol(s, &end, 10) : 0;

	return s && *s && !*end && v >= 1 && v <= 600000 ? (int)v : dflt;
}

/* The command line into the globals. Return: 0, or -1 with (err). */
static int parse_args(int argc, char **argv, char *err, size_t errlen)
{
	int list_fd = -1;

	for (int i = 1; i < argc; i++) {
		char *end;

		if (!strcmp(argv[i], "--log")) {
			log_mode = true;
		} else if (!strcmp(argv[i], "--list-fd") && i + 1 < argc) {
			list_fd = (int)strtol(argv[++i], &end, 10);
			if (*end || list_fd < 0 || fcntl(list_fd, F_GETFD) < 0) {
				snprintf(err, errlen, "bad --list-fd %s", argv[i]);
				return -1;
			}
		} else {
			snprintf(err, errlen, "usage: agentvmm-egress [--log] [--list-fd N]");
			return -1;
		}
	}
	egress_log_init(log_mode, log_mode ? list_fd : -1);
	return 0;
}

int main(int argc, char **argv)
{
	char err[512], msg[600];
	int r;

	signal(SIGPIPE, SIG_IGN);
	/* started from a memfd, the kernel named it after the fd ("3"): ps and tests look for this */
	prctl(PR_SET_NAME, "agentvmm-egress", 0, 0, 0);
	head_ms = env_ms(EGRESS_ENV_HEAD_TIMEOUT, EGRESS_HEAD_TIMEOUT_MS);
	connect_ms = env_ms(EGRESS_ENV_CONNECT_TIMEOUT, EGRESS_CONNECT_TIMEOUT_MS);
	if (parse_args(argc, argv, err, sizeof(err)) || load_rules(err, sizeof(err)) ||
	    drop_privileges(err, sizeof(err))) {
		snprintf(msg, sizeof(msg), "error: %s", err);
		send(EGRESS_FD_CTL, msg, strlen(msg), MSG_NOSIGNAL);
		return 2;
	}
	if (send(EGRESS_FD_CTL, "ok", 2, MSG_NOSIGNAL) != 2)
		return 0;
	for (;;) {
		struct pollfd p = { .fd = EGRESS_FD_CTL, .events = POLLIN };

		r = poll(&p, 1, 1000);
		egress_log_tick();
		if (r <= 0)
			continue;
		r = control_recv();
		if (r <= 0)
			_exit(r == 0 ? 0 : 1); /* at once: connection threads die with us */
	}
}
