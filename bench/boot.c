// SPDX-License-Identifier: MIT
/*
 * boot.c: the boot mode: interleaved runs of each VMM on the same kernel,
 * initramfs and command line, every phase timed from the host. Prefix bench_.
 *
 * Two timing methods (docs/bench.md):
 * - "console", the same for every VMM: the bench spawns the VMM (t0), stamps
 *   each console line as it arrives on the pipe, and stamps the exit through
 *   a pidfd. Markers: guest-init's "agentvmm-init: started", the workload's
 *   AVBENCH-DONE. "VMM ready" is QEMU's vm_state_notify trace line; agentvmm
 *   prints nothing then, so its own first-KVM_RUN time is used (measured
 *   from vm_create(), so it misses exec and dynamic linking, < 1 ms; phase
 *   2 absorbs them).
 * - "port", agentvmm only: its -v times line (boot-timer port marks taken on
 *   its own clock).
 */
#include "bench/modes.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "bench/parse.h"
#include "bench/proc.h"
#include "bench/report.h"

/* What one run's output told us; times are CLOCK_MONOTONIC ns, 0 = not seen. */
struct boot_run {
	const struct bench_opts *o;
	const char *name;
	uint64_t t_ready, t_init, t_done;
	double printk_s;               /* NAN until seen */
	double av[BENCH_AV_NR_TIMES];  /* agentvmm's times line */
	bool have_av_times;
	double av_create_ms;           /* vm_create() on CLOCK_MONOTONIC, NAN = not seen */
	uint64_t av_vmm_kib;
	bool have_av_mem;
	double vmm_rss_mib;            /* largest smaps sample, NAN = none */
	char cmdline_seen[BENCH_CMDLINE_MAX];
};

static void sample_smaps(struct boot_run *b, pid_t pid)
{
	char path[64];
	struct bench_mem m;
	size_t len;
	char *text;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	text = bench_read_file(path, &len);
	if (!text)
		return;
	if (bench_parse_smaps(text, len, (uint64_t)b->o->mem_mib << 20, &m) == 0) {
		double v = (double)(m.rss_kib - m.guest_rss_kib) / 1024.0;

		if (isnan(b->vmm_rss_mib) || v > b->vmm_rss_mib)
			b->vmm_rss_mib = v;
	}
	free(text);
}

static void on_line_boot(struct bench_proc *p, int stream, const char *line, uint64_t t)
{
	struct boot_run *b = p->opaque;
	double sec;
	uint64_t rss, guest;

	if (b->o->verbose)
		fprintf(stderr, "  [%s %9.1f ms %s] %s\n", b->name, (double)(t - p->t_start_ns) / 1e6,
			stream == 1 ? "out" : "err", line);
	if (!b->t_init && strstr(line, BENCH_MARK_INIT)) {
		b->t_init = t;
		sample_smaps(b, p->pid);
	} else if (!b->t_done && strcmp(line, BENCH_MARK_DONE) == 0) {
		b->t_done = t;
		sample_smaps(b, p->pid);
	} else if (strncmp(line, BENCH_MARK_CMDLINE, strlen(BENCH_MARK_CMDLINE)) == 0) {
		snprintf(b->cmdline_seen, sizeof(b->cmdline_seen), "%s",
			 line + strlen(BENCH_MARK_CMDLINE));
	} else if (isnan(b->printk_s) && bench_parse_printk(line, BENCH_PRINTK_INIT, &sec)) {
		b->printk_s = sec;
	} else if (!b->t_ready && stream == 2 && bench_parse_qemu_running(line)) {
		b->t_ready = t;
	} else if (stream == 2 && bench_parse_av_times(line, b->av) == 0) {
		b->have_av_times = true;
	} else if (stream == 2 && bench_parse_av_clock(line, &b->av_create_ms) == 0) {
		/* stored */
	} else if (stream == 2 && bench_parse_av_memory(line, &rss, &guest, &b->av_vmm_kib) == 0) {
		b->have_av_mem = true;
	}
}

