// SPDX-License-Identifier: MIT
/* decompress.c: bounded in-memory xz / zstd / gzip decompression of kernel modules. */
#include "guest-init/mkinitramfs/decompress.h"

#include <errno.h>
#include <limits.h>
#include <lzma.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "guest-init/mkinitramfs/util.h"

#define DC_MIN_BUF (64u << 10)
#define DC_MAX_LIMIT (SIZE_MAX / 4)	/* keeps max + 1 and the doubling overflow-free */

static const struct {
	const char *suffix;
	enum gi_comp kind;
	const char *name;
} dc_formats[] = {
	{ ".xz", GI_COMP_XZ, "xz" },
	{ ".zst", GI_COMP_ZSTD, "zstd" },
	{ ".gz", GI_COMP_GZIP, "gzip" },
};

/*
 * The output buffer. Its capacity never exceeds dc_max + 1, so a decoder
 * that fills dc_max + 1 bytes has proved the output too big without ever
 * holding more.
 */
struct dc_out {
	unsigned char *dc_buf;
	size_t dc_len, dc_cap, dc_max;
};

static size_t suffix_idx(const char *path)
{
	size_t n = strlen(path), m, i;

	for (i = 0; i < GI_ARRAY_SIZE(dc_formats); i++) {
		m = strlen(dc_formats[i].suffix);
		if (n > m && strcmp(path + n - m, dc_formats[i].suffix) == 0)
			return i;
	}
	return SIZE_MAX;
}

enum gi_comp gi_comp_of(const char *path)
{
	size_t i = suffix_idx(path);

	return i == SIZE_MAX ? GI_COMP_NONE : dc_formats[i].kind;
}

const char *gi_comp_name(enum gi_comp kind)
{
	size_t i;

	for (i = 0; i < GI_ARRAY_SIZE(dc_formats); i++)
		if (dc_formats[i].kind == kind)
			return dc_formats[i].name;
	return "none";
}

size_t gi_comp_strip_len(const char *path)
{
	size_t i = suffix_idx(path);

	return strlen(path) - (i == SIZE_MAX ? 0 : strlen(dc_formats[i].suffix));
}

/* A first buffer size for (in_len) input bytes: a module compresses about 4:1. */
static size_t first_guess(size_t in_len, const struct dc_out *o)
{
	return in_len > o->dc_max / 4 ? o->dc_max + 1 : in_len * 4;
}

/* At least one free byte in (o), or -EFBIG once dc_max + 1 bytes are out. */
static int out_room(struct dc_out *o, size_t hint)
{
	size_t ncap;
	void *p;

	if (o->dc_len < o->dc_cap)
		return 0;
	if (o->dc_cap > o->dc_max)
		return -EFBIG;
	if (!o->dc_cap)
		ncap = hint < DC_MIN_BUF ? DC_MIN_BUF : hint;
	else
		ncap = o->dc_cap * 2;
	if (ncap > o->dc_max + 1)
		ncap = o->dc_max + 1;
	p = realloc(o->dc_buf, ncap);
	if (!p)
		return -ENOMEM;
	o->dc_buf = p;
	o->dc_cap = ncap;
	return 0;
}

static const char *xz_strerror(lzma_ret r)
{
	switch (r) {
	case LZMA_FORMAT_ERROR: return "not in xz format";
	case LZMA_OPTIONS_ERROR: return "unsupported xz options";
	case LZMA_DATA_ERROR: return "data is corrupt";
	case LZMA_BUF_ERROR: return "unexpected end of input";
	case LZMA_MEMLIMIT_ERROR: return "needs more decoder memory than allowed";
	default: return "liblzma error";
	}
}

