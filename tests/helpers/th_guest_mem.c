// SPDX-License-Identifier: MIT
/* th_guest_mem.c: real guest RAM and file helpers for unit tests. */
#include "tests/helpers/th.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "boot/layout.h"

void th_gm_create(struct guest_mem *gm, uint64_t size)
{
	assert_int_equal(gm_create(gm, size, BOOT_MMIO_HOLE_GPA), 0);
}

void *th_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;

	if (!f)
		return NULL;
	if (fstat(fileno(f), &st) < 0) {
		fclose(f);
		return NULL;
	}
	void *buf = malloc((size_t)st.st_size + 1);
	size_t n = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	((char *)buf)[n] = 0;
	*len = n;
	return buf;
}

const char *th_test_kernel(void)
{
	static char path[4096];
	const char *env = getenv("AV_KERNEL");
	const char *cache = getenv("AV_KERNEL_CACHE");

	if (env && access(env, R_OK) == 0)
		return env;
	snprintf(path, sizeof(path), "%s/bzImage",
		 cache ? cache : "/var/cache/agentvmm/kernel");
	return access(path, R_OK) == 0 ? path : NULL;
}
