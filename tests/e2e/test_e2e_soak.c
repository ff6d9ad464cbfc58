// SPDX-License-Identifier: MIT
/*
 * test_e2e_soak.c: short soak and concurrency runs with the real Debian
 * cloud kernel (bench/soak.sh runs the long ones): SOAK_BOOTS boots in a row
 * with a disk, a rw share and `true`, after each of which the host's open
 * files, threads, memory, mounts, temporary and cache files and processes
 * must not grow; then CONC_VMS VMs booted at once, each finishing with its
 * own exit status and its own output.
 */
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/e2e/e2e.h"
#include "tests/e2e/e2e_leak.h"

#define SOAK_BOOTS 5
#define CONC_VMS 4

static char dir[] = "/tmp/av-e2e-soak-XXXXXX";
static char run[600], cache[600];

static int group_setup(void **state)
{
	if (e2e_make_dirs(dir, run, sizeof(run)))
		return -1;
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	mkdir(cache, 0700);
	setenv("AGENTVMM_CACHE_DIR", cache, 1);
	return 0;
}

static int group_teardown(void **state)
{
	return e2e_rm_rf(dir);
}

static void test_e2e_soak_sequential_boots_leak_nothing(void **state)
{
	char share[700], disk[800], sharearg[800];
	static struct th_result res;
	struct leak_fig first = { 0 }, f;

	snprintf(share, sizeof(share), "%s/share", dir);
	mkdir(share, 0755);
	snprintf(disk, sizeof(disk), "%s/disk.img", dir);
	assert_int_equal(e2e_sh("truncate -s 64M %s", disk), 0);
	strcat(disk, ",mount=/data");
	snprintf(sharearg, sizeof(sharearg), "rw:%s:/w", share);
	const char *argv[] = { AV_AGENTVMM, "--kernel", e2e_kernel("bzImage"), "--disk", disk,
			       "--share", sharearg, "--", "true", NULL };

	leak_sample(&f, run, cache);
	leak_print_header(stderr);
	leak_print(stderr, 0, &f);
	for (unsigned i = 1; i <= SOAK_BOOTS; i++) {
		th_run(argv, E2E_BOOT_TIMEOUT_S, &res);
		if (res.status != 0)
			fail_msg("boot %u: status %d, stderr: %s", i, res.status, res.err);
		leak_wait_procs_gone("virtiofsd", 2000);
		leak_sample(&f, run, cache);
		leak_print(stderr, i, &f);
		assert_int_equal(f.virtiofsd, 0);
		assert_int_equal(f.agentvmm, 0);
		assert_int_equal(f.tmp_entries, 0);
		if (i == 1) {
			first = f; /* the first boot made the initramfs and the file system */
			continue;
		}
		assert_int_equal(f.own_fds, first.own_fds);
		assert_int_equal(f.mounts, first.mounts);
		assert_int_equal(f.cache_entries, first.cache_entries);
		assert_true(f.threads <= first.threads + 2);
		assert_true(f.file_nr <= first.file_nr + 32);
		assert_true(f.mem_kib >= first.mem_kib - 64 * 1024);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One read() of *(fd) into (buf, size) at *(len), NUL-terminated; at EOF or error close it, -1. */
static void read_some(int *fd, char *buf, size_t size, size_t *len)
{
	ssize_t n = read(*fd, buf + *len, size - 1 - *len);

	if (n <= 0) {
		close(*fd);
		*fd = -1;
	} else {
		*len += (size_t)n;
		buf[*len] = 0;
	}
}

static void test_e2e_soak_concurrent_vms_each_own_status_and_output(void **state)
{
	pid_t pid[CONC_VMS];
	int out[CONC_VMS];
	char buf[CONC_VMS][4096], share[CONC_VMS][700];
	size_t len[CONC_VMS] = { 0 };
	double t0 = now_s(), took[CONC_VMS];
	int st[CONC_VMS];

	for (int i = 0; i < CONC_VMS; i++) {
		int p[2];
		char sharearg[3000], script[128];

		snprintf(share[i], sizeof(share[i]), "%s/c%d", dir, i);
		mkdir(share[i], 0755);
		assert_int_equal(e2e_sh("echo id%d > %s/id", i, share[i]), 0);
		snprintf(sharearg, sizeof(sharearg), "rw:%s:/w", share[i]);
		snprintf(script, sizeof(script), "cat /w/id; echo out%d > /w/out; exit %d", i, 10 + i);
		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
		pid[i] = fork();
		if (pid[i] == 0) {
			int null = open("/dev/null", O_RDWR);

			dup2(null, 0);
			dup2(p[1], 1);
			dup2(null, 2);
			execl(AV_AGENTVMM, AV_AGENTVMM, "--kernel", e2e_kernel("bzImage"), "--mem",
			      "256", "--share", sharearg, "--", "sh", "-c", script, (char *)NULL);
			_exit(127);
		}
		close(p[1]);
		out[i] = p[0];
		buf[i][0] = 0;
		st[i] = -1;
	}
	for (int left = CONC_VMS; left;) {
		struct pollfd pf[CONC_VMS];

		assert_true(now_s() - t0 < E2E_BOOT_TIMEOUT_S * 2);
		for (int i = 0; i < CONC_VMS; i++)
			pf[i] = (struct pollfd){ .fd = out[i], .events = POLLIN };
		poll(pf, CONC_VMS, 500);
		for (int i = 0; i < CONC_VMS; i++) {
			if (out[i] >= 0 && pf[i].revents)
				read_some(&out[i], buf[i], sizeof(buf[i]), &len[i]);
			int s;
			if (st[i] == -1 && waitpid(pid[i], &s, WNOHANG) == pid[i]) {
				st[i] = WIFEXITED(s) ? WEXITSTATUS(s) : 128 + WTERMSIG(s);
				took[i] = now_s() - t0;
				left--;
			}
		}
	}
	for (int i = 0; i < CONC_VMS; i++) {
		char want[32], path[3000];

		while (out[i] >= 0)
			read_some(&out[i], buf[i], sizeof(buf[i]), &len[i]);
		print_message("  vm %d: status %d after %.1f s, said %s", i, st[i], took[i], buf[i]);
		assert_int_equal(st[i], 10 + i);
		snprintf(want, sizeof(want), "id%d\n", i);
		assert_string_equal(buf[i], want);
		snprintf(path, sizeof(path), "%s/out", share[i]);
		snprintf(want, sizeof(want), "out%d", i);
		assert_int_equal(e2e_sh("grep -qx %s %s", want, path), 0);
	}
	print_message("  %d VMs at once: %.1f s wall\n", CONC_VMS, now_s() - t0);
	assert_int_equal(leak_wait_procs_gone("virtiofsd", 2000), 0);
	assert_int_equal(leak_count_entries(run, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_soak_sequential_boots_leak_nothing),
		cmocka_unit_test(test_e2e_soak_concurrent_vms_each_own_status_and_output),
	};
	int ret;

	if ((ret = e2e_check_host()) || (ret = e2e_check_virtiofsd()))
		return ret;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
