// SPDX-License-Identifier: MIT
/* test_gi_cmdline.c: kernel-compatible tokenising and the agentvmm.* argv/env encoding. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "guest-init/cmdline.h"
#include "guest-init/pmem.h"

static char err[256];

/* Parse (text) and return the result; the caller finis (cl). */
static int parse(const char *text, struct gi_cmdline *cl)
{
	return gi_cmdline_parse(text, strlen(text), cl, err, sizeof(err));
}

static void expect_error(const char *text, const char *msg_part)
{
	struct gi_cmdline cl;
	int ret = parse(text, &cl);

	if (ret != -EINVAL || !strstr(err, msg_part))
		fail_msg("'%s': ret %d, err '%s', wanted '%s'", text, ret, err, msg_part);
	gi_cmdline_fini(&cl);
}

static void test_gi_cmdline_next_matches_kernel_quoting(void **state)
{
	char buf[] = "  a=\"b c\" \"d=e f\" =x g \"h i\" j=\"k\"l\tm=\n";
	char *args = buf + 2, *param, *val;

	args = gi_cmdline_next(args, &param, &val);
	assert_string_equal(param, "a");
	assert_string_equal(val, "b c");
	args = gi_cmdline_next(args, &param, &val);
	assert_string_equal(param, "d");
	assert_string_equal(val, "e f");
	/* '=' at index 0 is not a separator in next_arg() */
	args = gi_cmdline_next(args, &param, &val);
	assert_string_equal(param, "=x");
	assert_null(val);
	args = gi_cmdline_next(args, &param, &val);
	assert_string_equal(param, "g");
	assert_null(val);
	args = gi_cmdline_next(args, &param, &val);
	assert_string_equal(param, "h i");
	assert_null(val);
	/* a quote opened in the value but not closed at the end stays in (kernel quirk) */
	args = gi_cmdline_next(args, &param, &val);
	assert_string_equal(param, "j");
	assert_string_equal(val, "k\"l");
	args = gi_cmdline_next(args, &param, &val);
	assert_string_equal(param, "m");
	assert_string_equal(val, "");
	assert_string_equal(args, "");
}

static void test_gi_cmdline_session_mode(void **state)
{
	struct gi_cmdline cl;

	assert_int_equal(parse("quiet agentvmm.session=1 init=/sbin/init", &cl), 0);
	assert_true(cl.cl_session);
	assert_false(cl.cl_command);
	assert_null(cl.cl_init); /* a session's command wins over an init, as argc's does */
	assert_true(cl.cl_init_ignored);
	gi_cmdline_fini(&cl);
	assert_int_equal(parse("agentvmm.session", &cl), 0);
	assert_true(cl.cl_session);
	assert_false(cl.cl_session_await);
	gi_cmdline_fini(&cl);
	/* the job comes when the host has it (avm_config_await_job()) */
	assert_int_equal(parse("agentvmm.session=await", &cl), 0);
	assert_true(cl.cl_session);
	assert_true(cl.cl_session_await);
	gi_cmdline_fini(&cl);
	expect_error("agentvmm.session=2", "agentvmm.session=2: expected 1 or await");
	expect_error("agentvmm.session=awaits", "agentvmm.session=awaits: expected 1 or await");
	expect_error("agentvmm.session=1 agentvmm.argc=1 agentvmm.argv=x",
		     "agentvmm.session given with agentvmm.argc");
}

