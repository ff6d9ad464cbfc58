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
 * Modules guest-init loads, per feature, dependencies (and softdep "pre:"
 * modules) resolved by the initramfs builder from modules.dep or, without
 * one, from the modules' own .modinfo (docs/guest-init.md). Each entry is
 * checked against both Debian kernels agentvmm is tested with: the cloud
 * kernel builds ext4, jbd2, mbcache, crc16 and crc32c in; the generic amd64
 * kernel (like NixOS's) has every one of them as a module
 * (/var/cache/agentvmm/testhost/config). A name built into the kernel is
 * skipped; one that is neither a module nor built in fails the build.
 *
 * Always (devices every VM has):
 *   pvpanic_mmio  CONFIG_PVPANIC_MMIO=m: reports a guest panic on BOOT_PORT_PVPANIC
 *                 (-> pvpanic)
 *   button        CONFIG_ACPI_BUTTON=m: the ACPI power button (PNP0C0C), which turns
 *                 the host's press into the acpi_event guest-init waits for
 *   virtio_pci    CONFIG_VIRTIO_PCI=m: the transport of every virtio device
 *                 (-> virtio_pci_modern_dev, virtio_pci_legacy_dev, virtio, virtio_ring)
 *   virtio_rng    CONFIG_HW_RANDOM_VIRTIO=m (CONFIG_HW_RANDOM=y): the entropy device
 * --disk:
 *   virtio_blk    CONFIG_VIRTIO_BLK=m
 *   ext4          CONFIG_EXT4_FS=y (cloud) / m (generic, -> jbd2, mbcache, crc16,
 *                 and its softdep crypto-crc32c = crc32c_generic: mkfs.ext4's
 *                 default metadata_csum cannot be mounted without it). Loaded for
 *                 any disk, mount= or not: the workload may mount one itself.
 * --pmem:
 *   virtio_pmem   CONFIG_VIRTIO_PMEM=m (-> nd_virtio, libnvdimm): the device
 *   nd_pmem       CONFIG_BLK_DEV_PMEM=m: /dev/pmemN on its region (DAX: CONFIG_FS_DAX=y)
 *   erofs, ext4   CONFIG_EROFS_FS=m, the image's filesystem (scripts/mkstore.sh)
 * --share / --fs:
 *   virtiofs      CONFIG_VIRTIO_FS=m (-> fuse, CONFIG_FUSE_FS=m)
 *   overlay       CONFIG_OVERLAY_FS=m: the tmpfs overlay of a store share
 * --net:
 *   virtio_net    CONFIG_VIRTIO_NET=m (-> net_failover, failover)
 * --vsock (listed in load order, though modules.dep gives the same):
 *   vsock         CONFIG_VSOCKETS=m: AF_VSOCK
 *   vmw_vsock_virtio_transport_common  CONFIG_VIRTIO_VSOCKETS_COMMON=m
 *   vmw_vsock_virtio_transport         CONFIG_VIRTIO_VSOCKETS=m: the virtio-vsock driver
 * --balloon (on by default):
 *   virtio_balloon  CONFIG_VIRTIO_BALLOON=m (CONFIG_PAGE_REPORTING=y, both kernels):
 *                 the balloon and free page reporting (docs/balloon.md)
 * A VM without a feature does not pay for loading its modules.
 */
static const char *const vm_modules[] = { "pvpanic_mmio", "button", "virtio_pci", "virtio_rng" };
static const char *const vm_modules_disks[] = { "virtio_blk", "ext4" };
static const char *const vm_modules_pmem[] = { "virtio_pmem", "nd_pmem", "erofs", "ext4" };
static const char *const vm_modules_shares[] = { "virtiofs", "overlay" };
static const char *const vm_modules_nets[] = { "virtio_net" };
static const char *const vm_modules_vsock[] = { "vsock", "vmw_vsock_virtio_transport_common",
						"vmw_vsock_virtio_transport" };
static const char *const vm_modules_balloon[] = { "virtio_balloon" };

/* Append (list) of (len) names to (out) at *n, leaving room for the NULL. */
static void add_names(const char **out, size_t *n, size_t max, const char *const *list,
		      size_t len)
{
	for (size_t i = 0; i < len && *n + 1 < max; i++)
		out[(*n)++] = list[i];
}

/* The module list for (cfg) into (out), NULL-terminated. */
static void vm_module_list(const struct vm_config *cfg, const char **out, size_t max)
{
	size_t n = 0;
	/* a template's: whatever a VM restored from it may have (docs/snapshot.md) */
	bool all = cfg->template;

	add_names(out, &n, max, vm_modules, ARRAY_SIZE(vm_modules));
	if (all) {
		add_names(out, &n, max, vm_modules_disks, ARRAY_SIZE(vm_modules_disks));
		add_names(out, &n, max, vm_modules_pmem, ARRAY_SIZE(vm_modules_pmem));
		add_names(out, &n, max, vm_modules_shares, ARRAY_SIZE(vm_modules_shares));
		add_names(out, &n, max, vm_modules_nets, ARRAY_SIZE(vm_modules_nets));
		add_names(out, &n, max, vm_modules_vsock, ARRAY_SIZE(vm_modules_vsock));
		add_names(out, &n, max, vm_modules_balloon, ARRAY_SIZE(vm_modules_balloon));
		out[n] = NULL;
		return;
	}
	if (cfg->nr_disks)
		add_names(out, &n, max, vm_modules_disks, ARRAY_SIZE(vm_modules_disks));
	if (cfg->nr_pmems)
		add_names(out, &n, max, vm_modules_pmem, ARRAY_SIZE(vm_modules_pmem));
	if (cfg->nr_shares)
		add_names(out, &n, max, vm_modules_shares, ARRAY_SIZE(vm_modules_shares));
	if (cfg->nr_nets)
		add_names(out, &n, max, vm_modules_nets, ARRAY_SIZE(vm_modules_nets));
	if (cfg->vsock.enabled || config_session(cfg))
		add_names(out, &n, max, vm_modules_vsock, ARRAY_SIZE(vm_modules_vsock));
	if (cfg->balloon.enabled)
		add_names(out, &n, max, vm_modules_balloon, ARRAY_SIZE(vm_modules_balloon));
	out[n] = NULL;
}

/* gi_moddep_note_fn: the builder's remarks (no modules.dep, a skipped softdep) at -v. */
static void vm_initramfs_note(void *opaque, const char *msg)
{
	log_info("initramfs: %s", msg);
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
	const char *modules[32];
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
		.note = vm_initramfs_note,
	};
	r = gi_initramfs_cached(&ic, cache, out, sizeof(out), err, errlen);
	if (r)
		return r;
	*path = strdup(out);
	return *path ? 0 : -ENOMEM;
}
