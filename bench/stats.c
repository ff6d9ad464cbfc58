// SPDX-License-Identifier: MIT
/* stats.c: order statistics over benchmark samples. Prefix bench_. */
#include "bench/stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_percentile(const double *sorted, size_t n, double p)
{
	double rank, frac;
	size_t lo;

	if (n == 0)
		return NAN;
	if (p <= 0)
		return sorted[0];
	if (p >= 100)
		return sorted[n - 1];
	/* type 7: rank = p/100 * (n - 1), interpolate between its neighbours */
	rank = p / 100.0 * (double)(n - 1);
	lo = (size_t)rank;
	frac = rank - (double)lo;
	if (lo + 1 >= n)
		return sorted[n - 1];
	return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

int bench_stats_compute(const double *v, size_t n, struct bench_stats *out)
{
	double *s = malloc((n ? n : 1) * sizeof(*s));
	double sum = 0;
	size_t k = 0;

	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!isnan(v[i])) {
			s[k++] = v[i];
			sum += v[i];
		}
	}
	qsort(s, k, sizeof(*s), cmp_double);
	out->n = k;
	out->min = k ? s[0] : NAN;
	out->max = k ? s[k - 1] : NAN;
	out->median = bench_percentile(s, k, 50);
	out->p90 = bench_percentile(s, k, 90);
	out->mean = k ? sum / (double)k : NAN;
	free(s);
	return 0;
}
