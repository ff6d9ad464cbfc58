// SPDX-License-Identifier: MIT
/*
 * test_e2e_balloon.c: --balloon (on by default) against the real Debian
 * cloud kernel's virtio_balloon driver. One boot of a 512 MiB guest with
 * the default balloon (reporting at the driver's own order, 9: guest-init
 * must not put back the kernel's "not set" value, which stopped reporting):
 *
 * 1. free page reporting: the guest fills a 300 MiB tmpfs file, agentvmm's
 *    RSS (VmRSS) grows by most of it; the guest deletes the file, and within
 *    FREE_S seconds agentvmm's RSS falls by at least FREE_MIN_MIB of it (the
 *    guest reports the free 2 MiB blocks, the host discards them);
 * 2. the control socket: "balloon" answers with the guest's memory stats
 *    (a later call, after the first asked for fresh ones) and the reported
 *    total; "balloon 256" is reached (actual_mib 256) within TARGET_S seconds
 *    with agentvmm's RSS below its peak; "balloon 0" gives it all back; a
 *    size over --mem is refused with one line.
 *
 * A second boot with --balloon reporting-order=3: the order is kept across
 * the driver's registration. A third with --balloon off: no driver bound,
 * and "balloon" says why.
 *
 * Every wait has its own bound (nested TCG test hosts are slow and uneven)
 * and says what it saw when it fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/e2e/e2e.h"
#include "tests/e2e/e2e_vm.h"
#include "tests/helpers/th.h"

#define TOTAL_S 900          /* the whole boot */
#define BOOT_S 300           /* boot to "READY" */
#define FILL_S 300           /* 300 MiB written in the guest */
#define FREE_S 60            /* freed memory back to the host */
#define FREE_MIN_MIB 200     /* of the 300 MiB freed, at least this much leaves agentvmm's RSS */
#define TARGET_S 120         /* a balloon size reached */
#define FILL_MIB 300
#define STR_(x) #x
#define STR(x) STR_(x)

static char dir[] = "/tmp/av-e2e-balloon-XXXXXX";
static char rundir[600];
static char sock[700];

static int setup(void **state)
{
	if (e2e_make_dirs(dir, rundir, sizeof(rundir)))
		return -1;
	snprintf(sock, sizeof(sock), "%s/api.sock", dir);
	return 0;
}

static int teardown(void **state)
{
	return e2e_rm_rf(dir);
}

static pid_t running; /* agentvmm of the test under way: killed if the test fails */

static int test_teardown(void **state)
{
	int st;

	if (running > 0 && waitpid(running, &st, WNOHANG) == 0) {
		kill(-running, SIGKILL);
		waitpid(running, &st, 0);
	}
	running = 0;
	unlink(sock);
	return 0;
}

/* agentvmm (args...) in the background, its stderr in (dir)/stderr; killed if the test fails. */
static void vm_spawn(struct e2e_vm *v, const char *const *args)
{
	char errf[800];

	snprintf(errf, sizeof(errf), "%s/stderr", dir);
	e2e_vm_spawn(v, args, errf);
	running = v->pid;
}

/* The start of agentvmm's stderr, for a failure message. */
static const char *vm_stderr(void)
{
	char path[800];

	snprintf(path, sizeof(path), "%s/stderr", dir);
	return e2e_slurp(path);
}

/* agentvmm's resident memory (VmRSS) in MiB; 0 once it is gone. */
static uint64_t rss_mib(pid_t pid)
{
	char path[64], line[256];
	uint64_t kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %lu kB", &kb) == 1)
			break;
	fclose(f);
	return kb >> 10;
}

/* One request line on the control socket; the reply line into (buf). */
static bool ctl(const char *req, char *buf, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	size_t have = 0;

	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	buf[0] = 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return false;
	}
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while (have < len - 1 && !memchr(buf, '\n', have)) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pf, 1, 10000) <= 0)
			break;
		n = read(fd, buf + have, len - 1 - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = 0;
	}
	close(fd);
	return strchr(buf, '\n') != NULL;
}

/* The integer after "key": in (json), or -1. */
static long long json_num(const char *json, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\":", key);
	p = strstr(json, k);
	return p ? strtoll(p + strlen(k), NULL, 10) : -1;
}