/* agentvmm.template, agentvmm.seed and agentvmm.time (restore.h) */
static void test_gi_cmdline_restore_keys(void **state)
{
	static const char seed[] = "000102030405060708090a0b0c0d0e0f"
				   "f0e1d2c3b4a5968778695a4b3c2d1e0f";
	char text[256];
	struct gi_cmdline cl;

	assert_int_equal(parse("quiet agentvmm.template", &cl), 0);
	assert_true(cl.cl_template);
	assert_false(cl.cl_has_seed);
	assert_false(cl.cl_has_time);
	gi_cmdline_fini(&cl);
	assert_int_equal(parse("agentvmm.template=1 agentvmm.template=0", &cl), 0);
	assert_false(cl.cl_template);
	gi_cmdline_fini(&cl);
	snprintf(text, sizeof(text), "agentvmm.session=1 agentvmm.seed=%s "
		 "agentvmm.time=1796000000.012345678", seed);
	assert_int_equal(parse(text, &cl), 0);
	assert_true(cl.cl_session);
	assert_true(cl.cl_has_seed);
	assert_int_equal(cl.cl_seed[0], 0x00);
	assert_int_equal(cl.cl_seed[10], 0x0a);
	assert_int_equal(cl.cl_seed[16], 0xf0);
	assert_int_equal(cl.cl_seed[31], 0x0f);
	assert_true(cl.cl_has_time);
	assert_int_equal(cl.cl_time_sec, 1796000000LL);
	assert_int_equal(cl.cl_time_nsec, 12345678L);
	gi_cmdline_fini(&cl);
	expect_error("agentvmm.template=2", "agentvmm.template=2: expected 0 or 1");
	expect_error("agentvmm.seed=00", "agentvmm.seed: expected 64 lowercase hex digits");
	expect_error("agentvmm.seed", "agentvmm.seed: expected 64 lowercase hex digits");
	snprintf(text, sizeof(text), "agentvmm.seed=%.62sAB", seed); /* uppercase */
	expect_error(text, "agentvmm.seed: expected 64 lowercase hex digits");
	snprintf(text, sizeof(text), "agentvmm.seed=%s0", seed); /* one digit more */
	expect_error(text, "agentvmm.seed: expected 64 lowercase hex digits");
	expect_error("agentvmm.time=12", "agentvmm.time=12: expected SECONDS.NANOSECONDS");
	expect_error("agentvmm.time=12.5", "agentvmm.time=12.5: expected SECONDS.NANOSECONDS");
	expect_error("agentvmm.time=.123456789", "expected SECONDS.NANOSECONDS");
	expect_error("agentvmm.time=-1.123456789", "expected SECONDS.NANOSECONDS");
	expect_error("agentvmm.time=1.12345678x", "expected SECONDS.NANOSECONDS");
	expect_error("agentvmm.time=1234567890123.000000000", "expected SECONDS.NANOSECONDS");
	expect_error("agentvmm.time", "agentvmm.time=: expected SECONDS.NANOSECONDS");
}

/* agentvmm.page_reporting_order (a restored VM's --balloon reporting-order, modules.h) */
static void test_gi_cmdline_reporting_order(void **state)
{
	struct gi_cmdline cl;

	assert_int_equal(parse("agentvmm.session=1", &cl), 0);
	assert_false(cl.cl_has_reporting_order);
	gi_cmdline_fini(&cl);
	assert_int_equal(parse("agentvmm.page_reporting_order=3", &cl), 0);
	assert_true(cl.cl_has_reporting_order);
	assert_int_equal(cl.cl_reporting_order, 3);
	gi_cmdline_fini(&cl);
	assert_int_equal(parse("agentvmm.page_reporting_order=0", &cl), 0);
	assert_true(cl.cl_has_reporting_order);
	assert_int_equal(cl.cl_reporting_order, 0);
	gi_cmdline_fini(&cl);
	assert_int_equal(parse("agentvmm.page_reporting_order=10", &cl), 0);
	assert_int_equal(cl.cl_reporting_order, 10);
	gi_cmdline_fini(&cl);

	expect_error("agentvmm.page_reporting_order=11", "agentvmm.page_reporting_order=11: "
		     "expected 0 to 10");
	expect_error("agentvmm.page_reporting_order", "expected 0 to 10");
	expect_error("agentvmm.page_reporting_order=", "expected 0 to 10");
	expect_error("agentvmm.page_reporting_order=-1", "expected 0 to 10");
	expect_error("agentvmm.page_reporting_order=03", "expected 0 to 10");
	expect_error("agentvmm.page_reporting_order=3x", "expected 0 to 10");
	expect_error("agentvmm.page_reporting_order=100", "expected 0 to 10");
}

