// SPDX-License-Identifier: MIT
/*
 * test_e2e_direct_config.c: `agentvmm --config FILE` run for real on this host:
 * bad files (unknown key, wrong type, missing file, bad JSON, a bad value,
 * not an object) give one line naming the key, exit 2 and leave nothing
 * behind; a good file boots a tiny guest (--raw-image) and flags override it;
 * --console FILE receives the guest's console.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/e2e/e2e.h"

static struct th_result res;
static char tmpdir[] = "/tmp/av-config-XXXXXX";
static char cachedir[300];

static const char *path_of(const char *name)
{
	static char path[4][300];
	static int i;

	i = (i + 1) % 4;
	snprintf(path[i], sizeof(path[i]), "%s/%s", tmpdir, name);
	return path[i];
}

static const char *write_file(const char *name, const char *text)
{
	const char *p = path_of(name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

/* Exit 2, exactly one stderr line "agentvmm: <want>", no stdout, no new file. */
static void expect_config_error(const char *const *args, const char *want)
{
	unsigned before = e2e_count_entries(tmpdir), cache_before = e2e_count_entries(cachedir);
	char line[1024];

	e2e_run(&res, 60, args);
	snprintf(line, sizeof(line), "agentvmm: %s\n", want);
	if (res.status != 2 || strcmp(res.err, line))
		fail_msg("status %d, stderr:\n%s\nwanted status 2 and:\n%s", res.status, res.err,
			 line);
	assert_string_equal(res.out, "");
	assert_int_equal(e2e_count_entries(tmpdir), before);
	assert_int_equal(e2e_count_entries(cachedir), cache_before);
}

#define ARGS E2E_ARGS

static void test_config_bad_files_fail_2_naming_the_key(void **state)
{
	const char *f;
	char want[600];

	f = write_file("unknown.json", "{\"kernel\": \"k\", \"memory\": 512}");
	snprintf(want, sizeof(want), "%s: \"memory\": unknown key", f);
	expect_config_error(ARGS("--config", f), want);

	f = write_file("type.json", "{\"kernel\": \"k\", \"mem\": \"512\"}");
	snprintf(want, sizeof(want), "%s: \"mem\": expected a number", f);
	expect_config_error(ARGS("--config", f), want);

	f = write_file("list.json", "{\"kernel\": \"k\", \"disk\": \"a.img\"}");
	snprintf(want, sizeof(want), "%s: \"disk\": expected an array of strings", f);
	expect_config_error(ARGS("--config", f), want);

	f = write_file("value.json", "{\"kernel\": \"k\", \"cpus\": 0}");
	snprintf(want, sizeof(want), "%s: --cpus 0: must be a number from 1 to 255", f);
	expect_config_error(ARGS("--config", f), want);

	f = write_file("bad.json", "{\"kernel\": \"k\",\n\"mem\": 64,\n}");
	snprintf(want, sizeof(want), "%s: not valid JSON (line 3)", f);
	expect_config_error(ARGS("--config", f), want);

	f = write_file("array.json", "[\"--kernel\", \"k\"]");
	snprintf(want, sizeof(want), "%s: expected a JSON object ({\"kernel\": ...})", f);
	expect_config_error(ARGS("--config", f), want);

	f = path_of("missing.json");
	snprintf(want, sizeof(want), "--config %s: No such file or directory", f);
	expect_config_error(ARGS("--config", f), want);
	snprintf(want, sizeof(want), "--config %s: must be a regular file of at most 1048576 bytes",
		 tmpdir);
	expect_config_error(ARGS("--kernel", "k", "--config", tmpdir), want);
}

static void test_config_flag_errors_still_first_line(void **state)
{
	const char *f = write_file("ok.json", "{\"raw-image\": \"x.bin\"}");
	unsigned long long mib = (unsigned long long)sysconf(_SC_PHYS_PAGES) *
				 (unsigned long long)sysconf(_SC_PAGESIZE) >> 20;
	char want[200];

	/* a bad flag after a good file: the flag's own message */
	snprintf(want, sizeof(want), "--mem 1: must be a number of MiB from 16 to %llu (host RAM)",
		 mib);
	expect_config_error(ARGS("--config", f, "--mem", "1"), want);
}

static void test_config_good_file_boots_and_flags_override(void **state)
{
	char text[1024];
	const char *f, *console = path_of("console.log");

	if (access("/dev/kvm", R_OK | W_OK)) {
		print_message("skip: /dev/kvm not accessible\n");
		skip();
	}
	snprintf(text, sizeof(text),
		 "{\"raw-image\": \"%s/exit42.bin\", \"mem\": 32, \"cpus\": 1,"
		 " \"command\": [\"ignored\"]}", AV_TINY_DIR);
	f = write_file("good.json", text);
	e2e_run(&res, 60, ARGS("--config", f));
	assert_int_equal(res.status, 42);
	/* a flag overrides the file's raw image */
	snprintf(text, sizeof(text), "%s/uart_hello.bin", AV_TINY_DIR);
	e2e_run(&res, 60, ARGS("--config", f, "--raw-image", text, "--console", console));
	assert_int_equal(res.status, 0);
	assert_string_equal(res.out, ""); /* the console went to the file */
	FILE *c = fopen(console, "r");
	char buf[256] = "";

	assert_non_null(c);
	assert_non_null(fgets(buf, sizeof(buf), c));
	fclose(c);
	assert_string_equal(buf, "hello from tiny guest\n");
	unlink(console);
}

static int setup(void **state)
{
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(cachedir, sizeof(cachedir), "%s/cache", tmpdir);
	if (mkdir(cachedir, 0700))
		return -1;
	setenv("AGENTVMM_CACHE_DIR", cachedir, 1);
	setenv("TMPDIR", tmpdir, 1);
	return 0;
}

static int teardown(void **state)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_bad_files_fail_2_naming_the_key),
		cmocka_unit_test(test_config_flag_errors_still_first_line),
		cmocka_unit_test(test_config_good_file_boots_and_flags_override),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
