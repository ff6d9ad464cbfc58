/* SPDX-License-Identifier: MIT */
/* initramfs.h: agentvmm's own initramfs (guest-init + busybox + modules), built once and cached. */
#ifndef AGENTVMM_VMM_INITRAMFS_H
#define AGENTVMM_VMM_INITRAMFS_H

#include <stddef.h>

#include "vmm/compiler.h"
#include "vmm/config.h"

/*
 * vm_default_initramfs() - find the kernel's modules (cfg->modules_dir, else
 * <kernel dir>/lib/modules/<release>, else /lib/modules/<release>), and
 * return the path of a cached initramfs holding guest-init, busybox and the
 * modules guest-init needs, building it when missing.
 * Return: 0 and a malloc'd (*path); -errno with a message in (err).
 * Context: main thread, before the VM starts.
 */
int vm_default_initramfs(const struct vm_config *cfg, char **path, char *err,
			 size_t errlen) __must_check;

/* vm_cache_dir() - $AGENTVMM_CACHE_DIR, $XDG_CACHE_HOME/agentvmm or ~/.cache/agentvmm. */
int vm_cache_dir(char *buf, size_t len) __must_check;

#endif