static void test_gi_cmdline_egress_key(void **state)
{
	struct gi_cmdline cl;

	assert_int_equal(parse("console=ttyS0 agentvmm.session=1 agentvmm.egress=1", &cl), 0);
	assert_true(cl.cl_egress);
	assert_true(cl.cl_session);
	gi_cmdline_fini(&cl);
	assert_int_equal(parse("agentvmm.egress", &cl), 0); /* bare: on */
	assert_true(cl.cl_egress);
	gi_cmdline_fini(&cl);
	assert_int_equal(parse("agentvmm.egress=0", &cl), 0);
	assert_false(cl.cl_egress);
	gi_cmdline_fini(&cl);
	/* last one wins, both ways; with a command and in interactive mode too */
	assert_int_equal(parse("agentvmm.egress agentvmm.egress=0", &cl), 0);
	assert_false(cl.cl_egress);
	gi_cmdline_fini(&cl);
	assert_int_equal(parse("agentvmm.egress=0 agentvmm.argc=1 agentvmm.argv=true "
			       "agentvmm.egress=\"1\"", &cl), 0);
	assert_true(cl.cl_egress);
	assert_true(cl.cl_command);
	gi_cmdline_fini(&cl);
	assert_int_equal(parse("agentvmm.egressx=1 xagentvmm.egress", &cl), 0); /* not the key */
	assert_false(cl.cl_egress);
	gi_cmdline_fini(&cl);
	expect_error("agentvmm.egress=2", "agentvmm.egress=2: expected 0 or 1");
	expect_error("agentvmm.egress=", "agentvmm.egress=: expected 0 or 1");
	expect_error("agentvmm.egress=yes", "agentvmm.egress=yes: expected 0 or 1");
	expect_error("agentvmm.egress=10", "agentvmm.egress=10: expected 0 or 1");
	expect_error("agentvmm.egress=1 agentvmm.egress=on", "agentvmm.egress=on");
}

static void test_gi_cmdline_no_keys_is_interactive(void **state)
{
	struct gi_cmdline cl;

	assert_int_equal(parse("console=ttyS0 quiet root=/dev/vda\n", &cl), 0);
	assert_false(cl.cl_command);
	assert_false(cl.cl_verbose);
	assert_false(cl.cl_egress);
	assert_null(cl.cl_argv);
	assert_null(cl.cl_term);
	assert_int_equal(cl.cl_envc, 0);
	gi_cmdline_fini(&cl);
	gi_cmdline_fini(&cl); /* idempotent */
	assert_int_equal(parse("", &cl), 0);
	assert_false(cl.cl_command);
	gi_cmdline_fini(&cl);
}

static void roundtrip(const char *const *argv, size_t argc)
{
	char enc[4096], text[4200];
	struct gi_cmdline cl;
	size_t len, i;

	assert_int_equal(gi_cmdline_encode(argv, argc, enc, sizeof(enc), &len), 0);
	assert_int_equal(strlen(enc), len);
	snprintf(text, sizeof(text), "console=ttyS0 agentvmm.argc=%zu agentvmm.argv=%s quiet\n",
		 argc, enc);
	assert_int_equal(parse(text, &cl), 0);
	assert_true(cl.cl_command);
	assert_int_equal(cl.cl_argc, argc);
	for (i = 0; i < argc; i++)
		assert_string_equal(cl.cl_argv[i], argv[i]);
	assert_null(cl.cl_argv[argc]);
	gi_cmdline_fini(&cl);
}

static void test_gi_cmdline_roundtrip_tricky_argv(void **state)
{
	static const char *const a1[] = { "sh", "-c", "echo \"hi there\"; exit 3" };
	static const char *const a2[] = { "", "a,b", ",", "%", "%41", "100%", "" };
	static const char *const a3[] = { "caf\xc3\xa9", "\xff\xfe\x01\x7f", "tab\there\nnl" };
	static const char *const a4[] = { "-._~/:@+=", "A-Za-z0-9", "'single'", "back\\slash" };
	static const char *const a5[] = { "" };
	char all[256];
	const char *a6[1] = { all };
	int c;

	roundtrip(a1, 3);
	roundtrip(a2, 7);
	roundtrip(a3, 3);
	roundtrip(a4, 4);
	roundtrip(a5, 1);
	for (c = 1; c < 256; c++)
		all[c - 1] = (char)c;
	all[255] = '\0';
	roundtrip(a6, 1);
}

static void test_gi_cmdline_encoding_is_exact(void **state)
{
	static const char *const argv[] = { "a b", "x,y", "%", "\xff", "ok-._~/:@+=" };
	char enc[128];
	size_t len;

	assert_int_equal(gi_cmdline_encode(argv, 5, enc, sizeof(enc), &len), 0);
	assert_string_equal(enc, "a%20b,x%2Cy,%25,%FF,ok-._~/:@+=");
	/* too small: -ENOSPC, with the needed length */
	assert_int_equal(gi_cmdline_encode(argv, 5, enc, len, &len), -ENOSPC);
	assert_int_equal(len, strlen("a%20b,x%2Cy,%25,%FF,ok-._~/:@+="));
}

