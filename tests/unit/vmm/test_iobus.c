// SPDX-License-Identifier: MIT
/* test_iobus.c: range registration (order, overlaps, limits) and access dispatch. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/iobus.h"

/* A device that records its last access and answers reads with a pattern. */
struct rec_dev {
	int id;
	unsigned reads, writes;
	uint64_t off;
	uint32_t len;
	uint64_t wval;
};

static void rec_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct rec_dev *d = opaque;

	d->reads++;
	d->off = off;
	d->len = len;
	for (uint32_t i = 0; i < len; i++)
		((uint8_t *)data)[i] = (uint8_t)(d->id * 16 + i);
}

static void rec_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct rec_dev *d = opaque;

	d->writes++;
	d->off = off;
	d->len = len;
	d->wval = 0;
	memcpy(&d->wval, data, len < 8 ? len : 8);
}

static const struct iobus_ops rec_ops = {
	.read = rec_read,
	.write = rec_write,
};

static const struct iobus_ops empty_ops = { 0 };

static void assert_sorted(const struct iobus *bus)
{
	for (unsigned i = 1; i < bus->nr; i++)
		assert_true(bus->r[i - 1].base + bus->r[i - 1].len <= bus->r[i].base);
}

static void test_iobus_register_out_of_order_sorted(void **state)
{
	static const uint64_t bases[] = { 0x600, 0x60, 0x3f8, 0xf4, 0x64, 0xcf9, 0x0 };
	struct iobus bus;
	struct rec_dev d = { 0 };

	(void)state;
	iobus_init(&bus, "pio");
	assert_string_equal(bus.name, "pio");
	assert_int_equal(bus.nr, 0);
	for (unsigned i = 0; i < sizeof(bases) / sizeof(bases[0]); i++)
		assert_int_equal(iobus_register(&bus, bases[i], 1, &rec_ops, &d, "x"), 0);
	assert_int_equal(bus.nr, 7);
	assert_sorted(&bus);
	assert_int_equal(bus.r[0].base, 0x0);
	assert_int_equal(bus.r[1].base, 0x60);
	assert_int_equal(bus.r[2].base, 0x64);
	assert_int_equal(bus.r[6].base, 0xcf9);
}

static void test_iobus_register_overlap_every_shape_eexist(void **state)
{
	struct iobus bus;
	struct rec_dev d = { 0 };

	(void)state;
	iobus_init(&bus, "pio");
	assert_int_equal(iobus_register(&bus, 0x100, 0x10, &rec_ops, &d, "a"), 0);
	assert_int_equal(iobus_register(&bus, 0x200, 0x10, &rec_ops, &d, "b"), 0);
	/* identical */
	assert_int_equal(iobus_register(&bus, 0x100, 0x10, &rec_ops, &d, "x"), -EEXIST);
	/* overlapping the start, the end, inside, enclosing */
	assert_int_equal(iobus_register(&bus, 0xf0, 0x11, &rec_ops, &d, "x"), -EEXIST);
	assert_int_equal(iobus_register(&bus, 0x10f, 0x10, &rec_ops, &d, "x"), -EEXIST);
	assert_int_equal(iobus_register(&bus, 0x104, 0x4, &rec_ops, &d, "x"), -EEXIST);
	assert_int_equal(iobus_register(&bus, 0x80, 0x100, &rec_ops, &d, "x"), -EEXIST);
	/* same start, shorter and longer; same end */
	assert_int_equal(iobus_register(&bus, 0x100, 1, &rec_ops, &d, "x"), -EEXIST);
	assert_int_equal(iobus_register(&bus, 0x100, 0x20, &rec_ops, &d, "x"), -EEXIST);
	assert_int_equal(iobus_register(&bus, 0x10f, 1, &rec_ops, &d, "x"), -EEXIST);
	/* spanning the gap into the second range, and enclosing both */
	assert_int_equal(iobus_register(&bus, 0x180, 0x81, &rec_ops, &d, "x"), -EEXIST);
	assert_int_equal(iobus_register(&bus, 0x0, 0x1000, &rec_ops, &d, "x"), -EEXIST);
	/* the second (later) range's end */
	assert_int_equal(iobus_register(&bus, 0x20f, 0x10, &rec_ops, &d, "x"), -EEXIST);
	assert_int_equal(bus.nr, 2);
	/* touching on either side is fine */
	assert_int_equal(iobus_register(&bus, 0xf0, 0x10, &rec_ops, &d, "c"), 0);
	assert_int_equal(iobus_register(&bus, 0x110, 0xf0, &rec_ops, &d, "d"), 0);
	assert_int_equal(iobus_register(&bus, 0x210, 1, &rec_ops, &d, "e"), 0);
	assert_int_equal(bus.nr, 5);
	assert_sorted(&bus);
}

