/* SPDX-License-Identifier: MIT */
/*
 * modname.h: a kernel module's name from its file name, as kmod derives it
 * (prefix gi_). Shared by guest-init and the initramfs builder.
 */
#ifndef AGENTVMM_GUEST_INIT_MODNAME_H
#define AGENTVMM_GUEST_INIT_MODNAME_H

#include <stddef.h>

#include "guest-init/compiler.h"

#define GI_MODNAME_MAX 256

/*
 * gi_modname() - the normalised module name of (path_or_name) into (buf):
 * the file name up to ".ko" (or all of it), '-' read as '_', so
 * "kernel/drivers/misc/pvpanic/pvpanic-mmio.ko.xz" is "pvpanic_mmio".
 * Return: 0, or -EINVAL when it is empty or does not fit in (len).
 * Context: pure.
 */
int __must_check gi_modname(const char *path_or_name, char *buf, size_t len);

#endif