static void test_gi_cmdline_empty_argv_is_one_empty_arg(void **state)
{
	struct gi_cmdline cl;

	assert_int_equal(parse("agentvmm.argc=1 agentvmm.argv=", &cl), 0);
	assert_true(cl.cl_command);
	assert_int_equal(cl.cl_argc, 1);
	assert_string_equal(cl.cl_argv[0], "");
	gi_cmdline_fini(&cl);
	assert_int_equal(parse("agentvmm.argc=1 agentvmm.argv=\"\"", &cl), 0);
	assert_string_equal(cl.cl_argv[0], "");
	gi_cmdline_fini(&cl);
}

static void test_gi_cmdline_options_and_last_wins(void **state)
{
	struct gi_cmdline cl;

	assert_int_equal(parse("agentvmm.argc=2 agentvmm.argv=a,b agentvmm.argc=1 "
			       "agentvmm.argv=\"true\" agentvmm.verbose agentvmm.term=xterm-256color "
			       "agentvmm.env=A=1,B=x%20y,C=",
			       &cl),
			 0);
	assert_int_equal(cl.cl_argc, 1);
	assert_string_equal(cl.cl_argv[0], "true");
	assert_true(cl.cl_verbose);
	assert_string_equal(cl.cl_term, "xterm-256color");
	assert_int_equal(cl.cl_envc, 3);
	assert_string_equal(cl.cl_env[0], "A=1");
	assert_string_equal(cl.cl_env[1], "B=x y");
	assert_string_equal(cl.cl_env[2], "C=");
	assert_null(cl.cl_env[3]);
	gi_cmdline_fini(&cl);

	assert_int_equal(parse("agentvmm.verbose=1 agentvmm.verbose=0 agentvmm.env= agentvmm.term=",
			       &cl),
			 0);
	assert_false(cl.cl_verbose);
	assert_int_equal(cl.cl_envc, 0);
	assert_null(cl.cl_term);
	gi_cmdline_fini(&cl);
}

static void test_gi_cmdline_stops_at_double_dash(void **state)
{
	struct gi_cmdline cl;

	assert_int_equal(parse("quiet -- agentvmm.argc=1 agentvmm.argv=x", &cl), 0);
	assert_false(cl.cl_command);
	gi_cmdline_fini(&cl);
}

static void test_gi_cmdline_length_bounds_the_text(void **state)
{
	const char text[] = "agentvmm.argc=1 agentvmm.argv=abcdef";
	struct gi_cmdline cl;

	/* only "...argv=abc" is inside len; no NUL terminator needed */
	assert_int_equal(gi_cmdline_parse(text, strlen(text) - 3, &cl, err, sizeof(err)), 0);
	assert_string_equal(cl.cl_argv[0], "abc");
	gi_cmdline_fini(&cl);
}

static void test_gi_cmdline_bad_argc_fails(void **state)
{
	expect_error("agentvmm.argc=0 agentvmm.argv=x", "agentvmm.argc=0");
	expect_error("agentvmm.argc=abc agentvmm.argv=x", "expected a number");
	expect_error("agentvmm.argc=-1 agentvmm.argv=x", "expected a number");
	expect_error("agentvmm.argc=1x agentvmm.argv=x", "expected a number");
	expect_error("agentvmm.argc=4097 agentvmm.argv=x", "expected a number");
	expect_error("agentvmm.argc=99999999999999999999999 agentvmm.argv=x", "expected a number");
	expect_error("agentvmm.argc agentvmm.argv=x", "expected a number");
	expect_error("agentvmm.argc= agentvmm.argv=x", "expected a number");
}

static void test_gi_cmdline_shares_parsed_and_checked(void **state)
{
	struct gi_cmdline cl;

	assert_int_equal(parse("agentvmm.shares=share0:store:/usr,share1:rw:/work,"
			       "ext-1:ro:/a%20b", &cl), 0);
	assert_int_equal(cl.cl_nshares, 3);
	assert_string_equal(cl.cl_shares[0], "share0:store:/usr");
	assert_string_equal(cl.cl_shares[1], "share1:rw:/work");
	assert_string_equal(cl.cl_shares[2], "ext-1:ro:/a b");
	assert_null(cl.cl_shares[3]);
	gi_cmdline_fini(&cl);
	expect_error("agentvmm.shares=share0:rx:/a", "entry 1 is not TAG:ro|rw|store:/path");
	expect_error("agentvmm.shares=share0:ro:a", "entry 1 is not");
	expect_error("agentvmm.shares=share0:ro:/", "entry 1 is not");
	expect_error("agentvmm.shares=:ro:/a", "entry 1 is not");
	expect_error("agentvmm.shares=t:rw:/a,share0", "entry 2 is not");
	expect_error("agentvmm.shares=0123456789012345678901234567890123456:ro:/a",
		     "entry 1 is not");
}

