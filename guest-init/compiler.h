/* SPDX-License-Identifier: MIT */
/* compiler.h: the attributes and small macros guest-init uses (it may not include vmm/). */
#ifndef AGENTVMM_GUEST_INIT_COMPILER_H
#define AGENTVMM_GUEST_INIT_COMPILER_H

#ifndef __must_check
#define __must_check __attribute__((warn_unused_result))
#endif
#ifndef __printf
#define __printf(a, b) __attribute__((format(printf, a, b)))
#endif

#define GI_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
