// SPDX-License-Identifier: MIT
/* initramfs.c: locate the kernel's modules and build/cache agentvmm's default initramfs. */
#include "vmm/initramfs.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/boot.h"
#include "guest-init/blob.h"
#include "guest-init/mkinitramfs/initramfs.h"
#include "vmm/log.h"

#define BUSYBOX_PATH "/bin/busybox"

/*
 * Modules guest-init loads for this VM's devices, dependencies resolved from
 * modules.dep. pvpanic-mmio reports a guest panic on BOOT_PORT_PVPANIC; button
 * is the ACPI power button driver (PNP0C0C) that turns the host's press into
 * the acpi_event guest-init waits for (docs/guest-init.md); the
 * virtio transport and device drivers and ext4 serve --disk. With shares,
 * virtiofs (which pulls in fuse) and overlay (the store overlay) come too,
 * with --net virtio_net (which pulls in net_failover); a VM without them does
 * not pay for loading them.
 */
static const char *const vm_modules[] = {
	"pvpanic_mmio",
	"button",
	"virtio_pci",
	"virtio_rng",
	"virtio_blk",
	"ext4",
};
static const char *const vm_modules_shares[] = { "virtiofs", "overlay" };
static const char *const vm_modules_nets[] = { "virtio_net" };

/* The module list for (cfg) into (out), NULL-terminated. */
static void vm_module_list(const struct vm_config *cfg, const char **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(vm_modules) && n + 1 < max; i++)
		out[n++] = vm_modules[i];
	for (size_t i = 0; cfg->nr_shares && i < ARRAY_SIZE(vm_modules_shares) && n + 1 < max; i++)
		out[n++] = vm_modules_shares[i];
	for (size_t i = 0; cfg->nr_nets && i < ARRAY_SIZE(vm_modules_nets) && n + 1 < max; i++)
		out[n++] = vm_modules_nets[i];
	out[n] = NULL;
}

int vm_cache_dir(char *buf, size_t len)
{
	const char *e = getenv("AGENTVMM_CACHE_DIR");
	int n;

	if (e && *e)
		n = snprintf(buf, len, "%s", e);
	else if ((e = getenv("XDG_CACHE_HOME")) && *e)
		n = snprintf(buf, len, "%s/agentvmm", e);
	else if ((e = getenv("HOME")) && *e)
		n = snprintf(buf, len, "%s/.cache/agentvmm", e);
	else
		n = snprintf(buf, len, "/tmp/agentvmm-%u", (unsigned)getuid());
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static bool is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The modules directory for (cfg->kernel), or "" when there is none. */
static int find_modules_dir(const struct vm_config *cfg, char *out, size_t len, char *err,
			    size_t errlen)
{
	char rel[256], kdir[4096];

	out[0] = 0;
	if (cfg->modules_dir) {
		if (!is_dir(cfg->modules_dir)) {
			snprintf(err, errlen, "--modules-dir %s: not a directory", cfg->modules_dir);
			return -EINVAL;
		}
		snprintf(out, len, "%s", cfg->modules_dir);
		return 0;
	}
	if (boot_kernel_release(cfg->kernel, rel, sizeof(rel)) < 0)
		return 0;
	snprintf(kdir, sizeof(kdir), "%s", cfg->kernel);
	const char *dir = dirname(kdir);
	const char *sub[] = { "lib/modules", "../lib/modules", "modules" };
	for (size_t i = 0; i < ARRAY_SIZE(sub); i++) {
		snprintf(out, len, "%s/%s/%s", dir, sub[i], rel);
		if (is_dir(out))
			return 0;
	}
	snprintf(out, len, "/lib/modules/%s", rel);
	if (is_dir(out))
		return 0;
	out[0] = 0;
	return 0;
}

int vm_default_initramfs(const struct vm_config *cfg, char **path, char *err, size_t errlen)
{
	char mods[4096], cache[4096], out[4096];
	const char *modules[16];
	int r;

	*path = NULL;
	if (access(cfg->kernel, R_OK) < 0) {
		r = -errno;
		snprintf(err, errlen, "--kernel %s: %s", cfg->kernel, strerror(-r));
		return r;
	}
	r = find_modules_dir(cfg, mods, sizeof(mods), err, errlen);
	if (r)
		return r;
	if (!mods[0])
		log_info("no modules directory found for %s: the guest gets no extra drivers",
			 cfg->kernel);
	r = vm_cache_dir(cache, sizeof(cache));
	if (r) {
		snprintf(err, errlen, "cache directory path too long");
		return r;
	}
	vm_module_list(cfg, modules, ARRAY_SIZE(modules));
	struct gi_initramfs_config ic = {
		.modules_dir = mods[0] ? mods : NULL,
		.modules = modules,
		.init_bin = gi_init_blob,
		.init_len = gi_init_blob_len,
		.busybox_path = access(BUSYBOX_PATH, X_OK) == 0 ? BUSYBOX_PATH : NULL,
	};
	r = gi_initramfs_cached(&ic, cache, out, sizeof(out), err, errlen);
	if (r)
		return r;
	*path = strdup(out);
	return *path ? 0 : -ENOMEM;
}
