// SPDX-License-Identifier: MIT
/* iov.c: a byte cursor over a chain's segments (prefix iov_cur_). */
#include "devices/virtio/iov.h"

#include <errno.h>
#include <string.h>

/*
 * Invariant: (left) is the sum of the segment lengths from (iov, off) on, and
 * off <= iov[0].iov_len while nr > 0. Zero-length segments are stepped over
 * lazily, so nr may count segments that hold no byte.
 */

void iov_cur_init(struct iov_cur *c, const struct iovec *iov, unsigned nr)
{
	c->iov = iov;
	c->nr = nr;
	c->off = 0;
	c->left = 0;
	for (unsigned i = 0; i < nr; i++)
		c->left += iov[i].iov_len;
}

/*
 * Bytes available at the cursor in the current segment, after stepping over
 * exhausted and zero-length segments. Call only while c->left > 0, which
 * guarantees a non-empty segment ahead.
 */
static size_t cur_seg_avail(struct iov_cur *c)
{
	while (c->off == c->iov->iov_len) {
		c->iov++;
		c->nr--;
		c->off = 0;
	}
	return c->iov->iov_len - c->off;
}

/* Advance (len) <= left bytes, copying to (dst) and/or from (src) when given. */
static void cur_move(struct iov_cur *c, size_t len, uint8_t *dst, const uint8_t *src)
{
	c->left -= len;
	while (len) {
		size_t n = MIN(len, cur_seg_avail(c));
		uint8_t *p = (uint8_t *)c->iov->iov_base + c->off;

		if (dst) {
			memcpy(dst, p, n);
			dst += n;
		}
		if (src) {
			memcpy(p, src, n);
			src += n;
		}
		c->off += n;
		len -= n;
	}
}

int iov_cur_copy_out(struct iov_cur *c, void *dst, size_t len)
{
	if (len > c->left)
		return -EMSGSIZE;
	cur_move(c, len, dst, NULL);
	return 0;
}

int iov_cur_copy_in(struct iov_cur *c, const void *src, size_t len)
{
	if (len > c->left)
		return -EMSGSIZE;
	cur_move(c, len, NULL, src);
	return 0;
}

int iov_cur_skip(struct iov_cur *c, size_t len)
{
	if (len > c->left)
		return -EMSGSIZE;
	cur_move(c, len, NULL, NULL);
	return 0;
}

int iov_cur_take(struct iov_cur *c, size_t len, struct iovec *out, unsigned max)
{
	struct iov_cur probe = *c;
	unsigned n = 0;

	if (len > c->left)
		return -EMSGSIZE;
	/* count first on a copy, so the cursor is unchanged on -E2BIG */
	for (size_t rest = len; rest; n++) {
		size_t k = MIN(rest, cur_seg_avail(&probe));

		probe.off += k;
		rest -= k;
	}
	if (n > max || n > INT32_MAX)
		return -E2BIG;
	for (unsigned i = 0; i < n; i++) {
		size_t k = MIN(len, cur_seg_avail(c));

		out[i].iov_base = (uint8_t *)c->iov->iov_base + c->off;
		out[i].iov_len = k;
		c->off += k;
		c->left -= k;
		len -= k;
	}
	return (int)n;
}
