/* SPDX-License-Identifier: MIT */
/* e2e.h: shared bits of the end-to-end tests (paths, running agentvmm). */
#ifndef AGENTVMM_TESTS_E2E_E2E_H
#define AGENTVMM_TESTS_E2E_E2E_H

#include <stdio.h>
#include <stdlib.h>

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

#endif
