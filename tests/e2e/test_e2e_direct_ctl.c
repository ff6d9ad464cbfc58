// SPDX-License-Identifier: MIT
/*
 * test_e2e_direct_ctl.c: the real agentvmm with --api-socket, running a tiny
 * guest that halts forever, driven by the real "agentvmm ctl" client: ping,
 * info (state, pid), unsupported and unknown commands, kill (exit status 137,
 * socket gone), client usage errors, a second agentvmm on a live socket, a
 * stale socket after SIGKILL, a non-socket path, and SIGTERM cleanup. No
 * kernel boots, so it runs directly on this host (any /dev/kvm).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/e2e/e2e.h"

#define GUEST AV_TINY_DIR "/hlt_forever.bin"
#define VM_LIMIT_S 60 /* each agentvmm is SIGKILLed past this */

static char dir[] = "/tmp/av-ctl-e2e-XXXXXX";
static char sock[128];
static struct th_result res;

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* agentvmm --raw-image GUEST --api-socket (path) [extra], stdin /dev/null, output to (log). */
static pid_t spawn_vm(const char *path, const char *log)
{
	pid_t pid = fork();

	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY), out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(in, 0);
		dup2(out, 1);
		dup2(out, 2);
		alarm(VM_LIMIT_S); /* SIGALRM kills it (default action) if a test hangs */
		/* a tiny guest has no power button: SIGTERM forces the stop after 1 s */
		execl(AV_AGENTVMM, AV_AGENTVMM, "--raw-image", GUEST, "--shutdown-timeout", "1",
		      "--api-socket", path, (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	return pid;
}

/* Wait up to (ms) for (pid) to exit; its exit status (128+sig when killed), -1 on timeout. */
static int wait_exit(pid_t pid, unsigned ms)
{
	uint64_t end = ms_now() + ms;
	int st;

	while (ms_now() < end) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static bool is_socket(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* The VM's socket answers ping (retry while agentvmm starts up). */
static void wait_ready(const char *path)
{
	for (uint64_t end = ms_now() + 10000; ms_now() < end; usleep(20000)) {
		if (!is_socket(path))
			continue;
		th_run((const char *const[]){ AV_AGENTVMM, "ctl", path, "ping", NULL }, 10, &res);
		if (res.status == 0)
			return;
	}
	fail_msg("agentvmm never answered on %s", path);
}

static void ctl(const char *cmd, const char *opt)
{
	const char *argv[] = { AV_AGENTVMM, "ctl", sock, cmd, opt, NULL };

	th_run(argv, 15, &res);
}

static void expect_one_line(const char *s, const char *want)
{
	const char *nl = strchr(s, '\n');

	if (!nl || nl[1] || !strstr(s, want))
		fail_msg("wanted one line containing '%s', got:\n%s", want, s);
}

static void test_ctl_e2e_ping_info_kill(void **state)
{
	char log[160], want[64];
	pid_t pid;

	(void)state;
	snprintf(log, sizeof(log), "%s/vm.log", dir);
	pid = spawn_vm(sock, log);
	wait_ready(sock);

	ctl("ping", NULL);
	assert_int_equal(res.status, 0);
	assert_string_equal(res.out, "ok\n");

	ctl("info", NULL);
	assert_int_equal(res.status, 0);
	snprintf(want, sizeof(want), "\npid: %d\n", (int)pid);
	if (strncmp(res.out, "state: running\n", 15) || !strstr(res.out, want) ||
	    !strstr(res.out, "\nconfig.cpus: 1\n") || !strstr(res.out, "\nconfig.mem_mib: 512\n") ||
	    !strstr(res.out, "\nconfig.pmems: 0\n"))
		fail_msg("info output:\n%s", res.out);

	ctl("info", "--json");
	assert_int_equal(res.status, 0);
	snprintf(want, sizeof(want), "\"pid\":%d,", (int)pid);
	assert_non_null(strstr(res.out, "{\"ok\":true,\"result\":{\"state\":\"running\","));
	assert_non_null(strstr(res.out, want));

	/* pause parks the vCPUs, info says so, resume lets them go */
	ctl("pause", NULL);
	assert_int_equal(res.status, 0);
	ctl("info", "--json");
	assert_int_equal(res.status, 0);
	assert_non_null(strstr(res.out, "\"state\":\"paused\""));
	ctl("resume", NULL);
	assert_int_equal(res.status, 0);
	ctl("info", "--json");
	assert_non_null(strstr(res.out, "\"state\":\"running\""));
	ctl("resume", NULL); /* running already: nothing to do */
	assert_int_equal(res.status, 0);
	ctl("reboot", NULL);
	assert_int_equal(res.status, 1);
	expect_one_line(res.err, "agentvmm ctl: reboot: unknown-command: unknown command \"reboot\"");
	ctl("info", "--timeout-ms=5");
	assert_int_equal(res.status, 1);
	expect_one_line(res.err, "bad-field: timeout_ms: only shutdown takes a timeout");
	ctl("ping", NULL);
	assert_int_equal(res.status, 0);

	/* the balloon: a size is taken (a tiny guest has no driver to reach it), 513 refused */
	ctl("balloon", "256");
	assert_int_equal(res.status, 0);
	if (strncmp(res.out, "target_mib: 256\nactual_mib: 0\ndriver: false\n", 44))
		fail_msg("balloon output:\n%s", res.out);
	ctl("balloon", "513");
	assert_int_equal(res.status, 1);
	expect_one_line(res.err, "agentvmm ctl: balloon: failed: balloon: size 513 MiB: more than "
			"the guest's 512 MiB");
	ctl("balloon", "--json");
	assert_int_equal(res.status, 0);
	assert_non_null(strstr(res.out, "{\"ok\":true,\"result\":{\"target_mib\":256,"));

	/* a second agentvmm on the live socket: exit 2, the first is untouched */
	snprintf(log, sizeof(log), "%s/vm2.log", dir);
	th_run((const char *const[]){ AV_AGENTVMM, "--raw-image", GUEST, "--api-socket", sock, NULL },
	       30, &res);
	assert_int_equal(res.status, 2);
	expect_one_line(res.err, "another process is listening on it");
	ctl("ping", NULL);
	assert_int_equal(res.status, 0);

	uint64_t t0 = ms_now();
	ctl("kill", NULL);
	assert_int_equal(res.status, 0);
	assert_string_equal(res.out, "ok\n");
	assert_int_equal(wait_exit(pid, 10000), 137);
	assert_true(ms_now() - t0 < 10000);
	assert_false(is_socket(sock));
	assert_int_equal(access(sock, F_OK), -1);

	ctl("ping", NULL);
	assert_int_equal(res.status, 2);
	expect_one_line(res.err, "No such file or directory (is agentvmm running with --api-socket?)");
}

/* shutdown: the button is pressed; a tiny guest ignores it, so the stop is forced (137) at the timeout. */
static void test_ctl_e2e_shutdown_forced_at_timeout(void **state)
{
	char log[160];
	pid_t pid;

	(void)state;
	snprintf(log, sizeof(log), "%s/vm4.log", dir);
	pid = spawn_vm(sock, log);
	wait_ready(sock);
	uint64_t t0 = ms_now();
	ctl("shutdown", "--timeout-ms=300");
	assert_int_equal(res.status, 0);
	assert_int_equal(wait_exit(pid, 10000), 137);
	assert_true(ms_now() - t0 >= 300);
	assert_int_equal(access(sock, F_OK), -1);
}

/* SIGKILL leaves the socket behind; the next agentvmm replaces it. SIGTERM cleans up. */
static void test_ctl_e2e_stale_socket_after_sigkill(void **state)
{
	char log[160];
	pid_t pid;

	(void)state;
	snprintf(log, sizeof(log), "%s/vm3.log", dir);
	pid = spawn_vm(sock, log);
	wait_ready(sock);
	kill(pid, SIGKILL);
	assert_int_equal(wait_exit(pid, 10000), 128 + SIGKILL);
	assert_true(is_socket(sock));
	ctl("ping", NULL);
	assert_int_equal(res.status, 2);
	expect_one_line(res.err, "Connection refused (stale socket: agentvmm is gone)");

	pid = spawn_vm(sock, log);
	wait_ready(sock);
	kill(pid, SIGTERM);
	assert_int_equal(wait_exit(pid, 10000), 128 + SIGTERM);
	assert_int_equal(access(sock, F_OK), -1);
}

static void test_ctl_e2e_non_socket_refused(void **state)
{
	char path[160], buf[8];
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/not-a-socket", dir);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	assert_int_equal(write(fd, "data", 4), 4);
	close(fd);
	th_run((const char *const[]){ AV_AGENTVMM, "--raw-image", GUEST, "--api-socket", path, NULL },
	       30, &res);
	assert_int_equal(res.status, 2);
	expect_one_line(res.err, "exists and is not a socket (not replacing it)");
	fd = open(path, O_RDONLY);
	assert_int_equal(read(fd, buf, sizeof(buf)), 4);
	close(fd);
	unlink(path);

	th_run((const char *const[]){ AV_AGENTVMM, "--raw-image", GUEST, "--api-allow-uid", "5",
				      NULL }, 30, &res);
	assert_int_equal(res.status, 2);
	expect_one_line(res.err, "--api-allow-uid needs --api-socket");
	th_run((const char *const[]){ AV_AGENTVMM, "--raw-image", GUEST, "--api-allow-uid", "x",
				      NULL }, 30, &res);
	assert_int_equal(res.status, 2);
	expect_one_line(res.err, "--api-allow-uid x: expected a numeric uid");
}

static void test_ctl_e2e_client_usage_errors(void **state)
{
	static const struct {
		const char *argv[6];
		const char *msg;
	} cases[] = {
		{ { "ctl", NULL }, "usage: agentvmm ctl SOCKET" },
		{ { "ctl", "/x.sock", NULL }, "usage: agentvmm ctl SOCKET" },
		{ { "ctl", "/x.sock", "ping", "extra", NULL }, "unexpected argument 'extra'" },
		{ { "ctl", "/x.sock", "ping", "--bogus", NULL }, "unknown option --bogus" },
		{ { "ctl", "/x.sock", "shutdown", "--timeout-ms", NULL }, "option --timeout-ms needs a value" },
		{ { "ctl", "/x.sock", "shutdown", "--timeout-ms=-1", NULL }, "--timeout-ms -1: expected" },
		{ { "ctl", "/x.sock", "balloon", "lots", NULL }, "balloon lots: expected a size in MiB" },
		{ { "ctl", "/x.sock", "balloon", "1048577", NULL }, "from 0 to 1048576" },
		{ { "ctl", "/x.sock", "info", "5", NULL }, "unexpected argument '5'" },
		{ { "ctl", "/nonexistent/x.sock", "ping", NULL }, "/nonexistent/x.sock: No such file" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[8] = { AV_AGENTVMM };

		for (int j = 0; cases[i].argv[j]; j++)
			argv[j + 1] = cases[i].argv[j];
		th_run(argv, 15, &res);
		assert_int_equal(res.status, 2);
		assert_string_equal(res.out, "");
		expect_one_line(res.err, cases[i].msg);
		assert_int_equal(strncmp(res.err, "agentvmm ctl: ", 14), 0);
	}
	th_run((const char *const[]){ AV_AGENTVMM, "ctl", "--help", NULL }, 15, &res);
	assert_int_equal(res.status, 0);
	assert_non_null(strstr(res.out, "usage: agentvmm ctl SOCKET"));
}

static int setup(void **state)
{
	(void)state;
	if (access("/dev/kvm", R_OK | W_OK)) {
		fprintf(stderr, "skip: no /dev/kvm\n");
		exit(77);
	}
	if (!mkdtemp(dir))
		return -1;
	snprintf(sock, sizeof(sock), "%s/control.sock", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[96];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ctl_e2e_ping_info_kill),
		cmocka_unit_test(test_ctl_e2e_shutdown_forced_at_timeout),
		cmocka_unit_test(test_ctl_e2e_stale_socket_after_sigkill),
		cmocka_unit_test(test_ctl_e2e_non_socket_refused),
		cmocka_unit_test(test_ctl_e2e_client_usage_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
