// SPDX-License-Identifier: MIT
/* test_cpu_setup.c: GDT/IDT bytes, identity page tables and boot vCPU state for both entry modes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "boot/cpu_setup.h"
#include "boot/layout.h"
#include "tests/helpers/th.h"

static uint64_t rd64(const struct guest_mem *gm, gpa_t gpa)
{
	uint64_t v;

	assert_int_equal(gm_read(gm, gpa, &v, sizeof(v)), 0);
	return v;
}

static void expect_seg(const struct boot_seg *s, uint16_t sel, uint8_t type, uint8_t sbit,
		       uint8_t l, uint8_t db, uint8_t g, uint32_t limit)
{
	assert_int_equal(s->base, 0);
	assert_int_equal(s->selector, sel);
	assert_int_equal(s->type, type);
	assert_int_equal(s->s, sbit);
	assert_int_equal(s->l, l);
	assert_int_equal(s->db, db);
	assert_int_equal(s->g, g);
	assert_int_equal(s->limit, limit);
	assert_int_equal(s->present, 1);
	assert_int_equal(s->dpl, 0);
	assert_int_equal(s->avl, 0);
	assert_int_equal(s->unusable, 0);
}

static void test_cpu_setup_gdt_entry_packing(void **state)
{
	(void)state;
	/* values as the kernel's GDT_ENTRY() produces them */
	assert_int_equal(boot_gdt_entry(0xa09b, 0, 0xfffff), 0x00af9b000000ffffULL);
	assert_int_equal(boot_gdt_entry(0xc09b, 0, 0xfffff), 0x00cf9b000000ffffULL);
	assert_int_equal(boot_gdt_entry(0xc093, 0, 0xfffff), 0x00cf93000000ffffULL);
	assert_int_equal(boot_gdt_entry(0x008b, 0, 0x67), 0x00008b0000000067ULL);
	assert_int_equal(boot_gdt_entry(0x4092, 0x12345678, 0xabcde), 0x124a92345678bcdeULL);
}

static void test_cpu_setup_long64(void **state)
{
	struct guest_mem gm;
	struct boot_cpu_state c;

	(void)state;
	th_gm_create(&gm, MiB(2));
	assert_int_equal(boot_cpu_setup(&gm, BOOT_ENTRY_LONG64, 0x1000200, BOOT_ZERO_PAGE_GPA, &c),
			 0);
	/* GDT bytes: null, TSS 0x08, code64 0x10 (__BOOT_CS), data 0x18 (__BOOT_DS) */
	assert_int_equal(rd64(&gm, BOOT_GDT_GPA), 0);
	assert_int_equal(rd64(&gm, BOOT_GDT_GPA + 8), 0x00008b0000000067ULL);
	assert_int_equal(rd64(&gm, BOOT_GDT_GPA + 16), 0x00af9b000000ffffULL);
	assert_int_equal(rd64(&gm, BOOT_GDT_GPA + 24), 0x00cf93000000ffffULL);
	assert_int_equal(rd64(&gm, BOOT_IDT_GPA), 0);

	/* page tables: 0..4 GiB identity, 2 MiB pages */
	assert_int_equal(rd64(&gm, BOOT_PML4_GPA), BOOT_PDPT_GPA | 3);
	assert_int_equal(rd64(&gm, BOOT_PML4_GPA + 8), 0);
	assert_int_equal(rd64(&gm, BOOT_PML4_GPA + 4088), 0);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(rd64(&gm, BOOT_PDPT_GPA + 8 * i), (BOOT_PD_GPA + 0x1000 * i) | 3);
	assert_int_equal(rd64(&gm, BOOT_PDPT_GPA + 32), 0);
	for (uint64_t n = 0; n < 2048; n++)
		assert_int_equal(rd64(&gm, BOOT_PD_GPA + 8 * n), (n << 21) | 0x83);
	assert_int_equal(rd64(&gm, BOOT_PD_GPA + 4 * 4096 - 8), 0xffe00083ULL);

	assert_int_equal(c.rip, 0x1000200);
	assert_int_equal(c.rsi, BOOT_ZERO_PAGE_GPA);
	assert_int_equal(c.rbx, 0);
	assert_int_equal(c.rflags, 2);
	assert_int_equal(c.cr0, 0x80000011ULL);
	assert_int_equal(c.cr3, BOOT_PML4_GPA);
	assert_int_equal(c.cr4, 0x20);
	assert_int_equal(c.efer, 0x500);
	expect_seg(&c.cs, 0x10, 0xb, 1, 1, 0, 1, 0xffffffff);
	expect_seg(&c.ds, 0x18, 0x3, 1, 0, 1, 1, 0xffffffff);
	expect_seg(&c.es, 0x18, 0x3, 1, 0, 1, 1, 0xffffffff);
	expect_seg(&c.fs, 0x18, 0x3, 1, 0, 1, 1, 0xffffffff);
	expect_seg(&c.gs, 0x18, 0x3, 1, 0, 1, 1, 0xffffffff);
	expect_seg(&c.ss, 0x18, 0x3, 1, 0, 1, 1, 0xffffffff);
	expect_seg(&c.tr, 0x08, 0xb, 0, 0, 0, 0, 0x67);
	assert_int_equal(c.ldt.type, 2);
	assert_int_equal(c.ldt.present, 1);
	assert_int_equal(c.gdt.base, BOOT_GDT_GPA);
	assert_int_equal(c.gdt.limit, 31);
	assert_int_equal(c.idt.base, BOOT_IDT_GPA);
	assert_int_equal(c.idt.limit, 7);
	gm_destroy(&gm);
}

