// SPDX-License-Identifier: MIT
/*
 * fuzz_session_frame.c: what a guest sends on a session stream, and the job
 * the host sends it (vmm/session.h), three layers on one input:
 *   - the pure checks avs_frame_check() (both directions), avs_payload_check()
 *     and avs_rx_seq_next() on every 8-byte window of the stream, compared
 *     with a model written here from guest-init/session_proto.h;
 *   - the real relay on a socketpair, with the stream as the guest's bytes
 *     (all sent, then the guest's side shut): its result, the bytes on
 *     stdout and stderr (memfds) and what it sent back (SPEC, the end of
 *     stdin, EXIT_ACK only after a good EXIT) must be what the model says;
 *   - the bytes as a job (NUL-separated tokens, the first byte of each its
 *     key a, e, c, u, t or r): avs_spec_build() and guest-init's own parser
 *     gi_spec_parse() on the same items laid out without checks must agree:
 *     what the host builds the guest takes, field by field, and what the
 *     host refuses (but for its size) the guest refuses too.
 * Input: byte 0 odd: the rest is the stream as it is; even: the rest is
 * records (selector, length, data) built into mostly valid frames, a bad one
 * only where a selector asks for it, so the relay gets past its first frame.
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "guest-init/session.h"
#include "vmm/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define F_STREAM_MAX 65536      /* fits the socket's buffer: the relay never waits for the test */
#define F_OUT_MAX (F_STREAM_MAX * 2)

static const uint8_t f_spec[] = "a:true";

struct model {
	int result;             /* 0, -EPIPE, -EPROTO */
	int status;
	uint8_t out[F_OUT_MAX], err[F_OUT_MAX];
	size_t out_len, err_len;
};

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* session_proto.h, independently of vmm/session.c: what the host must do with (s, n). */
static void model_run(const uint8_t *s, size_t n, struct model *m)
{
	bool out_eof = false, err_eof = false;
	size_t off = 0;

	m->out_len = m->err_len = 0;
	for (;;) {
		if (n - off < AVS_HDR_LEN) {
			m->result = -EPIPE;
			return;
		}
		uint32_t len = rd32(s + off);
		uint8_t type = s[off + 4];
		const uint8_t *pl = s + off + AVS_HDR_LEN;
		bool bad = s[off + 5] || s[off + 6] || s[off + 7];

		bad |= (type == AVS_STDOUT && (len > AVS_DATA_MAX || out_eof)) ||
		       (type == AVS_STDERR && (len > AVS_DATA_MAX || err_eof)) ||
		       (type == AVS_ERROR && len > AVS_ERROR_MAX) ||
		       (type == AVS_EXIT && len != 4) ||
		       (type != AVS_STDOUT && type != AVS_STDERR && type != AVS_ERROR &&
			type != AVS_EXIT);
		if (bad) {
			m->result = -EPROTO;
			return;
		}
		if (n - off - AVS_HDR_LEN < len) {
			m->result = -EPIPE;
			return;
		}
		off += AVS_HDR_LEN + len;
		if (type == AVS_STDOUT) {
			out_eof = !len;
			memcpy(m->out + m->out_len, pl, len);
			m->out_len += len;
		} else if (type == AVS_STDERR) {
			err_eof = !len;
			memcpy(m->err + m->err_len, pl, len);
			m->err_len += len;
		} else if (type == AVS_ERROR) {
			if (memchr(pl, 0, len)) {
				m->result = -EPROTO;
				return;
			}
			memcpy(m->err + m->err_len, "agentvmm: ", 10);
			m->err_len += 10;
			for (uint32_t i = 0; i < len; i++)
				m->err[m->err_len++] = pl[i] < 0x20 || pl[i] == 0x7f ? '?' : pl[i];
			m->err[m->err_len++] = '\n';
		} else {
			m->status = (int)rd32(pl);
			m->result = rd32(pl) > 255 || off != n ? -EPROTO : 0;
			return;
		}
	}
}