static double span_ms(uint64_t from, uint64_t to)
{
	return from && to && to >= from ? (double)(to - from) / 1e6 : NAN;
}

/* The console-method row of one run (see the file header). */
static void row_console(const struct boot_run *b, const struct bench_proc *p, double *row)
{
	double ready = b->t_ready ? span_ms(p->t_start_ns, b->t_ready)
				  : (b->have_av_times ? b->av[BENCH_AV_FIRST_RUN] : NAN);

	/* agentvmm's absolute clock line: first KVM_RUN measured from process start */
	if (!b->t_ready && b->have_av_times && !isnan(b->av_create_ms))
		ready = b->av_create_ms + b->av[BENCH_AV_FIRST_RUN] - (double)p->t_start_ns / 1e6;

	row[BENCH_M_READY] = ready;
	row[BENCH_M_START_INIT] = span_ms(p->t_start_ns, b->t_init);
	row[BENCH_M_TO_INIT] = row[BENCH_M_START_INIT] - ready;
	row[BENCH_M_WORKLOAD] = span_ms(b->t_init, b->t_done);
	row[BENCH_M_EXIT] = span_ms(b->t_done, p->t_exit_ns);
	row[BENCH_M_TOTAL] = span_ms(p->t_start_ns, p->t_exit_ns);
	row[BENCH_M_FIRST_OUT] = span_ms(p->t_start_ns, p->t_first_out_ns);
	row[BENCH_M_KERNEL_INIT] = b->printk_s * 1000.0;
	row[BENCH_M_PEAK_RSS] = p->exited ? (double)p->ru.ru_maxrss / 1024.0 : NAN;
	row[BENCH_M_VMM_RSS] = b->vmm_rss_mib;
}

/* agentvmm's own view: boot-timer port marks on its clock, from vm_create(). */
static void row_port(const struct boot_run *b, double *row)
{
	const double *a = b->av;

	for (int m = 0; m < BENCH_NR_METRICS; m++)
		row[m] = NAN;
	row[BENCH_M_READY] = a[BENCH_AV_FIRST_RUN];
	row[BENCH_M_TO_INIT] = a[BENCH_AV_GUEST_INIT] - a[BENCH_AV_FIRST_RUN];
	row[BENCH_M_WORKLOAD] = a[BENCH_AV_WORKLOAD_DONE] - a[BENCH_AV_GUEST_INIT];
	row[BENCH_M_EXIT] = a[BENCH_AV_TORN_DOWN] - a[BENCH_AV_WORKLOAD_DONE];
	row[BENCH_M_TOTAL] = a[BENCH_AV_TORN_DOWN];
	row[BENCH_M_START_INIT] = a[BENCH_AV_GUEST_INIT];
	row[BENCH_M_KERNEL_INIT] = b->printk_s * 1000.0;
	row[BENCH_M_VMM_RSS] = b->have_av_mem ? (double)b->av_vmm_kib / 1024.0 : NAN;
}

struct boot_state {
	struct bench_opts *o;
	char cmdline[BENCH_CMDLINE_MAX];
	struct bench_series console[BENCH_NR_VMM_KINDS], port;
	char seen[BENCH_NR_VMM_KINDS][BENCH_CMDLINE_MAX];
	unsigned failed;
};

