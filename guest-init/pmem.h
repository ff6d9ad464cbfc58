/* SPDX-License-Identifier: MIT */
/*
 * pmem.h: mount the virtio-pmem devices the host asked for (agentvmm.pmem),
 * found by the guest-physical address of their region (prefix gi_pmem_).
 *
 * Item syntax (one per pmem device, agentvmm.pmem in cmdline.h):
 *
 *   GPA:FSTYPE:ro|rw:dax|nodax:/mount/point
 *
 *   GPA     the region's guest-physical start, "0x" and 1..16 lowercase hex
 *           digits, non-zero, a multiple of 2 MiB (GI_PMEM_ALIGN);
 *   FSTYPE  "erofs" or "ext4";
 *   ro|rw   mounted MS_RDONLY or read-write;
 *   dax     mount option "dax=always" (both filesystems); nodax: no option;
 *   path    where to mount it: starts with '/' (as agentvmm.disks), may
 *           contain ':'.
 *
 * How the device is found (Linux 6.1): virtio_pmem registers an nvdimm bus
 * with one pmem region, /sys/bus/nd/devices/regionX, whose root-only
 * "resource" file holds its start as "%#llx\n" (drivers/nvdimm/region_devs.c
 * resource_show()). nd_pmem gives the region's namespace (namespaceX.0, a
 * child of the region device) the block device pmemN, so
 * /sys/block/pmemN/device is a link to the namespace and
 * /sys/block/pmemN/device/../resource is the region's start. A "pmemNs"
 * (BTT) device has a suffix and is never taken.
 */
#ifndef AGENTVMM_GUEST_INIT_PMEM_H
#define AGENTVMM_GUEST_INIT_PMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest-init/compiler.h"

#define GI_PMEM_WAIT_MS 5000	/* how long a device may take to appear, as GI_DISK_WAIT_MS */
#define GI_PMEM_ALIGN (2ull << 20)	/* the GPA alignment the host guarantees */
#define GI_PMEM_DAX_OPT "dax=always"	/* erofs and ext4 (Documentation/filesystems/dax.rst) */

struct gi_pmem_item {
	uint64_t gpa;		/* region start, non-zero, GI_PMEM_ALIGN aligned */
	const char *fstype;	/* "erofs" or "ext4" (static strings) */
	bool ro;
	bool dax;
	const char *path;	/* the mount point: points into the parsed item */
};

/*
 * gi_pmem_item_parse() - split one agentvmm.pmem item (item) into (out).
 *
 * Return: 0; -EINVAL with the fault in (why), e.g. "GPA 0x1000 is not 2 MiB
 * aligned" (fields quoted from (item) are cut at 32 bytes).
 * Context: pure; any thread.
 * Guest: n/a (the host writes the command line).
 */
int __must_check gi_pmem_item_parse(const char *item, struct gi_pmem_item *out, char *why,
				    size_t whylen);

/*
 * gi_pmem_hex() - (s, len) as "0x" and 1..16 lowercase hex digits into *val.
 * Return: true when that is all (s, len) holds.
 * Context: pure.
 */
bool gi_pmem_hex(const char *s, size_t len, uint64_t *val);

/*
 * gi_pmem_find() - the name ("pmem0") of the block device whose nd region
 * starts at (gpa), into (name, len), looking at (root)/sys/block ("" is the
 * real /sys; tests pass a fake tree). Only "pmem" + digits entries are
 * candidates; a resource file that is missing, longer than 63 bytes or not
 * "0x<hex>" with an optional newline is skipped.
 *
 * Return: 0; -ENOENT when no such device exists (yet); -ENAMETOOLONG when
 * (name, len) cannot hold the name.
 * Context: PID 1 or tests; reads sysfs only.
 */
int __must_check gi_pmem_find(const char *root, uint64_t gpa, char *name, size_t len);

/*
 * gi_pmem_region_exists() - whether (root)/sys/bus/nd/devices has a
 * "region" + digits entry whose resource is (gpa): tells "nd_pmem did not
 * bind" apart from "no such region" when gi_pmem_find() found nothing.
 * Context: PID 1 or tests; reads sysfs only.
 */
bool gi_pmem_region_exists(const char *root, uint64_t gpa);

/*
 * gi_pmem_mount() - for each agentvmm.pmem item in (items, n) (checked by
 * gi_cmdline_parse() already), wait up to GI_PMEM_WAIT_MS for its /dev/pmemN
 * (gi_pmem_find()) and mount it as the item says, creating the mount point.
 *
 * Return: 0, or -errno of the first failure, printed as one line naming the
 * item and, when there is one, the missing driver or module (diag.h).
 * Context: PID 1, after the modules are loaded.
 */
int __must_check gi_pmem_mount(char *const *items, size_t n);

#endif
