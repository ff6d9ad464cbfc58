// SPDX-License-Identifier: MIT
/*
 * test_console.c: the guest console's host side (issue 14). The escape
 * filter, fed whole and one byte at a time, for every kind of sequence it
 * passes or drops; the sink on a real pipe nobody reads (back-pressure that
 * ends when asked to), a pipe whose reader is gone, a file with a size limit,
 * a shared fd left blocking, and a pseudo-terminal (filtered end to end).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/console.h"

/* Filter (in) whole, then byte by byte; both must give (want). */
static void expect_filtered(bool utf8, const char *in, size_t in_len, const char *want)
{
	uint8_t out[8192];
	char got[8192];
	size_t n = 0, m = 0;
	struct con_filter f;

	assert_true(in_len + CON_FILTER_SLACK <= sizeof(out));
	con_filter_init(&f, utf8);
	n = con_filter_feed(&f, (const uint8_t *)in, in_len, out);
	memcpy(got, out, n);
	got[n] = 0;
	if (n != strlen(want) || memcmp(got, want, n))
		fail_msg("whole: '%s' gave '%s' (%zu bytes), want '%s'", in, got, n, want);
	con_filter_init(&f, utf8);
	for (size_t i = 0; i < in_len; i++)
		m += con_filter_feed(&f, (const uint8_t *)in + i, 1, (uint8_t *)got + m);
	got[m] = 0;
	if (m != strlen(want) || memcmp(got, want, m))
		fail_msg("bytewise: '%s' gave '%s', want '%s'", in, got, want);
}

#define PASS(utf8, s) expect_filtered(utf8, s, sizeof(s) - 1, s)
#define EXPECT(utf8, s, w) expect_filtered(utf8, s, sizeof(s) - 1, w)

