// SPDX-License-Identifier: MIT
/*
 * pmem_find.c: the pure half of pmem.h: agentvmm.pmem item syntax and the
 * sysfs lookup of a pmem block device by region address, under a root
 * directory so the unit tests run it on a fake tree (pmem.c mounts).
 */
#include "guest-init/pmem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PMEM_QUOTE_MAX 32	/* bytes of a bad field quoted in a message */
#define PMEM_RESOURCE_MAX 64	/* "0x" + 16 digits + '\n' fits with room to spare */

bool gi_pmem_hex(const char *s, size_t len, uint64_t *val)
{
	uint64_t v = 0;
	size_t i;

	/* at most 16 digits, so v cannot overflow */
	if (len < 3 || len > 18 || s[0] != '0' || s[1] != 'x')
		return false;
	for (i = 2; i < len; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return false;
	}
	*val = v;
	return true;
}

static bool field_is(const char *s, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(s, word, len) == 0;
}

static int quote_len(size_t len)
{
	return (int)(len < PMEM_QUOTE_MAX ? len : PMEM_QUOTE_MAX);
}

int gi_pmem_item_parse(const char *item, struct gi_pmem_item *out, char *why, size_t whylen)
{
	const char *f[5], *p = item;
	size_t flen[4], i;

	/* the first four ':' end GPA, FSTYPE, ro|rw and dax|nodax; the path may hold more */
	f[0] = item;
	for (i = 1; i < 5; i++) {
		p = strchr(p, ':');
		if (!p) {
			snprintf(why, whylen, "not GPA:erofs|ext4:ro|rw:dax|nodax:/path");
			return -EINVAL;
		}
		flen[i - 1] = (size_t)(p - f[i - 1]);
		f[i] = ++p;
	}
	if (!gi_pmem_hex(f[0], flen[0], &out->gpa)) {
		snprintf(why, whylen, "GPA \"%.*s\" is not 0x and 1 to 16 lowercase hex digits",
			 quote_len(flen[0]), f[0]);
		return -EINVAL;
	}
	if (!out->gpa || out->gpa % GI_PMEM_ALIGN) {
		snprintf(why, whylen, "GPA %#llx is %s", (unsigned long long)out->gpa,
			 out->gpa ? "not 2 MiB aligned" : "zero");
		return -EINVAL;
	}
	if (field_is(f[1], flen[1], "erofs") || field_is(f[1], flen[1], "ext4")) {
		out->fstype = flen[1] == 5 ? "erofs" : "ext4";
	} else {
		snprintf(why, whylen, "filesystem \"%.*s\" is not erofs or ext4",
			 quote_len(flen[1]), f[1]);
		return -EINVAL;
	}
	out->ro = field_is(f[2], flen[2], "ro");
	if (!out->ro && !field_is(f[2], flen[2], "rw")) {
		snprintf(why, whylen, "mode \"%.*s\" is not ro or rw", quote_len(flen[2]), f[2]);
		return -EINVAL;
	}
	out->dax = field_is(f[3], flen[3], "dax");
	if (!out->dax && !field_is(f[3], flen[3], "nodax")) {
		snprintf(why, whylen, "\"%.*s\" is not dax or nodax", quote_len(flen[3]), f[3]);
		return -EINVAL;
	}
	if (f[4][0] != '/') {
		snprintf(why, whylen, "mount point \"%.*s\" is not an absolute path",
			 quote_len(strlen(f[4])), f[4]);
		return -EINVAL;
	}
	out->path = f[4];
	return 0;
}

/* (name) is (prefix) followed by 1 to 10 decimal digits and nothing else. */
static bool numbered(const char *name, const char *prefix)
{
	size_t n = strlen(prefix), i;

	if (strncmp(name, prefix, n) != 0)
		return false;
	for (i = n; name[i]; i++)
		if (name[i] < '0' || name[i] > '9' || i - n >= 10)
			return false;
	return i > n;
}

/*
 * The start address in the region resource file (path): true when it is a
 * regular file holding "0x<hex>" and at most one newline, in fewer than
 * PMEM_RESOURCE_MAX bytes. Non-blocking, so a FIFO in an odd tree cannot hang PID 1.
 */
static bool read_resource(const char *path, uint64_t *start)
{
	char buf[PMEM_RESOURCE_MAX];
	size_t len = 0;
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return false;
	}
	do {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n > 0)
			len += (size_t)n;
	} while ((n > 0 && len < sizeof(buf)) || (n < 0 && errno == EINTR));
	close(fd);
	if (n < 0 || len == sizeof(buf))
		return false;
	if (len && buf[len - 1] == '\n')
		len--;
	return gi_pmem_hex(buf, len, start);
}

/*
 * The first entry of (dir) named (prefix) + digits whose (dir)/ENTRY/(rel)
 * resource file holds (gpa): its name into (name, len) when (name) is not NULL.
 * Return: 0, -ENOENT or -ENAMETOOLONG.
 */
static int scan_dir(const char *dir, const char *prefix, const char *rel, uint64_t gpa,
		    char *name, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int ret = -ENOENT;

	if (!d)
		return -ENOENT;
	while (ret == -ENOENT && (de = readdir(d))) {
		char path[PATH_MAX];
		uint64_t start;
		int k;

		if (!numbered(de->d_name, prefix))
			continue;
		k = snprintf(path, sizeof(path), "%s/%s/%s", dir, de->d_name, rel);
		if (k < 0 || (size_t)k >= sizeof(path) || !read_resource(path, &start) ||
		    start != gpa)
			continue;
		ret = 0;
		if (name && (size_t)snprintf(name, len, "%s", de->d_name) >= len)
			ret = -ENAMETOOLONG;
	}
	closedir(d);
	return ret;
}

int gi_pmem_find(const char *root, uint64_t gpa, char *name, size_t len)
{
	char dir[PATH_MAX];
	int k = snprintf(dir, sizeof(dir), "%s/sys/block", root);

	if (k < 0 || (size_t)k >= sizeof(dir))
		return -ENOENT;
	/* device -> the namespace; its parent directory is the region (pmem.h) */
	return scan_dir(dir, "pmem", "device/../resource", gpa, name, len);
}

bool gi_pmem_region_exists(const char *root, uint64_t gpa)
{
	char dir[PATH_MAX];
	int k = snprintf(dir, sizeof(dir), "%s/sys/bus/nd/devices", root);

	if (k < 0 || (size_t)k >= sizeof(dir))
		return false;
	return scan_dir(dir, "region", "resource", gpa, NULL, 0) == 0;
}
