// SPDX-License-Identifier: MIT
/*
 * test_e2e_direct_soak.c: the short soak run directly on this host (no real
 * kernel): SOAK_BOOTS tiny-guest boots in a row, each with a disk and a rw
 * share (so a virtiofsd is started and stopped every time); every
 * SOAK_EVERY boots the figures agentvmm could leak are taken and must not
 * grow: our fds and mounts, its temporary and cache files, its processes.
 * Host-wide figures (file-nr, threads, MemAvailable) are printed, not
 * asserted: other work shares this host. bench/soak.sh runs the long one.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/e2e/e2e.h"
#include "tests/e2e/e2e_leak.h"

#define SOAK_BOOTS 20
#define SOAK_EVERY 5
#define TINY_TIMEOUT_S 30

static char dir[] = "/tmp/av-e2e-dsoak-XXXXXX";

/* build/tests/e2e/<us> -> build/tests/tinyguest/(name).bin */
static const char *tiny(const char *name)
{
	static char path[PATH_MAX + 64];
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return NULL;
	self[n] = 0;
	*strrchr(self, '/') = 0;
	snprintf(path, sizeof(path), "%s/../tinyguest/%s.bin", self, name);
	return access(path, R_OK) ? NULL : path;
}

static void test_e2e_direct_soak_tiny_boots_leak_nothing(void **state)
{
	char run[600], cache[600], share[700], img[700], sharearg[800];
	struct leak_fig base, f;
	static struct th_result res;
	const char *bin = tiny("exit42");
	bool vfsd = access("/usr/lib/qemu/virtiofsd", X_OK) == 0;

	if (!bin)
		skip();
	snprintf(run, sizeof(run), "%s/run", dir);
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	snprintf(share, sizeof(share), "%s/share", dir);
	snprintf(img, sizeof(img), "%s/disk.img", dir);
	mkdir(run, 0700);
	mkdir(cache, 0700);
	mkdir(share, 0755);
	assert_int_equal(truncate(img, 0), -1); /* absent */
	FILE *fi = fopen(img, "w");
	assert_non_null(fi);
	fclose(fi);
	assert_int_equal(truncate(img, 8 << 20), 0);
	setenv("TMPDIR", run, 1);
	setenv("AGENTVMM_CACHE_DIR", cache, 1);
	snprintf(sharearg, sizeof(sharearg), "rw:%s:/w", share);
	const char *argv[] = { AV_AGENTVMM, "--raw-image", bin, "--mem", "16", "--disk", img,
			       vfsd ? "--share" : NULL, sharearg, NULL };

	leak_sample(&base, run, cache);
	leak_print_header(stderr);
	leak_print(stderr, 0, &base);
	for (unsigned i = 1; i <= SOAK_BOOTS; i++) {
		th_run(argv, TINY_TIMEOUT_S, &res);
		if (res.status != 42)
			fail_msg("boot %u: status %d, stderr: %s", i, res.status, res.err);
		if (i % SOAK_EVERY)
			continue;
		leak_sample(&f, run, cache);
		leak_print(stderr, i, &f);
		assert_int_equal(f.own_fds, base.own_fds);
		assert_int_equal(f.mounts, base.mounts);
		assert_int_equal(f.tmp_entries, 0);
		assert_int_equal(f.cache_entries, 0);
		assert_int_equal(leak_count_procs_arg(dir), 0); /* no agentvmm or virtiofsd of ours */
	}
	assert_int_equal(leak_count_entries(share, NULL), 0);
}

static int teardown(void **state)
{
	char cmd[700];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_direct_soak_tiny_boots_leak_nothing),
	};

	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		fprintf(stderr, "skip: /dev/kvm not accessible\n");
		return 77;
	}
	if (!mkdtemp(dir))
		return 1;
	return cmocka_run_group_tests(tests, NULL, teardown);
}
