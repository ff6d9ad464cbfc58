// SPDX-License-Identifier: MIT
/*
 * test_tiny_snapshot.c: templates (docs/snapshot.md) with a tiny real-mode
 * guest (guests/snap_ready.S): agentvmm template stops it at the ready mark
 * and writes the file; agentvmm --restore goes on after the mark with the
 * guest's registers, RAM and UART registers intact; the refusals exit 2.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/helpers/th_run.h"

#define TINY_TIMEOUT_S 30

static struct th_result res;
static char dir[64], tmpl[128], guest[512];

static void run(const char *const *argv)
{
	th_run(argv, TINY_TIMEOUT_S, &res);
	if (res.status == -1)
		fail_msg("%s %s: timed out after %d s", argv[1], argv[2], TINY_TIMEOUT_S);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/av-snap-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(tmpl, sizeof(tmpl), "%s/T", dir);
	snprintf(guest, sizeof(guest), "%s/snap_ready.bin", AV_TINY_DIR);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* agentvmm template of snap_ready with (cpus) vCPUs into (out). */
static void make_template(const char *out, const char *cpus)
{
	const char *argv[] = { AV_AGENTVMM, "template", "--raw-image", guest, "--mem", "16",
			       "--cpus", cpus, "--out", out, NULL };
	char tmp[160];
	struct stat st;

	run(argv);
	assert_int_equal(res.status, 0);
	assert_string_equal(res.out, "A"); /* stopped at the mark: no continuation */
	assert_int_equal(stat(out, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* sparse: 16 MiB of guest RAM, a few pages written */
	assert_true((uint64_t)st.st_blocks * 512 < 1024 * 1024);
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	assert_int_equal(access(tmp, F_OK), -1);
}

static void restore_ok(const char *t)
{
	const char *argv[] = { AV_AGENTVMM, "--restore", t, NULL };

	run(argv);
	assert_int_equal(res.status, 43);
	assert_string_equal(res.out, "B\n");
}

static void test_snap_template_then_restore_continues(void **state)
{
	(void)state;
	make_template(tmpl, "1");
	restore_ok(tmpl);
	restore_ok(tmpl); /* the template is not changed by a restore */
}

/* Two restores of one template at once: each its own copy-on-write guest. */
static void test_snap_two_restores_at_once(void **state)
{
	pid_t pid[2];
	int st;

	(void)state;
	make_template(tmpl, "1");
	for (int i = 0; i < 2; i++) {
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i] == 0) {
			const char *argv[] = { AV_AGENTVMM, "--restore", tmpl, NULL };
			static struct th_result r;

			th_run(argv, TINY_TIMEOUT_S, &r);
			_exit(r.status == 43 && !strcmp(r.out, "B\n") ? 0 : 1);
		}
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
}

static void test_snap_two_vcpus(void **state)
{
	char t2[160];

	(void)state;
	snprintf(t2, sizeof(t2), "%s/T2", dir);
	make_template(t2, "2");
	restore_ok(t2);
}

static void test_snap_other_mem_refused(void **state)
{
	const char *argv[] = { AV_AGENTVMM, "--restore", tmpl, "--mem", "32", NULL };

	(void)state;
	make_template(tmpl, "1");
	run(argv);
	assert_int_equal(res.status, 2);
	assert_non_null(strstr(res.err, "--mem 32: the template was made with --mem 16"));
	assert_string_equal(res.out, "");
}

static void test_snap_other_image_refused(void **state)
{
	char other[512];
	const char *argv[] = { AV_AGENTVMM, "--restore", tmpl, "--raw-image", other, NULL };

	(void)state;
	snprintf(other, sizeof(other), "%s/exit42.bin", AV_TINY_DIR);
	make_template(tmpl, "1");
	run(argv);
	assert_int_equal(res.status, 2);
	assert_non_null(strstr(res.err, "the template was made from a raw image"));
}

static void test_snap_truncated_refused(void **state)
{
	char cut[160], cmd[512];
	const char *argv[] = { AV_AGENTVMM, "--restore", cut, NULL };

	(void)state;
	make_template(tmpl, "1");
	snprintf(cut, sizeof(cut), "%s/cut", dir);
	/* inside the metadata, and inside RAM */
	const char *at[] = { "100", "5000", "3000000" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(cmd, sizeof(cmd), "cp %s %s && truncate -s %s %s", tmpl, cut, at[i], cut);
		assert_int_equal(system(cmd), 0);
		run(argv);
		assert_int_equal(res.status, 2);
		assert_non_null(strstr(res.err, "truncated template"));
	}
}

static void test_snap_guest_ends_before_ready_writes_nothing(void **state)
{
	char bin[512], t[160];
	const char *argv[] = { AV_AGENTVMM, "template", "--raw-image", bin, "--mem", "16",
			       "--out", t, NULL };

	(void)state;
	snprintf(bin, sizeof(bin), "%s/exit42.bin", AV_TINY_DIR);
	snprintf(t, sizeof(t), "%s/never", dir);
	run(argv);
	assert_int_equal(res.status, 42);
	assert_int_equal(access(t, F_OK), -1);
	strcat(t, ".tmp");
	assert_int_equal(access(t, F_OK), -1);
}

/* SIGKILL of agentvmm template before the mark: the directory of --out stays empty. */
static void test_snap_sigkill_leaves_nothing(void **state)
{
	char bin[512], t[160], cmd[256];
	const char *argv[] = { AV_AGENTVMM, "template", "--raw-image", bin, "--mem", "16",
			       "--console", "none", "--out", t, NULL };
	pid_t pid;
	int wst;

	(void)state;
	snprintf(bin, sizeof(bin), "%s/ticker.bin", AV_TINY_DIR); /* never reaches a mark */
	snprintf(t, sizeof(t), "%s/T", dir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execv(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	usleep(500000); /* created, running */
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &wst, 0), pid);
	assert_true(WIFSIGNALED(wst));
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A %s)\"", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_snap_template_without_out_is_usage(void **state)
{
	const char *argv[] = { AV_AGENTVMM, "template", "--raw-image", guest, NULL };

	(void)state;
	run(argv);
	assert_int_equal(res.status, 2);
	assert_string_equal(res.err, "agentvmm: agentvmm template: --out FILE or --api-socket "
			    "SOCK (for agentvmm ctl SOCK snapshot FILE) is required\n");
}

/*
 * (argv) run in a child process (its exit status: agentvmm's, 255 on a
 * timeout) once its control socket (sock) exists, or 5 s passed.
 */
static pid_t spawn_with_socket(const char *const *argv, const char *sock)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		static struct th_result r;

		th_run(argv, TINY_TIMEOUT_S, &r);
		_exit(r.status < 0 ? 255 : r.status & 0xff);
	}
	for (int i = 0; i < 500 && access(sock, F_OK); i++)
		usleep(10000);
	return pid;
}

