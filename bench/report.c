// SPDX-License-Identifier: MIT
/* report.c: benchmark series, text table and JSON output. Prefix bench_. */
#include "bench/report.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

const struct bench_metric_info bench_metrics[BENCH_NR_METRICS] = {
	[BENCH_M_READY] = { "start_to_ready_ms", "1 process start -> VMM ready (1st KVM_RUN)", "ms" },
	[BENCH_M_TO_INIT] = { "ready_to_init_ms", "2 VMM ready -> guest /init", "ms" },
	[BENCH_M_WORKLOAD] = { "init_to_workload_done_ms", "3 /init -> workload done", "ms" },
	[BENCH_M_EXIT] = { "workload_done_to_exit_ms", "4 workload done -> VMM exit", "ms" },
	[BENCH_M_TOTAL] = { "total_ms", "5 total wall (start -> exit)", "ms" },
	[BENCH_M_START_INIT] = { "start_to_init_ms", "process start -> guest /init", "ms" },
	[BENCH_M_FIRST_OUT] = { "start_to_first_console_ms", "process start -> 1st console byte",
				"ms" },
	[BENCH_M_KERNEL_INIT] = { "kernel_run_init_ms", "kernel printk 'Run /init' (guest clock)",
				  "ms" },
	[BENCH_M_PEAK_RSS] = { "peak_rss_mib", "peak RSS", "MiB" },
	[BENCH_M_VMM_RSS] = { "vmm_rss_mib", "RSS excluding guest RAM", "MiB" },
};

void bench_series_init(struct bench_series *s, const char *name, const char *method)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->method, sizeof(s->method), "%s", method);
}

void bench_series_fini(struct bench_series *s)
{
	free(s->v);
	s->v = NULL;
	s->nr_runs = s->cap = 0;
}

int bench_series_add(struct bench_series *s, const double row[BENCH_NR_METRICS])
{
	if (s->nr_runs == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		void *nv = realloc(s->v, cap * sizeof(*s->v));

		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = cap;
	}
	memcpy(s->v[s->nr_runs++], row, sizeof(*s->v));
	return 0;
}

int bench_series_summarise(struct bench_series *s)
{
	double *col = malloc((s->nr_runs ? s->nr_runs : 1) * sizeof(*col));

	if (!col)
		return -ENOMEM;
	for (int m = 0; m < BENCH_NR_METRICS; m++) {
		for (size_t r = 0; r < s->nr_runs; r++)
			col[r] = s->v[r][m];
		if (bench_stats_compute(col, s->nr_runs, &s->st[m])) {
			free(col);
			return -ENOMEM;
		}
	}
	free(col);
	return 0;
}

static void print_num(FILE *f, double v)
{
	if (isnan(v))
		fprintf(f, " %9s", "-");
	else if (fabs(v) < 100)
		fprintf(f, " %9.2f", v);
	else
		fprintf(f, " %9.1f", v);
}

static void series_label(char *buf, size_t len, const struct bench_series *s)
{
	if (strcmp(s->method, "console") == 0)
		snprintf(buf, len, "%s", s->name);
	else
		snprintf(buf, len, "%s [%s]", s->name, s->method);
}

void bench_report_table(FILE *f, const struct bench_series *s, size_t n)
{
	char name[80];

	for (int m = 0; m < BENCH_NR_METRICS; m++) {
		fprintf(f, "%s (%s)\n", bench_metrics[m].label, bench_metrics[m].unit);
		for (size_t i = 0; i < n; i++) {
			const struct bench_stats *st = &s[i].st[m];

			if (st->n == 0)
				continue;
			series_label(name, sizeof(name), &s[i]);
			fprintf(f, "  %-26s", name);
			print_num(f, st->min);
			print_num(f, st->median);
			print_num(f, st->p90);
			print_num(f, st->max);
			fprintf(f, "   (n=%zu)\n", st->n);
		}
	}
	fprintf(f, "%-28s %9s %9s %9s %9s\n", "  (columns)", "min", "median", "p90", "max");
	if (n < 2)
		return;
	fprintf(f, "\nratios of medians, VMM / %s (above 1: slower or larger than %s)\n",
		s[0].name, s[0].name);
	for (int m = 0; m < BENCH_NR_METRICS; m++) {
		double base = s[0].st[m].median;
		bool any = false;

		/* guest-clock and first-byte figures are not comparable across machines */
		if (isnan(base) || base <= 0 || m == BENCH_M_KERNEL_INIT || m == BENCH_M_FIRST_OUT)
			continue;
		for (size_t i = 1; i < n; i++) {
			double v = s[i].st[m].median;

			if (strcmp(s[i].method, "console") || isnan(v))
				continue;
			if (!any)
				fprintf(f, "  %-44s", bench_metrics[m].label);
			fprintf(f, "  %s %.2fx", s[i].name, v / base);
			any = true;
		}
		if (any)
			fputc('\n', f);
	}
}

void bench_json_string(FILE *f, const char *str)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, double v)
{
	if (isnan(v) || isinf(v))
		fputs("null", f);
	else
		fprintf(f, "%.3f", v);
}

void bench_report_json_series(FILE *f, const struct bench_series *s, size_t n)
{
	fputs("[", f);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
		bench_json_string(f, s[i].name);
		fputs(", \"method\": ", f);
		bench_json_string(f, s[i].method);
		fputs(",\n     \"samples\": [", f);
		for (size_t r = 0; r < s[i].nr_runs; r++) {
			fprintf(f, "%s\n       {", r ? "," : "");
			for (int m = 0; m < BENCH_NR_METRICS; m++) {
				fprintf(f, "%s\"%s\": ", m ? ", " : "", bench_metrics[m].key);
				json_num(f, s[i].v[r][m]);
			}
			fputs("}", f);
		}
		fputs("],\n     \"stats\": {", f);
		for (int m = 0; m < BENCH_NR_METRICS; m++) {
			const struct bench_stats *st = &s[i].st[m];

			fprintf(f, "%s\n       \"%s\": {\"n\": %zu, \"min\": ", m ? "," : "",
				bench_metrics[m].key, st->n);
			json_num(f, st->min);
			fputs(", \"median\": ", f);
			json_num(f, st->median);
			fputs(", \"p90\": ", f);
			json_num(f, st->p90);
			fputs(", \"max\": ", f);
			json_num(f, st->max);
			fputs("}", f);
		}
		fputs("}}", f);
	}
	fputs("\n  ]", f);
}
