// SPDX-License-Identifier: MIT
/*
 * density.c: the density mode: N idle VMs of one VMM at once, their host
 * memory per VM (PSS, so shared library and page-cache pages are split among
 * the processes that map them), and how many fit in a memory budget.
 * Prefix bench_.
 */
#include "bench/modes.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/parse.h"
#include "bench/proc.h"
#include "bench/report.h"

#define DENSITY_MAX 60      /* bench_proc_wait watches at most 64 processes */
#define DENSITY_SETTLE_MS 2000

struct density_vm {
	struct bench_proc p;
	const struct bench_opts *o;
	bool idle;
};

struct density_result {
	unsigned idle;
	double pss_mib, guest_pss_mib, rss_mib, guest_rss_mib; /* means per idle VM */
};

static void on_line_density(struct bench_proc *p, int stream, const char *line, uint64_t t)
{
	struct density_vm *vm = p->opaque;

	if (vm->o->verbose)
		fprintf(stderr, "  [pid %d %9.1f ms] %s\n", (int)p->pid,
			(double)(t - p->t_start_ns) / 1e6, line);
	if (stream == 1 && strcmp(line, BENCH_MARK_IDLE) == 0)
		vm->idle = true;
}

struct idle_check {
	struct density_vm *vms;
	unsigned n;
};

static bool all_idle(void *arg)
{
	const struct idle_check *c = arg;

	for (unsigned i = 0; i < c->n; i++)
		if (!c->vms[i].idle && !c->vms[i].p.exited)
			return false;
	return true;
}

static int density_one(const struct bench_opts *o, enum bench_vmm_kind k, const char *cmdline,
		       struct density_result *res)
{
	struct density_vm *vms = calloc(o->count, sizeof(*vms));
	struct bench_proc **ps = calloc(o->count, sizeof(*ps));
	struct idle_check chk = { vms, 0 };
	char *argv[BENCH_ARGV_MAX];
	int r = 0;

	memset(res, 0, sizeof(*res));
	if (!vms || !ps) {
		r = -ENOMEM;
		goto out;
	}
	bench_vmm_argv(o, k, bench_workload_idle(), cmdline, o->initrd_path, argv);
	for (unsigned i = 0; i < o->count; i++) {
		vms[i].o = o;
		ps[i] = &vms[i].p;
		r = bench_proc_spawn(&vms[i].p, argv, on_line_density, &vms[i]);
		if (r) {
			fprintf(stderr, "agentvmm-bench: %s: %s\n", argv[0], strerror(-r));
			goto out;
		}
		chk.n++;
	}
	bench_proc_wait(ps, chk.n, bench_now_ns() + o->timeout_s * 1000000000ULL, all_idle, &chk);
	/* let the guests go quiet before reading their memory */
	bench_proc_wait(ps, chk.n, bench_now_ns() + DENSITY_SETTLE_MS * 1000000ULL, NULL, NULL);
	for (unsigned i = 0; i < chk.n; i++) {
		char path[64], *text;
		struct bench_mem m;
		size_t len;

		if (!vms[i].idle || vms[i].p.exited)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/smaps", (int)vms[i].p.pid);
		text = bench_read_file(path, &len);
		if (text && bench_parse_smaps(text, len, (uint64_t)o->mem_mib << 20, &m) == 0) {
			res->idle++;
			res->pss_mib += (double)m.pss_kib / 1024.0;
			res->guest_pss_mib += (double)m.guest_pss_kib / 1024.0;
			res->rss_mib += (double)m.rss_kib / 1024.0;
			res->guest_rss_mib += (double)m.guest_rss_kib / 1024.0;
		}
		free(text);
	}
	if (res->idle) {
		res->pss_mib /= res->idle;
		res->guest_pss_mib /= res->idle;
		res->rss_mib /= res->idle;
		res->guest_rss_mib /= res->idle;
	}
out:
	for (unsigned i = 0; i < chk.n; i++)
		bench_proc_kill(&vms[i].p, SIGTERM);
	if (chk.n)
		bench_proc_wait(ps, chk.n, bench_now_ns() + 10000000000ULL, NULL, NULL);
	for (unsigned i = 0; i < chk.n; i++)
		bench_proc_release(&vms[i].p);
	free(vms);
	free(ps);
	return r;
}

