// SPDX-License-Identifier: MIT
/* guest_mem.c: memfd guest RAM with guard pages; the only file turning a GPA into a pointer. */
#include "vmm/guest_mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot/layout.h"

#define GM_GUARD_LEN 4096

void gm_init_empty(struct guest_mem *gm)
{
	memset(gm, 0, sizeof(*gm));
	gm->fd = -1;
}

int gm_create(struct guest_mem *gm, uint64_t size, gpa_t hole_start)
{
	int err;

	gm_init_empty(gm);
	/* a hole starting above 4 GiB would make region 1 overlap region 0 */
	if (size == 0 || !IS_ALIGNED(size, 4096) || hole_start == 0 ||
	    !IS_ALIGNED(hole_start, 4096) || hole_start > BOOT_RAM_HIGH_GPA || size > GiB(1024))
		return -EINVAL;

	gm->fd = memfd_create("agentvmm-ram", MFD_CLOEXEC);
	if (gm->fd < 0)
		return -errno;
	if (ftruncate(gm->fd, (off_t)size) < 0) {
		err = -errno;
		goto err_close;
	}
	gm->guard_len = GM_GUARD_LEN;
	gm->reserve_len = size + 2 * gm->guard_len;
	gm->reserve = mmap(NULL, gm->reserve_len, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (gm->reserve == MAP_FAILED) {
		gm->reserve = NULL;
		err = -ENOMEM;
		goto err_close;
	}
	/* RAM is never executable on the host side. */
	void *ram = mmap(gm->reserve + gm->guard_len, size, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED | MAP_NORESERVE, gm->fd, 0);
	if (ram == MAP_FAILED) {
		err = -ENOMEM;
		goto err_unmap;
	}
	madvise(ram, size, MADV_DONTDUMP);
	gm->size = size;
	gm->regions[0] = (struct gm_region){
		.gpa = 0, .len = MIN(size, hole_start), .fd_offset = 0, .hva = ram,
	};
	gm->nr_regions = 1;
	if (size > hole_start) {
		gm->regions[1] = (struct gm_region){
			.gpa = BOOT_RAM_HIGH_GPA,
			.len = size - hole_start,
			.fd_offset = hole_start,
			.hva = (uint8_t *)ram + hole_start,
		};
		gm->nr_regions = 2;
	}
	return 0;

err_unmap:
	munmap(gm->reserve, gm->reserve_len);
	gm->reserve = NULL;
err_close:
	close(gm->fd);
	gm->fd = -1;
	return err;
}

void gm_destroy(struct guest_mem *gm)
{
	if (gm->reserve)
		munmap(gm->reserve, gm->reserve_len);
	if (gm->fd >= 0)
		close(gm->fd);
	gm_init_empty(gm);
}

static const struct gm_region *gm_find(const struct guest_mem *gm, gpa_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		const struct gm_region *r = &gm->regions[i];

		/* overflow-free: never computes gpa + len */
		if (len <= r->len && gpa >= r->gpa && gpa - r->gpa <= r->len - len)
			return r;
	}
	return NULL;
}

bool gm_range_ok(const struct guest_mem *gm, gpa_t gpa, uint64_t len)
{
	return gm_find(gm, gpa, len) != NULL;
}

void *gm_ptr(const struct guest_mem *gm, gpa_t gpa, uint64_t len)
{
	const struct gm_region *r = gm_find(gm, gpa, len);

	return r ? r->hva + (gpa - r->gpa) : NULL;
}

int gm_read(const struct guest_mem *gm, gpa_t gpa, void *dst, size_t len)
{
	const void *p = gm_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int gm_write(const struct guest_mem *gm, gpa_t gpa, const void *src, size_t len)
{
	void *p = gm_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

gpa_t gm_low_end(const struct guest_mem *gm)
{
	return gm->nr_regions ? gm->regions[0].gpa + gm->regions[0].len : 0;
}
