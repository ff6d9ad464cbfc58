// SPDX-License-Identifier: MIT
/*
 * ctl.c: the control socket server: a unix socket, one poll(2) thread, and
 * bounded per-connection state, so no peer can stall the VM or other peers.
 *
 * Why its own thread with poll rather than the io_uring event loop: the
 * socket must keep answering (kill, info) even when the I/O thread is busy or
 * wedged in a device, it must work for any embedder of the VM library, and its
 * few fds need nothing io_uring does better. All callbacks run on this thread.
 */
#include "vmm/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vmm/log.h"

#define CTL_BACKLOG 16
#define CTL_ACCEPT_PAUSE_MS 100  /* out of fds: stop accepting for a while instead of spinning */

struct ctl_client {
	int fd;                      /* -1: free slot */
	char in[CTL_LINE_MAX + 1];   /* a full line plus its '\n' */
	size_t inlen;
	char *out;                   /* CTL_OUT_MAX bytes */
	size_t outoff, outlen;       /* unsent bytes are out[outoff, outlen) */
	uint64_t deadline;           /* CLOCK_MONOTONIC ms: closed when reached */
	bool eof;                    /* peer closed its side: answer what is buffered, then close */
	bool closing;                /* send what is queued, read no more, then close */
	int file_fd;                 /* a file sent with the next request (SCM_RIGHTS), or -1 */
};

struct ctl_server {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	int lfd, wake_efd;
	pthread_t thread;
	bool thread_started;
	const struct ctl_ops *ops;
	void *opaque;
	uid_t allowed[CTL_MAX_ALLOWED_UIDS + 2];
	unsigned nr_allowed;
	struct ctl_client cl[CTL_MAX_CLIENTS];
	uint64_t accept_pause_until; /* CLOCK_MONOTONIC ms */
	bool accept_failing;         /* warned about the current run of accept() errors */
	uint64_t last_denied_log;    /* one "refused" warning per second at most */
	unsigned denied_unlogged;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- socket creation ---- */

/* Is there a live listener on (path)? 1 yes, 0 no (stale), -errno on a probe failure. */
static int socket_live(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), r;

	if (fd < 0)
		return -errno;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	/* EAGAIN: a listener whose backlog is full, still a live one */
	r = r == 0 || errno == EAGAIN ? 1 : errno == ECONNREFUSED ? 0 : -errno;
	close(fd);
	return r;
}

/* Clear (path) for bind: nothing there, or a stale socket removed. */
static int clear_path(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int r;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		r = -errno;
		snprintf(err, errlen, "--api-socket %s: %s", path, strerror(-r));
		return r;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "--api-socket %s: exists and is not a socket (not replacing it)",
			 path);
		return -EEXIST;
	}
	r = socket_live(path);
	if (r == 1) {
		snprintf(err, errlen, "--api-socket %s: another process is listening on it", path);
		return -EADDRINUSE;
	}
	if (r < 0 || (unlink(path) < 0 && errno != ENOENT)) {
		r = r < 0 ? r : -errno;
		snprintf(err, errlen, "--api-socket %s: cannot replace the stale socket: %s", path,
			 strerror(-r));
		return r;
	}
	log_info("replaced a stale control socket at %s", path);
	return 0;
}

/*
 * Bind and listen on (path). The socket is 0600, or 0666 when other uids are
 * allowed (they could not connect otherwise); SO_PEERCRED is the real gate,
 * also for the moment between bind() and chmod().
 */
