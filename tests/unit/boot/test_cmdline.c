// SPDX-License-Identifier: MIT
/* test_cmdline.c: argv encoding to the exact spec, appending, and the command line in guest RAM. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "boot/cmdline.h"
#include "boot/layout.h"
#include "tests/helpers/th.h"

/* argv strings are writable in a real argv; literals are not, so cast through uintptr_t. */
#define ARG(s) ((char *)(uintptr_t)(s))

static void expect_enc(char *const argv[], int argc, const char *want)
{
	char buf[512];

	assert_int_equal(boot_cmdline_encode_argv(buf, sizeof(buf), argv, argc), (int)strlen(want));
	assert_string_equal(buf, want);
}

static void test_cmdline_encode_plain(void **state)
{
	char *argv[] = { ARG("claude"), ARG("--dangerously-skip-permissions") };

	(void)state;
	expect_enc(argv, 2, "agentvmm.argc=2 agentvmm.argv=claude,--dangerously-skip-permissions");
}

static void test_cmdline_encode_escapes(void **state)
{
	char *argv[] = { ARG("sh"), ARG("-c"), ARG("echo hi, there 100%"), ARG("a\"b'c$d`e\\f"), ARG("\t\n") };

	(void)state;
	expect_enc(argv, 5,
		   "agentvmm.argc=5 agentvmm.argv=sh,-c,echo%20hi%2C%20there%20100%25,"
		   "a%22b%27c%24d%60e%5Cf,%09%0A");
}

static void test_cmdline_encode_literal_set_and_utf8(void **state)
{
	char *argv[] = { ARG("-._~/:@+="), ARG("AZaz09"), ARG("\xc3\xa9\xff"), ARG("#&;<>?[]{}|*!") };

	(void)state;
	expect_enc(argv, 4,
		   "agentvmm.argc=4 agentvmm.argv=-._~/:@+=,AZaz09,%C3%A9%FF,"
		   "%23%26%3B%3C%3E%3F%5B%5D%7B%7D%7C%2A%21");
}

static void test_cmdline_encode_empty_args(void **state)
{
	char *argv[] = { ARG("a"), ARG(""), ARG("b"), ARG("") };

	(void)state;
	expect_enc(argv, 4, "agentvmm.argc=4 agentvmm.argv=a,,b,");
	expect_enc(NULL, 0, "agentvmm.argc=0 agentvmm.argv=");
}

static void test_cmdline_encode_nospc(void **state)
{
	char *argv[] = { ARG("ls"), ARG("-l") };
	const char *want = "agentvmm.argc=2 agentvmm.argv=ls,-l";
	char buf[64];
	size_t n = strlen(want);

	(void)state;
	assert_int_equal(boot_cmdline_encode_argv(buf, n + 1, argv, 2), (int)n);
	assert_string_equal(buf, want);
	assert_int_equal(boot_cmdline_encode_argv(buf, n, argv, 2), -ENOSPC);
	assert_string_equal(buf, "");
	assert_int_equal(boot_cmdline_encode_argv(buf, 0, argv, 2), -ENOSPC);
	/* an escape that does not fit entirely */
	char *pct[] = { ARG("%") };
	assert_int_equal(boot_cmdline_encode_argv(buf, strlen("agentvmm.argc=1 agentvmm.argv=%2"),
						  pct, 1), -ENOSPC);
	assert_int_equal(boot_cmdline_encode_argv(buf, 1, argv, 2), -ENOSPC);
}

static void test_cmdline_encode_bad_args(void **state)
{
	char buf[64];
	char *argv[] = { ARG("a"), NULL };

	(void)state;
	assert_int_equal(boot_cmdline_encode_argv(buf, sizeof(buf), argv, -1), -EINVAL);
	assert_int_equal(boot_cmdline_encode_argv(buf, sizeof(buf), argv, 2), -EINVAL);
	assert_int_equal(boot_cmdline_encode_argv(buf, sizeof(buf), NULL, 1), -EINVAL);
}

static void test_cmdline_encode_list(void **state)
{
	char a[] = "vda:rw:/var", b[] = "a b,c", c[] = "";
	char *items[] = { a, b, c };
	char buf[64];

	(void)state;
	assert_int_equal(boot_cmdline_encode_list(buf, sizeof(buf), "agentvmm.disks", items, 3),
			 (int)strlen("agentvmm.disks=vda:rw:/var,a%20b%2Cc,"));
	assert_string_equal(buf, "agentvmm.disks=vda:rw:/var,a%20b%2Cc,");
	assert_int_equal(boot_cmdline_encode_list(buf, 20, "agentvmm.disks", items, 3), -ENOSPC);
	assert_string_equal(buf, "");
	assert_int_equal(boot_cmdline_encode_list(buf, sizeof(buf), NULL, items, 1), -EINVAL);
	assert_int_equal(boot_cmdline_encode_list(buf, sizeof(buf), "k", items, -1), -EINVAL);
}

