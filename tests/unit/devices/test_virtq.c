// SPDX-License-Identifier: MIT
/*
 * test_virtq.c: split-virtqueue geometry checks, every chain rejection, happy
 * paths, used ring and notification suppression, on real memfd guest RAM with
 * rings at the top of RAM (tests/helpers/th_vq_driver.h). Over 600 lines
 * because STYLE.md §9 asks for one test per rejection branch, in one binary.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "devices/virtio/virtq.h"
#include "tests/helpers/th.h"
#include "tests/helpers/th_vq_driver.h"

#define RAM MiB(2)
#define QSZ 8

struct fx {
	struct guest_mem gm;
	struct th_vq d;
	struct virtq vq;
	struct vq_chain c;
};

static int fx_setup_size(void **state, uint64_t ram, uint16_t size)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	th_gm_create(&f->gm, ram);
	th_vq_init(&f->d, &f->gm, size);
	*state = f;
	return 0;
}

static int fx_setup(void **state)
{
	return fx_setup_size(state, RAM, QSZ);
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	gm_destroy(&f->gm);
	free(f);
	return 0;
}

static struct th_seg seg(struct fx *f, uint32_t len, bool write)
{
	return (struct th_seg){ .gpa = th_vq_alloc(&f->d, len), .len = len, .write = write };
}

static void *hva(struct fx *f, gpa_t gpa, uint64_t len)
{
	void *p = gm_ptr(&f->gm, gpa, len);

	assert_non_null(p);
	return p;
}

/* Pop once, expecting -EBADMSG, and check the queue stays broken. */
static void expect_broken(struct fx *f)
{
	assert_int_equal(virtq_pop(&f->vq, &f->c), -EBADMSG);
	assert_true(f->vq.vq_broken);
	assert_int_equal(virtq_pop(&f->vq, &f->c), -EBADMSG);
	assert_false(virtq_enable_notify(&f->vq));
}

/* One direct descriptor (flags, next) published as a chain head. */
static void publish_raw(struct fx *f, uint16_t idx, uint64_t addr, uint32_t len, uint16_t flags,
			uint16_t next)
{
	th_vq_write_desc(&f->d, f->d.desc, idx, addr, len, flags, next);
	th_vq_publish(&f->d, idx);
}

static int vq_init(struct fx *f, uint16_t size, uint16_t max, gpa_t desc, gpa_t avail, gpa_t used)
{
	return virtq_init(&f->vq, &f->gm, size, max, desc, avail, used, true, true);
}

/* ---- virtq_init ---- */

static void test_virtq_init_rings_at_top_of_ram_succeed(void **state)
{
	struct fx *f = *state;

	/* avail (with used_event) ends exactly at the end of RAM */
	assert_int_equal(f->d.avail + 6 + 2 * QSZ, RAM);
	assert_int_equal(vq_init(f, QSZ, QSZ, f->d.desc, f->d.avail, f->d.used), 0);
	assert_false(f->vq.vq_broken);
	assert_int_equal(f->vq.vq_size, QSZ);
	assert_int_equal(f->vq.vq_last_avail, 0);
	assert_int_equal(f->vq.vq_used_idx, 0);
	assert_ptr_equal(f->vq.vq_avail_hva, hva(f, f->d.avail, 6 + 2 * QSZ));
}

static void test_virtq_init_bad_size_fails(void **state)
{
	struct fx *f = *state;
	struct th_vq big;

	assert_int_equal(vq_init(f, 0, QSZ, f->d.desc, f->d.avail, f->d.used), -EINVAL);
	assert_int_equal(vq_init(f, 6, QSZ, f->d.desc, f->d.avail, f->d.used), -EINVAL);
	assert_int_equal(vq_init(f, 3, QSZ, f->d.desc, f->d.avail, f->d.used), -EINVAL);
	/* above the device's maximum, and above VQ_MAX_SIZE */
	assert_int_equal(vq_init(f, 2 * QSZ, QSZ, f->d.desc, f->d.avail, f->d.used), -EINVAL);
	th_vq_init_at(&big, &f->gm, 2 * VQ_MAX_SIZE, RAM);
	assert_int_equal(vq_init(f, 2 * VQ_MAX_SIZE, 2 * VQ_MAX_SIZE, big.desc, big.avail,
				 big.used), -EINVAL);
	/* size 1 is a power of two */
	assert_int_equal(vq_init(f, 1, QSZ, f->d.desc, f->d.avail, f->d.used), 0);
}

static void test_virtq_init_misaligned_ring_fails(void **state)
{
	struct fx *f = *state;
	gpa_t base = MiB(1);

	assert_int_equal(vq_init(f, QSZ, QSZ, base + 8, base + 0x1000, base + 0x2000), -EINVAL);
	assert_int_equal(vq_init(f, QSZ, QSZ, base, base + 0x1001, base + 0x2000), -EINVAL);
	assert_int_equal(vq_init(f, QSZ, QSZ, base, base + 0x1000, base + 0x2002), -EINVAL);
	/* the minimum alignments 16/2/4 are enough */
	assert_int_equal(vq_init(f, QSZ, QSZ, base + 16, base + 0x1002, base + 0x2004), 0);
}

