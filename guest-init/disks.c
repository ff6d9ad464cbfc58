// SPDX-License-Identifier: MIT
/* disks.c: find virtio-blk disks by serial and mount them where the host asked. */
#include "guest-init/disks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include "guest-init/diag.h"
#include "guest-init/mount.h"
#include "guest-init/report.h"

/* The vdX whose serial is (serial), into (name); 0 or -ENOENT. */
static int disk_find(const char *serial, char *name, size_t len)
{
	DIR *d = opendir("/sys/block");
	struct dirent *de;
	int ret = -ENOENT;

	while (d && ret && (de = readdir(d))) {
		char path[300], got[64] = "";
		int fd;
		ssize_t n;

		if (strncmp(de->d_name, "vd", 2) != 0)
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/serial", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, got, sizeof(got) - 1);
		close(fd);
		if (n <= 0)
			continue;
		got[n] = 0;
		got[strcspn(got, "\n")] = 0;
		if (strcmp(got, serial) == 0) {
			snprintf(name, len, "%.*s", (int)(len - 1), de->d_name);
			ret = 0;
		}
	}
	if (d)
		closedir(d);
	return ret;
}

static int disk_mount(const char *item)
{
	char serial[64], dev[300], name[256];
	const char *mode = strchr(item, ':');
	const char *path = mode ? strchr(mode + 1, ':') : NULL;
	struct timespec nap = { 0, 10 * 1000 * 1000 };
	int ret, waited;

	if (!mode || !path || (size_t)(mode - item) >= sizeof(serial))
		return -EINVAL;
	memcpy(serial, item, (size_t)(mode - item));
	serial[mode - item] = 0;
	path++;
	/* virtio_blk probes while its module loads; allow for a slow one */
	for (waited = 0; (ret = disk_find(serial, name, sizeof(name))) && waited < GI_DISK_WAIT_MS;
	     waited += 10)
		nanosleep(&nap, NULL);
	if (ret) {
		char why[512];

		if (gi_diag_virtio("virtio_blk", "virtio_blk", why, sizeof(why)))
			gi_err("disk %s: not found: %s", serial, why);
		else
			gi_err("disk %s: not found (no virtio disk with that serial)", serial);
		return ret;
	}
	snprintf(dev, sizeof(dev), "/dev/%s", name);
	struct gi_mount m = {
		.source = dev, .target = path, .fstype = "ext4",
		.flags = strncmp(mode + 1, "ro:", 3) == 0 ? MS_RDONLY : 0, .mode = 0755,
	};
	ret = gi_mount_one(&m);
	if (!ret)
		gi_info("mounted %s (%s) on %s", dev, serial, path);
	return ret;
}

int gi_disks_mount(char *const *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ret = disk_mount(items[i]);

		if (ret)
			return ret;
	}
	return 0;
}
