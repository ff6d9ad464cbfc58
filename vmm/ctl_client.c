// SPDX-License-Identifier: MIT
/* ctl_client.c: "agentvmm ctl SOCKET CMD": send one control request, print the reply. */
#include "vmm/ctl.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CTL_CLIENT_WAIT_MS 10000 /* for the reply; the server answers at once */
#define CTL_CLIENT_USAGE "usage: agentvmm ctl SOCKET ping|info|pause|resume|shutdown|kill|" \
	"balloon [MIB] [--timeout-ms N] [--json]"

struct ctl_args {
	const char *sock, *cmd;
	const char *size;     /* balloon MIB, as given */
	const char *timeout;  /* --timeout-ms, as given */
	bool json;
};

/* One "agentvmm ctl: ..." line on stderr; return 2 (bad usage, no answer). */
static int usage_err(const char *fmt, ...) __printf(1, 2);
static int usage_err(const char *fmt, ...)
{
	va_list ap;

	fputs("agentvmm ctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
	return 2;
}

/* Return: 0, 1 for --help (printed), 2 after a usage error line. */
static int parse_args(int argc, char **argv, struct ctl_args *a)
{
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
			puts(CTL_CLIENT_USAGE);
			return 1;
		} else if (!strcmp(s, "--json")) {
			a->json = true;
		} else if (!strncmp(s, "--timeout-ms=", 13)) {
			a->timeout = s + 13;
		} else if (!strcmp(s, "--timeout-ms")) {
			if (i + 1 >= argc)
				return usage_err("option %s needs a value", s);
			a->timeout = argv[++i];
		} else if (s[0] == '-' && s[1]) {
			return usage_err("unknown option %s (" CTL_CLIENT_USAGE ")", s);
		} else if (!a->sock) {
			a->sock = s;
		} else if (!a->cmd) {
			a->cmd = s;
		} else if (!strcmp(a->cmd, "balloon") && !a->size) {
			a->size = s;
		} else {
			return usage_err("unexpected argument '%s' (" CTL_CLIENT_USAGE ")", s);
		}
	}
	if (!a->sock || !a->cmd)
		return usage_err("%s", CTL_CLIENT_USAGE);
	if (a->size) {
		char *end;

		errno = 0;
		unsigned long long v = strtoull(a->size, &end, 10);
		if (a->size[0] < '0' || a->size[0] > '9' || *end || errno || v > CTL_BALLOON_MAX_MIB)
			return usage_err("balloon %s: expected a size in MiB from 0 to %d", a->size,
					 CTL_BALLOON_MAX_MIB);
	}
	if (a->timeout) {
		char *end;

		errno = 0;
		unsigned long v = strtoul(a->timeout, &end, 10);
		if (a->timeout[0] < '0' || a->timeout[0] > '9' || *end || errno || v > UINT32_MAX)
			return usage_err("--timeout-ms %s: expected a number of milliseconds",
					 a->timeout);
	}
	return 0;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* The request line, with its '\n'; NULL when out of memory. */
static char *build_request(const struct ctl_args *a)
{
	cJSON *o = cJSON_CreateObject();
	char *s = NULL, *line = NULL;

	if (o && cJSON_AddStringToObject(o, "cmd", a->cmd) &&
	    (!a->timeout || cJSON_AddNumberToObject(o, "timeout_ms", strtod(a->timeout, NULL))) &&
	    (!a->size || cJSON_AddNumberToObject(o, "size_mib", strtod(a->size, NULL))))
		s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (s && asprintf(&line, "%s\n", s) < 0)
		line = NULL;
	cJSON_free(s);
	return line;
}

static bool send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Read one reply line into (buf) (NUL-terminated, without '\n'). Return: 0 or -errno. */
static int read_reply(int fd, char *buf, size_t len)
{
	size_t have = 0;
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = CTL_CLIENT_WAIT_MS - ((t.tv_sec - t0.tv_sec) * 1000 +
						  (t.tv_nsec - t0.tv_nsec) / 1000000);
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!p.revents)
			continue;
		ssize_t n = read(fd, buf + have, len - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		have += (size_t)n;
		buf[have] = 0;
		char *nl = memchr(buf, '\n', have);
		if (nl) {
			*nl = 0;
			return 0;
		}
		if (have == len - 1)
			return -EMSGSIZE;
	}
}

/* Human-readable result: "key: value" per scalar, nested keys joined by '.'. */
static void print_flat(const cJSON *o, const char *prefix)
{
	for (const cJSON *c = o->child; c; c = c->next) {
		char key[256];

		snprintf(key, sizeof(key), "%s%s%s", prefix, prefix[0] ? "." : "", c->string);
		if (cJSON_IsObject(c)) {
			print_flat(c, key);
		} else if (cJSON_IsString(c)) {
			printf("%s: %s\n", key, c->valuestring);
		} else {
			char *v = cJSON_PrintUnformatted(c);

			printf("%s: %s\n", key, v ? v : "?");
			cJSON_free(v);
		}
	}
}

/* Print the reply (line); return the exit status. */
static int show_reply(const struct ctl_args *a, const char *line)
{
	cJSON *o = cJSON_Parse(line);
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(o, "ok");
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(o, "result");
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
	int status = 0;

	if (!cJSON_IsBool(ok) || (cJSON_IsTrue(ok) && !cJSON_IsObject(res))) {
		cJSON_Delete(o);
		return usage_err("%s: malformed reply from the server", a->sock);
	}
	if (a->json)
		puts(line);
	if (cJSON_IsTrue(ok)) {
		if (!a->json && res->child)
			print_flat(res, "");
		else if (!a->json)
			puts("ok");
	} else {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");

		fprintf(stderr, "agentvmm ctl: %s: %s: %s\n", a->cmd,
			cJSON_IsString(code) ? code->valuestring : "failed",
			cJSON_IsString(msg) ? msg->valuestring : "(no message)");
		status = 1;
	}
	cJSON_Delete(o);
	return status;
}

int ctl_client_main(int argc, char **argv)
{
	struct ctl_args a = { 0 };
	char reply[CTL_REPLY_MAX + 1], *req;
	int r, fd;

	r = parse_args(argc, argv, &a);
	if (r)
		return r == 1 ? 0 : r;
	fd = connect_to(a.sock);
	if (fd < 0) {
		const char *hint = errno == ENOENT ? " (is agentvmm running with --api-socket?)" :
				   errno == ECONNREFUSED ? " (stale socket: agentvmm is gone)" : "";

		fprintf(stderr, "agentvmm ctl: %s: %s%s\n", a.sock, strerror(errno), hint);
		return 2;
	}
	req = build_request(&a);
	if (!req || !send_all(fd, req, strlen(req))) {
		r = -errno;
		r = read_reply(fd, reply, sizeof(reply)) == 0 ? 0 : r; /* e.g. a refusal */
	} else {
		r = read_reply(fd, reply, sizeof(reply));
	}
	free(req);
	close(fd);
	if (r) {
		fprintf(stderr, "agentvmm ctl: %s: no reply: %s\n", a.sock,
			r == -ECONNRESET ? "connection closed" : strerror(-r));
		return 2;
	}
	return show_reply(&a, reply);
}
