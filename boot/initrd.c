// SPDX-License-Identifier: MIT
/* initrd.c: place the initrd page-aligned as high as allowed and read it into guest RAM. */
#include "boot/initrd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define INITRD_ALIGN 4096

/* Highest (align)ed start for (size) bytes ending at or below (top), not below (floor). */
static int place_below(uint64_t size, gpa_t floor, gpa_t top, gpa_t *gpa)
{
	if (size > top)
		return -ENOSPC;
	gpa_t at = ALIGN_DOWN(top - size, INITRD_ALIGN);
	if (at < floor)
		return -ENOSPC;
	*gpa = at;
	return 0;
}

int initrd_place(const struct guest_mem *gm, uint64_t size, const struct initrd_limits *lim,
		 gpa_t *gpa)
{
	gpa_t floor = ALIGN_UP(lim->min_gpa, INITRD_ALIGN);

	if (size == 0 || floor < lim->min_gpa) /* ALIGN_UP wrapped */
		return -ENOSPC;
	if (!place_below(size, floor, MIN(lim->max_end, gm_low_end(gm)), gpa) &&
	    gm_range_ok(gm, *gpa, size))
		return 0;
	if (!lim->allow_high)
		return -ENOSPC;
	for (unsigned i = 1; i < gm->nr_regions; i++) {
		const struct gm_region *r = &gm->regions[i];

		if (!place_below(size, MAX(floor, r->gpa), r->gpa + r->len, gpa) &&
		    gm_range_ok(gm, *gpa, size))
			return 0;
	}
	return -ENOSPC;
}

/* pread() the whole of (fd) into (dst); a file that shrank is -EIO. */
static int read_full(int fd, uint8_t *dst, uint64_t len)
{
	uint64_t done = 0;

	while (done < len) {
		size_t chunk = (size_t)MIN(len - done, (uint64_t)1 << 30);
		ssize_t n = pread(fd, dst + done, chunk, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (uint64_t)n;
	}
	return 0;
}

int initrd_load(const struct guest_mem *gm, const char *path, const struct initrd_limits *lim,
		gpa_t *gpa, uint64_t *len, char *err, size_t errlen)
{
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0) {
		ret = -EINVAL;
		snprintf(err, errlen, "%s: initrd is %s", path,
			 S_ISREG(st.st_mode) ? "empty" : "not a regular file");
		goto out_close;
	}
	ret = initrd_place(gm, (uint64_t)st.st_size, lim, gpa);
	if (ret) {
		gpa_t top = MIN(lim->max_end, gm_low_end(gm));

		ret = -EINVAL;
		snprintf(err, errlen,
			 "%s: initrd too big (%llu bytes; %llu free between kernel end 0x%llx and 0x%llx)",
			 path, (unsigned long long)st.st_size,
			 (unsigned long long)(top > lim->min_gpa ? top - lim->min_gpa : 0),
			 (unsigned long long)lim->min_gpa, (unsigned long long)top);
		goto out_close;
	}
	/* gm_ptr() is the bounds check; read straight into guest RAM, no bounce buffer. */
	ret = read_full(fd, gm_ptr(gm, *gpa, (uint64_t)st.st_size), (uint64_t)st.st_size);
	if (ret) {
		snprintf(err, errlen, "%s: %s", path,
			 ret == -EIO ? "file shrank while reading" : strerror(-ret));
		goto out_close;
	}
	*len = (uint64_t)st.st_size;
out_close:
	close(fd);
	return ret;
}
