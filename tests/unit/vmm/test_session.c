// SPDX-License-Identifier: MIT
/*
 * test_session.c: the relay of a session (vmm/session.c), on the test thread,
 * against a guest peer on a real socketpair (tests/helpers/th_session.h): stdin
 * in binary frames of at most 64 KiB and its end; stdout and stderr on their
 * own fds in order; EXIT_ACK only once the output is written; ERROR as one
 * line; a closed stdout (EPIPE, SIGPIPE) not ending the session; a blocking
 * pipe with a slow reader; a stdout pipe nobody reads (the relay holds one
 * frame, the guest is pushed back, stdin still flows); bad frames (-EPROTO);
 * a guest gone before EXIT (-EPIPE); stop_fd; signals through a real
 * signalfd, window sizes and raw mode on a pseudo-terminal; the escape.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>
#include <cmocka.h>

#include "vmm/session.h"
#include "tests/helpers/th_session.h"

static const uint8_t small_spec[] = "a:true";  /* with its NUL: one item */

/* A guest peer running (script) and a relay (r) on the other end with no fds: the sock. */
static int start(struct th_peer *p, struct avs_relay *r, th_peer_script_fn script, void *ctx)
{
	int sock = th_peer_start(p, script, ctx);

	*r = (struct avs_relay){ .sock = sock, .in_fd = -1, .out_fd = -1, .err_fd = -1,
				 .spec = small_spec, .spec_len = sizeof(small_spec),
				 .stop_fd = -1, .sig_fd = -1 };
	return sock;
}

/* The relay ends with a status; the peer has its EXIT_ACK. */
static void run_ok(struct avs_relay *r, struct th_peer *p, int *status)
{
	assert_int_equal(avs_relay_run(r, status), 0);
	th_wait_ack(p);
}

/* ---- outputs ------------------------------------------------------------- */

