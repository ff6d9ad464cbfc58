// SPDX-License-Identifier: MIT
/*
 * test_oci_state.c: agentvmm-oci's state files, status, flags and hooks
 * (oci/state.c, oci/flags.c, oci/hooks.c), against real files and processes.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "oci/runtime.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_oci_state.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_oci_id(void **state)
{
	char long_id[OCI_ID_MAX + 2];

	(void)state;
	assert_true(oci_id_ok("a"));
	assert_true(oci_id_ok("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
	assert_true(oci_id_ok("my_ctr-1.2+x"));
	assert_false(oci_id_ok(""));
	assert_false(oci_id_ok("."));
	assert_false(oci_id_ok(".."));
	assert_false(oci_id_ok("a/b"));
	assert_false(oci_id_ok("a b"));
	assert_false(oci_id_ok("a\nb"));
	memset(long_id, 'x', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = 0;
	assert_false(oci_id_ok(long_id));
	long_id[OCI_ID_MAX] = 0;
	assert_true(oci_id_ok(long_id));
}

static void test_oci_flags(void **state)
{
	const char *bundle = NULL, *pid = NULL;
	bool force = false, all = false;
	const struct oci_flag f[] = {
		{ "bundle", 'b', true, &bundle, NULL },
		{ "pid-file", 0, true, &pid, NULL },
		{ "force", 'f', false, NULL, &force },
		{ "all", 'a', false, NULL, &all },
	};
	char msg[128];
	char b1[] = "--bundle", b2[] = "/b", b3[] = "-pid-file=/p", b4[] = "-f", b5[] = "ID";
	char b6[] = "x", c1[] = "-b=/c", c2[] = "--all=false", c3[] = "--", c4[] = "--force";
	char d1[] = "--nope", e1[] = "--force=maybe";
	char *a1[] = { b1, b2, b3, b4, b5, b6 };
	char *a2[] = { c1, c2, c3, c4 };
	char *a3[] = { d1, b5 };
	char *a4[] = { b1 };
	char *a5[] = { e1 };

	(void)state;
	assert_int_equal(oci_flags_parse(6, a1, f, 4, msg, sizeof(msg)), 4);
	assert_string_equal(bundle, "/b");
	assert_string_equal(pid, "/p");
	assert_true(force);
	force = false;
	all = true;
	assert_int_equal(oci_flags_parse(4, a2, f, 4, msg, sizeof(msg)), 3);
	assert_string_equal(bundle, "/c");
	assert_false(all);
	assert_false(force); /* after "--": positional */
	assert_int_equal(oci_flags_parse(2, a3, f, 4, msg, sizeof(msg)), -1);
	assert_string_equal(msg, "flag provided but not defined: --nope");
	assert_int_equal(oci_flags_parse(1, a4, f, 4, msg, sizeof(msg)), -1);
	assert_string_equal(msg, "flag needs an argument: --bundle");
	assert_int_equal(oci_flags_parse(1, a5, f, 4, msg, sizeof(msg)), -1);
}

