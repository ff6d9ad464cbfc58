/* SPDX-License-Identifier: MIT */
/*
 * guest_mem.h: guest RAM as one memfd mapped shared (or, with GM_PRIVATE,
 * anonymous private memory) inside a PROT_NONE reservation with guard pages,
 * split around the 32-bit MMIO hole.
 *
 * Host mapping (one contiguous reservation; RAM starts 2 MiB-aligned and is
 * madvise(MADV_HUGEPAGE)d, so the host may back it with huge pages):
 *
 *   [guard][ memfd offset 0 .. size ][guard]
 *
 * The memfd's size is sealed (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL):
 * a vhost-user back end holding its fd cannot truncate it under us (a
 * SIGBUS on our next access to guest RAM) nor change the seals.
 *
 * Guest view: region 0 is gpa 0 .. min(size, BOOT_MMIO_HOLE_GPA) and maps memfd
 * offset 0; region 1 (only when size exceeds the hole start) is gpa 4 GiB ..
 * and maps the rest of the memfd. A buffer crossing the hole is invalid.
 */
#ifndef AGENTVMM_VMM_GUEST_MEM_H
#define AGENTVMM_VMM_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/compiler.h"

typedef uint64_t gpa_t;

#define GM_MAX_REGIONS 2

struct gm_region {
	gpa_t gpa;          /* first guest-physical address */
	uint64_t len;       /* bytes */
	uint64_t fd_offset; /* offset in the memfd */
	uint8_t *hva;       /* host address of gpa */
};

/*
 * GM_PRIVATE: anonymous private RAM, no memfd (fd stays -1). For VMs with no
 * vhost-user device, which is the only other process that maps guest RAM:
 * anonymous memory gets transparent huge pages where shmem does not (THP for
 * shmem is off by default), so faults and the teardown at exit are cheaper.
 */
#define GM_PRIVATE 0x1u

struct guest_mem {
	int fd;                 /* sealed memfd, -1 when not created or GM_PRIVATE */
	uint8_t *reserve;       /* whole reservation including guards */
	size_t reserve_len;
	size_t guard_len;
	uint64_t size;          /* bytes of RAM */
	unsigned nr_regions;
	struct gm_region regions[GM_MAX_REGIONS];
};

/*
 * gm_create() - create (size) bytes of guest RAM, split at (hole_start) and
 * resumed at 4 GiB. (size) must be a multiple of 4 KiB and non-zero, at most
 * 1 TiB; (hole_start) a non-zero multiple of 4 KiB, at most 4 GiB.
 * Return: 0, -EINVAL (size, hole_start), -ENOMEM (mapping), or another -errno
 * from memfd_create, ftruncate or sealing.
 * Context: setup, single thread.
 */
int gm_create(struct guest_mem *gm, uint64_t size, gpa_t hole_start) __must_check;

/* gm_create_opts() - gm_create() with (flags) (GM_PRIVATE); unknown flags: -EINVAL. */
int gm_create_opts(struct guest_mem *gm, uint64_t size, gpa_t hole_start,
		   unsigned flags) __must_check;

/*
 * gm_mergeable() - madvise(MADV_MERGEABLE) over all of guest RAM, so the
 * host's KSM may merge identical pages (it merges private anonymous pages
 * only: RAM made with GM_PRIVATE). Return: 0 or -errno (-EINVAL: a kernel
 * without CONFIG_KSM, or shared RAM). Context: setup, after gm_create_opts().
 */
int gm_mergeable(const struct guest_mem *gm) __must_check;

/* gm_destroy() - unmap and close; idempotent, safe on a zeroed (fd = -1) struct. */
void gm_destroy(struct guest_mem *gm);

/* gm_init_empty() - zero (gm) with fd = -1, so gm_destroy() is a no-op. */
void gm_init_empty(struct guest_mem *gm);

/*
 * gm_ptr() - host pointer for [gpa, gpa+len) when the whole range lies in one
 * RAM region, else NULL. len 0 is valid where gpa is inside or at the end of
 * a region.
 * Context: any thread.
 * Guest: (gpa) and (len) usually come from the guest; this is the check.
 */
void *gm_ptr(const struct guest_mem *gm, gpa_t gpa, uint64_t len);

/* gm_read()/gm_write() - copy; Return: 0 or -EFAULT when the range is not RAM. */
int gm_read(const struct guest_mem *gm, gpa_t gpa, void *dst, size_t len) __must_check;
int gm_write(const struct guest_mem *gm, gpa_t gpa, const void *src, size_t len) __must_check;

/* gm_range_ok() - true when [gpa, gpa+len) lies in one RAM region. */
bool gm_range_ok(const struct guest_mem *gm, gpa_t gpa, uint64_t len);

/*
 * gm_resident_bytes() - bytes of guest RAM resident in host memory (mincore:
 * a walk of the RAM's page tables, cheap with huge pages); 0 on error.
 * Context: any thread; a racing guest makes it approximate.
 */
uint64_t gm_resident_bytes(const struct guest_mem *gm);

/*
 * gm_discard() - give the host back the memory behind [gpa, gpa+len): the
 * pages are freed and the guest's next access reads zeros (a balloon's
 * inflated or reported pages). Anonymous RAM (GM_PRIVATE):
 * madvise(MADV_DONTNEED); memfd RAM: fallocate(PUNCH_HOLE | KEEP_SIZE) on the
 * memfd (MADV_DONTNEED would only drop our mapping's page-table entries and
 * leave the shmem pages allocated), which also frees them for a vhost-user
 * back end mapping the same memfd. A range of whole 2 MiB pages keeps the
 * rest of the mapping's transparent huge pages intact.
 * Return: 0; -EINVAL ((gpa) or (len) not a multiple of 4 KiB, or len 0);
 * -EFAULT (the range does not lie in one RAM region: never the MMIO hole, never
 * past the end of RAM); -errno from madvise or fallocate.
 * Context: any thread (the I/O thread's seccomp filter allows both calls).
 * Guest: (gpa) and (len) usually come from the guest; this is the check.
 */
int gm_discard(const struct guest_mem *gm, gpa_t gpa, uint64_t len) __must_check;

/*
 * gm_gpa_of() - the guest-physical address of host pointer (hva), when
 * [hva, hva+len) lies in one RAM region (a segment virtq_pop() returned).
 * Return: 0 with (*gpa) set, or -EFAULT.
 * Context: any thread.
 */
int gm_gpa_of(const struct guest_mem *gm, const void *hva, uint64_t len, gpa_t *gpa) __must_check;

/*
 * gm_map_file() - replace RAM region (region)'s anonymous memory by a
 * private (copy-on-write) mapping of (fd) at (offset) (a template's RAM,
 * docs/snapshot.md): the guest reads the file's pages, shared with every
 * other VM mapping them, and its writes stay its own. Only for GM_PRIVATE
 * RAM; (offset) page-aligned, the file at least offset + the region's length.
 * Return: 0 or -errno (-EINVAL: memfd RAM or a bad region).
 * Context: setup, before the memory slots are used.
 */
int gm_map_file(struct guest_mem *gm, unsigned region, int fd, uint64_t offset) __must_check;

/*
 * gm_layout() - the regions gm_create() makes for (size) bytes split at
 * (hole_start), as (gpa, len) pairs into (out) (GM_MAX_REGIONS entries).
 * Return: how many. Context: pure.
 */
struct snap_region;
unsigned gm_layout(uint64_t size, gpa_t hole_start, struct snap_region *out);

/* gm_top_below_hole() - first gpa past region 0 (end of low RAM). */
gpa_t gm_low_end(const struct guest_mem *gm);

#endif
