// SPDX-License-Identifier: MIT
/*
 * test_e2e_direct_sandbox.c: a running agentvmm (tiny guest that prints "ready" and
 * halts) is confined: every thread under seccomp, no capabilities, no_new_privs,
 * every fd but 0/1/2 close-on-exec, no writable+executable or executable guest
 * RAM mapping; a forbidden syscall ends it with one line and status 1 (or fails
 * with EPERM in log mode); --no-seccomp is logged and leaves threads unfiltered.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/e2e/e2e.h"
#include "vmm/compiler.h" /* AV_SANITIZER_BUILD */

#define SB_TIMEOUT_S 30
#define SB_VCPUS 2
#define CAP_SETPCAP_BIT 8
#define MIN(a, b) ((a) < (b) ? (a) : (b))

struct vmm {
	pid_t pid;
	int out_fd, err_fd; /* read ends */
	char err[8192];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The agentvmm a test started and has not reaped yet: killed by the teardown if an assertion fails. */
static pid_t live_pid = -1;

static int teardown(void **state)
{
	(void)state;
	if (live_pid > 0) {
		kill(live_pid, SIGKILL);
		waitpid(live_pid, NULL, 0);
		live_pid = -1;
	}
	return 0;
}

static void tiny(char *buf, size_t len, const char *guest)
{
	snprintf(buf, len, "%s/%s.bin", AV_TINY_DIR, guest);
}

/* Start agentvmm on (guest) with (extra) argument (or NULL) and env NAME=VALUE pairs. */
static void vmm_start(struct vmm *m, const char *guest, const char *extra, const char *env1,
		      const char *env2)
{
	int out[2], err[2];
	char bin[512];

	tiny(bin, sizeof(bin), guest);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(pipe2(err, O_CLOEXEC), 0);
	m->pid = fork();
	assert_true(m->pid >= 0);
	if (m->pid == 0) {
		/* no power button in a tiny guest: SIGTERM forces the stop after 1 s */
		char *argv[] = { strdup(AV_AGENTVMM), strdup("--raw-image"), bin, strdup("--mem"),
				 strdup("16"), strdup("--cpus"), strdup("2"),
				 strdup("--shutdown-timeout"), strdup("1"),
				 extra ? strdup(extra) : NULL, NULL };
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		dup2(null, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		/* only agentvmm's own descriptors are under test, not ones it inherits */
		syscall(SYS_close_range, 3U, ~0U, 0U);
		unsetenv("AGENTVMM_SECCOMP");
		unsetenv("AGENTVMM_TEST_SECCOMP_VIOLATION");
		if (env1)
			putenv(strdup(env1));
		if (env2)
			putenv(strdup(env2));
		execv(argv[0], argv);
		_exit(127);
	}
	live_pid = m->pid;
	close(out[1]);
	close(err[1]);
	m->out_fd = out[0];
	m->err_fd = err[0];
	m->err[0] = 0;
}

/* Wait for "ready\n" on the guest console. */
static void vmm_wait_ready(struct vmm *m)
{
	char buf[64];
	size_t n = 0;
	double end = now_s() + SB_TIMEOUT_S;

	while (n < 6 && now_s() < end) {
		struct pollfd p = { .fd = m->out_fd, .events = POLLIN };

		if (poll(&p, 1, 200) == 1) {
			ssize_t r = read(m->out_fd, buf + n, sizeof(buf) - 1 - n);

			if (r <= 0)
				break;
			n += (size_t)r;
		}
	}
	buf[n] = 0;
	if (strcmp(buf, "ready\n") != 0)
		fail_msg("guest did not say ready: '%s'", buf);
}

/* Wait for exit (SIGKILL after the timeout); collect stderr. Return: status as th_run. */
static int vmm_wait(struct vmm *m)
{
	double end = now_s() + SB_TIMEOUT_S;
	size_t n = 0;
	int st = 0;

	for (;;) {
		struct pollfd p = { .fd = m->err_fd, .events = POLLIN };

		if (poll(&p, 1, 100) == 1) {
			ssize_t r = read(m->err_fd, m->err + n, sizeof(m->err) - 1 - n);

			if (r > 0)
				n += (size_t)r;
		}
		if (waitpid(m->pid, &st, WNOHANG) == m->pid)
			break;
		if (now_s() > end) {
			kill(m->pid, SIGKILL);
			waitpid(m->pid, &st, 0);
			st = -1;
			break;
		}
	}
	live_pid = -1;
	for (ssize_t r; (r = read(m->err_fd, m->err + n, sizeof(m->err) - 1 - n)) > 0;)
		n += (size_t)r;
	m->err[n] = 0;
	close(m->out_fd);
	close(m->err_fd);
	if (st == -1)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static bool read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
	return true;
}

/* The value after "Key:\t" in a status file (at its start or a line start), as a string. */
static const char *status_field(const char *status, const char *key, char *out, size_t len)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\n%s:\t", key);
	if (strncmp(status, k + 1, strlen(k + 1)) == 0)
		p = status + strlen(k + 1);
	else if ((p = strstr(status, k)))
		p += strlen(k);
	out[0] = 0;
	if (p) {
		size_t n = strcspn(p, "\n");

		snprintf(out, len, "%.*s", (int)MIN(n, len - 1), p);
	}
	return out;
}

static bool we_have_setpcap(void)
{
	char st[4096], v[64];

	if (!read_file("/proc/self/status", st, sizeof(st)))
		return false;
	return (strtoull(status_field(st, "CapEff", v, sizeof(v)), NULL, 16) >> CAP_SETPCAP_BIT) & 1;
}

/*
 * Every agentvmm thread of (pid) shows Seccomp (want); retried for a while,
 * since the main thread installs its filter after the vCPUs started. Kernel
 * helper tasks (kvm-nx-lpage-recovery, iou-wrk-*) are not counted.
 * Return: agentvmm threads seen.
 */
static int check_tasks(pid_t pid, const char *want_seccomp)
{
	char dir[64], path[384], st[4096], v[64];
	double end = now_s() + 5;
	bool all_caps = we_have_setpcap();
	int n;

	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	for (;;) {
		DIR *d = opendir(dir);
		struct dirent *e;
		bool ok = true;

		assert_non_null(d);
		n = 0;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s/status", dir, e->d_name);
			if (!read_file(path, st, sizeof(st)) ||
			    strcmp(status_field(st, "Name", v, sizeof(v)), "agentvmm") != 0)
				continue;
			n++;
			if (strcmp(status_field(st, "Seccomp", v, sizeof(v)), want_seccomp) != 0) {
				ok = false;
				continue;
			}
			const char *zero = "0000000000000000";
			assert_string_equal(status_field(st, "CapEff", v, sizeof(v)), zero);
			assert_string_equal(status_field(st, "CapPrm", v, sizeof(v)), zero);
			assert_string_equal(status_field(st, "CapInh", v, sizeof(v)), zero);
			assert_string_equal(status_field(st, "CapAmb", v, sizeof(v)), zero);
			/* the bounding set can only be cleared by a holder of CAP_SETPCAP */
			if (all_caps)
				assert_string_equal(status_field(st, "CapBnd", v, sizeof(v)), zero);
			assert_string_equal(status_field(st, "NoNewPrivs", v, sizeof(v)), "1");
		}
		closedir(d);
		if (ok)
			return n;
		if (now_s() > end)
			fail_msg("a thread of agentvmm does not show Seccomp: %s", want_seccomp);
		usleep(20000);
	}
}

