// SPDX-License-Identifier: MIT
/* test_tinyguest.c: exit dispatch, platform ports, UART and triple fault with tiny real-mode guests. */
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
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

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Start (guest) with (timeout) as --shutdown-timeout, wait for its "ready",
 * send (sig) (twice when (twice)), and time the exit from the first signal.
 * Its stderr goes to (err).
 */
static int signal_guest(const char *guest, const char *timeout, int sig, bool twice,
			double *secs, char *err, size_t errlen)
{
	char bin[512], errpath[] = "/tmp/av-tiny-shutdown-XXXXXX", out[256] = "";
	int pfd[2], st = -1, efd = mkstemp(errpath);
	size_t len = 0;
	pid_t pid;

	snprintf(bin, sizeof(bin), "%s/%s.bin", AV_TINY_DIR, guest);
	assert_true(efd >= 0);
	unlink(errpath);
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);

		dup2(in, 0);
		dup2(pfd[1], 1);
		dup2(efd, 2);
		/* -v: the "power button pressed" line tells when the first signal was read */
		execl(AV_AGENTVMM, AV_AGENTVMM, "--raw-image", bin, "--mem", "16",
		      "--shutdown-timeout", timeout, "-v", (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	close(pfd[1]);
	double start = now_s();
	while (!strstr(out, "ready\n") && now_s() - start < TINY_TIMEOUT_S) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };

		if (poll(&p, 1, 1000) > 0) {
			ssize_t n = read(pfd[0], out + len, sizeof(out) - 1 - len);
			if (n <= 0)
				break;
			len += (size_t)n;
			out[len] = 0;
		}
	}
	if (!strstr(out, "ready\n")) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		fail_msg("%s never printed ready: '%s'", guest, out);
	}
	double t0 = now_s();
	kill(pid, sig);
	if (twice) {
		/*
		 * A signal sent before agentvmm read the first would merge with it
		 * (standard signals do not queue): send the second once the first
		 * has pressed the button.
		 */
		while (now_s() - t0 < TINY_TIMEOUT_S) {
			ssize_t n = pread(efd, err, errlen - 1, 0);

			err[n > 0 ? n : 0] = 0;
			if (strstr(err, "power button pressed"))
				break;
			usleep(10000);
		}
		kill(pid, sig);
	}
	/* bounded wait: a guest that is never stopped must fail, not hang */
	while (waitpid(pid, &st, WNOHANG) == 0 && now_s() - t0 < TINY_TIMEOUT_S)
		usleep(10000);
	*secs = now_s() - t0;
	if (*secs >= TINY_TIMEOUT_S) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	close(pfd[0]);
	ssize_t n = pread(efd, err, errlen - 1, 0);
	err[n > 0 ? n : 0] = 0;
	close(efd);
	print_message("%s: %s --shutdown-timeout %s%s: exited after %.3f s\n", guest,
		      strsignal(sig), timeout, twice ? " (signalled twice)" : "", *secs);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* No ACPI, no button: SIGTERM waits out --shutdown-timeout 1, then forces: 143. */
static void test_tiny_sigterm_without_acpi_forced_after_timeout(void **state)
{
	char err[4096];
	double secs;

	assert_int_equal(signal_guest("halt_forever", "1", SIGTERM, false, &secs, err, sizeof(err)),
			 128 + SIGTERM);
	assert_true(secs >= 0.9 && secs < 5.0);
	assert_non_null(strstr(err, "did not shut down within 1 s"));
}

static void test_tiny_sigint_timeout_0_forces_at_once(void **state)
{
	char err[4096];
	double secs;

	assert_int_equal(signal_guest("halt_forever", "0", SIGINT, false, &secs, err, sizeof(err)),
			 128 + SIGINT);
	assert_true(secs < 0.9);
	assert_null(strstr(err, "did not shut down"));
}

static void test_tiny_second_signal_forces_at_once(void **state)
{
	char err[4096];
	double secs;

	/* the first SIGHUP starts a 30 s wait; the second ends it */
	assert_int_equal(signal_guest("halt_forever", "30", SIGHUP, true, &secs, err, sizeof(err)),
			 128 + SIGHUP);
	assert_true(secs < 1.5);
	assert_non_null(strstr(err, "second signal"));
}

/*
 * The guest polls the GED's status port: SIGTERM presses the power button,
 * the guest sees bit 0 (read-to-clear) and reports 7, long before the 30 s
 * timeout; a graceful stop returns what the guest reported.
 */
static void test_tiny_sigterm_presses_power_button(void **state)
{
	char err[4096];
	double secs;

	assert_int_equal(signal_guest("ged_poll", "30", SIGTERM, false, &secs, err, sizeof(err)),
			 7);
	assert_true(secs < 2.0);
	assert_null(strstr(err, "by force"));
}

/*
 * Start the tiny guest (guest) with (extra) options (NULL-terminated), stdout
 * on (out_fd), stdin /dev/null, stderr to a fresh unlinked temp file whose fd
 * goes to (*err_fd). Return: the child's pid.
 */
