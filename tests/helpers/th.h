/* SPDX-License-Identifier: MIT */
/* th.h: test helpers; th_* functions abort the test on failure. */
#ifndef AGENTVMM_TESTS_HELPERS_TH_H
#define AGENTVMM_TESTS_HELPERS_TH_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/guest_mem.h"

/* th_gm_create() - real memfd guest RAM of (size) bytes with guard pages. */
void th_gm_create(struct guest_mem *gm, uint64_t size);

/* th_read_file() - whole file into a malloc'd buffer; NULL (errno set) if unreadable. */
void *th_read_file(const char *path, size_t *len);

/*
 * th_test_kernel() - path of the cached Debian cloud bzImage (AV_KERNEL env, or
 * the kernel cache, see scripts/fetch-kernel.sh), or NULL when not fetched.
 */
const char *th_test_kernel(void);

#endif