static void test_virtq_init_area_outside_ram_fails(void **state)
{
	struct fx *f = *state;
	gpa_t lo = MiB(1);

	/* desc table 16 bytes past the end */
	assert_int_equal(vq_init(f, QSZ, QSZ, RAM - 16 * QSZ + 16, lo, lo + 0x1000), -EINVAL);
	assert_int_equal(vq_init(f, QSZ, QSZ, RAM - 16 * QSZ, lo, lo + 0x1000), 0);
	/* avail: only the used_event trailer lies past the end */
	assert_int_equal(vq_init(f, QSZ, QSZ, lo, RAM - (4 + 2 * QSZ), lo + 0x1000), -EINVAL);
	assert_int_equal(vq_init(f, QSZ, QSZ, lo, RAM - (6 + 2 * QSZ), lo + 0x1000), 0);
	/* used: only the avail_event trailer lies past the end (4-aligned start) */
	assert_int_equal(vq_init(f, QSZ, QSZ, lo, lo + 0x1000, RAM - (4 + 8 * QSZ)), -EINVAL);
	assert_int_equal(vq_init(f, QSZ, QSZ, lo, lo + 0x1000, RAM - (8 + 8 * QSZ)), 0);
	/* gpa + len wraps around 2^64 */
	assert_int_equal(vq_init(f, QSZ, QSZ, 0xfffffffffffffff0ull, lo, lo + 0x1000), -EINVAL);
	assert_int_equal(vq_init(f, QSZ, QSZ, lo, lo + 0x1000, 0xfffffffffffffffcull), -EINVAL);
}

static void test_virtq_init_failure_leaves_queue_broken(void **state)
{
	struct fx *f = *state;

	assert_int_equal(vq_init(f, 0, QSZ, f->d.desc, f->d.avail, f->d.used), -EINVAL);
	assert_true(f->vq.vq_broken);
	assert_int_equal(virtq_pop(&f->vq, &f->c), -EBADMSG);
	assert_false(virtq_enable_notify(&f->vq));
}

/* ---- virtq_pop: happy paths ---- */

static void test_virtq_pop_empty_ring_returns_zero(void **state)
{
	struct fx *f = *state;

	th_vq_bind(&f->d, &f->vq, true, true);
	assert_int_equal(virtq_pop(&f->vq, &f->c), 0);
	assert_false(f->vq.vq_broken);
}

static void test_virtq_pop_single_buffer_succeeds(void **state)
{
	struct fx *f = *state;
	struct th_seg s = seg(f, 512, false);

	th_vq_bind(&f->d, &f->vq, true, true);
	th_vq_publish(&f->d, th_vq_add_chain(&f->d, &s, 1));
	assert_int_equal(virtq_pop(&f->vq, &f->c), 1);
	assert_int_equal(f->c.head, 0);
	assert_int_equal(f->c.nr_ro, 1);
	assert_int_equal(f->c.nr_wo, 0);
	assert_int_equal(f->c.ro_len, 512);
	assert_int_equal(f->c.wo_len, 0);
	assert_ptr_equal(f->c.seg[0].iov_base, hva(f, s.gpa, 512));
	assert_int_equal(f->c.seg[0].iov_len, 512);
	assert_int_equal(f->vq.vq_last_avail, 1);
	assert_int_equal(virtq_pop(&f->vq, &f->c), 0);
}

static void test_virtq_pop_multi_segment_succeeds(void **state)
{
	struct fx *f = *state;
	struct th_seg s[4] = { seg(f, 16, false), seg(f, 100, false), seg(f, 4096, true),
			       seg(f, 1, true) };

	th_vq_bind(&f->d, &f->vq, true, true);
	th_vq_add_chain(&f->d, s, 1); /* move the head off 0 */
	th_vq_publish(&f->d, th_vq_add_chain(&f->d, s, 4));
	assert_int_equal(virtq_pop(&f->vq, &f->c), 1);
	assert_int_equal(f->c.head, 1);
	assert_int_equal(f->c.nr_ro, 2);
	assert_int_equal(f->c.nr_wo, 2);
	assert_int_equal(f->c.ro_len, 116);
	assert_int_equal(f->c.wo_len, 4097);
	for (unsigned i = 0; i < 4; i++) {
		assert_ptr_equal(f->c.seg[i].iov_base, hva(f, s[i].gpa, s[i].len));
		assert_int_equal(f->c.seg[i].iov_len, s[i].len);
	}
}

static void test_virtq_pop_chain_of_queue_size_succeeds(void **state)
{
	struct fx *f = *state;
	struct th_seg s[QSZ];

	for (unsigned i = 0; i < QSZ; i++)
		s[i] = seg(f, 8, i >= QSZ / 2);
	th_vq_bind(&f->d, &f->vq, false, false);
	th_vq_publish(&f->d, th_vq_add_chain(&f->d, s, QSZ));
	assert_int_equal(virtq_pop(&f->vq, &f->c), 1);
	assert_int_equal(f->c.nr_ro + f->c.nr_wo, QSZ);
}

static void test_virtq_pop_zero_length_descriptor_kept(void **state)
{
	struct fx *f = *state;
	struct th_seg s[3] = { seg(f, 16, false), seg(f, 0, false), seg(f, 1, true) };

	th_vq_bind(&f->d, &f->vq, true, true);
	th_vq_publish(&f->d, th_vq_add_chain(&f->d, s, 3));
	assert_int_equal(virtq_pop(&f->vq, &f->c), 1);
	assert_int_equal(f->c.nr_ro, 2);
	assert_int_equal(f->c.seg[1].iov_len, 0);
	assert_int_equal(f->c.ro_len, 16);
	assert_int_equal(f->c.wo_len, 1);
}

