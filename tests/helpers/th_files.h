/* SPDX-License-Identifier: MIT */
/*
 * th_files.h: shell commands and small files in cmocka tests (include after
 * <cmocka.h>); failures fail the test.
 */
#ifndef AGENTVMM_TESTS_HELPERS_TH_FILES_H
#define AGENTVMM_TESTS_HELPERS_TH_FILES_H

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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

#endif
