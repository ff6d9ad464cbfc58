// SPDX-License-Identifier: MIT
/*
 * session.c: the host endpoint of a session (prefix avs_): outputs and the
 * relay, one poll(2) loop whose pieces are split by direction (tx_* to the
 * guest, rx_* from it, out_* to the host's fds). The pure half (job, frame
 * checks, escape) is session_proto.c; both are declared in vmm/session.h.
 */
#include "vmm/session.h"

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "vmm/console.h"

#define RX_FRAMES_PER_WAKE 16   /* guest frames handled before looking at the other fds */

/* ---- outputs ------------------------------------------------------------- */

int avs_prepare_output(int fd)
{
	struct stat st;
	int nfd;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode) && !S_ISSOCK(st.st_mode)) {
		nfd = con_reopen_nonblocking(fd);
		if (nfd >= 0)
			return nfd;
	}
	/* a file never waits for a reader; a socket gets send(MSG_DONTWAIT) */
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	return nfd < 0 ? -errno : nfd;
}

/* ---- the relay ----------------------------------------------------------- */

/* An output fd, judged once at the start. */
struct sink {
	int fd;          /* -1: discard */
	bool sock;       /* send(MSG_DONTWAIT | MSG_NOSIGNAL) */
	bool blocking;   /* a stream without O_NONBLOCK: PIPE_BUF bytes after POLLOUT */
	bool tty;
	bool dead;       /* a write failed for good: drop from now on */
};

struct relay {
	const struct avs_relay *r;
	struct sink out, err;
	bool raw;                       /* in_fd's terminal is in raw mode */
	bool eat_sigpipe;               /* we blocked SIGPIPE: consume the ones we raise */
	bool esc_pending;
	bool sig_off;                   /* sig_fd is broken: not polled any more */
	/* to the guest: one frame at a time */
	struct avs_hdr tx_hdr;
	const uint8_t *tx_payload;
	size_t tx_len, tx_off;          /* header + payload; tx_len 0: idle */
	bool tx_wait;                   /* EAGAIN: wait for POLLOUT */
	bool tx_dead;                   /* the stream refused a send (EPIPE) */
	bool in_eof;                    /* STDIN's end is queued or sent */
	bool eof_due;                   /* ... and must be queued when tx is idle */
	bool acked;                     /* EXIT_ACK went out */
	uint8_t tx_small[4];            /* WINSIZE, SIGNAL */
	/* from the guest: one frame at a time */
	struct avs_hdr rx_hdr;
	size_t rx_have;                 /* bytes of the current frame, header included */
	uint32_t rx_len;                /* its payload length, once the header is in */
	bool rx_eof;                    /* after EXIT: the guest closed its side */
	struct avs_rx_seq seq;
	int status;
	/* one received chunk on its way out */
	struct sink *o_sink;
	const uint8_t *o_p;
	size_t o_len;
	bool o_wait;                    /* the sink said "not now": wait for POLLOUT */
	uint8_t rx_buf[AVS_DATA_MAX];
	uint8_t tx_buf[AVS_DATA_MAX];
	char line[AVS_ERROR_MAX + 16];  /* "agentvmm: " ERROR "\r\n" */
};

static void sink_init(struct sink *k, int fd)
{
	struct stat st;
	int fl;

	*k = (struct sink){ .fd = fd };
	if (fd < 0 || fstat(fd, &st) < 0)
		return;
	k->sock = S_ISSOCK(st.st_mode);
	fl = fcntl(fd, F_GETFL);
	k->blocking = !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode) && !k->sock && fl >= 0 &&
		      !(fl & O_NONBLOCK);
	k->tty = isatty(fd);
}