static void test_prepare_output_kinds(void **state)
{
	int p[2], sv[2], f = th_memfd(), fd;

	/* a pipe: a new open file, non-blocking; the shared one keeps its flags */
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fd = avs_prepare_output(p[1]);
	assert_true(fd >= 0 && fd != p[1]);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_false(fcntl(p[1], F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(fd, "z", 1), 1);
	char c;
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(c, 'z');
	close(fd);
	/* a regular file and a socket: a dup (same open file) */
	fd = avs_prepare_output(f);
	assert_true(fd >= 0 && fd != f);
	assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(write(fd, "ab", 2), 2);
	assert_int_equal(lseek(f, 0, SEEK_CUR), 2);
	close(fd);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fd = avs_prepare_output(sv[0]);
	assert_true(fd >= 0);
	assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
	/* a closed fd */
	assert_int_equal(avs_prepare_output(p[1] + 1000), -EBADF);
	close(sv[0]);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
	close(f);
}

/* ---- the relay: stdin ---------------------------------------------------- */

#define IN_BYTES (5 * AVS_DATA_MAX + 12345)

struct in_ctx {
	int w;                  /* the stdin pipe's write end, the script's */
	uint8_t *data;
};

static void script_stdin(struct th_peer *p)
{
	struct in_ctx *c = p->ctx;

	if (!th_write_all(c->w, c->data, IN_BYTES))
		return;
	close(c->w);
	c->w = -1;
	if (th_peer_wait(p, th_got_in_eof, 0, "stdin's end"))
		th_peer_exit(p, 0);
}

static void test_relay_stdin_binary_frames_then_eof(void **state)
{
	struct in_ctx c = { .data = malloc(IN_BYTES) };
	struct avs_relay r;
	struct th_peer p;
	int in[2], status = -1, sock;

	th_fill_binary(c.data, IN_BYTES, 3);
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	c.w = in[1];
	sock = start(&p, &r, script_stdin, &c);
	r.in_fd = in[0];
	run_ok(&r, &p, &status);
	assert_int_equal(status, 0);
	assert_true(fcntl(sock, F_GETFL) & O_NONBLOCK); /* the relay's own */
	assert_false(fcntl(in[0], F_GETFL) & O_NONBLOCK);
	/*
	 * SPEC first and as given, then the bytes in order, in frames of at most 64 KiB;
	 * without (escape), Ctrl-A (there are 0x01 bytes) is a byte like any other
	 */
	assert_int_equal(p.types[0], AVS_SPEC);
	assert_int_equal(p.spec_len, sizeof(small_spec));
	assert_memory_equal(p.spec, small_spec, sizeof(small_spec));
	assert_int_equal(p.in_len, IN_BYTES);
	assert_memory_equal(p.in, c.data, IN_BYTES);
	assert_true(p.nr_stdin >= 6);
	assert_true(p.max_stdin <= AVS_DATA_MAX);
	assert_true(p.in_eof);
	assert_true(p.acked);
	assert_int_equal(p.types[p.nr_frames - 1], AVS_EXIT_ACK);
	assert_int_equal(p.types[p.nr_frames - 2], AVS_STDIN); /* its end */
	th_peer_finish(&p, sock);
	close(in[0]);
	free(c.data);
}

static void script_exit_after_eof(struct th_peer *p)
{
	if (th_peer_wait(p, th_got_in_eof, 0, "stdin's end"))
		th_peer_exit(p, 9);
}

/* in_fd -1: the end of stdin right behind the SPEC; a large SPEC goes out whole. */
static void test_relay_no_stdin_sends_eof_at_once(void **state)
{
	size_t len = AVS_SPEC_MAX;
	uint8_t *spec = malloc(len);
	struct avs_relay r;
	struct th_peer p;
	int status = -1, sock;

	th_fill_binary(spec, len, 5);
	sock = start(&p, &r, script_exit_after_eof, NULL);
	r.spec = spec;
	r.spec_len = len;
	run_ok(&r, &p, &status);
	assert_int_equal(status, 9);
	assert_int_equal(p.nr_frames, 3);
	assert_int_equal(p.types[1], AVS_STDIN);
	assert_int_equal(p.spec_len, len);
	assert_memory_equal(p.spec, spec, len);
	assert_int_equal(p.in_len, 0);
	th_peer_finish(&p, sock);
	r.spec_len = AVS_SPEC_MAX + 1;
	assert_int_equal(avs_relay_run(&r, &status), -EINVAL);
	free(spec);
}

/* ---- the relay: output --------------------------------------------------- */

static void script_interleaved(struct th_peer *p)
{
	static uint8_t big[AVS_DATA_MAX];
	char s[32];

	memset(big, 'B', sizeof(big));
	th_peer_wait(p, th_got_spec, 0, "the SPEC");
	for (int i = 0; i < 3; i++) {
		snprintf(s, sizeof(s), "o%d ", i);
		th_peer_send(p, AVS_STDOUT, s, (uint32_t)strlen(s));
		snprintf(s, sizeof(s), "e%d ", i);
		th_peer_send(p, AVS_STDERR, s, (uint32_t)strlen(s));
	}
	th_peer_send(p, AVS_STDOUT, big, sizeof(big));
	th_peer_send(p, AVS_STDOUT, "", 0);
	th_peer_send(p, AVS_STDERR, "last", 4);
	th_peer_send(p, AVS_STDERR, "", 0);
	th_peer_exit(p, 3);
}

static void test_relay_stdout_stderr_own_fds_in_order(void **state)
{
	int out = th_memfd(), err = th_memfd(), both = th_memfd(), status = -1, sock;
	struct avs_relay r;
	struct th_peer p;
	size_t len;

	/* each to its own file */
	sock = start(&p, &r, script_interleaved, NULL);
	r.out_fd = out;
	r.err_fd = err;
	run_ok(&r, &p, &status);
	assert_int_equal(status, 3);
	th_peer_finish(&p, sock);
	char *o = th_file_text(out, &len);
	assert_int_equal(len, 9 + AVS_DATA_MAX);
	assert_memory_equal(o, "o0 o1 o2 B", 10);
	assert_int_equal(o[len - 1], 'B');
	free(o);
	th_expect_file(err, "e0 e1 e2 last");
	/* both to one file: the order of the frames */
	sock = start(&p, &r, script_interleaved, NULL);
	r.out_fd = both;
	r.err_fd = dup(both);
	run_ok(&r, &p, &status);
	th_peer_finish(&p, sock);
	o = th_file_text(both, &len);
	assert_memory_equal(o, "o0 e0 o1 e1 o2 e2 B", 19);
	assert_memory_equal(o + len - 5, "Blast", 5);
	free(o);
	close(r.err_fd);
	close(out);
	close(err);
	close(both);
}

#define ACK_OUT 30000

struct ack_ctx {
	int rd;                  /* the stdout pipe's read end */
	size_t read_so_far;      /* under the peer's lock */
	long at_ack;             /* output in or through the pipe when EXIT_ACK came */
	bool acked_early;
};

static void ack_seen(struct th_peer *p)
{
	struct ack_ctx *c = p->ctx;
	int q = 0;

	ioctl(c->rd, FIONREAD, &q);
	c->at_ack = (long)c->read_so_far + q;
}

static void script_slow_reader(struct th_peer *p)
{
	struct ack_ctx *c = p->ctx;
	static uint8_t chunk[ACK_OUT / 3];
	uint8_t buf[4096];

	memset(chunk, 'k', sizeof(chunk));
	th_peer_wait(p, th_got_spec, 0, "the SPEC");
	for (int i = 0; i < 3; i++)
		th_peer_send(p, AVS_STDOUT, chunk, sizeof(chunk));
	th_peer_exit(p, 0);
	usleep(200 * 1000);
	pthread_mutex_lock(&p->lock);
	c->acked_early = p->acked; /* the pipe holds 4 KiB of the 30000 bytes */
	pthread_mutex_unlock(&p->lock);
	while (c->read_so_far < ACK_OUT) {
		struct pollfd pf = { .fd = c->rd, .events = POLLIN };

		if (poll(&pf, 1, TH_WAIT_MS) != 1)
			break;
		pthread_mutex_lock(&p->lock);
		ssize_t n = read(c->rd, buf, sizeof(buf));
		if (n > 0)
			c->read_so_far += (size_t)n;
		pthread_mutex_unlock(&p->lock);
		if (n <= 0)
			break;
	}
}

static void test_relay_exit_ack_only_after_output_written(void **state)
{
	struct ack_ctx c = { .at_ack = -1 };
	struct avs_relay r;
	struct th_peer p;
	int pp[2], status = -1, sock;

	assert_int_equal(pipe2(pp, O_CLOEXEC), 0);
	assert_int_equal(fcntl(pp[1], F_SETPIPE_SZ, 4096), 4096);
	c.rd = pp[0];
	sock = start(&p, &r, script_slow_reader, &c);
	pthread_mutex_lock(&p.lock);
	p.on_ack = ack_seen;
	pthread_mutex_unlock(&p.lock);
	r.out_fd = avs_prepare_output(pp[1]);
	assert_true(r.out_fd >= 0);
	run_ok(&r, &p, &status);
	th_peer_finish(&p, sock);
	assert_false(c.acked_early);
	assert_int_equal(c.at_ack, ACK_OUT);
	assert_int_equal(c.read_so_far, ACK_OUT);
	close(r.out_fd);
	close(pp[0]);
	close(pp[1]);
}

static void script_error(struct th_peer *p)
{
	static const char text[] = "bad job: x\ny\x1b[31m";

	th_peer_wait(p, th_got_spec, 0, "the SPEC");
	th_peer_send(p, AVS_ERROR, text, sizeof(text) - 1);
	th_peer_exit(p, AVS_STATUS_BAD_JOB);
}

static void test_relay_error_is_one_line_on_stderr(void **state)
{
	int out = th_memfd(), err = th_memfd(), status = -1, sock;
	struct avs_relay r;
	struct th_peer p;

	sock = start(&p, &r, script_error, NULL);
	r.out_fd = out;
	r.err_fd = err;
	run_ok(&r, &p, &status);
	assert_int_equal(status, AVS_STATUS_BAD_JOB);
	th_peer_finish(&p, sock);
	th_expect_file(err, "agentvmm: bad job: x?y?[31m\n");
	th_expect_file(out, "");
	close(out);
	close(err);
}

/* stdout's reader is gone: its output is dropped, the session still ends with its status. */
static void script_out_then_err(struct th_peer *p)
{
	static uint8_t chunk[20000];

	memset(chunk, 'o', sizeof(chunk));
	th_peer_wait(p, th_got_spec, 0, "the SPEC");
	for (int i = 0; i < 5; i++)
		th_peer_send(p, AVS_STDOUT, chunk, sizeof(chunk));
	th_peer_send(p, AVS_STDERR, "still here", 10);
	th_peer_exit(p, 7);
}

/*
 * (nonblock) false: a blocking pipe, found dead by poll() before any write;
 * true: a non-blocking one, whose write() fails with EPIPE and raises SIGPIPE.
 */
static void run_closed_stdout(bool nonblock)
{
	int pp[2], err = th_memfd(), status = -1, sock;
	struct avs_relay r;
	struct th_peer p;
	sigset_t mask, pend;

	assert_int_equal(pipe2(pp, O_CLOEXEC | (nonblock ? O_NONBLOCK : 0)), 0);
	close(pp[0]); /* nobody will ever read: EPIPE, and SIGPIPE, which must not kill us */
	pthread_sigmask(SIG_SETMASK, NULL, &mask);
	assert_false(sigismember(&mask, SIGPIPE));
	sock = start(&p, &r, script_out_then_err, NULL);
	r.out_fd = pp[1];
	r.err_fd = err;
	run_ok(&r, &p, &status);
	assert_int_equal(status, 7);
	th_peer_finish(&p, sock);
	th_expect_file(err, "still here");
	/* SIGPIPE is unblocked again and none is left pending */
	pthread_sigmask(SIG_SETMASK, NULL, &mask);
	assert_false(sigismember(&mask, SIGPIPE));
	sigpending(&pend);
	assert_false(sigismember(&pend, SIGPIPE));
	close(pp[1]);
	close(err);
}

static void test_relay_closed_stdout_keeps_session(void **state)
{
	run_closed_stdout(false);
	run_closed_stdout(true);
}

/* A blocking pipe the relay could not reopen: written PIPE_BUF at a time, nothing lost. */
struct drain_ctx {
	int rd;
	size_t want, got;
	bool ok;
};

static uint8_t big_chunk[AVS_DATA_MAX];

static void script_big_out(struct th_peer *p)
{
	th_peer_wait(p, th_got_spec, 0, "the SPEC");
	for (int i = 0; i < 4; i++)
		th_peer_send(p, AVS_STDOUT, big_chunk, sizeof(big_chunk));
	th_peer_exit(p, 0);
}

/* A slow reader of the stdout pipe, on its own thread. */
static void *slow_reader_main(void *arg)
{
	struct drain_ctx *c = arg;
	uint8_t buf[8192];

	c->ok = true;
	while (c->got < c->want) {
		ssize_t n = read(c->rd, buf, sizeof(buf));

		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			c->ok &= buf[i] == big_chunk[(c->got + (size_t)i) % sizeof(big_chunk)];
		c->got += (size_t)n;
		usleep(500);
	}
	return NULL;
}

static void test_relay_blocking_pipe_slow_reader_loses_nothing(void **state)
{
	struct drain_ctx c = { .want = 4 * AVS_DATA_MAX };
	struct avs_relay r;
	struct th_peer p;
	pthread_t th;
	int pp[2], status = -1, sock;

	th_fill_binary(big_chunk, sizeof(big_chunk), 1);
	assert_int_equal(pipe2(pp, O_CLOEXEC), 0);
	c.rd = pp[0];
	assert_int_equal(pthread_create(&th, NULL, slow_reader_main, &c), 0);
	sock = start(&p, &r, script_big_out, &c);
	r.out_fd = pp[1]; /* blocking: written PIPE_BUF bytes after each POLLOUT */
	run_ok(&r, &p, &status);
	th_peer_finish(&p, sock);
	pthread_join(th, NULL);
	assert_int_equal(c.got, c.want);
	assert_true(c.ok);
	close(pp[0]);
	close(pp[1]);
}

/* ---- the relay: back-pressure -------------------------------------------- */

#define BP_FRAME 16384
#define BP_FRAMES 64        /* 1 MiB: far more than the pipe and the socket hold */
#define BP_IN (3 * AVS_DATA_MAX)

struct bp_ctx {
	int sock;               /* the relay's end, for SIOCINQ */
	int out_rd, in_wr;
	uint8_t *in_data;
	size_t sent;            /* stream bytes the guest got into the socket */
	long holding;           /* bytes the relay read but did not write out, while stuck */
	long waiting;           /* bytes in the socket the relay did not read, while stuck */
	size_t out_got;
	bool out_ok;
};

/* Send (n) bytes of the guest stream at (buf + c->sent) without blocking for more than (ms). */
static void bp_send(struct th_peer *p, const uint8_t *buf, size_t n, int ms)
{
	struct bp_ctx *c = p->ctx;

	while (c->sent < n) {
		ssize_t w = send(p->fd, buf + c->sent, n - c->sent, MSG_DONTWAIT | MSG_NOSIGNAL);
		struct pollfd pf = { .fd = p->fd, .events = POLLOUT };

		if (w > 0) {
			c->sent += (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN)
			return;
		if (poll(&pf, 1, ms) != 1)
			return; /* stuck */
	}
}

/* Read stdout until (want) bytes came, or none came for (ms). */
static void bp_read_out(struct bp_ctx *c, size_t want, int ms)
{
	uint8_t buf[16384];

	while (c->out_got < want) {
		struct pollfd pf = { .fd = c->out_rd, .events = POLLIN };
		ssize_t n;

		if (poll(&pf, 1, ms) != 1)
			return;
		n = read(c->out_rd, buf, sizeof(buf));
		if (n <= 0)
			return;
		for (ssize_t i = 0; i < n; i++)
			c->out_ok &= buf[i] == (uint8_t)((c->out_got + (size_t)i) / BP_FRAME);
		c->out_got += (size_t)n;
	}
}

static void script_backpressure(struct th_peer *p)
{
	struct bp_ctx *c = p->ctx;
	size_t n = 0, total = BP_FRAMES * (AVS_HDR_LEN + BP_FRAME);
	uint8_t *stream = malloc(total);
	int inq = 0, inpipe = 0;

	for (int i = 0; i < BP_FRAMES; i++) {
		uint8_t chunk[BP_FRAME];

		memset(chunk, i, sizeof(chunk));
		th_frame_put(stream, &n, AVS_STDOUT, chunk, BP_FRAME);
	}
	th_peer_wait(p, th_got_spec, 0, "the SPEC");
	bp_send(p, stream, total, 300); /* until the socket stays full for 300 ms */
	/* stdin still flows while stdout is stuck */
	if (th_write_all(c->in_wr, c->in_data, BP_IN)) {
		close(c->in_wr);
		c->in_wr = -1;
	}
	th_peer_wait(p, th_got_in_eof, 0, "stdin's end");
	/* what the relay holds: read from the socket, not in the pipe */
	ioctl(c->sock, SIOCINQ, &inq);
	ioctl(c->out_rd, FIONREAD, &inpipe);
	c->waiting = inq;
	c->holding = (long)c->sent - inq - inpipe;
	/* now read stdout, and send the rest */
	c->out_ok = true;
	while (c->sent < total) {
		bp_send(p, stream, total, 0);
		bp_read_out(c, MIN(c->out_got + 4096, (size_t)BP_FRAMES * BP_FRAME), 100);
	}
	bp_read_out(c, (size_t)BP_FRAMES * BP_FRAME, TH_WAIT_MS);
	th_peer_exit(p, 0);
	free(stream);
}

static void test_relay_unread_stdout_bounded_stdin_flows(void **state)
{
	struct bp_ctx c = { .in_data = malloc(BP_IN) };
	struct avs_relay r;
	struct th_peer p;
	int out[2], in[2], status = -1;

	th_fill_binary(c.in_data, BP_IN, 9);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	c.out_rd = out[0];
	c.in_wr = in[1];
	c.sock = start(&p, &r, script_backpressure, &c);
	r.in_fd = in[0];
	r.out_fd = avs_prepare_output(out[1]);
	run_ok(&r, &p, &status);
	th_peer_finish(&p, c.sock);
	/* while stuck: at most one frame (header and payload) plus written frames' headers */
	print_message("stuck: relay holds %ld bytes, %ld wait in the socket\n", c.holding,
		      c.waiting);
	assert_true(c.holding >= 0);
	assert_true(c.holding <= BP_FRAME + AVS_HDR_LEN * (1 + 65536 / BP_FRAME + 1));
	assert_true(c.waiting > 0); /* the guest was pushed back */
	assert_true(c.sent == BP_FRAMES * (AVS_HDR_LEN + BP_FRAME));
	assert_int_equal(c.out_got, BP_FRAMES * BP_FRAME);
	assert_true(c.out_ok);
	free(c.in_data);
	close(r.out_fd);
	close(out[0]);
	close(out[1]);
	close(in[0]);
}

/* ---- the relay: errors --------------------------------------------------- */

struct raw_ctx {
	uint8_t bytes[256];
	size_t len;
	bool close_after; /* close the guest's end right after the bytes */
};

static void script_raw(struct th_peer *p)
{
	struct raw_ctx *c = p->ctx;

	th_peer_wait(p, th_got_spec, 0, "the SPEC");
	th_send_all(p->fd, c->bytes, c->len);
	if (c->close_after)
		shutdown(p->fd, SHUT_WR);
	th_peer_wait(p, th_got_rx_eof, 0, "the host's close");
}

static int run_raw(struct raw_ctx *c, int out_fd, bool *acked)
{
	struct avs_relay r;
	struct th_peer p;
	int status = -1, sock, ret;

	sock = start(&p, &r, script_raw, c);
	r.out_fd = out_fd;
	ret = avs_relay_run(&r, &status);
	pthread_mutex_lock(&p.lock);
	*acked = p.acked;
	pthread_mutex_unlock(&p.lock);
	th_peer_finish(&p, sock);
	return ret;
}

static void raw_frame(struct raw_ctx *c, uint8_t type, const void *data, uint32_t len)
{
	th_frame_put(c->bytes, &c->len, type, data, len);
}

/* A header (type, len) with (flags, zero), and (extra) bytes of its payload. */
static void raw_hdr(struct raw_ctx *c, uint8_t type, uint32_t len, uint8_t flags, uint16_t zero,
		    size_t extra)
{
	struct avs_hdr h = th_hdr(type, len);

	h.flags = flags;
	h.zero = zero;
	memcpy(c->bytes + c->len, &h, sizeof(h));
	memset(c->bytes + c->len + sizeof(h), '.', extra);
	c->len += sizeof(h) + extra;
}

static void test_relay_bad_frames_are_eproto(void **state)
{
	uint8_t st[4], big[4];
	bool acked;
	int out = th_memfd();

	th_put_le32(st, 0);
	th_put_le32(big, 256);
	for (int i = 0; i < 12; i++) {
		struct raw_ctx c = { 0 };

		raw_frame(&c, AVS_STDOUT, "ok", 2);
		switch (i) {
		case 0: raw_frame(&c, 99, "", 0); break;                 /* unknown type */
		case 1: raw_frame(&c, AVS_STDIN, "x", 1); break;         /* the host's type */
		case 2: raw_frame(&c, AVS_EXIT_ACK, "", 0); break;
		case 3: raw_hdr(&c, AVS_STDOUT, 1, 0x80, 0, 1); break;  /* flags */
		case 4: raw_hdr(&c, AVS_STDOUT, 1, 0, 1, 1); break;     /* zero */
		case 5: raw_hdr(&c, AVS_STDOUT, AVS_DATA_MAX + 1, 0, 0, 0); break; /* header */
		case 6: raw_frame(&c, AVS_EXIT, st, 3); break;           /* wrong size */
		case 7: raw_frame(&c, AVS_EXIT, big, 4); break;          /* status 256 */
		case 8: raw_frame(&c, AVS_ERROR, "a\0b", 3); break;      /* NUL in ERROR */
		case 9: /* STDOUT after its end */
			raw_frame(&c, AVS_STDOUT, "", 0);
			raw_frame(&c, AVS_STDOUT, "x", 1);
			break;
		case 10: /* data after EXIT, in the same write */
			raw_frame(&c, AVS_EXIT, st, 4);
			raw_frame(&c, AVS_STDOUT, "x", 1);
			break;
		case 11: raw_hdr(&c, AVS_ERROR, AVS_ERROR_MAX + 1, 0, 0, 0); break;
		}
		assert_int_equal(ftruncate(out, 0), 0);
		assert_int_equal(lseek(out, 0, SEEK_SET), 0);
		int r = run_raw(&c, out, &acked);
		if (r != -EPROTO)
			fail_msg("case %d: %d, want -EPROTO", i, r);
		assert_false(acked);
		th_expect_file(out, "ok"); /* what came before the bad frame was written */
	}
	close(out);
}

static void test_relay_guest_gone_before_exit_is_epipe(void **state)
{
	int out = th_memfd();
	bool acked;

	for (int i = 0; i < 4; i++) {
		struct raw_ctx c = { .close_after = true };

		raw_frame(&c, AVS_STDOUT, "part", 4);
		if (i == 1) { /* half a header */
			raw_hdr(&c, AVS_STDOUT, 10, 0, 0, 0);
			c.len -= 5;
		} else if (i == 2) { /* a header and half its payload */
			raw_hdr(&c, AVS_STDOUT, 10, 0, 0, 5);
		} else if (i == 3) { /* everything but EXIT */
			raw_frame(&c, AVS_STDOUT, "", 0);
			raw_frame(&c, AVS_ERROR, "gone", 4);
		}
		assert_int_equal(ftruncate(out, 0), 0);
		assert_int_equal(lseek(out, 0, SEEK_SET), 0);
		assert_int_equal(run_raw(&c, out, &acked), -EPIPE);
		assert_false(acked);
		th_expect_file(out, "part");
	}
	/* refused at once: closed right after the SPEC */
	struct raw_ctx c = { .close_after = true };
	assert_int_equal(run_raw(&c, -1, &acked), -EPIPE);
	close(out);
}

/* The guest closes its whole end after EXIT without waiting: status, no ack needed. */
static void script_exit_and_close(struct th_peer *p)
{
	th_peer_wait(p, th_got_spec, 0, "the SPEC");
	th_peer_send(p, AVS_STDOUT, "bye", 3);
	th_peer_exit(p, 4);
	shutdown(p->fd, SHUT_RDWR);
}

static void test_relay_exit_then_close_still_returns_status(void **state)
{
	int out = th_memfd(), status = -1, sock;
	struct avs_relay r;
	struct th_peer p;

	sock = start(&p, &r, script_exit_and_close, NULL);
	r.out_fd = out;
	assert_int_equal(avs_relay_run(&r, &status), 0);
	assert_int_equal(status, 4);
	th_peer_finish(&p, sock);
	th_expect_file(out, "bye");
	close(out);
}

/* ---- the relay: stop_fd -------------------------------------------------- */

static void test_relay_stop_fd_drains_without_blocking(void **state)
{
	int out = th_memfd(), pp[2], status = -1, sock, efd = eventfd(1, EFD_CLOEXEC);
	uint8_t buf[3 * AVS_DATA_MAX];
	size_t n = 0;
	struct avs_relay r;
	struct th_peer p;
	double t0;
	int q = 0;

	/* the guest's output is in the socket before the relay starts; stop is set already */
	sock = start(&p, &r, NULL, NULL);
	th_frame_put(buf, &n, AVS_STDOUT, "held ", 5);
	th_frame_put(buf, &n, AVS_STDERR, "e", 1);
	th_frame_put(buf, &n, AVS_STDOUT, "bytes", 5);
	assert_true(th_send_all(p.fd, buf, n));
	r.out_fd = out;
	r.stop_fd = efd;
	assert_int_equal(avs_relay_run(&r, &status), -ECANCELED);
	assert_int_equal(status, -1);
	th_expect_file(out, "held bytes");
	th_peer_finish(&p, sock);

	/* a stdout pipe that is full: the stop does not wait for it */
	assert_int_equal(pipe2(pp, O_CLOEXEC), 0);
	sock = start(&p, &r, NULL, NULL);
	n = 0;
	uint8_t *chunk = malloc(AVS_DATA_MAX);
	memset(chunk, 's', AVS_DATA_MAX);
	for (int i = 0; i < 2; i++)
		th_frame_put(buf, &n, AVS_STDOUT, chunk, AVS_DATA_MAX);
	free(chunk);
	assert_true(th_send_all(p.fd, buf, n));
	r.out_fd = avs_prepare_output(pp[1]);
	r.stop_fd = efd;
	t0 = th_now_s();
	assert_int_equal(avs_relay_run(&r, &status), -ECANCELED);
	assert_true(th_now_s() - t0 < 1.0);
	ioctl(pp[0], FIONREAD, &q);
	assert_int_equal(q, fcntl(pp[0], F_GETPIPE_SZ)); /* as much as it takes */
	th_peer_finish(&p, sock);
	close(r.out_fd);
	close(pp[0]);
	close(pp[1]);
	close(efd);
	close(out);
}

/* stop_fd becoming readable while the relay waits. */
static void script_stop_later(struct th_peer *p)
{
	uint64_t one = 1;

	th_peer_wait(p, th_got_spec, 0, "the SPEC");
	th_peer_send(p, AVS_STDOUT, "x", 1);
	usleep(50 * 1000);
	if (write(*(int *)p->ctx, &one, sizeof(one)) != sizeof(one))
		return;
}

static void test_relay_stop_fd_while_waiting(void **state)
{
	int efd = eventfd(0, EFD_CLOEXEC), out = th_memfd(), status = -1, sock;
	struct avs_relay r;
	struct th_peer p;

	sock = start(&p, &r, script_stop_later, &efd);
	r.out_fd = out;
	r.stop_fd = efd;
	assert_int_equal(avs_relay_run(&r, &status), -ECANCELED);
	th_peer_finish(&p, sock);
	th_expect_file(out, "x");
	close(efd);
	close(out);
}

/* ---- the relay: signals, window size, raw mode --------------------------- */

/* SIGUSR2, SIGWINCH, SIGTERM: blocked in every thread, read through a signalfd. */
static sigset_t *test_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGUSR2);
	sigaddset(set, SIGWINCH);
	sigaddset(set, SIGTERM);
	return set;
}