static void check_fds(pid_t pid)
{
	char dir[64], path[384], info[1024];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(dir, sizeof(dir), "/proc/%d/fdinfo", (int)pid);
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		const char *p;

		if (e->d_name[0] == '.' || fd <= 2)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (!read_file(path, info, sizeof(info)))
			continue;
		p = strstr(info, "flags:\t");
		assert_non_null(p);
		unsigned long flags = strtoul(p + strlen("flags:\t"), NULL, 8);
		if (!(flags & O_CLOEXEC))
			fail_msg("agentvmm fd %d is not close-on-exec (flags 0%lo)", fd, flags);
		n++;
	}
	closedir(d);
	assert_true(n >= 5); /* kvm, vm, vCPUs, RAM memfd, io_uring, eventfds... */
}

static void check_maps(pid_t pid)
{
	char path[64], line[1024];
	FILE *f;
	bool ram = false;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char perms[8] = "";

		assert_int_equal(sscanf(line, "%*s %7s", perms), 1);
		if (perms[1] == 'w' && perms[2] == 'x')
			fail_msg("writable and executable mapping: %s", line);
		unsigned long lo = 0, hi = 0;

		/*
		 * Guest RAM: the memfd, or anonymous RAM (named where the kernel has
		 * CONFIG_ANON_VMA_NAME, else known by its size, --mem 16)
		 */
		sscanf(line, "%lx-%lx", &lo, &hi);
		if (strstr(line, "agentvmm-ram") || hi - lo == 16ul << 20) {
			ram = true;
			if (perms[2] == 'x')
				fail_msg("executable guest RAM: %s", line);
		}
	}
	fclose(f);
	assert_true(ram);
}

