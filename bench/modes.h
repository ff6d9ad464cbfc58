// SPDX-License-Identifier: MIT
/* modes.h: agentvmm-bench's two modes, boot and density. */
#ifndef AGENTVMM_BENCH_MODES_H
#define AGENTVMM_BENCH_MODES_H

#include "bench/vmms.h"

/*
 * bench_boot() - interleaved boot runs of every VMM in (o), printed as a
 * table on stdout, optionally as JSON (o->json) and SVG (o->plot).
 * Return: 0; 1 if some run failed or a VMM never completed a run; -errno on
 * a host failure (message printed).
 * Context: main thread.
 */
int bench_boot(struct bench_opts *o);

/*
 * bench_density() - for each VMM in (o) in turn, o->count idle VMs at once;
 * reports PSS per VM and how many fit in o->budget_mib.
 * Return: as bench_boot().
 */
int bench_density(struct bench_opts *o);

#endif /* AGENTVMM_BENCH_MODES_H */