static void test_iobus_register_bad_len_or_wrap_einval(void **state)
{
	struct iobus bus;
	struct rec_dev d = { 0 };

	(void)state;
	iobus_init(&bus, "mmio");
	assert_int_equal(iobus_register(&bus, 0x1000, 0, &rec_ops, &d, "x"), -EINVAL);
	assert_int_equal(iobus_register(&bus, UINT64_MAX, 2, &rec_ops, &d, "x"), -EINVAL);
	assert_int_equal(iobus_register(&bus, 2, UINT64_MAX, &rec_ops, &d, "x"), -EINVAL);
	assert_int_equal(iobus_register(&bus, 0x1000, 4, NULL, &d, "x"), -EINVAL);
	assert_int_equal(bus.nr, 0);
	/* ending exactly at the top of the address space is not a wrap */
	assert_int_equal(iobus_register(&bus, UINT64_MAX, 1, &rec_ops, &d, "top"), 0);
	assert_int_equal(iobus_register(&bus, 0, UINT64_MAX, &rec_ops, &d, "all"), 0);
	assert_int_equal(bus.nr, 2);
	assert_int_equal(iobus_register(&bus, UINT64_MAX - 1, 2, &rec_ops, &d, "x"), -EEXIST);
}

static void test_iobus_register_full_enospc(void **state)
{
	struct iobus bus;
	struct rec_dev d = { 0 };

	(void)state;
	iobus_init(&bus, "pio");
	for (unsigned i = 0; i < IOBUS_MAX_RANGES; i++)
		assert_int_equal(iobus_register(&bus, 0x1000 - 8 * (uint64_t)i, 8, &rec_ops, &d, "x"),
				 0);
	assert_int_equal(bus.nr, IOBUS_MAX_RANGES);
	assert_sorted(&bus);
	assert_int_equal(iobus_register(&bus, 0x10000, 1, &rec_ops, &d, "x"), -ENOSPC);
	assert_int_equal(bus.nr, IOBUS_MAX_RANGES);
}

static void test_iobus_dispatch_right_range_and_offset(void **state)
{
	struct iobus bus;
	struct rec_dev a = { .id = 1 }, b = { .id = 2 }, c = { .id = 3 };
	uint32_t v = 0;
	uint64_t w = 0x1122334455667788ULL;

	(void)state;
	iobus_init(&bus, "pio");
	assert_int_equal(iobus_register(&bus, 0x3f8, 8, &rec_ops, &b, "com1"), 0);
	assert_int_equal(iobus_register(&bus, 0x60, 5, &rec_ops, &a, "i8042"), 0);
	assert_int_equal(iobus_register(&bus, 0x600, 3, &rec_ops, &c, "acpi"), 0);

	assert_true(iobus_read(&bus, 0x3fd, &v, 1));
	assert_int_equal(b.reads, 1);
	assert_int_equal(b.off, 5);
	assert_int_equal(b.len, 1);
	assert_int_equal(v & 0xff, 0x20);
	assert_int_equal(a.reads + c.reads, 0);

	assert_true(iobus_write(&bus, 0x64, &w, 1));
	assert_int_equal(a.writes, 1);
	assert_int_equal(a.off, 4);
	assert_int_equal(a.wval, 0x88);

	assert_true(iobus_write(&bus, 0x600, &w, 2));
	assert_int_equal(c.off, 0);
	assert_int_equal(c.len, 2);
	assert_int_equal(c.wval, 0x7788);
	assert_int_equal(b.writes, 0);
}

static void test_iobus_straddling_access_unclaimed(void **state)
{
	struct iobus bus;
	struct rec_dev a = { .id = 1 }, b = { .id = 2 };
	uint32_t v = 0;

	(void)state;
	iobus_init(&bus, "pio");
	assert_int_equal(iobus_register(&bus, 0x100, 4, &rec_ops, &a, "a"), 0);
	assert_int_equal(iobus_register(&bus, 0x104, 4, &rec_ops, &b, "b"), 0);
	/* 4 bytes at 0x102 cross from a into b: no device sees a partial access */
	assert_false(iobus_read(&bus, 0x102, &v, 4));
	assert_int_equal(v, 0xffffffff);
	assert_false(iobus_write(&bus, 0x103, &v, 2));
	assert_int_equal(a.reads + a.writes + b.reads + b.writes, 0);
	/* an access ending exactly at the range end is claimed */
	assert_true(iobus_read(&bus, 0x104, &v, 4));
	assert_int_equal(b.off, 0);
	assert_true(iobus_read(&bus, 0x107, &v, 1));
	assert_int_equal(b.off, 3);
	/* wider than the range itself */
	uint64_t v8 = 0;

	assert_false(iobus_read(&bus, 0x104, &v8, 8));
	assert_int_equal(v8, UINT64_MAX);
	assert_int_equal(b.reads, 2);
}

