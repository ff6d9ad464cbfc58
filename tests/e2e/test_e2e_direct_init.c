// SPDX-License-Identifier: MIT
/*
 * test_e2e_direct_init.c: bad --init values are refused on the host with one
 * line on stderr and exit status 2, before anything is created (no guest
 * boots, so this runs directly on any host). What only the guest can tell
 * (a missing or non-executable init) is in test_e2e_stage2.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/e2e/e2e.h"

static struct th_result res;
static char tmpdir[] = "/tmp/av-direct-init-XXXXXX";
static char kernel[600];

/* agentvmm (args): status 2, one "agentvmm: " line holding (what) and (why), nothing made. */
static void expect_usage_error(const char *const *args, const char *what, const char *why)
{
	e2e_run(&res, 30, args);
	assert_int_equal(res.status, 2);
	const char *nl = strchr(res.err, '\n');
	if (strncmp(res.err, "agentvmm: ", 10) != 0 || !nl || nl[1] != 0 ||
	    !strstr(res.err, what) || !strstr(res.err, why))
		fail_msg("stderr was:\n%s\nwanted one line with '%s' and '%s'", res.err, what, why);
	assert_string_equal(res.out, "");
	assert_int_equal(e2e_count_entries(tmpdir), 0);
}

#define ARGS E2E_ARGS

static int setup(void **state)
{
	assert_non_null(mkdtemp(tmpdir));
	setenv("TMPDIR", tmpdir, 1);
	setenv("AGENTVMM_CACHE_DIR", tmpdir, 1);
	/* any file will do: the options are refused before the kernel is read */
	const char *k = e2e_kernel("bzImage");
	snprintf(kernel, sizeof(kernel), "%s", k ? k : "/dev/null");
	return 0;
}

static int teardown(void **state)
{
	return rmdir(tmpdir);
}

static void test_direct_init_relative_fails_2(void **state)
{
	expect_usage_error(ARGS("--kernel", kernel, "--init", "sbin/init"), "--init sbin/init",
			   "must be an absolute path in the guest");
	expect_usage_error(ARGS("--kernel", kernel, "--init", ""), "--init",
			   "must be an absolute path in the guest");
}

static void test_direct_init_too_long_fails_2(void **state)
{
	static char longpath[1100];

	longpath[0] = '/';
	memset(longpath + 1, 'n', sizeof(longpath) - 2);
	expect_usage_error(ARGS("--kernel", kernel, "--init", longpath), "--init /nnn",
			   "longer than 1023 bytes");
}

static void test_direct_init_control_characters_fail_2(void **state)
{
	/* a newline would end the line the kernel and guest-init see */
	expect_usage_error(ARGS("--kernel", kernel, "--init", "/sbin/in\nit"), "--init /sbin/in?it",
			   "control characters cannot be passed to the guest");
	expect_usage_error(ARGS("--kernel", kernel, "--init", "/a\tb"), "--init /a?b",
			   "control characters");
}

static void test_direct_init_with_command_fails_2(void **state)
{
	expect_usage_error(ARGS("--kernel", kernel, "--init", "/sbin/init", "--", "true"),
			   "--init /sbin/init", "not with a command after --");
}

static void test_direct_init_needs_value_fails_2(void **state)
{
	expect_usage_error(ARGS("--kernel", kernel, "--init"), "--init", "needs a value");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_direct_init_relative_fails_2),
		cmocka_unit_test(test_direct_init_too_long_fails_2),
		cmocka_unit_test(test_direct_init_control_characters_fail_2),
		cmocka_unit_test(test_direct_init_with_command_fails_2),
		cmocka_unit_test(test_direct_init_needs_value_fails_2),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