static void test_gi_cmdline_init_keys(void **state)
{
	static char longpath[GI_CMDLINE_INIT_MAX + 8];
	struct gi_cmdline cl;

	/* the kernel's init= exactly as microvm.nix writes it, among its other keys */
	assert_int_equal(parse("earlyprintk=ttyS0 console=ttyS0 reboot=t panic=-1 "
			       "init=/nix/store/abc-nixos-system-x/init 8250.nr_uarts=1", &cl), 0);
	assert_false(cl.cl_command);
	assert_string_equal(cl.cl_init, "/nix/store/abc-nixos-system-x/init");
	gi_cmdline_fini(&cl);
	/* agentvmm.init (from --init) wins over init=, wherever it stands */
	assert_int_equal(parse("agentvmm.init=/sbin/my%20init init=/other", &cl), 0);
	assert_string_equal(cl.cl_init, "/sbin/my init");
	gi_cmdline_fini(&cl);
	/* last init= wins, as in the kernel; quotes removed */
	assert_int_equal(parse("init=/a init=\"/b c\"", &cl), 0);
	assert_string_equal(cl.cl_init, "/b c");
	gi_cmdline_fini(&cl);
	/* command mode: no hand-off, init ignored (even a malformed one) */
	assert_int_equal(parse("init=relative agentvmm.argc=1 agentvmm.argv=true", &cl), 0);
	assert_true(cl.cl_command);
	assert_null(cl.cl_init);
	assert_true(cl.cl_init_ignored);
	gi_cmdline_fini(&cl);
	/* none: interactive, nothing ignored */
	assert_int_equal(parse("console=ttyS0", &cl), 0);
	assert_null(cl.cl_init);
	assert_false(cl.cl_init_ignored);
	gi_cmdline_fini(&cl);
	/* after a bare "--" the kernel hands words to init as arguments: not ours */
	assert_int_equal(parse("-- init=/x", &cl), 0);
	assert_null(cl.cl_init);
	gi_cmdline_fini(&cl);

	expect_error("init=sbin/init", "init=sbin/init: expected an absolute path");
	expect_error("init", "init=: expected an absolute path");
	expect_error("init=", "init=: expected an absolute path");
	expect_error("agentvmm.init=rel", "agentvmm.init=rel: expected an absolute path");
	expect_error("agentvmm.init=/a%0Ab", "without control characters");
	expect_error("agentvmm.init=/a,/b", "agentvmm.init");
	expect_error("agentvmm.init=/a%zz", "agentvmm.init: bad %-escape");
	longpath[0] = '/';
	memset(longpath + 1, 'x', GI_CMDLINE_INIT_MAX - 1);
	char text[GI_CMDLINE_INIT_MAX + 16];
	snprintf(text, sizeof(text), "init=%s", longpath);
	expect_error(text, "shorter than 1024 bytes");
	longpath[GI_CMDLINE_INIT_MAX - 1] = 0;	/* 1023 bytes: the longest accepted */
	snprintf(text, sizeof(text), "init=%s", longpath);
	assert_int_equal(parse(text, &cl), 0);
	assert_int_equal(strlen(cl.cl_init), GI_CMDLINE_INIT_MAX - 1);
	gi_cmdline_fini(&cl);
}

