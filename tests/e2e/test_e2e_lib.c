// SPDX-License-Identifier: MIT
/*
 * test_e2e_lib.c: libagentvmm with the real kernel, two VMs in one process:
 * A prints a counter then exits 3, B sleeps forever. A is paused (its console
 * file stops growing) and resumed (it grows again), B is killed (status 137,
 * AVM_STATUS_KILLED) while A runs on, A exits 3 by itself. States are checked
 * along the way, and after avm_destroy() no fd or thread is left. Runs in the
 * nested test host (tests/e2e/run.sh) where /dev/kvm cannot boot a stock kernel.
 */
#include <agentvmm.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/e2e/e2e.h"
#include "tests/helpers/th_files.h"

static char tmpdir[] = "/tmp/avm-e2e-lib-XXXXXX";

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait until (path) holds more than (than) bytes, at most (secs). */
static bool grows(const char *path, long than, double secs)
{
	double end = now_s() + secs;

	while (now_s() < end) {
		if (file_size(path) > than)
			return true;
		sleep_ms(50);
	}
	return false;
}

static struct avm *kernel_vm(const char *console, int argc, const char *const *argv)
{
	struct avm_config *cfg = avm_config_new();
	struct avm_error err;
	struct avm *vm = NULL;

	assert_non_null(cfg);
	if (avm_config_set(cfg, "kernel", e2e_kernel("bzImage"), &err) ||
	    avm_config_set(cfg, "mem", "256", &err) ||
	    avm_config_set(cfg, "console", console, &err) ||
	    /* the workload's output on the console file, where the ticks are counted */
	    avm_config_set(cfg, "stdio", "console", &err) ||
	    avm_config_set_command(cfg, argc, argv, &err) || avm_create(cfg, &vm, &err))
		fail_msg("config/create: %s", err.msg);
	avm_config_free(cfg);
	return vm;
}

static void test_e2e_lib_two_vms_pause_resume_kill(void **state)
{
	int fds = th_count_entries("/proc/self/fd");
	int tasks = th_count_entries("/proc/self/task");
	char log_a[300];
	const char *const cmd_a[] = {
		"sh", "-c", "i=0; while [ $i -lt 60 ]; do i=$((i+1)); echo tick$i; sleep 0.2; done;"
		" exit 3",
	};
	const char *const cmd_b[] = { "sh", "-c", "while :; do sleep 1; done" };
	struct avm_error err;
	struct avm_info info;
	struct avm *a, *b;
	int status = -1;
	long size;
	double t0;

	snprintf(log_a, sizeof(log_a), "%s/a.log", tmpdir);
	a = kernel_vm(log_a, 3, cmd_a);
	b = kernel_vm("none", 3, cmd_b);
	assert_int_equal(avm_state(a), AVM_STATE_CREATED);
	t0 = now_s();
	assert_int_equal(avm_start(a, &err), 0);
	assert_int_equal(avm_start(b, &err), 0);
	assert_int_equal(avm_state(a), AVM_STATE_RUNNING);
	assert_int_equal(avm_state(b), AVM_STATE_RUNNING);

	/* A's workload runs: a few ticks on its console */
	assert_true(grows(log_a, 0, E2E_BOOT_TIMEOUT_S));
	print_message("  first tick after %.2f s (two VMs booting)\n", now_s() - t0);
	assert_true(grows(log_a, file_size(log_a), 30));

	/* paused: no tick for 2 s */
	assert_int_equal(avm_pause(a, &err), 0);
	assert_int_equal(avm_state(a), AVM_STATE_PAUSED);
	size = file_size(log_a);
	sleep_ms(2000);
	assert_int_equal(file_size(log_a), size);
	assert_int_equal(avm_info(a, &info), 0);
	assert_int_equal(info.state, AVM_STATE_PAUSED);
	assert_int_equal(info.exit_status, -1);
	assert_true(info.vcpu_exits > 0);
	assert_true(info.console_bytes >= (uint64_t)size);

	/* B killed while A is paused; A untouched */
	assert_int_equal(avm_kill(b), 0);
	assert_int_equal(avm_wait(b, 30000, &status), 0);
	assert_int_equal(status, AVM_STATUS_KILLED);
	assert_int_equal(avm_state(b), AVM_STATE_STOPPED);
	assert_int_equal(avm_state(a), AVM_STATE_PAUSED);
	assert_int_equal(file_size(log_a), size);

	/* resumed: ticks again, then A exits 3 by itself */
	assert_int_equal(avm_resume(a, &err), 0);
	assert_int_equal(avm_state(a), AVM_STATE_RUNNING);
	assert_true(grows(log_a, size, 30));
	if (avm_wait(a, E2E_BOOT_TIMEOUT_S * 1000, &status))
		fail_msg("VM A did not exit by itself");
	assert_int_equal(status, 3);
	assert_int_equal(avm_state(a), AVM_STATE_STOPPED);
	assert_int_equal(avm_info(a, &info), 0);
	assert_int_equal(info.exit_status, 3);
	print_message("  A ran %llu ms, %llu vCPU exits, %llu console bytes\n",
		      (unsigned long long)info.uptime_ms, (unsigned long long)info.vcpu_exits,
		      (unsigned long long)info.console_bytes);

	FILE *f = fopen(log_a, "r");
	char line[64], last[64] = "";

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "tick", 4))
			snprintf(last, sizeof(last), "%s", line);
	fclose(f);
	assert_string_equal(last, "tick60\n"); /* no tick lost across the pause */

	avm_destroy(a);
	avm_destroy(b);
	assert_int_equal(th_count_entries("/proc/self/fd"), fds);
	assert_int_equal(th_count_entries("/proc/self/task"), tasks);
}

static int setup(void **state)
{
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_lib_two_vms_pause_resume_kill),
	};

	if (!e2e_kernel("bzImage")) {
		fprintf(stderr, "skip: no test kernel (scripts/fetch-kernel.sh)\n");
		return 77;
	}
	if (access("/dev/kvm", R_OK | W_OK)) {
		fprintf(stderr, "skip: /dev/kvm not accessible\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
