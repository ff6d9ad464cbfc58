// SPDX-License-Identifier: MIT
/* guest_mem.c: guest RAM (memfd or anonymous) with guard pages; the only file turning a GPA into a pointer. */
#include "vmm/guest_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "boot/layout.h"
#include "vmm/snapshot_file.h"

#define GM_GUARD_LEN 4096
#define GM_HUGE_ALIGN (2ULL << 20) /* x86 PMD: one transparent huge page */

void gm_init_empty(struct guest_mem *gm)
{
	memset(gm, 0, sizeof(*gm));
	gm->fd = -1;
}

/*
 * A PROT_NONE reservation of [guard][size][guard] whose middle starts on a
 * GM_HUGE_ALIGN boundary: transparent huge pages (and KVM's 2 MiB mappings of
 * them) need the host address 2 MiB-aligned like the guest-physical one.
 * Reserve the slack too, then give back what lies outside.
 */
static int gm_reserve(struct guest_mem *gm, uint64_t size)
{
	size_t want = size + 2 * GM_GUARD_LEN;
	size_t len = want + GM_HUGE_ALIGN;
	uint8_t *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return -ENOMEM;
	uint8_t *ram = (uint8_t *)ALIGN_UP((uintptr_t)p + GM_GUARD_LEN, GM_HUGE_ALIGN);
	uint8_t *start = ram - GM_GUARD_LEN;
	size_t head = (size_t)(start - p);

	if (head)
		munmap(p, head);
	if (len - head > want)
		munmap(start + want, len - head - want);
	gm->guard_len = GM_GUARD_LEN;
	gm->reserve = start;
	gm->reserve_len = want;
	return 0;
}

/* Map the RAM over the middle of the reservation: memfd shared, or anonymous. */
static int gm_map(struct guest_mem *gm, uint64_t size, bool shared, void **ram)
{
	uint8_t *at = gm->reserve + gm->guard_len;
	void *p;

	/* RAM is never executable on the host side. */
	if (shared)
		p = mmap(at, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_NORESERVE,
			 gm->fd, 0);
	else
		p = mmap(at, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	madvise(p, size, MADV_DONTDUMP);
	/* name anonymous RAM as the memfd is named, for /proc/PID/maps (kernel 5.17+; best effort) */
	if (!shared)
		prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)p, (unsigned long)size,
		      (unsigned long)"agentvmm-ram");
	/*
	 * Huge pages where the host allows them (THP "madvise" for anonymous
	 * memory, shmem_enabled "advise" for the memfd): a 2 MiB fault instead of
	 * 512, and at exit a few hundred pages to free instead of ~100,000.
	 * Errors are ignored: without THP this is 4 KiB pages, as before.
	 */
	madvise(p, size, MADV_HUGEPAGE);
	/* a fork()ed helper (then exec) must not copy or COW-share guest RAM */
	if (!shared)
		madvise(p, size, MADV_DONTFORK);
	*ram = p;
	return 0;
}

/*
 * The memfd, sized and sealed. Its fd goes to vhost-user back ends
 * (virtiofsd), which we do not trust more than the guest: a back end that
 * ftruncate()s it to 0 would make agentvmm's next access to guest RAM a
 * SIGBUS. The size is sealed (no shrink, no grow) and so is the seal set,
 * as QEMU's memfd backend does; F_SEAL_WRITE cannot be used, the back end
 * must write guest RAM. Sealing needs a memfd made with MFD_ALLOW_SEALING.
 */
