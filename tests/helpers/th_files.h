/* SPDX-License-Identifier: MIT */
/*
 * th_files.h: shell commands, small files and the cached kernel's modules in
 * cmocka tests (include after <cmocka.h>); failures fail the test.
 */
#ifndef AGENTVMM_TESTS_HELPERS_TH_FILES_H
#define AGENTVMM_TESTS_HELPERS_TH_FILES_H

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* th_sh() - run a printf-formatted shell command; its system() status. */
static inline int th_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int th_sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* th_read_text() - a text file (up to 64 KiB) in a static buffer. */
static inline char *th_read_text(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* th_count_entries() - names in (dir) not starting with '.'. */
static inline int th_count_entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * th_cache_modules_dir() - (cache)/lib/modules/<(cache)/release> into (dir)
 * when it has a modules.dep, else NULL: the layout scripts/fetch-kernel.sh
 * gives each of its kernel caches.
 */
static inline const char *th_cache_modules_dir(const char *cache, char *dir, size_t len)
{
	char rel[128] = "", path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/release", cache);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	if (!fgets(rel, sizeof(rel), f))
		rel[0] = '\0';
	fclose(f);
	rel[strcspn(rel, "\n")] = '\0';
	snprintf(dir, len, "%s/lib/modules/%s", cache, rel);
	snprintf(path, sizeof(path), "%s/modules.dep", dir);
	return *rel && access(path, R_OK) == 0 ? dir : NULL;
}

/*
 * th_real_modules_dir() - the Debian cloud kernel's modules directory (AV_MODULES_DIR,
 * or lib/modules/<release> in AV_KERNEL_CACHE) if it was fetched, else NULL.
 */
static inline const char *th_real_modules_dir(void)
{
	static char dir[512];
	const char *env = getenv("AV_MODULES_DIR"), *cache = getenv("AV_KERNEL_CACHE");

	if (env && *env)
		return env;
	return th_cache_modules_dir(cache && *cache ? cache : "/var/cache/agentvmm/kernel", dir,
				    sizeof(dir));
}

/*
 * th_generic_modules_dir() - Debian's generic amd64 kernel's modules directory
 * (lib/modules/<release> in AV_TESTHOST_CACHE, default
 * /var/cache/agentvmm/testhost, fetched by scripts/fetch-kernel.sh for the
 * nested test host) when it has a modules.dep, else NULL. Its config builds
 * as modules what the cloud kernel builds in (ext4, crc32c, ...).
 */
static inline const char *th_generic_modules_dir(void)
{
	static char dir[512];
	const char *cache = getenv("AV_TESTHOST_CACHE");

	return th_cache_modules_dir(cache && *cache ? cache : "/var/cache/agentvmm/testhost", dir,
				    sizeof(dir));
}

#endif