/*
 * agentvmm template --api-socket: held at the mark until "agentvmm ctl SOCK
 * snapshot FILE" (asked at once: the client asks again while the VM boots);
 * a FILE in a missing directory is refused by the client (exit 2) and the VM
 * stays held; the good one is written 0600 with no FILE.tmp, the template VM
 * then ends 0, and a restore of FILE goes on after the mark.
 */
static void test_snap_ctl_snapshot_of_held_template(void **state)
{
	char sock[128], bad[128];
	const char *argv[] = { AV_AGENTVMM, "template", "--raw-image", guest, "--mem", "16",
			       "--api-socket", sock, NULL };
	const char *snap[] = { AV_AGENTVMM, "ctl", sock, "snapshot", tmpl, NULL };
	const char *miss[] = { AV_AGENTVMM, "ctl", sock, "snapshot", bad, NULL };
	const char *info[] = { AV_AGENTVMM, "ctl", sock, "info", NULL };
	struct stat st;
	pid_t pid;
	int wst;

	(void)state;
	snprintf(sock, sizeof(sock), "%s/ctl.sock", dir);
	snprintf(bad, sizeof(bad), "%s/missing/T", dir);
	pid = spawn_with_socket(argv, sock);
	run(miss);
	assert_int_equal(res.status, 2);
	assert_non_null(strstr(res.err, "cannot create a file in"));
	assert_null(strchr(strchr(res.err, '\n') + 1, '\n')); /* one line */
	run(snap);
	assert_int_equal(res.status, 0);
	assert_non_null(strstr(res.out, "bytes: "));
	assert_int_equal(waitpid(pid, &wst, 0), pid);
	assert_true(WIFEXITED(wst));
	assert_int_equal(WEXITSTATUS(wst), 0);
	assert_int_equal(stat(tmpl, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(access(sock, F_OK), -1); /* the VM is gone, its socket too */
	run(info);
	assert_int_equal(res.status, 2);
	restore_ok(tmpl);
}

/* ctl snapshot of a VM that is no template: refused, the VM runs on, the file is not left. */
static void test_snap_ctl_snapshot_of_other_vm_refused(void **state)
{
	char sock[128], ticker[512];
	const char *argv[] = { AV_AGENTVMM, "--raw-image", ticker, "--mem", "16", "--console",
			       "none", "--api-socket", sock, NULL };
	const char *snap[] = { AV_AGENTVMM, "ctl", sock, "snapshot", tmpl, NULL };
	const char *kill[] = { AV_AGENTVMM, "ctl", sock, "kill", NULL };
	pid_t pid;
	int wst;

	(void)state;
	snprintf(sock, sizeof(sock), "%s/ctl.sock", dir);
	snprintf(ticker, sizeof(ticker), "%s/ticker.bin", AV_TINY_DIR);
	pid = spawn_with_socket(argv, sock);
	run(snap);
	assert_int_equal(res.status, 1);
	assert_non_null(strstr(res.err, "only a VM made with agentvmm template"));
	assert_int_equal(access(tmpl, F_OK), -1);
	run(kill);
	assert_int_equal(waitpid(pid, &wst, 0), pid);
	assert_true(WIFEXITED(wst));
	assert_int_equal(WEXITSTATUS(wst), 137); /* it ran on until the kill */
	assert_int_equal(access(tmpl, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_snap_template_then_restore_continues, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_snap_two_restores_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snap_two_vcpus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snap_other_mem_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snap_other_image_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snap_truncated_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snap_guest_ends_before_ready_writes_nothing,
						setup, teardown),
		cmocka_unit_test(test_snap_template_without_out_is_usage),
		cmocka_unit_test_setup_teardown(test_snap_sigkill_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snap_ctl_snapshot_of_held_template, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_snap_ctl_snapshot_of_other_vm_refused, setup,
						teardown),
	};

	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		print_message("skip: no usable /dev/kvm\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
