// SPDX-License-Identifier: MIT
/* console.c: guest console output: a non-blocking, limited sink (filter: console_filter.c). */
#include "vmm/console.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmm/log.h"

struct con_out {
	int co_fd;
	bool co_own;
	bool co_file;               /* regular file: limit, plain writes */
	bool co_sock;               /* send(MSG_DONTWAIT) */
	bool co_blocking;           /* a stream we could not make non-blocking */
	bool co_tty;                /* filtered */
	bool co_dead;               /* a hard write error: drop everything */
	bool co_noted_limit;
	char co_name[64];
	uint64_t co_limit, co_written, co_dropped;
	struct con_filter co_filter;
	size_t co_len;              /* bytes held in co_buf */
	uint8_t co_buf[CON_BUF];
	uint8_t co_tmp[CON_BUF];    /* filter output */
};

int con_reopen_nonblocking(int fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
}

struct con_out *con_out_create(int fd, bool own, const char *name, uint64_t limit)
{
	struct con_out *c = calloc(1, sizeof(*c));
	struct stat st;

	if (!c) {
		if (own)
			close(fd);
		return NULL;
	}
	c->co_fd = fd;
	c->co_own = own;
	snprintf(c->co_name, sizeof(c->co_name), "%s", name);
	if (fstat(fd, &st) < 0 || S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
		c->co_file = true;
		c->co_limit = limit;
	} else if (S_ISSOCK(st.st_mode)) {
		c->co_sock = true;
	} else if (own) {
		c->co_blocking = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0;
	} else {
		int nfd = con_reopen_nonblocking(fd);

		c->co_blocking = nfd < 0;
		if (nfd >= 0) {
			c->co_fd = nfd;
			c->co_own = true;
		}
	}
	c->co_tty = isatty(c->co_fd);
	con_filter_init(&c->co_filter, con_locale_utf8());
	return c;
}

void con_out_destroy(struct con_out *c)
{
	if (!c)
		return;
	if (c->co_own)
		close(c->co_fd);
	free(c);
}

bool con_out_is_tty(const struct con_out *c)
{
	return c && c->co_tty;
}

uint64_t con_out_written(const struct con_out *c)
{
	return c ? c->co_written : 0;
}

uint64_t con_out_dropped(const struct con_out *c)
{
	return c ? c->co_dropped : 0;
}

/* One write attempt of what is held. Return: bytes written, 0 for "not now", -errno. */
static ssize_t sink_write_once(struct con_out *c)
{
	size_t len = c->co_len;
	ssize_t w;

	if (c->co_blocking) {
		struct pollfd p = { .fd = c->co_fd, .events = POLLOUT };

		/* POLLOUT: a pipe takes PIPE_BUF bytes at once without blocking */
		if (poll(&p, 1, 0) != 1)
			return 0;
		if (p.revents & (POLLERR | POLLNVAL))
			return -EPIPE;
		len = MIN(len, (size_t)PIPE_BUF);
	}
	if (c->co_sock)
		w = send(c->co_fd, c->co_buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	else
		w = write(c->co_fd, c->co_buf, len);
	if (w >= 0)
		return w;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	return -errno;
}

/* Drop everything held, counting it. */
static void sink_drop(struct con_out *c)
{
	c->co_dropped += c->co_len;
	c->co_len = 0;
}

/*
 * Write what is held. With (give_up) NULL, only what the sink takes now;
 * otherwise wait for it in CON_POLL_MS slices until it is all out or
 * (give_up) says stop. Return: true when nothing is held any more.
 */
static bool sink_flush(struct con_out *c, con_give_up_fn give_up, void *opaque)
{
	while (c->co_len && !c->co_dead) {
		ssize_t w = sink_write_once(c);

		if (w > 0) {
			c->co_written += (uint64_t)w;
			c->co_len -= (size_t)w;
			memmove(c->co_buf, c->co_buf + w, c->co_len);
			continue;
		}
		if (w < 0) {
			/* EPIPE: the reader is gone for good; ENOSPC, EIO: a file that is */
			log_warn("console: %s: %s: guest output dropped from now on", c->co_name,
				 strerror((int)-w));
			c->co_dead = true;
			break;
		}
		if (!give_up || give_up(opaque))
			return false;
		struct pollfd p = { .fd = c->co_fd, .events = POLLOUT };
		/* EINTR: the kick signal, asking this vCPU to stop or pause: give_up() tells */
		if (poll(&p, 1, CON_POLL_MS) < 0 && errno != EINTR)
			break;
	}
	if (c->co_dead)
		sink_drop(c);
	return c->co_len == 0;
}

/* A regular file's limit: how much of (len) may still go. */
static size_t file_room(struct con_out *c, size_t len)
{
	uint64_t left;

	if (!c->co_file || !c->co_limit)
		return len;
	left = c->co_limit > c->co_written + c->co_len ? c->co_limit - c->co_written - c->co_len
							: 0;
	if (left < len && !c->co_noted_limit) {
		c->co_noted_limit = true;
		bool mib = !(c->co_limit & ((1ULL << 20) - 1));

		log_warn("console: %s reached its limit of %llu %s (--console-limit): further "
			 "guest output is dropped", c->co_name,
			 (unsigned long long)(mib ? c->co_limit >> 20 : c->co_limit),
			 mib ? "MiB" : "bytes");
	}
	return (size_t)MIN((uint64_t)len, left);
}

/* Hold (len) bytes at (p), waiting for room while the sink is full. */
static void sink_put(struct con_out *c, const uint8_t *p, size_t len, con_give_up_fn give_up,
		     void *opaque)
{
	size_t room = file_room(c, len);

	c->co_dropped += len - room;
	len = room;
	while (len && !c->co_dead) {
		size_t n = MIN(len, CON_BUF - c->co_len);

		memcpy(c->co_buf + c->co_len, p, n);
		c->co_len += n;
		p += n;
		len -= n;
		/* the common case: the sink takes it at once */
		if (!sink_flush(c, NULL, NULL) && c->co_len == CON_BUF &&
		    !sink_flush(c, give_up, opaque))
			break;
	}
	c->co_dropped += len; /* given up, or dead */
	if (c->co_dead)
		sink_drop(c);
}

void con_out_write(struct con_out *c, const uint8_t *buf, size_t len, con_give_up_fn give_up,
		   void *opaque)
{
	if (!c || c->co_dead) {
		if (c)
			c->co_dropped += len;
		return;
	}
	while (len) {
		/* the filter may add CON_FILTER_SLACK bytes: feed it in pieces that fit */
		size_t n = MIN(len, sizeof(c->co_tmp) - CON_FILTER_SLACK);

		if (c->co_tty)
			sink_put(c, c->co_tmp, con_filter_feed(&c->co_filter, buf, n, c->co_tmp),
				 give_up, opaque);
		else
			sink_put(c, buf, n, give_up, opaque);
		buf += n;
		len -= n;
	}
}

static bool drain_deadline(void *opaque)
{
	const struct timespec *dl = opaque;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > dl->tv_sec || (now.tv_sec == dl->tv_sec && now.tv_nsec >= dl->tv_nsec);
}

void con_out_drain(struct con_out *c, int ms)
{
	struct timespec dl;

	if (!c)
		return;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	if (!sink_flush(c, ms > 0 ? drain_deadline : NULL, &dl))
		sink_drop(c);
	if (c->co_dropped && !c->co_noted_limit && !c->co_dead)
		log_warn("console: %llu bytes of guest output dropped: %s did not take them "
			 "before the VM stopped", (unsigned long long)c->co_dropped, c->co_name);
}
