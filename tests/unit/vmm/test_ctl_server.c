// SPDX-License-Identifier: MIT
/*
 * test_ctl_server.c: the control socket server over a real unix socket with a
 * recording ops table: round trips of every command, error replies, the line,
 * client and time limits, peer-uid refusal, and safe socket creation/removal.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/ctl.h"

/* ---- a recording ops table ---- */

struct rec {
	int pauses, resumes, shutdowns, kills, infos, balloons, snapshots;
	uint32_t last_timeout;
	bool balloon_set;
	uint64_t balloon_mib;
};

static int t_info(void *o, cJSON *res, char *msg, size_t len)
{
	struct rec *r = o;

	__atomic_add_fetch(&r->infos, 1, __ATOMIC_SEQ_CST);
	cJSON_AddStringToObject(res, "state", "running");
	cJSON_AddNumberToObject(res, "pid", 1234);
	return 0;
}

static int t_pause(void *o, char *msg, size_t len)
{
	__atomic_add_fetch(&((struct rec *)o)->pauses, 1, __ATOMIC_SEQ_CST);
	return 0;
}

/* resume says busy, to prove -EBUSY maps to "busy" */
static int t_resume(void *o, char *msg, size_t len)
{
	__atomic_add_fetch(&((struct rec *)o)->resumes, 1, __ATOMIC_SEQ_CST);
	snprintf(msg, len, "the VM is not paused");
	return -EBUSY;
}

/* shutdown fails for timeout 999, to prove a failure's message reaches the peer */
static int t_shutdown(void *o, uint32_t timeout_ms, char *msg, size_t len)
{
	struct rec *r = o;

	__atomic_add_fetch(&r->shutdowns, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&r->last_timeout, timeout_ms, __ATOMIC_SEQ_CST);
	if (timeout_ms == 999) {
		snprintf(msg, len, "no ACPI in this guest");
		return -EIO;
	}
	return 0;
}

static int t_kill(void *o, char *msg, size_t len)
{
	__atomic_add_fetch(&((struct rec *)o)->kills, 1, __ATOMIC_SEQ_CST);
	return 0;
}

/* balloon: a size over 512 fails, to prove the callback's message reaches the peer */
static int t_balloon(void *o, bool set, uint64_t size_mib, cJSON *res, char *msg, size_t len)
{
	struct rec *r = o;

	__atomic_add_fetch(&r->balloons, 1, __ATOMIC_SEQ_CST);
	r->balloon_set = set;
	r->balloon_mib = size_mib;
	if (set && size_mib > 512) {
		snprintf(msg, len, "size %llu MiB: more than the guest's 512 MiB",
			 (unsigned long long)size_mib);
		return -EINVAL;
	}
	cJSON_AddNumberToObject(res, "target_mib", set ? (double)size_mib : 0);
	return 0;
}

/* snapshot: writes "T" into the file that came with the request, reports its size */
static int t_snapshot(void *o, int fd, cJSON *res, char *msg, size_t len)
{
	struct stat st;

	__atomic_add_fetch(&((struct rec *)o)->snapshots, 1, __ATOMIC_SEQ_CST);
	if (pwrite(fd, "T", 1, 0) != 1 || fstat(fd, &st) < 0) {
		snprintf(msg, len, "%s", strerror(errno));
		return -errno;
	}
	cJSON_AddNumberToObject(res, "bytes", (double)st.st_size);
	return 0;
}

static const struct ctl_ops t_ops = {
	.info = t_info, .pause = t_pause, .resume = t_resume, .shutdown = t_shutdown,
	.kill = t_kill, .balloon = t_balloon, .snapshot = t_snapshot,
};

/* ---- fixture: a private directory and a running server ---- */