static void test_sandbox_running_vmm_is_confined(void **state)
{
	struct vmm m;

	/* -v: the report at exit reads /proc/self/status under the main thread's filter */
	vmm_start(&m, "ready_halt", "-v", NULL, NULL);
	vmm_wait_ready(&m);
	/* main, I/O thread, two vCPUs, the VM's supervisor */
	assert_int_equal(check_tasks(m.pid, "2"), 3 + SB_VCPUS);
	check_fds(m.pid);
	check_maps(m.pid);
	kill(m.pid, SIGTERM);
	assert_int_equal(vmm_wait(&m), 128 + SIGTERM);
	assert_null(strstr(m.err, "seccomp"));
	assert_non_null(strstr(m.err, "agentvmm: stopped by signal 15\n"));
	assert_non_null(strstr(m.err, "agentvmm: memory: RSS "));
	assert_null(strstr(m.err, "memory: RSS 0 KiB"));
}

static void expect_violation(const char *thread, const char *extra)
{
	char env[64], want[128];
	struct vmm m;

	snprintf(env, sizeof(env), "AGENTVMM_TEST_SECCOMP_VIOLATION=%s", thread);
	vmm_start(&m, "ready_halt", extra, env, NULL);
	assert_int_equal(vmm_wait(&m), 1);
	snprintf(want, sizeof(want),
		 "agentvmm: seccomp: thread %s made forbidden syscall 110 (getppid)\n", thread);
	assert_string_equal(m.err, want);
}

static void test_sandbox_violation_on_each_thread_exits_1_with_one_line(void **state)
{
	char sock[64], api[80];

	expect_violation("main", NULL);
	expect_violation("io", NULL);
	expect_violation("vcpu0", NULL);
	expect_violation("vcpu1", NULL);
	/* the control socket's thread has its own filter */
	snprintf(sock, sizeof(sock), "/tmp/av-sb-ctl-%d.sock", (int)getpid());
	snprintf(api, sizeof(api), "--api-socket=%s", sock);
	expect_violation("ctl", api);
	unlink(sock); /* a violation ends agentvmm at once, like SIGKILL: the next start replaces it */
}

static void test_sandbox_log_mode_reports_and_returns_eperm(void **state)
{
	struct vmm m;

	vmm_start(&m, "exit42", "--seccomp=log", "AGENTVMM_TEST_SECCOMP_VIOLATION=main", NULL);
	assert_int_equal(vmm_wait(&m), 42);
	assert_non_null(strstr(m.err, "agentvmm: seccomp: thread main made forbidden syscall 110 "
				      "(getppid), returning EPERM (log mode)\n"));
	/* the environment variable selects it too */
	vmm_start(&m, "exit42", NULL, "AGENTVMM_TEST_SECCOMP_VIOLATION=io",
		  "AGENTVMM_SECCOMP=log");
	assert_int_equal(vmm_wait(&m), 42);
	assert_non_null(strstr(m.err, "thread io made forbidden syscall 110 (getppid), returning"));
}

static void test_sandbox_no_seccomp_is_logged_and_unfiltered(void **state)
{
	struct vmm m;

	vmm_start(&m, "ready_halt", "--no-seccomp", NULL, NULL);
	vmm_wait_ready(&m);
	/* capabilities are dropped all the same */
	assert_int_equal(check_tasks(m.pid, "0"), 3 + SB_VCPUS);
	kill(m.pid, SIGTERM);
	assert_int_equal(vmm_wait(&m), 128 + SIGTERM);
	assert_non_null(strstr(m.err, "seccomp is off (--no-seccomp)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_sandbox_running_vmm_is_confined, teardown),
		cmocka_unit_test_teardown(test_sandbox_violation_on_each_thread_exits_1_with_one_line, teardown),
		cmocka_unit_test_teardown(test_sandbox_log_mode_reports_and_returns_eperm, teardown),
		cmocka_unit_test_teardown(test_sandbox_no_seccomp_is_logged_and_unfiltered, teardown),
	};

#ifdef AV_SANITIZER_BUILD
	/* agentvmm built with this test runs its sanitizer runtime, which no filter allows */
	printf("skip: sanitizer build (seccomp is off there, docs/security.md)\n");
	return 77;
#endif
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("skip: no usable /dev/kvm\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
