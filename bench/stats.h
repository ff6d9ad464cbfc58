// SPDX-License-Identifier: MIT
/* stats.h: order statistics over benchmark samples (min, median, p90, max). */
#ifndef AGENTVMM_BENCH_STATS_H
#define AGENTVMM_BENCH_STATS_H

#include <stddef.h>

/* Summary of one metric over the runs of one VMM; n == 0 means no valid sample. */
struct bench_stats {
	size_t n;
	double min, median, p90, max, mean;
};

/*
 * bench_percentile() - the (p)-th percentile, 0 <= p <= 100, of (n) values in
 * (sorted) ascending order, by linear interpolation between closest ranks
 * (Hyndman & Fan type 7, the default of R and numpy).
 * Return: the percentile; NAN when n == 0.
 * Context: any; pure.
 */
double bench_percentile(const double *sorted, size_t n, double p);

/*
 * bench_stats_compute() - summarise (n) samples in (v); NaN entries (a run
 * that did not reach a phase) are skipped. (v) is not modified.
 * Return: 0; -ENOMEM.
 * Context: any.
 */
int bench_stats_compute(const double *v, size_t n, struct bench_stats *out)
	__attribute__((warn_unused_result));

#endif /* AGENTVMM_BENCH_STATS_H */
