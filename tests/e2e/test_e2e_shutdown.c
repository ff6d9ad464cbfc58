// SPDX-License-Identifier: MIT
/*
 * test_e2e_shutdown.c: a signal to agentvmm is a graceful shutdown of a real
 * Debian guest: agentvmm presses the ACPI power button (GED -> PWRB), the
 * button driver's acpi_event reaches guest-init, which SIGTERMs the
 * workload, syncs, unmounts and reports the workload's status. A guest
 * without a power-button driver is stopped by force after
 * --shutdown-timeout. Each case prints how long the stop took.
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

static char dir[] = "/tmp/av-e2e-shutdown-XXXXXX";
static char rundir[600];

struct run {
	pid_t pid;
	int out_fd;
	int err_fd;              /* a file: agentvmm's stderr */
	char out[16384];
	size_t len;
	int status;              /* exit status, 128+sig if killed, -1 if it had to be killed */
	double stop_secs;        /* from the signal to agentvmm's exit */
	char err[8192];
};

static int setup(void **state)
{
	return e2e_make_dirs(dir, rundir, sizeof(rundir));
}

static int teardown(void **state)
{
	return e2e_rm_rf(dir);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read agentvmm's stdout until (marker) or EOF or (deadline). */
static bool read_until(struct run *r, const char *marker, double deadline)
{
	while (!(marker && strstr(r->out, marker)) && now_s() < deadline) {
		struct pollfd pf = { .fd = r->out_fd, .events = POLLIN };

		if (poll(&pf, 1, 200) > 0) {
			ssize_t n = read(r->out_fd, r->out + r->len, sizeof(r->out) - 1 - r->len);
			if (n <= 0)
				return false;
			r->len += (size_t)n;
			r->out[r->len] = 0;
		}
	}
	return marker && strstr(r->out, marker);
}

/* Start agentvmm (extra args) -- sh -c (script); return once the script printed READY. */
static void start_until_ready(struct run *r, const char *const *extra, const char *script)
{
	char errpath[700];
	char *argv[32];
	int n = 0, p[2];

	memset(r, 0, sizeof(*r));
	snprintf(errpath, sizeof(errpath), "%s/stderr-XXXXXX", dir);
	r->err_fd = mkstemp(errpath);
	assert_true(r->err_fd >= 0);
	unlink(errpath);
	/* execv() takes char *const[]: the strings themselves are not written */
#define ARG(s) ((char *)(uintptr_t)(s))
	argv[n++] = ARG(AV_AGENTVMM);
	argv[n++] = ARG("--kernel");
	argv[n++] = ARG(e2e_kernel("bzImage"));
	for (; extra && *extra; extra++)
		argv[n++] = ARG(*extra);
	argv[n++] = ARG("--");
	argv[n++] = ARG("sh");
	argv[n++] = ARG("-c");
	argv[n++] = ARG(script);
	argv[n] = NULL;
#undef ARG
	assert_int_equal(pipe(p), 0);
	r->pid = fork();
	if (r->pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(p[1], 1);
		dup2(r->err_fd, 2);
		close(p[0]);
		execv(AV_AGENTVMM, argv);
		_exit(127);
	}
	assert_true(r->pid > 0);
	close(p[1]);
	r->out_fd = p[0];
	if (!read_until(r, "READY", now_s() + E2E_BOOT_TIMEOUT_S)) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
		fail_msg("the guest never got READY; out: %s", r->out);
	}
}

/* Send (sig) and wait for agentvmm to exit (at most (bound_s), then SIGKILL). */
static void signal_and_wait(struct run *r, int sig, double bound_s)
{
	double t0 = now_s();
	int st = 0;
	pid_t w = 0;

	assert_int_equal(kill(r->pid, sig), 0);
	while (now_s() - t0 < bound_s) {
		read_until(r, NULL, now_s() + 0.05);
		w = waitpid(r->pid, &st, WNOHANG);
		if (w == r->pid)
			break;
	}
	r->stop_secs = now_s() - t0;
	if (w != r->pid) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, &st, 0);
		r->status = -1;
	} else {
		r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	read_until(r, NULL, now_s() + 0.2);
	close(r->out_fd);
	ssize_t n = pread(r->err_fd, r->err, sizeof(r->err) - 1, 0);
	r->err[n > 0 ? n : 0] = 0;
	close(r->err_fd);
	print_message("  %s -> exit %d after %.2f s\n", strsignal(sig), r->status, r->stop_secs);
	if (r->status == -1)
		fail_msg("agentvmm did not exit within %.0f s of %s; stderr: %s", bound_s,
			 strsignal(sig), r->err);
}

