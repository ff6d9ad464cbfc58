/* SPDX-License-Identifier: MIT */
/*
 * modinfo.h: a kernel module's ".modinfo" section, read from the module's own
 * ELF file, and the two fields the initramfs builder needs from it (prefix
 * gi_modinfo_). Used when a modules directory has no modules.dep (a kernel
 * package unpacked with dpkg -x: depmod never ran), see moddep.h.
 *
 * A module is an ELF64 relocatable object (ET_REL). ".modinfo" is a run of
 * NUL-terminated "key=value" strings, padding NULs between them allowed
 * (include/linux/moduleparam.h __MODULE_INFO). The fields read here:
 *   depends=a,b,c        modules it needs symbols from (scripts/mod/modpost.c),
 *                        comma-separated, possibly empty
 *   softdep=pre: x y post: z   MODULE_SOFTDEP(); only the "pre:" names count,
 *                        names before any "pre:"/"post:" are ignored (as kmod's
 *                        config parser does); there may be several softdep=
 * Every offset and size in the file is checked before it is used: the input
 * is a file anyone may have put in the modules directory (fuzzed by
 * tests/fuzz/fuzz_gi_modinfo.c).
 */
#ifndef AGENTVMM_GUEST_INIT_MKINITRAMFS_MODINFO_H
#define AGENTVMM_GUEST_INIT_MKINITRAMFS_MODINFO_H

#include <stdbool.h>
#include <stddef.h>

#include "guest-init/compiler.h"

#define GI_MODINFO_MAX_SECTIONS 4096	/* Debian 6.1 modules have at most 93 */
#define GI_MODINFO_MAX_STRINGS 65536	/* .modinfo strings; at most 1603 there (aliases) */
#define GI_MODINFO_MAX_NAMES 256	/* depends= plus softdep pre: names; at most 15 there */

/*
 * gi_modinfo_name_fn - called by gi_modinfo_deps() with each normalised
 * module name (name): a hard dependency (soft false) or a softdep "pre:" name
 * (soft true; it may be an alias such as "crypto_crc32c"). A non-zero return
 * stops the walk and is returned.
 */
typedef int (*gi_modinfo_name_fn)(void *opaque, const char *name, bool soft);

/*
 * gi_modinfo_find() - the ".modinfo" section of the module image (elf, len):
 * (*info, *info_len) point into (elf).
 *
 * Return: 0; -ENOEXEC when (elf) is not an ELF file, or not a 64-bit
 * little-endian relocatable one; -EBADMSG for a truncated header, a section
 * table or section-name table outside the file, more than
 * GI_MODINFO_MAX_SECTIONS sections, no ".modinfo" section, one outside the
 * file, one whose last byte is not NUL, or one with more than
 * GI_MODINFO_MAX_STRINGS strings. (err) says which, without a file name.
 * Context: pure; any thread. The input is untrusted.
 */
int __must_check gi_modinfo_find(const void *elf, size_t len, const char **info, size_t *info_len,
				 char *err, size_t errlen);

/*
 * gi_modinfo_deps() - call (fn) for each depends= name, then for each
 * softdep= "pre:" name, of the ".modinfo" text (info, info_len) that
 * gi_modinfo_find() accepted. Names are normalised as gi_modname() does;
 * empty list items are skipped.
 *
 * Return: 0; the first non-zero return of (fn); -EBADMSG for a name that is
 * longer than GI_MODNAME_MAX - 1, holds a '/' or a byte outside printable
 * ASCII, or for more than GI_MODINFO_MAX_NAMES names, with (err) saying which.
 * Context: pure; any thread. The input is untrusted.
 */
int __must_check gi_modinfo_deps(const char *info, size_t info_len, gi_modinfo_name_fn fn,
				 void *opaque, char *err, size_t errlen);

/*
 * gi_modinfo_file() - read the module file (path), decompressing a .ko.xz,
 * .ko.zst or .ko.gz (decompress.h, at most GI_DECOMP_MAX_MODULE bytes), and
 * gi_modinfo_deps() its ".modinfo".
 *
 * Return: as gi_modinfo_find() and gi_modinfo_deps(), those of
 * gi_decompress_file(), or the -errno of reading (path); (err) starts with
 * (path), except for a non-zero return of (fn), which sets (err) itself.
 * Context: any thread.
 */
int __must_check gi_modinfo_file(const char *path, gi_modinfo_name_fn fn, void *opaque, char *err,
				 size_t errlen);

#endif
