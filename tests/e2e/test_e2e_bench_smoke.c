// SPDX-License-Identifier: MIT
/*
 * test_e2e_bench_smoke.c: the boot benchmark's smoke run (docs/bench.md):
 * `agentvmm-bench boot --runs 2 --warmup 0`, agentvmm only, on the real
 * kernel. Checks that it exits 0 and that every window (1-5), the kernel's
 * "Run /init" and both memory figures are reported for both runs and are
 * positive, in the JSON it writes. No figure is compared with a limit: a
 * benchmark is not a timed test (DESIGN.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/e2e/e2e.h"

/* Two boots plus the initramfs-building warm-up of the bench. */
#define SMOKE_TIMEOUT_S (4 * E2E_BOOT_TIMEOUT_S)

static const char *const keys[] = {
	"start_to_ready_ms", "ready_to_init_ms", "init_to_workload_done_ms",
	"workload_done_to_exit_ms", "total_ms", "start_to_init_ms", "kernel_run_init_ms",
	"peak_rss_mib", "vmm_rss_mib",
};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 1 << 20);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* The "stats" object of the series (name, method "console"). */
static const char *series_stats(const char *json, const char *name)
{
	char pat[128];
	const char *p;

	snprintf(pat, sizeof(pat), "{\"name\": \"%s\", \"method\": \"console\"", name);
	p = strstr(json, pat);
	assert_non_null(p);
	p = strstr(p, "\"stats\": {");
	assert_non_null(p);
	return p;
}

static void test_e2e_bench_smoke_reports_every_phase(void **state)
{
	char dir[] = "/tmp/av-bench-smoke-XXXXXX";
	char json_path[64];
	struct th_result *res = calloc(1, sizeof(*res));
	const char *kernel = e2e_kernel("bzImage");

	(void)state;
	if (!kernel)
		skip();
	assert_non_null(res);
	assert_non_null(mkdtemp(dir));
	snprintf(json_path, sizeof(json_path), "%s/boot.json", dir);
	const char *argv[] = { AV_BENCH, "boot", "--kernel", kernel, "--runs", "2", "--warmup",
			       "0", "--agentvmm", AV_AGENTVMM, "--json", json_path, NULL };
	th_run(argv, SMOKE_TIMEOUT_S, res);
	print_message("  bench took %.1f s\n", res->secs);
	if (res->status != 0)
		fail_msg("agentvmm-bench exit %d\nstdout: %s\nstderr: %s", res->status, res->out,
			 res->err);
	/* the table names every window */
	assert_non_null(strstr(res->out, "4 workload done -> VMM exit"));
	char *json = slurp(json_path);
	const char *stats = series_stats(json, "agentvmm");

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char pat[96];
		const char *p;
		unsigned n = 0;
		double min = 0;

		snprintf(pat, sizeof(pat), "\"%s\": {\"n\": ", keys[i]);
		p = strstr(stats, pat);
		if (!p)
			fail_msg("no %s in the stats", keys[i]);
		if (sscanf(p + strlen(pat), "%u, \"min\": %lf", &n, &min) != 2)
			fail_msg("%s: unreadable stats", keys[i]);
		print_message("  %-26s n=%u min=%.2f\n", keys[i], n, min);
		if (n != 2 || !(min > 0))
			fail_msg("%s: n=%u min=%g, want 2 samples, all positive", keys[i], n, min);
	}
	free(json);
	free(res);
	unlink(json_path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_bench_smoke_reports_every_phase),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
