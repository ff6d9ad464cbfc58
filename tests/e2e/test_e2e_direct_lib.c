// SPDX-License-Identifier: MIT
/*
 * test_e2e_direct_lib.c: libagentvmm driving tiny guests (tests/tinyguest/
 * guests/NAME.S, --raw-image) on this host's /dev/kvm: two VMs in one process,
 * pause (no console progress) and resume, kill (status 137), a forced
 * shutdown, a guest exit status, wait timeouts, state names, errors, the
 * balloon's size and info, and no fd or thread left after avm_destroy(). The real-kernel version is
 * test_e2e_lib.c (nested test host).
 */
#include <agentvmm.h>

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/helpers/th_files.h"

static char tmpdir[] = "/tmp/avm-libtest-XXXXXX";

static const char *tiny(const char *name)
{
	static char path[2][512];
	static int i;

	i ^= 1;
	snprintf(path[i], sizeof(path[i]), "%s/%s.bin", AV_TINY_DIR, name);
	return path[i];
}

static const char *console_path(const char *name)
{
	static char path[2][512];
	static int i;

	i ^= 1;
	snprintf(path[i], sizeof(path[i]), "%s/%s.log", tmpdir, name);
	return path[i];
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* A VM of tiny guest (name) with its console in (console) and a dummy command. */
static struct avm *tiny_vm(const char *name, const char *console)
{
	const char *cmd[] = { "x" };
	struct avm_config *cfg = avm_config_new();
	struct avm_error err;
	struct avm *vm = NULL;

	assert_non_null(cfg);
	assert_int_equal(avm_config_set(cfg, "raw-image", tiny(name), &err), 0);
	assert_int_equal(avm_config_set(cfg, "mem", "32", &err), 0);
	assert_int_equal(avm_config_set(cfg, "console", console, &err), 0);
	assert_int_equal(avm_config_set_command(cfg, 1, cmd, &err), 0);
	if (avm_create(cfg, &vm, &err))
		fail_msg("avm_create: %s", err.msg);
	avm_config_free(cfg);
	assert_int_equal(avm_state(vm), AVM_STATE_CREATED);
	return vm;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait until (path) holds more than (than) bytes; false after (ms). */
static bool grows(const char *path, long than, unsigned ms)
{
	for (unsigned t = 0; t < ms; t += 20) {
		if (file_size(path) > than)
			return true;
		sleep_ms(20);
	}
	return false;
}

static void test_lib_two_vms_pause_resume_kill_and_status(void **state)
{
	int fds = th_count_entries("/proc/self/fd");
	int tasks = th_count_entries("/proc/self/task");
	const char *log_a = console_path("a"), *log_b = console_path("b");
	struct avm *a = tiny_vm("ticker", log_a), *b = tiny_vm("ticker", log_b);
	struct avm_error err;
	struct avm_info info;
	int status = -1;
	long size;

	assert_int_equal(avm_start(a, &err), 0);
	assert_int_equal(avm_start(b, &err), 0);
	assert_int_equal(avm_start(b, &err), -EINVAL); /* only once */
	assert_string_equal(err.msg, "the VM is running, not created");
	assert_true(grows(log_a, 0, 10000));
	assert_true(grows(log_b, 0, 10000));
	assert_int_equal(avm_state(a), AVM_STATE_RUNNING);
	assert_int_equal(avm_wait(a, 50, &status), -ETIMEDOUT);
	assert_int_equal(avm_wait(a, 0, &status), -ETIMEDOUT);

	/* paused: a's console stops, b's goes on */
	assert_int_equal(avm_pause(a, &err), 0);
	assert_int_equal(avm_state(a), AVM_STATE_PAUSED);
	assert_int_equal(avm_pause(a, &err), 0); /* idempotent */
	size = file_size(log_a);
	long size_b = file_size(log_b);
	sleep_ms(500);
	assert_int_equal(file_size(log_a), size);
	assert_true(grows(log_b, size_b, 10000));
	assert_int_equal(avm_info(a, &info), 0);
	assert_int_equal(info.state, AVM_STATE_PAUSED);
	assert_int_equal(info.console_bytes, (uint64_t)size);
	assert_int_equal(info.exit_status, -1);
	assert_int_equal(info.pid, getpid());
	assert_int_equal(info.cpus, 1);
	assert_int_equal(info.mem_mib, 32);
	assert_true(info.vcpu_exits >= (uint64_t)size);

	/* resumed: progress again */
	assert_int_equal(avm_resume(a, &err), 0);
	assert_int_equal(avm_state(a), AVM_STATE_RUNNING);
	assert_true(grows(log_a, size, 10000));

	/* b killed: 137; a killed while paused, also 137 */
	assert_int_equal(avm_kill(b), 0);
	assert_int_equal(avm_wait(b, 10000, &status), 0);
	assert_int_equal(status, AVM_STATUS_KILLED);
	assert_int_equal(avm_state(b), AVM_STATE_STOPPED);
	assert_int_equal(avm_pause(b, &err), -EINVAL);
	assert_string_equal(err.msg, "cannot pause: the VM is stopped");
	assert_int_equal(avm_resume(b, &err), -EINVAL);
	assert_int_equal(avm_info(b, &info), 0);
	assert_int_equal(info.exit_status, AVM_STATUS_KILLED);
	size = file_size(log_b);
	sleep_ms(200);
	assert_int_equal(file_size(log_b), size); /* really stopped */
	assert_int_equal(avm_state(a), AVM_STATE_RUNNING); /* the other one untouched */
	assert_int_equal(avm_pause(a, &err), 0);
	assert_int_equal(avm_stop(a, 130), 0);
	assert_int_equal(avm_wait(a, -1, &status), 0);
	assert_int_equal(status, 130);
	avm_destroy(a);
	avm_destroy(b);

	/* nothing left behind: every fd closed, every thread joined */
	assert_int_equal(th_count_entries("/proc/self/fd"), fds);
	assert_int_equal(th_count_entries("/proc/self/task"), tasks);
}

static void test_lib_guest_status_and_forced_shutdown(void **state)
{
	int fds = th_count_entries("/proc/self/fd");
	int tasks = th_count_entries("/proc/self/task");
	struct avm *a = tiny_vm("exit42", "none"), *b = tiny_vm("ticker", "none");
	struct avm_error err;
	struct avm_info info;
	int status = -1;

	assert_int_equal(avm_shutdown(a, 100, &err), -EINVAL); /* not started */
	assert_int_equal(avm_start(a, &err), 0);
	assert_int_equal(avm_start(b, &err), 0);
	assert_int_equal(avm_wait(a, 20000, &status), 0);
	assert_int_equal(status, 42);
	assert_int_equal(avm_wait(a, 0, NULL), 0);
	assert_int_equal(avm_info(a, &info), 0);
	assert_int_equal(info.exit_status, 42);
	/* the ticker ignores the power button (if there is one): forced after 200 ms */
	assert_int_equal(avm_shutdown(b, 200, &err), 1);
	assert_int_equal(avm_state(b), AVM_STATE_STOPPED);
	assert_int_equal(avm_wait(b, 0, &status), 0);
	assert_int_equal(status, AVM_STATUS_KILLED);
	assert_int_equal(avm_shutdown(b, 200, &err), 0); /* already stopped: nothing forced */
	avm_destroy(a);
	avm_destroy(b);
	assert_int_equal(th_count_entries("/proc/self/fd"), fds);
	assert_int_equal(th_count_entries("/proc/self/task"), tasks);
}

/* One JSON-lines request on the control socket (path); the reply line in (reply). */
static void ctl_request(const char *path, const char *req, char *reply, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	size_t n = 0;

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while (n < len - 1) {
		ssize_t r = read(fd, reply + n, len - 1 - n);

		if (r <= 0)
			break;
		n += (size_t)r;
		if (memchr(reply, '\n', n))
			break;
	}
	reply[n] = 0;
	close(fd);
}

/*
 * Two VMs in one process, one with a control socket: info, pause, resume and
 * shutdown over the socket change its state as the library sees it; the
 * forced shutdown (the ticker ignores the button) ends it with 137; the other
 * VM runs on untouched; the socket is gone after avm_destroy().
 */
static void test_lib_two_vms_one_driven_over_control_socket(void **state)
{
	const char *cmd[] = { "x" };
	char sock[256], reply[4096];
	struct avm_config *cfg = avm_config_new();
	struct avm_error err;
	struct avm *a = NULL, *b;
	int status;

	(void)state;
	snprintf(sock, sizeof(sock), "%s/ctl.sock", tmpdir);
	assert_non_null(cfg);
	assert_int_equal(avm_config_set(cfg, "raw-image", tiny("ticker"), &err), 0);
	assert_int_equal(avm_config_set(cfg, "mem", "32", &err), 0);
	assert_int_equal(avm_config_set(cfg, "console", console_path("ctl-a"), &err), 0);
	assert_int_equal(avm_config_set(cfg, "api-socket", sock, &err), 0);
	assert_int_equal(avm_config_set_command(cfg, 1, cmd, &err), 0);
	if (avm_create(cfg, &a, &err))
		fail_msg("avm_create: %s", err.msg);
	avm_config_free(cfg);
	b = tiny_vm("ticker", console_path("ctl-b"));
	assert_int_equal(avm_start(a, &err), 0);
	assert_int_equal(avm_start(b, &err), 0);

	ctl_request(sock, "{\"cmd\":\"info\",\"id\":1}\n", reply, sizeof(reply));
	assert_non_null(strstr(reply, "\"ok\":true"));
	assert_non_null(strstr(reply, "\"state\":\"running\""));
	ctl_request(sock, "{\"cmd\":\"pause\"}\n", reply, sizeof(reply));
	assert_non_null(strstr(reply, "\"ok\":true"));
	assert_int_equal(avm_state(a), AVM_STATE_PAUSED);
	assert_int_equal(avm_state(b), AVM_STATE_RUNNING);
	ctl_request(sock, "{\"cmd\":\"info\"}\n", reply, sizeof(reply));
	assert_non_null(strstr(reply, "\"state\":\"paused\""));
	ctl_request(sock, "{\"cmd\":\"resume\"}\n", reply, sizeof(reply));
	assert_non_null(strstr(reply, "\"ok\":true"));
	assert_int_equal(avm_state(a), AVM_STATE_RUNNING);
	ctl_request(sock, "{\"cmd\":\"shutdown\",\"timeout_ms\":300}\n", reply, sizeof(reply));
	assert_non_null(strstr(reply, "\"ok\":true"));
	assert_int_equal(avm_wait(a, 10000, &status), 0);
	assert_int_equal(status, AVM_STATUS_KILLED);
	assert_int_equal(avm_state(b), AVM_STATE_RUNNING);
	assert_int_equal(avm_wait(b, 0, &status), -ETIMEDOUT);
	avm_destroy(a);
	assert_int_equal(access(sock, F_OK), -1);
	assert_int_equal(avm_kill(b), 0);
	assert_int_equal(avm_wait(b, 10000, &status), 0);
	assert_int_equal(status, AVM_STATUS_KILLED);
	avm_destroy(b);
}

static void test_lib_destroy_running_and_created_vms(void **state)
{
	int fds = th_count_entries("/proc/self/fd");
	int tasks = th_count_entries("/proc/self/task");
	struct avm *a = tiny_vm("ticker", "none"), *b = tiny_vm("ticker", "none");
	struct avm_error err;
	int status;

	assert_int_equal(avm_start(a, &err), 0);
	assert_int_equal(avm_wait(b, 0, &status), -EINVAL); /* never started */
	avm_destroy(a); /* running: killed and joined */
	avm_destroy(b); /* never started */
	avm_destroy(NULL);
	assert_int_equal(th_count_entries("/proc/self/fd"), fds);
	assert_int_equal(th_count_entries("/proc/self/task"), tasks);
}

static void test_lib_errors_come_back_as_code_and_message(void **state)
{
	struct avm_config *cfg = avm_config_new();
	struct avm_error err;
	struct avm *vm = (struct avm *)&err;

	assert_int_equal(avm_create(cfg, &vm, &err), -EINVAL);
	assert_null(vm);
	assert_int_equal(err.code, -EINVAL);
	assert_string_equal(err.msg, "--kernel is required (see --help)");
	assert_int_equal(avm_config_set(cfg, "kernel", "/nonexistent/vmlinuz", &err), 0);
	assert_int_not_equal(avm_create(cfg, &vm, &err), 0);
	assert_non_null(strstr(err.msg, "/nonexistent/vmlinuz"));
	assert_null(vm);
	/* one stdin per process: a second interactive stdio console is refused */
	assert_int_equal(avm_config_set(cfg, "kernel", NULL, &err), -EINVAL);
	assert_string_equal(err.msg, "option --kernel needs a value");
	avm_config_free(cfg);

	cfg = avm_config_new();
	assert_int_equal(avm_config_set(cfg, "raw-image", tiny("ticker"), &err), 0);
	assert_int_equal(avm_config_set(cfg, "mem", "32", &err), 0);
	struct avm *first, *second;

	assert_int_equal(avm_create(cfg, &first, &err), 0);
	assert_int_equal(avm_create(cfg, &second, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "already reads stdin"));
	avm_destroy(first);
	assert_int_equal(avm_create(cfg, &second, &err), 0); /* free again */
	avm_destroy(second);
	avm_config_free(cfg);

	assert_string_equal(avm_state_name(AVM_STATE_CREATED), "created");
	assert_string_equal(avm_state_name(AVM_STATE_RUNNING), "running");
	assert_string_equal(avm_state_name(AVM_STATE_PAUSED), "paused");
	assert_string_equal(avm_state_name(AVM_STATE_STOPPING), "stopping");
	assert_string_equal(avm_state_name(AVM_STATE_STOPPED), "stopped");
	assert_string_equal(avm_state_name((enum avm_state)99), "unknown");
}

/* The balloon through the library: a size within --mem, one over it, none with --balloon off. */
static void test_lib_balloon_set_and_info(void **state)
{
	struct avm *vm = tiny_vm("ticker", console_path("balloon"));
	struct avm_balloon_info bi;
	struct avm_error err;
	struct avm_config *cfg;

	assert_int_equal(avm_balloon_set(vm, 16, &err), 0);
	assert_int_equal(avm_balloon_info(vm, &bi, &err), 0);
	assert_int_equal(bi.target_mib, 16);
	assert_int_equal(bi.actual_mib, 0);
	assert_int_equal(bi.driver, 0); /* a tiny guest has no driver */
	assert_int_equal(bi.stats_valid, 0);
	assert_true(bi.free_bytes == UINT64_MAX);
	assert_int_equal(avm_balloon_set(vm, 33, &err), -EINVAL);
	assert_string_equal(err.msg, "size 33 MiB: more than the guest's 32 MiB");
	avm_destroy(vm);

	cfg = avm_config_new();
	assert_int_equal(avm_config_set(cfg, "raw-image", tiny("ticker"), &err), 0);
	assert_int_equal(avm_config_set(cfg, "mem", "32", &err), 0);
	assert_int_equal(avm_config_set(cfg, "console", console_path("balloon-off"), &err), 0);
	assert_int_equal(avm_config_set(cfg, "balloon", "off", &err), 0);
	assert_int_equal(avm_config_set(cfg, "balloon", "sometimes", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--balloon sometimes: unknown option 'sometimes'"));
	assert_int_equal(avm_create(cfg, &vm, &err), 0);
	avm_config_free(cfg);
	assert_int_equal(avm_balloon_set(vm, 1, &err), -ENODEV);
	assert_string_equal(err.msg, "the VM has no balloon (--balloon off)");
	assert_int_equal(avm_balloon_info(vm, &bi, &err), -ENODEV);
	avm_destroy(vm);
}

static int cleanup(void **state)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/*
 * avm_snapshot(): a template VM (config "template") is ready at its mark,
 * cannot be resumed, refuses a file in a missing directory and stays held,
 * then writes the template (0600, nothing else left in the directory) and
 * ends with status 0; a VM restored from it goes on after the mark (43).
 * No fd or thread is left.
 */
static void test_lib_snapshot_then_restore(void **state)
{
	int fds = th_count_entries("/proc/self/fd");
	int tasks = th_count_entries("/proc/self/task");
	struct avm_config *cfg = avm_config_new();
	struct avm_error err;
	struct avm *vm = NULL;
	char path[600], bad[600], dir[512];
	struct stat st;
	int status;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/snap", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/T", dir);
	snprintf(bad, sizeof(bad), "%s/missing/T", dir);
	assert_non_null(cfg);
	assert_int_equal(avm_config_set(cfg, "raw-image", tiny("snap_ready"), &err), 0);
	assert_int_equal(avm_config_set(cfg, "mem", "16", &err), 0);
	assert_int_equal(avm_config_set(cfg, "console", "none", &err), 0);
	assert_int_equal(avm_config_set(cfg, "template", "true", &err), 0);
	if (avm_create(cfg, &vm, &err))
		fail_msg("avm_create: %s", err.msg);
	avm_config_free(cfg);
	assert_int_equal(avm_start(vm, &err), 0);
	assert_int_equal(avm_wait_ready(vm, 10000), 0);
	assert_int_equal(avm_resume(vm, &err), -EPERM);
	assert_int_equal(avm_snapshot(vm, bad, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "cannot create a file in"));
	assert_int_equal(avm_wait(vm, 0, &status), -ETIMEDOUT); /* still held */
	if (avm_snapshot(vm, path, &err))
		fail_msg("avm_snapshot: %s", err.msg);
	assert_int_equal(avm_wait(vm, 10000, &status), 0);
	assert_int_equal(status, 0);
	avm_destroy(vm);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(th_count_entries(dir), 1); /* T only: no T.tmp */

	cfg = avm_config_new();
	assert_int_equal(avm_config_set(cfg, "raw-image", tiny("snap_ready"), &err), 0);
	assert_int_equal(avm_config_set(cfg, "restore", path, &err), 0);
	assert_int_equal(avm_config_set(cfg, "console", "none", &err), 0);
	if (avm_create(cfg, &vm, &err))
		fail_msg("avm_create (restore): %s", err.msg);
	avm_config_free(cfg);
	assert_int_equal(avm_snapshot(vm, path, &err), -EINVAL); /* not a template VM */
	assert_int_equal(avm_start(vm, &err), 0);
	assert_int_equal(avm_wait(vm, 10000, &status), 0);
	assert_int_equal(status, 43);
	avm_destroy(vm);
	assert_int_equal(th_count_entries("/proc/self/fd"), fds);
	assert_int_equal(th_count_entries("/proc/self/task"), tasks);
}

static void *noop_thread(void *arg)
{
	return arg;
}

int main(void)
{
	pthread_t t;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lib_two_vms_pause_resume_kill_and_status),
		cmocka_unit_test(test_lib_guest_status_and_forced_shutdown),
		cmocka_unit_test(test_lib_two_vms_one_driven_over_control_socket),
		cmocka_unit_test(test_lib_destroy_running_and_created_vms),
		cmocka_unit_test(test_lib_errors_come_back_as_code_and_message),
		cmocka_unit_test(test_lib_balloon_set_and_info),
		cmocka_unit_test(test_lib_snapshot_then_restore),
	};

	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		fprintf(stderr, "skip: /dev/kvm not accessible\n");
		return 77;
	}
	if (!mkdtemp(tmpdir))
		return 1;
	/*
	 * The tests count this process's threads. ThreadSanitizer starts a
	 * helper thread at the first pthread_create(): let that happen first.
	 */
	if (pthread_create(&t, NULL, noop_thread, NULL) || pthread_join(t, NULL))
		return 1;
	return cmocka_run_group_tests(tests, NULL, cleanup);
}
