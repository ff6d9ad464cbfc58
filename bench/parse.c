// SPDX-License-Identifier: MIT
/* parse.c: parsers for VMM log lines, printk timestamps and smaps. Prefix bench_. */
#include "bench/parse.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bench_parse_av_times(const char *line, double ms[BENCH_AV_NR_TIMES])
{
	const char *p = strstr(line, "times (ms since start): ");
	double v[BENCH_AV_NR_TIMES];
	int n = -1;

	if (!p)
		return -EINVAL;
	/* the format of vm_report_times() in vmm/vm.c */
	if (sscanf(p, "times (ms since start): first KVM_RUN %lf, guest-init %lf, workload %lf, "
		      "workload done %lf, stop %lf, torn down %lf%n",
		   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &n) != 6 || n < 0)
		return -EINVAL;
	for (int i = 0; i < BENCH_AV_NR_TIMES; i++)
		ms[i] = v[i] < 0 ? NAN : v[i];
	return 0;
}

int bench_parse_av_clock(const char *line, double *ms)
{
	const char *p = strstr(line, "clock: vm_create at CLOCK_MONOTONIC ");

	if (!p || sscanf(p, "clock: vm_create at CLOCK_MONOTONIC %lf ms", ms) != 1 || *ms < 0)
		return -EINVAL;
	return 0;
}

int bench_parse_av_memory(const char *line, uint64_t *rss_kib, uint64_t *guest_kib,
			  uint64_t *vmm_kib)
{
	const char *p = strstr(line, "memory: RSS ");

	if (!p || sscanf(p, "memory: RSS %" SCNu64 " KiB, of which guest RAM %" SCNu64
			    " KiB, VMM %" SCNu64 " KiB", rss_kib, guest_kib, vmm_kib) != 3)
		return -EINVAL;
	return 0;
}

bool bench_parse_printk(const char *line, const char *needle, double *sec)
{
	const char *hit = strstr(line, needle), *open = NULL, *p;
	char *end;
	double v;

	if (!hit)
		return false;
	/* the last '[' before the needle opens the record's timestamp */
	for (p = line; p < hit; p++)
		if (*p == '[')
			open = p;
	if (!open)
		return false;
	v = strtod(open + 1, &end);
	if (end == open + 1 || *end != ']' || end > hit || v < 0)
		return false;
	*sec = v;
	return true;
}

bool bench_parse_qemu_running(const char *line)
{
	/* qemu softmmu/trace-events: vm_state_notify "running %d reason %d (%s)" */
	return strstr(line, "vm_state_notify running 1 ") != NULL;
}

/* A smaps mapping header: "start-end perms offset dev inode [name]". */
static bool smaps_header(const char *line, size_t len, uint64_t *size, const char **name)
{
	unsigned long long start, end;
	int n = -1;

	if (len == 0 || !strchr("0123456789abcdef", line[0]))
		return false;
	if (sscanf(line, "%llx-%llx %*s %*s %*s %*s%n", &start, &end, &n) != 2 || n < 0 ||
	    end < start)
		return false;
	*size = end - start;
	*name = line + n;
	while (**name == ' ')
		(*name)++;
	return true;
}

static bool is_guest_ram(const char *name, size_t name_len, uint64_t size, uint64_t ram_bytes)
{
	char buf[256];
	size_t l = name_len < sizeof(buf) - 1 ? name_len : sizeof(buf) - 1;

	memcpy(buf, name, l);
	buf[l] = '\0';
	if (strstr(buf, "agentvmm-ram"))
		return true;
	if (ram_bytes == 0 || size < ram_bytes || size > ram_bytes / 8 * 9 + (4ULL << 20))
		return false;
	/* anonymous (no name), or a memfd-backed RAM block */
	return l == 0 || strncmp(buf, "/memfd:", 7) == 0 || strcmp(buf, "[anon]") == 0;
}

int bench_parse_smaps(const char *text, size_t len, uint64_t ram_bytes, struct bench_mem *m)
{
	const char *p = text, *end = text + len;
	bool guest = false, seen = false;
	unsigned long long kb;

	memset(m, 0, sizeof(*m));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		uint64_t size;
		const char *name;
		char field[64];

		if (smaps_header(p, l, &size, &name)) {
			seen = true;
			guest = is_guest_ram(name, l - (size_t)(name - p), size, ram_bytes);
		} else if (l < sizeof(field)) {
			memcpy(field, p, l);
			field[l] = '\0';
			if (sscanf(field, "Rss: %llu kB", &kb) == 1) {
				m->rss_kib += kb;
				if (guest)
					m->guest_rss_kib += kb;
			} else if (sscanf(field, "Pss: %llu kB", &kb) == 1) {
				m->pss_kib += kb;
				if (guest)
					m->guest_pss_kib += kb;
			}
		}
		p += l + 1;
	}
	return seen ? 0 : -EINVAL;
}
