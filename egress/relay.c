// SPDX-License-Identifier: MIT
/*
 * relay.c: the two-way byte relay of one proxied connection (contract in
 * relay.h). One poll(2) loop over both sockets, one buffer per direction:
 * a direction reads only while its buffer is empty and writes until it is
 * empty again, so memory stays at two buffers whatever the peers do.
 */
#include "egress/relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

struct dir {
	int from, to;
	char *buf;
	size_t len, off; /* bytes held, bytes of them already written */
	bool eof;        /* (from) ended, or (to) is gone: read no more */
	bool done;       /* eof, buffer written out, (to) shut down */
};

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Write what (d) holds. Return: false on a write error (the relay ends). */
static bool dir_write(struct dir *d)
{
	ssize_t n = send(d->to, d->buf + d->off, d->len - d->off, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	d->off += (size_t)n;
	if (d->off == d->len)
		d->off = d->len = 0;
	return true;
}

/* Read into (d)'s empty buffer. Return: false on a read error. */
static bool dir_read(struct dir *d)
{
	ssize_t n = recv(d->from, d->buf, EGRESS_RELAY_BUF, MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		d->eof = true;
	d->len = (size_t)n;
	return true;
}

/* An ended direction that holds nothing more: pass the EOF on, once. */
static void dir_finish(struct dir *d)
{
	if (d->eof && !d->len && !d->done) {
		shutdown(d->to, SHUT_WR);
		d->done = true;
	}
}

/* The events (fd) needs for (d[0..1]); -1 for none (a hung-up fd would wake poll forever). */
static short want(const struct dir d[2], int fd)
{
	short ev = 0;

	for (int i = 0; i < 2; i++) {
		if (d[i].from == fd && !d[i].eof && !d[i].len)
			ev |= POLLIN;
		if (d[i].to == fd && d[i].len)
			ev |= POLLOUT;
	}
	return ev;
}

/* One poll round over (d). Return: false when the relay ends. */
static bool relay_round(struct dir d[2], bool hup[2])
{
	int fds[2] = { d[0].from, d[0].to };
	struct pollfd p[2];

	for (int i = 0; i < 2; i++) {
		p[i].events = want(d, fds[i]);
		p[i].fd = p[i].events || !hup[i] ? fds[i] : -1;
		p[i].revents = 0;
	}
	if (poll(p, 2, -1) < 0)
		return errno == EINTR;
	for (int i = 0; i < 2; i++) {
		short ev = p[i].revents;

		if (!p[i].events && (ev & (POLLHUP | POLLERR))) {
			/* the peer of fds[i] is gone while we had nothing for it: what
			 * would go to it can go nowhere; the other way may still drain */
			hup[i] = true;
			struct dir *to = d[0].to == fds[i] ? &d[0] : &d[1];

			to->eof = to->done = true;
			to->len = to->off = 0;
		}
	}
	for (int i = 0; i < 2; i++) {
		short wev = p[d[i].to == fds[0] ? 0 : 1].revents;
		short rev = p[d[i].from == fds[0] ? 0 : 1].revents;

		if (d[i].len && (wev & (POLLOUT | POLLERR | POLLHUP)) && !dir_write(&d[i]))
			return false;
		if (!d[i].eof && !d[i].len && (rev & (POLLIN | POLLERR | POLLHUP)) &&
		    !dir_read(&d[i]))
			return false;
		dir_finish(&d[i]);
	}
	return !(d[0].done && d[1].done);
}

void egress_relay(int guest, int up, const void *first, size_t first_len)
{
	char *mem = mmap(NULL, 2 * EGRESS_RELAY_BUF, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct dir d[2] = {
		{ .from = guest, .to = up },
		{ .from = up, .to = guest },
	};
	bool hup[2] = { false, false };

	if (mem == MAP_FAILED)
		return;
	set_nonblock(guest);
	set_nonblock(up);
	d[0].buf = mem;
	d[1].buf = mem + EGRESS_RELAY_BUF;
	if (first_len > EGRESS_RELAY_BUF)
		first_len = EGRESS_RELAY_BUF;
	memcpy(d[0].buf, first, first_len);
	d[0].len = first_len;
	while (relay_round(d, hup))
		;
	munmap(mem, 2 * EGRESS_RELAY_BUF);
}
