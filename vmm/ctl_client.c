// SPDX-License-Identifier: MIT
/* ctl_client.c: "agentvmm ctl SOCKET CMD": send one control request, print the reply. */
#include "vmm/ctl.h"
#include "vmm/snapshot_file.h"

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
#define CTL_CLIENT_SNAPSHOT_WAIT_MS 600000 /* snapshot: the VM boots to its mark, writes the template */
#define CTL_CLIENT_RETRY_MS 200            /* snapshot: asking again while the VM answers "busy" */
#define CTL_CLIENT_USAGE "usage: agentvmm ctl SOCKET ping|info|pause|resume|shutdown|kill|" \
	"balloon [MIB]|snapshot FILE [--timeout-ms N] [--json]"

struct ctl_args {
	const char *sock, *cmd;
	const char *file;     /* snapshot FILE */
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
		} else if (!strcmp(a->cmd, "snapshot") && !a->file) {
			a->file = s;
		} else {
			return usage_err("unexpected argument '%s' (" CTL_CLIENT_USAGE ")", s);
		}
	}
	if (!a->sock || !a->cmd)
		return usage_err("%s", CTL_CLIENT_USAGE);
	if (!strcmp(a->cmd, "snapshot") && (!a->file || !*a->file))
		return usage_err("snapshot: needs the template's FILE");
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

/* The request; (file) >= 0 goes with its first byte (SCM_RIGHTS). */
static bool send_all(int fd, const char *p, size_t n, int file)
{
	while (n) {
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		struct iovec iov = { (void *)(uintptr_t)p, n };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t w;

		if (file >= 0) {
			struct cmsghdr *h;

			m.msg_control = u.buf;
			m.msg_controllen = sizeof(u.buf);
			h = CMSG_FIRSTHDR(&m);
			h->cmsg_level = SOL_SOCKET;
			h->cmsg_type = SCM_RIGHTS;
			h->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(h), &file, sizeof(file));
		}
		w = sendmsg(fd, &m, MSG_NOSIGNAL);
		if (w > 0)
			file = -1; /* sent with the first byte */

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
static int read_reply(int fd, char *buf, size_t len, long wait_ms)
{
	size_t have = 0;
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = wait_ms - ((t.tv_sec - t0.tv_sec) * 1000 +
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

/* Is (line) an "ok" reply? */
static bool reply_ok(const char *line)
{
	cJSON *o = cJSON_Parse(line);
	bool ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok"));

	cJSON_Delete(o);
	return ok;
}

/* Is (line) a "busy" error (the VM cannot do it yet)? */
static bool reply_busy(const char *line)
{
	cJSON *o = cJSON_Parse(line);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
	bool busy = cJSON_IsString(code) && !strcmp(code->valuestring, "busy");

	cJSON_Delete(o);
	return busy;
}

int ctl_client_main(int argc, char **argv)
{
	struct ctl_args a = { 0 };
	struct snap_out out = { .fd = -1 };
	char reply[CTL_REPLY_MAX + 1], *req, msg[512];
	long wait_ms = CTL_CLIENT_WAIT_MS;
	int r, fd;

	r = parse_args(argc, argv, &a);
	if (r)
		return r == 1 ? 0 : r;
	/* snapshot: the file is ours (our uid, our directory); the VM only writes into it */
	if (a.file && snap_out_open(&out, a.file, msg, sizeof(msg)))
		return usage_err("snapshot %s", msg);
	if (a.file)
		wait_ms = CTL_CLIENT_SNAPSHOT_WAIT_MS;
again:
	fd = connect_to(a.sock);
	if (fd < 0) {
		const char *hint = errno == ENOENT ? " (is agentvmm running with --api-socket?)" :
				   errno == ECONNREFUSED ? " (stale socket: agentvmm is gone)" : "";

		fprintf(stderr, "agentvmm ctl: %s: %s%s\n", a.sock, strerror(errno), hint);
		snap_out_abort(&out);
		return 2;
	}
	req = build_request(&a);
	if (!req || !send_all(fd, req, strlen(req), out.fd)) {
		r = -errno;
		r = read_reply(fd, reply, sizeof(reply), wait_ms) == 0 ? 0 : r; /* e.g. a refusal */
	} else {
		r = read_reply(fd, reply, sizeof(reply), wait_ms);
	}
	free(req);
	close(fd);
	if (r) {
		fprintf(stderr, "agentvmm ctl: %s: no reply: %s\n", a.sock,
			r == -ECONNRESET ? "connection closed" : strerror(-r));
		snap_out_abort(&out);
		return 2;
	}
	/* a template VM still booting answers "busy": ask again until the wait is over */
	if (a.file && reply_busy(reply) && wait_ms > CTL_CLIENT_RETRY_MS) {
		poll(NULL, 0, CTL_CLIENT_RETRY_MS);
		wait_ms -= CTL_CLIENT_RETRY_MS;
		goto again;
	}
	if (a.file && reply_ok(reply)) {
		r = snap_out_commit(&out);
		if (r) {
			fprintf(stderr, "agentvmm ctl: snapshot %s: cannot name the written file: "
				"%s\n", a.file, strerror(-r));
			snap_out_abort(&out);
			return 1;
		}
	}
	snap_out_abort(&out); /* closes it; a named one that was not committed goes */
	return show_reply(&a, reply);
}