static void test_virtq_pop_indirect_only_succeeds(void **state)
{
	struct fx *f = *state;
	struct th_seg s[3] = { seg(f, 16, false), seg(f, 4096, true), seg(f, 1, true) };

	th_vq_bind(&f->d, &f->vq, true, true);
	th_vq_publish(&f->d, th_vq_add_indirect(&f->d, NULL, 0, s, 3));
	assert_int_equal(virtq_pop(&f->vq, &f->c), 1);
	assert_int_equal(f->c.head, 0);
	assert_int_equal(f->c.nr_ro, 1);
	assert_int_equal(f->c.nr_wo, 2);
	assert_int_equal(f->c.wo_len, 4097);
	for (unsigned i = 0; i < 3; i++)
		assert_ptr_equal(f->c.seg[i].iov_base, hva(f, s[i].gpa, s[i].len));
}

static void test_virtq_pop_direct_then_indirect_succeeds(void **state)
{
	struct fx *f = *state;
	struct th_seg dir[2] = { seg(f, 16, false), seg(f, 32, false) };
	struct th_seg ind[3] = { seg(f, 64, false), seg(f, 512, true), seg(f, 1, true) };

	th_vq_bind(&f->d, &f->vq, true, true);
	th_vq_publish(&f->d, th_vq_add_indirect(&f->d, dir, 2, ind, 3));
	assert_int_equal(virtq_pop(&f->vq, &f->c), 1);
	assert_int_equal(f->c.nr_ro, 3);
	assert_int_equal(f->c.nr_wo, 2);
	assert_int_equal(f->c.ro_len, 112);
	assert_int_equal(f->c.wo_len, 513);
	assert_ptr_equal(f->c.seg[0].iov_base, hva(f, dir[0].gpa, 16));
	assert_ptr_equal(f->c.seg[2].iov_base, hva(f, ind[0].gpa, 64));
	assert_ptr_equal(f->c.seg[4].iov_base, hva(f, ind[2].gpa, 1));
}

/* virtio 1.2 §2.7.5.3.2: the device ignores WRITE on the descriptor naming a table. */
static void test_virtq_pop_indirect_write_flag_ignored_succeeds(void **state)
{
	struct fx *f = *state;
	struct th_seg s = seg(f, 16, false);
	gpa_t table = th_vq_alloc(&f->d, 16);

	th_vq_bind(&f->d, &f->vq, true, true);
	th_vq_write_desc(&f->d, table, 0, s.gpa, 16, 0, 0);
	publish_raw(f, 0, table, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c), 1);
	assert_int_equal(f->c.nr_ro, 1);
}

static void test_virtq_pop_full_ring_succeeds(void **state)
{
	struct fx *f = *state;
	struct th_seg s = seg(f, 64, true);

	th_vq_bind(&f->d, &f->vq, true, true);
	for (unsigned i = 0; i < QSZ; i++)
		th_vq_publish(&f->d, th_vq_add_chain(&f->d, &s, 1));
	for (unsigned i = 0; i < QSZ; i++) {
		assert_int_equal(virtq_pop(&f->vq, &f->c), 1);
		assert_int_equal(f->c.head, i);
	}
	assert_int_equal(virtq_pop(&f->vq, &f->c), 0);
}

/* Both free-running 16-bit indices wrap; pop and push keep working across. */
static void test_virtq_pop_push_index_wrap_succeeds(void **state)
{
	struct fx *f = *state;
	struct th_seg s = seg(f, 32, true);
	uint32_t id, len;

	th_vq_bind(&f->d, &f->vq, true, false);
	for (unsigned i = 0; i < 65536 + 3 * QSZ; i++) {
		uint16_t head = th_vq_add_chain(&f->d, &s, 1);

		th_vq_publish(&f->d, head);
		assert_int_equal(virtq_pop(&f->vq, &f->c), 1);
		assert_int_equal(f->c.head, head);
		virtq_push(&f->vq, f->c.head, i & 31);
		assert_true(th_vq_get_used(&f->d, &id, &len));
		assert_int_equal(id, head);
		assert_int_equal(len, i & 31);
		assert_false(th_vq_get_used(&f->d, &id, &len));
	}
	assert_int_equal(f->vq.vq_last_avail, (uint16_t)(65536 + 3 * QSZ));
	assert_int_equal(th_vq_used_idx(&f->d), (uint16_t)(65536 + 3 * QSZ));
	assert_false(f->vq.vq_broken);
}

/* Top of RAM: a buffer ending exactly at the end is valid, one byte more is not. */
static void test_virtq_pop_buffer_ending_at_ram_end_succeeds(void **state)
{
	struct fx *f = *state;
	struct th_seg s = { .gpa = RAM - 4096, .len = 4096, .write = true };
	uint8_t *p;

	th_vq_init_at(&f->d, &f->gm, QSZ, RAM - MiB(1));
	th_vq_bind(&f->d, &f->vq, true, true);
	th_vq_publish(&f->d, th_vq_add_chain(&f->d, &s, 1));
	assert_int_equal(virtq_pop(&f->vq, &f->c), 1);
	p = f->c.seg[0].iov_base;
	p[4095] = 0xa5; /* the last byte of RAM; one further is the guard page */
	assert_int_equal(*(uint8_t *)hva(f, RAM - 1, 1), 0xa5);
}

static void test_virtq_pop_buffer_one_byte_past_ram_fails(void **state)
{
	struct fx *f = *state;
	struct th_seg s = { .gpa = RAM - 4095, .len = 4096, .write = true };

	th_vq_init_at(&f->d, &f->gm, QSZ, RAM - MiB(1));
	th_vq_bind(&f->d, &f->vq, true, true);
	th_vq_publish(&f->d, th_vq_add_chain(&f->d, &s, 1));
	expect_broken(f);
}