static void test_cmdline_append(void **state)
{
	char buf[16] = "";

	(void)state;
	assert_int_equal(boot_cmdline_append(buf, sizeof(buf), "console=ttyS0"), 0);
	assert_string_equal(buf, "console=ttyS0");
	assert_int_equal(boot_cmdline_append(buf, sizeof(buf), ""), 0);
	assert_int_equal(boot_cmdline_append(buf, sizeof(buf), "ab"), -ENOSPC);
	assert_string_equal(buf, "console=ttyS0");
	assert_int_equal(boot_cmdline_append(buf, sizeof(buf), "a"), 0);
	assert_string_equal(buf, "console=ttyS0 a");
	assert_int_equal(boot_cmdline_append(buf, sizeof(buf), "b"), -ENOSPC);
	memset(buf, 'x', sizeof(buf)); /* not terminated */
	assert_int_equal(boot_cmdline_append(buf, sizeof(buf), "b"), -ENOSPC);
}

static void test_cmdline_write_limits(void **state)
{
	struct guest_mem gm;
	char err[128], line[3000], back[3000];

	(void)state;
	th_gm_create(&gm, MiB(2));
	memset(line, 'a', sizeof(line));
	line[2047] = 0;
	assert_int_equal(boot_cmdline_write(&gm, line, 2047, err, sizeof(err)), 0);
	assert_int_equal(gm_read(&gm, BOOT_CMDLINE_GPA, back, 2048), 0);
	assert_memory_equal(back, line, 2048);
	line[2047] = 'a';
	line[2048] = 0;
	assert_int_equal(boot_cmdline_write(&gm, line, 2047, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "kernel command line too long (2048 bytes, limit 2047)");
	assert_int_equal(boot_cmdline_write(&gm, "", 0, err, sizeof(err)), 0);
	assert_int_equal(boot_cmdline_write(&gm, "x", 0, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "kernel command line too long (1 bytes, limit 0)");
	gm_destroy(&gm);
}

static void test_cmdline_write_clamps_to_buffer(void **state)
{
	struct guest_mem gm;
	char err[128];
	static char line[BOOT_CMDLINE_MAX + 1];

	(void)state;
	th_gm_create(&gm, MiB(2));
	memset(line, 'b', BOOT_CMDLINE_MAX);
	line[BOOT_CMDLINE_MAX] = 0;
	assert_int_equal(boot_cmdline_write(&gm, line, SIZE_MAX, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "kernel command line too long (65536 bytes, limit 65535)");
	line[BOOT_CMDLINE_MAX - 1] = 0;
	assert_int_equal(boot_cmdline_write(&gm, line, SIZE_MAX, err, sizeof(err)), 0);
	gm_destroy(&gm);
}

static void test_cmdline_write_outside_ram_fails(void **state)
{
	struct guest_mem gm;
	char err[128];

	(void)state;
	th_gm_create(&gm, BOOT_CMDLINE_GPA + 4096); /* the buffer runs into the guard page */
	assert_int_equal(boot_cmdline_write(&gm, "short", 100, err, sizeof(err)), 0);
	char big[5000];
	memset(big, 'c', sizeof(big));
	big[4096] = 0;
	assert_int_equal(boot_cmdline_write(&gm, big, 8000, err, sizeof(err)), -EFAULT);
	big[4095] = 0; /* with its NUL exactly the last page */
	assert_int_equal(boot_cmdline_write(&gm, big, 8000, err, sizeof(err)), 0);
	gm_destroy(&gm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmdline_encode_plain),
		cmocka_unit_test(test_cmdline_encode_escapes),
		cmocka_unit_test(test_cmdline_encode_literal_set_and_utf8),
		cmocka_unit_test(test_cmdline_encode_empty_args),
		cmocka_unit_test(test_cmdline_encode_nospc),
		cmocka_unit_test(test_cmdline_encode_bad_args),
		cmocka_unit_test(test_cmdline_encode_list),
		cmocka_unit_test(test_cmdline_append),
		cmocka_unit_test(test_cmdline_write_limits),
		cmocka_unit_test(test_cmdline_write_clamps_to_buffer),
		cmocka_unit_test(test_cmdline_write_outside_ram_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
