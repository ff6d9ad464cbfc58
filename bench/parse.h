// SPDX-License-Identifier: MIT
/*
 * parse.h: pure parsers for what the benchmarked VMMs print: agentvmm's -v
 * "times" and "memory" lines, kernel printk timestamps, QEMU's
 * vm_state_notify trace line, and /proc/PID/smaps.
 */
#ifndef AGENTVMM_BENCH_PARSE_H
#define AGENTVMM_BENCH_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* agentvmm's host-clock phase times, ms since vm_create(); NAN = not reached. */
enum bench_av_time {
	BENCH_AV_FIRST_RUN,
	BENCH_AV_GUEST_INIT,
	BENCH_AV_WORKLOAD,
	BENCH_AV_WORKLOAD_DONE,
	BENCH_AV_STOP,
	BENCH_AV_TORN_DOWN,
	BENCH_AV_NR_TIMES,
};

/*
 * bench_parse_av_times() - parse agentvmm's "-v" line (vmm/vm.c,
 * vm_report_times) "agentvmm: times (ms since start): first KVM_RUN X,
 * guest-init X, workload X, workload done X, stop X, torn down X" into (ms);
 * a negative X (phase not reached) becomes NAN.
 * Return: 0; -EINVAL if (line) is not such a line.
 * Context: any; pure.
 */
int bench_parse_av_times(const char *line, double ms[BENCH_AV_NR_TIMES]);

/*
 * bench_parse_av_clock() - parse agentvmm's "-v" line "agentvmm: clock:
 * vm_create at CLOCK_MONOTONIC X ms" (vmm/vm.c) into (ms): the host clock the
 * bench uses too, so "process start -> first KVM_RUN" includes exec and
 * dynamic linking, as QEMU's does.
 * Return: 0; -EINVAL if (line) is not such a line.
 * Context: any; pure.
 */
int bench_parse_av_clock(const char *line, double *ms);

/*
 * bench_parse_av_memory() - parse "agentvmm: memory: RSS X KiB, of which
 * guest RAM X KiB, VMM X KiB" into (rss_kib), (guest_kib), (vmm_kib).
 * Return: 0; -EINVAL if (line) is not such a line.
 * Context: any; pure.
 */
int bench_parse_av_memory(const char *line, uint64_t *rss_kib, uint64_t *guest_kib,
			  uint64_t *vmm_kib);

/*
 * bench_parse_printk() - if (line) holds a kernel log record "[ SECONDS]
 * ...(needle)..." (console or dmesg format, anything before the '[' such as
 * a CR is skipped), store SECONDS in (sec).
 * Return: true if found.
 * Context: any; pure.
 */
bool bench_parse_printk(const char *line, const char *needle, double *sec);

/*
 * bench_parse_qemu_running() - true if (line) is QEMU's log-backend trace of
 * "vm_state_notify running 1 ..." (the VM starts running: vCPUs enter
 * KVM_RUN right after). Context: any; pure.
 */
bool bench_parse_qemu_running(const char *line);

/* Memory of one process from /proc/PID/smaps, KiB. */
struct bench_mem {
	uint64_t rss_kib, pss_kib;             /* all mappings */
	uint64_t guest_rss_kib, guest_pss_kib; /* mappings taken for guest RAM */
};

/*
 * bench_parse_smaps() - sum Rss and Pss over the (len) bytes of smaps text
 * in (text). A mapping counts as guest RAM if its name contains
 * "agentvmm-ram" (agentvmm's memfd) or, for other VMMs, if it is an
 * anonymous or memfd mapping whose size lies in [ram_bytes, ram_bytes * 9/8
 * + 4 MiB] (QEMU maps each RAM block whole, plus alignment).
 * Return: 0; -EINVAL when no mapping header was found.
 * Context: any; pure.
 */
int bench_parse_smaps(const char *text, size_t len, uint64_t ram_bytes, struct bench_mem *m);

#endif /* AGENTVMM_BENCH_PARSE_H */