/* The same two cases through an indirect table at the very top of RAM. */
static void test_virtq_pop_indirect_table_ending_at_ram_end_succeeds(void **state)
{
	struct fx *f = *state;
	struct th_seg s = seg(f, 8, false);

	th_vq_init_at(&f->d, &f->gm, QSZ, RAM - MiB(1));
	th_vq_bind(&f->d, &f->vq, true, true);
	th_vq_write_desc(&f->d, RAM - 32, 0, s.gpa, 8, VRING_DESC_F_NEXT, 1);
	th_vq_write_desc(&f->d, RAM - 32, 1, s.gpa, 8, 0, 0);
	publish_raw(f, 0, RAM - 32, 32, VRING_DESC_F_INDIRECT, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c), 1);
	assert_int_equal(f->c.nr_ro, 2);
}

static void test_virtq_pop_indirect_table_outside_ram_fails(void **state)
{
	struct fx *f = *state;

	th_vq_init_at(&f->d, &f->gm, QSZ, RAM - MiB(1));
	th_vq_bind(&f->d, &f->vq, true, true);
	publish_raw(f, 0, RAM - 16, 32, VRING_DESC_F_INDIRECT, 0);
	expect_broken(f);
}

static void test_virtq_pop_indirect_table_addr_wrap_fails(void **state)
{
	struct fx *f = *state;

	th_vq_bind(&f->d, &f->vq, true, true);
	publish_raw(f, 0, 0xfffffffffffffff0ull, 32, VRING_DESC_F_INDIRECT, 0);
	expect_broken(f);
}

static void test_virtq_pop_gpa_len_wrap_fails(void **state)
{
	struct fx *f = *state;

	th_vq_bind(&f->d, &f->vq, true, true);
	publish_raw(f, 0, 0xfffffffffffff000ull, 0x2000, 0, 0);
	expect_broken(f);
}

static void test_virtq_pop_buffer_beyond_ram_fails(void **state)
{
	struct fx *f = *state;

	th_vq_bind(&f->d, &f->vq, true, true);
	publish_raw(f, 0, GiB(1), 16, VRING_DESC_F_WRITE, 0);
	expect_broken(f);
}

/* ---- virtq_pop: ring-level rejections ---- */

static void test_virtq_pop_avail_idx_jump_fails(void **state)
{
	struct fx *f = *state;
	struct th_seg s = seg(f, 16, false);

	th_vq_bind(&f->d, &f->vq, true, true);
	for (unsigned i = 0; i < QSZ; i++)
		th_vq_add_chain(&f->d, &s, 1);
	th_vq_set_avail_idx(&f->d, QSZ + 1);
	expect_broken(f);
}

static void test_virtq_pop_avail_idx_backwards_fails(void **state)
{
	struct fx *f = *state;
	struct th_seg s = seg(f, 16, false);

	th_vq_bind(&f->d, &f->vq, true, true);
	th_vq_publish(&f->d, th_vq_add_chain(&f->d, &s, 1));
	assert_int_equal(virtq_pop(&f->vq, &f->c), 1);
	th_vq_set_avail_idx(&f->d, 0); /* 0 - 1 == 65535 pending */
	expect_broken(f);
}

static void test_virtq_pop_head_out_of_range_fails(void **state)
{
	struct fx *f = *state;

	th_vq_bind(&f->d, &f->vq, true, true);
	th_vq_publish(&f->d, QSZ);
	expect_broken(f);
}

/* ---- virtq_pop: chain-level rejections ---- */

static void test_virtq_pop_cyclic_chain_fails_device(void **state)
{
	struct fx *f = *state;
	gpa_t b = th_vq_alloc(&f->d, 16);

	th_vq_bind(&f->d, &f->vq, true, true);
	th_vq_write_desc(&f->d, f->d.desc, 1, b, 16, VRING_DESC_F_NEXT, 2);
	th_vq_write_desc(&f->d, f->d.desc, 2, b, 16, VRING_DESC_F_NEXT, 1);
	th_vq_publish(&f->d, 1);
	expect_broken(f);
}

static void test_virtq_pop_self_loop_fails_device(void **state)
{
	struct fx *f = *state;
	gpa_t b = th_vq_alloc(&f->d, 16);

	th_vq_bind(&f->d, &f->vq, true, true);
	publish_raw(f, 3, b, 16, VRING_DESC_F_NEXT, 3);
	expect_broken(f);
}

/* All QSZ descriptors linked in a ring: the walk needs QSZ + 1 visits. */
static void test_virtq_pop_chain_longer_than_queue_fails(void **state)
{
	struct fx *f = *state;
	gpa_t b = th_vq_alloc(&f->d, 16);

	th_vq_bind(&f->d, &f->vq, true, true);
	for (uint16_t i = 0; i < QSZ; i++)
		th_vq_write_desc(&f->d, f->d.desc, i, b, 16, VRING_DESC_F_NEXT, (i + 1) % QSZ);
	th_vq_publish(&f->d, 0);
	expect_broken(f);
}

static void test_virtq_pop_next_out_of_range_fails(void **state)
{
	struct fx *f = *state;
	gpa_t b = th_vq_alloc(&f->d, 16);

	th_vq_bind(&f->d, &f->vq, true, true);
	publish_raw(f, 0, b, 16, VRING_DESC_F_NEXT, QSZ);
	expect_broken(f);
}

static void test_virtq_pop_writable_before_readable_fails(void **state)
{
	struct fx *f = *state;
	struct th_seg s[3] = { seg(f, 16, false), seg(f, 16, true), seg(f, 16, false) };

	th_vq_bind(&f->d, &f->vq, true, true);
	th_vq_publish(&f->d, th_vq_add_chain(&f->d, s, 3));
	expect_broken(f);
}