/* One boot of VMM number (vi); (record) false for warm-up runs. */
static int boot_once(struct boot_state *st, unsigned vi, bool record)
{
	struct bench_opts *o = st->o;
	enum bench_vmm_kind k = o->vmms[vi];
	struct boot_run b = { .o = o, .name = bench_vmm_name(k), .printk_s = NAN, .av_create_ms = NAN,
			      .vmm_rss_mib = NAN };
	char *argv[BENCH_ARGV_MAX];
	struct bench_proc p, *pp = &p;
	double row[BENCH_NR_METRICS];
	bool ok;
	int r;

	for (int i = 0; i < BENCH_AV_NR_TIMES; i++)
		b.av[i] = NAN;
	bench_vmm_argv(o, k, bench_workload_boot(), st->cmdline, o->initrd_path, argv);
	r = bench_proc_spawn(&p, argv, on_line_boot, &b);
	if (r) {
		fprintf(stderr, "agentvmm-bench: %s: %s\n", argv[0], strerror(-r));
		return r;
	}
	bench_proc_wait(&pp, 1, p.t_start_ns + o->timeout_s * 1000000000ULL, NULL, NULL);
	ok = p.exited && b.t_init && b.t_done;
	if (!p.exited)
		fprintf(stderr, "agentvmm-bench: %s timed out after %u s\n", b.name, o->timeout_s);
	bench_proc_release(&p);
	if (!ok) {
		fprintf(stderr, "agentvmm-bench: %s run failed (exit status %d%s%s); rerun with "
				"--verbose to see its output\n", b.name,
			WIFEXITED(p.status) ? WEXITSTATUS(p.status) : -1,
			b.t_init ? "" : ", no guest /init", b.t_done ? "" : ", no workload end");
		if (record)
			st->failed++;
		return 0;
	}
	if (b.cmdline_seen[0])
		snprintf(st->seen[k], sizeof(st->seen[k]), "%s", b.cmdline_seen);
	if (!record)
		return 0;
	row_console(&b, &p, row);
	fprintf(stderr, "  %-13s total %8.1f ms, start->/init %8.1f ms\n", b.name,
		row[BENCH_M_TOTAL], row[BENCH_M_START_INIT]);
	r = bench_series_add(&st->console[vi], row);
	if (!r && k == BENCH_VMM_AGENTVMM && b.have_av_times) {
		row_port(&b, row);
		r = bench_series_add(&st->port, row);
	}
	return r;
}

static void print_header(FILE *f, const struct boot_state *st)
{
	const struct bench_opts *o = st->o;
	struct utsname u;

	uname(&u);
	fprintf(f, "agentvmm-bench boot: %u runs per VMM (interleaved, %u warm-up), %u vCPU(s), "
		   "%u MiB\n", o->runs, o->warmup, o->cpus, o->mem_mib);
	fprintf(f, "host: %s (%s %s)\n", o->host_kind, u.sysname, u.release);
	fprintf(f, "kernel: %s\ninitramfs: %s\nkernel command line (all VMMs): %s\n", o->kernel,
		o->initrd_path, st->cmdline);
	for (unsigned i = 1; i < o->nr_vmms; i++) {
		enum bench_vmm_kind k = o->vmms[i];

		if (st->seen[k][0] && st->seen[BENCH_VMM_AGENTVMM][0] &&
		    strcmp(st->seen[k], st->seen[BENCH_VMM_AGENTVMM]))
			fprintf(f, "WARNING: the %s guest saw a different command line: %s\n",
				bench_vmm_name(k), st->seen[k]);
	}
	fputc('\n', f);
}

static int write_json(const struct boot_state *st, const struct bench_series *all, size_t n)
{
	const struct bench_opts *o = st->o;
	FILE *f = fopen(o->json, "we");
	char *argv[BENCH_ARGV_MAX];

	if (!f)
		return -errno;
	fputs("{\n  \"tool\": \"agentvmm-bench\", \"mode\": \"boot\",\n  \"host\": ", f);
	bench_json_string(f, o->host_kind);
	fprintf(f, ", \"nested\": %s,\n  \"runs\": %u, \"warmup\": %u, \"cpus\": %u, "
		   "\"mem_mib\": %u,\n  \"kernel\": ", o->host_nested ? "true" : "false", o->runs,
		o->warmup, o->cpus, o->mem_mib);
	bench_json_string(f, o->kernel);
	fputs(", \"initramfs\": ", f);
	bench_json_string(f, o->initrd_path);
	fputs(",\n  \"cmdline\": ", f);
	bench_json_string(f, st->cmdline);
	fputs(",\n  \"vmms\": [", f);
	for (unsigned i = 0; i < o->nr_vmms; i++) {
		enum bench_vmm_kind k = o->vmms[i];

		bench_vmm_argv(o, k, bench_workload_boot(), st->cmdline, o->initrd_path, argv);
		fprintf(f, "%s\n    {\"name\": \"%s\", \"cmdline_seen\": ", i ? "," : "",
			bench_vmm_name(k));
		bench_json_string(f, st->seen[k]);
		fputs(", \"argv\": [", f);
		for (int a = 0; argv[a]; a++) {
			fputs(a ? ", " : "", f);
			bench_json_string(f, argv[a]);
		}
		fputs("]}", f);
	}
	fputs("],\n  \"series\": ", f);
	bench_report_json_series(f, all, n);
	fputs("\n}\n", f);
	return fclose(f) ? -errno : 0;
}