/* Poll "balloon" until actual_mib is (want); false at the deadline. */
static bool wait_actual(long long want, uint64_t deadline, char *reply, size_t len)
{
	while (e2e_now_ms() < deadline) {
		if (ctl("{\"cmd\":\"balloon\"}\n", reply, len) &&
		    json_num(reply, "actual_mib") == want)
			return true;
		usleep(500000);
	}
	return false;
}

/* After "kill": agentvmm exits 137 before (deadline), or is killed and the test fails. */
static void vm_reap_137(struct e2e_vm *v, uint64_t deadline)
{
	int st;

	while (waitpid(v->pid, &st, WNOHANG) == 0) {
		if (e2e_now_ms() >= deadline) {
			kill(-v->pid, SIGKILL);
			waitpid(v->pid, &st, 0);
			fail_msg("agentvmm did not exit after kill");
		}
		e2e_vm_wait_for(v, "\x01never", e2e_now_ms() + 100); /* keep its stdout drained */
	}
	if (v->out >= 0)
		close(v->out);
	v->out = -1;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 137);
}

static const char guest_script[] =
	"mkdir -p /mnt/b && mount -t tmpfs -o size=400m b /mnt/b || exit 3\n"
	"ls /sys/bus/virtio/drivers/\n"
	"echo order=$(cat /sys/module/page_reporting/parameters/page_reporting_order)\n"
	"sleep 5; echo READY\n"
	"dd if=/dev/zero of=/mnt/b/x bs=1M count=" STR(FILL_MIB) " 2>/dev/null || exit 4\n"
	"echo FILLED; sleep 3; rm /mnt/b/x; echo FREED\n"
	"sleep 600\n";

static void test_e2e_balloon_reporting_and_target(void **state)
{
	uint64_t deadline = e2e_now_ms() + TOTAL_S * 1000ULL, t0, base, peak, low = 0;
	char reply[8192];
	struct e2e_vm v;

	/* the default: no --balloon option at all */
	vm_spawn(&v, E2E_ARGS("--kernel", e2e_kernel("bzImage"), "--mem", "512",
			      "--api-socket", sock, "--", "sh", "-c", guest_script));
	if (!e2e_vm_wait_for(&v, "READY", MIN(deadline, e2e_now_ms() + BOOT_S * 1000ULL)))
		fail_msg("no READY from the guest; it said: %s; agentvmm: %s", v.buf,
			 vm_stderr());
	assert_non_null(strstr(v.buf, "virtio_balloon"));
	/* the driver's own order (pageblock_order): guest-init leaves it alone */
	assert_non_null(strstr(v.buf, "order=9\n"));
	base = rss_mib(v.pid);
	if (!e2e_vm_wait_for(&v, "FILLED", MIN(deadline, e2e_now_ms() + FILL_S * 1000ULL)))
		fail_msg("no FILLED from the guest; it said: %s", v.buf);
	peak = rss_mib(v.pid);
	print_message("RSS: %llu MiB settled, %llu MiB with %d MiB in tmpfs\n",
		      (unsigned long long)base, (unsigned long long)peak, FILL_MIB);
	assert_true(peak >= base + FILL_MIB / 2);
	if (!e2e_vm_wait_for(&v, "FREED", MIN(deadline, e2e_now_ms() + FILL_S * 1000ULL)))
		fail_msg("no FREED from the guest; it said: %s", v.buf);
	t0 = e2e_now_ms();
	while (e2e_now_ms() - t0 < FREE_S * 1000ULL) {
		low = rss_mib(v.pid);
		if (low + FREE_MIN_MIB <= peak)
			break;
		usleep(250000);
	}
	print_message("RSS after the guest freed %d MiB: %llu MiB after %.1f s (peak %llu)\n",
		      FILL_MIB, (unsigned long long)low, (double)(e2e_now_ms() - t0) / 1000,
		      (unsigned long long)peak);
	assert_true(low + FREE_MIN_MIB <= peak);

	/* stats: sent at probe; each call asks for fresh ones, which a later call sees */
	assert_true(ctl("{\"cmd\":\"balloon\"}\n", reply, sizeof(reply)));
	assert_non_null(strstr(reply, "\"ok\":true"));
	assert_non_null(strstr(reply, "\"reporting\":true"));
	t0 = e2e_now_ms();
	while (e2e_now_ms() - t0 < 30000 &&
	       (json_num(reply, "free_memory") <= 0 || json_num(reply, "stats_age_ms") > 2000)) {
		usleep(500000);
		assert_true(ctl("{\"cmd\":\"balloon\"}\n", reply, sizeof(reply)));
	}
	print_message("balloon: %s", reply);
	if (json_num(reply, "total_memory") <= 400LL << 20)
		fail_msg("no memory stats from the guest: %s", reply);
	assert_true(json_num(reply, "free_memory") > 100LL << 20);
	assert_true(json_num(reply, "reported_mib") >= FILL_MIB / 2);

	/* a balloon size: reached, and the host's RSS stays below its peak */
	assert_true(ctl("{\"cmd\":\"balloon\",\"size_mib\":256}\n", reply, sizeof(reply)));
	assert_non_null(strstr(reply, "\"target_mib\":256"));
	t0 = e2e_now_ms();
	if (!wait_actual(256, MIN(deadline, t0 + TARGET_S * 1000ULL), reply, sizeof(reply)))
		fail_msg("balloon 256 not reached: %s", reply);
	print_message("balloon 256 MiB reached in %.1f s; RSS %llu MiB\n",
		      (double)(e2e_now_ms() - t0) / 1000, (unsigned long long)rss_mib(v.pid));
	assert_true(rss_mib(v.pid) < peak);
	assert_true(ctl("{\"cmd\":\"balloon\",\"size_mib\":0}\n", reply, sizeof(reply)));
	if (!wait_actual(0, MIN(deadline, e2e_now_ms() + TARGET_S * 1000ULL), reply, sizeof(reply)))
		fail_msg("balloon 0 not reached: %s", reply);
	assert_true(ctl("{\"cmd\":\"balloon\",\"size_mib\":513}\n", reply, sizeof(reply)));
	assert_non_null(strstr(reply, "\"code\":\"failed\""));
	assert_non_null(strstr(reply, "size 513 MiB: more than the guest's 512 MiB"));

	assert_true(ctl("{\"cmd\":\"kill\"}\n", reply, sizeof(reply)));
	vm_reap_137(&v, deadline);
}