static void test_cpu_setup_prot32(void **state)
{
	struct guest_mem gm;
	struct boot_cpu_state c;

	(void)state;
	th_gm_create(&gm, MiB(2));
	assert_int_equal(boot_cpu_setup(&gm, BOOT_ENTRY_PROT32, 0x1234567, BOOT_PVH_INFO_GPA, &c), 0);
	assert_int_equal(rd64(&gm, BOOT_GDT_GPA + 16), 0x00cf9b000000ffffULL);
	assert_int_equal(rd64(&gm, BOOT_GDT_GPA + 24), 0x00cf93000000ffffULL);
	assert_int_equal(rd64(&gm, BOOT_PML4_GPA), 0); /* paging off: no tables written */
	assert_int_equal(c.rip, 0x1234567);
	assert_int_equal(c.rbx, BOOT_PVH_INFO_GPA);
	assert_int_equal(c.rsi, 0);
	assert_int_equal(c.rflags, 2);
	assert_int_equal(c.cr0, 0x11);
	assert_int_equal(c.cr3, 0);
	assert_int_equal(c.cr4, 0);
	assert_int_equal(c.efer, 0);
	expect_seg(&c.cs, 0x10, 0xb, 1, 0, 1, 1, 0xffffffff);
	expect_seg(&c.ds, 0x18, 0x3, 1, 0, 1, 1, 0xffffffff);
	expect_seg(&c.ss, 0x18, 0x3, 1, 0, 1, 1, 0xffffffff);
	expect_seg(&c.tr, 0x08, 0xb, 0, 0, 0, 0, 0x67);
	gm_destroy(&gm);
}

static void test_cpu_setup_ram_too_small_fails(void **state)
{
	struct guest_mem gm;
	struct boot_cpu_state c;

	(void)state;
	th_gm_create(&gm, BOOT_PD_GPA + 3 * 4096); /* last page directory in the guard page */
	assert_int_equal(boot_cpu_setup(&gm, BOOT_ENTRY_LONG64, 0, 0, &c), -EFAULT);
	assert_int_equal(boot_cpu_setup(&gm, BOOT_ENTRY_PROT32, 0, 0, &c), 0);
	gm_destroy(&gm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpu_setup_gdt_entry_packing),
		cmocka_unit_test(test_cpu_setup_long64),
		cmocka_unit_test(test_cpu_setup_prot32),
		cmocka_unit_test(test_cpu_setup_ram_too_small_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
