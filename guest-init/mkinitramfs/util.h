/* SPDX-License-Identifier: MIT */
/* util.h: file helpers shared by the initramfs builder's modules. */
#ifndef AGENTVMM_GUEST_INIT_MKINITRAMFS_UTIL_H
#define AGENTVMM_GUEST_INIT_MKINITRAMFS_UTIL_H

#include <stddef.h>

#include "guest-init/compiler.h"

/*
 * gi_read_file() - the whole of (path), at most (max) bytes, into a malloc'd
 * buffer *buf (NUL-terminated, for convenience; *len excludes the NUL).
 * Return: 0; -EFBIG when the file is larger than (max); -ENOMEM; open/read -errno.
 * Context: any thread.
 */
int __must_check gi_read_file(const char *path, size_t max, char **buf, size_t *len);

#endif
