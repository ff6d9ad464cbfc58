/* SPDX-License-Identifier: MIT */
/*
 * decompress.h: decompressing kernel modules shipped as .ko.xz, .ko.zst or
 * .ko.gz on the host, so the initramfs carries plain .ko files that every
 * kernel can load (docs/guest-init.md, "Compressed modules").
 *
 * The format comes from the file name's suffix, as kmod and the kernel's
 * own module_decompress() decide it; the data must then be in that format
 * (a ".xz" file holding a plain ELF is corrupt, not silently copied).
 * Accepted, as the matching command-line tools accept them:
 *   xz    one or more .xz streams with stream padding (liblzma, LZMA_CONCATENATED)
 *   zstd  one or more frames, skippable frames included (libzstd)
 *   gzip  one or more gzip members (zlib, gzip header only, not raw or zlib)
 * Anything after the last stream, frame or member is corrupt input.
 *
 * Output is bounded: the caller gives (max_out), and a module that would
 * decompress to more is refused without holding more than max_out + 1 bytes.
 * Decoder memory is bounded too (GI_DECOMP_MEMLIMIT: an xz dictionary or a
 * zstd window that asks for more is refused as corrupt).
 */
#ifndef AGENTVMM_GUEST_INIT_MKINITRAMFS_DECOMPRESS_H
#define AGENTVMM_GUEST_INIT_MKINITRAMFS_DECOMPRESS_H

#include <stddef.h>

#include "guest-init/compiler.h"

/* The largest decompressed module accepted; real ones are under 10 MiB (amdgpu.ko). */
#define GI_DECOMP_MAX_MODULE (64u << 20)
/* Decoder state limit: xz -9 needs 65 MiB, zstd's default window limit is 2^27. */
#define GI_DECOMP_MEMLIMIT (128u << 20)
#define GI_DECOMP_ZSTD_WINDOWLOG_MAX 27

enum gi_comp {
	GI_COMP_NONE = 0,
	GI_COMP_XZ,
	GI_COMP_ZSTD,
	GI_COMP_GZIP,
};

/*
 * gi_comp_of() - the compression of (path) by its suffix: ".xz", ".zst" or
 * ".gz"; GI_COMP_NONE for anything else (a plain ".ko").
 * Context: pure.
 */
enum gi_comp gi_comp_of(const char *path);

/* gi_comp_name() - "xz", "zstd", "gzip" or "none" for (kind). */
const char *gi_comp_name(enum gi_comp kind);

/*
 * gi_comp_strip_len() - the length of (path) without its compression suffix
 * ("a/b.ko.xz" -> 6, "a/b.ko" -> 6).
 * Context: pure.
 */
size_t gi_comp_strip_len(const char *path);

/*
 * gi_decompress() - decompress (in, in_len) in the format (kind) into a
 * malloc'd buffer *out of *out_len bytes (free() it; NULL on error).
 *
 * Return: 0; -EBADMSG for corrupt, truncated or wrongly formatted input, data
 * after the end, or a decoder asking for more than GI_DECOMP_MEMLIMIT;
 * -EFBIG when the output would exceed (max_out) bytes; -EINVAL for
 * GI_COMP_NONE or an unknown (kind); -ENOMEM. (err) says what was wrong,
 * without a file name.
 * Context: pure; any thread. The input is untrusted (fuzzed).
 */
int __must_check gi_decompress(enum gi_comp kind, const void *in, size_t in_len, size_t max_out,
			       void **out, size_t *out_len, char *err, size_t errlen);

/*
 * gi_decompress_file() - read (path), at most (max_out) bytes, and
 * gi_decompress() it in the format its suffix names.
 *
 * Return: as gi_decompress(), or the -errno of reading (path) (-EFBIG when
 * the compressed file itself is larger than (max_out)); (err) starts with
 * (path).
 * Context: any thread.
 */
int __must_check gi_decompress_file(const char *path, size_t max_out, void **out,
				    size_t *out_len, char *err, size_t errlen);

#endif
