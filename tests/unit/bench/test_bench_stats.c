// SPDX-License-Identifier: MIT
/* test_bench_stats.c: the benchmark's order statistics (bench/stats.c). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bench/stats.h"

#define EPS 1e-9

static void test_percentile_type7_matches_numpy(void **state)
{
	/* numpy.percentile([1, 2, 3, 4, 10], [0, 50, 90, 100]) = 1, 3, 7.6, 10 */
	const double v[] = { 1, 2, 3, 4, 10 };

	assert_true(fabs(bench_percentile(v, 5, 0) - 1) < EPS);
	assert_true(fabs(bench_percentile(v, 5, 50) - 3) < EPS);
	assert_true(fabs(bench_percentile(v, 5, 90) - 7.6) < EPS);
	assert_true(fabs(bench_percentile(v, 5, 100) - 10) < EPS);
}

static void test_percentile_even_count_interpolates_median(void **state)
{
	const double v[] = { 10, 20, 30, 40 };

	assert_true(fabs(bench_percentile(v, 4, 50) - 25) < EPS);
	/* rank 0.9 * 3 = 2.7 -> 30 + 0.7 * 10 */
	assert_true(fabs(bench_percentile(v, 4, 90) - 37) < EPS);
}

static void test_percentile_empty_is_nan_single_is_value(void **state)
{
	const double one = 42;

	assert_true(isnan(bench_percentile(NULL, 0, 50)));
	assert_true(fabs(bench_percentile(&one, 1, 90) - 42) < EPS);
}

static void test_stats_unsorted_with_nan_skips_missing(void **state)
{
	const double v[] = { 5, NAN, 1, 3, NAN, 2, 4 };
	struct bench_stats st;

	assert_int_equal(bench_stats_compute(v, 7, &st), 0);
	assert_int_equal(st.n, 5);
	assert_true(fabs(st.min - 1) < EPS);
	assert_true(fabs(st.max - 5) < EPS);
	assert_true(fabs(st.median - 3) < EPS);
	assert_true(fabs(st.p90 - 4.6) < EPS);
	assert_true(fabs(st.mean - 3) < EPS);
	/* the input is left as it was */
	assert_true(fabs(v[0] - 5) < EPS && isnan(v[1]));
}

static void test_stats_all_missing_gives_n0_and_nan(void **state)
{
	const double v[] = { NAN, NAN };
	struct bench_stats st;

	assert_int_equal(bench_stats_compute(v, 2, &st), 0);
	assert_int_equal(st.n, 0);
	assert_true(isnan(st.min) && isnan(st.median) && isnan(st.p90) && isnan(st.max));
	assert_int_equal(bench_stats_compute(NULL, 0, &st), 0);
	assert_int_equal(st.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percentile_type7_matches_numpy),
		cmocka_unit_test(test_percentile_even_count_interpolates_median),
		cmocka_unit_test(test_percentile_empty_is_nan_single_is_value),
		cmocka_unit_test(test_stats_unsorted_with_nan_skips_missing),
		cmocka_unit_test(test_stats_all_missing_gives_n0_and_nan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
