// SPDX-License-Identifier: MIT
/*
 * test_sandbox.c: the pure parts of vmm/sandbox.c (mode choice, names); the
 * filters themselves only in forked children (issue 16: which threads may
 * TUNSETQUEUE). The test process installs no filter.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/compiler.h"
#include "vmm/config.h"
#include "vmm/sandbox.h"

/* ASan and TSan builds default to off (vmm/compiler.h AV_SANITIZER_BUILD) */
#ifdef AV_SANITIZER_BUILD
#define DEFAULT_MODE VM_SECCOMP_OFF
#else
#define DEFAULT_MODE VM_SECCOMP_ON
#endif

static void test_sandbox_mode_flag_beats_environment(void **state)
{
	assert_int_equal(sandbox_resolve_mode(VM_SECCOMP_ON, "off"), VM_SECCOMP_ON);
	assert_int_equal(sandbox_resolve_mode(VM_SECCOMP_LOG, "on"), VM_SECCOMP_LOG);
	assert_int_equal(sandbox_resolve_mode(VM_SECCOMP_OFF, "log"), VM_SECCOMP_OFF);
	/* a flag makes a bad environment value irrelevant */
	assert_int_equal(sandbox_resolve_mode(VM_SECCOMP_ON, "junk"), VM_SECCOMP_ON);
}

static void test_sandbox_mode_from_environment(void **state)
{
	assert_int_equal(sandbox_resolve_mode(VM_SECCOMP_DEFAULT, "on"), VM_SECCOMP_ON);
	assert_int_equal(sandbox_resolve_mode(VM_SECCOMP_DEFAULT, "log"), VM_SECCOMP_LOG);
	assert_int_equal(sandbox_resolve_mode(VM_SECCOMP_DEFAULT, "off"), VM_SECCOMP_OFF);
	assert_int_equal(sandbox_resolve_mode(VM_SECCOMP_DEFAULT, "LOG"), -1);
	assert_int_equal(sandbox_resolve_mode(VM_SECCOMP_DEFAULT, "on "), -1);
	/* unset or empty: the build's default (on; off under a sanitizer) */
	assert_int_equal(sandbox_resolve_mode(VM_SECCOMP_DEFAULT, NULL), DEFAULT_MODE);
	assert_int_equal(sandbox_resolve_mode(VM_SECCOMP_DEFAULT, ""), DEFAULT_MODE);
}

static void test_sandbox_mode_names(void **state)
{
	assert_string_equal(sandbox_mode_name(VM_SECCOMP_ON), "on");
	assert_string_equal(sandbox_mode_name(VM_SECCOMP_LOG), "log");
	assert_string_equal(sandbox_mode_name(VM_SECCOMP_OFF), "off");
}

static void test_sandbox_syscall_names(void **state)
{
	sandbox_names_init();
	assert_string_equal(sandbox_syscall_name(SYS_read), "read");
	assert_string_equal(sandbox_syscall_name(SYS_getppid), "getppid");
	assert_string_equal(sandbox_syscall_name(SYS_execve), "execve");
	assert_string_equal(sandbox_syscall_name(SYS_io_uring_enter), "io_uring_enter");
	assert_string_equal(sandbox_syscall_name(-1), "?");
	assert_string_equal(sandbox_syscall_name(100000), "?");
	assert_string_equal(sandbox_syscall_name(0x40000000L), "?"); /* x32 bit */
}

static void test_sandbox_thread_names(void **state)
{
	char buf[16];

	sandbox_thread_name(SANDBOX_MAIN, 0, buf, sizeof(buf));
	assert_string_equal(buf, "main");
	sandbox_thread_name(SANDBOX_IO, 0, buf, sizeof(buf));
	assert_string_equal(buf, "io");
	sandbox_thread_name(SANDBOX_CTL, 0, buf, sizeof(buf));
	assert_string_equal(buf, "ctl");
	sandbox_thread_name(SANDBOX_VCPU, 254, buf, sizeof(buf));
	assert_string_equal(buf, "vcpu254");
	sandbox_thread_name(SANDBOX_VCPU, 7, buf, 4);
	assert_string_equal(buf, "vcp");
}

/*
 * In a child: the filter of thread (kind), then TUNSETQUEUE on /dev/null
 * (ENOTTY where the filter allows it). Return: the child's exit status: 0
 * allowed, SANDBOX_VIOLATION_STATUS trapped.
 */
static int tunsetqueue_as(enum sandbox_thread kind)
{
	int st;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct vm_config cfg;
		struct ifreq ifr = { .ifr_flags = IFF_DETACH_QUEUE };
		int fd = open("/dev/null", O_RDONLY);

		dup2(fd, STDERR_FILENO); /* the violation line: not the test's output */
		config_init(&cfg);
		cfg.seccomp = VM_SECCOMP_ON;
		cfg.keep_caps = true; /* leave the test runner's capabilities alone */
		if (fd < 0 || sandbox_begin(&cfg) || sandbox_enter_thread(kind, 0, -1))
			_exit(90);
		if (ioctl(fd, TUNSETQUEUE, &ifr) == 0 || errno != ENOTTY)
			_exit(91);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* issue 16: tap queues detach at activation (vCPU) and VQ_PAIRS_SET (I/O) only */
static void test_sandbox_tunsetqueue_only_on_device_threads(void **state)
{
	assert_int_equal(tunsetqueue_as(SANDBOX_VCPU), 0);
	assert_int_equal(tunsetqueue_as(SANDBOX_IO), 0);
	assert_int_equal(tunsetqueue_as(SANDBOX_MAIN), SANDBOX_VIOLATION_STATUS);
	assert_int_equal(tunsetqueue_as(SANDBOX_CTL), SANDBOX_VIOLATION_STATUS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sandbox_mode_flag_beats_environment),
		cmocka_unit_test(test_sandbox_mode_from_environment),
		cmocka_unit_test(test_sandbox_mode_names),
		cmocka_unit_test(test_sandbox_syscall_names),
		cmocka_unit_test(test_sandbox_thread_names),
		cmocka_unit_test(test_sandbox_tunsetqueue_only_on_device_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
