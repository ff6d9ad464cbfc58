/* SPDX-License-Identifier: MIT */
/* fsutil.h: libc-only file helpers shared by guest-init and the initramfs builder. */
#ifndef AGENTVMM_GUEST_INIT_FSUTIL_H
#define AGENTVMM_GUEST_INIT_FSUTIL_H

#include <sys/types.h>

#include "guest-init/compiler.h"

/* gi_mkdir_p() - create (path) and its parents with (mode); 0 or -errno. */
int __must_check gi_mkdir_p(const char *path, mode_t mode);

/*
 * gi_write_text() - write all of (text) to (path), opened write-only with
 * (oflags) added (O_CREAT | O_TRUNC for a new file, mode 0644; 0 for a
 * sysfs or procfs knob). Return: 0 or -errno (a short write is -EIO).
 */
int __must_check gi_write_text(const char *path, const char *text, int oflags);

#endif