/* --balloon reporting-order=3: kept across the driver's registration. */
static void test_e2e_balloon_reporting_order(void **state)
{
	uint64_t deadline = e2e_now_ms() + BOOT_S * 1000ULL;
	char reply[4096];
	struct e2e_vm v;

	vm_spawn(&v, E2E_ARGS("--kernel", e2e_kernel("bzImage"), "--balloon", "reporting-order=3",
			      "--api-socket", sock, "--", "sh", "-c",
			      "echo order=$(cat /sys/module/page_reporting/parameters/"
			      "page_reporting_order); echo READY; sleep 600"));
	if (!e2e_vm_wait_for(&v, "READY", deadline))
		fail_msg("no READY from the guest; it said: %s; agentvmm: %s", v.buf,
			 vm_stderr());
	assert_non_null(strstr(v.buf, "order=3\n"));
	assert_true(ctl("{\"cmd\":\"kill\"}\n", reply, sizeof(reply)));
	vm_reap_137(&v, e2e_now_ms() + 60000);
}

/* --balloon off: no device, and "balloon" says so. */
static void test_e2e_balloon_off(void **state)
{
	uint64_t deadline = e2e_now_ms() + BOOT_S * 1000ULL;
	char reply[4096];
	struct e2e_vm v;

	vm_spawn(&v, E2E_ARGS("--kernel", e2e_kernel("bzImage"), "--balloon", "off",
			      "--api-socket", sock, "--", "sh", "-c",
			      "ls /sys/bus/virtio/drivers/; echo READY; sleep 600"));
	if (!e2e_vm_wait_for(&v, "READY", deadline))
		fail_msg("no READY from the guest; it said: %s; agentvmm: %s", v.buf,
			 vm_stderr());
	assert_null(strstr(v.buf, "virtio_balloon"));
	assert_true(ctl("{\"cmd\":\"balloon\"}\n", reply, sizeof(reply)));
	assert_non_null(strstr(reply, "the VM has no balloon (--balloon off)"));
	assert_true(ctl("{\"cmd\":\"kill\"}\n", reply, sizeof(reply)));
	vm_reap_137(&v, e2e_now_ms() + 60000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_e2e_balloon_reporting_and_target, test_teardown),
		cmocka_unit_test_teardown(test_e2e_balloon_reporting_order, test_teardown),
		cmocka_unit_test_teardown(test_e2e_balloon_off, test_teardown),
	};
	int ret = e2e_check_host();

	if (ret)
		return ret;
	return cmocka_run_group_tests(tests, setup, teardown);
}
