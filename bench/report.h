// SPDX-License-Identifier: MIT
/*
 * report.h: benchmark results (one series of samples per VMM and timing
 * method) and their output as a text table, JSON and an SVG bar chart.
 */
#ifndef AGENTVMM_BENCH_REPORT_H
#define AGENTVMM_BENCH_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "bench/stats.h"

/* What one boot run yields; times in ms, memory in MiB; NAN = not measured. */
enum bench_metric {
	BENCH_M_READY,       /* 1 process start -> VMM ready (first KVM_RUN) */
	BENCH_M_TO_INIT,     /* 2 VMM ready -> guest /init started */
	BENCH_M_WORKLOAD,    /* 3 /init started -> workload done */
	BENCH_M_EXIT,        /* 4 workload done -> VMM process exit */
	BENCH_M_TOTAL,       /* 5 process start -> process exit */
	BENCH_M_START_INIT,  /* process start -> guest /init started */
	BENCH_M_FIRST_OUT,   /* process start -> first console byte */
	BENCH_M_KERNEL_INIT, /* guest clock: printk time of "Run /init" */
	BENCH_M_PEAK_RSS,    /* peak RSS of the VMM process */
	BENCH_M_VMM_RSS,     /* RSS excluding guest RAM */
	BENCH_NR_METRICS,
};

struct bench_metric_info {
	const char *key;   /* JSON key */
	const char *label; /* table label */
	const char *unit;  /* "ms" or "MiB" */
};

extern const struct bench_metric_info bench_metrics[BENCH_NR_METRICS];

/* The samples of one VMM measured by one method, one row per run. */
struct bench_series {
	char name[48];     /* "agentvmm", "qemu-microvm", ... */
	char method[16];   /* "console" (same for every VMM) or "port" (agentvmm's own clock) */
	size_t nr_runs, cap;
	double (*v)[BENCH_NR_METRICS];
	struct bench_stats st[BENCH_NR_METRICS];
};

/*
 * bench_series_init() / _fini() - an empty series named (name) measured by
 * (method); _fini frees the samples and is idempotent.
 */
void bench_series_init(struct bench_series *s, const char *name, const char *method);
void bench_series_fini(struct bench_series *s);

/*
 * bench_series_add() - append one run's (row) (BENCH_NR_METRICS values).
 * Return: 0; -ENOMEM.
 */
int bench_series_add(struct bench_series *s, const double row[BENCH_NR_METRICS])
	__attribute__((warn_unused_result));

/* bench_series_summarise() - fill s->st from the samples. Return: 0; -ENOMEM. */
int bench_series_summarise(struct bench_series *s) __attribute__((warn_unused_result));

/*
 * bench_report_table() - print min / median / p90 / max per metric and
 * series, then each series' median over the first series' (the baseline).
 */
void bench_report_table(FILE *f, const struct bench_series *s, size_t n);

/*
 * bench_json_string() - write (str) as a JSON string literal (quotes
 * included, control characters and non-ASCII bytes escaped as \u00XX).
 */
void bench_json_string(FILE *f, const char *str);

/*
 * bench_report_json_series() - write the series as a JSON array of objects
 * {"name", "method", "samples": [{metric: value|null, ...}], "stats": {...}}.
 */
void bench_report_json_series(FILE *f, const struct bench_series *s, size_t n);

/*
 * bench_svg_write() - an SVG chart: median bars per phase (metrics 1-5) and
 * per VMM, min-max whiskers, a second panel for memory; only series whose
 * method is "console" are drawn. (title) and (subtitle) head the chart.
 * Return: 0; -EIO if writing failed.
 */
int bench_svg_write(FILE *f, const struct bench_series *s, size_t n, const char *title,
		    const char *subtitle) __attribute__((warn_unused_result));

#endif /* AGENTVMM_BENCH_REPORT_H */
