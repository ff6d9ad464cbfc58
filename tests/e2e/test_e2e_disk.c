// SPDX-License-Identifier: MIT
/*
 * test_e2e_disk.c: virtio-blk and virtio-rng against the real Debian cloud
 * kernel: a blank image gets ext4 and a mount, data written by the guest is
 * on the host (also after sync + SIGKILL of agentvmm), read-only disks refuse
 * writes, two disks, four vCPUs with one queue each, and the RNG feeds the guest.
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
#include "tests/helpers/th.h"

static struct th_result res;
static char dir[] = "/tmp/av-e2e-disk-XXXXXX";

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	return e2e_rm_rf(dir);
}

/* A sparse image of (mib) MiB in the test dir; returns its path. */
static const char *image(const char *name, unsigned mib)
{
	static char path[4][512];
	static int i;
	char cmd[700];

	i = (i + 1) % 4;
	snprintf(path[i], sizeof(path[i]), "%s/%s", dir, name);
	snprintf(cmd, sizeof(cmd), "rm -f %s && truncate -s %uM %s", path[i], mib, path[i]);
	assert_int_equal(system(cmd), 0);
	return path[i];
}

static void boot(const char *const *extra, const char *script)
{
	e2e_boot(&res, E2E_BOOT_TIMEOUT_S, NULL, extra, script);
	if (res.status == -1)
		fail_msg("boot timed out; stderr: %s", res.err);
}

#define ARGS E2E_ARGS

static void test_e2e_disk_blank_image_gets_ext4_and_data_reaches_host(void **state)
{
	const char *img = image("var.img", 64);
	char disk[600], cmd[1200], want[64];

	snprintf(disk, sizeof(disk), "%s,mount=/data", img);
	boot(ARGS("--disk", disk),
	     "head -c 4194304 /dev/urandom > /data/blob && sync && md5sum /data/blob");
	assert_int_equal(res.status, 0);
	assert_non_null(strstr(res.err, "is blank: creating an ext4 filesystem"));
	assert_int_equal(sscanf(res.out, "%32s", want), 1);
	snprintf(cmd, sizeof(cmd), "/usr/sbin/debugfs -R 'cat /blob' %s 2>/dev/null | md5sum", img);
	assert_string_equal(e2e_host_line(cmd), strcat(want, "  -"));

	/* second boot: the filesystem is kept, not formatted again */
	boot(ARGS("--disk", disk), "md5sum /data/blob");
	assert_int_equal(res.status, 0);
	assert_null(strstr(res.err, "creating an ext4"));
	assert_non_null(strstr(res.out, "/data/blob"));
}

static void test_e2e_disk_readonly_rejects_writes_and_host_file_unchanged(void **state)
{
	const char *img = image("ro.img", 8);
	char disk[600], cmd[700];

	snprintf(cmd, sizeof(cmd), "printf 'precious' | dd of=%s conv=notrunc 2>/dev/null", img);
	assert_int_equal(system(cmd), 0);
	snprintf(disk, sizeof(disk), "%s,ro", img);
	boot(ARGS("--disk", disk),
	     "head -c 8 /dev/vda; echo; cat /sys/block/vda/ro; "
	     "dd if=/dev/zero of=/dev/vda bs=512 count=1 conv=fsync 2>/dev/null; echo dd=$?");
	assert_int_equal(res.status, 0);
	assert_non_null(strstr(res.out, "precious\n1\n"));
	assert_non_null(strstr(res.out, "dd=1"));
	snprintf(cmd, sizeof(cmd), "head -c 8 %s", img);
	assert_string_equal(e2e_host_line(cmd), "precious");
}

static void test_e2e_disk_two_disks_and_four_cpus_get_a_queue_each(void **state)
{
	char d1[600], d2[600];

	snprintf(d1, sizeof(d1), "%s,mount=/a", image("a.img", 32));
	snprintf(d2, sizeof(d2), "%s,mount=/b", image("b.img", 32));
	boot(ARGS("--cpus", "4", "--disk", d1, "--disk", d2),
	     "echo one > /a/f && echo two > /b/f && cat /a/f /b/f; "
	     "grep -c ^processor /proc/cpuinfo; grep -c 'virtio[0-9]*-req' /proc/interrupts");
	assert_int_equal(res.status, 0);
	/* two disks x four request queues, each with its own MSI-X vector */
	assert_string_equal(res.out, "one\ntwo\n4\n8\n");
}

static void test_e2e_rng_feeds_the_guest(void **state)
{
	boot(NULL, "cat /sys/devices/virtual/misc/hw_random/rng_current; "
		   "head -c 64 /dev/hwrng | wc -c");
	assert_int_equal(res.status, 0);
	assert_string_equal(res.out, "virtio_rng.0\n64\n");
}

/* Data the guest synced survives a SIGKILL of agentvmm right after. */
static void test_e2e_disk_sigkill_after_sync_loses_nothing(void **state)
{
	const char *img = image("kill.img", 16);
	char out[8192] = "", cmd[700];
	size_t len = 0;
	int p[2], st;
	time_t start = time(NULL);
	bool synced = false;

	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		dup2(devnull, 0);
		dup2(p[1], 1);
		close(p[0]);
		execl(AV_AGENTVMM, AV_AGENTVMM, "--kernel", e2e_kernel("bzImage"), "--disk", img,
		      "--", "sh", "-c",
		      "printf 'survives-sigkill' > /dev/vda && sync && echo SYNCED && sleep 1000",
		      (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (!synced && time(NULL) - start < E2E_BOOT_TIMEOUT_S) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };

		if (poll(&pf, 1, 1000) > 0) {
			ssize_t n = read(p[0], out + len, sizeof(out) - 1 - len);
			if (n <= 0)
				break;
			len += (size_t)n;
			out[len] = 0;
			synced = strstr(out, "SYNCED") != NULL;
		}
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(p[0]);
	assert_true(synced);
	assert_true(WIFSIGNALED(st));
	snprintf(cmd, sizeof(cmd), "head -c 16 %s", img);
	assert_string_equal(e2e_host_line(cmd), "survives-sigkill");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_disk_blank_image_gets_ext4_and_data_reaches_host),
		cmocka_unit_test(test_e2e_disk_readonly_rejects_writes_and_host_file_unchanged),
		cmocka_unit_test(test_e2e_disk_two_disks_and_four_cpus_get_a_queue_each),
		cmocka_unit_test(test_e2e_rng_feeds_the_guest),
		cmocka_unit_test(test_e2e_disk_sigkill_after_sync_loses_nothing),
	};
	int ret;

	if ((ret = e2e_check_host()))
		return ret;
	return cmocka_run_group_tests(tests, setup, teardown);
}