static void assert_no_virtiofsd(void)
{
	assert_int_equal(leak_wait_procs_gone("virtiofsd", 2000), 0);
}

static const char *mkdir_in(const char *name)
{
	static char path[600];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(mkdir(path, 0777), 0);
	return path;
}

/*
 * (a) SIGTERM -> power button -> guest-init SIGTERMs the workload, which
 * traps it, writes to the rw share and exits 0: agentvmm exits 0 (the
 * workload's status), well before the default 10 s timeout, with both
 * files on the host and no virtiofsd left.
 */
static void test_e2e_sigterm_shuts_guest_down_cleanly(void **state)
{
	const char *w = mkdir_in("w");
	char share[700], path[700];
	struct run r;

	snprintf(share, sizeof(share), "rw:%s:/w", w);
	start_until_ready(&r, (const char *const[]){ "--share", share, NULL },
			  "trap 'echo got TERM; echo after > /w/after; exit 0' TERM; "
			  "echo before > /w/before; echo READY; sleep 1000 & wait");
	signal_and_wait(&r, SIGTERM, 60);
	if (r.status != 0)
		fail_msg("status %d; out: %s; err: %s", r.status, r.out, r.err);
	assert_non_null(strstr(r.out, "got TERM"));
	assert_null(strstr(r.err, "by force"));
	assert_true(r.stop_secs < 10);
	snprintf(path, sizeof(path), "%s/before", w);
	assert_string_equal(e2e_slurp(path), "before\n");
	snprintf(path, sizeof(path), "%s/after", w);
	assert_string_equal(e2e_slurp(path), "after\n");
	assert_no_virtiofsd();
}

/*
 * (a) A workload that does not trap SIGTERM dies of it: the graceful stop
 * returns its status, 143, and what it wrote to a --disk is on the image.
 */
static void test_e2e_sigint_stops_sleep_with_143_disk_synced(void **state)
{
	char img[700], disk[800], cmd[1600];
	struct run r;

	snprintf(img, sizeof(img), "%s/data.img", dir);
	int fd = open(img, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 64 << 20), 0);
	close(fd);
	snprintf(disk, sizeof(disk), "%s,mount=/d", img);
	start_until_ready(&r, (const char *const[]){ "--disk", disk, NULL },
			  "echo on-disk > /d/f; echo READY; exec sleep 1000");
	signal_and_wait(&r, SIGINT, 60);
	if (r.status != 128 + SIGTERM)
		fail_msg("status %d; err: %s", r.status, r.err);
	assert_null(strstr(r.err, "by force"));
	assert_true(r.stop_secs < 10);
	/* the page cache was synced and the filesystem unmounted before the report */
	snprintf(cmd, sizeof(cmd), "debugfs -R 'cat /f' %s 2>/dev/null | grep -qx on-disk && "
		 "e2fsck -fn %s >/dev/null 2>&1", img, img);
	assert_int_equal(system(cmd), 0);
}

/*
 * (b) A guest without a power-button driver (button.ko blacklisted on the
 * kernel command line: the GED's Notify reaches no driver) ignores the
 * press: --shutdown-timeout 2 then stops it by force, status 128+SIGTERM,
 * and still leaves no virtiofsd behind.
 */
static void test_e2e_guest_ignoring_button_forced_after_timeout(void **state)
{
	const char *w = mkdir_in("ign");
	char share[700];
	struct run r;

	snprintf(share, sizeof(share), "rw:%s:/w", w);
	start_until_ready(&r, (const char *const[]){ "--share", share, "--shutdown-timeout", "2",
						     "--cmdline", "module_blacklist=button", NULL },
			  "trap 'echo got TERM' TERM; echo READY; sleep 1000 & wait");
	signal_and_wait(&r, SIGTERM, 30);
	assert_int_equal(r.status, 128 + SIGTERM);
	assert_true(r.stop_secs >= 1.9 && r.stop_secs < 6);
	assert_null(strstr(r.out, "got TERM"));
	assert_non_null(strstr(r.err, "did not shut down within 2 s"));
	assert_no_virtiofsd();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_sigterm_shuts_guest_down_cleanly),
		cmocka_unit_test(test_e2e_sigint_stops_sleep_with_143_disk_synced),
		cmocka_unit_test(test_e2e_guest_ignoring_button_forced_after_timeout),
	};

	if (!e2e_kernel("bzImage")) {
		fprintf(stderr, "skip: no test kernel (scripts/fetch-kernel.sh)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