static int dc_xz(const unsigned char *in, size_t in_len, struct dc_out *o, char *err,
		 size_t errlen)
{
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_ret r;
	int ret;

	r = lzma_stream_decoder(&s, GI_DECOMP_MEMLIMIT, LZMA_CONCATENATED);
	if (r != LZMA_OK)
		return r == LZMA_MEM_ERROR ? -ENOMEM : -EINVAL;
	s.next_in = in;
	s.avail_in = in_len;
	for (;;) {
		ret = out_room(o, first_guess(in_len, o));
		if (ret)
			break;
		s.next_out = o->dc_buf + o->dc_len;
		s.avail_out = o->dc_cap - o->dc_len;
		/* LZMA_FINISH: all input is there; no progress twice is LZMA_BUF_ERROR */
		r = lzma_code(&s, LZMA_FINISH);
		o->dc_len = o->dc_cap - s.avail_out;
		if (r == LZMA_STREAM_END)
			break;
		if (r == LZMA_OK)
			continue;
		ret = r == LZMA_MEM_ERROR ? -ENOMEM : -EBADMSG;
		snprintf(err, errlen, "corrupt xz data (%s)", xz_strerror(r));
		break;
	}
	lzma_end(&s);
	return ret;
}

static int dc_zstd(const unsigned char *in, size_t in_len, struct dc_out *o, char *err,
		   size_t errlen)
{
	unsigned long long fcs = ZSTD_getFrameContentSize(in, in_len);
	ZSTD_inBuffer ib = { in, in_len, 0 };
	ZSTD_outBuffer ob;
	size_t r = 1, in0, out0, hint = first_guess(in_len, o);
	ZSTD_DCtx *d;
	int ret = 0;

	/* the first frame's declared size sizes the buffer, and refuses early */
	if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs != ZSTD_CONTENTSIZE_ERROR) {
		if (fcs > o->dc_max)
			return -EFBIG;
		hint = (size_t)fcs + 1;
	}
	d = ZSTD_createDCtx();
	if (!d)
		return -ENOMEM;
	if (ZSTD_isError(ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax,
						GI_DECOMP_ZSTD_WINDOWLOG_MAX))) {
		ZSTD_freeDCtx(d);
		return -EINVAL;
	}
	/* r == 0: a frame ended and is flushed; more input is the next frame */
	while (ib.pos < ib.size || r != 0) {
		ret = out_room(o, hint);
		if (ret)
			break;
		ob = (ZSTD_outBuffer){ o->dc_buf, o->dc_cap, o->dc_len };
		in0 = ib.pos;
		out0 = ob.pos;
		r = ZSTD_decompressStream(d, &ob, &ib);
		o->dc_len = ob.pos;
		if (ZSTD_isError(r)) {
			snprintf(err, errlen, "corrupt zstd data (%s)", ZSTD_getErrorName(r));
			ret = -EBADMSG;
			break;
		}
		if (r != 0 && ib.pos == in0 && ob.pos == out0) {
			snprintf(err, errlen, "corrupt zstd data (unexpected end of input)");
			ret = -EBADMSG;
			break;
		}
	}
	ZSTD_freeDCtx(d);
	return ret;
}

/* One inflate() step over at most UINT_MAX bytes each way; advances (in, left) and (o). */
static int inflate_step(z_stream *z, const unsigned char **in, size_t *left, struct dc_out *o,
			bool *progress)
{
	size_t room = o->dc_cap - o->dc_len;
	uInt ai = *left > UINT_MAX ? UINT_MAX : (uInt)*left;
	uInt ao = room > UINT_MAX ? UINT_MAX : (uInt)room;
	int r;

	z->next_in = (Bytef *)(uintptr_t)*in;
	z->avail_in = ai;
	z->next_out = o->dc_buf + o->dc_len;
	z->avail_out = ao;
	r = inflate(z, Z_NO_FLUSH);
	*in += ai - z->avail_in;
	*left -= ai - z->avail_in;
	o->dc_len += ao - z->avail_out;
	*progress = z->avail_in != ai || z->avail_out != ao;
	return r;
}