static unsigned mem_total_mib(void)
{
	size_t len;
	char *t = bench_read_file("/proc/meminfo", &len), *p;
	unsigned long long kb = 0;

	p = t ? strstr(t, "MemTotal:") : NULL;
	if (p)
		sscanf(p, "MemTotal: %llu kB", &kb);
	free(t);
	return (unsigned)(kb / 1024);
}

int bench_density(struct bench_opts *o)
{
	struct density_result res[BENCH_NR_VMM_KINDS];
	char cmdline[BENCH_CMDLINE_MAX];
	unsigned budget = o->budget_mib ? o->budget_mib : mem_total_mib();
	FILE *jf = NULL;
	int r, failed = 0;

	if (o->count == 0 || o->count > DENSITY_MAX) {
		fprintf(stderr, "agentvmm-bench: --count must be 1..%d\n", DENSITY_MAX);
		return -EINVAL;
	}
	r = bench_kernel_cmdline(o, bench_workload_idle(), cmdline, sizeof(cmdline));
	if (r)
		return r;
	fprintf(stderr, "agentvmm-bench: %s\n", o->host_kind);
	for (unsigned i = 0; i < o->nr_vmms; i++) {
		fprintf(stderr, "agentvmm-bench: %u idle %s VMs\n", o->count,
			bench_vmm_name(o->vmms[i]));
		r = density_one(o, o->vmms[i], cmdline, &res[i]);
		if (r)
			return r;
		if (res[i].idle < o->count)
			failed = 1;
	}
	printf("agentvmm-bench density: %u idle VMs per VMM at once, %u vCPU(s), %u MiB each\n"
	       "host: %s\nbudget: %u MiB\n\n", o->count, o->cpus, o->mem_mib, o->host_kind, budget);
	printf("%-14s %5s %12s %14s %14s %12s\n", "VMM", "idle", "PSS/VM MiB", "PSS excl. RAM",
	       "RSS excl. RAM", "VMs/budget");
	for (unsigned i = 0; i < o->nr_vmms; i++) {
		const struct density_result *d = &res[i];

		printf("%-14s %5u %12.1f %14.2f %14.2f %12.0f\n", bench_vmm_name(o->vmms[i]),
		       d->idle, d->pss_mib, d->pss_mib - d->guest_pss_mib,
		       d->rss_mib - d->guest_rss_mib, d->pss_mib > 0 ? budget / d->pss_mib : 0);
	}
	if (o->json && (jf = fopen(o->json, "we"))) {
		fprintf(jf, "{\n  \"tool\": \"agentvmm-bench\", \"mode\": \"density\", \"host\": ");
		bench_json_string(jf, o->host_kind);
		fprintf(jf, ", \"nested\": %s, \"count\": %u, \"cpus\": %u, \"mem_mib\": %u, "
			    "\"budget_mib\": %u,\n  \"vmms\": [", o->host_nested ? "true" : "false",
			o->count, o->cpus, o->mem_mib, budget);
		for (unsigned i = 0; i < o->nr_vmms; i++)
			fprintf(jf, "%s\n    {\"name\": \"%s\", \"idle\": %u, \"pss_mib\": %.3f, "
				    "\"guest_pss_mib\": %.3f, \"rss_mib\": %.3f, "
				    "\"guest_rss_mib\": %.3f}", i ? "," : "",
				bench_vmm_name(o->vmms[i]), res[i].idle, res[i].pss_mib,
				res[i].guest_pss_mib, res[i].rss_mib, res[i].guest_rss_mib);
		fputs("\n  ]\n}\n", jf);
		if (fclose(jf))
			fprintf(stderr, "agentvmm-bench: --json %s: write failed\n", o->json);
	} else if (o->json) {
		fprintf(stderr, "agentvmm-bench: --json %s: %s\n", o->json, strerror(errno));
	}
	return failed;
}