struct sig_ctx {
	int pty_m, pty_s;
	bool raw_seen, tty;
};

static void script_signals(struct th_peer *p)
{
	struct sig_ctx *c = p->ctx;
	struct winsize ws = { .ws_row = 50, .ws_col = 132 };
	struct termios t;

	th_peer_wait(p, th_got_spec, 0, "the SPEC");
	if (c->tty && tcgetattr(c->pty_s, &t) == 0)
		c->raw_seen = !(t.c_lflag & (ICANON | ECHO | ISIG)) && !(t.c_oflag & OPOST);
	kill(getpid(), SIGUSR2);
	th_peer_wait(p, th_got_sigs, 1, "SIGUSR2");
	ioctl(c->pty_m, TIOCSWINSZ, &ws);
	kill(getpid(), SIGWINCH);
	if (c->tty)
		th_peer_wait(p, th_got_ws, 1, "a WINSIZE");
	kill(getpid(), SIGTERM);
	th_peer_wait(p, th_got_sigs, 2, "SIGTERM");
	th_peer_exit(p, 128 + SIGTERM);
}

static void run_signals(bool tty)
{
	struct sig_ctx c = { .tty = tty };
	struct termios before = { 0 }, after = { 0 }; /* padding compared too */
	struct avs_relay r;
	struct th_peer p;
	sigset_t set;
	int status = -1, sock, sfd;

	sfd = signalfd(-1, test_signals(&set), SFD_CLOEXEC | SFD_NONBLOCK);
	assert_true(sfd >= 0);
	th_open_pty(&c.pty_m, &c.pty_s, 24, 80);
	assert_int_equal(tcgetattr(c.pty_s, &before), 0);
	sock = start(&p, &r, script_signals, &c);
	r.in_fd = c.pty_s;
	r.sig_fd = sfd;
	r.tty = tty;
	run_ok(&r, &p, &status);
	assert_int_equal(status, 128 + SIGTERM);
	assert_int_equal(p.nr_sigs, 2);
	assert_int_equal(p.sigs[0], SIGUSR2);
	assert_int_equal(p.sigs[1], SIGTERM);
	if (tty) {
		/* the size of in_fd's terminal after SIGWINCH; raw while it ran, restored after */
		assert_int_equal(p.nr_ws, 1);
		assert_int_equal(p.ws[0][0], 50);
		assert_int_equal(p.ws[0][1], 132);
		assert_true(c.raw_seen);
	} else {
		assert_int_equal(p.nr_ws, 0); /* SIGWINCH means nothing without a tty */
	}
	assert_int_equal(tcgetattr(c.pty_s, &after), 0);
	assert_memory_equal(&before, &after, sizeof(before));
	th_peer_finish(&p, sock);
	close(sfd);
	close(c.pty_s);
	close(c.pty_m);
}