/* The pure checks on every window, against the model's rules for one header. */
static void check_headers(const uint8_t *s, size_t n)
{
	struct avs_rx_seq seq = { 0 };

	for (size_t off = 0; off + AVS_HDR_LEN <= n; off++) {
		struct avs_hdr h;
		uint32_t len = rd32(s + off);
		bool zero = !s[off + 5] && !s[off + 6] && !s[off + 7];
		bool g = (s[off + 4] == AVS_STDOUT || s[off + 4] == AVS_STDERR) ?
				 len <= AVS_DATA_MAX : s[off + 4] == AVS_ERROR ?
				 len <= AVS_ERROR_MAX : s[off + 4] == AVS_EXIT && len == 4;
		bool hst = s[off + 4] == AVS_SPEC ? len <= AVS_SPEC_MAX :
			   s[off + 4] == AVS_STDIN ? len <= AVS_DATA_MAX :
			   (s[off + 4] == AVS_WINSIZE || s[off + 4] == AVS_SIGNAL) ? len == 4 :
			   s[off + 4] == AVS_EXIT_ACK && len == 0;

		memcpy(&h, s + off, sizeof(h));
		if ((avs_frame_check(&h, true) == 0) != (zero && g) ||
		    (avs_frame_check(&h, false) == 0) != (zero && hst))
			abort();
		/* guest-init's check of what the host sends (len in host order) */
		struct avs_hdr gh = h;
		gh.len = le32toh(h.len);
		if ((gi_session_frame_check(&gh) == 0) != (avs_frame_check(&h, false) == 0))
			abort();
		if (zero && g) {
			struct avs_rx_seq before = seq;
			int r = avs_rx_seq_next(&seq, &h);

			if (before.exited && !r)
				abort();
			if (r && memcmp(&before, &seq, sizeof(seq)))
				abort(); /* a refused frame changes nothing */
		}
		if (n - off - AVS_HDR_LEN >= 4 &&
		    (s[off + 4] == AVS_EXIT || s[off + 4] == AVS_SIGNAL)) {
			uint32_t v = rd32(s + off + AVS_HDR_LEN);
			int r = avs_payload_check(s[off + 4], s + off + AVS_HDR_LEN, 4);

			if ((r == 0) != (s[off + 4] == AVS_EXIT ? v <= 255 : v >= 1 && v <= 64))
				abort();
		}
	}
}

/* Records (sel, len, data...) into frames; sel >= 0xf0 breaks one rule. */
static size_t build(const uint8_t *d, size_t n, uint8_t *s, size_t max)
{
	static const uint8_t types[] = { AVS_STDOUT, AVS_STDERR, AVS_STDOUT, AVS_ERROR,
					 AVS_STDOUT, AVS_EXIT };
	size_t at = 0, i = 0;

	while (i + 2 <= n && at + AVS_HDR_LEN + 256 <= max) {
		uint8_t sel = d[i], len = d[i + 1];
		uint8_t type = types[sel % sizeof(types)];
		uint32_t flen = type == AVS_EXIT ? 4 : len;
		struct avs_hdr h = { .len = htole32(flen), .type = type };

		i += 2;
		if (sel >= 0xf0) {
			switch (sel & 3) {
			case 0: h.flags = 1; break;
			case 1: h.type = (uint8_t)(len ^ 0x40); break;
			case 2: h.len = htole32(AVS_DATA_MAX + 1U + len); break;
			case 3: h.zero = htole16(1); break;
			}
		}
		memcpy(s + at, &h, sizeof(h));
		at += AVS_HDR_LEN;
		for (uint32_t k = 0; k < flen; k++)
			s[at++] = type == AVS_EXIT ? (k == 0 ? len : 0) :
				  i < n ? d[i++] : (uint8_t)('a' + k % 26);
	}
	return at;
}

static int f_out = -1, f_err = -1;

static void reset_file(int fd)
{
	if (ftruncate(fd, 0) || lseek(fd, 0, SEEK_SET))
		abort();
}

static void expect_file(int fd, const uint8_t *want, size_t len)
{
	static uint8_t got[F_OUT_MAX + 1];
	ssize_t n = pread(fd, got, sizeof(got), 0);

	if (n != (ssize_t)len || memcmp(got, want, len))
		abort();
}

/* What the relay sent: SPEC, the end of stdin, and EXIT_ACK when (acked). */
static void expect_host_frames(int fd, bool acked)
{
	uint8_t buf[256], want[64];
	struct avs_hdr h;
	size_t at = 0;
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	h = (struct avs_hdr){ .len = htole32(sizeof(f_spec)), .type = AVS_SPEC };
	memcpy(want, &h, 8);
	memcpy(want + 8, f_spec, sizeof(f_spec));
	at = 8 + sizeof(f_spec);
	h = (struct avs_hdr){ .type = AVS_STDIN };
	memcpy(want + at, &h, 8);
	at += 8;
	if (acked) {
		h = (struct avs_hdr){ .type = AVS_EXIT_ACK };
		memcpy(want + at, &h, 8);
		at += 8;
	}
	if (n != (ssize_t)at || memcmp(buf, want, at))
		abort();
}

static void through_relay(const uint8_t *s, size_t n)
{
	static struct model m;
	struct avs_relay r = { .in_fd = -1, .out_fd = f_out, .err_fd = f_err, .spec = f_spec,
			       .spec_len = sizeof(f_spec), .stop_fd = -1, .sig_fd = -1 };
	int sv[2], status = -1, ret;

	model_run(s, n, &m);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	if (n && send(sv[1], s, n, MSG_NOSIGNAL) != (ssize_t)n)
		abort();
	shutdown(sv[1], SHUT_WR);
	reset_file(f_out);
	reset_file(f_err);
	r.sock = sv[0];
	ret = avs_relay_run(&r, &status);
	if (ret != m.result || (!ret && status != m.status))
		abort();
	expect_file(f_out, m.out, m.out_len);
	expect_file(f_err, m.err, m.err_len);
	expect_host_frames(sv[1], ret == 0);
	close(sv[0]);
	close(sv[1]);
}

