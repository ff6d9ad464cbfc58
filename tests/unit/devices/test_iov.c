// SPDX-License-Identifier: MIT
/*
 * test_iov.c: the iov cursor over split, zero-length and exactly-ending
 * segments, its error returns with the cursor unchanged, and a header split
 * across descriptors of a real popped chain.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "devices/virtio/iov.h"
#include "devices/virtio/virtq.h"
#include "tests/helpers/th.h"
#include "tests/helpers/th_vq_driver.h"

/* 10 bytes "0123456789" spread as [0..2] [] [3..6] [] [] [7..9] [] */
struct layout {
	char buf[10];
	struct iovec iov[7];
};

static void layout_init(struct layout *l)
{
	memcpy(l->buf, "0123456789", 10);
	l->iov[0] = (struct iovec){ l->buf, 3 };
	l->iov[1] = (struct iovec){ l->buf + 3, 0 };
	l->iov[2] = (struct iovec){ l->buf + 3, 4 };
	l->iov[3] = (struct iovec){ l->buf + 7, 0 };
	l->iov[4] = (struct iovec){ NULL, 0 };
	l->iov[5] = (struct iovec){ l->buf + 7, 3 };
	l->iov[6] = (struct iovec){ NULL, 0 };
}

static void assert_same_cursor(const struct iov_cur *a, const struct iov_cur *b)
{
	assert_ptr_equal(a->iov, b->iov);
	assert_int_equal(a->nr, b->nr);
	assert_int_equal(a->off, b->off);
	assert_int_equal(a->left, b->left);
}

static void test_iov_cur_init_counts_all_bytes(void **state)
{
	struct layout l;
	struct iov_cur c;

	(void)state;
	layout_init(&l);
	iov_cur_init(&c, l.iov, 7);
	assert_int_equal(iov_cur_left(&c), 10);
	iov_cur_init(&c, l.iov, 0);
	assert_int_equal(iov_cur_left(&c), 0);
}

static void test_iov_cur_copy_out_splits_across_segments(void **state)
{
	struct layout l;
	struct iov_cur c;
	char out[11] = { 0 };

	(void)state;
	layout_init(&l);
	iov_cur_init(&c, l.iov, 7);
	assert_int_equal(iov_cur_copy_out(&c, out, 2), 0);
	assert_memory_equal(out, "01", 2);
	/* 2..8 spans the tail of seg 0, seg 2 whole, two empty segs and seg 5 */
	assert_int_equal(iov_cur_copy_out(&c, out, 7), 0);
	assert_memory_equal(out, "2345678", 7);
	assert_int_equal(iov_cur_left(&c), 1);
	assert_int_equal(iov_cur_copy_out(&c, out, 1), 0);
	assert_int_equal(out[0], '9');
	assert_int_equal(iov_cur_left(&c), 0);
}

static void test_iov_cur_copy_out_exact_end_then_empty(void **state)
{
	struct layout l;
	struct iov_cur c, saved;
	char out[16];

	(void)state;
	layout_init(&l);
	iov_cur_init(&c, l.iov, 7);
	assert_int_equal(iov_cur_copy_out(&c, out, 10), 0);
	assert_memory_equal(out, "0123456789", 10);
	saved = c;
	assert_int_equal(iov_cur_copy_out(&c, out, 1), -EMSGSIZE);
	assert_same_cursor(&c, &saved);
	assert_int_equal(iov_cur_copy_out(&c, out, 0), 0);
	assert_int_equal(iov_cur_skip(&c, 0), 0);
	assert_int_equal(iov_cur_take(&c, 0, NULL, 0), 0);
}