static void test_con_filter_text_and_c0(void **state)
{
	PASS(true, "hello, world\r\n\tx\b\a\v\f");
	/* NUL, ENQ (answerback), SO, SI, XON, XOFF */
	EXPECT(true, "a\0b\x05" "c\x0e" "d\x0f" "e\x11\x13" "f", "abcdef");
	PASS(true, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 nb\xc2\xa0sp"); /* é € 😀 NBSP */
	PASS(false, "latin-1 \xe9\xa0\xff");
	PASS(true, "del\x7f");
}

static void test_con_filter_display_sequences_pass(void **state)
{
	PASS(true, "\x1b[1;31mred\x1b[0m \x1b[38;5;208m\x1b[48:2::1:2:3m");
	PASS(true, "\x1b[H\x1b[10;20H\x1b[2J\x1b[3J\x1b[K\x1b[5A\x1b[B\x1b[12C\x1b[D\x1b[7G");
	PASS(true, "\x1b[2@\x1b[3P\x1b[L\x1b[M\x1b[S\x1b[T\x1b[4X\x1b[2;20r\x1b[s\x1b[u");
	PASS(true, "\x1b[?25l\x1b[?25h\x1b[?1049h\x1b[?1049l\x1b[?1;7;12h\x1b[4h\x1b[4l");
	PASS(true, "\x1b[2 q\x1b" "7\x1b" "8\x1b" "D\x1b" "E\x1b" "M\x1b=\x1b>\x1b(0\x1b(B\x1b)0");
	/* a C0 control inside a CSI acts at once, as on a VT500 */
	EXPECT(true, "\x1b[3\r1m", "\r\x1b[31m");
}

static void test_con_filter_strings_dropped(void **state)
{
	/* OSC: title, clipboard, palette query, hyperlink; BEL or ST (ESC \) ends them */
	EXPECT(true, "a\x1b]0;owned\x07" "b", "ab");
	EXPECT(true, "a\x1b]52;c;cm0gLXJmIH4=\x1b\\b", "ab");
	EXPECT(true, "a\x1b]4;1;?\x07\x1b]11;?\x1b\\b", "ab");
	EXPECT(true, "\x1b]8;;http://evil/\x1b\\link\x1b]8;;\x1b\\", "link");
	/* DCS (DECRQSS, XTGETTCAP), SOS, PM, APC */
	EXPECT(true, "a\x1bP$qm\x1b\\b\x1bP+q544e\x1b\\c", "abc");
	EXPECT(true, "a\x1bXsos\x1b\\b\x1b^pm\x1b\\c\x1b_apc\x1b\\d", "abcd");
	/* ESC inside a string that is not ST: the string ends, a new sequence starts */
	EXPECT(true, "a\x1b]0;t\x1b[31mb", "a\x1b[31mb");
	/* CAN and SUB cancel */
	EXPECT(true, "a\x1b]0;t\x18" "b\x1b[31\x1am", "abm");
}

static void test_con_filter_queries_and_modes_dropped(void **state)
{
	EXPECT(true, "a\x1b[6n\x1b[5n\x1b[?6n" "b", "ab");          /* DSR */
	EXPECT(true, "a\x1b[c\x1b[0c\x1b[>c\x1b[=c" "b", "ab");      /* DA */
	EXPECT(true, "a\x1bZ" "b", "ab");                          /* DECID */
	/* DECRQM, DECREQTPARM, XTWINOPS report and resize */
	EXPECT(true, "a\x1b[?2004$p\x1b[x\x1b[21t\x1b[8;1;1t" "b", "ab");
	/* XTVERSION, XTSMGRAPHICS, XTMODKEYS */
	EXPECT(true, "a\x1b[>0q\x1b[?1;1;0S\x1b[>4;2m" "b", "ab");
	/* mouse, focus, bracketed paste, a list with one of them, LNM */
	EXPECT(true, "a\x1b[?1000h\x1b[?1004h\x1b[?2004h\x1b[?25;1000h\x1b[20h" "b", "ab");
	/* RIS, DECSTR, media copy, REP */
	EXPECT(true, "a\x1b" "c\x1b[!p\x1b[5i\x1b[65535b" "b", "ab");
	/* S8C1T, S7C1T, DECALN, charset switch */
	EXPECT(true, "a\x1b G\x1b F\x1b#8\x1b%@" "b", "ab");
	/* too long to hold: dropped whole */
	char in[200] = "a\x1b[";
	for (int i = 0; i < 150; i++)
		strcat(in, "1");
	strcat(in, "mb");
	expect_filtered(true, in, strlen(in), "ab");
}

static void test_con_filter_c1_controls(void **state)
{
	/* 8-bit locale: raw C1 bytes are controls; an allowed CSI goes out in 7-bit form */
	EXPECT(false, "a\x9b" "31mb", "a\x1b[31mb");
	EXPECT(false, "a\x9b" "6nb\x9d" "0;t\x07" "c\x90q\x9c" "d\x85" "e", "abcde");
	/* UTF-8: U+009B, U+009D... (C2 9B, C2 9D) are controls for xterm */
	EXPECT(true, "a\xc2\x9b" "31mb", "a\x1b[31mb");
	EXPECT(true, "a\xc2\x9b" "6nb\xc2\x9d" "0;t\xc2\x9c" "c\xc2\x9f" "apc\x07" "d", "abcd");
	/* raw 0x80-0x9f outside a UTF-8 character: invalid, dropped */
	EXPECT(true, "a\x9b" "6n", "a6n");
	EXPECT(true, "\xe2\x80\x93", "\xe2\x80\x93"); /* – : continuation bytes 0x80 0x93 */
}

static void test_con_filter_unterminated_string_ends(void **state)
{
	size_t len = 2 + CON_STR_MAX + 1 + 5;
	char *in = malloc(len);
	uint8_t *out = malloc(len + CON_FILTER_SLACK);
	struct con_filter f;

	memcpy(in, "\x1b]", 2);
	memset(in + 2, 'x', CON_STR_MAX);
	memcpy(in + 2 + CON_STR_MAX, "yhello", 6);
	con_filter_init(&f, true);
	size_t n = con_filter_feed(&f, (uint8_t *)in, len, out);
	/* the string's introducer never went out: what follows is plain text */
	assert_int_equal(n, 6);
	assert_memory_equal(out, "yhello", 6);
	free(in);
	free(out);
}

/* ---- the sink ------------------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct stopper {
	double at;       /* give up from this time on */
	unsigned asked;
};