static int make_socket(struct ctl_server *srv, mode_t mode, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int r;

	r = clear_path(srv->path, err, errlen);
	if (r)
		return r;
	srv->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (srv->lfd < 0)
		goto fail;
	memcpy(sa.sun_path, srv->path, strlen(srv->path) + 1);
	if (bind(srv->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	if (chmod(srv->path, mode) < 0 || lstat(srv->path, &st) < 0 ||
	    listen(srv->lfd, CTL_BACKLOG) < 0) {
		r = -errno;
		unlink(srv->path);
		errno = -r;
		goto fail;
	}
	srv->dev = st.st_dev;
	srv->ino = st.st_ino;
	return 0;
fail:
	r = -errno;
	snprintf(err, errlen, "--api-socket %s: %s", srv->path, strerror(-r));
	return r;
}

/* ---- connections ---- */

static void client_close(struct ctl_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	if (c->file_fd >= 0)
		close(c->file_fd);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->file_fd = -1;
}

/* Send queued bytes without blocking. Return: false when the connection is dead. */
static bool client_flush(struct ctl_client *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN;
		c->outoff += (size_t)n;
	}
	c->outoff = c->outlen = 0;
	return true;
}

static bool client_has_room(const struct ctl_client *c)
{
	return CTL_OUT_MAX - c->outlen >= CTL_REPLY_MAX;
}

static void queue_reply(struct ctl_client *c, const cJSON *id, const cJSON *result,
			const struct ctl_error *e)
{
	int n = ctl_format_reply(id, result, e, c->out + c->outlen, CTL_REPLY_MAX);

	if (n == -ENOSPC)
		n = (int)strlen(c->out + c->outlen); /* the "failed: too long" line */
	if (n > 0)
		c->outlen += (size_t)n;
}

/* Turn a callback's result into an error (CTL_OK when r == 0). */
static void op_result(int r, const char *what, char *msg, struct ctl_error *e)
{
	if (!r)
		return;
	e->code = r == -EBUSY ? CTL_E_BUSY : CTL_E_FAILED;
	snprintf(e->message, sizeof(e->message), "%s: %s", what, msg[0] ? msg : strerror(-r));
}

static void dispatch(struct ctl_server *srv, const struct ctl_request *req, int file_fd,
		     cJSON *result, struct ctl_error *e)
{
	const struct ctl_ops *ops = srv->ops;
	char msg[CTL_MSG_MAX - 32] = "";
	int r = -ENOTSUP;

	switch (req->cmd) {
	case CTL_CMD_PING:
		return;
	case CTL_CMD_INFO:
		if (ops->info)
			r = ops->info(srv->opaque, result, msg, sizeof(msg));
		break;
	case CTL_CMD_PAUSE:
		if (ops->pause)
			r = ops->pause(srv->opaque, msg, sizeof(msg));
		break;
	case CTL_CMD_RESUME:
		if (ops->resume)
			r = ops->resume(srv->opaque, msg, sizeof(msg));
		break;
	case CTL_CMD_SHUTDOWN:
		if (ops->shutdown)
			r = ops->shutdown(srv->opaque, req->timeout_ms, msg, sizeof(msg));
		break;
	case CTL_CMD_KILL:
		if (ops->kill)
			r = ops->kill(srv->opaque, msg, sizeof(msg));
		break;
	case CTL_CMD_BALLOON:
		if (ops->balloon)
			r = ops->balloon(srv->opaque, req->has_size, req->size_mib, result, msg,
					 sizeof(msg));
		break;
	case CTL_CMD_SNAPSHOT:
		if (file_fd < 0) {
			e->code = CTL_E_BAD_FIELD;
			snprintf(e->message, sizeof(e->message), "snapshot: the request carries no "
				 "file (send an open file with it, SCM_RIGHTS: agentvmm ctl SOCK "
				 "snapshot FILE does)");
			return;
		}
		if (ops->snapshot)
			r = ops->snapshot(srv->opaque, file_fd, result, msg, sizeof(msg));
		break;
	default:
		r = -EINVAL;
		break;
	}
	op_result(r, ctl_cmd_name(req->cmd), msg, e);
}

/*
 * "exec": the connection becomes an exec session's stream. Only as the last
 * thing on it (no reply still queued, no byte after the request), so nothing
 * of the stream is taken for a request or lost in our buffers.
 * Return: true when the connection was handed over (the slot is free again).
 */
static bool handle_exec(struct ctl_server *srv, struct ctl_client *c, size_t len,
			struct ctl_error *e)
{
	char msg[CTL_MSG_MAX - 32] = "";
	int r;

	if (c->outlen > c->outoff || c->inlen > len + 1 || !srv->ops->exec) {
		e->code = srv->ops->exec ? CTL_E_BAD_REQUEST : CTL_E_FAILED;
		snprintf(e->message, sizeof(e->message), "exec: %s",
			 srv->ops->exec ? "must be the last request on its connection, sent alone" :
					  "not supported by this VM");
		return false;
	}
	r = srv->ops->exec(srv->opaque, c->fd, msg, sizeof(msg));
	if (r) {
		op_result(r, "exec", msg, e);
		return false;
	}
	client_close(c); /* our reference only: the session holds its own */
	return true;
}

static void handle_line(struct ctl_server *srv, struct ctl_client *c, const char *line,
			size_t len)
{
	struct ctl_request req;
	struct ctl_error e;
	cJSON *result = NULL;

	if (!ctl_parse_request(line, len, &req, &e) && req.cmd == CTL_CMD_EXEC) {
		if (handle_exec(srv, c, len, &e)) {
			ctl_request_free(&req);
			return;
		}
	} else if (e.code == CTL_OK) {
		result = cJSON_CreateObject();
		if (result)
			dispatch(srv, &req, c->file_fd, result, &e);
		else
			op_result(-ENOMEM, ctl_cmd_name(req.cmd), (char[]){ "" }, &e);
	}
	queue_reply(c, req.id, result, &e);
	cJSON_Delete(result);
	ctl_request_free(&req);
	if (c->file_fd >= 0)
		close(c->file_fd); /* a file belongs to the one request it came with */
	c->file_fd = -1;
}

/* Answer every complete line while there is room for the replies. */
static void client_process(struct ctl_server *srv, struct ctl_client *c)
{
	char *nl;

	while (!c->closing && client_has_room(c) && (nl = memchr(c->in, '\n', c->inlen))) {
		size_t len = (size_t)(nl - c->in);

		handle_line(srv, c, c->in, len);
		if (c->fd < 0)
			return; /* handed over to an exec session */
		c->inlen -= len + 1;
		memmove(c->in, nl + 1, c->inlen);
		c->deadline = now_ms() + CTL_IDLE_TIMEOUT_MS;
	}
	if (c->closing || !client_has_room(c))
		return;
	if (c->inlen == sizeof(c->in)) {
		struct ctl_error e = { .code = CTL_E_BAD_REQUEST };

		/* no '\n' within a full buffer: the line is too long; answer and hang up */
		snprintf(e.message, sizeof(e.message), "request longer than %d bytes", CTL_LINE_MAX);
		queue_reply(c, NULL, NULL, &e);
		c->closing = true;
	} else if (c->eof) {
		if (c->inlen)  /* a last request without its '\n' */
			handle_line(srv, c, c->in, c->inlen);
		if (c->fd < 0)
			return;
		c->inlen = 0;
		c->closing = true;
	}
}

/*
 * Read request bytes; a file sent with them (one fd, SCM_RIGHTS: "snapshot")
 * is kept for the request they start. The kernel hands a file only with the
 * first byte of its sendmsg() and never joins two sendmsg()s' bytes when
 * one carries a file, so the file is the next line's. More fds than one are
 * closed by the kernel (MSG_CTRUNC); a second file replaces the first.
 */
static ssize_t client_recv(struct ctl_client *c)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { c->in + c->inlen, sizeof(c->in) - c->inlen };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };
	ssize_t n = recvmsg(c->fd, &m, MSG_CMSG_CLOEXEC);

	for (struct cmsghdr *h = n >= 0 ? CMSG_FIRSTHDR(&m) : NULL; h; h = CMSG_NXTHDR(&m, h)) {
		int fd;

		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS ||
		    h->cmsg_len != CMSG_LEN(sizeof(int)))
			continue;
		memcpy(&fd, CMSG_DATA(h), sizeof(fd));
		if (c->file_fd >= 0)
			close(c->file_fd);
		c->file_fd = fd;
	}
	return n;
}

