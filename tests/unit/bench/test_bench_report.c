// SPDX-License-Identifier: MIT
/* test_bench_report.c: series, table, JSON and SVG output (bench/report.c, svg.c). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bench/report.h"

/* Two series: agentvmm (3 runs) and qemu (3 runs, twice as slow, one NaN). */
static void make_series(struct bench_series s[2])
{
	double row[BENCH_NR_METRICS];

	bench_series_init(&s[0], "agentvmm", "console");
	bench_series_init(&s[1], "qemu-microvm", "console");
	for (int r = 0; r < 3; r++) {
		for (int m = 0; m < BENCH_NR_METRICS; m++)
			row[m] = 10.0 * (r + 1);
		assert_int_equal(bench_series_add(&s[0], row), 0);
		for (int m = 0; m < BENCH_NR_METRICS; m++)
			row[m] = 20.0 * (r + 1);
		row[BENCH_M_KERNEL_INIT] = r == 1 ? NAN : 5;
		assert_int_equal(bench_series_add(&s[1], row), 0);
	}
	assert_int_equal(bench_series_summarise(&s[0]), 0);
	assert_int_equal(bench_series_summarise(&s[1]), 0);
}

/* Run (fn) into a memory stream and return the NUL-terminated text (free it). */
static char *capture_table(const struct bench_series *s, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	bench_report_table(f, s, n);
	fclose(f);
	return buf;
}

static void test_series_grows_and_summarises(void **state)
{
	struct bench_series s[2];

	make_series(s);
	assert_int_equal(s[0].nr_runs, 3);
	assert_int_equal(s[0].st[BENCH_M_TOTAL].n, 3);
	assert_true(fabs(s[0].st[BENCH_M_TOTAL].median - 20) < 1e-9);
	assert_int_equal(s[1].st[BENCH_M_KERNEL_INIT].n, 2);
	bench_series_fini(&s[0]);
	bench_series_fini(&s[0]); /* idempotent */
	bench_series_fini(&s[1]);
}

static void test_table_prints_ratios_of_medians(void **state)
{
	struct bench_series s[2];
	char *t;

	make_series(s);
	t = capture_table(s, 2);
	assert_non_null(strstr(t, "5 total wall"));
	assert_non_null(strstr(t, "qemu-microvm 2.00x"));
	assert_non_null(strstr(t, "(n=3)"));
	free(t);
	bench_series_fini(&s[0]);
	bench_series_fini(&s[1]);
}

static void test_json_escapes_and_writes_null_for_nan(void **state)
{
	struct bench_series s[2];
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	make_series(s);
	bench_json_string(f, "a\"b\\c\n\x01");
	bench_report_json_series(f, s, 2);
	fclose(f);
	assert_non_null(strstr(buf, "\"a\\\"b\\\\c\\u000a\\u0001\""));
	assert_non_null(strstr(buf, "\"kernel_run_init_ms\": null"));
	assert_non_null(strstr(buf, "\"name\": \"qemu-microvm\""));
	free(buf);
	bench_series_fini(&s[0]);
	bench_series_fini(&s[1]);
}

static void test_svg_has_bars_and_escapes_text(void **state)
{
	struct bench_series s[2];
	char *buf = NULL, *p;
	size_t len = 0, rects = 0;
	FILE *f = open_memstream(&buf, &len);

	make_series(s);
	assert_int_equal(bench_svg_write(f, s, 2, "title <&>", "sub"), 0);
	fclose(f);
	assert_true(strncmp(buf, "<svg ", 5) == 0);
	assert_non_null(strstr(buf, "</svg>\n"));
	assert_non_null(strstr(buf, "title &lt;&amp;&gt;"));
	for (p = buf; (p = strstr(p, "<rect x=")); p++)
		rects++;
	/* 2 legend squares + 2 VMMs x (5 phases + 1 memory panel) */
	assert_int_equal(rects, 2 + 2 * 6);
	free(buf);
	bench_series_fini(&s[0]);
	bench_series_fini(&s[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_series_grows_and_summarises),
		cmocka_unit_test(test_table_prints_ratios_of_medians),
		cmocka_unit_test(test_json_escapes_and_writes_null_for_nan),
		cmocka_unit_test(test_svg_has_bars_and_escapes_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