static int dc_gzip(const unsigned char *in, size_t in_len, struct dc_out *o, char *err,
		   size_t errlen)
{
	size_t left = in_len, hint = first_guess(in_len, o);
	const char *why = NULL;
	z_stream z;
	bool progress;
	int r, ret = 0;

	memset(&z, 0, sizeof(z));
	/* RFC 1952 gzip only: windowBits 15 + 16 */
	if (inflateInit2(&z, MAX_WBITS + 16) != Z_OK)
		return -ENOMEM;
	for (;;) {
		ret = out_room(o, hint);
		if (ret)
			break;
		r = inflate_step(&z, &in, &left, o, &progress);
		if (r == Z_STREAM_END) {
			if (!left)
				break;
			/* gzip(1) reads concatenated members; nothing else may follow */
			if (left < 2 || in[0] != 0x1f || in[1] != 0x8b) {
				why = "data after the end";
				break;
			}
			if (inflateReset(&z) != Z_OK) {
				why = "zlib reset failed";
				break;
			}
			continue;
		}
		if (r == Z_MEM_ERROR) {
			ret = -ENOMEM;
			break;
		}
		if (r != Z_OK && r != Z_BUF_ERROR) {
			why = z.msg ? z.msg : "zlib error";
			break;
		}
		if (!progress && o->dc_len < o->dc_cap) {
			why = "unexpected end of input";
			break;
		}
	}
	if (why) {
		snprintf(err, errlen, "corrupt gzip data (%s)", why);
		ret = -EBADMSG;
	}
	inflateEnd(&z);
	return ret;
}

static void size_text(size_t n, char *buf, size_t len)
{
	if (n && n % (1u << 20) == 0)
		snprintf(buf, len, "%zu MiB", n >> 20);
	else
		snprintf(buf, len, "%zu bytes", n);
}

int gi_decompress(enum gi_comp kind, const void *in, size_t in_len, size_t max_out, void **out,
		  size_t *out_len, char *err, size_t errlen)
{
	struct dc_out o = { .dc_max = max_out > DC_MAX_LIMIT ? DC_MAX_LIMIT : max_out };
	char size[32];
	int ret;

	*out = NULL;
	*out_len = 0;
	if (errlen)
		err[0] = '\0';
	switch (kind) {
	case GI_COMP_XZ:
		ret = dc_xz(in, in_len, &o, err, errlen);
		break;
	case GI_COMP_ZSTD:
		ret = dc_zstd(in, in_len, &o, err, errlen);
		break;
	case GI_COMP_GZIP:
		ret = dc_gzip(in, in_len, &o, err, errlen);
		break;
	default:
		snprintf(err, errlen, "not a compression format (%d)", (int)kind);
		return -EINVAL;
	}
	if (!ret && o.dc_len > o.dc_max)
		ret = -EFBIG;
	if (!ret && !o.dc_buf)
		ret = out_room(&o, 1); /* an empty result is still a buffer */
	if (ret == -EFBIG) {
		size_text(o.dc_max, size, sizeof(size));
		snprintf(err, errlen, "decompresses to more than %s", size);
	} else if (ret == -ENOMEM) {
		snprintf(err, errlen, "out of memory decompressing %s data", gi_comp_name(kind));
	} else if (ret && !err[0]) {
		snprintf(err, errlen, "%s decoder failed: %s", gi_comp_name(kind), strerror(-ret));
	}
	if (ret) {
		free(o.dc_buf);
		return ret;
	}
	*out = o.dc_buf;
	*out_len = o.dc_len;
	return 0;
}

int gi_decompress_file(const char *path, size_t max_out, void **out, size_t *out_len, char *err,
		       size_t errlen)
{
	enum gi_comp kind = gi_comp_of(path);
	char msg[256], size[32];
	size_t len;
	char *buf;
	int ret;

	*out = NULL;
	*out_len = 0;
	if (kind == GI_COMP_NONE) {
		snprintf(err, errlen, "%s: not a .xz, .zst or .gz file", path);
		return -EINVAL;
	}
	ret = gi_read_file(path, max_out, &buf, &len);
	if (ret == -EFBIG) {
		size_text(max_out, size, sizeof(size));
		snprintf(err, errlen, "%s: compressed file larger than %s", path, size);
		return ret;
	}
	if (ret) {
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	ret = gi_decompress(kind, buf, len, max_out, out, out_len, msg, sizeof(msg));
	if (ret)
		snprintf(err, errlen, "%s: %s", path, msg);
	free(buf);
	return ret;
}