/* A writable direct descriptor followed by an indirect table starting readable. */
static void test_virtq_pop_writable_before_indirect_readable_fails(void **state)
{
	struct fx *f = *state;
	struct th_seg dir = seg(f, 16, true);
	struct th_seg ind = seg(f, 16, false);

	th_vq_bind(&f->d, &f->vq, true, true);
	th_vq_publish(&f->d, th_vq_add_indirect(&f->d, &dir, 1, &ind, 1));
	expect_broken(f);
}

static void test_virtq_pop_indirect_not_negotiated_fails(void **state)
{
	struct fx *f = *state;
	struct th_seg s = seg(f, 16, false);

	th_vq_bind(&f->d, &f->vq, true, false);
	th_vq_publish(&f->d, th_vq_add_indirect(&f->d, NULL, 0, &s, 1));
	expect_broken(f);
}

static void test_virtq_pop_indirect_with_next_fails(void **state)
{
	struct fx *f = *state;
	struct th_seg s = seg(f, 16, false);
	gpa_t table = th_vq_alloc(&f->d, 16);

	th_vq_bind(&f->d, &f->vq, true, true);
	th_vq_write_desc(&f->d, table, 0, s.gpa, 16, 0, 0);
	th_vq_write_desc(&f->d, f->d.desc, 1, s.gpa, 16, 0, 0);
	publish_raw(f, 0, table, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	expect_broken(f);
}

static void test_virtq_pop_indirect_len_not_multiple_of_16_fails(void **state)
{
	struct fx *f = *state;
	struct th_seg s = seg(f, 16, false);
	gpa_t table = th_vq_alloc(&f->d, 32);

	th_vq_bind(&f->d, &f->vq, true, true);
	th_vq_write_desc(&f->d, table, 0, s.gpa, 16, 0, 0);
	publish_raw(f, 0, table, 24, VRING_DESC_F_INDIRECT, 0);
	expect_broken(f);
}

static void test_virtq_pop_indirect_len_zero_fails(void **state)
{
	struct fx *f = *state;
	gpa_t table = th_vq_alloc(&f->d, 16);

	th_vq_bind(&f->d, &f->vq, true, true);
	publish_raw(f, 0, table, 0, VRING_DESC_F_INDIRECT, 0);
	expect_broken(f);
}

static void test_virtq_pop_indirect_larger_than_queue_fails(void **state)
{
	struct fx *f = *state;
	struct th_seg s = seg(f, 16, false);
	gpa_t table = th_vq_alloc(&f->d, 16 * (QSZ + 1));

	th_vq_bind(&f->d, &f->vq, true, true);
	for (uint16_t i = 0; i <= QSZ; i++)
		th_vq_write_desc(&f->d, table, i, s.gpa, 16, 0, 0);
	publish_raw(f, 0, table, 16 * (QSZ + 1), VRING_DESC_F_INDIRECT, 0);
	expect_broken(f);
}

static void test_virtq_pop_indirect_of_queue_size_succeeds(void **state)
{
	struct fx *f = *state;
	struct th_seg s[QSZ];

	for (unsigned i = 0; i < QSZ; i++)
		s[i] = seg(f, 8, false);
	th_vq_bind(&f->d, &f->vq, true, true);
	th_vq_publish(&f->d, th_vq_add_indirect(&f->d, NULL, 0, s, QSZ));
	assert_int_equal(virtq_pop(&f->vq, &f->c), 1);
	assert_int_equal(f->c.nr_ro, QSZ);
}

static void test_virtq_pop_nested_indirect_fails(void **state)
{
	struct fx *f = *state;
	struct th_seg s = seg(f, 16, false);
	gpa_t inner = th_vq_alloc(&f->d, 16);
	gpa_t outer = th_vq_alloc(&f->d, 32);

	th_vq_bind(&f->d, &f->vq, true, true);
	th_vq_write_desc(&f->d, inner, 0, s.gpa, 16, 0, 0);
	th_vq_write_desc(&f->d, outer, 0, s.gpa, 16, VRING_DESC_F_NEXT, 1);
	th_vq_write_desc(&f->d, outer, 1, inner, 16, VRING_DESC_F_INDIRECT, 0);
	publish_raw(f, 0, outer, 32, VRING_DESC_F_INDIRECT, 0);
	expect_broken(f);
}

static void test_virtq_pop_indirect_cyclic_chain_fails(void **state)
{
	struct fx *f = *state;
	struct th_seg s = seg(f, 16, false);
	gpa_t table = th_vq_alloc(&f->d, 32);

	th_vq_bind(&f->d, &f->vq, true, true);
	th_vq_write_desc(&f->d, table, 0, s.gpa, 16, VRING_DESC_F_NEXT, 1);
	th_vq_write_desc(&f->d, table, 1, s.gpa, 16, VRING_DESC_F_NEXT, 0);
	publish_raw(f, 0, table, 32, VRING_DESC_F_INDIRECT, 0);
	expect_broken(f);
}

static void test_virtq_pop_indirect_next_out_of_range_fails(void **state)
{
	struct fx *f = *state;
	struct th_seg s = seg(f, 16, false);
	gpa_t table = th_vq_alloc(&f->d, 32);

	th_vq_bind(&f->d, &f->vq, true, true);
	/* next 2 is inside the queue size but outside this 2-entry table */
	th_vq_write_desc(&f->d, table, 0, s.gpa, 16, VRING_DESC_F_NEXT, 2);
	th_vq_write_desc(&f->d, table, 1, s.gpa, 16, 0, 0);
	publish_raw(f, 0, table, 32, VRING_DESC_F_INDIRECT, 0);
	expect_broken(f);
}

static void test_virtq_pop_indirect_buffer_outside_ram_fails(void **state)
{
	struct fx *f = *state;
	gpa_t table = th_vq_alloc(&f->d, 16);

	th_vq_bind(&f->d, &f->vq, true, true);
	th_vq_write_desc(&f->d, table, 0, RAM - 8, 16, VRING_DESC_F_WRITE, 0);
	publish_raw(f, 0, table, 16, VRING_DESC_F_INDIRECT, 0);
	expect_broken(f);
}

/* 4 x 1 GiB over sparse 1 GiB RAM: every buffer is valid, the total is 2^32. */
static void test_virtq_pop_length_overflow_fails(void **state)
{
	struct fx *f = *state;
	struct th_seg s[4];

	for (unsigned i = 0; i < 4; i++)
		s[i] = (struct th_seg){ .gpa = 0, .len = (uint32_t)GiB(1), .write = true };
	th_vq_bind(&f->d, &f->vq, true, true);
	th_vq_publish(&f->d, th_vq_add_chain(&f->d, s, 4));
	expect_broken(f);
}

static void test_virtq_pop_length_just_below_2_32_succeeds(void **state)
{
	struct fx *f = *state;
	struct th_seg s[4];

	for (unsigned i = 0; i < 4; i++)
		s[i] = (struct th_seg){ .gpa = 0, .len = (uint32_t)GiB(1), .write = i > 0 };
	s[3].len--;
	th_vq_bind(&f->d, &f->vq, true, true);
	th_vq_publish(&f->d, th_vq_add_chain(&f->d, s, 4));
	assert_int_equal(virtq_pop(&f->vq, &f->c), 1);
	assert_int_equal(f->c.ro_len, GiB(1));
	assert_int_equal(f->c.wo_len, 0xffffffffu - GiB(1));
}

/* The overflow reached through an indirect table. */
static void test_virtq_pop_indirect_length_overflow_fails(void **state)
{
	struct fx *f = *state;
	struct th_seg dir[2], ind[2];

	for (unsigned i = 0; i < 2; i++) {
		dir[i] = (struct th_seg){ .gpa = 0, .len = (uint32_t)GiB(1) };
		ind[i] = (struct th_seg){ .gpa = 0, .len = (uint32_t)GiB(1) };
	}
	th_vq_bind(&f->d, &f->vq, true, true);
	th_vq_publish(&f->d, th_vq_add_indirect(&f->d, dir, 2, ind, 2));
	expect_broken(f);
}

/* Queue of VQ_MAX_SIZE: 1 direct + a full indirect table is one segment too many. */
static void test_virtq_pop_too_many_segments_fails(void **state)
{
	struct fx *f = *state;
	struct th_seg dir = seg(f, 1, false);
	struct th_seg *ind = calloc(VQ_MAX_SIZE, sizeof(*ind));

	assert_non_null(ind);
	for (unsigned i = 0; i < VQ_MAX_SIZE; i++)
		ind[i] = (struct th_seg){ .gpa = dir.gpa, .len = 1 };
	th_vq_bind(&f->d, &f->vq, true, true);
	th_vq_publish(&f->d, th_vq_add_indirect(&f->d, &dir, 1, ind, VQ_MAX_SIZE));
	expect_broken(f);
	free(ind);
}

static void test_virtq_pop_max_segments_succeeds(void **state)
{
	struct fx *f = *state;
	struct th_seg *ind = calloc(VQ_MAX_SIZE, sizeof(*ind));
	gpa_t b = th_vq_alloc(&f->d, 1);

	assert_non_null(ind);
	for (unsigned i = 0; i < VQ_MAX_SIZE; i++)
		ind[i] = (struct th_seg){ .gpa = b, .len = 1, .write = i >= 10 };
	th_vq_bind(&f->d, &f->vq, true, true);
	th_vq_publish(&f->d, th_vq_add_indirect(&f->d, NULL, 0, ind, VQ_MAX_SIZE));
	assert_int_equal(virtq_pop(&f->vq, &f->c), 1);
	assert_int_equal(f->c.nr_ro, 10);
	assert_int_equal(f->c.nr_wo, VQ_MAX_SIZE - 10);
	free(ind);
}

static void test_virtq_pop_after_broken_stays_broken(void **state)
{
	struct fx *f = *state;
	struct th_seg s = seg(f, 16, false);

	th_vq_bind(&f->d, &f->vq, true, true);
	th_vq_publish(&f->d, QSZ + 3);
	assert_int_equal(virtq_pop(&f->vq, &f->c), -EBADMSG);
	/* the driver repairs the entry: the device must still be reset */
	th_vq_set_avail_entry(&f->d, 0, th_vq_add_chain(&f->d, &s, 1));
	assert_int_equal(virtq_pop(&f->vq, &f->c), -EBADMSG);
	/* virtq_init() (a queue reset) recovers */
	th_vq_set_avail_idx(&f->d, 0);
	th_vq_bind(&f->d, &f->vq, true, true);
	assert_int_equal(virtq_pop(&f->vq, &f->c), 0);
}

/* ---- virtq_push ---- */

static void test_virtq_push_out_of_order_fills_used_ring(void **state)
{
	struct fx *f = *state;
	struct th_seg s = seg(f, 16, true);
	uint16_t heads[3];
	uint32_t id, len;

	th_vq_bind(&f->d, &f->vq, true, true);
	for (unsigned i = 0; i < 3; i++) {
		heads[i] = th_vq_add_chain(&f->d, &s, 1);
		th_vq_publish(&f->d, heads[i]);
		assert_int_equal(virtq_pop(&f->vq, &f->c), 1);
	}
	virtq_push(&f->vq, heads[2], 7);
	virtq_push(&f->vq, heads[0], 0);
	virtq_push(&f->vq, heads[1], 16);
	assert_int_equal(th_vq_used_idx(&f->d), 3);
	assert_true(th_vq_get_used(&f->d, &id, &len));
	assert_int_equal(id, heads[2]);
	assert_int_equal(len, 7);
	assert_true(th_vq_get_used(&f->d, &id, &len));
	assert_int_equal(id, heads[0]);
	assert_int_equal(len, 0);
	assert_true(th_vq_get_used(&f->d, &id, &len));
	assert_int_equal(id, heads[1]);
	assert_int_equal(len, 16);
	assert_false(th_vq_get_used(&f->d, &id, &len));
	/* the avail_event trailer after used.ring[] is untouched by pushes */
	assert_int_equal(th_vq_avail_event(&f->d), 0);
}

/* ---- notification suppression ---- */

static void push_one(struct fx *f)
{
	struct th_seg s = seg(f, 4, true);

	th_vq_publish(&f->d, th_vq_add_chain(&f->d, &s, 1));
	assert_int_equal(virtq_pop(&f->vq, &f->c), 1);
	virtq_push(&f->vq, f->c.head, 4);
}

static void test_virtq_need_notify_without_event_idx_follows_flag(void **state)
{
	struct fx *f = *state;

	th_vq_bind(&f->d, &f->vq, false, false);
	assert_false(virtq_need_notify(&f->vq)); /* nothing pushed */
	push_one(f);
	assert_true(virtq_need_notify(&f->vq));
	assert_false(virtq_need_notify(&f->vq)); /* already signalled */
	th_vq_set_avail_flags(&f->d, VRING_AVAIL_F_NO_INTERRUPT);
	push_one(f);
	assert_false(virtq_need_notify(&f->vq));
	th_vq_set_avail_flags(&f->d, 0);
	push_one(f);
	assert_true(virtq_need_notify(&f->vq));
}

static void test_virtq_need_notify_event_idx_fires_on_crossing(void **state)
{
	struct fx *f = *state;

	th_vq_bind(&f->d, &f->vq, true, false);
	/* NO_INTERRUPT is ignored with EVENT_IDX */
	th_vq_set_avail_flags(&f->d, VRING_AVAIL_F_NO_INTERRUPT);
	assert_false(virtq_need_notify(&f->vq));
	th_vq_set_used_event(&f->d, 0);
	push_one(f); /* used 0 -> 1 crosses 0 */
	assert_true(virtq_need_notify(&f->vq));
	push_one(f); /* 1 -> 2 does not cross 0 */
	assert_false(virtq_need_notify(&f->vq));
	th_vq_set_used_event(&f->d, 3);
	push_one(f); /* 2 -> 3 */
	assert_false(virtq_need_notify(&f->vq));
	push_one(f);
	push_one(f); /* 3 -> 5 crosses 3 */
	assert_true(virtq_need_notify(&f->vq));
	th_vq_set_used_event(&f->d, 100);
	push_one(f);
	assert_false(virtq_need_notify(&f->vq));
}

/* used.idx wraps 65534 -> 1 with used_event on either side of the wrap. */
static void test_virtq_need_notify_event_idx_wraps(void **state)
{
	struct fx *f = *state;
	static const struct {
		uint16_t event;
		bool want;
	} cases[] = { { 65534, true }, { 65535, true }, { 0, true },
		      { 1, false }, { 65533, false }, { 0x8000, false } };

	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		th_vq_init(&f->d, &f->gm, QSZ);
		th_vq_bind(&f->d, &f->vq, true, false);
		/* a queue that has already completed 65534 chains */
		f->vq.vq_last_avail = f->vq.vq_used_idx = f->vq.vq_signalled_used = 65534;
		th_vq_set_avail_idx(&f->d, 65534);
		f->d.last_used = 65534;
		th_vq_set_used_event(&f->d, cases[i].event);
		for (unsigned k = 0; k < 3; k++)
			push_one(f);
		assert_int_equal(th_vq_used_idx(&f->d), 1);
		assert_int_equal(virtq_need_notify(&f->vq), cases[i].want);
	}
}

