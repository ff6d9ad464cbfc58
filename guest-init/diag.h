/* SPDX-License-Identifier: MIT */
/*
 * diag.h: naming what the guest kernel lacks when a disk, share or network
 * interface the host asked for cannot be set up (prefix gi_diag_). guest-init
 * then ends the VM with GI_STATUS_SETUP_FAILED (report.h) and one line such as
 *   agentvmm-init: mount ext4 on /data: the kernel has no ext4 driver
 *   (module ext4 failed to load: Unknown symbol in module)
 * The facts come from the module loads guest-init recorded (modules.c),
 * /proc/filesystems, /proc/crypto and the driver directories in /sys/bus.
 */
#ifndef AGENTVMM_GUEST_INIT_DIAG_H
#define AGENTVMM_GUEST_INIT_DIAG_H

#include <stdbool.h>
#include <stddef.h>

#include "guest-init/compiler.h"

#define GI_DIAG_MODULES_MAX 256	/* module loads remembered; agentvmm's lists have ~20 */
#define GI_DIAG_TEXT_MAX (256u << 10)	/* /proc/filesystems, /proc/crypto: a few KiB */

/*
 * gi_diag_set_root() - read /proc and /sys under (root) ("" is the real
 * ones, the default; tests point it at a fake tree). (root) must outlive the use.
 */
void gi_diag_set_root(const char *root);

/*
 * gi_diag_module_result() - remember that the initramfs listed module (path)
 * and that loading it gave (ret): 0 (loaded, or already there) or -errno.
 * Past GI_DIAG_MODULES_MAX modules nothing more is remembered.
 * Context: PID 1, while loading the modules.
 */
void gi_diag_module_result(const char *path, int ret);

/* gi_diag_reset() - forget every recorded module load. */
void gi_diag_reset(void);

/*
 * gi_diag_module() - what became of module (name) (normalised, "ext4"), into
 * (buf): "module M failed to load: ERR" (plus the first other module that
 * failed, if any), "module M is not in the initramfs" (nothing recorded for
 * it, others were), "module M loaded" or, with nothing recorded at all (a
 * hand-made initramfs), "module M not in the initramfs or failed to load".
 */
void gi_diag_module(const char *name, char *buf, size_t len);

/*
 * gi_diag_fs_listed() - whether /proc/filesystems text (text, len) lists
 * (fstype) ("nodev\tNAME" or "\tNAME" lines).
 * Context: pure.
 */
bool gi_diag_fs_listed(const char *text, size_t len, const char *fstype);

/*
 * gi_diag_crypto_listed() - whether /proc/crypto text (text, len) has an
 * algorithm called (alg) ("name         : ALG" lines).
 * Context: pure.
 */
bool gi_diag_crypto_listed(const char *text, size_t len, const char *alg);

/*
 * gi_diag_mount() - after mount(2) of (fstype) failed with (ret), the reason
 * to print, into (buf):
 *   - (fstype) not in /proc/filesystems: "the kernel has no FSTYPE driver
 *     (MODULE ...)" (ext2/ext3 are served by ext4);
 *   - ext4, -ENOENT and no crc32c in /proc/crypto: ext4 could not get the
 *     checksum algorithm of a metadata_csum filesystem (crc32c_generic);
 *   - virtiofs with its driver or the virtio-pci transport missing;
 *   - otherwise strerror(-ret).
 * Return: true when a missing piece was named.
 * Context: PID 1 (reads /proc, /sys).
 */
bool gi_diag_mount(const char *fstype, int ret, char *buf, size_t len);

/*
 * gi_diag_virtio() - a virtio device that did not show up: "the kernel has no
 * virtio-pci driver (MODULE ...)" when the PCI transport is not registered,
 * else "the kernel has no DRIVER driver (MODULE ...)" when (driver) is not in
 * /sys/bus/virtio/drivers, into (buf).
 * Return: true when one of them is missing (else the device itself is).
 * Context: PID 1 (reads /sys).
 */
bool gi_diag_virtio(const char *driver, const char *module, char *buf, size_t len);

#endif