/* One write attempt. Return: bytes written, 0 for "not now", -errno. */
static ssize_t sink_write(struct relay *s, struct sink *k, const uint8_t *p, size_t len)
{
	ssize_t w;

	if (k->blocking) {
		struct pollfd pf = { .fd = k->fd, .events = POLLOUT };

		/* POLLOUT: a pipe takes PIPE_BUF bytes at once without blocking */
		if (poll(&pf, 1, 0) != 1)
			return 0;
		if (pf.revents & (POLLERR | POLLNVAL))
			return -EPIPE;
		len = MIN(len, (size_t)PIPE_BUF);
	}
	if (k->sock)
		w = send(k->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	else
		w = write(k->fd, p, len);
	if (w >= 0)
		return w;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	w = -errno;
	if (w == -EPIPE && !k->sock && s->eat_sigpipe) {
		sigset_t set;
		struct timespec zero = { 0 };

		/* the SIGPIPE this write raised is pending (blocked): take it back */
		sigemptyset(&set);
		sigaddset(&set, SIGPIPE);
		while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	return w;
}

static void out_set(struct relay *s, struct sink *k, const uint8_t *p, size_t len)
{
	s->o_sink = k;
	s->o_p = p;
	s->o_len = k->fd < 0 || k->dead ? 0 : len;
	s->o_wait = false;
}

/* Write what is pending as far as the sink takes it now. */
static void out_flush(struct relay *s)
{
	while (s->o_len && !s->o_wait) {
		struct sink *k = s->o_sink;
		ssize_t w = sink_write(s, k, s->o_p, s->o_len);

		if (w > 0) {
			s->o_p += w;
			s->o_len -= (size_t)w;
		} else if (w == 0) {
			s->o_wait = true;
		} else {
			/* EPIPE (nobody reads), ENOSPC, EIO: the session goes on without it */
			k->dead = true;
			s->o_len = 0;
		}
	}
}

static void tx_queue(struct relay *s, uint8_t type, const uint8_t *payload, uint32_t len)
{
	struct avs_hdr h = { .len = htole32(len), .type = type };

	assert(!s->tx_len);
	s->tx_hdr = h;
	s->tx_payload = payload;
	s->tx_len = AVS_HDR_LEN + (size_t)len;
	s->tx_off = 0;
	s->tx_wait = false;
}

/* Send what is pending as far as the sock takes it now. Return: 0 or -errno. */
static int tx_flush(struct relay *s)
{
	while (s->tx_len && !s->tx_wait) {
		struct iovec iov[2];
		struct msghdr m = { .msg_iov = iov };
		size_t plen = s->tx_len - AVS_HDR_LEN, poff = 0;
		ssize_t w;

		if (s->tx_off < AVS_HDR_LEN)
			iov[m.msg_iovlen++] = (struct iovec){ (uint8_t *)&s->tx_hdr + s->tx_off,
							      AVS_HDR_LEN - s->tx_off };
		else
			poff = s->tx_off - AVS_HDR_LEN;
		/* sendmsg() does not write to it: drop the const */
		if (plen > poff)
			iov[m.msg_iovlen++] = (struct iovec){
				(void *)(uintptr_t)(s->tx_payload + poff), plen - poff };
		w = sendmsg(s->r->sock, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			s->tx_wait = true;
		} else if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) {
			/* the guest closed: what it sent before may still hold its EXIT */
			s->tx_dead = true;
			s->tx_len = 0;
		} else if (w < 0) {
			return -errno;
		} else {
			s->tx_off += (size_t)w;
			if (s->tx_off == s->tx_len) {
				s->acked = s->tx_hdr.type == AVS_EXIT_ACK;
				s->tx_len = 0;
			}
		}
	}
	return 0;
}

/* Read more of the current guest frame. Return: 1 complete, 0 not yet, -EPIPE, -EPROTO, -errno. */
static int rx_step(struct relay *s)
{
	for (;;) {
		size_t pay = s->rx_have > AVS_HDR_LEN ? s->rx_have - AVS_HDR_LEN : 0;
		uint8_t *dst = s->rx_have < AVS_HDR_LEN ? (uint8_t *)&s->rx_hdr + s->rx_have :
							  s->rx_buf + pay;
		size_t want = s->rx_have < AVS_HDR_LEN ? AVS_HDR_LEN - s->rx_have : s->rx_len - pay;
		ssize_t n;

		if (!want)
			return 1;
		n = recv(s->r->sock, dst, want, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return -EPIPE;
		if (n < 0)
			return -errno;
		s->rx_have += (size_t)n;
		if (s->rx_have == AVS_HDR_LEN) {
			if (avs_frame_check(&s->rx_hdr, true) ||
			    avs_rx_seq_next(&s->seq, &s->rx_hdr))
				return -EPROTO;
			s->rx_len = le32toh(s->rx_hdr.len);
		}
	}
}

/* ERROR: one line on err_fd, control bytes shown as '?'. */
static void rx_error_line(struct relay *s, uint32_t len)
{
	bool crlf = s->raw && s->err.tty;
	size_t n = (size_t)snprintf(s->line, sizeof(s->line), "agentvmm: ");

	for (uint32_t i = 0; i < len; i++) {
		uint8_t c = s->rx_buf[i];

		s->line[n++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (crlf)
		s->line[n++] = '\r';
	s->line[n++] = '\n';
	out_set(s, &s->err, (const uint8_t *)s->line, n);
}

/* A complete guest frame is in. Return: 0, -EPROTO. */
static int rx_frame(struct relay *s)
{
	uint32_t len = s->rx_len, v;
	uint8_t c;

	if (avs_payload_check(s->rx_hdr.type, s->rx_buf, len))
		return -EPROTO;
	s->rx_have = 0;
	s->rx_len = 0;
	switch (s->rx_hdr.type) {
	case AVS_STDOUT:
		out_set(s, &s->out, s->rx_buf, len);
		break;
	case AVS_STDERR:
		out_set(s, &s->err, s->rx_buf, len);
		break;
	case AVS_ERROR:
		rx_error_line(s, len);
		break;
	case AVS_EXIT:
		memcpy(&v, s->rx_buf, sizeof(v));
		s->status = (int)le32toh(v);
		/* EXIT is the last frame: a byte already behind it breaks the protocol */
		if (recv(s->r->sock, &c, 1, MSG_DONTWAIT | MSG_PEEK) == 1)
			return -EPROTO;
		break;
	}
	return 0;
}

/* The sock is readable and no output waits: take frames. Return: 0 or -errno. */
static int rx_ready(struct relay *s)
{
	uint8_t c;
	ssize_t n;
	int r;

	if (s->seq.exited) {
		/* waiting to send EXIT_ACK: only an end of stream is allowed */
		n = recv(s->r->sock, &c, 1, MSG_DONTWAIT);
		if (n > 0)
			return -EPROTO;
		s->rx_eof = n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
		return 0;
	}
	for (int i = 0; i < RX_FRAMES_PER_WAKE && !s->o_len && !s->seq.exited; i++) {
		r = rx_step(s);
		if (r <= 0)
			return r;
		r = rx_frame(s);
		if (r)
			return r;
		out_flush(s);
	}
	return 0;
}

/* in_fd is readable and tx is idle. Return: 0, or -EINTR at Ctrl-A x. */
static int in_ready(struct relay *s)
{
	ssize_t n = read(s->r->in_fd, s->tx_buf, sizeof(s->tx_buf));
	size_t len;
	bool quit;

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n <= 0) {
		/* end of file, or an input that failed (EIO: the terminal hung up) */
		s->eof_due = true;
		return 0;
	}
	len = (size_t)n;
	if (s->r->escape) {
		len = avs_escape_feed(&s->esc_pending, s->tx_buf, len, s->tx_buf, &quit);
		if (quit) {
			if (s->r->on_quit)
				s->r->on_quit(s->r->opaque);
			return -EINTR;
		}
	}
	if (len) /* never 0 bytes: that would be the end of file */
		tx_queue(s, AVS_STDIN, s->tx_buf, (uint32_t)len);
	return 0;
}

/* sig_fd is readable and tx is idle: WINSIZE or SIGNAL. */
static void sig_ready(struct relay *s)
{
	struct signalfd_siginfo si;
	struct winsize ws;
	ssize_t n = read(s->r->sig_fd, &si, sizeof(si));
	uint32_t v;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n != (ssize_t)sizeof(si)) {
		s->sig_off = true;
		return;
	}
	if (si.ssi_signo == SIGWINCH) {
		if (!s->r->tty || ((s->r->in_fd < 0 || ioctl(s->r->in_fd, TIOCGWINSZ, &ws) < 0) &&
				   (s->out.fd < 0 || ioctl(s->out.fd, TIOCGWINSZ, &ws) < 0)))
			return;
		if (!ws.ws_row || !ws.ws_col)
			return;
		v = htole32((uint32_t)ws.ws_row | (uint32_t)ws.ws_col << 16);
		memcpy(s->tx_small, &v, 4);
		tx_queue(s, AVS_WINSIZE, s->tx_small, 4);
	} else if (si.ssi_signo >= 1 && si.ssi_signo <= 64) {
		v = htole32(si.ssi_signo);
		memcpy(s->tx_small, &v, 4);
		tx_queue(s, AVS_SIGNAL, s->tx_small, 4);
	}
}

/*
 * stop_fd: what the sock holds now is read and written out as far as that
 * goes without blocking, at most AVS_STOP_DRAIN_FRAMES frames of it.
 */
static int relay_drain(struct relay *s)
{
	for (unsigned i = 0;; i++) {
		s->o_wait = false;
		out_flush(s);
		if (s->o_len || s->seq.exited || i == AVS_STOP_DRAIN_FRAMES)
			break;
		if (rx_step(s) <= 0 || rx_frame(s))
			break;
	}
	return -ECANCELED;
}

enum { P_SOCK, P_IN, P_OUT, P_STOP, P_SIG, P_NR };

/* What is due when tx is idle. Return: 1 the session is over (0 + status), 0 go on. */
static int tx_idle(struct relay *s)
{
	if (s->seq.exited) {
		if (s->acked || s->tx_dead)
			return 1;
		tx_queue(s, AVS_EXIT_ACK, NULL, 0);
	} else if (s->eof_due && !s->tx_dead) {
		s->eof_due = false;
		s->in_eof = true;
		tx_queue(s, AVS_STDIN, NULL, 0);
	}
	return 0;
}

static void relay_pollfds(struct relay *s, struct pollfd *p)
{
	const struct avs_relay *r = s->r;
	bool idle = !s->tx_len && !s->tx_dead && !s->seq.exited;
	bool rx = s->seq.exited ? !s->rx_eof : !s->o_len;
	short sock_ev = (short)((rx ? POLLIN : 0) | (s->tx_len && s->tx_wait ? POLLOUT : 0));

	p[P_SOCK] = (struct pollfd){ .fd = sock_ev ? r->sock : -1, .events = sock_ev };
	p[P_IN] = (struct pollfd){ .fd = idle && !s->in_eof && !s->eof_due ? r->in_fd : -1,
				   .events = POLLIN };
	p[P_OUT] = (struct pollfd){ .fd = s->o_len && s->o_wait ? s->o_sink->fd : -1,
				    .events = POLLOUT };
	p[P_STOP] = (struct pollfd){ .fd = r->stop_fd, .events = POLLIN };
	p[P_SIG] = (struct pollfd){ .fd = idle && !s->sig_off ? r->sig_fd : -1, .events = POLLIN };
}

static int relay_loop(struct relay *s)
{
	struct pollfd p[P_NR];
	int r;

	tx_queue(s, AVS_SPEC, s->r->spec, (uint32_t)s->r->spec_len);
	s->eof_due = s->r->in_fd < 0;
	for (;;) {
		r = tx_flush(s);
		if (r)
			return r;
		out_flush(s);
		if (!s->tx_len && tx_idle(s))
			return 0;
		if (s->tx_len && !s->tx_wait)
			continue; /* just queued */
		relay_pollfds(s, p);
		if (poll(p, P_NR, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[P_STOP].revents)
			return relay_drain(s);
		if (p[P_SOCK].revents & (POLLOUT | POLLERR | POLLHUP))
			s->tx_wait = false;
		if (p[P_OUT].revents)
			s->o_wait = false;
		if (p[P_SOCK].revents & (POLLIN | POLLERR | POLLHUP) && p[P_SOCK].events & POLLIN) {
			r = rx_ready(s);
			if (r)
				return r;
		}
		/* signals first: a flood of input must not hold them back */
		if (p[P_SIG].revents & (POLLERR | POLLNVAL))
			s->sig_off = true;
		else if (p[P_SIG].revents)
			sig_ready(s);
		if (p[P_IN].revents && !s->tx_len) {
			r = in_ready(s);
			if (r)
				return r;
		}
	}
}

int avs_relay_run(struct avs_relay *r, int *status)
{
	struct termios saved;
	sigset_t pipe_set, old;
	struct relay *s;
	int fl, ret;

	if (r->spec_len > AVS_SPEC_MAX)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->r = r;
	sink_init(&s->out, r->out_fd);
	sink_init(&s->err, r->err_fd);
	fl = fcntl(r->sock, F_GETFL);
	if (fl < 0 || fcntl(r->sock, F_SETFL, fl | O_NONBLOCK) < 0) {
		ret = -errno;
		goto out_free;
	}
	/* a pipe closed under us must be EPIPE, never the end of the process */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	s->eat_sigpipe = !sigismember(&old, SIGPIPE);
	if (r->tty && r->in_fd >= 0 && isatty(r->in_fd) && tcgetattr(r->in_fd, &saved) == 0) {
		struct termios t = saved;

		cfmakeraw(&t);
		s->raw = tcsetattr(r->in_fd, TCSANOW, &t) == 0;
	}
	ret = relay_loop(s);
	if (s->raw)
		tcsetattr(r->in_fd, TCSANOW, &saved);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!ret && status)
		*status = s->status;
out_free:
	free(s);
	return ret;
}
