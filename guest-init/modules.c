// SPDX-License-Identifier: MIT
/* modules.c: finit_module() of each module listed in /etc/agentvmm/modules. */
#include "guest-init/modules.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guest-init/diag.h"
#include "guest-init/fsutil.h"
#include "guest-init/report.h"

/*
 * include/uapi/linux/module.h: the file is compressed. Linux 5.17+ built with
 * CONFIG_MODULE_DECOMPRESS takes it (and only in the one format its
 * CONFIG_MODULE_COMPRESS_* names); older kernels say EINVAL, others
 * EOPNOTSUPP. agentvmm's initramfs builder stores modules decompressed, so
 * only a hand-made image lists compressed ones.
 */
#define GI_MODULE_INIT_COMPRESSED_FILE 4

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool is_compressed(const char *path)
{
	return has_suffix(path, ".xz") || has_suffix(path, ".zst") || has_suffix(path, ".gz");
}

static int load_one(const char *path)
{
	int flags = 0, fd, ret = 0;

	if (is_compressed(path))
		flags = GI_MODULE_INIT_COMPRESSED_FILE;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (syscall(SYS_finit_module, fd, "", flags) < 0 && errno != EEXIST)
		ret = -errno;
	close(fd);
	return ret;
}

/* The parameter's value into (buf) without its newline; "" when it cannot be read. */
static void read_param(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? (size_t)n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* Does the kernel command line set page_reporting.page_reporting_order? */
static bool cmdline_sets_reporting_order(void)
{
	static char buf[4096 + 2];
	const char *key = "page_reporting.page_reporting_order=";

	buf[0] = ' ';
	read_param("/proc/cmdline", buf + 1, sizeof(buf) - 1);
	for (const char *p = strstr(buf, key); p; p = strstr(p + 1, key))
		if (p[-1] == ' ')
			return true;
	return false;
}

/*
 * The free page reporting order once the modules are loaded: (order) when
 * the host gave one (agentvmm.page_reporting_order, a restored VM), else
 * page_reporting.page_reporting_order from the kernel command line (what
 * agentvmm's --balloon reporting-order asks on a cold boot), (before) the
 * modules loaded. virtio_balloon overwrites it with the driver's order
 * (pageblock_order) when it registers, in the 6.1 kernels; the parameter
 * (0644) is read at each free, so writing it afterwards holds. Without a
 * value from either, nothing is written: the value the kernel starts with
 * means "not set" (-1, or MAX_ORDER, 11, in Debian's 6.1), and putting that
 * back would stop all reporting (no free block is of order 11).
 */
static void reporting_order_set(int order, const char *before)
{
	char want[16], now[16];
	int ret;

	if (order >= 0)
		snprintf(want, sizeof(want), "%d", order);
	else if (before[0] && strlen(before) <= 2 && strspn(before, "0123456789") ==
		 strlen(before) && cmdline_sets_reporting_order())
		snprintf(want, sizeof(want), "%s", before);
	else
		return;
	read_param(GI_REPORTING_ORDER, now, sizeof(now));
	if (!strcmp(now, want))
		return;
	ret = gi_write_text(GI_REPORTING_ORDER, want, 0);
	if (ret)
		gi_info("page_reporting_order %s: %s", want, strerror(-ret));
	else
		gi_info("page_reporting_order %s (it was %s)", want, now);
}

void gi_reporting_order_set(int order)
{
	reporting_order_set(order, "");
}

unsigned int gi_modules_load(const char *list, const char *dir)
{
	char order[16];

	char line[PATH_MAX], path[PATH_MAX + 64];
	unsigned int failed = 0;
	size_t n;
	FILE *f;
	int ret;

	f = fopen(list, "re");
	if (!f)
		return 0;
	read_param(GI_REPORTING_ORDER, order, sizeof(order));
	while (fgets(line, sizeof(line), f)) {
		n = strcspn(line, "\r\n");
		line[n] = '\0';
		if (!n || line[0] == '#')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, line);
		ret = load_one(path);
		/* for the message when a disk, share or NIC then cannot be set up */
		gi_diag_module_result(line, ret);
		if (ret) {
			failed++;
			gi_info("module %s: %s%s", line, strerror(-ret),
				is_compressed(line) && (ret == -EINVAL || ret == -EOPNOTSUPP) ?
					" (this kernel cannot load compressed modules)" : "");
		} else {
			gi_info("module %s loaded", line);
		}
	}
	fclose(f);
	reporting_order_set(-1, order);
	return failed;
}
