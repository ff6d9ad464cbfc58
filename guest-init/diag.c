// SPDX-License-Identifier: MIT
/* diag.c: the missing driver behind a disk, share or NIC that could not be set up (diag.h). */
#include "guest-init/diag.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest-init/modname.h"

/* Filesystem types whose driver is a module of another name. */
static const struct {
	const char *fstype, *module;
} gi_fs_modules[] = {
	{ "ext2", "ext4" },	/* CONFIG_EXT4_USE_FOR_EXT2 (Debian) */
	{ "ext3", "ext4" },
};

static struct {
	char name[64];
	int ret;
} gi_loads[GI_DIAG_MODULES_MAX];
static size_t gi_nloads;
static const char *gi_root = "";

void gi_diag_set_root(const char *root)
{
	gi_root = root ? root : "";
}

void gi_diag_module_result(const char *path, int ret)
{
	char name[GI_MODNAME_MAX];

	size_t n;

	if (gi_nloads >= GI_DIAG_MODULES_MAX || gi_modname(path, name, sizeof(name)))
		return;
	n = strlen(name);
	if (n >= sizeof(gi_loads[0].name))
		return;
	memcpy(gi_loads[gi_nloads].name, name, n + 1);
	gi_loads[gi_nloads++].ret = ret;
}

void gi_diag_reset(void)
{
	gi_nloads = 0;
}

void gi_diag_module(const char *name, char *buf, size_t len)
{
	size_t i, first_bad = gi_nloads;

	for (i = 0; i < gi_nloads; i++) {
		if (strcmp(gi_loads[i].name, name) != 0)
			continue;
		if (!gi_loads[i].ret) {
			snprintf(buf, len, "module %s loaded", name);
			return;
		}
		/* a dependency that failed first is usually the real cause */
		for (size_t j = 0; j < i && first_bad == gi_nloads; j++)
			if (gi_loads[j].ret)
				first_bad = j;
		if (first_bad < gi_nloads)
			snprintf(buf, len, "module %s failed to load: %s; before it, module %s: %s",
				 name, strerror(-gi_loads[i].ret), gi_loads[first_bad].name,
				 strerror(-gi_loads[first_bad].ret));
		else
			snprintf(buf, len, "module %s failed to load: %s", name,
				 strerror(-gi_loads[i].ret));
		return;
	}
	if (gi_nloads)
		snprintf(buf, len, "module %s is not in the initramfs", name);
	else
		snprintf(buf, len, "module %s not in the initramfs or failed to load", name);
}

/* Whether line (s, n) is exactly (word) once leading blanks are dropped. */
static bool word_is(const char *s, size_t n, const char *word)
{
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	return n == strlen(word) && !memcmp(s, word, n);
}

bool gi_diag_fs_listed(const char *text, size_t len, const char *fstype)
{
	const char *line = text, *end = text + len, *nl, *tab;

	for (; line < end; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl)
			nl = end;
		/* "nodev\tNAME" or "\tNAME": the name follows the last tab */
		tab = memrchr(line, '\t', (size_t)(nl - line));
		if (tab && word_is(tab + 1, (size_t)(nl - tab - 1), fstype))
			return true;
	}
	return false;
}

bool gi_diag_crypto_listed(const char *text, size_t len, const char *alg)
{
	const char *line = text, *end = text + len, *nl, *colon;

	for (; line < end; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl)
			nl = end;
		if ((size_t)(nl - line) < 4 || memcmp(line, "name", 4) != 0)
			continue;
		colon = memchr(line, ':', (size_t)(nl - line));
		if (colon && word_is(line + 4, (size_t)(colon - line - 4), "") &&
		    word_is(colon + 1, (size_t)(nl - colon - 1), alg))
			return true;
	}
	return false;
}

/* Read (root)(path) into a malloc'd buffer; NULL when it cannot be read. */
static char *read_text(const char *path, size_t *len)
{
	char full[512];
	char *buf = malloc(GI_DIAG_TEXT_MAX);
	ssize_t n = 0;
	int fd;

	*len = 0;
	snprintf(full, sizeof(full), "%s%s", gi_root, path);
	fd = open(full, O_RDONLY | O_CLOEXEC);
	if (!buf || fd < 0) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while (*len < GI_DIAG_TEXT_MAX && (n = read(fd, buf + *len, GI_DIAG_TEXT_MAX - *len)) > 0)
		*len += (size_t)n;
	close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* 1: (path) lists (what) per (listed); 0: it does not; -1: it cannot be read. */
static int text_lists(const char *path, const char *what,
		      bool (*listed)(const char *text, size_t len, const char *what))
{
	size_t len;
	char *text = read_text(path, &len);
	int ret;

	if (!text)
		return -1;
	ret = listed(text, len, what);
	free(text);
	return ret;
}

static bool dir_exists(const char *path)
{
	char full[512];
	struct stat st;

	snprintf(full, sizeof(full), "%s%s", gi_root, path);
	return stat(full, &st) == 0 && S_ISDIR(st.st_mode);
}

/* "the kernel has no WHAT (MODULE ...)" */
static void no_driver(const char *what, const char *module, char *buf, size_t len)
{
	char mod[160];

	gi_diag_module(module, mod, sizeof(mod));
	snprintf(buf, len, "the kernel has no %s (%s)", what, mod);
}

bool gi_diag_virtio(const char *driver, const char *module, char *buf, size_t len)
{
	char path[128], what[96];

	/* the driver name virtio_pci registers (drivers/virtio/virtio_pci_common.c) */
	if (!dir_exists("/sys/bus/pci/drivers/virtio-pci")) {
		no_driver("virtio-pci driver", "virtio_pci", buf, len);
		return true;
	}
	snprintf(path, sizeof(path), "/sys/bus/virtio/drivers/%s", driver);
	if (!dir_exists(path)) {
		snprintf(what, sizeof(what), "%s driver", driver);
		no_driver(what, module, buf, len);
		return true;
	}
	return false;
}

bool gi_diag_mount(const char *fstype, int ret, char *buf, size_t len)
{
	const char *module = fstype;
	char what[96], why[256];
	size_t i;

	for (i = 0; i < GI_ARRAY_SIZE(gi_fs_modules); i++)
		if (!strcmp(fstype, gi_fs_modules[i].fstype))
			module = gi_fs_modules[i].module;
	/* /proc unreadable (not mounted yet): no diagnosis, just the error */
	if (text_lists("/proc/filesystems", fstype, gi_diag_fs_listed) == 0) {
		snprintf(what, sizeof(what), "%s driver", fstype);
		no_driver(what, module, buf, len);
		return true;
	}
	/* fs/ext4/super.c: crypto_alloc_shash("crc32c") fails with -ENOENT */
	if (!strcmp(module, "ext4") && ret == -ENOENT &&
	    text_lists("/proc/crypto", "crc32c", gi_diag_crypto_listed) == 0) {
		no_driver("crc32c algorithm, which ext4 needs for metadata checksums",
			  "crc32c_generic", why, sizeof(why));
		snprintf(buf, len, "%s: %s", strerror(-ret), why);
		return true;
	}
	if (!strcmp(fstype, "virtiofs") &&
	    gi_diag_virtio("virtiofs", "virtiofs", why, sizeof(why))) {
		snprintf(buf, len, "%s: %s", strerror(-ret), why);
		return true;
	}
	snprintf(buf, len, "%s", strerror(-ret));
	return false;
}
