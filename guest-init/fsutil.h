/* SPDX-License-Identifier: MIT */
/* fsutil.h: libc-only file helpers shared by guest-init and the initramfs builder. */
#ifndef AGENTVMM_GUEST_INIT_FSUTIL_H
#define AGENTVMM_GUEST_INIT_FSUTIL_H

#include <sys/types.h>

#include "guest-init/compiler.h"

/* gi_mkdir_p() - create (path) and its parents with (mode); 0 or -errno. */
int __must_check gi_mkdir_p(const char *path, mode_t mode);

#endif