static bool give_up_at(void *opaque)
{
	struct stopper *s = opaque;

	s->asked++;
	return now_s() >= s->at;
}

/* A pipe nobody reads: the writer waits, and stops waiting when told to. */
static void test_con_out_unread_pipe_waits_until_give_up(void **state)
{
	static uint8_t buf[256 * 1024];
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	int cap = fcntl(p[0], F_GETPIPE_SZ);
	struct con_out *c = con_out_create(p[1], true, "pipe", 0);
	assert_non_null(c);
	assert_false(con_out_is_tty(c));
	memset(buf, 'x', sizeof(buf));
	struct stopper s = { .at = now_s() + 0.3 };
	double t0 = now_s();
	con_out_write(c, buf, sizeof(buf), give_up_at, &s);
	double secs = now_s() - t0;
	/* waited for the reader about 0.3 s, asking at every slice, then gave up */
	assert_true(secs >= 0.29 && secs < 0.3 + 2.0 * CON_POLL_MS / 1000.0 + 0.2);
	assert_true(s.asked >= 2);
	/* the pipe took what fitted (less when writes shared its pages), CON_BUF is held */
	uint64_t w = con_out_written(c);
	assert_true(w > (uint64_t)cap - CON_BUF && w <= (uint64_t)cap);
	assert_int_equal(con_out_dropped(c), sizeof(buf) - w - CON_BUF);
	/* later bytes do not wait at all once give_up says so */
	t0 = now_s();
	con_out_write(c, buf, 1000, give_up_at, &s);
	assert_true(now_s() - t0 < 0.05);
	/* the drain gets one try, then drops what is held */
	con_out_drain(c, 0);
	assert_int_equal(con_out_dropped(c), sizeof(buf) + 1000 - w);
	con_out_destroy(c);
	close(p[0]);
}

/* A slow reader gets everything: back-pressure, no loss. */
static void *slow_reader(void *arg)
{
	int fd = *(int *)arg;
	char b[4096];
	size_t total = 0;
	ssize_t n;

	usleep(200000);
	while ((n = read(fd, b, sizeof(b))) > 0)
		total += (size_t)n;
	return (void *)total;
}

static void test_con_out_slow_reader_loses_nothing(void **state)
{
	static uint8_t buf[512 * 1024];
	struct stopper never = { .at = 1e18 };
	pthread_t th;
	void *total;
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(pthread_create(&th, NULL, slow_reader, &p[0]), 0);
	struct con_out *c = con_out_create(p[1], true, "pipe", 0);
	memset(buf, 'y', sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i += 100)
		con_out_write(c, buf + i, MIN((size_t)100, sizeof(buf) - i), give_up_at, &never);
	con_out_drain(c, 5000);
	assert_int_equal(con_out_written(c), sizeof(buf));
	assert_int_equal(con_out_dropped(c), 0);
	con_out_destroy(c); /* closes the write end: the reader sees EOF */
	pthread_join(th, &total);
	assert_int_equal((size_t)total, sizeof(buf));
	close(p[0]);
}

/* The reader is gone: EPIPE (SIGPIPE ignored), everything after is dropped at once. */
static void test_con_out_reader_gone_drops(void **state)
{
	struct stopper never = { .at = 1e18 };
	int p[2];

	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	close(p[0]);
	struct con_out *c = con_out_create(p[1], true, "pipe", 0);
	con_out_write(c, (const uint8_t *)"abc", 3, give_up_at, &never);
	con_out_write(c, (const uint8_t *)"def", 3, give_up_at, &never);
	assert_int_equal(con_out_written(c), 0);
	assert_int_equal(con_out_dropped(c), 6);
	con_out_destroy(c);
}

