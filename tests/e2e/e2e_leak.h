/* SPDX-License-Identifier: MIT */
/*
 * e2e_leak.h: host-side figures the fault and soak tests compare before and
 * after running agentvmm: processes by name, directory entries, mounts, open
 * files, threads, available memory. Header-only (each test is one file).
 */
#ifndef AGENTVMM_TESTS_E2E_E2E_LEAK_H
#define AGENTVMM_TESTS_E2E_E2E_LEAK_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Live (not zombie) processes whose comm is (name). */
static inline int leak_count_procs(const char *name)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d))) {
		char p[300], comm[64], state;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/stat", de->d_name);
		FILE *f = fopen(p, "r");
		if (!f)
			continue;
		if (fscanf(f, "%*d (%63[^)]) %c", comm, &state) == 2 && state != 'Z' &&
		    !strcmp(comm, name))
			n++;
		fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

/* Live processes whose command line holds (sub) in one of its arguments. */
static inline int leak_count_procs_arg(const char *sub)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d))) {
		char p[300], buf[8192];
		size_t len;

		if (de->d_name[0] < '0' || de->d_name[0] > '9' || atoi(de->d_name) == getpid())
			continue;
		snprintf(p, sizeof(p), "/proc/%s/cmdline", de->d_name);
		FILE *f = fopen(p, "r");
		if (!f)
			continue;
		len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = 0;
		for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
			if (strstr(buf + i, sub)) {
				n++;
				break;
			}
	}
	if (d)
		closedir(d);
	return n;
}

/* Wait up to (ms) for no process named (name) to be left; return how many are. */
static inline int leak_wait_procs_gone(const char *name, unsigned ms)
{
	int n;

	for (unsigned t = 0; (n = leak_count_procs(name)) && t < ms; t += 20)
		usleep(20000);
	return n;
}

/*
 * Wait up to (ms) for network interface (name) in namespace (ns) to be gone;
 * return how long it took in ms, or -1 if it is still there. A tap dies with
 * the last reference to its fd; after a SIGKILL a poll still queued on
 * agentvmm's io_uring holds one until the kernel's own ring teardown, which
 * runs in a worker shortly after the process is reaped.
 */
static inline int leak_wait_link_gone(const char *ns, const char *name, unsigned ms)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "ip netns exec %s ip link show %s >/dev/null 2>&1", ns, name);
	for (unsigned t = 0;; t += 50) {
		int st = system(cmd);

		if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0)
			return (int)t;
		if (t >= ms)
			return -1;
		usleep(50000);
	}
}

/* Entries of (path) other than . and .. whose name contains (sub) (NULL: all); 0 if absent. */
static inline unsigned leak_count_entries(const char *path, const char *sub)
{
	DIR *d = opendir(path);
	struct dirent *de;
	unsigned n = 0;

	while (d && (de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		     (!sub || strstr(de->d_name, sub));
	if (d)
		closedir(d);
	return n;
}

/* Lines of a /proc file (mounts: /proc/self/mountinfo). */
static inline unsigned leak_count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	unsigned n = 0;
	int c;

	while (f && (c = fgetc(f)) != EOF)
		n += c == '\n';
	if (f)
		fclose(f);
	return n;
}

/* Allocated file handles of the whole host (first field of /proc/sys/fs/file-nr). */
static inline long leak_file_nr(void)
{
	FILE *f = fopen("/proc/sys/fs/file-nr", "r");
	long n = -1;

	if (f && fscanf(f, "%ld", &n) != 1)
		n = -1;
	if (f)
		fclose(f);
	return n;
}

/* Threads of every process on the host (sum of Threads: in /proc/PID/status). */
static inline long leak_threads(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	long n = 0;

	while (d && (de = readdir(d))) {
		char p[300], line[128];

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/status", de->d_name);
		FILE *f = fopen(p, "r");
		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "Threads:", 8))
				n += atol(line + 8);
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

/* MemAvailable in KiB. */
static inline long leak_mem_available_kib(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long kib = -1;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "MemAvailable:", 13))
			kib = atol(line + 13);
	if (f)
		fclose(f);
	return kib;
}

/* Open fds of this process. */
static inline unsigned leak_own_fds(void)
{
	return leak_count_entries("/proc/self/fd", NULL) - 1; /* minus the opendir's own */
}

/* One checkpoint of a soak run. */
struct leak_fig {
	long file_nr, threads, mem_kib;
	unsigned own_fds, mounts, tmp_entries, cache_entries;
	int virtiofsd, agentvmm;
};

/* Sample the figures; (tmp) and (cache) are directories agentvmm writes to. */
static inline void leak_sample(struct leak_fig *f, const char *tmp, const char *cache)
{
	f->file_nr = leak_file_nr();
	f->threads = leak_threads();
	f->mem_kib = leak_mem_available_kib();
	f->own_fds = leak_own_fds();
	f->mounts = leak_count_lines("/proc/self/mountinfo");
	f->tmp_entries = leak_count_entries(tmp, NULL);
	f->cache_entries = leak_count_entries(cache, NULL);
	f->virtiofsd = leak_count_procs("virtiofsd");
	f->agentvmm = leak_count_procs("agentvmm");
}

static inline void leak_print_header(FILE *out)
{
	fprintf(out, "%6s %8s %8s %10s %6s %6s %5s %6s %9s %8s\n", "boots", "file-nr", "threads",
		"MemAvKiB", "ownfd", "mounts", "tmp", "cache", "virtiofsd", "agentvmm");
}

static inline void leak_print(FILE *out, unsigned boots, const struct leak_fig *f)
{
	fprintf(out, "%6u %8ld %8ld %10ld %6u %6u %5u %6u %9d %8d\n", boots, f->file_nr,
		f->threads, f->mem_kib, f->own_fds, f->mounts, f->tmp_entries, f->cache_entries,
		f->virtiofsd, f->agentvmm);
}

#endif