static void test_gi_cmdline_pmem_items_parsed(void **state)
{
	struct gi_cmdline cl;
	struct gi_pmem_item it;
	char why[128];

	/* ':' in the path is kept: only the first four end fields */
	assert_int_equal(parse("agentvmm.pmem=0x140000000:erofs:ro:dax:/data,"
			       "0x200000:ext4:rw:nodax:/a%20b:c agentvmm.verbose", &cl), 0);
	assert_int_equal(cl.cl_npmem, 2);
	assert_string_equal(cl.cl_pmem[0], "0x140000000:erofs:ro:dax:/data");
	assert_string_equal(cl.cl_pmem[1], "0x200000:ext4:rw:nodax:/a b:c");
	assert_null(cl.cl_pmem[2]);
	assert_int_equal(gi_pmem_item_parse(cl.cl_pmem[0], &it, why, sizeof(why)), 0);
	assert_true(it.gpa == 0x140000000ull);
	assert_string_equal(it.fstype, "erofs");
	assert_true(it.ro);
	assert_true(it.dax);
	assert_string_equal(it.path, "/data");
	assert_int_equal(gi_pmem_item_parse(cl.cl_pmem[1], &it, why, sizeof(why)), 0);
	assert_true(it.gpa == 0x200000ull);
	assert_string_equal(it.fstype, "ext4");
	assert_false(it.ro);
	assert_false(it.dax);
	assert_string_equal(it.path, "/a b:c");
	gi_cmdline_fini(&cl);
	/* the largest aligned GPA (16 digits), leading zeros, the root as mount point */
	assert_int_equal(parse("agentvmm.pmem=0xffffffffffe00000:ext4:ro:nodax:/mnt,"
			       "0x0000000000200000:erofs:rw:dax:/", &cl), 0);
	assert_int_equal(gi_pmem_item_parse(cl.cl_pmem[0], &it, why, sizeof(why)), 0);
	assert_true(it.gpa == 0xffffffffffe00000ull);
	assert_int_equal(gi_pmem_item_parse(cl.cl_pmem[1], &it, why, sizeof(why)), 0);
	assert_true(it.gpa == 0x200000ull);
	gi_cmdline_fini(&cl);
	/* exactly GI_CMDLINE_MAX_PMEM; the last key wins; empty is none */
	assert_int_equal(parse("agentvmm.pmem=0x200000:ext4:ro:dax:/x agentvmm.pmem="
			       "0x200000:ext4:ro:dax:/1,0x400000:ext4:ro:dax:/2,"
			       "0x600000:ext4:ro:dax:/3,0x800000:ext4:ro:dax:/4,"
			       "0xa00000:ext4:ro:dax:/5,0xc00000:ext4:ro:dax:/6,"
			       "0xe00000:ext4:ro:dax:/7,0x1000000:ext4:ro:dax:/8", &cl), 0);
	assert_int_equal(cl.cl_npmem, GI_CMDLINE_MAX_PMEM);
	assert_string_equal(cl.cl_pmem[7], "0x1000000:ext4:ro:dax:/8");
	gi_cmdline_fini(&cl);
	assert_int_equal(parse("agentvmm.pmem= agentvmm.pmem", &cl), 0);
	assert_int_equal(cl.cl_npmem, 0);
	assert_null(cl.cl_pmem);
	gi_cmdline_fini(&cl);
}

