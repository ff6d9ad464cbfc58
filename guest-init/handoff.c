// SPDX-License-Identifier: MIT
/* handoff.c: exec a system's own init as PID 1 (handoff.h, docs/guest-init.md). */
#include "guest-init/handoff.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest-init/report.h"

int gi_handoff_check(const char *init, char *resolved, size_t len)
{
	char buf[PATH_MAX];
	struct stat st;

	snprintf(resolved, len, "%s", init);
	/* stat() and realpath() follow links: /run/current-system/init, /nix/var/... */
	if (stat(init, &st) < 0)
		return -errno;
	if (realpath(init, buf))
		snprintf(resolved, len, "%s", buf);
	if (!S_ISREG(st.st_mode) || access(init, X_OK) < 0)
		return -EACCES;
	return 0;
}

/* Mounts systemd never stops: /proc, /sys, /dev and below (API), /run itself. */
static bool api_path(const char *t)
{
	static const char *const api[] = { "/proc", "/sys", "/dev" };

	if (!strcmp(t, "/run"))
		return true;
	for (size_t i = 0; i < GI_ARRAY_SIZE(api); i++) {
		size_t n = strlen(api[i]);

		if (!strncmp(t, api[i], n) && (t[n] == 0 || t[n] == '/'))
			return true;
	}
	return false;
}

/*
 * One /proc/self/mountinfo line: "ID PARENT MAJ:MIN ROOT TARGET OPTS [OPT...]
 * - FSTYPE SOURCE SUPER". Fields stay in the kernel's octal-escaped form,
 * which is also utab's. Return: true when root, target and source were found.
 */
static bool mountinfo_fields(char *line, char **root, char **target, char **source)
{
	char *save = NULL, *tok;
	int i = 0;
	bool dash = false;

	*root = *target = *source = NULL;
	for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save), i++) {
		if (i == 3)
			*root = tok;
		else if (i == 4)
			*target = tok;
		else if (i > 5 && !dash && !strcmp(tok, "-"))
			dash = true, i = 100;
		else if (dash && i == 102)
			*source = tok;
	}
	return *root && *target && *source;
}

int gi_handoff_mark_mounts(void)
{
	char line[3 * PATH_MAX], *root, *target, *source;
	FILE *in, *out;
	int n = 0, e;

	if (mkdir(GI_UTAB_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	in = fopen("/proc/self/mountinfo", "re");
	if (!in)
		return -errno;
	out = fopen(GI_UTAB_PATH, "ae");
	if (!out) {
		e = errno;
		fclose(in);
		return -e;
	}
	while (fgets(line, sizeof(line), in)) {
		if (!mountinfo_fields(line, &root, &target, &source))
			continue;
		if (!strcmp(target, "/") || api_path(target))
			continue;
		/* libmount matches a utab entry to a mount by SRC, TARGET and ROOT */
		fprintf(out, "SRC=%s TARGET=%s ROOT=%s OPTS=x-initrd.mount\n", source, target, root);
		n++;
	}
	fclose(in);
	e = ferror(out) ? EIO : 0;
	if (fclose(out) < 0 && !e)
		e = errno;
	return e ? -e : n;
}

int gi_handoff_exec(const char *init)
{
	char path[PATH_MAX];
	char *argv[] = { path, NULL };
	sigset_t all;
	int i;

	if ((size_t)snprintf(path, sizeof(path), "%s", init) >= sizeof(path))
		return -ENAMETOOLONG;

	if (chdir("/") < 0)
		return -errno;
	/* the system init owns the machine now: no agentvmm ports, no inherited mask */
	gi_report_drop();
	for (i = 1; i < NSIG; i++)
		signal(i, SIG_DFL);
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	execv(init, argv);
	return -errno;
}
