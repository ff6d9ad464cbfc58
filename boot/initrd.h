/* SPDX-License-Identifier: MIT */
/* initrd.h: read an initrd file into guest RAM as high as the kernel allows. */
#ifndef AGENTVMM_BOOT_INITRD_H
#define AGENTVMM_BOOT_INITRD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/compiler.h"
#include "vmm/guest_mem.h"

struct initrd_limits {
	gpa_t min_gpa;    /* first byte the initrd may use (end of the kernel's init_size) */
	gpa_t max_end;    /* one past the last byte it may use in low RAM */
	bool allow_high;  /* may go to the top of RAM above 4 GiB when low RAM is full */
};

/*
 * initrd_place() - page-aligned guest address for (size) bytes, as high as
 * possible within (lim) and RAM: the top of low RAM first, then (when
 * lim->allow_high) the top of the region above 4 GiB.
 * Return: 0 with (*gpa) set; -ENOSPC when it does not fit.
 * Context: any.
 */
int initrd_place(const struct guest_mem *gm, uint64_t size, const struct initrd_limits *lim,
		 gpa_t *gpa) __must_check;

/*
 * initrd_load() - read the file (path) into guest RAM at the address
 * initrd_place() chooses.
 * Return: 0 with (*gpa, *len) set; -EINVAL with a message in (err) when the
 * file is empty, not a regular file or does not fit ("initrd too big");
 * -errno from open/read, also with a message.
 * Context: setup.
 */
int initrd_load(const struct guest_mem *gm, const char *path, const struct initrd_limits *lim,
		gpa_t *gpa, uint64_t *len, char *err, size_t errlen) __must_check;

#endif