static pid_t spawn_tiny(const char *guest, const char *const *extra, int out_fd, int *err_fd)
{
	char bin[512], errpath[] = "/tmp/av-tiny-console-XXXXXX";
	char *argv[16];
	int n = 0, efd = mkstemp(errpath);
	pid_t pid;

	snprintf(bin, sizeof(bin), "%s/%s.bin", AV_TINY_DIR, guest);
	assert_true(efd >= 0);
	unlink(errpath);
	argv[n++] = strdup(AV_AGENTVMM);
	argv[n++] = strdup("--raw-image");
	argv[n++] = bin;
	argv[n++] = strdup("--mem");
	argv[n++] = strdup("16");
	while (extra && *extra && n < 15)
		argv[n++] = strdup(*extra++);
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);

		dup2(in, 0);
		dup2(out_fd, 1);
		dup2(efd, 2);
		execv(AV_AGENTVMM, argv);
		_exit(127);
	}
	for (int i = 0; i < n; i++)
		if (argv[i] != bin)
			free(argv[i]);
	assert_true(pid > 0);
	*err_fd = efd;
	return pid;
}

/* Wait at most (limit) s for (pid); a child still running then is killed. Return: status or -1. */
static int wait_bounded(pid_t pid, double limit, double *secs)
{
	double t0 = now_s();
	int st = 0;

	while (waitpid(pid, &st, WNOHANG) == 0 && now_s() - t0 < limit)
		usleep(10000);
	*secs = now_s() - t0;
	if (*secs >= limit) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		return -1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void read_err(int efd, char *err, size_t errlen)
{
	ssize_t n = pread(efd, err, errlen - 1, 0);

	err[n > 0 ? n : 0] = 0;
	close(efd);
}

/*
 * Issue 14: a guest printing into a pipe nobody reads. The vCPU waits for the
 * reader (back-pressure) but must still stop: SIGTERM ends agentvmm at once
 * (--shutdown-timeout 0) and so does the default graceful path at its
 * timeout. Before, the vCPU retried its blocking write(2) forever after the
 * kick's EINTR and teardown hung.
 */
static void test_tiny_console_unread_pipe_still_stops(void **state)
{
	const char *timeouts[] = { "0", "1" };

	for (size_t i = 0; i < 2; i++) {
		const char *extra[] = { "--shutdown-timeout", timeouts[i], NULL };
		char err[4096];
		int pfd[2], efd;
		double secs;

		assert_int_equal(pipe(pfd), 0);
		int cap = fcntl(pfd[0], F_GETPIPE_SZ), queued = 0;
		pid_t pid = spawn_tiny("console_flood", extra, pfd[1], &efd);
		double t0 = now_s();

		close(pfd[1]);
		/* the pipe fills up; then the vCPU waits (back-pressure) */
		while (queued < cap && now_s() - t0 < 30) {
			usleep(20000);
			assert_int_equal(ioctl(pfd[0], FIONREAD, &queued), 0);
		}
		assert_int_equal(queued, cap);
		usleep(200000);
		kill(pid, SIGTERM);
		int st = wait_bounded(pid, 10.0, &secs);
		read_err(efd, err, sizeof(err));
		print_message("console_flood, unread pipe, --shutdown-timeout %s: SIGTERM -> "
			      "exit %d after %.3f s\n", timeouts[i], st, secs);
		close(pfd[0]);
		assert_int_equal(st, 128 + SIGTERM);
		assert_true(secs < 1.0 + atof(timeouts[i]) + 1.0);
		/* what the pipe could not take is reported once */
		const char *note = strstr(err, "bytes of guest output dropped");
		assert_non_null(note);
		assert_null(strstr(note + 1, "bytes of guest output dropped"));
	}
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Issue 14: a --console FILE stops at --console-limit, with one warning. */
#define CONSOLE_FILL_BOUND_S 300 /* 1 MiB of console, one byte per exit */

static void test_tiny_console_file_stops_at_limit(void **state)
{
	char path[] = "/tmp/av-tiny-console-file-XXXXXX", err[4096];
	int fd = mkstemp(path), nul = open("/dev/null", O_WRONLY), efd;
	const char *extra[] = { "--console", path, "--console-limit", "1", "--shutdown-timeout",
				"0", NULL };
	double t0 = now_s(), secs;
	long size = 0;

	assert_true(fd >= 0 && nul >= 0);
	close(fd);
	pid_t pid = spawn_tiny("console_flood_fast", extra, nul, &efd);
	close(nul);
	/*
	 * Every console byte is a VM exit: about 12 s for 1 MiB on a host's
	 * KVM, over 60 s in the nested test host (TCG), so the bound is generous.
	 */
	while ((size = file_size(path)) < (1L << 20) && now_s() - t0 < CONSOLE_FILL_BOUND_S)
		usleep(20000);
	print_message("1 MiB of console file after %.2f s\n", now_s() - t0);
	usleep(500000);
	long later = file_size(path);
	kill(pid, SIGTERM);
	int st = wait_bounded(pid, 10.0, &secs);
	read_err(efd, err, sizeof(err));
	unlink(path);
	assert_int_equal(size, 1L << 20);
	assert_int_equal(later, 1L << 20);
	assert_int_equal(st, 128 + SIGTERM);
	const char *note = strstr(err, "reached its limit of 1 MiB");
	assert_non_null(note);
	assert_null(strstr(note + 1, "reached its limit"));
	assert_null(strstr(err, "bytes of guest output dropped"));
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
		cmocka_unit_test(test_tiny_sigterm_without_acpi_forced_after_timeout),
		cmocka_unit_test(test_tiny_sigint_timeout_0_forces_at_once),
		cmocka_unit_test(test_tiny_second_signal_forces_at_once),
		cmocka_unit_test(test_tiny_sigterm_presses_power_button),
		cmocka_unit_test(test_tiny_console_unread_pipe_still_stops),
		cmocka_unit_test(test_tiny_console_file_stops_at_limit),
	};

	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		fprintf(stderr, "skip: /dev/kvm not accessible\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
