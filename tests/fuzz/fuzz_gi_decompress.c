// SPDX-License-Identifier: MIT
/*
 * fuzz_gi_decompress.c: libFuzzer target for gi_decompress(), the entry
 * point the initramfs builder runs on every .ko.xz / .ko.zst / .ko.gz.
 *
 * Input: one control byte, then the payload.
 *   bits 0-1  format: 0 xz, 1 zstd, 2 gzip, 3 xz
 *   bit 2     round trip: the payload is plain data, compressed here with the
 *             same library, so the decoder sees mostly valid streams
 *   bit 3     (round trip) corrupt one byte of the compressed stream
 *   bits 4-5  output bound: 1 MiB, the payload size, 64 KiB, 0
 *   bits 6-7  (corruption) which bit of the byte to flip
 * Raw mode decodes the payload as is. Either way the result must follow the
 * contract (0 within the bound, or -EBADMSG / -EFBIG / -ENOMEM with a
 * message and no buffer); an untouched round trip must give the plain bytes back.
 */
#include <errno.h>
#include <lzma.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "guest-init/mkinitramfs/decompress.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_PLAIN_MAX (64u << 10)

static const enum gi_comp fuzz_kinds[4] = { GI_COMP_XZ, GI_COMP_ZSTD, GI_COMP_GZIP, GI_COMP_XZ };

static size_t compress_gzip(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	z_stream z;
	size_t len = 0;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 1, Z_DEFLATED, MAX_WBITS + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return 0;
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) == Z_STREAM_END)
		len = cap - z.avail_out;
	deflateEnd(&z);
	return len;
}

/* (in, n) compressed as (kind) into a malloc'd *out; its length, 0 on failure. */
static size_t compress_plain(enum gi_comp kind, const uint8_t *in, size_t n, uint8_t **out)
{
	size_t cap, len = 0;

	cap = lzma_stream_buffer_bound(n) + ZSTD_compressBound(n) + compressBound((uLong)n) + 64;
	*out = malloc(cap);
	if (!*out)
		return 0;
	switch (kind) {
	case GI_COMP_XZ:
		if (lzma_easy_buffer_encode(0, LZMA_CHECK_CRC32, NULL, in, n, *out, &len, cap) !=
		    LZMA_OK)
			len = 0;
		break;
	case GI_COMP_ZSTD:
		len = ZSTD_compress(*out, cap, in, n, 1);
		if (ZSTD_isError(len))
			len = 0;
		break;
	default:
		len = compress_gzip(in, n, *out, cap);
		break;
	}
	return len;
}

static void check_result(int ret, void *out, size_t out_len, size_t max, const char *err)
{
	if (ret == 0) {
		if (!out || out_len > max)
			abort();
		return;
	}
	if (ret != -EBADMSG && ret != -EFBIG && ret != -ENOMEM)
		abort();
	if (out || out_len || !err[0])
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t bounds[4] = { 1u << 20, 0 /* payload size */, 64u << 10, 0 };
	const uint8_t *in, *plain;
	uint8_t ctl, *comp = NULL;
	size_t in_len, plain_len, max, out_len;
	enum gi_comp kind;
	char err[256];
	void *out;
	int ret;

	if (size < 1)
		return 0;
	ctl = data[0];
	plain = data + 1;
	plain_len = size - 1;
	kind = fuzz_kinds[ctl & 3];
	max = bounds[(ctl >> 4) & 3];
	if (((ctl >> 4) & 3) == 1)
		max = plain_len;
	in = plain;
	in_len = plain_len;
	if (ctl & 4) {
		if (plain_len > FUZZ_PLAIN_MAX)
			return 0;
		in_len = compress_plain(kind, plain, plain_len, &comp);
		if (!in_len) {
			free(comp);
			return 0;
		}
		if ((ctl & 8) && in_len)
			comp[(plain_len * 131u + ctl) % in_len] ^= (uint8_t)(1u << (ctl >> 6));
		in = comp;
	}
	ret = gi_decompress(kind, in, in_len, max, &out, &out_len, err, sizeof(err));
	check_result(ret, out, out_len, max, err);
	if ((ctl & 12) == 4) {
		/* untouched round trip: back to the plain bytes, or too big for the bound */
		if (plain_len <= max && (ret != 0 || out_len != plain_len ||
					 memcmp(out, plain, plain_len) != 0))
			abort();
		if (plain_len > max && ret != -EFBIG)
			abort();
	}
	free(out);
	free(comp);
	return 0;
}