static void client_read(struct ctl_server *srv, struct ctl_client *c)
{
	ssize_t n;

	if (c->closing || c->eof || c->inlen == sizeof(c->in))
		return; /* POLLHUP while we read no more: settle closes it when done */
	n = client_recv(c);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0)
		c->eof = true;
	else
		c->inlen += (size_t)n;
	client_process(srv, c);
}

/* A one-line refusal to a connection we will not serve, then close it. */
static void refuse(int fd, enum ctl_errcode code, const char *msg)
{
	struct ctl_error e = { .code = code };
	char line[CTL_MSG_MAX + 64];
	int n;

	snprintf(e.message, sizeof(e.message), "%s", msg);
	n = ctl_format_reply(NULL, NULL, &e, line, sizeof(line));
	if (n > 0 && send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_dbg("control socket: refusal not sent: %s", strerror(errno));
	close(fd);
}

static bool uid_allowed(const struct ctl_server *srv, uid_t uid)
{
	for (unsigned i = 0; i < srv->nr_allowed; i++)
		if (srv->allowed[i] == uid)
			return true;
	return false;
}

static void accept_one(struct ctl_server *srv, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct ctl_client *c = NULL;
	char msg[96];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred)) {
		refuse(fd, CTL_E_DENIED, "cannot identify the peer");
		return;
	}
	if (!uid_allowed(srv, cred.uid)) {
		uint64_t now = now_ms();

		if (now - srv->last_denied_log >= 1000) {
			log_warn("control socket: refused a connection from uid %u (pid %d)%s",
				 (unsigned)cred.uid, (int)cred.pid,
				 srv->denied_unlogged ? " (and more not logged)" : "");
			srv->last_denied_log = now;
			srv->denied_unlogged = 0;
		} else {
			srv->denied_unlogged++;
		}
		snprintf(msg, sizeof(msg), "uid %u is not allowed on this control socket",
			 (unsigned)cred.uid);
		refuse(fd, CTL_E_DENIED, msg);
		return;
	}
	for (unsigned i = 0; i < CTL_MAX_CLIENTS && !c; i++)
		if (srv->cl[i].fd < 0)
			c = &srv->cl[i];
	if (!c || !(c->out = malloc(CTL_OUT_MAX))) {
		snprintf(msg, sizeof(msg), "too many control connections (at most %d)",
			 CTL_MAX_CLIENTS);
		refuse(fd, CTL_E_BUSY, msg);
		return;
	}
	c->fd = fd;
	c->deadline = now_ms() + CTL_IDLE_TIMEOUT_MS;
}