struct fx {
	char dir[64];
	char path[96];
	struct rec rec;
	struct ctl_server *srv;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/av-ctl-XXXXXX");
	if (!f || !mkdtemp(f->dir))
		return -1;
	chmod(f->dir, 0755); /* other uids (the refusal test) must reach the socket */
	snprintf(f->path, sizeof(f->path), "%s/control.sock", f->dir);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	ctl_server_stop(f->srv);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void start(struct fx *f, const uid_t *uids, unsigned n)
{
	char err[256] = "";
	int r = ctl_server_start(&f->srv, f->path, &t_ops, &f->rec, uids, n, err, sizeof(err));

	if (r)
		fail_msg("ctl_server_start: %d %s", r, err);
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A connected client; reads time out after (timeout_s). -errno when connect fails. */
static int conn_to(const char *path, int timeout_s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = timeout_s };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static int conn(struct fx *f)
{
	int fd = conn_to(f->path, 5);

	assert_true(fd >= 0);
	return fd;
}

static void send_str(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* One reply line (without '\n') into (buf); "" at EOF, "TIMEOUT" when none came. */
static const char *read_line(int fd, char *buf, size_t len)
{
	size_t have = 0;

	while (have + 1 < len) {
		ssize_t n = read(fd, buf + have, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(buf, len, "TIMEOUT");
			return buf;
		}
		if (n == 0 || buf[have] == '\n')
			break;
		have++;
	}
	buf[have] = 0;
	return buf;
}

/* Send (req), expect the reply (want) exactly. */
static void rt(int fd, const char *req, const char *want)
{
	char buf[CTL_REPLY_MAX];

	send_str(fd, req);
	read_line(fd, buf, sizeof(buf));
	if (strcmp(buf, want))
		fail_msg("request %s\ngot  %s\nwant %s", req, buf, want);
}

/* The server hung up: EOF, or ECONNRESET when it closed with our bytes unread. */
static void expect_eof(int fd)
{
	char c;
	ssize_t n = read(fd, &c, 1);

	if (n != 0 && !(n < 0 && errno == ECONNRESET))
		fail_msg("expected EOF, got %zd (%s)", n, n < 0 ? strerror(errno) : "data");
}

/* ---- tests ---- */

static void test_ctl_server_every_command_round_trip(void **state)
{
	struct fx *f = *state;
	int fd;

	start(f, NULL, 0);
	fd = conn(f);
	rt(fd, "{\"cmd\":\"ping\",\"id\":1}\n", "{\"ok\":true,\"id\":1,\"result\":{}}");
	rt(fd, "{\"cmd\":\"info\",\"id\":\"x\"}\n",
	   "{\"ok\":true,\"id\":\"x\",\"result\":{\"state\":\"running\",\"pid\":1234}}");
	rt(fd, "{\"cmd\":\"pause\"}\n", "{\"ok\":true,\"result\":{}}");
	rt(fd, "{\"cmd\":\"resume\",\"id\":3}\n",
	   "{\"ok\":false,\"id\":3,\"error\":{\"code\":\"busy\",\"message\":\"resume: the VM is not "
	   "paused\"}}");
	rt(fd, "{\"cmd\":\"shutdown\",\"timeout_ms\":1234}\n", "{\"ok\":true,\"result\":{}}");
	assert_int_equal(f->rec.last_timeout, 1234);
	rt(fd, "{\"cmd\":\"shutdown\"}\n", "{\"ok\":true,\"result\":{}}");
	assert_int_equal(f->rec.last_timeout, CTL_SHUTDOWN_TIMEOUT_DEFAULT_MS);
	rt(fd, "{\"cmd\":\"shutdown\",\"timeout_ms\":999}\n",
	   "{\"ok\":false,\"error\":{\"code\":\"failed\",\"message\":\"shutdown: no ACPI in this "
	   "guest\"}}");
	rt(fd, "{\"cmd\":\"balloon\"}\n", "{\"ok\":true,\"result\":{\"target_mib\":0}}");
	assert_false(f->rec.balloon_set);
	rt(fd, "{\"cmd\":\"balloon\",\"size_mib\":256}\n",
	   "{\"ok\":true,\"result\":{\"target_mib\":256}}");
	assert_true(f->rec.balloon_set);
	assert_int_equal(f->rec.balloon_mib, 256);
	rt(fd, "{\"cmd\":\"balloon\",\"size_mib\":513}\n",
	   "{\"ok\":false,\"error\":{\"code\":\"failed\",\"message\":\"balloon: size 513 MiB: "
	   "more than the guest's 512 MiB\"}}");
	assert_int_equal(f->rec.balloons, 3);
	rt(fd, "{\"cmd\":\"kill\"}\r\n", "{\"ok\":true,\"result\":{}}");
	assert_int_equal(f->rec.infos, 1);
	assert_int_equal(f->rec.pauses, 1);
	assert_int_equal(f->rec.resumes, 1);
	assert_int_equal(f->rec.shutdowns, 3);
	assert_int_equal(f->rec.kills, 1);
	close(fd);
}

/* (s) with (file) attached to its first byte (SCM_RIGHTS). */
static void send_with_fd(int fd, const char *s, int file)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)(uintptr_t)s, strlen(s) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);

	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &file, sizeof(file));
	assert_int_equal(sendmsg(fd, &m, MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/*
 * snapshot: the file sent with the request reaches the callback and is the
 * server's to close; without a file it is a bad-field error; a file sent with
 * another request is not kept for a later snapshot.
 */
static void test_ctl_server_snapshot_takes_the_sent_file(void **state)
{
	struct fx *f = *state;
	char path[128], buf[CTL_REPLY_MAX];
	int fd, file;
	struct stat st;

	start(f, NULL, 0);
	snprintf(path, sizeof(path), "%s/tmpl", f->dir);
	file = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(file >= 0);
	fd = conn(f);
	send_with_fd(fd, "{\"cmd\":\"snapshot\",\"id\":1}\n", file);
	read_line(fd, buf, sizeof(buf));
	assert_string_equal(buf, "{\"ok\":true,\"id\":1,\"result\":{\"bytes\":1}}");
	assert_int_equal(fstat(file, &st), 0);
	assert_int_equal(st.st_size, 1);
	assert_int_equal(f->rec.snapshots, 1);
	rt(fd, "{\"cmd\":\"snapshot\"}\n",
	   "{\"ok\":false,\"error\":{\"code\":\"bad-field\",\"message\":\"snapshot: the "
	   "request carries no file (send an open file with it, SCM_RIGHTS: agentvmm ctl SOCK "
	   "snapshot FILE does)\"}}");
	send_with_fd(fd, "{\"cmd\":\"ping\"}\n", file);
	read_line(fd, buf, sizeof(buf));
	assert_string_equal(buf, "{\"ok\":true,\"result\":{}}");
	rt(fd, "{\"cmd\":\"snapshot\"}\n",
	   "{\"ok\":false,\"error\":{\"code\":\"bad-field\",\"message\":\"snapshot: the "
	   "request carries no file (send an open file with it, SCM_RIGHTS: agentvmm ctl SOCK "
	   "snapshot FILE does)\"}}");
	assert_int_equal(f->rec.snapshots, 1);
	close(fd);
	close(file);
}

/* Errors leave the connection usable; two requests in one write get two replies in order. */
static void test_ctl_server_bad_requests_answered_and_pipelined(void **state)
{
	struct fx *f = *state;
	char buf[CTL_REPLY_MAX];
	int fd;

	start(f, NULL, 0);
	fd = conn(f);
	rt(fd, "{\"cmd\":\n", "{\"ok\":false,\"error\":{\"code\":\"bad-request\",\"message\":"
	   "\"malformed JSON near byte 6\"}}");
	rt(fd, "{\"cmd\":\"reboot\",\"id\":9}\n", "{\"ok\":false,\"id\":9,\"error\":{\"code\":"
	   "\"unknown-command\",\"message\":\"unknown command \\\"reboot\\\" (expected ping, info, "
	   "pause, resume, shutdown, kill, balloon or snapshot)\"}}");
	rt(fd, "{\"cmd\":\"info\",\"timeout_ms\":1}\n", "{\"ok\":false,\"error\":{\"code\":"
	   "\"bad-field\",\"message\":\"timeout_ms: only shutdown takes a timeout\"}}");
	send_str(fd, "{\"cmd\":\"ping\",\"id\":1}\n{\"cmd\":\"ping\",\"id\":2}\n");
	assert_string_equal(read_line(fd, buf, sizeof(buf)), "{\"ok\":true,\"id\":1,\"result\":{}}");
	assert_string_equal(read_line(fd, buf, sizeof(buf)), "{\"ok\":true,\"id\":2,\"result\":{}}");
	/* a last request without '\n', then EOF, is still answered */
	send_str(fd, "{\"cmd\":\"ping\",\"id\":3}");
	shutdown(fd, SHUT_WR);
	assert_string_equal(read_line(fd, buf, sizeof(buf)), "{\"ok\":true,\"id\":3,\"result\":{}}");
	expect_eof(fd);
	close(fd);
}

/* A line of CTL_LINE_MAX bytes is served; a longer one gets an error and the connection closes. */
static void test_ctl_server_oversized_line_closes(void **state)
{
	struct fx *f = *state;
	char *line = malloc(CTL_LINE_MAX + 200), buf[CTL_REPLY_MAX];
	int fd, n;

	start(f, NULL, 0);
	fd = conn(f);
	n = snprintf(line, CTL_LINE_MAX + 200, "{\"cmd\":\"ping\",\"id\":1}");
	memset(line + n, ' ', CTL_LINE_MAX - (size_t)n);
	strcpy(line + CTL_LINE_MAX, "\n");
	rt(fd, line, "{\"ok\":true,\"id\":1,\"result\":{}}");
	memset(line, 'a', CTL_LINE_MAX + 100);
	line[CTL_LINE_MAX + 100] = 0;
	send_str(fd, line);
	assert_string_equal(read_line(fd, buf, sizeof(buf)), "{\"ok\":false,\"error\":{\"code\":"
			    "\"bad-request\",\"message\":\"request longer than 4096 bytes\"}}");
	expect_eof(fd);
	close(fd);
	free(line);
	/* the server still serves others */
	fd = conn(f);
	rt(fd, "{\"cmd\":\"ping\"}\n", "{\"ok\":true,\"result\":{}}");
	close(fd);
}

/* CTL_MAX_CLIENTS connections are served; one more is told "busy" and closed. */
static void test_ctl_server_ninth_client_refused_busy(void **state)
{
	struct fx *f = *state;
	int fds[CTL_MAX_CLIENTS], fd;
	char buf[CTL_REPLY_MAX];

	start(f, NULL, 0);
	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		fds[i] = conn(f);
		rt(fds[i], "{\"cmd\":\"ping\"}\n", "{\"ok\":true,\"result\":{}}");
	}
	fd = conn(f);
	assert_string_equal(read_line(fd, buf, sizeof(buf)), "{\"ok\":false,\"error\":{\"code\":"
			    "\"busy\",\"message\":\"too many control connections (at most 8)\"}}");
	expect_eof(fd);
	close(fd);
	/* a slot freed is a slot reused (the server sees the close before the next accept) */
	close(fds[0]);
	for (int tries = 0;; tries++) {
		fd = conn(f);
		send_str(fd, "{\"cmd\":\"ping\"}\n");
		if (!strcmp(read_line(fd, buf, sizeof(buf)), "{\"ok\":true,\"result\":{}}"))
			break;
		close(fd);
		assert_true(tries < 50);
		usleep(20000);
	}
	close(fd);
	for (int i = 1; i < CTL_MAX_CLIENTS; i++)
		close(fds[i]);
}

/*
 * A client that sends half a line, and one that floods requests without
 * reading replies, do not delay another client; the half-line one is closed
 * after CTL_IDLE_TIMEOUT_MS.
 */
static void test_ctl_server_slow_clients_do_not_block(void **state)
{
	struct fx *f = *state;
	int slow, flood, fd, fl;
	char buf[CTL_REPLY_MAX];
	uint64_t t0;
	size_t sent = 0;

	start(f, NULL, 0);
	slow = conn_to(f->path, 15);
	assert_true(slow >= 0);
	send_str(slow, "{\"cmd\":\"pi");
	flood = conn(f);
	fl = fcntl(flood, F_GETFL);
	fcntl(flood, F_SETFL, fl | O_NONBLOCK);
	/* write pings until the server stops taking them for 300 ms */
	static const char req[] = "{\"cmd\":\"ping\"}\n";
	char *chunk = malloc(1000 * (sizeof(req) - 1));
	for (int i = 0; i < 1000; i++)
		memcpy(chunk + i * (sizeof(req) - 1), req, sizeof(req) - 1);
	for (uint64_t end = ms_now() + 5000; ms_now() < end;) {
		ssize_t n = send(flood, chunk, 1000 * (sizeof(req) - 1), MSG_NOSIGNAL);
		struct pollfd p = { .fd = flood, .events = POLLOUT };

		if (n > 0)
			sent += (size_t)n;
		else if (poll(&p, 1, 300) == 0)
			break;
	}
	free(chunk);
	/* replies unread: the server stopped reading it (bounded output), yet took > 64 KiB */
	assert_true(sent > CTL_OUT_MAX);

	t0 = ms_now();
	fd = conn(f);
	rt(fd, "{\"cmd\":\"ping\"}\n", "{\"ok\":true,\"result\":{}}");
	assert_true(ms_now() - t0 < 1000);
	close(fd);

	/* the half-line client is hung up on after the idle timeout, with no reply */
	assert_string_equal(read_line(slow, buf, sizeof(buf)), "");
	assert_true(ms_now() - t0 >= CTL_IDLE_TIMEOUT_MS - 1000);
	assert_true(ms_now() - t0 < CTL_IDLE_TIMEOUT_MS + 3000);
	close(slow);
	close(flood);
}

/*
 * In a child: become (uid), connect, send a ping, and report through the exit
 * status: 0 "denied" reply naming the uid, 1 ok reply, 2 connect() EACCES, 3 other.
 */
static int as_uid(const char *path, uid_t uid)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		char buf[CTL_REPLY_MAX], want[64];
		int fd;

		if (setresgid(65534, 65534, 65534) || setresuid(uid, uid, uid))
			_exit(3);
		fd = conn_to(path, 5);
		if (fd == -EACCES)
			_exit(2);
		if (fd < 0)
			_exit(3);
		if (send(fd, "{\"cmd\":\"ping\"}\n", 15, MSG_NOSIGNAL) < 0 && errno != EPIPE &&
		    errno != ECONNRESET)
			_exit(3);
		read_line(fd, buf, sizeof(buf));
		snprintf(want, sizeof(want), "uid %u is not allowed", (unsigned)uid);
		if (strstr(buf, "\"code\":\"denied\"") && strstr(buf, want))
			_exit(0);
		_exit(!strcmp(buf, "{\"ok\":true,\"result\":{}}") ? 1 : 3);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void test_ctl_server_other_uid_refused(void **state)
{
	struct fx *f = *state;
	const uid_t allow[] = { 65533 };
	struct stat st;

	if (geteuid() != 0)
		skip();
	/* no allow list: the socket is 0600, another uid cannot even connect */
	start(f, NULL, 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(as_uid(f->path, 65534), 2);
	ctl_server_stop(f->srv);

	/* with an allow list the socket is 0666 and SO_PEERCRED decides */
	start(f, allow, 1);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0666);
	assert_int_equal(as_uid(f->path, 65534), 0);
	assert_int_equal(as_uid(f->path, 65533), 1);
	assert_int_equal(f->rec.kills + f->rec.infos, 0);
	int fd = conn(f); /* root, our own uid, is still served */
	rt(fd, "{\"cmd\":\"ping\"}\n", "{\"ok\":true,\"result\":{}}");
	close(fd);
}

/* A stale socket (nobody listening) is replaced; a live one is not; stop unlinks. */
static void test_ctl_server_stale_socket_replaced(void **state)
{
	struct fx *f = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ctl_server *second;
	char err[256];
	int s, fd;

	s = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s); /* what SIGKILL leaves behind */
	start(f, NULL, 0);
	fd = conn(f);
	rt(fd, "{\"cmd\":\"ping\"}\n", "{\"ok\":true,\"result\":{}}");
	close(fd);

	assert_int_equal(ctl_server_start(&second, f->path, &t_ops, &f->rec, NULL, 0, err,
					  sizeof(err)), -EADDRINUSE);
	assert_null(second);
	assert_non_null(strstr(err, "another process is listening on it"));
	fd = conn(f); /* the first server is untouched */
	rt(fd, "{\"cmd\":\"ping\"}\n", "{\"ok\":true,\"result\":{}}");
	close(fd);

	ctl_server_stop(f->srv);
	f->srv = NULL;
	assert_int_equal(access(f->path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
}

/* stop() removes only its own socket, not one that replaced it meanwhile. */
static void test_ctl_server_stop_keeps_foreign_socket(void **state)
{
	struct fx *f = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s;

	start(f, NULL, 0);
	assert_int_equal(unlink(f->path), 0);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ctl_server_stop(f->srv);
	f->srv = NULL;
	assert_int_equal(access(f->path, F_OK), 0);
	close(s);
}

static void test_ctl_server_bad_paths_refused(void **state)
{
	struct fx *f = *state;
	struct ctl_server *srv;
	char err[256], longp[200], buf[8];
	int fd;

	fd = open(f->path, O_CREAT | O_WRONLY, 0600);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	assert_int_equal(ctl_server_start(&srv, f->path, &t_ops, f, NULL, 0, err, sizeof(err)),
			 -EEXIST);
	assert_null(srv);
	assert_non_null(strstr(err, "exists and is not a socket (not replacing it)"));
	fd = open(f->path, O_RDONLY);
	assert_int_equal(read(fd, buf, sizeof(buf)), 4);
	close(fd);
	unlink(f->path);

	assert_int_equal(mkdir(f->path, 0700), 0);
	assert_int_equal(ctl_server_start(&srv, f->path, &t_ops, f, NULL, 0, err, sizeof(err)),
			 -EEXIST);
	rmdir(f->path);

	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = 0;
	assert_int_equal(ctl_server_start(&srv, longp, &t_ops, f, NULL, 0, err, sizeof(err)),
			 -ENAMETOOLONG);
	assert_non_null(strstr(err, "path must be 1 to 107 bytes"));

	snprintf(longp, sizeof(longp), "%s/no/such/dir/s", f->dir);
	assert_int_equal(ctl_server_start(&srv, longp, &t_ops, f, NULL, 0, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "No such file or directory"));
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/*
 * Out of file descriptors, accept fails with EMFILE and the connection stays
 * queued: the server must not spin on it, and must serve it once fds free up.
 * The server runs in a child whose RLIMIT_NOFILE leaves no fd for accept().
 */
static void test_ctl_server_out_of_fds_no_spin(void **state)
{
	struct fx *f = *state;
	int ready[2], done[2], st, fd;
	char c = 0, buf[CTL_REPLY_MAX];
	pid_t pid;

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(done), 0);
	pid = fork();
	if (pid == 0) {
		struct rlimit rl, low;
		char err[256];
		int fill[64], n = 0;
		double t0;

		close(ready[0]);
		close(done[1]); /* so the child ends if the parent dies */
		if (ctl_server_start(&f->srv, f->path, &t_ops, &f->rec, NULL, 0, err, sizeof(err)))
			_exit(3);
		/* a small limit (poll() needs nfds below it), every fd under it taken */
		getrlimit(RLIMIT_NOFILE, &rl);
		low = rl;
		low.rlim_cur = 64;
		if (setrlimit(RLIMIT_NOFILE, &low))
			_exit(3);
		while (n < 64 && (fill[n] = dup(0)) >= 0)
			n++;
		if (errno != EMFILE)
			_exit(3);
		t0 = cpu_s();
		if (write(ready[1], &c, 1) != 1)
			_exit(3);
		usleep(500000); /* the parent's connection waits in the backlog */
		double spent = cpu_s() - t0;
		while (n > 0)
			close(fill[--n]);
		setrlimit(RLIMIT_NOFILE, &rl);
		if (read(done[0], &c, 1) != 1)
			_exit(3);
		ctl_server_stop(f->srv);
		/* spinning cost 0.13 s of CPU in these 0.5 s on a loaded 2-core host; waiting, ~0 */
		_exit(spent < 0.04 ? 0 : 4);
	}
	assert_true(pid > 0);
	assert_int_equal(read(ready[0], &c, 1), 1);
	fd = conn(f); /* connect() completes against the backlog */
	send_str(fd, "{\"cmd\":\"ping\"}\n");
	assert_string_equal(read_line(fd, buf, sizeof(buf)), "{\"ok\":true,\"result\":{}}");
	close(fd);
	assert_int_equal(write(done[1], &c, 1), 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0); /* 4: the control thread spun on EMFILE */
	f->srv = NULL;
	close(ready[0]);
	close(ready[1]);
	close(done[0]);
	close(done[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ctl_server_every_command_round_trip, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_ctl_server_snapshot_takes_the_sent_file,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ctl_server_bad_requests_answered_and_pipelined,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ctl_server_oversized_line_closes, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_ctl_server_ninth_client_refused_busy, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_ctl_server_slow_clients_do_not_block, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_ctl_server_other_uid_refused, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_ctl_server_stale_socket_replaced, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_ctl_server_stop_keeps_foreign_socket, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_ctl_server_bad_paths_refused, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_ctl_server_out_of_fds_no_spin, fx_setup,
						fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
