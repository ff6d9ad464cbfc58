// SPDX-License-Identifier: MIT
/* pmem.c: wait for each virtio-pmem device the host asked for and mount it (pmem.h). */
#include "guest-init/pmem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

#include "guest-init/diag.h"
#include "guest-init/fsutil.h"
#include "guest-init/report.h"

#define PMEM_NAP_MS 10
/* ext4 refuses dax=always with EINVAL (no DAX device, block size != page size) */
#define PMEM_DAX_HINT "; the kernel log says whether DAX was refused"

static long ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * /dev/pmemN of the region at (gpa) into (dev, len), waiting at most
 * GI_PMEM_WAIT_MS: virtio_pmem and nd_pmem probe while their modules load.
 * Return: 0; -ENOENT (not in sysfs); -ENXIO (in sysfs, no device node).
 */
static int pmem_wait(uint64_t gpa, char *dev, size_t len)
{
	struct timespec t0, nap = { 0, PMEM_NAP_MS * 1000 * 1000 };
	char name[32];
	struct stat st;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		ret = gi_pmem_find("", gpa, name, sizeof(name));
		if (!ret) {
			snprintf(dev, len, "/dev/%s", name);
			/* devtmpfs adds the node late in device_add(), after the sysfs links */
			if (stat(dev, &st) == 0 && S_ISBLK(st.st_mode))
				return 0;
			ret = -ENXIO;
		}
		if (ms_since(&t0) >= GI_PMEM_WAIT_MS)
			return ret == -ENAMETOOLONG ? -ENOENT : ret;
		nanosleep(&nap, NULL);
	}
}

/* Say why the device of (it) did not show up, naming the missing driver if one is. */
static void pmem_not_found(const struct gi_pmem_item *it, const char *dev, int ret)
{
	unsigned long long gpa = it->gpa;
	char why[512];

	if (ret == -ENXIO) {
		gi_err("pmem %#llx on %s: %s did not appear in /dev", gpa, it->path, dev);
	} else if (gi_pmem_region_exists("", it->gpa)) {
		/* the region is there, the block driver did not bind to its namespace */
		gi_diag_module("nd_pmem", why, sizeof(why));
		gi_err("pmem %#llx on %s: the region has no pmem block device (%s)", gpa, it->path,
		       why);
	} else if (gi_diag_virtio("virtio_pmem", "virtio_pmem", why, sizeof(why))) {
		gi_err("pmem %#llx on %s: not found: %s", gpa, it->path, why);
	} else {
		gi_err("pmem %#llx on %s: not found (no nvdimm region starts there)", gpa,
		       it->path);
	}
}

static int pmem_mount_one(const char *item)
{
	struct gi_pmem_item it;
	char dev[64] = "", why[512];
	int ret;

	ret = gi_pmem_item_parse(item, &it, why, sizeof(why));
	if (ret) {
		gi_err("pmem %s: %s", item, why);
		return ret;
	}
	ret = pmem_wait(it.gpa, dev, sizeof(dev));
	if (ret) {
		pmem_not_found(&it, dev, ret);
		return ret;
	}
	ret = gi_mkdir_p(it.path, 0755);
	if (ret) {
		gi_err("pmem %#llx on %s: mkdir: %s", (unsigned long long)it.gpa, it.path,
		       strerror(-ret));
		return ret;
	}
	/*
	 * mount(2), not gi_mount_one(): the message names the pmem region, and
	 * EBUSY is a failure here (the device is held by someone else).
	 */
	if (mount(dev, it.path, it.fstype, it.ro ? MS_RDONLY : 0,
		  it.dax ? GI_PMEM_DAX_OPT : NULL) < 0) {
		ret = -errno;
		gi_diag_mount(it.fstype, ret, why, sizeof(why));
		gi_err("pmem %#llx on %s: mount %s %s (%s%s): %s%s", (unsigned long long)it.gpa,
		       it.path, it.fstype, dev, it.ro ? "ro" : "rw", it.dax ? ",dax=always" : "",
		       why, it.dax && ret == -EINVAL ? PMEM_DAX_HINT : "");
		return ret;
	}
	gi_info("mounted %s (pmem %#llx, %s%s%s) on %s", dev, (unsigned long long)it.gpa,
		it.fstype, it.ro ? ", ro" : "", it.dax ? ", dax" : "", it.path);
	return 0;
}

int gi_pmem_mount(char *const *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ret = pmem_mount_one(items[i]);

		if (ret)
			return ret;
	}
	return 0;
}