static void test_virtq_need_notify_invalid_signalled_fires(void **state)
{
	struct fx *f = *state;

	th_vq_bind(&f->d, &f->vq, true, false);
	th_vq_set_used_event(&f->d, 100);
	push_one(f);
	f->vq.vq_signalled_valid = false;
	assert_true(virtq_need_notify(&f->vq));
	assert_false(virtq_need_notify(&f->vq));
}

static void test_virtq_enable_notify_event_idx_sets_avail_event(void **state)
{
	struct fx *f = *state;
	struct th_seg s = seg(f, 4, false);

	th_vq_bind(&f->d, &f->vq, true, false);
	assert_false(virtq_enable_notify(&f->vq));
	assert_int_equal(th_vq_avail_event(&f->d), 0);
	th_vq_publish(&f->d, th_vq_add_chain(&f->d, &s, 1));
	th_vq_publish(&f->d, th_vq_add_chain(&f->d, &s, 1));
	/* buffers arrived: the caller must pop again, not sleep */
	assert_true(virtq_enable_notify(&f->vq));
	assert_int_equal(virtq_pop(&f->vq, &f->c), 1);
	assert_int_equal(virtq_pop(&f->vq, &f->c), 1);
	assert_int_equal(virtq_pop(&f->vq, &f->c), 0);
	assert_false(virtq_enable_notify(&f->vq));
	assert_int_equal(th_vq_avail_event(&f->d), 2);
	/* disable is a no-op with EVENT_IDX; used.flags stays 0 */
	virtq_disable_notify(&f->vq);
	assert_int_equal(th_vq_used_flags(&f->d), 0);
}

