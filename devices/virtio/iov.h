/* SPDX-License-Identifier: MIT */
/*
 * iov.h: a cursor over a chain's segments, so request parsing never assumes
 * header, data and status sit in separate descriptors (virtio 1.2 §2.6.4).
 */
#ifndef AGENTVMM_DEVICES_VIRTIO_IOV_H
#define AGENTVMM_DEVICES_VIRTIO_IOV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/compiler.h"

struct iov_cur {
	const struct iovec *iov;
	unsigned nr;       /* segments left, starting at iov */
	size_t off;        /* offset into iov[0] */
	size_t left;       /* bytes left in all segments */
};

/*
 * Context (all iov_cur_*): the thread that owns the chain; a cursor is not
 * shared. Guest: the bytes behind the segments may change under us at any
 * time, so copy a header out before validating it (STYLE.md §4 single fetch).
 * Zero-length segments are allowed anywhere and never produce an iovec.
 */

/* iov_cur_init() - cursor at the start of (iov, nr); (iov) must outlive the cursor. */
void iov_cur_init(struct iov_cur *c, const struct iovec *iov, unsigned nr);

/*
 * iov_cur_copy_out() - copy (len) bytes at the cursor to (dst) and advance.
 * Return: 0, or -EMSGSIZE (cursor unchanged) when fewer than (len) bytes remain.
 */
int iov_cur_copy_out(struct iov_cur *c, void *dst, size_t len) __must_check;

/* iov_cur_copy_in() - copy (len) bytes from (src) at the cursor and advance; -EMSGSIZE as above. */
int iov_cur_copy_in(struct iov_cur *c, const void *src, size_t len) __must_check;

/*
 * iov_cur_take() - describe the next (len) bytes as up to (max) iovecs in
 * (out) without copying, and advance.
 * The iovecs point into the chain's buffers (zero-copy, e.g. for io_uring).
 * Return: number of iovecs (0 when (len) is 0), or -EMSGSIZE (not enough
 * bytes) / -E2BIG (more than (max) iovecs needed); the cursor is unchanged on
 * error.
 */
int iov_cur_take(struct iov_cur *c, size_t len, struct iovec *out, unsigned max) __must_check;

/* iov_cur_skip() - advance (len) bytes; -EMSGSIZE as above. */
int iov_cur_skip(struct iov_cur *c, size_t len) __must_check;

/* iov_cur_left() - bytes remaining. */
static inline size_t iov_cur_left(const struct iov_cur *c)
{
	return c->left;
}

#endif