static int gm_memfd_open(struct guest_mem *gm, uint64_t size)
{
	gm->fd = memfd_create("agentvmm-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (gm->fd < 0)
		return -errno;
	if (ftruncate(gm->fd, (off_t)size) < 0)
		return -errno;
	if (fcntl(gm->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return -errno;
	return 0;
}

int gm_create(struct guest_mem *gm, uint64_t size, gpa_t hole_start)
{
	return gm_create_opts(gm, size, hole_start, 0);
}

int gm_create_opts(struct guest_mem *gm, uint64_t size, gpa_t hole_start, unsigned flags)
{
	bool shared = !(flags & GM_PRIVATE);
	void *ram;
	int err;

	gm_init_empty(gm);
	/* a hole starting above 4 GiB would make region 1 overlap region 0 */
	if (size == 0 || !IS_ALIGNED(size, 4096) || hole_start == 0 ||
	    !IS_ALIGNED(hole_start, 4096) || hole_start > BOOT_RAM_HIGH_GPA || size > GiB(1024) ||
	    (flags & ~GM_PRIVATE))
		return -EINVAL;

	if (shared) {
		err = gm_memfd_open(gm, size);
		if (err)
			goto err_close;
	}
	err = gm_reserve(gm, size);
	if (err)
		goto err_close;
	err = gm_map(gm, size, shared, &ram);
	if (err)
		goto err_unmap;
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
	if (gm->fd >= 0)
		close(gm->fd);
	gm->fd = -1;
	return err;
}

int gm_mergeable(const struct guest_mem *gm)
{
	if (gm->fd >= 0 || !gm->nr_regions)
		return -EINVAL;
	/* one mapping holds both regions (region 1 follows region 0 in it) */
	if (madvise(gm->regions[0].hva, gm->size, MADV_MERGEABLE) < 0)
		return -errno;
	return 0;
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

int gm_discard(const struct guest_mem *gm, gpa_t gpa, uint64_t len)
{
	const struct gm_region *r;
	uint64_t off;

	if (!len || !IS_ALIGNED(gpa, 4096) || !IS_ALIGNED(len, 4096))
		return -EINVAL;
	r = gm_find(gm, gpa, len);
	if (!r)
		return -EFAULT;
	off = gpa - r->gpa;
	if (gm->fd < 0) {
		if (madvise(r->hva + off, len, MADV_DONTNEED) < 0)
			return -errno;
		return 0;
	}
	/* the memfd's seals (no grow, no shrink) allow punching: KEEP_SIZE changes no size */
	if (fallocate(gm->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)(r->fd_offset + off), (off_t)len) < 0)
		return -errno;
	return 0;
}

int gm_gpa_of(const struct guest_mem *gm, const void *hva, uint64_t len, gpa_t *gpa)
{
	uintptr_t p = (uintptr_t)hva;

	for (unsigned i = 0; i < gm->nr_regions; i++) {
		const struct gm_region *r = &gm->regions[i];
		uintptr_t base = (uintptr_t)r->hva;

		/* overflow-free, as gm_find(): never computes hva + len */
		if (len <= r->len && p >= base && p - base <= r->len - len) {
			*gpa = r->gpa + (p - base);
			return 0;
		}
	}
	return -EFAULT;
}

uint64_t gm_resident_bytes(const struct guest_mem *gm)
{
	unsigned char vec[4096];
	const size_t chunk = sizeof(vec) * 4096;
	uint64_t n = 0;

	if (!gm->size)
		return 0;
	/* one mapping holds all of RAM; regions[0].hva is its start */
	for (uint64_t off = 0; off < gm->size; off += chunk) {
		size_t len = (size_t)MIN((uint64_t)chunk, gm->size - off);

		if (mincore(gm->regions[0].hva + off, len, vec) < 0)
			return 0;
		for (size_t i = 0; i < len / 4096; i++)
			n += vec[i] & 1;
	}
	return n * 4096;
}

gpa_t gm_low_end(const struct guest_mem *gm)
{
	return gm->nr_regions ? gm->regions[0].gpa + gm->regions[0].len : 0;
}

int gm_map_file(struct guest_mem *gm, unsigned region, int fd, uint64_t offset)
{
	struct gm_region *r;
	void *p;

	if (gm->fd >= 0 || region >= gm->nr_regions || !IS_ALIGNED(offset, 4096))
		return -EINVAL;
	r = &gm->regions[region];
	/* over the anonymous mapping, inside the reservation: the guards stay */
	p = mmap(r->hva, r->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE,
		 fd, (off_t)offset);
	if (p == MAP_FAILED)
		return -errno;
	madvise(p, r->len, MADV_DONTDUMP);
	madvise(p, r->len, MADV_DONTFORK);
	return 0;
}

unsigned gm_layout(uint64_t size, gpa_t hole_start, struct snap_region *out)
{
	out[0] = (struct snap_region){ .gpa = 0, .len = MIN(size, hole_start) };
	if (size <= hole_start)
		return 1;
	out[1] = (struct snap_region){ .gpa = BOOT_RAM_HIGH_GPA, .len = size - hole_start };
	return 2;
}