static void test_oci_state_roundtrip_and_status(void **state)
{
	struct oci_state st = { .pid = 0 }, back;
	char ann[] = "io.x=1", *kv[] = { ann }, bundle[] = "/bundle";
	char created[] = "2026-12-07T00:00:00Z";
	char *json;
	pid_t child;

	(void)state;
	snprintf(st.id, sizeof(st.id), "c1");
	st.bundle = bundle;
	st.created = created;
	st.annotations = oci_annotations_json(kv, 1);
	assert_non_null(st.annotations);
	assert_int_equal(oci_state_write(dir, &st), 0);
	assert_int_equal(oci_state_read(dir, &back), 0);
	assert_string_equal(back.id, "c1");
	assert_string_equal(back.bundle, "/bundle");
	assert_string_equal(back.annotations, "{\"io.x\":\"1\"}");
	/* pid 0: create has not finished */
	assert_string_equal(oci_status(dir, &back), "creating");
	oci_state_fini(&back);
	free(st.annotations);
	st.annotations = NULL;

	/* this process as the monitor: alive, its status file says the rest */
	st.pid = getpid();
	st.start = oci_pid_start(getpid());
	assert_true(st.start > 0);
	assert_int_equal(oci_state_write(dir, &st), 0);
	assert_int_equal(oci_state_read(dir, &back), 0);
	assert_string_equal(oci_status(dir, &back), "created");
	assert_int_equal(oci_write_status(dir, "running"), 0);
	assert_string_equal(oci_status(dir, &back), "running");
	assert_int_equal(oci_write_status(dir, "paused"), 0);
	assert_string_equal(oci_status(dir, &back), "paused");
	json = oci_state_json(&back, "running");
	assert_non_null(json);
	assert_non_null(strstr(json, "\"status\":\"running\""));
	assert_non_null(strstr(json, "\"id\":\"c1\""));
	free(json);
	/* a reused pid (other start time) is not ours: stopped */
	back.start++;
	assert_string_equal(oci_status(dir, &back), "stopped");
	oci_state_fini(&back);

	/* a monitor that exited (and a zombie) is stopped; its state shows pid 0 */
	child = fork();
	assert_true(child >= 0);
	if (!child)
		_exit(0);
	st.pid = child;
	st.start = oci_pid_start(child); /* 0 if it is already a zombie */
	waitpid(child, NULL, 0);
	assert_false(oci_alive(&st));
	assert_string_equal(oci_status(dir, &st), "stopped");
	json = oci_state_json(&st, "stopped");
	assert_non_null(strstr(json, "\"pid\":0"));
	free(json);
}

static void test_oci_state_damaged(void **state)
{
	struct oci_state st;
	char path[128];

	(void)state;
	assert_int_equal(oci_state_read("/nonexistent-oci-dir", &st), -ENOENT);
	snprintf(path, sizeof(path), "%s/state.json", dir);
	assert_int_equal(oci_write_file(path, "{\"id\":\"x\""), 0);
	assert_int_equal(oci_state_read(dir, &st), -EINVAL);
	assert_int_equal(oci_write_file(path, "{\"id\":\"x\",\"pid\":-1,\"start\":1}"), 0);
	assert_int_equal(oci_state_read(dir, &st), -EINVAL);
	assert_int_equal(oci_write_file(path, "{\"id\":5,\"pid\":1,\"start\":1}"), 0);
	assert_int_equal(oci_state_read(dir, &st), -EINVAL);
}

static void test_oci_hooks(void **state)
{
	char out[128], arg2[160], msg[256], *text;
	char sh[] = "/bin/sh", c[] = "-c", fail[] = "exit 3", slow[] = "sleep 5";
	char *args_ok[] = { sh, c, arg2, NULL };
	char *args_fail[] = { sh, c, fail, NULL };
	char *args_slow[] = { sh, c, slow, NULL };
	struct oci_hook ok = { .path = sh, .args = args_ok, .nargs = 3 };
	struct oci_hook bad = { .path = sh, .args = args_fail, .nargs = 3 };
	struct oci_hook slow_h = { .path = sh, .args = args_slow, .nargs = 3, .timeout = 1 };

	(void)state;
	snprintf(out, sizeof(out), "%s/hook.out", dir);
	snprintf(arg2, sizeof(arg2), "cat > '%s'", out);
	/* the state on stdin */
	assert_int_equal(oci_run_hooks(&ok, 1, "{\"id\":\"h\"}", msg, sizeof(msg)), 0);
	assert_int_equal(oci_read_file(out, 4096, &text, NULL), 0);
	assert_string_equal(text, "{\"id\":\"h\"}");
	free(text);
	/* a failing hook stops the ones after it */
	assert_int_equal(oci_run_hooks(&bad, 1, "{}", msg, sizeof(msg)), -EIO);
	assert_string_equal(msg, "hook /bin/sh: exited with status 3");
	/* its timeout bounds it */
	assert_int_equal(oci_run_hooks(&slow_h, 1, "{}", msg, sizeof(msg)), -ETIMEDOUT);
	assert_string_equal(msg, "hook /bin/sh: timed out after 1 s");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oci_id),
		cmocka_unit_test(test_oci_flags),
		cmocka_unit_test_setup_teardown(test_oci_state_roundtrip_and_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oci_state_damaged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oci_hooks, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
