/* SPDX-License-Identifier: MIT */
/* th_run.h: run a program (agentvmm) with a hard wall-clock limit and capture its output. */
#ifndef AGENTVMM_TESTS_HELPERS_TH_RUN_H
#define AGENTVMM_TESTS_HELPERS_TH_RUN_H

#include <stddef.h>

struct th_result {
	int status;      /* exit status, 128+sig if killed by a signal, -1 on timeout,
			  * -2 when the child survived SIGKILL for 10 s */
	char out[65536]; /* stdout, NUL-terminated (truncated) */
	size_t out_len;  /* bytes in (out): stdout may hold NULs */
	char err[16384]; /* stderr, NUL-terminated (truncated) */
	double secs;
};

/*
 * th_run() - run (argv) with stdin from /dev/null; kill its process group
 * with SIGKILL after (timeout_s) seconds. Fills (res). Never aborts.
 */
void th_run(const char *const argv[], unsigned timeout_s, struct th_result *res);

#endif