static void accept_all(struct ctl_server *srv)
{
	for (;;) {
		int fd = accept4(srv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN) {
				/* EMFILE and friends: the connection stays queued; retry later */
				if (!srv->accept_failing)
					log_warn("control socket: accept: %s", strerror(errno));
				srv->accept_failing = true;
				srv->accept_pause_until = now_ms() + CTL_ACCEPT_PAUSE_MS;
			}
			return;
		}
		srv->accept_failing = false;
		accept_one(srv, fd);
	}
}

/* ---- the thread ---- */

/* What to poll a client for: input while it may send, output while replies wait. */
static short client_events(const struct ctl_client *c)
{
	short ev = 0;

	if (!c->closing && !c->eof && client_has_room(c) && c->inlen < sizeof(c->in))
		ev |= POLLIN;
	if (c->outlen > c->outoff)
		ev |= POLLOUT;
	return ev;
}

/* After I/O: close what is finished, dead or past its deadline. */
static void client_settle(struct ctl_client *c, short revents, uint64_t now)
{
	if (c->fd < 0)
		return; /* handed over to an exec session */
	if (!client_flush(c)) {
		client_close(c);
		return;
	}
	if ((revents & (POLLERR | POLLNVAL)) || (c->closing && c->outlen == 0) ||
	    now >= c->deadline) {
		if (now >= c->deadline && !c->closing)
			log_info("control socket: closing an idle or slow connection");
		client_close(c);
	}
}