/* Stopping exactly at a segment end, the next read starts in the next segment. */
static void test_iov_cur_stop_at_segment_end_continues(void **state)
{
	struct layout l;
	struct iov_cur c;
	char out[4];

	(void)state;
	layout_init(&l);
	iov_cur_init(&c, l.iov, 7);
	assert_int_equal(iov_cur_copy_out(&c, out, 3), 0);
	assert_int_equal(iov_cur_copy_out(&c, out, 4), 0);
	assert_memory_equal(out, "3456", 4);
	assert_int_equal(iov_cur_copy_out(&c, out, 1), 0);
	assert_int_equal(out[0], '7');
}

static void test_iov_cur_too_short_fails_unchanged(void **state)
{
	struct layout l;
	struct iov_cur c, saved;
	char out[16];
	struct iovec v[8];

	(void)state;
	layout_init(&l);
	iov_cur_init(&c, l.iov, 7);
	assert_int_equal(iov_cur_skip(&c, 4), 0);
	saved = c;
	assert_int_equal(iov_cur_copy_out(&c, out, 7), -EMSGSIZE);
	assert_same_cursor(&c, &saved);
	assert_int_equal(iov_cur_copy_in(&c, "abcdefg", 7), -EMSGSIZE);
	assert_same_cursor(&c, &saved);
	assert_int_equal(iov_cur_skip(&c, 7), -EMSGSIZE);
	assert_same_cursor(&c, &saved);
	assert_int_equal(iov_cur_take(&c, 7, v, 8), -EMSGSIZE);
	assert_same_cursor(&c, &saved);
	assert_memory_equal(l.buf, "0123456789", 10);
	/* the cursor still works */
	assert_int_equal(iov_cur_copy_out(&c, out, 6), 0);
	assert_memory_equal(out, "456789", 6);
}

static void test_iov_cur_copy_in_splits_across_segments(void **state)
{
	struct layout l;
	struct iov_cur c;

	(void)state;
	layout_init(&l);
	iov_cur_init(&c, l.iov, 7);
	assert_int_equal(iov_cur_skip(&c, 1), 0);
	assert_int_equal(iov_cur_copy_in(&c, "abcdefgh", 8), 0);
	assert_memory_equal(l.buf, "0abcdefgh9", 10);
	assert_int_equal(iov_cur_left(&c), 1);
}

static void test_iov_cur_take_skips_empty_segments(void **state)
{
	struct layout l;
	struct iov_cur c;
	struct iovec v[4];

	(void)state;
	layout_init(&l);
	iov_cur_init(&c, l.iov, 7);
	assert_int_equal(iov_cur_skip(&c, 1), 0);
	assert_int_equal(iov_cur_take(&c, 8, v, 4), 3);
	assert_ptr_equal(v[0].iov_base, l.buf + 1);
	assert_int_equal(v[0].iov_len, 2);
	assert_ptr_equal(v[1].iov_base, l.buf + 3);
	assert_int_equal(v[1].iov_len, 4);
	assert_ptr_equal(v[2].iov_base, l.buf + 7);
	assert_int_equal(v[2].iov_len, 2);
	assert_int_equal(iov_cur_left(&c), 1);
	assert_int_equal(iov_cur_take(&c, 1, v, 1), 1);
	assert_ptr_equal(v[0].iov_base, l.buf + 9);
	assert_int_equal(iov_cur_left(&c), 0);
}

static void test_iov_cur_take_within_one_segment_returns_one(void **state)
{
	struct layout l;
	struct iov_cur c;
	struct iovec v[1];

	(void)state;
	layout_init(&l);
	iov_cur_init(&c, l.iov, 7);
	assert_int_equal(iov_cur_skip(&c, 4), 0);
	assert_int_equal(iov_cur_take(&c, 2, v, 1), 1);
	assert_ptr_equal(v[0].iov_base, l.buf + 4);
	assert_int_equal(v[0].iov_len, 2);
}

