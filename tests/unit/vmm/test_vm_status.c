// SPDX-License-Identifier: MIT
/*
 * test_vm_status.c: a status the guest reports that is also one of
 * agentvmm's own (1, 125, 137) is named as the guest's on stderr at the
 * default log level (issue 14; docs/architecture.md "Exit status").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/log.h"
#include "vmm/vm.h"

/* vm_guest_status(status) at the default level; Return: what it wrote to stderr in (out). */
static int guest_status_stderr(int status, char *out, size_t len)
{
	int fd = memfd_create("test-status", MFD_CLOEXEC), saved = dup(STDERR_FILENO), r;
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	r = vm_guest_status(status);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	n = pread(fd, out, len - 1, 0);
	close(fd);
	assert_true(n >= 0);
	out[n] = '\0';
	return r;
}

static void test_vm_guest_status_colliding_codes_are_named(void **state)
{
	static const struct { int status; const char *whose; } cases[] = {
		{ VM_STATUS_HOST_FAILURE, "host-failure" },
		{ VM_STATUS_GUEST_CRASH, "guest-crash" },
		{ VM_STATUS_KILLED, "kill" },
	};
	char out[512], want[160];

	log_set_level(LOG_WARN); /* the default */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(guest_status_stderr(cases[i].status, out, sizeof(out)),
				 cases[i].status);
		snprintf(want, sizeof(want),
			 "agentvmm: warning: guest reported exit status %d: the workload's own, "
			 "not agentvmm's %s status\n", cases[i].status, cases[i].whose);
		assert_string_equal(out, want);
	}
}

static void test_vm_guest_status_other_codes_are_quiet(void **state)
{
	static const int quiet[] = { 0, 2, 42, 123, 124, 126, 136, 138, 143, 255 };
	char out[512];

	log_set_level(LOG_WARN);
	for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++) {
		assert_int_equal(guest_status_stderr(quiet[i], out, sizeof(out)), quiet[i]);
		assert_string_equal(out, "");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vm_guest_status_colliding_codes_are_named),
		cmocka_unit_test(test_vm_guest_status_other_codes_are_quiet),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