/* A file stops at its limit, exactly; bytes reach it as they come. */
static void test_con_out_file_limit(void **state)
{
	char path[] = "/tmp/test_console_XXXXXX", line[100];
	int fd = mkstemp(path);
	struct stopper never = { .at = 1e18 };
	struct stat st;

	assert_true(fd >= 0);
	struct con_out *c = con_out_create(fd, true, path, 1000);
	memset(line, 'z', sizeof(line));
	line[99] = '\n';
	con_out_write(c, (const uint8_t *)line, 50, give_up_at, &never);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 50); /* nothing held back */
	con_out_write(c, (const uint8_t *)line + 50, 50, give_up_at, &never);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 100);
	for (int i = 0; i < 30; i++)
		con_out_write(c, (const uint8_t *)line, sizeof(line), give_up_at, &never);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 1000);
	assert_int_equal(con_out_written(c), 1000);
	assert_int_equal(con_out_dropped(c), 3100 - 1000);
	con_out_drain(c, 0);
	con_out_destroy(c);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 1000);
	unlink(path);
}

/* An inherited fd (stdout) keeps its flags: the sink writes through its own open file. */
static void test_con_out_shared_fd_stays_blocking(void **state)
{
	struct stopper never = { .at = 1e18 };
	char got[8] = "";
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	struct con_out *c = con_out_create(p[1], false, "stdout", 0);
	assert_false(fcntl(p[1], F_GETFL) & O_NONBLOCK);
	con_out_write(c, (const uint8_t *)"hi", 2, give_up_at, &never);
	con_out_destroy(c);
	assert_true(fcntl(p[1], F_GETFD) >= 0); /* not ours to close */
	close(p[1]);
	assert_int_equal(read(p[0], got, sizeof(got)), 2);
	assert_memory_equal(got, "hi", 2);
	close(p[0]);
}

/* A terminal: the sink filters, end to end through a pseudo-terminal. */
static void test_con_out_terminal_is_filtered(void **state)
{
	static const char in[] = "a\x1b]52;c;aGk=\x07" "b\x1b[6n\x1b[31mc\x1bP$qm\x1b\\d";
	static const char want[] = "ab\x1b[31mcd";
	struct stopper never = { .at = 1e18 };
	struct termios t;
	char got[64];
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	assert_true(m >= 0);
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	int s = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(s >= 0);
	assert_int_equal(tcgetattr(s, &t), 0);
	cfmakeraw(&t);
	assert_int_equal(tcsetattr(s, TCSANOW, &t), 0);
	struct con_out *c = con_out_create(s, false, "tty", 0);
	assert_true(con_out_is_tty(c));
	con_out_write(c, (const uint8_t *)in, sizeof(in) - 1, give_up_at, &never);
	con_out_destroy(c);
	ssize_t n = 0, r;
	while (n < (ssize_t)sizeof(want) - 1 && (r = read(m, got + n, sizeof(got) - (size_t)n)) > 0)
		n += r;
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(got, want, sizeof(want) - 1);
	close(s);
	close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_con_filter_text_and_c0),
		cmocka_unit_test(test_con_filter_display_sequences_pass),
		cmocka_unit_test(test_con_filter_strings_dropped),
		cmocka_unit_test(test_con_filter_queries_and_modes_dropped),
		cmocka_unit_test(test_con_filter_c1_controls),
		cmocka_unit_test(test_con_filter_unterminated_string_ends),
		cmocka_unit_test(test_con_out_unread_pipe_waits_until_give_up),
		cmocka_unit_test(test_con_out_slow_reader_loses_nothing),
		cmocka_unit_test(test_con_out_reader_gone_drops),
		cmocka_unit_test(test_con_out_file_limit),
		cmocka_unit_test(test_con_out_shared_fd_stays_blocking),
		cmocka_unit_test(test_con_out_terminal_is_filtered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