static void test_gi_cmdline_pmem_bad_items_fail(void **state)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		/* shape */
		{ "agentvmm.pmem=0x200000:erofs:ro:/data", "entry 1: not GPA:erofs|ext4:ro|rw:"
		  "dax|nodax:/path" },
		{ "agentvmm.pmem=0x200000", "entry 1: not GPA" },
		{ "agentvmm.pmem=0x200000:ext4:ro:dax:/a,", "entry 2: not GPA" },
		/* GPA: hex, zero, alignment */
		{ "agentvmm.pmem=200000:ext4:ro:dax:/a", "entry 1: GPA \"200000\" is not 0x" },
		{ "agentvmm.pmem=0X200000:ext4:ro:dax:/a", "GPA \"0X200000\" is not 0x" },
		{ "agentvmm.pmem=0x:ext4:ro:dax:/a", "GPA \"0x\" is not 0x" },
		{ "agentvmm.pmem=:ext4:ro:dax:/a", "GPA \"\" is not 0x" },
		{ "agentvmm.pmem=0xA00000:ext4:ro:dax:/a", "GPA \"0xA00000\" is not 0x" },
		{ "agentvmm.pmem=0x20000g:ext4:ro:dax:/a", "GPA \"0x20000g\" is not 0x" },
		{ "agentvmm.pmem=0x-200000:ext4:ro:dax:/a", "is not 0x" },
		{ "agentvmm.pmem=%200x200000:ext4:ro:dax:/a", "is not 0x" },
		{ "agentvmm.pmem=0x00000000000200000:ext4:ro:dax:/a", "is not 0x and 1 to 16" },
		{ "agentvmm.pmem=0x10000000000000000:ext4:ro:dax:/a", "is not 0x and 1 to 16" },
		{ "agentvmm.pmem=0x0:ext4:ro:dax:/a", "entry 1: GPA 0 is zero" },
		{ "agentvmm.pmem=0x0000:ext4:ro:dax:/a", "GPA 0 is zero" },
		{ "agentvmm.pmem=0x100000:ext4:ro:dax:/a", "GPA 0x100000 is not 2 MiB aligned" },
		{ "agentvmm.pmem=0x200001:ext4:ro:dax:/a", "GPA 0x200001 is not 2 MiB aligned" },
		{ "agentvmm.pmem=0x200000:ext4:ro:dax:/a,0x1000:ext4:ro:dax:/b",
		  "entry 2: GPA 0x1000 is not 2 MiB aligned" },
		/* filesystem, mode, dax */
		{ "agentvmm.pmem=0x200000:xfs:ro:dax:/a",
		  "filesystem \"xfs\" is not erofs or ext4" },
		{ "agentvmm.pmem=0x200000:EROFS:ro:dax:/a", "filesystem \"EROFS\" is not" },
		{ "agentvmm.pmem=0x200000:ext:ro:dax:/a", "filesystem \"ext\" is not" },
		{ "agentvmm.pmem=0x200000:erofss:ro:dax:/a", "filesystem \"erofss\" is not" },
		{ "agentvmm.pmem=0x200000::ro:dax:/a", "filesystem \"\" is not" },
		{ "agentvmm.pmem=0x200000:ext4:rx:dax:/a", "mode \"rx\" is not ro or rw" },
		{ "agentvmm.pmem=0x200000:ext4:rwx:dax:/a", "mode \"rwx\" is not ro or rw" },
		{ "agentvmm.pmem=0x200000:ext4::dax:/a", "mode \"\" is not ro or rw" },
		{ "agentvmm.pmem=0x200000:ext4:ro:daxx:/a", "\"daxx\" is not dax or nodax" },
		{ "agentvmm.pmem=0x200000:ext4:ro:DAX:/a", "\"DAX\" is not dax or nodax" },
		{ "agentvmm.pmem=0x200000:ext4:ro::/a", "\"\" is not dax or nodax" },
		/* mount point */
		{ "agentvmm.pmem=0x200000:ext4:ro:dax:data", "mount point \"data\" is not an "
		  "absolute path" },
		{ "agentvmm.pmem=0x200000:ext4:ro:dax:", "mount point \"\" is not" },
		{ "agentvmm.pmem=0x200000:ext4:ro:dax::/a", "mount point \":/a\" is not" },
		/* the encoding, the key named */
		{ "agentvmm.pmem=0x200000:ext4:ro:dax:/a%zz", "agentvmm.pmem: bad %-escape" },
		{ "agentvmm.pmem=0x200000:ext4:ro:dax:/a!b", "agentvmm.pmem: byte 0x21" },
	};
	char text[512];
	size_t i, len;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_error(bad[i].text, bad[i].msg);
	/* one over GI_CMDLINE_MAX_PMEM */
	len = (size_t)snprintf(text, sizeof(text), "agentvmm.pmem=");
	for (i = 0; i <= GI_CMDLINE_MAX_PMEM; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					"%s0x%zx00000:ext4:ro:dax:/%zu", i ? "," : "", 2 * (i + 1),
					i);
	expect_error(text, "agentvmm.pmem: 9 values, at most 8 allowed");
	/* a long bad field is quoted cut at 32 bytes */
	snprintf(text, sizeof(text), "agentvmm.pmem=0x200000:%0100d:ro:dax:/a", 0);
	expect_error(text, "filesystem \"00000000000000000000000000000000\" is not");
}

static void test_gi_cmdline_pmem_hex(void **state)
{
	uint64_t v = 7;

	assert_true(gi_pmem_hex("0x0", 3, &v));
	assert_true(v == 0);
	assert_true(gi_pmem_hex("0xffffffffffffffff", 18, &v));
	assert_true(v == UINT64_MAX);
	assert_true(gi_pmem_hex("0x0123456789abcdef", 18, &v));
	assert_true(v == 0x0123456789abcdefull);
	/* the length bounds it: "0x14" of "0x140" */
	assert_true(gi_pmem_hex("0x140", 4, &v));
	assert_true(v == 0x14);
	assert_false(gi_pmem_hex("0x", 2, &v));
	assert_false(gi_pmem_hex("0x1ffffffffffffffff", 19, &v));
	assert_false(gi_pmem_hex("0x1\n", 4, &v));
	assert_false(gi_pmem_hex("0x1 ", 4, &v));
	assert_false(gi_pmem_hex("1x10", 4, &v));
	assert_false(gi_pmem_hex("0x1\0" "2", 5, &v));
}

