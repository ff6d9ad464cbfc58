// SPDX-License-Identifier: MIT
/*
 * test_e2e_boot.c: boot the real Debian cloud kernel (bzImage and PVH vmlinux)
 * with our initramfs and check output, exit status, CPUs, memory, power events
 * and the interactive console. Needs a /dev/kvm that runs a stock kernel: on
 * software KVM, tests/e2e/run.sh runs this binary inside the nested test host.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdbool.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/e2e/e2e.h"

static struct th_result res;

/* Boot (kernel) with agentvmm args (extra...) then "--" and the command. */
static void boot(const char *kernel, const char *const *extra, const char *const *cmd)
{
	const char *argv[64];
	int n = 0;

	argv[n++] = AV_AGENTVMM;
	argv[n++] = "--kernel";
	argv[n++] = e2e_kernel(kernel);
	for (; extra && *extra; extra++)
		argv[n++] = *extra;
	if (cmd) {
		argv[n++] = "--";
		for (; *cmd; cmd++)
			argv[n++] = *cmd;
	}
	argv[n] = NULL;
	th_run(argv, E2E_BOOT_TIMEOUT_S, &res);
	if (res.status == -1)
		fail_msg("boot timed out after %d s; stderr: %s", E2E_BOOT_TIMEOUT_S, res.err);
	print_message("  boot took %.2f s\n", res.secs);
}

#define CMD(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void test_e2e_bzimage_echo_prints_only_hello(void **state)
{
	boot("bzImage", NULL, CMD("echo", "hello"));
	assert_string_equal(res.out, "hello\n");
	assert_int_equal(res.status, 0);
}

static void test_e2e_pvh_vmlinux_echo_prints_hello(void **state)
{
	boot("vmlinux", NULL, CMD("echo", "hello"));
	assert_string_equal(res.out, "hello\n");
	assert_int_equal(res.status, 0);
}

static void test_e2e_exit_status_7_propagates(void **state)
{
	boot("bzImage", NULL, CMD("sh", "-c", "exit 7"));
	assert_int_equal(res.status, 7);
}

static void test_e2e_argv_reaches_guest_byte_for_byte(void **state)
{
	/* spaces, quotes, separators, percent, an empty arg, UTF-8 and a raw 0xff byte */
	boot("bzImage", NULL,
	     CMD("printf", "[%s]\\n", "a b", "\"dq\"", "it's", "x,y", "100%", "", "ünï", "\xff",
		 "--cmdline", "a=b c"));
	assert_string_equal(res.out, "[a b]\n[\"dq\"]\n[it's]\n[x,y]\n[100%]\n[]\n[ünï]\n[\xff]\n"
				     "[--cmdline]\n[a=b c]\n");
	assert_int_equal(res.status, 0);
}

static void test_e2e_two_cpus_and_1024_mib_are_seen(void **state)
{
	boot("bzImage", CMD("--cpus", "2", "--mem", "1024"),
	     CMD("sh", "-c", "grep -c ^processor /proc/cpuinfo; "
			     "cat /sys/devices/system/cpu/online; "
			     "awk '/MemTotal/ {print $2}' /proc/meminfo"));
	assert_int_equal(res.status, 0);
	unsigned cpus = 0;
	char online[32] = "";
	unsigned long kb = 0;
	assert_int_equal(sscanf(res.out, "%u %31s %lu", &cpus, online, &kb), 3);
	assert_int_equal(cpus, 2);
	assert_string_equal(online, "0-1");
	/* MemTotal is RAM minus the kernel's own reservations */
	assert_true(kb > 900 * 1024 && kb <= 1024 * 1024);
}

static void test_e2e_guest_poweroff_exits_0(void **state)
{
	boot("bzImage", NULL, CMD("poweroff", "-f"));
	assert_int_equal(res.status, 0);
}

static void test_e2e_guest_reboot_exits_0(void **state)
{
	boot("bzImage", NULL, CMD("reboot", "-f"));
	assert_int_equal(res.status, 0);
}

static void test_e2e_guest_panic_exits_125(void **state)
{
	boot("bzImage", NULL, CMD("sh", "-c", "echo c > /proc/sysrq-trigger"));
	assert_int_equal(res.status, 125);
	assert_non_null(strstr(res.err, "guest kernel panic"));
}

static void test_e2e_orphans_reaped_and_signal_status(void **state)
{
	/* a background orphan must not keep the VM alive; killed workload -> 128+sig */
	boot("bzImage", NULL, CMD("sh", "-c", "sleep 1000 & kill -TERM $$"));
	assert_int_equal(res.status, 128 + SIGTERM);
	assert_true(res.secs < E2E_BOOT_TIMEOUT_S);
}

static void test_e2e_command_not_found_exits_127(void **state)
{
	boot("bzImage", NULL, CMD("/no/such/program"));
	assert_int_equal(res.status, 127);
	/* the session's ERROR: one line on stderr, nothing on stdout */
	assert_non_null(strstr(res.err, "agentvmm: /no/such/program: No such file or directory"));
	assert_string_equal(res.out, "");
}

/* Interactive console over a pty: type commands, read echoes, quit with exit. */
static void test_e2e_interactive_console_runs_shell(void **state)
{
	char kernel[4096];

	snprintf(kernel, sizeof(kernel), "%s", e2e_kernel("bzImage"));
	char buf[65536];
	size_t len = 0;
	int master, st;
	bool sent = false;
	time_t start = time(NULL);
	pid_t pid = forkpty(&master, NULL, NULL, NULL);

	if (pid == 0) {
		execl(AV_AGENTVMM, AV_AGENTVMM, "--kernel", kernel, (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	while (time(NULL) - start < E2E_BOOT_TIMEOUT_S) {
		struct pollfd p = { .fd = master, .events = POLLIN };

		if (poll(&p, 1, 1000) > 0) {
			ssize_t n = read(master, buf + len, sizeof(buf) - 1 - len);
			if (n <= 0)
				break;
			len += (size_t)n;
			buf[len] = 0;
		}
		if (!sent && strstr(buf, "# ")) {
			const char *in = "echo $((6*7))-interactive; exit 5\r";
			assert_true(write(master, in, strlen(in)) > 0);
			sent = true;
		}
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(master);
	assert_true(sent);
	assert_non_null(strstr(buf, "42-interactive"));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_bzimage_echo_prints_only_hello),
		cmocka_unit_test(test_e2e_pvh_vmlinux_echo_prints_hello),
		cmocka_unit_test(test_e2e_exit_status_7_propagates),
		cmocka_unit_test(test_e2e_argv_reaches_guest_byte_for_byte),
		cmocka_unit_test(test_e2e_two_cpus_and_1024_mib_are_seen),
		cmocka_unit_test(test_e2e_guest_poweroff_exits_0),
		cmocka_unit_test(test_e2e_guest_reboot_exits_0),
		cmocka_unit_test(test_e2e_guest_panic_exits_125),
		cmocka_unit_test(test_e2e_orphans_reaped_and_signal_status),
		cmocka_unit_test(test_e2e_command_not_found_exits_127),
		cmocka_unit_test(test_e2e_interactive_console_runs_shell),
	};

	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		fprintf(stderr, "skip: /dev/kvm not accessible\n");
		return 77;
	}
	if (!e2e_kernel("bzImage") || !e2e_kernel("vmlinux")) {
		fprintf(stderr, "FAIL: test kernel missing; run scripts/fetch-kernel.sh\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