static int write_outputs(struct boot_state *st)
{
	struct bench_opts *o = st->o;
	struct bench_series all[BENCH_NR_VMM_KINDS + 1];
	size_t n = 0;
	char sub[512];
	int r = 0;

	for (unsigned i = 0; i < o->nr_vmms; i++) {
		all[n++] = st->console[i];
		if (o->vmms[i] == BENCH_VMM_AGENTVMM && st->port.nr_runs)
			all[n++] = st->port;
	}
	for (size_t i = 0; i < n; i++)
		if (bench_series_summarise(&all[i]))
			return -ENOMEM;
	print_header(stdout, st);
	bench_report_table(stdout, all, n);
	if (o->json && (r = write_json(st, all, n)) < 0)
		fprintf(stderr, "agentvmm-bench: --json %s: %s\n", o->json, strerror(-r));
	if (o->plot) {
		FILE *f = fopen(o->plot, "we");

		snprintf(sub, sizeof(sub), "%u runs per VMM, %u vCPU, %u MiB; %s", o->runs, o->cpus,
			 o->mem_mib, o->host_nested ? "NESTED test host: compare ratios only"
						    : o->host_kind);
		if (!f || bench_svg_write(f, all, n, "agentvmm-bench boot: phases (median)", sub) ||
		    fclose(f)) {
			r = -EIO;
			fprintf(stderr, "agentvmm-bench: --plot %s: cannot write\n", o->plot);
		}
	}
	return r;
}

int bench_boot(struct bench_opts *o)
{
	struct boot_state *st = calloc(1, sizeof(*st));
	int r = 0;

	if (!st)
		return -ENOMEM;
	st->o = o;
	for (unsigned i = 0; i < o->nr_vmms; i++)
		bench_series_init(&st->console[i], bench_vmm_name(o->vmms[i]), "console");
	bench_series_init(&st->port, "agentvmm", "port");
	r = bench_kernel_cmdline(o, bench_workload_boot(), st->cmdline, sizeof(st->cmdline));
	if (r) {
		fprintf(stderr, "agentvmm-bench: kernel command line too long\n");
		goto out;
	}
	fprintf(stderr, "agentvmm-bench: %s\n", o->host_kind);
	/* warm-up (page cache, first-use costs), then A B C, B C A, ... */
	for (unsigned w = 0; w < o->warmup && !r; w++)
		for (unsigned i = 0; i < o->nr_vmms && !r; i++)
			r = boot_once(st, i, false);
	for (unsigned run = 0; run < o->runs && !r; run++) {
		fprintf(stderr, "agentvmm-bench: run %u/%u\n", run + 1, o->runs);
		for (unsigned j = 0; j < o->nr_vmms && !r; j++)
			r = boot_once(st, (run + j) % o->nr_vmms, true);
	}
	if (!r)
		r = write_outputs(st);
	if (!r && st->failed) {
		fprintf(stderr, "agentvmm-bench: %u run(s) failed\n", st->failed);
		r = 1;
	}
out:
	for (unsigned i = 0; i < o->nr_vmms; i++)
		bench_series_fini(&st->console[i]);
	bench_series_fini(&st->port);
	free(st);
	return r;
}
