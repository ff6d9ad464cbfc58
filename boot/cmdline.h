/* SPDX-License-Identifier: MIT */
/*
 * cmdline.h: the kernel command line in guest RAM, and the host-side encoder
 * of the workload argv that guest-init decodes.
 *
 * argv encoding (the guest-side decoder in guest-init follows this exactly):
 *
 *   agentvmm.argc=N agentvmm.argv=ENC
 *
 * N is the decimal argument count. ENC is each argument percent-encoded and
 * the arguments joined with ','. A byte in [A-Za-z0-9] or one of "-._~/:@+="
 * stays literal; every other byte (space, ',', '%', '"', control bytes,
 * UTF-8 bytes >= 0x80, ...) becomes "%XX" with two UPPERCASE hex digits. An
 * empty argument is encoded as nothing, so "a,,b" is three arguments; with
 * argc 0 ENC is empty.
 */
#ifndef AGENTVMM_BOOT_CMDLINE_H
#define AGENTVMM_BOOT_CMDLINE_H

#include <stddef.h>

#include "vmm/compiler.h"
#include "vmm/guest_mem.h"

/* x86 COMMAND_LINE_SIZE, including the NUL: the PVH path's limit. */
#define BOOT_CMDLINE_PVH_SIZE 2048

/*
 * boot_cmdline_write() - copy (cmdline) with its NUL to BOOT_CMDLINE_GPA.
 * (limit) is the longest command line the kernel accepts, not counting the
 * NUL (bzImage: setup_header.cmdline_size; PVH: BOOT_CMDLINE_PVH_SIZE - 1).
 * Return: 0; -EINVAL with "kernel command line too long (N bytes, limit M)"
 * in (err); -EFAULT when the buffer is not in guest RAM.
 * Context: setup.
 */
int boot_cmdline_write(const struct guest_mem *gm, const char *cmdline, size_t limit,
		       char *err, size_t errlen) __must_check;

/*
 * boot_cmdline_encode_argv() - write "agentvmm.argc=N agentvmm.argv=ENC"
 * (see the encoding above) for (argc) strings of (argv) into (buf) of (len)
 * bytes, NUL-terminated.
 * Return: length written without the NUL; -ENOSPC when it does not fit (buf
 * then holds an empty string when len > 0); -EINVAL when argc < 0 or an
 * argv[i] is NULL.
 * Context: any.
 */
int boot_cmdline_encode_argv(char *buf, size_t len, char *const argv[], int argc) __must_check;

/*
 * boot_cmdline_encode_list() - write "KEY=ENC" for (n) strings of (items):
 * the same encoding as the argv, for other lists (shares, disks, nets).
 * Return: as boot_cmdline_encode_argv(); -EINVAL also for a KEY over 62 bytes.
 * Context: any.
 */
int boot_cmdline_encode_list(char *buf, size_t len, const char *key, char *const items[],
			     int n) __must_check;

/*
 * boot_cmdline_append() - append (word) to the NUL-terminated command line in
 * (buf) of (len) bytes, with one space between words. An empty (word) is a
 * no-op.
 * Return: 0; -ENOSPC when it does not fit (buf is unchanged).
 * Context: any.
 */
int boot_cmdline_append(char *buf, size_t len, const char *word) __must_check;

#endif