static void *ctl_thread(void *arg)
{
	struct ctl_server *srv = arg;
	struct pollfd p[2 + CTL_MAX_CLIENTS];

	if (srv->ops->thread_enter && srv->ops->thread_enter(srv->opaque) < 0)
		return NULL;
	for (;;) {
		uint64_t now = now_ms(), next = now + CTL_IDLE_TIMEOUT_MS;

		p[0] = (struct pollfd){ .fd = srv->wake_efd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = srv->lfd, .events = POLLIN };
		if (now < srv->accept_pause_until) {
			p[1].fd = -1;
			next = srv->accept_pause_until;
		}
		for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++) {
			struct ctl_client *c = &srv->cl[i];

			p[2 + i] = (struct pollfd){ .fd = c->fd, .events = 0 };
			if (c->fd < 0)
				continue;
			p[2 + i].events = client_events(c);
			if (c->deadline < next)
				next = c->deadline;
		}
		int n = poll(p, 2 + CTL_MAX_CLIENTS, next > now ? (int)(next - now) : 0);

		if (n < 0 && errno != EINTR) {
			/* ENOMEM and the like: transient; keep serving rather than die */
			log_warn("control socket: poll: %s", strerror(errno));
			usleep(CTL_ACCEPT_PAUSE_MS * 1000);
			continue;
		}
		if (n > 0 && p[0].revents)
			break;
		now = now_ms();
		for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++) {
			struct ctl_client *c = &srv->cl[i];
			short re = n > 0 ? p[2 + i].revents : 0;

			if (c->fd < 0)
				continue;
			if (re & (POLLIN | POLLHUP))
				client_read(srv, c);
			else if (re & POLLOUT)
				client_process(srv, c);
			client_settle(c, re, now);
			/* room again after a flush: answer lines already buffered */
			if (c->fd >= 0 && (re & POLLOUT)) {
				client_process(srv, c);
				client_settle(c, 0, now);
			}
		}
		if (n > 0 && p[1].revents)
			accept_all(srv);
	}
	return NULL;
}

int ctl_server_start(struct ctl_server **out, const char *path, const struct ctl_ops *ops,
		     void *opaque, const uid_t *allowed_uids, unsigned n, char *err, size_t errlen)
{
	struct ctl_server *srv;
	sigset_t all, old;
	int r;

	*out = NULL;
	if (!path || !path[0] || strlen(path) >= sizeof(srv->path)) {
		snprintf(err, errlen, "--api-socket %s: path must be 1 to %zu bytes", path ? path : "",
			 sizeof(srv->path) - 1);
		return -ENAMETOOLONG;
	}
	if (n > CTL_MAX_ALLOWED_UIDS) {
		snprintf(err, errlen, "--api-allow-uid: at most %d uids", CTL_MAX_ALLOWED_UIDS);
		return -EINVAL;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		snprintf(err, errlen, "control socket: out of memory");
		return -ENOMEM;
	}
	strcpy(srv->path, path);
	srv->ops = ops;
	srv->opaque = opaque;
	srv->lfd = srv->wake_efd = -1;
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++)
		srv->cl[i].fd = srv->cl[i].file_fd = -1;
	/* root may do anything to this process anyway; our own uid is who started us */
	srv->allowed[srv->nr_allowed++] = 0;
	srv->allowed[srv->nr_allowed++] = geteuid();
	for (unsigned i = 0; i < n; i++)
		srv->allowed[srv->nr_allowed++] = allowed_uids[i];

	r = make_socket(srv, n ? 0666 : 0600, err, errlen);
	if (r)
		goto fail;
	srv->wake_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (srv->wake_efd < 0) {
		r = -errno;
		snprintf(err, errlen, "control socket: eventfd: %s", strerror(-r));
		goto fail;
	}
	/* signals belong to the main thread's signalfd, never to this thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&srv->thread, NULL, ctl_thread, srv);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		snprintf(err, errlen, "control socket: thread: %s", strerror(-r));
		goto fail;
	}
	srv->thread_started = true;
	*out = srv;
	return 0;
fail:
	ctl_server_stop(srv);
	return r;
}

void ctl_server_stop(struct ctl_server *srv)
{
	struct stat st;

	if (!srv)
		return;
	if (srv->thread_started) {
		uint64_t one = 1;

		if (write(srv->wake_efd, &one, sizeof(one)) < 0)
			log_warn("control socket: cannot wake its thread: %s", strerror(errno));
		pthread_join(srv->thread, NULL);
	}
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++) {
		if (srv->cl[i].fd < 0)
			continue;
		client_flush(&srv->cl[i]); /* e.g. the reply to "kill" */
		client_close(&srv->cl[i]);
	}
	if (srv->lfd >= 0) {
		/* only our socket: a later agentvmm may have replaced it already */
		if (lstat(srv->path, &st) == 0 && st.st_dev == srv->dev && st.st_ino == srv->ino)
			unlink(srv->path);
		close(srv->lfd);
	}
	if (srv->wake_efd >= 0)
		close(srv->wake_efd);
	free(srv);
}
