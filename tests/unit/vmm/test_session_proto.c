// SPDX-License-Identifier: MIT
/*
 * test_session_proto.c: the pure half of the session endpoint
 * (vmm/session_proto.c): the job builder's output byte for byte and each of
 * its refusals (every message one printable line naming the item), the size
 * limits at their edges, the frame checks for both directions, the order
 * rules, payload values, and the Ctrl-A escape whole, byte by byte and in
 * place; a built job is what guest-init's own parser (gi_spec_parse) reads.
 * The same checks are fuzzed by tests/fuzz/fuzz_session_frame.c.
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

#include "guest-init/session.h"
#include "vmm/session.h"
#include "tests/helpers/th_session.h"

/* ---- the job ------------------------------------------------------------- */

static void test_spec_build_every_item_in_order(void **state)
{
	static const char *const argv[] = { "ls", "", "-l" };
	static const char *const env[] = { "A=1", "B==x", "C=" };
	static const char *const rl[] = { "nofile:10:unlimited", "core:0:0" };
	static const char want[] = "a:ls\0a:\0a:-l\0e:A=1\0e:B==x\0e:C=\0c:/work\0u:1000:100\0"
				   "t:24:80\0r:nofile:10:unlimited\0r:core:0:0";
	struct avs_spec_in in = { .argc = 3, .argv = argv, .envc = 3, .env = env, .cwd = "/work",
				  .user = "1000:100", .nr_rlimits = 2, .rlimits = rl,
				  .tty = true, .rows = 24, .cols = 80 };
	char err[256] = "";
	uint8_t *out;
	size_t len;

	assert_int_equal(avs_spec_build(&in, &out, &len, err, sizeof(err)), 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	/* guest-init's own parser takes it, field by field */
	struct gi_spec g;
	assert_int_equal(gi_spec_parse(out, len, &g, err, sizeof(err)), 0);
	assert_int_equal(g.argc, 3);
	assert_string_equal(g.argv[1], "");
	assert_int_equal(g.envc, 3);
	assert_string_equal(g.env[1], "B==x");
	assert_string_equal(g.cwd, "/work");
	assert_true(g.has_user && g.uid == 1000 && g.gid == 100);
	assert_true(g.tty && g.rows == 24 && g.cols == 80);
	assert_int_equal(g.nr_rlimits, 2);
	gi_spec_fini(&g);
	free(out);

	/* the minimum: one argument, guest defaults for the rest; rows ignored without tty */
	struct avs_spec_in one = { .argc = 1, .argv = argv, .rows = 0 };
	assert_int_equal(avs_spec_build(&one, &out, &len, err, sizeof(err)), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(out, "a:ls", 5);
	free(out);
}

struct bad_case {
	struct avs_spec_in in;
	const char *msg;   /* a part of the message */
};

static void expect_refused(const struct avs_spec_in *in, int want, const char *msg)
{
	char err[256] = "";
	uint8_t *out = (uint8_t *)1;
	size_t len = 1;
	int r = avs_spec_build(in, &out, &len, err, sizeof(err));

	if (r != want || !strstr(err, msg))
		fail_msg("got %d \"%s\", want %d with \"%s\"", r, err, want, msg);
	assert_null(out);
	assert_int_equal(len, 0);
	for (const char *c = err; *c; c++)
		assert_true((unsigned char)*c >= 0x20 && *c != 0x7f); /* one printable line */
}

static void test_spec_build_refuses_bad_items(void **state)
{
	static const char *const a1[] = { "true" };
	static const char *const anull[] = { "true", NULL };
	static const char *const e_noeq[] = { "NOEQ" }, *const e_empty[] = { "=x" },
				 *const e_blank[] = { "" };
	static const char *const r_short[] = { "nofile:1" }, *const r_long[] = { "nofile:1:2:3" };
	static const char *const r_name[] = { "bogus:1:2" }, *const r_val[] = { "nofile:x:2" };
	static const char *const r_order[] = { "nofile:5:4" };
	static const char *const r_unl[] = { "nofile:unlimited:5" };
	static const char *const r_max[] = { "nofile:18446744073709551615:unlimited" };
	static const char *const r_neg[] = { "nofile:-1:2" }, *const r_empty[] = { "nofile::2" };
	static const char *const r_twice[] = { "nofile:1:2", "core:0:0", "nofile:3:4" };
#define ONE .argc = 1, .argv = a1
#define RL(r) ONE, .nr_rlimits = 1, .rlimits = r
	const struct bad_case cases[] = {
		{ { .argc = 0, .argv = a1 }, "no command" },
		{ { .argc = 1, .argv = NULL }, "no command" },
		{ { .argc = 2, .argv = anull }, "argument 1 is NULL" },
		{ { ONE, .envc = 1, .env = e_noeq }, "environment entry \"NOEQ\"" },
		{ { ONE, .envc = 1, .env = e_empty }, "environment entry \"=x\"" },
		{ { ONE, .envc = 1, .env = e_blank }, "non-empty NAME" },
		{ { ONE, .envc = -1 }, "count" },
		{ { ONE, .cwd = "work" }, "\"work\": not an absolute path" },
		{ { ONE, .cwd = "" }, "not an absolute path" },
		{ { ONE, .cwd = "rel\n\x1b[2J" }, "\"rel??[2J\"" },
		{ { ONE, .user = "root" }, "user \"root\"" },
		{ { ONE, .user = "" }, "user \"\"" },
		{ { ONE, .user = "1:" }, "user \"1:\"" },
		{ { ONE, .user = ":1" }, "user \":1\"" },
		{ { ONE, .user = "-1" }, "user \"-1\"" },
		{ { ONE, .user = "1:2:3" }, "user \"1:2:3\"" },
		{ { ONE, .user = "4294967295" }, "to 4294967294" },
		{ { ONE, .user = "0:4294967295" }, "user" },
		{ { ONE, .user = "4294967295000" }, "user" },
		{ { ONE, .user = "100000000000000000000" }, "user" }, /* 21 digits */
		{ { RL(r_short) }, "NAME:SOFT:HARD" },
		{ { RL(r_long) }, "NAME:SOFT:HARD" },
		{ { RL(r_name) }, "rlimit \"bogus\": unknown resource" },
		{ { RL(r_val) }, "rlimit nofile: SOFT" },
		{ { RL(r_order) }, "soft limit is over" },
		{ { RL(r_unl) }, "soft limit is over" },
		{ { RL(r_max) }, "below 2^64-1" },
		{ { RL(r_neg) }, "decimal" },
		{ { RL(r_empty) }, "decimal" },
		{ { ONE, .nr_rlimits = 3, .rlimits = r_twice }, "rlimit nofile: given twice" },
		{ { ONE, .tty = true, .rows = 0, .cols = 80 }, "terminal size 0x80" },
		{ { ONE, .tty = true, .rows = 24, .cols = 0 }, "terminal size" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_refused(&cases[i].in, -EINVAL, cases[i].msg);
#undef ONE
#undef RL
}

static void test_spec_build_accepts_limits_at_their_edge(void **state)
{
	static const char *const a1[] = { "true" };
	static const char *const rl[] = { "as:18446744073709551614:unlimited", "cpu:3:3",
					   "stack:unlimited:unlimited", "memlock:0:1", "nproc:1:2",
					   "fsize:1:1", "data:1:1" };
	struct avs_spec_in in = { .argc = 1, .argv = a1, .user = "00000000004294967294:0",
				  .nr_rlimits = 7, .rlimits = rl, .tty = true, .rows = 65535,
				  .cols = 1 };
	char err[256] = "";
	uint8_t *out;
	size_t len;

	assert_int_equal(avs_spec_build(&in, &out, &len, err, sizeof(err)), 0);
	assert_non_null(memmem(out, len, "t:65535:1", 10));
	free(out);
}

/* Item and job sizes: an item of AVS_ITEM_MAX bytes passes, one more does not; 1 MiB likewise. */
static void test_spec_build_size_limits(void **state)
{
	size_t vmax = AVS_ITEM_MAX - 3; /* "a:" + value + NUL */
	char *big = malloc(vmax + 2), *big2 = malloc(vmax + 1), err[256] = "";
	const char *argv[5] = { big2, big2, big2, big2, "x" };
	struct avs_spec_in in = { .argc = 1, .argv = argv };
	uint8_t *out;
	size_t len;

	memset(big, 'x', vmax + 1);
	big[vmax + 1] = 0;
	memset(big2, 'y', vmax);
	big2[vmax] = 0;
	/* 4 items of AVS_ITEM_MAX bytes: exactly AVS_SPEC_MAX */
	in.argc = 4;
	assert_int_equal(avs_spec_build(&in, &out, &len, err, sizeof(err)), 0);
	assert_int_equal(len, AVS_SPEC_MAX);
	free(out);
	in.argc = 5;
	expect_refused(&in, -E2BIG, "too big: 1048580 bytes");
	expect_refused(&in, -E2BIG, "1 MiB");
	argv[0] = big;
	in.argc = 1;
	expect_refused(&in, -EINVAL, "argument 0: longer than 262141 bytes");

	/* too many arguments and environment entries */
	const char **many = calloc(AVS_MAX_ARGS + 1, sizeof(*many));
	for (int i = 0; i <= AVS_MAX_ARGS; i++)
		many[i] = "E=0123456789012345678901234567890123456789";
	struct avs_spec_in m = { .argc = AVS_MAX_ARGS + 1, .argv = many };
	expect_refused(&m, -EINVAL, "too many arguments: 65537 (at most 65536)");
	m.argc = 1;
	m.envc = AVS_MAX_ENV + 1;
	m.env = many;
	expect_refused(&m, -EINVAL, "too many environment entries: 65537");
	/* the most there may be, but too big together */
	m.envc = AVS_MAX_ENV;
	expect_refused(&m, -E2BIG, "too big");
	free(many);
	free(big);
	free(big2);
}

/* ---- the job: container items -------------------------------------------- */

#define HOST64 "0123456789012345678901234567890123456789012345678901234567890123"

/* Every container item, set-up items sorted into s M D P O Y (stable), read back by the guest. */
static void test_spec_build_container_items_in_order(void **state)
{
	static const char *const argv[] = { "sh" };
	static const char *const groups[] = { "10", "0", "4294967294" };
	static const char *const setup[] = {
		"Y:1", "P:/proc/kcore", "M:tmpfs:1000002:mode=755:/dev", "O:/proc/sys",
		"s:net.ipv4.ip_forward=1", "D:1", "M:proc:e:-:/proc", "P:/sys/firmware",
		"M:bind:4001:/etc/hostname:/etc/hostname", "s:kernel.msgmax=8192",
	};
	static const char want[] = "a:sh\0c:/\0u:1000:1000\0g:10\0g:0\0g:4294967294\0t:24:80\0"
				   "R:/run/ct/rootfs\0h:web-1\0m:022\0n:1\0"
				   "k:ffffffffff:20:a0:80:80\0"
				   "s:net.ipv4.ip_forward=1\0s:kernel.msgmax=8192\0"
				   "M:tmpfs:1000002:mode=755:/dev\0M:proc:e:-:/proc\0"
				   "M:bind:4001:/etc/hostname:/etc/hostname\0D:1\0"
				   "P:/proc/kcore\0P:/sys/firmware\0O:/proc/sys\0Y:1";
	struct avs_spec_in in = { .argc = 1, .argv = argv, .cwd = "/", .user = "1000:1000",
				  .tty = true, .rows = 24, .cols = 80, .root = "/run/ct/rootfs",
				  .hostname = "web-1", .nr_groups = 3, .groups = groups,
				  .umask = "022", .no_new_privs = true,
				  .caps = "ffffffffff:20:a0:80:80", .nr_setup = 10,
				  .setup = setup };
	char err[256] = "";
	struct gi_spec g;
	uint8_t *out;
	size_t len;

	(void)state;
	assert_int_equal(avs_spec_build(&in, &out, &len, err, sizeof(err)), 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	assert_int_equal(gi_spec_parse(out, len, &g, err, sizeof(err)), 0);
	assert_string_equal(g.root, "/run/ct/rootfs");
	assert_string_equal(g.hostname, "web-1");
	assert_int_equal(g.nr_groups, 3);
	assert_int_equal(g.groups[2], 4294967294U);
	assert_true(g.has_umask && g.umask == 022);
	assert_true(g.no_new_privs);
	assert_true(g.has_caps && g.caps.bnd == 0xffffffffffULL && g.caps.amb == 0x80);
	assert_int_equal(g.nr_setup, 10);
	assert_int_equal(g.setup[0].key, 's');
	assert_int_equal(g.setup[4].key, 'M');
	assert_string_equal(g.setup[4].value, "/etc/hostname");
	assert_int_equal(g.setup[9].key, 'Y');
	gi_spec_fini(&g);
	free(out);

	/* the process items alone need no root, and n:1 is not sent for false */
	struct avs_spec_in p = { .argc = 1, .argv = argv, .umask = "0", .caps = "0:0:0:0:0" };
	assert_int_equal(avs_spec_build(&p, &out, &len, err, sizeof(err)), 0);
	assert_int_equal(len, sizeof("a:sh\0m:0\0k:0:0:0:0:0"));
	assert_memory_equal(out, "a:sh\0m:0\0k:0:0:0:0:0", len);
	free(out);
}

static void test_spec_build_refuses_bad_container_items(void **state)
{
	static const char *const a1[] = { "true" };
	static const char *const g_bad[] = { "x" }, *const g_neg[] = { "-1" };
	static const char *const g_max[] = { "4294967295" }, *const g_null[] = { "1", NULL };
	static const char *const s_noroot[] = { "D:1" }, *const s_null[] = { NULL };
	static const char *const s_key[] = { "a:x" }, *const s_short[] = { "M" };
	static const char *const s_twice_d[] = { "D:1", "P:/a", "D:1" };
	static const char *const s_twice_y[] = { "Y:1", "Y:1" }, *const s_d2[] = { "D:2" };
	static const char *const s_y0[] = { "Y:0" }, *const s_p[] = { "P:proc" };
	static const char *const s_pdd[] = { "P:/a/.." }, *const s_odd[] = { "O:/../etc" };
	static const char *const s_sx[] = { "s:a..b=1" }, *const s_sdot[] = { "s:.a=1" };
	static const char *const s_seq[] = { "s:noeq" }, *const s_sch[] = { "s:a/b=1" };
	static const char *const s_m3[] = { "M:proc:e:-" }, *const s_mt[] = { "M:ext4:0:-:/x" };
	static const char *const s_mf[] = { "M:proc:20:-:/p" };
	static const char *const s_mf9[] = { "M:proc:000000001:-:/p" };
	static const char *const s_mfx[] = { "M:proc:x:-:/p" }, *const s_md[] = { "M:proc:0::/p" };
	static const char *const s_mbs[] = { "M:bind:0:-:/p" };
	static const char *const s_mbd[] = { "M:bind:0:/a/..:/p" };
	static const char *const s_mdst[] = { "M:tmpfs:0:-:dev" };
	static const char *const s_mdd[] = { "M:tmpfs:0:-:/.." };
#define ONE .argc = 1, .argv = a1
#define SU(s) ONE, .root = "/r", .nr_setup = 1, .setup = s
#define SUN(n, s) ONE, .root = "/r", .nr_setup = n, .setup = s
	const struct bad_case cases[] = {
		{ { ONE, .root = "run" }, "root \"run\": not an absolute path" },
		{ { ONE, .root = "" }, "root \"\": not an absolute path" },
		{ { ONE, .hostname = "" }, "hostname \"\": expected 1 to 64 letters" },
		{ { ONE, .hostname = "a_b" }, "hostname \"a_b\"" },
		{ { ONE, .hostname = "a\nb" }, "hostname \"a?b\"" },
		{ { ONE, .hostname = HOST64 "4" }, "expected 1 to 64" },
		{ { ONE, .nr_groups = 1, .groups = g_bad }, "group \"x\": expected a decimal id" },
		{ { ONE, .nr_groups = 1, .groups = g_neg }, "group \"-1\"" },
		{ { ONE, .nr_groups = 1, .groups = g_max }, "from 0 to 4294967294" },
		{ { ONE, .nr_groups = 2, .groups = g_null }, "group 1 is NULL" },
		{ { ONE, .nr_groups = 1 }, "bad group or set-up count" },
		{ { ONE, .nr_groups = -1, .groups = g_bad }, "bad group or set-up count" },
		{ { ONE, .nr_setup = -1, .setup = s_noroot }, "bad group or set-up count" },
		{ { ONE, .umask = "8" }, "umask \"8\": expected 1 to 4 octal digits" },
		{ { ONE, .umask = "1000" }, "umask \"1000\"" },
		{ { ONE, .umask = "00022" }, "umask" },
		{ { ONE, .umask = "" }, "umask \"\"" },
		{ { ONE, .caps = "1:1:1:1" }, "capabilities \"1:1:1:1\": expected BND:EFF:PRM" },
		{ { ONE, .caps = "1:1:1:1:1:1" }, "five hex masks" },
		{ { ONE, .caps = "10000000000000000:0:0:0:0" }, "five hex masks" },
		{ { ONE, .caps = "0:0::0:0" }, "five hex masks" },
		{ { ONE, .caps = "g:0:0:0:0" }, "five hex masks" },
		{ { ONE, .caps = "ff:3:1:0:0" }, "effective capabilities not all permitted" },
		{ { ONE, .caps = "1:0:0:2:0" }, "inheritable capabilities outside the bounding" },
		{ { ONE, .caps = "3:0:1:2:2" }, "ambient capabilities not both" },
		{ { ONE, .nr_setup = 1, .setup = s_noroot }, "set-up items need a root" },
		{ { SU(s_null) }, "set-up item 0 is NULL" },
		{ { SU(s_key) }, "set-up item 0 \"a:x\": not a set-up item" },
		{ { SU(s_short) }, "set-up item 0 \"M\": not a set-up item" },
		{ { SUN(3, s_twice_d) }, "set-up item 2 \"D:1\": given twice" },
		{ { SUN(2, s_twice_y) }, "set-up item 1 \"Y:1\": given twice" },
		{ { SU(s_d2) }, "\"D:2\": expected D:1 or Y:1" },
		{ { SU(s_y0) }, "\"Y:0\": expected D:1 or Y:1" },
		{ { SU(s_p) }, "\"P:proc\": not an absolute path without \"..\"" },
		{ { SU(s_pdd) }, "\"P:/a/..\": not an absolute path" },
		{ { SU(s_odd) }, "\"O:/../etc\": not an absolute path" },
		{ { SU(s_sx) }, "\"s:a..b=1\": expected KEY=VALUE" },
		{ { SU(s_sdot) }, "\"s:.a=1\": expected KEY=VALUE" },
		{ { SU(s_seq) }, "\"s:noeq\": expected KEY=VALUE" },
		{ { SU(s_sch) }, "\"s:a/b=1\": expected KEY=VALUE" },
		{ { SU(s_m3) }, "expected TYPE:FLAGS:DATA:DST" },
		{ { SU(s_mt) }, "unknown TYPE" },
		{ { SU(s_mf) }, "FLAGS: expected hex MS_* bits" },
		{ { SU(s_mf9) }, "FLAGS" },
		{ { SU(s_mfx) }, "FLAGS" },
		{ { SU(s_md) }, "DATA is empty" },
		{ { SU(s_mbs) }, "the bind source is not an absolute path" },
		{ { SU(s_mbd) }, "the bind source" },
		{ { SU(s_mdst) }, "DST is not an absolute path" },
		{ { SU(s_mdd) }, "DST is not" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_refused(&cases[i].in, -EINVAL, cases[i].msg);
	/* what the host refuses the guest refuses too: each one-item set-up case, laid out raw */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct avs_spec_in *c = &cases[i].in;
		char raw[256], gerr[256];
		struct gi_spec g;
		int n;

		if (!c->root || c->nr_setup != 1 || !c->setup[0] ||
		    !strchr("sMDPOY", c->setup[0][0]))
			continue;
		n = snprintf(raw, sizeof(raw), "a:true%cR:/r%c%s", 0, 0, c->setup[0]);
		assert_int_equal(gi_spec_parse((const uint8_t *)raw, (size_t)n + 1, &g, gerr,
					       sizeof(gerr)), -EINVAL);
		gi_spec_fini(&g);
	}
#undef ONE
#undef SU
#undef SUN
}

/* Groups, set-up items and the hostname at their limits and one past. */
static void test_spec_build_container_limits(void **state)
{
	static const char *const a1[] = { "true" };
	const char **g = calloc(AVS_MAX_SETUP + 1, sizeof(*g));
	struct avs_spec_in in = { .argc = 1, .argv = a1, .groups = g, .setup = g, .root = "/r" };
	char err[256] = "";
	uint8_t *out;
	size_t len;

	(void)state;
	assert_non_null(g);
	for (int i = 0; i <= AVS_MAX_SETUP; i++)
		g[i] = "1";
	in.nr_groups = AVS_MAX_GROUPS;
	assert_int_equal(avs_spec_build(&in, &out, &len, err, sizeof(err)), 0);
	free(out);
	in.nr_groups++;
	expect_refused(&in, -EINVAL, "too many groups: 257 (at most 256)");
	in.nr_groups = 0;
	for (int i = 0; i <= AVS_MAX_SETUP; i++)
		g[i] = "O:/proc/sys";
	in.nr_setup = AVS_MAX_SETUP;
	assert_int_equal(avs_spec_build(&in, &out, &len, err, sizeof(err)), 0);
	free(out);
	in.nr_setup++;
	expect_refused(&in, -EINVAL, "too many set-up items: 1025 (at most 1024)");
	in.nr_setup = 0;
	in.hostname = HOST64;
	assert_int_equal(avs_spec_build(&in, &out, &len, err, sizeof(err)), 0);
	free(out);
	free(g);
}

/* ---- frames -------------------------------------------------------------- */

static void test_frame_check_types_directions_lengths(void **state)
{
	enum { BAD = -EPROTO };
	static const struct {
		uint8_t type;
		bool from_guest;
		uint32_t len;
		int want;
	} cases[] = {
		{ AVS_STDOUT, true, 0, 0 }, { AVS_STDOUT, true, AVS_DATA_MAX, 0 },
		{ AVS_STDOUT, true, AVS_DATA_MAX + 1, BAD }, { AVS_STDOUT, false, 1, BAD },
		{ AVS_STDERR, true, AVS_DATA_MAX, 0 }, { AVS_STDERR, true, 0xffffffff, BAD },
		{ AVS_ERROR, true, AVS_ERROR_MAX, 0 }, { AVS_ERROR, true, AVS_ERROR_MAX + 1, BAD },
		{ AVS_EXIT, true, 4, 0 }, { AVS_EXIT, true, 3, BAD }, { AVS_EXIT, true, 5, BAD },
		{ AVS_EXIT, false, 4, BAD },
		{ AVS_SPEC, false, AVS_SPEC_MAX, 0 }, { AVS_SPEC, false, AVS_SPEC_MAX + 1, BAD },
		{ AVS_SPEC, true, 1, BAD }, { AVS_STDIN, false, AVS_DATA_MAX, 0 },
		{ AVS_STDIN, true, 1, BAD }, { AVS_STDIN, false, AVS_DATA_MAX + 1, BAD },
		{ AVS_WINSIZE, false, 4, 0 }, { AVS_WINSIZE, false, 8, BAD },
		{ AVS_SIGNAL, false, 4, 0 }, { AVS_SIGNAL, false, 0, BAD },
		{ AVS_EXIT_ACK, false, 0, 0 }, { AVS_EXIT_ACK, false, 1, BAD },
		{ AVS_EXIT_ACK, true, 0, BAD },
		{ 0, true, 0, BAD }, { 6, false, 0, BAD }, { 15, true, 0, BAD },
		{ 20, true, 0, BAD }, { 255, true, 0, BAD },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct avs_hdr h = th_hdr(cases[i].type, cases[i].len);

		if (avs_frame_check(&h, cases[i].from_guest) != cases[i].want)
			fail_msg("case %zu: type %u len %u", i, cases[i].type, cases[i].len);
	}
	struct avs_hdr h = th_hdr(AVS_STDOUT, 1);
	h.flags = 1;
	assert_int_equal(avs_frame_check(&h, true), -EPROTO);
	h = th_hdr(AVS_STDOUT, 1);
	h.zero = htole16(0x100);
	assert_int_equal(avs_frame_check(&h, true), -EPROTO);
}

static void test_payload_check_values(void **state)
{
	uint8_t v[4];

	th_put_le32(v, 255);
	assert_int_equal(avs_payload_check(AVS_EXIT, v, 4), 0);
	th_put_le32(v, 256);
	assert_int_equal(avs_payload_check(AVS_EXIT, v, 4), -EPROTO);
	th_put_le32(v, 0);
	assert_int_equal(avs_payload_check(AVS_SIGNAL, v, 4), -EPROTO);
	th_put_le32(v, 64);
	assert_int_equal(avs_payload_check(AVS_SIGNAL, v, 4), 0);
	th_put_le32(v, 65);
	assert_int_equal(avs_payload_check(AVS_SIGNAL, v, 4), -EPROTO);
	th_put_le32(v, 24 | 80 << 16);
	assert_int_equal(avs_payload_check(AVS_WINSIZE, v, 4), 0);
	th_put_le32(v, 80 << 16);
	assert_int_equal(avs_payload_check(AVS_WINSIZE, v, 4), -EPROTO);
	assert_int_equal(avs_payload_check(AVS_ERROR, (const uint8_t *)"no\0nul", 6), -EPROTO);
	assert_int_equal(avs_payload_check(AVS_ERROR, (const uint8_t *)"fine", 4), 0);
	assert_int_equal(avs_payload_check(AVS_ERROR, NULL, 0), 0);
	assert_int_equal(avs_payload_check(AVS_STDOUT, (const uint8_t *)"\0\xff", 2), 0);
}

static void test_rx_seq_order_rules(void **state)
{
	struct avs_rx_seq s = { 0 };
	struct avs_hdr out = th_hdr(AVS_STDOUT, 3), out_eof = th_hdr(AVS_STDOUT, 0),
		       err = th_hdr(AVS_STDERR, 3), err_eof = th_hdr(AVS_STDERR, 0),
		       error = th_hdr(AVS_ERROR, 3), ex = th_hdr(AVS_EXIT, 4);

	assert_int_equal(avs_rx_seq_next(&s, &out), 0);
	assert_int_equal(avs_rx_seq_next(&s, &out_eof), 0);
	assert_int_equal(avs_rx_seq_next(&s, &out), -EPROTO);
	assert_int_equal(avs_rx_seq_next(&s, &out_eof), -EPROTO);
	assert_int_equal(avs_rx_seq_next(&s, &err), 0);
	assert_int_equal(avs_rx_seq_next(&s, &err_eof), 0);
	assert_int_equal(avs_rx_seq_next(&s, &err), -EPROTO);
	assert_int_equal(avs_rx_seq_next(&s, &error), 0);
	assert_int_equal(avs_rx_seq_next(&s, &ex), 0);
	assert_true(s.exited);
	assert_int_equal(avs_rx_seq_next(&s, &ex), -EPROTO);
	assert_int_equal(avs_rx_seq_next(&s, &error), -EPROTO);
}

/* ---- the escape ---------------------------------------------------------- */

/* (in) whole, then one byte per call, then in place: all give (want) and (quit). */
static void expect_escaped(const char *in, size_t len, const char *want, size_t wlen, bool quit)
{
	uint8_t out[64], buf[64];
	bool pending = false, q = false, q1;
	size_t n = avs_escape_feed(&pending, (const uint8_t *)in, len, out, &q), m = 0;

	assert_int_equal(q, quit);
	assert_int_equal(n, wlen);
	assert_memory_equal(out, want, wlen);
	pending = q = false;
	for (size_t i = 0; i < len && !q; i++) {
		m += avs_escape_feed(&pending, (const uint8_t *)in + i, 1, out + m, &q1);
		q = q1;
	}
	assert_int_equal(q, quit);
	assert_int_equal(m, wlen);
	assert_memory_equal(out, want, wlen);
	memcpy(buf, in, len);
	pending = false;
	assert_int_equal(avs_escape_feed(&pending, buf, len, buf, &q), wlen);
	assert_memory_equal(buf, want, wlen);
}

#define ESC(in, want, quit) expect_escaped(in, sizeof(in) - 1, want, sizeof(want) - 1, quit)

static void test_escape_feed_sequences(void **state)
{
	ESC("plain\0\xff", "plain\0\xff", false);
	ESC("a\x01\x01" "b", "a\x01" "b", false);      /* Ctrl-A Ctrl-A: one Ctrl-A */
	ESC("a\x01z" "b", "ab", false);                /* Ctrl-A other: both dropped */
	ESC("ab\x01x" "cd", "ab", true);               /* quit: bytes before it only */
	ESC("\x01X", "", true);
	ESC("\x01\x01x", "\x01x", false);             /* an escaped Ctrl-A does not arm */
	ESC("a\x01", "a", false);                      /* pending at the end */

	/* a pending Ctrl-A carries to the next call */
	bool pending = false, quit;
	uint8_t out[4];
	assert_int_equal(avs_escape_feed(&pending, (const uint8_t *)"\x01", 1, out, &quit), 0);
	assert_true(pending);
	assert_false(quit);
	assert_int_equal(avs_escape_feed(&pending, (const uint8_t *)"x", 1, out, &quit), 0);
	assert_true(quit);
	assert_false(pending);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_build_every_item_in_order),
		cmocka_unit_test(test_spec_build_refuses_bad_items),
		cmocka_unit_test(test_spec_build_accepts_limits_at_their_edge),
		cmocka_unit_test(test_spec_build_size_limits),
		cmocka_unit_test(test_spec_build_container_items_in_order),
		cmocka_unit_test(test_spec_build_refuses_bad_container_items),
		cmocka_unit_test(test_spec_build_container_limits),
		cmocka_unit_test(test_frame_check_types_directions_lengths),
		cmocka_unit_test(test_payload_check_values),
		cmocka_unit_test(test_rx_seq_order_rules),
		cmocka_unit_test(test_escape_feed_sequences),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