static void test_iobus_unclaimed_read_all_ones(void **state)
{
	struct iobus bus;
	struct rec_dev a = { .id = 1 };
	uint64_t v;

	(void)state;
	iobus_init(&bus, "mmio");
	v = 0;
	assert_false(iobus_read(&bus, 0x1234, &v, 8));
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(iobus_register(&bus, 0x2000, 0x10, &rec_ops, &a, "a"), 0);
	v = 0;
	assert_false(iobus_read(&bus, 0x1fff, &v, 1));
	assert_int_equal(v, 0xff);
	v = 0;
	assert_false(iobus_read(&bus, 0x2010, &v, 2));
	assert_int_equal(v, 0xffff);
	assert_false(iobus_write(&bus, 0x2010, &v, 2));
	assert_int_equal(a.reads + a.writes, 0);
}

static void test_iobus_missing_callback_claimed_all_ones(void **state)
{
	struct iobus bus;
	uint32_t v = 0;

	(void)state;
	iobus_init(&bus, "pio");
	assert_int_equal(iobus_register(&bus, 0xf4, 4, &empty_ops, NULL, "wo"), 0);
	/* claimed (no "unclaimed" log), but nothing to read: all-ones; write dropped */
	assert_true(iobus_read(&bus, 0xf4, &v, 4));
	assert_int_equal(v, 0xffffffff);
	assert_true(iobus_write(&bus, 0xf4, &v, 4));
}

static void test_iobus_binary_search_boundaries_exact(void **state)
{
	struct iobus bus;
	struct rec_dev d[IOBUS_MAX_RANGES];
	uint8_t v;

	(void)state;
	iobus_init(&bus, "pio");
	/* ranges [16i, 16i+8) with 8-byte gaps, registered in reverse order */
	for (int i = IOBUS_MAX_RANGES - 1; i >= 0; i--) {
		d[i] = (struct rec_dev){ .id = i };
		assert_int_equal(iobus_register(&bus, 16 * (uint64_t)i, 8, &rec_ops, &d[i], "x"), 0);
	}
	for (unsigned i = 0; i < IOBUS_MAX_RANGES; i++) {
		uint64_t base = 16 * (uint64_t)i;

		assert_true(iobus_read(&bus, base, &v, 1));
		assert_int_equal(d[i].off, 0);
		assert_true(iobus_read(&bus, base + 7, &v, 1));
		assert_int_equal(d[i].off, 7);
		assert_int_equal(d[i].reads, 2);
		/* first byte of the gap, last byte of the gap */
		assert_false(iobus_read(&bus, base + 8, &v, 1));
		assert_false(iobus_read(&bus, base + 15, &v, 1));
		assert_int_equal(d[i].reads, 2);
	}
	assert_false(iobus_read(&bus, UINT64_MAX, &v, 1));
}

static void test_iobus_top_of_address_space_dispatch(void **state)
{
	struct iobus bus;
	struct rec_dev d = { .id = 1 };
	uint64_t v = 0;

	(void)state;
	iobus_init(&bus, "mmio");
	assert_int_equal(iobus_register(&bus, UINT64_MAX - 7, 8, &rec_ops, &d, "top"), 0);
	assert_true(iobus_read(&bus, UINT64_MAX - 7, &v, 8));
	assert_true(iobus_read(&bus, UINT64_MAX, &v, 1));
	assert_int_equal(d.off, 7);
	/* starts inside, would wrap past the top */
	assert_false(iobus_read(&bus, UINT64_MAX, &v, 2));
	assert_false(iobus_read(&bus, UINT64_MAX - 3, &v, 8));
	assert_int_equal(d.reads, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iobus_register_out_of_order_sorted),
		cmocka_unit_test(test_iobus_register_overlap_every_shape_eexist),
		cmocka_unit_test(test_iobus_register_bad_len_or_wrap_einval),
		cmocka_unit_test(test_iobus_register_full_enospc),
		cmocka_unit_test(test_iobus_dispatch_right_range_and_offset),
		cmocka_unit_test(test_iobus_straddling_access_unclaimed),
		cmocka_unit_test(test_iobus_unclaimed_read_all_ones),
		cmocka_unit_test(test_iobus_missing_callback_claimed_all_ones),
		cmocka_unit_test(test_iobus_binary_search_boundaries_exact),
		cmocka_unit_test(test_iobus_top_of_address_space_dispatch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
