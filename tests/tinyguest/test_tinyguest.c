// SPDX-License-Identifier: MIT
/* test_tinyguest.c: exit dispatch, platform ports, UART and triple fault with tiny real-mode guests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/helpers/th_run.h"

#define TINY_TIMEOUT_S 30

static struct th_result res;

static void run_tiny(const char *guest, const char *extra)
{
	char bin[512];
	const char *argv[8];
	int n = 0;

	snprintf(bin, sizeof(bin), "%s/%s.bin", AV_TINY_DIR, guest);
	argv[n++] = AV_AGENTVMM;
	argv[n++] = "--raw-image";
	argv[n++] = bin;
	argv[n++] = "--mem";
	argv[n++] = "16";
	if (extra)
		argv[n++] = extra;
	argv[n] = NULL;
	th_run(argv, TINY_TIMEOUT_S, &res);
	if (res.status == -1)
		fail_msg("%s: timed out after %d s", guest, TINY_TIMEOUT_S);
}

static void test_tiny_exit_port_status_42_exits_42(void **state)
{
	run_tiny("exit42", NULL);
	assert_int_equal(res.status, 42);
	assert_string_equal(res.out, "");
}

static void test_tiny_uart_polled_output_reaches_stdout(void **state)
{
	run_tiny("uart_hello", NULL);
	assert_int_equal(res.status, 0);
	assert_string_equal(res.out, "hello from tiny guest\n");
}

static void test_tiny_uart_registers_behave_as_16550a(void **state)
{
	run_tiny("uart_irq", NULL);
	assert_int_equal(res.status, 0);
}

static void test_tiny_i8042_reset_ends_vm_with_0(void **state)
{
	run_tiny("i8042_reset", NULL);
	assert_int_equal(res.status, 0);
}

static void test_tiny_cf9_reset_ends_vm_with_0(void **state)
{
	run_tiny("cf9_reset", NULL);
	assert_int_equal(res.status, 0);
}

static void test_tiny_acpi_s5_ends_vm_with_0(void **state)
{
	run_tiny("acpi_poweroff", NULL);
	assert_int_equal(res.status, 0);
}

static void test_tiny_pvpanic_ends_vm_with_125(void **state)
{
	run_tiny("pvpanic", NULL);
	assert_int_equal(res.status, 125);
	assert_string_equal(res.err, "agentvmm: guest kernel panic\n");
}

/* true when the host CPU has neither vmx nor svm (software KVM such as kvm_pvm) */
static bool host_kvm_is_software(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	bool hw = false;

	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5) == 0) {
			hw = strstr(line, " vmx") || strstr(line, " svm");
			break;
		}
	}
	if (f)
		fclose(f);
	return !hw;
}

static void test_tiny_triple_fault_ends_vm_with_125(void **state)
{
	/*
	 * Software KVM cannot emulate an exception in real mode (it reports an
	 * emulation failure); tests/e2e runs this binary again in the nested
	 * test host, where this case runs.
	 */
	if (host_kvm_is_software()) {
		print_message("skip: needs hardware KVM (runs in the nested test host)\n");
		skip();
	}
	run_tiny("triple_fault", NULL);
	assert_int_equal(res.status, 125);
	assert_non_null(strstr(res.err, "triple fault"));
}

static void test_tiny_unclaimed_port_reads_all_ones(void **state)
{
	run_tiny("unclaimed", NULL);
	assert_int_equal(res.status, 255);
}

/* Hostile 0xcf8/0xcfc accesses: read-only IDs hold, absent functions read all-ones. */
static void test_tiny_pci_cf8_abuse_ids_intact(void **state)
{
	run_tiny("pci_cf8_abuse", NULL);
	assert_int_equal(res.status, 42);
}

static void test_tiny_two_vcpus_boot_and_exit(void **state)
{
	/* APs wait for SIPI in the kernel; the VM still ends when the BSP reports */
	run_tiny("exit42", "--cpus=2");
	assert_int_equal(res.status, 42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tiny_exit_port_status_42_exits_42),
		cmocka_unit_test(test_tiny_uart_polled_output_reaches_stdout),
		cmocka_unit_test(test_tiny_uart_registers_behave_as_16550a),
		cmocka_unit_test(test_tiny_i8042_reset_ends_vm_with_0),
		cmocka_unit_test(test_tiny_cf9_reset_ends_vm_with_0),
		cmocka_unit_test(test_tiny_acpi_s5_ends_vm_with_0),
		cmocka_unit_test(test_tiny_pvpanic_ends_vm_with_125),
		cmocka_unit_test(test_tiny_triple_fault_ends_vm_with_125),
		cmocka_unit_test(test_tiny_unclaimed_port_reads_all_ones),
		cmocka_unit_test(test_tiny_pci_cf8_abuse_ids_intact),
		cmocka_unit_test(test_tiny_two_vcpus_boot_and_exit),
	};

	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		fprintf(stderr, "skip: /dev/kvm not accessible\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
