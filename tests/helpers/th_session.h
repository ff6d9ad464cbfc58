/* SPDX-License-Identifier: MIT */
/*
 * th_session.h: a guest-init peer for session tests (guest-init/session_proto.h)
 * and the small fd helpers they share; include after <cmocka.h>, failures
 * fail the test. Header-only, like th_files.h.
 *
 * The peer is the protocol's other side on a real socketpair: one thread
 * reads every host frame, checks it against the protocol (its own checks,
 * not vmm/session_proto.c's) and records it; another runs the test's script,
 * which sends the guest's frames and waits for what the host sent
 * (th_peer_wait()). Problems the threads see go to (fail) and fail the test
 * in th_peer_finish(), on the test's thread. Every wait is bounded
 * (TH_WAIT_MS), and a test that hangs anyway is ended by alarm(TH_ALARM_S).
 */
#ifndef AGENTVMM_TESTS_HELPERS_TH_SESSION_H
#define AGENTVMM_TESTS_HELPERS_TH_SESSION_H

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "guest-init/session_proto.h"

#define TH_WAIT_MS 10000       /* any wait of a peer thread, at most */
#define TH_ALARM_S 60          /* a hung test ends the test binary */

static inline double th_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* argv strings for parsers that take char ** and never write to them */
static inline char *th_unconst(const char *s)
{
	return (char *)(uintptr_t)s;
}

static inline void th_put_le32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

/* A frame's 8-byte header in wire order. */
static inline struct avs_hdr th_hdr(uint8_t type, uint32_t len)
{
	return (struct avs_hdr){ .len = htole32(len), .type = type };
}

static inline bool th_send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		len -= (size_t)w;
	}
	return true;
}

static inline bool th_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		len -= (size_t)w;
	}
	return true;
}

/* Read exactly (len) bytes. Return: 1, 0 at end of stream, -1 error. */
static inline int th_read_exact(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? 0 : -1;
		p += n;
		len -= (size_t)n;
	}
	return 1;
}

/* A frame into (buf) at (*at). */
static inline void th_frame_put(uint8_t *buf, size_t *at, uint8_t type, const void *payload,
				uint32_t len)
{
	struct avs_hdr h = th_hdr(type, len);

	memcpy(buf + *at, &h, sizeof(h));
	if (len)
		memcpy(buf + *at + AVS_HDR_LEN, payload, len);
	*at += AVS_HDR_LEN + len;
}

static inline int th_memfd(void)
{
	int fd = memfd_create("test-session", MFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

/* A th_memfd's whole content, NUL-terminated (free it). */
static inline char *th_file_text(int fd, size_t *len)
{
	struct stat st;
	char *s;

	assert_int_equal(fstat(fd, &st), 0);
	s = malloc((size_t)st.st_size + 1);
	assert_non_null(s);
	assert_int_equal(pread(fd, s, (size_t)st.st_size, 0), st.st_size);
	s[st.st_size] = 0;
	if (len)
		*len = (size_t)st.st_size;
	return s;
}

static inline void th_expect_file(int fd, const char *want)
{
	char *got = th_file_text(fd, NULL);

	if (strcmp(got, want))
		fail_msg("file holds \"%s\", want \"%s\"", got, want);
	free(got);
}

/* th_fill_binary() - (n) bytes at (p) with every byte value, NUL and 0xff too. */
static inline void th_fill_binary(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 7 + seed + (i >> 9)) & 0xff);
}