static void test_gi_cmdline_count_mismatch_fails(void **state)
{
	expect_error("agentvmm.argc=2 agentvmm.argv=x", "has 1 arguments, agentvmm.argc says 2");
	expect_error("agentvmm.argc=1 agentvmm.argv=x,y", "has 2 arguments, agentvmm.argc says 1");
	expect_error("agentvmm.argc=1", "without agentvmm.argv");
	expect_error("agentvmm.argv=x", "without agentvmm.argc");
}

static void test_gi_cmdline_bad_encoding_fails(void **state)
{
	expect_error("agentvmm.argc=1 agentvmm.argv=a%2", "truncated");
	expect_error("agentvmm.argc=1 agentvmm.argv=a%", "truncated");
	expect_error("agentvmm.argc=1 agentvmm.argv=%2c", "uppercase");
	expect_error("agentvmm.argc=1 agentvmm.argv=%G0", "uppercase");
	expect_error("agentvmm.argc=1 agentvmm.argv=%0G", "uppercase");
	expect_error("agentvmm.argc=1 agentvmm.argv=%00", "NUL");
	expect_error("agentvmm.argc=1 agentvmm.argv=\"a b\"", "byte 0x20 at offset 1");
	expect_error("agentvmm.argc=1 agentvmm.argv=a!b", "byte 0x21");
	expect_error("agentvmm.argc=1 agentvmm.argv=a\xff", "byte 0xff");
	/* the key's name leads the message */
	expect_error("agentvmm.argc=1 agentvmm.argv=%", "agentvmm.argv: ");
}

static void test_gi_cmdline_bad_env_and_term_fail(void **state)
{
	expect_error("agentvmm.env=NOVALUE", "entry 1 is not NAME=VALUE");
	expect_error("agentvmm.env=A=1,=x", "entry 2 is not NAME=VALUE");
	expect_error("agentvmm.env=A=%zz", "agentvmm.env: bad %-escape");
	expect_error("agentvmm.term=a,b", "agentvmm.term: 2 values");
	expect_error("agentvmm.term=%", "agentvmm.term: truncated");
}

static void test_gi_cmdline_too_many_values_fails(void **state)
{
	size_t n = GI_CMDLINE_MAX_ARGS + 1, i, len;
	char *text = malloc(2 * n + 64), **vec;

	assert_non_null(text);
	len = (size_t)sprintf(text, "agentvmm.argc=%d agentvmm.argv=", GI_CMDLINE_MAX_ARGS);
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, i ? ",x" : "x");
	expect_error(text, "4097 values, at most 4096");
	assert_int_equal(gi_cmdline_decode("a,b,c", 5, 2, &vec, &i, err, sizeof(err)), -E2BIG);
	assert_null(vec);
	assert_int_equal(gi_cmdline_decode("a,b,c", 5, 3, &vec, &i, err, sizeof(err)), 0);
	assert_int_equal(i, 3);
	assert_string_equal(vec[2], "c");
	free(vec);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gi_cmdline_next_matches_kernel_quoting),
		cmocka_unit_test(test_gi_cmdline_no_keys_is_interactive),
		cmocka_unit_test(test_gi_cmdline_session_mode),
		cmocka_unit_test(test_gi_cmdline_egress_key),
		cmocka_unit_test(test_gi_cmdline_roundtrip_tricky_argv),
		cmocka_unit_test(test_gi_cmdline_encoding_is_exact),
		cmocka_unit_test(test_gi_cmdline_empty_argv_is_one_empty_arg),
		cmocka_unit_test(test_gi_cmdline_options_and_last_wins),
		cmocka_unit_test(test_gi_cmdline_stops_at_double_dash),
		cmocka_unit_test(test_gi_cmdline_length_bounds_the_text),
		cmocka_unit_test(test_gi_cmdline_bad_argc_fails),
		cmocka_unit_test(test_gi_cmdline_shares_parsed_and_checked),
		cmocka_unit_test(test_gi_cmdline_init_keys),
		cmocka_unit_test(test_gi_cmdline_restore_keys),
		cmocka_unit_test(test_gi_cmdline_reporting_order),
		cmocka_unit_test(test_gi_cmdline_pmem_items_parsed),
		cmocka_unit_test(test_gi_cmdline_pmem_bad_items_fail),
		cmocka_unit_test(test_gi_cmdline_pmem_hex),
		cmocka_unit_test(test_gi_cmdline_count_mismatch_fails),
		cmocka_unit_test(test_gi_cmdline_bad_encoding_fails),
		cmocka_unit_test(test_gi_cmdline_bad_env_and_term_fail),
		cmocka_unit_test(test_gi_cmdline_too_many_values_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
