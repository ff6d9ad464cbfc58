// SPDX-License-Identifier: MIT
/* test_e820.c: the guest memory map for small RAM and for RAM split around the MMIO hole. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "boot/e820.h"
#include "boot/layout.h"
#include "tests/helpers/th.h"

static void expect(const struct e820_entry *e, uint64_t addr, uint64_t size, uint32_t type)
{
	assert_int_equal(e->addr, addr);
	assert_int_equal(e->size, size);
	assert_int_equal(e->type, type);
}

static void test_e820_small_ram_three_entries(void **state)
{
	struct guest_mem gm;
	struct e820_entry t[E820_MAX_ENTRIES];

	(void)state;
	th_gm_create(&gm, MiB(64));
	assert_int_equal(e820_build(&gm, t, E820_MAX_ENTRIES), 3);
	expect(&t[0], 0, 0x9fc00, E820_TYPE_RAM);
	expect(&t[1], 0x9fc00, 0x100000 - 0x9fc00, E820_TYPE_RESERVED);
	expect(&t[2], 0x100000, MiB(64) - 0x100000, E820_TYPE_RAM);
	/* ACPI tables lie in the reserved entry */
	assert_true(BOOT_ACPI_GPA >= t[1].addr &&
		    BOOT_ACPI_GPA + BOOT_ACPI_MAX <= t[1].addr + t[1].size);
	gm_destroy(&gm);
}

static void test_e820_above_hole_four_entries(void **state)
{
	struct guest_mem gm;
	struct e820_entry t[E820_MAX_ENTRIES];

	(void)state;
	th_gm_create(&gm, GiB(4)); /* sparse memfd: 3 GiB low + 1 GiB above 4 GiB */
	assert_int_equal(e820_build(&gm, t, E820_MAX_ENTRIES), 4);
	expect(&t[2], 0x100000, BOOT_MMIO_HOLE_GPA - 0x100000, E820_TYPE_RAM);
	expect(&t[3], BOOT_RAM_HIGH_GPA, GiB(1), E820_TYPE_RAM);
	/* no entry touches the hole */
	for (unsigned i = 0; i < 4; i++)
		assert_true(t[i].addr + t[i].size <= BOOT_MMIO_HOLE_GPA ||
			    t[i].addr >= BOOT_MMIO_HOLE_END);
	gm_destroy(&gm);
}

static void test_e820_exactly_hole_no_high_entry(void **state)
{
	struct guest_mem gm;
	struct e820_entry t[E820_MAX_ENTRIES];

	(void)state;
	th_gm_create(&gm, BOOT_MMIO_HOLE_GPA);
	assert_int_equal(e820_build(&gm, t, E820_MAX_ENTRIES), 3);
	expect(&t[2], 0x100000, BOOT_MMIO_HOLE_GPA - 0x100000, E820_TYPE_RAM);
	gm_destroy(&gm);
}

static void test_e820_tiny_ram_fails(void **state)
{
	struct guest_mem gm;
	struct e820_entry t[E820_MAX_ENTRIES];

	(void)state;
	th_gm_create(&gm, MiB(1));
	assert_int_equal(e820_build(&gm, t, E820_MAX_ENTRIES), -EINVAL);
	gm_destroy(&gm);
}

static void test_e820_table_too_small_fails(void **state)
{
	struct guest_mem gm;
	struct e820_entry t[4];

	(void)state;
	th_gm_create(&gm, GiB(4));
	assert_int_equal(e820_build(&gm, t, 3), -ENOSPC);
	assert_int_equal(e820_build(&gm, t, 4), 4);
	assert_int_equal(e820_build(&gm, t, 0), -ENOSPC);
	gm_destroy(&gm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e820_small_ram_three_entries),
		cmocka_unit_test(test_e820_above_hole_four_entries),
		cmocka_unit_test(test_e820_exactly_hole_no_high_entry),
		cmocka_unit_test(test_e820_tiny_ram_fails),
		cmocka_unit_test(test_e820_table_too_small_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
