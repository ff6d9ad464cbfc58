/* SPDX-License-Identifier: MIT */
/* e2e.h: shared bits of the end-to-end tests (paths, running agentvmm). */
#ifndef AGENTVMM_TESTS_E2E_E2E_H
#define AGENTVMM_TESTS_E2E_E2E_H

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* e2e_run() - run "agentvmm (args...)", NULL-terminated, with a limit of (timeout_s) into (res). */
static inline void e2e_run(struct th_result *res, unsigned timeout_s, const char *const *args)
{
	const char *argv[40];
	int n = 0;

	argv[n++] = AV_AGENTVMM;
	for (; *args && n < 39; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	th_run(argv, timeout_s, res);
}

/* e2e_sh() - run the shell command printf(fmt, ...); its exit status, 128 if it did not exit. */
static inline __attribute__((format(printf, 1, 2))) int e2e_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/*
 * e2e_make_dirs() - make the temp dir (tmpl, a mkdtemp() template rewritten in
 * place) mode 0755, and in it "run" mode 0700, whose path goes to (rundir, size)
 * and to TMPDIR (where agentvmm puts its sockets); 0, or -1 if mkdtemp() fails.
 */
static inline int e2e_make_dirs(char *tmpl, char *rundir, size_t size)
{
	if (!mkdtemp(tmpl))
		return -1;
	chmod(tmpl, 0755);
	snprintf(rundir, size, "%s/run", tmpl);
	mkdir(rundir, 0700);
	setenv("TMPDIR", rundir, 1);
	return 0;
}

/* e2e_rm_rf() - "rm -rf (dir)"; 0, or -1 if that failed. */
static inline int e2e_rm_rf(const char *dir)
{
	return e2e_sh("rm -rf %s", dir) == 0 ? 0 : -1;
}

/*
 * e2e_kvm_device() - the KVM device agentvmm opens: $AGENTVMM_KVM_DEVICE when
 * set and not empty (a test run acting as a host without KVM), else /dev/kvm.
 */
static inline const char *e2e_kvm_device(void)
{
	const char *p = getenv("AGENTVMM_KVM_DEVICE");

	return p && *p ? p : "/dev/kvm";
}

/*
 * e2e_check_host() - 0 if this host has an accessible KVM device
 * (e2e_kvm_device()) and the test kernel; else says why and returns main()'s
 * exit code (77 skip, 1 fail).
 */
static inline int e2e_check_host(void)
{
	if (access(e2e_kvm_device(), R_OK | W_OK) != 0) {
		fprintf(stderr, "skip: %s not accessible\n", e2e_kvm_device());
		return 77;
	}
	if (!e2e_kernel("bzImage")) {
		fprintf(stderr, "FAIL: test kernel missing; run scripts/fetch-kernel.sh\n");
		return 1;
	}
	return 0;
}

/* e2e_check_virtiofsd() - 0 if virtiofsd is installed; else says so and returns 77 (skip). */
static inline int e2e_check_virtiofsd(void)
{
	if (access("/usr/lib/qemu/virtiofsd", X_OK) != 0) {
		fprintf(stderr, "skip: /usr/lib/qemu/virtiofsd missing (qemu-system-common)\n");
		return 77;
	}
	return 0;
}

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

/* e2e_slurp() - the text of file (path), up to 4 KiB, in a static buffer; "" if unreadable. */
static inline char *e2e_slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = 0;
	return buf;
}

/* e2e_write_file() - (path) holds (text) now; 0 or -1. */
static inline int e2e_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f) ? -1 : 0;
}

/* e2e_ip_path() - where the ip command is (th_run() does not search PATH); "ip" if not found. */
static inline const char *e2e_ip_path(void)
{
	static const char *const cand[] = { "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip" };

	for (size_t i = 0; i < sizeof(cand) / sizeof(cand[0]); i++)
		if (access(cand[i], X_OK) == 0)
			return cand[i];
	return "ip";
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