static void test_iov_cur_take_too_many_iovecs_fails_unchanged(void **state)
{
	struct layout l;
	struct iov_cur c, saved;
	struct iovec v[3] = { { NULL, 0 } };

	(void)state;
	layout_init(&l);
	iov_cur_init(&c, l.iov, 7);
	saved = c;
	assert_int_equal(iov_cur_take(&c, 10, v, 2), -E2BIG);
	assert_same_cursor(&c, &saved);
	assert_null(v[0].iov_base); /* nothing written */
	assert_int_equal(iov_cur_take(&c, 10, v, 3), 3);
	assert_int_equal(iov_cur_left(&c), 0);
}

static void test_iov_cur_all_empty_segments_hold_nothing(void **state)
{
	struct iovec iov[3] = { { NULL, 0 }, { NULL, 0 }, { NULL, 0 } };
	struct iov_cur c;
	char b;

	(void)state;
	iov_cur_init(&c, iov, 3);
	assert_int_equal(iov_cur_left(&c), 0);
	assert_int_equal(iov_cur_copy_out(&c, &b, 1), -EMSGSIZE);
	assert_int_equal(iov_cur_copy_out(&c, NULL, 0), 0);
}

/* A 16-byte header split 5 + 0 + 11 across descriptors of a real popped chain. */
static void test_iov_cur_header_split_across_descriptors(void **state)
{
	struct guest_mem gm;
	struct th_vq d;
	struct virtq vq;
	struct vq_chain *c = malloc(sizeof(*c));
	struct iov_cur cur;
	struct th_seg s[4];
	uint8_t hdr[16], status = 0x5a;
	static const uint8_t want[16] = "ABCDEFGHIJKLMNOP";

	(void)state;
	assert_non_null(c);
	th_gm_create(&gm, MiB(2));
	th_vq_init(&d, &gm, 8);
	s[0] = (struct th_seg){ th_vq_alloc(&d, 5), 5, false };
	s[1] = (struct th_seg){ th_vq_alloc(&d, 1), 0, false };
	s[2] = (struct th_seg){ th_vq_alloc(&d, 11), 11, false };
	s[3] = (struct th_seg){ th_vq_alloc(&d, 1), 1, true };
	assert_int_equal(gm_write(&gm, s[0].gpa, want, 5), 0);
	assert_int_equal(gm_write(&gm, s[2].gpa, want + 5, 11), 0);
	th_vq_bind(&d, &vq, true, true);
	th_vq_publish(&d, th_vq_add_chain(&d, s, 4));
	assert_int_equal(virtq_pop(&vq, c), 1);

	iov_cur_init(&cur, c->seg, c->nr_ro);
	assert_int_equal(iov_cur_copy_out(&cur, hdr, sizeof(hdr)), 0);
	assert_memory_equal(hdr, want, 16);
	assert_int_equal(iov_cur_left(&cur), 0);
	iov_cur_init(&cur, c->seg + c->nr_ro, c->nr_wo);
	assert_int_equal(iov_cur_copy_in(&cur, &status, 1), 0);
	assert_int_equal(*(uint8_t *)gm_ptr(&gm, s[3].gpa, 1), 0x5a);
	gm_destroy(&gm);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iov_cur_init_counts_all_bytes),
		cmocka_unit_test(test_iov_cur_copy_out_splits_across_segments),
		cmocka_unit_test(test_iov_cur_copy_out_exact_end_then_empty),
		cmocka_unit_test(test_iov_cur_stop_at_segment_end_continues),
		cmocka_unit_test(test_iov_cur_too_short_fails_unchanged),
		cmocka_unit_test(test_iov_cur_copy_in_splits_across_segments),
		cmocka_unit_test(test_iov_cur_take_skips_empty_segments),
		cmocka_unit_test(test_iov_cur_take_within_one_segment_returns_one),
		cmocka_unit_test(test_iov_cur_take_too_many_iovecs_fails_unchanged),
		cmocka_unit_test(test_iov_cur_all_empty_segments_hold_nothing),
		cmocka_unit_test(test_iov_cur_header_split_across_descriptors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