/* A pseudo-terminal pair (m, s) of (rows x cols). */
static inline void th_open_pty(int *m, int *s, unsigned short rows, unsigned short cols)
{
	struct winsize ws = { .ws_row = rows, .ws_col = cols };

	*m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(*m >= 0);
	assert_int_equal(grantpt(*m), 0);
	assert_int_equal(unlockpt(*m), 0);
	*s = open(ptsname(*m), O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(*s >= 0);
	assert_int_equal(ioctl(*m, TIOCSWINSZ, &ws), 0);
}

/* ---- the guest peer ------------------------------------------------------ */

struct th_peer;
typedef void (*th_peer_script_fn)(struct th_peer *p);

struct th_peer {
	int fd;                         /* the guest's end of the stream */
	pthread_t rx_thread, tx_thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	th_peer_script_fn script;
	void *ctx;                      /* the test's own */
	bool done;                      /* the relay returned: waits end */
	/* what the host sent, checked as it came */
	uint8_t types[1024];
	unsigned nr_frames;
	uint8_t *spec;
	size_t spec_len;
	uint8_t *in;
	size_t in_len, in_cap;
	unsigned nr_stdin;
	uint32_t max_stdin;
	bool in_eof, acked, rx_eof;
	int sigs[16];
	unsigned nr_sigs;
	uint16_t ws[16][2];
	unsigned nr_ws;
	void (*on_ack)(struct th_peer *p); /* rx thread, lock held */
	char fail[256];                 /* the first problem the threads saw */
};

__attribute__((format(printf, 2, 3))) static inline void th_peer_fail_locked(struct th_peer *p,
								   const char *fmt, ...)
{
	va_list ap;

	if (p->fail[0])
		return;
	va_start(ap, fmt);
	vsnprintf(p->fail, sizeof(p->fail), fmt, ap);
	va_end(ap);
}

/*
 * What a host may send (session_proto.h), written here apart from
 * vmm/session_proto.c so the peer checks the relay without trusting it.
 */
static inline bool th_host_frame_ok(const struct avs_hdr *h)
{
	uint32_t len = le32toh(h->len);

	if (h->flags || h->zero)
		return false;
	switch (h->type) {
	case AVS_SPEC:
		return len <= AVS_SPEC_MAX;
	case AVS_STDIN:
		return len <= AVS_DATA_MAX;
	case AVS_WINSIZE:
	case AVS_SIGNAL:
		return len == 4;
	case AVS_EXIT_ACK:
		return len == 0;
	default:
		return false;
	}
}

static inline bool th_host_payload_ok(uint8_t type, const uint8_t *pl, uint32_t len)
{
	uint32_t v = len == 4 ? (uint32_t)pl[0] | (uint32_t)pl[1] << 8 | (uint32_t)pl[2] << 16 |
					(uint32_t)pl[3] << 24 : 0;

	if (type == AVS_SIGNAL)
		return v >= 1 && v <= 64;
	if (type == AVS_WINSIZE)
		return (v & 0xffff) && (v >> 16);
	return true;
}

/* One host frame, checked against the protocol; (pl) is its payload. */
static inline void th_peer_record_locked(struct th_peer *p, const struct avs_hdr *h, uint8_t *pl)
{
	uint32_t len = le32toh(h->len);

	if (p->nr_frames < sizeof(p->types))
		p->types[p->nr_frames] = h->type;
	if ((p->nr_frames++ == 0) != (h->type == AVS_SPEC))
		th_peer_fail_locked(p, "SPEC is not the first frame (frame %u type %u)",
				    p->nr_frames,
				 h->type);
	if (p->acked)
		th_peer_fail_locked(p, "a frame (type %u) after EXIT_ACK", h->type);
	if (!th_host_payload_ok(h->type, pl, len))
		th_peer_fail_locked(p, "a bad payload (type %u len %u)", h->type, len);
	switch (h->type) {
	case AVS_SPEC:
		p->spec = pl;
		p->spec_len = len;
		return;
	case AVS_STDIN:
		if (p->in_eof)
			th_peer_fail_locked(p, "STDIN after its end");
		p->in_eof = !len;
		p->nr_stdin += len != 0;
		p->max_stdin = len > p->max_stdin ? len : p->max_stdin;
		if (p->in_len + len > p->in_cap) {
			p->in_cap = (p->in_len + len) * 2;
			p->in = realloc(p->in, p->in_cap);
		}
		if (len)
			memcpy(p->in + p->in_len, pl, len);
		p->in_len += len;
		break;
	case AVS_SIGNAL:
		if (p->nr_sigs < 16)
			p->sigs[p->nr_sigs++] = (int)le32toh(*(uint32_t *)pl);
		break;
	case AVS_WINSIZE:
		if (p->nr_ws < 16) {
			memcpy(p->ws[p->nr_ws], pl, 4);
			p->ws[p->nr_ws][0] = le16toh(p->ws[p->nr_ws][0]);
			p->ws[p->nr_ws][1] = le16toh(p->ws[p->nr_ws][1]);
			p->nr_ws++;
		}
		break;
	case AVS_EXIT_ACK:
		p->acked = true;
		if (p->on_ack)
			p->on_ack(p);
		break;
	}
	free(pl);
}

static inline void *th_peer_rx_main(void *arg)
{
	struct th_peer *p = arg;

	for (;;) {
		struct avs_hdr h;
		uint8_t *pl;
		int r = th_read_exact(p->fd, &h, sizeof(h));

		pthread_mutex_lock(&p->lock);
		if (r == 1 && !th_host_frame_ok(&h))
			th_peer_fail_locked(p, "the host sent a bad header (type %u)", h.type);
		pthread_mutex_unlock(&p->lock);
		if (r != 1 || !th_host_frame_ok(&h))
			break;
		pl = malloc(le32toh(h.len) + 1);
		if (le32toh(h.len) && th_read_exact(p->fd, pl, le32toh(h.len)) != 1) {
			free(pl);
			break;
		}
		pthread_mutex_lock(&p->lock);
		th_peer_record_locked(p, &h, pl);
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
	}
	pthread_mutex_lock(&p->lock);
	p->rx_eof = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static inline void *th_peer_tx_main(void *arg)
{
	struct th_peer *p = arg;

	if (p->script)
		p->script(p);
	return NULL;
}

/* A guest peer running (script); returns the host's end of the stream. */
static inline int th_peer_start(struct th_peer *p, th_peer_script_fn script, void *ctx)
{
	int sv[2];

	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->script = script;
	p->ctx = ctx;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	p->fd = sv[1];
	assert_int_equal(pthread_create(&p->rx_thread, NULL, th_peer_rx_main, p), 0);
	assert_int_equal(pthread_create(&p->tx_thread, NULL, th_peer_tx_main, p), 0);
	alarm(TH_ALARM_S);
	return sv[0];
}

/* The relay returned: end the peer, close both ends, report what it saw wrong. */
static inline void th_peer_finish(struct th_peer *p, int host_fd)
{
	pthread_mutex_lock(&p->lock);
	p->done = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	close(host_fd);
	pthread_join(p->tx_thread, NULL);
	pthread_join(p->rx_thread, NULL);
	close(p->fd);
	alarm(0);
	free(p->spec);
	free(p->in);
	if (p->fail[0])
		fail_msg("guest peer: %s", p->fail);
}

typedef bool (*th_peer_pred_fn)(const struct th_peer *p, size_t arg);

/* Wait until (pred) holds, the relay returned or TH_WAIT_MS passed. */
static inline bool th_peer_wait(struct th_peer *p, th_peer_pred_fn pred, size_t arg,
				const char *what)
{
	struct timespec dl;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += TH_WAIT_MS / 1000;
	pthread_mutex_lock(&p->lock);
	while (!(ok = pred(p, arg)) && !p->done)
		if (pthread_cond_timedwait(&p->cond, &p->lock, &dl) == ETIMEDOUT)
			break;
	if (!ok && !p->done)
		th_peer_fail_locked(p, "timed out waiting for %s", what);
	pthread_mutex_unlock(&p->lock);
	return ok;
}

static inline bool th_got_spec(const struct th_peer *p, size_t arg)
{
	return p->spec != NULL;
}

static inline bool th_got_in(const struct th_peer *p, size_t n)
{
	return p->in_len >= n;
}

static inline bool th_got_in_eof(const struct th_peer *p, size_t arg)
{
	return p->in_eof;
}

static inline bool th_got_sigs(const struct th_peer *p, size_t n)
{
	return p->nr_sigs >= n;
}

static inline bool th_got_ws(const struct th_peer *p, size_t n)
{
	return p->nr_ws >= n;
}

static inline bool th_got_rx_eof(const struct th_peer *p, size_t arg)
{
	return p->rx_eof;
}

static inline bool th_got_ack(const struct th_peer *p, size_t arg)
{
	return p->acked;
}

/* After a relay returned 0: the peer has seen the EXIT_ACK (checked by the caller). */
static inline void th_wait_ack(struct th_peer *p)
{
	th_peer_wait(p, th_got_ack, 0, "EXIT_ACK");
}

static inline bool th_peer_send(struct th_peer *p, uint8_t type, const void *data, uint32_t len)
{
	uint8_t *buf = malloc(AVS_HDR_LEN + len);
	size_t at = 0;
	bool ok;

	th_frame_put(buf, &at, type, data, len);
	ok = th_send_all(p->fd, buf, at);
	free(buf);
	return ok;
}

static inline bool th_peer_exit(struct th_peer *p, uint32_t status)
{
	uint8_t v[4];

	th_put_le32(v, status);
	return th_peer_send(p, AVS_EXIT, v, 4);
}

#endif