static void test_relay_signals_forwarded_pipe_session(void **state)
{
	run_signals(false);
}

static void test_relay_signals_and_winsize_tty_session(void **state)
{
	run_signals(true);
}

/* Raw mode is restored when the session fails too. */
static void test_relay_tty_restored_on_failure(void **state)
{
	struct raw_ctx c = { .close_after = true };
	struct termios before = { 0 }, after = { 0 }; /* padding compared too */
	struct avs_relay r;
	struct th_peer p;
	int m, s, status, sock;

	th_open_pty(&m, &s, 24, 80);
	assert_int_equal(tcgetattr(s, &before), 0);
	sock = start(&p, &r, script_raw, &c);
	r.in_fd = s;
	r.tty = true;
	assert_int_equal(avs_relay_run(&r, &status), -EPIPE);
	assert_int_equal(tcgetattr(s, &after), 0);
	assert_memory_equal(&before, &after, sizeof(before));
	th_peer_finish(&p, sock);
	close(s);
	close(m);
}

/* ---- the relay: the escape ----------------------------------------------- */

struct esc_ctx {
	int w, quits;
};

static void on_quit(void *opaque)
{
	((struct esc_ctx *)opaque)->quits++;
}

static void script_escape(struct th_peer *p)
{
	struct esc_ctx *c = p->ctx;

	th_peer_wait(p, th_got_spec, 0, "the SPEC");
	th_write_all(c->w, "ab\x01\x01" "c\x01zd", 8);
	th_peer_wait(p, th_got_in, 5, "5 bytes");
	th_write_all(c->w, "q\x01", 2); /* a Ctrl-A at the end of a read */
	th_peer_wait(p, th_got_in, 6, "6 bytes");
	usleep(50 * 1000);
	th_write_all(c->w, "x", 1);
	th_peer_wait(p, th_got_rx_eof, 0, "the host's close");
}

