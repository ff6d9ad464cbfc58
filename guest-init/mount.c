// SPDX-License-Identifier: MIT
/* mount.c: mounting the guest's early filesystems, device nodes, and unmounting at shutdown. */
#include "guest-init/mount.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "guest-init/diag.h"
#include "guest-init/report.h"

#define GI_NOSUID_NODEV (MS_NOSUID | MS_NODEV)

/* Order matters: /proc first (the command line), /dev before what lives in it. */
static const struct gi_mount gi_early_mounts[] = {
	{ "proc", "/proc", "proc", GI_NOSUID_NODEV | MS_NOEXEC, NULL, 0555 },
	{ "sysfs", "/sys", "sysfs", GI_NOSUID_NODEV | MS_NOEXEC, NULL, 0555 },
	{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", 0755 },
	/* gid 5 is "tty" in the initramfs' /etc/group */
	{ "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666",
	  0755 },
	{ "tmpfs", "/dev/shm", "tmpfs", GI_NOSUID_NODEV, "mode=1777", 01777 },
	{ "tmpfs", "/tmp", "tmpfs", GI_NOSUID_NODEV, "mode=1777", 01777 },
	{ "tmpfs", "/run", "tmpfs", GI_NOSUID_NODEV, "mode=0755", 0755 },
};

/* Character devices: Documentation/admin-guide/devices.txt */
static const struct {
	const char *path;
	mode_t mode;
	unsigned int major, minor;
} gi_dev_nodes[] = {
	{ "/dev/console", 0600, 5, 1 }, { "/dev/null", 0666, 1, 3 },
	{ "/dev/zero", 0666, 1, 5 },	{ "/dev/full", 0666, 1, 7 },
	{ "/dev/random", 0666, 1, 8 },	{ "/dev/urandom", 0666, 1, 9 },
	{ "/dev/tty", 0666, 5, 0 },	{ "/dev/ptmx", 0666, 5, 2 },
};

static const struct {
	const char *target, *path;
} gi_dev_links[] = {
	{ "/proc/self/fd", "/dev/fd" },
	{ "/proc/self/fd/0", "/dev/stdin" },
	{ "/proc/self/fd/1", "/dev/stdout" },
	{ "/proc/self/fd/2", "/dev/stderr" },
};

int gi_mount_one(const struct gi_mount *m)
{
	int ret = gi_mkdir_p(m->target, m->mode);

	if (ret) {
		gi_err("mkdir %s: %s", m->target, strerror(-ret));
		return ret;
	}
	if (mount(m->source, m->target, m->fstype, m->flags, m->data) < 0) {
		char why[512];

		ret = -errno;
		if (ret == -EBUSY)
			return 0;
		/* "the kernel has no ext4 driver (module ext4 ...)" rather than ENODEV */
		gi_diag_mount(m->fstype, ret, why, sizeof(why));
		gi_err("mount %s on %s: %s", m->fstype, m->target, why);
		return ret;
	}
	gi_info("mounted %s on %s", m->fstype, m->target);
	return 0;
}

static void make_dev_nodes(void)
{
	struct stat st;
	size_t i;

	for (i = 0; i < GI_ARRAY_SIZE(gi_dev_nodes); i++) {
		if (lstat(gi_dev_nodes[i].path, &st) == 0)
			continue;
		if (mknod(gi_dev_nodes[i].path, S_IFCHR | gi_dev_nodes[i].mode,
			  makedev(gi_dev_nodes[i].major, gi_dev_nodes[i].minor)) < 0)
			gi_info("mknod %s: %s", gi_dev_nodes[i].path, strerror(errno));
	}
	for (i = 0; i < GI_ARRAY_SIZE(gi_dev_links); i++) {
		if (lstat(gi_dev_links[i].path, &st) == 0)
			continue;
		if (symlink(gi_dev_links[i].target, gi_dev_links[i].path) < 0)
			gi_info("symlink %s: %s", gi_dev_links[i].path, strerror(errno));
	}
}

void gi_mount_early(void)
{
	size_t i;

	for (i = 0; i < GI_ARRAY_SIZE(gi_early_mounts); i++) {
		/* a failure was printed; carry on with what works */
		if (gi_mount_one(&gi_early_mounts[i]))
			continue;
		/* before /dev/pts, whose mkdir would otherwise hide a missing devtmpfs */
		if (strcmp(gi_early_mounts[i].target, "/dev") == 0)
			make_dev_nodes();
	}
	/* if devtmpfs failed the nodes go onto the rootfs; existing ones are kept */
	make_dev_nodes();
}

/* /proc/mounts escapes space, tab, newline and backslash as \ooo (fs/proc_namespace.c) */
static void unescape_octal(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

void gi_mount_teardown(void)
{
	char *targets[256], line[PATH_MAX + 256], *save, *tgt;
	size_t n = 0;
	FILE *f;

	f = fopen("/proc/self/mounts", "re");
	if (!f)
		return;
	while (n < GI_ARRAY_SIZE(targets) && fgets(line, sizeof(line), f)) {
		save = NULL;
		if (!strtok_r(line, " ", &save) || !(tgt = strtok_r(NULL, " ", &save)))
			continue;
		unescape_octal(tgt);
		if (strcmp(tgt, "/") == 0)
			continue;
		targets[n] = strdup(tgt);
		if (targets[n])
			n++;
	}
	fclose(f);
	while (n--) {
		if (umount2(targets[n], 0) < 0)
			gi_info("umount %s: %s", targets[n], strerror(errno));
		free(targets[n]);
	}
}
