// SPDX-License-Identifier: MIT
/* test_sandbox.c: the pure parts of vmm/sandbox.c (mode choice, names). Installs no filter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <cmocka.h>

#include "vmm/compiler.h"
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sandbox_mode_flag_beats_environment),
		cmocka_unit_test(test_sandbox_mode_from_environment),
		cmocka_unit_test(test_sandbox_mode_names),
		cmocka_unit_test(test_sandbox_syscall_names),
		cmocka_unit_test(test_sandbox_thread_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