static void test_relay_escape_quits(void **state)
{
	struct esc_ctx c = { 0 };
	struct avs_relay r;
	struct th_peer p;
	int in[2], status = -1, sock;

	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	c.w = in[1];
	sock = start(&p, &r, script_escape, &c);
	r.in_fd = in[0];
	r.escape = true;
	r.on_quit = on_quit;
	r.opaque = &c;
	assert_int_equal(avs_relay_run(&r, &status), -EINTR);
	assert_int_equal(c.quits, 1);
	assert_int_equal(status, -1);
	pthread_mutex_lock(&p.lock);
	assert_int_equal(p.in_len, 6);
	assert_memory_equal(p.in, "ab\x01" "cdq", 6);
	assert_false(p.acked);
	pthread_mutex_unlock(&p.lock);
	th_peer_finish(&p, sock);
	close(in[0]);
	close(in[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prepare_output_kinds),
		cmocka_unit_test(test_relay_stdin_binary_frames_then_eof),
		cmocka_unit_test(test_relay_no_stdin_sends_eof_at_once),
		cmocka_unit_test(test_relay_stdout_stderr_own_fds_in_order),
		cmocka_unit_test(test_relay_exit_ack_only_after_output_written),
		cmocka_unit_test(test_relay_error_is_one_line_on_stderr),
		cmocka_unit_test(test_relay_closed_stdout_keeps_session),
		cmocka_unit_test(test_relay_blocking_pipe_slow_reader_loses_nothing),
		cmocka_unit_test(test_relay_unread_stdout_bounded_stdin_flows),
		cmocka_unit_test(test_relay_bad_frames_are_eproto),
		cmocka_unit_test(test_relay_guest_gone_before_exit_is_epipe),
		cmocka_unit_test(test_relay_exit_then_close_still_returns_status),
		cmocka_unit_test(test_relay_stop_fd_drains_without_blocking),
		cmocka_unit_test(test_relay_stop_fd_while_waiting),
		cmocka_unit_test(test_relay_signals_forwarded_pipe_session),
		cmocka_unit_test(test_relay_signals_and_winsize_tty_session),
		cmocka_unit_test(test_relay_tty_restored_on_failure),
		cmocka_unit_test(test_relay_escape_quits),
	};
	sigset_t set;

	/* the signals the tests send to themselves go to signalfds only (every thread inherits) */
	pthread_sigmask(SIG_BLOCK, test_signals(&set), NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
