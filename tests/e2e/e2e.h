/* SPDX-License-Identifier: MIT */
/* e2e.h: shared bits of the end-to-end tests (paths, running agentvmm). */
#ifndef AGENTVMM_TESTS_E2E_E2E_H
#define AGENTVMM_TESTS_E2E_E2E_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "tests/helpers/th_run.h"

/* Wall-clock limit for one guest boot (nested TCG test hosts are slow). */
#define E2E_BOOT_TIMEOUT_S 180

/* Path of the cached test kernel file (bzImage or vmlinux), or NULL. */
static inline const char *e2e_kernel(const char *name)
{
	static char path[2][4096];
	static int i;
	const char *cache = getenv("AV_KERNEL_CACHE");

	i ^= 1;
	snprintf(path[i], sizeof(path[i]), "%s/%s", cache ? cache : "/var/cache/agentvmm/kernel",
		 name);
	FILE *f = fopen(path[i], "rb");
	if (!f)
		return NULL;
	fclose(f);
	return path[i];
}

/* A NULL-terminated argument list literal. */
#define E2E_ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/*
 * e2e_boot() - run "[prefix...] agentvmm --kernel bzImage [extra...] -- sh -c
 * script" with a limit of (timeout_s) into (res); prints the time taken.
 * (prefix) and (extra) are NULL-terminated lists or NULL.
 */
static inline void e2e_boot(struct th_result *res, unsigned timeout_s, const char *const *prefix,
			    const char *const *extra, const char *script)
{
	const char *argv[64];
	int n = 0;

	for (; prefix && *prefix && n < 8; prefix++)
		argv[n++] = *prefix;
	argv[n++] = AV_AGENTVMM;
	argv[n++] = "--kernel";
	argv[n++] = e2e_kernel("bzImage");
	for (; extra && *extra && n < 56; extra++)
		argv[n++] = *extra;
	argv[n++] = "--";
	argv[n++] = "sh";
	argv[n++] = "-c";
	argv[n++] = script;
	argv[n] = NULL;
	th_run(argv, timeout_s, res);
	printf("  run took %.2f s\n", res->secs);
	if (res->status != 0) {
		/* whether the test expects it or not: what agentvmm and the guest said last */
		size_t len = strlen(res->out);

		printf("  status %d; stderr:\n%s  stdout (end):\n%s\n", res->status, res->err,
		       res->out + (len > 1500 ? len - 1500 : 0));
	}
}

/* e2e_host_line() - run (cmd) on the host (stdin /dev/null); its first output line, "" if none. */
static inline char *e2e_host_line(const char *cmd)
{
	static char line[4096];
	char full[4200];
	FILE *p;

	snprintf(full, sizeof(full), "exec </dev/null; %s", cmd);
	line[0] = 0;
	p = popen(full, "r");
	if (!p)
		return line;
	if (!fgets(line, sizeof(line), p))
		line[0] = 0;
	pclose(p);
	line[strcspn(line, "\n")] = 0;
	return line;
}

/* e2e_count_entries() - entries of directory (path) not starting with '.'; 0 if unreadable. */
static inline unsigned e2e_count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	unsigned n = 0;

	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/*
 * e2e_count_procs() - live (non-zombie) processes whose comm is (comm), only
 * children of (parent) unless it is 0; the first one's pid in *pid if not NULL.
 */
static inline int e2e_count_procs(const char *comm, pid_t parent, pid_t *pid)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d))) {
		char p[300], c[64], state;
		int ppid;
		FILE *f;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/stat", de->d_name);
		f = fopen(p, "r");
		if (!f)
			continue;
		/* "pid (comm) state ppid"; a zombie waits for a reaper that is not ours */
		if (fscanf(f, "%*d (%63[^)]) %c %d", c, &state, &ppid) == 3 && state != 'Z' &&
		    !strcmp(c, comm) && (!parent || ppid == parent)) {
			if (pid && !n)
				*pid = atoi(de->d_name);
			n++;
		}
		fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

#endif