static void test_virtq_enable_notify_without_event_idx_clears_no_notify(void **state)
{
	struct fx *f = *state;
	struct th_seg s = seg(f, 4, false);

	th_vq_bind(&f->d, &f->vq, false, false);
	virtq_disable_notify(&f->vq);
	assert_int_equal(th_vq_used_flags(&f->d), VRING_USED_F_NO_NOTIFY);
	th_vq_publish(&f->d, th_vq_add_chain(&f->d, &s, 1));
	assert_true(virtq_enable_notify(&f->vq));
	assert_int_equal(th_vq_used_flags(&f->d), 0);
	assert_int_equal(th_vq_avail_event(&f->d), 0); /* no trailer write */
	assert_int_equal(virtq_pop(&f->vq, &f->c), 1);
	assert_false(virtq_enable_notify(&f->vq));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

static int fx_setup_1g(void **state)
{
	return fx_setup_size(state, GiB(1), QSZ);
}

static int fx_setup_max(void **state)
{
	return fx_setup_size(state, RAM, VQ_MAX_SIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_virtq_init_rings_at_top_of_ram_succeed),
		T(test_virtq_init_bad_size_fails),
		T(test_virtq_init_misaligned_ring_fails),
		T(test_virtq_init_area_outside_ram_fails),
		T(test_virtq_init_failure_leaves_queue_broken),
		T(test_virtq_pop_empty_ring_returns_zero),
		T(test_virtq_pop_single_buffer_succeeds),
		T(test_virtq_pop_multi_segment_succeeds),
		T(test_virtq_pop_chain_of_queue_size_succeeds),
		T(test_virtq_pop_zero_length_descriptor_kept),
		T(test_virtq_pop_indirect_only_succeeds),
		T(test_virtq_pop_direct_then_indirect_succeeds),
		T(test_virtq_pop_indirect_write_flag_ignored_succeeds),
		T(test_virtq_pop_full_ring_succeeds),
		T(test_virtq_pop_push_index_wrap_succeeds),
		T(test_virtq_pop_buffer_ending_at_ram_end_succeeds),
		T(test_virtq_pop_buffer_one_byte_past_ram_fails),
		T(test_virtq_pop_indirect_table_ending_at_ram_end_succeeds),
		T(test_virtq_pop_indirect_table_outside_ram_fails),
		T(test_virtq_pop_indirect_table_addr_wrap_fails),
		T(test_virtq_pop_gpa_len_wrap_fails),
		T(test_virtq_pop_buffer_beyond_ram_fails),
		T(test_virtq_pop_avail_idx_jump_fails),
		T(test_virtq_pop_avail_idx_backwards_fails),
		T(test_virtq_pop_head_out_of_range_fails),
		T(test_virtq_pop_cyclic_chain_fails_device),
		T(test_virtq_pop_self_loop_fails_device),
		T(test_virtq_pop_chain_longer_than_queue_fails),
		T(test_virtq_pop_next_out_of_range_fails),
		T(test_virtq_pop_writable_before_readable_fails),
		T(test_virtq_pop_writable_before_indirect_readable_fails),
		T(test_virtq_pop_indirect_not_negotiated_fails),
		T(test_virtq_pop_indirect_with_next_fails),
		T(test_virtq_pop_indirect_len_not_multiple_of_16_fails),
		T(test_virtq_pop_indirect_len_zero_fails),
		T(test_virtq_pop_indirect_larger_than_queue_fails),
		T(test_virtq_pop_indirect_of_queue_size_succeeds),
		T(test_virtq_pop_nested_indirect_fails),
		T(test_virtq_pop_indirect_cyclic_chain_fails),
		T(test_virtq_pop_indirect_next_out_of_range_fails),
		T(test_virtq_pop_indirect_buffer_outside_ram_fails),
		cmocka_unit_test_setup_teardown(test_virtq_pop_length_overflow_fails, fx_setup_1g,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_virtq_pop_length_just_below_2_32_succeeds,
						fx_setup_1g, fx_teardown),
		cmocka_unit_test_setup_teardown(test_virtq_pop_indirect_length_overflow_fails,
						fx_setup_1g, fx_teardown),
		cmocka_unit_test_setup_teardown(test_virtq_pop_too_many_segments_fails,
						fx_setup_max, fx_teardown),
		cmocka_unit_test_setup_teardown(test_virtq_pop_max_segments_succeeds, fx_setup_max,
						fx_teardown),
		T(test_virtq_pop_after_broken_stays_broken),
		T(test_virtq_push_out_of_order_fills_used_ring),
		T(test_virtq_need_notify_without_event_idx_follows_flag),
		T(test_virtq_need_notify_event_idx_fires_on_crossing),
		T(test_virtq_need_notify_event_idx_wraps),
		T(test_virtq_need_notify_invalid_signalled_fires),
		T(test_virtq_enable_notify_event_idx_sets_avail_event),
		T(test_virtq_enable_notify_without_event_idx_clears_no_notify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
