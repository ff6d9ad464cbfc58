/* SPDX-License-Identifier: MIT */
/* compiler.h: attributes, overflow helpers and small macros used everywhere. */
#ifndef AGENTVMM_VMM_COMPILER_H
#define AGENTVMM_VMM_COMPILER_H

#include <stddef.h>
#include <stdint.h>

#define __must_check __attribute__((warn_unused_result))
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define __packed __attribute__((packed))
#define __unused __attribute__((unused))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a) - 1)) == 0)

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define KiB(x) ((uint64_t)(x) << 10)
#define MiB(x) ((uint64_t)(x) << 20)
#define GiB(x) ((uint64_t)(x) << 30)

/*
 * AV_SANITIZER_BUILD: defined when this unit is built with AddressSanitizer or
 * ThreadSanitizer (GCC's __SANITIZE_*__, clang's __has_feature). Their
 * run-times make syscalls no seccomp filter allows (LeakSanitizer's
 * stop-the-world at exit, TSan's background thread and shadow mappings), so
 * such builds default to seccomp off (vmm/sandbox.c, docs/security.md).
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define AV_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define AV_SANITIZER_BUILD 1
#endif
#endif

/* true when a + b overflows (result stored in *res) */
#define add_overflows(a, b, res) __builtin_add_overflow(a, b, res)
#define mul_overflows(a, b, res) __builtin_mul_overflow(a, b, res)

#endif