/* ---- the job: host builder against guest parser ---------------------------- */

#define F_ITEMS 64

/* (in)'s items in the SPEC layout, unchecked (rows, cols as they are). */
static size_t raw_spec(const struct avs_spec_in *in, char *out)
{
	size_t n = 0;

	for (int i = 0; i < in->argc; i++)
		n += (size_t)sprintf(out + n, "a:%s", in->argv[i]) + 1;
	for (int i = 0; i < in->envc; i++)
		n += (size_t)sprintf(out + n, "e:%s", in->env[i]) + 1;
	if (in->cwd)
		n += (size_t)sprintf(out + n, "c:%s", in->cwd) + 1;
	if (in->user)
		n += (size_t)sprintf(out + n, "u:%s", in->user) + 1;
	if (in->tty)
		n += (size_t)sprintf(out + n, "t:%u:%u", in->rows, in->cols) + 1;
	for (int i = 0; i < in->nr_rlimits; i++)
		n += (size_t)sprintf(out + n, "r:%s", in->rlimits[i]) + 1;
	return n;
}

/* What the guest parsed is what the host asked for. */
static void same_job(const struct avs_spec_in *in, const struct gi_spec *g)
{
	if (g->argc != (size_t)in->argc || g->envc != (size_t)in->envc ||
	    g->nr_rlimits != (size_t)in->nr_rlimits || g->tty != in->tty ||
	    (in->tty && (g->rows != in->rows || g->cols != in->cols)) ||
	    !g->cwd != !in->cwd || (in->cwd && strcmp(g->cwd, in->cwd)) ||
	    g->has_user != !!in->user)
		abort();
	for (int i = 0; i < in->argc; i++)
		if (strcmp(g->argv[i], in->argv[i]))
			abort();
	for (int i = 0; i < in->envc; i++)
		if (strcmp(g->env[i], in->env[i]))
			abort();
	if (in->user && strtoull(in->user, NULL, 10) != g->uid)
		abort();
}

static void check_spec(const uint8_t *d, size_t n)
{
	static char buf[F_STREAM_MAX + 1], raw[2 * F_STREAM_MAX + 1024];
	const char *argv[F_ITEMS], *env[F_ITEMS], *rl[F_ITEMS];
	struct avs_spec_in in = { .argv = argv, .env = env, .rlimits = rl };
	struct gi_spec g;
	char err[256], gerr[256];
	uint8_t *out;
	size_t len, rlen;
	int rh, rg;

	memcpy(buf, d, n);
	buf[n] = 0;
	for (char *t = buf; t < buf + n; t += strlen(t) + 1) {
		if (t[0] == 'a' && in.argc < F_ITEMS)
			argv[in.argc++] = t + 1;
		else if (t[0] == 'e' && in.envc < F_ITEMS)
			env[in.envc++] = t + 1;
		else if (t[0] == 'r' && in.nr_rlimits < F_ITEMS)
			rl[in.nr_rlimits++] = t + 1;
		else if (t[0] == 'c')
			in.cwd = t + 1;
		else if (t[0] == 'u')
			in.user = t + 1;
		else if (t[0] == 't') {
			in.tty = true;
			in.rows = (unsigned char)t[1];
			in.cols = t[1] ? (unsigned short)((unsigned char)t[2] * 257) : 80;
		}
	}
	rh = avs_spec_build(&in, &out, &len, err, sizeof(err));
	rlen = raw_spec(&in, raw);
	rg = gi_spec_parse((const uint8_t *)raw, rlen, &g, gerr, sizeof(gerr));
	if (rh == 0) {
		if (len != rlen || memcmp(out, raw, len) || rg != 0)
			abort();
		same_job(&in, &g);
		free(out);
	} else if ((rh != -E2BIG && rh != -EINVAL) || out || !err[0] ||
		   (rh == -EINVAL && rg != -EINVAL)) {
		abort();
	}
	gi_spec_fini(&g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t stream[F_STREAM_MAX];
	size_t n;

	if (f_out < 0) {
		f_out = memfd_create("fuzz-out", MFD_CLOEXEC);
		f_err = memfd_create("fuzz-err", MFD_CLOEXEC);
		if (f_out < 0 || f_err < 0)
			abort();
	}
	if (!size)
		return 0;
	if (data[0] & 1) {
		n = size - 1 < sizeof(stream) ? size - 1 : sizeof(stream);
		memcpy(stream, data + 1, n);
	} else {
		n = build(data + 1, size - 1, stream, sizeof(stream));
	}
	check_headers(stream, n);
	through_relay(stream, n);
	check_spec(data + 1, size - 1 < F_STREAM_MAX ? size - 1 : F_STREAM_MAX);
	return 0;
}
