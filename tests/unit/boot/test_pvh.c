// SPDX-License-Identifier: MIT
/* test_pvh.c: ELF64 validation, PVH note lookup, segment loading and hvm_start_info. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "boot/boot.h"
#include "boot/layout.h"
#include "boot/pvh.h"
#include "tests/helpers/th.h"
#include "tests/unit/boot/fake_kernel.h"

#define RAM_SIZE MiB(32)

struct fx {
	struct guest_mem gm;
	uint8_t img[FAKE_ELF_SIZE];
	char err[256];
	struct pvh_info pi;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	th_gm_create(&f->gm, RAM_SIZE);
	fake_elf(f->img);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	gm_destroy(&f->gm);
	free(f);
	return 0;
}

static int load(struct fx *f)
{
	f->err[0] = 0;
	return pvh_load(&f->gm, f->img, sizeof(f->img), "vmlinux", &f->pi, f->err,
			sizeof(f->err));
}

static void expect_err(struct fx *f, const char *msg)
{
	assert_int_equal(load(f), -EINVAL);
	assert_string_equal(f->err, msg);
}

static void test_pvh_valid_loads_and_zeroes_bss(void **state)
{
	struct fx *f = *state;
	uint8_t *k = gm_ptr(&f->gm, FAKE_ELF_PADDR, FAKE_ELF_MEMSZ);

	memset(k, 0xaa, FAKE_ELF_MEMSZ);
	assert_int_equal(load(f), 0);
	assert_int_equal(f->pi.entry, FAKE_ELF_ENTRY);
	assert_int_equal(f->pi.kernel_start, FAKE_ELF_PADDR);
	assert_int_equal(f->pi.kernel_end, FAKE_ELF_PADDR + FAKE_ELF_MEMSZ);
	assert_memory_equal(k, f->img + FAKE_ELF_TEXT_OFF, FAKE_ELF_FILESZ);
	for (unsigned i = FAKE_ELF_FILESZ; i < FAKE_ELF_MEMSZ; i++)
		assert_int_equal(k[i], 0);
}

static void test_pvh_four_byte_note_ok(void **state)
{
	struct fx *f = *state;
	uint32_t nh[3] = { 4, 4, 18 }, v = 0x1000080;
	uint8_t *n = f->img + FAKE_ELF_NOTE_OFF + 24;

	memcpy(n, nh, 12);
	memcpy(n + 16, &v, 4);
	fake_phdr(f->img, 1)->p_filesz = 24 + 20; /* last note without padding */
	assert_int_equal(load(f), 0);
	assert_int_equal(f->pi.entry, 0x1000080);
}

static void test_pvh_note_only_in_section_ok(void **state)
{
	struct fx *f = *state;

	fake_phdr(f->img, 1)->p_type = PT_NULL;
	assert_int_equal(load(f), 0);
	assert_int_equal(f->pi.entry, FAKE_ELF_ENTRY);
}

static void test_pvh_no_note_fails(void **state)
{
	struct fx *f = *state;

	fake_note(f->img + FAKE_ELF_NOTE_OFF + 24, 17, FAKE_ELF_ENTRY);
	expect_err(f, "vmlinux: ELF without a PVH note (XEN_ELFNOTE_PHYS32_ENTRY; needs CONFIG_PVH=y)");
	/* right type, other owner */
	fake_note(f->img + FAKE_ELF_NOTE_OFF + 24, 18, FAKE_ELF_ENTRY);
	memcpy(f->img + FAKE_ELF_NOTE_OFF + 24 + 12, "Xem", 4);
	expect_err(f, "vmlinux: ELF without a PVH note (XEN_ELFNOTE_PHYS32_ENTRY; needs CONFIG_PVH=y)");
}

static void test_pvh_no_notes_no_sections_fails(void **state)
{
	struct fx *f = *state;

	fake_phdr(f->img, 1)->p_type = PT_NULL;
	fake_ehdr(f->img)->e_shoff = 0;
	expect_err(f, "vmlinux: ELF without a PVH note (XEN_ELFNOTE_PHYS32_ENTRY; needs CONFIG_PVH=y)");
}

static void test_pvh_bad_note_sizes_fail(void **state)
{
	struct fx *f = *state;
	uint32_t huge = 0xfffffffc;

	memcpy(f->img + FAKE_ELF_NOTE_OFF, &huge, 4); /* namesz */
	expect_err(f, "vmlinux: malformed ELF note");
	fake_elf(f->img);
	memcpy(f->img + FAKE_ELF_NOTE_OFF + 4, &huge, 4); /* descsz */
	expect_err(f, "vmlinux: malformed ELF note");
	fake_elf(f->img);
	huge = 6; /* PVH note with a 6-byte value */
	memcpy(f->img + FAKE_ELF_NOTE_OFF + 24 + 4, &huge, 4);
	expect_err(f, "vmlinux: malformed ELF note");
}

static void test_pvh_note_segment_outside_file_fails(void **state)
{
	struct fx *f = *state;

	fake_phdr(f->img, 1)->p_offset = FAKE_ELF_SIZE - 8;
	expect_err(f, "vmlinux: ELF note segment outside the file");
	fake_phdr(f->img, 1)->p_offset = UINT64_MAX - 4;
	expect_err(f, "vmlinux: ELF note segment outside the file");
}

static void test_pvh_bad_section_headers_fail(void **state)
{
	struct fx *f = *state;

	fake_phdr(f->img, 1)->p_type = PT_NULL;
	fake_ehdr(f->img)->e_shoff = FAKE_ELF_SIZE - 64;
	expect_err(f, "vmlinux: ELF section headers outside the file");
	fake_ehdr(f->img)->e_shoff = FAKE_ELF_SHOFF;
	fake_shdr(f->img, 1)->sh_size = UINT64_MAX;
	expect_err(f, "vmlinux: ELF note section outside the file");
}

static void test_pvh_bad_ehdr_fails(void **state)
{
	struct fx *f = *state;

	assert_int_equal(pvh_load(&f->gm, f->img, 63, "v", &f->pi, f->err, sizeof(f->err)),
			 -EINVAL);
	assert_string_equal(f->err, "v: truncated ELF header (63 bytes)");
	f->img[EI_CLASS] = ELFCLASS32;
	expect_err(f, "vmlinux: not a 64-bit ELF");
	fake_elf(f->img);
	f->img[EI_DATA] = ELFDATA2MSB;
	expect_err(f, "vmlinux: not a little-endian ELF");
	fake_elf(f->img);
	fake_ehdr(f->img)->e_machine = EM_386;
	expect_err(f, "vmlinux: ELF is not for x86-64");
	fake_elf(f->img);
	fake_ehdr(f->img)->e_type = ET_REL;
	expect_err(f, "vmlinux: ELF is not an executable (ET_EXEC)");
	fake_elf(f->img);
	f->img[1] = 'X';
	expect_err(f, "vmlinux: not an ELF file");
}

static void test_pvh_bad_phdrs_fail(void **state)
{
	struct fx *f = *state;

	fake_ehdr(f->img)->e_phnum = 0;
	expect_err(f, "vmlinux: bad ELF program header count or size");
	fake_ehdr(f->img)->e_phnum = PVH_MAX_PHNUM + 1;
	expect_err(f, "vmlinux: bad ELF program header count or size");
	fake_ehdr(f->img)->e_phnum = 2;
	fake_ehdr(f->img)->e_phentsize = 32;
	expect_err(f, "vmlinux: bad ELF program header count or size");
	fake_ehdr(f->img)->e_phentsize = sizeof(Elf64_Phdr);
	fake_ehdr(f->img)->e_phoff = FAKE_ELF_SIZE - 100;
	expect_err(f, "vmlinux: ELF program headers outside the file");
	fake_ehdr(f->img)->e_phoff = UINT64_MAX - 50;
	expect_err(f, "vmlinux: ELF program headers outside the file");
}

static void test_pvh_segment_outside_file_fails(void **state)
{
	struct fx *f = *state;

	fake_phdr(f->img, 0)->p_offset = FAKE_ELF_TEXT_OFF + 1;
	expect_err(f, "vmlinux: ELF segment 0 outside the file");
	fake_phdr(f->img, 0)->p_offset = UINT64_MAX - 0x10;
	expect_err(f, "vmlinux: ELF segment 0 outside the file");
	fake_phdr(f->img, 0)->p_offset = FAKE_ELF_TEXT_OFF;
	fake_phdr(f->img, 0)->p_filesz = FAKE_ELF_MEMSZ + 1;
	expect_err(f, "vmlinux: ELF segment 0 outside the file");
}

static void test_pvh_segment_outside_ram_fails(void **state)
{
	struct fx *f = *state;

	fake_phdr(f->img, 0)->p_paddr = RAM_SIZE - FAKE_ELF_MEMSZ + 1;
	expect_err(f, "vmlinux: ELF segment 0 outside RAM (0x1ffd001 + 0x3000; low RAM ends at 0x2000000)");
	fake_phdr(f->img, 0)->p_paddr = UINT64_MAX - 0xfff;
	expect_err(f, "vmlinux: ELF segment 0 outside RAM (0xfffffffffffff000 + 0x3000; low RAM ends at 0x2000000)");
	fake_phdr(f->img, 0)->p_paddr = FAKE_ELF_PADDR;
	fake_phdr(f->img, 0)->p_memsz = UINT64_MAX;
	expect_err(f, "vmlinux: ELF segment 0 outside RAM (0x1000000 + 0xffffffffffffffff; low RAM ends at 0x2000000)");
}

static void test_pvh_segment_at_end_of_ram_ok(void **state)
{
	/* The last byte of the segment is the last byte of RAM; the guard page follows. */
	struct fx *f = *state;
	uint64_t base = RAM_SIZE - FAKE_ELF_MEMSZ;
	uint32_t v = (uint32_t)base;

	fake_phdr(f->img, 0)->p_paddr = base;
	memcpy(f->img + FAKE_ELF_NOTE_OFF + 24 + 16, &v, 4);
	memset(f->img + FAKE_ELF_NOTE_OFF + 24 + 20, 0, 4);
	assert_int_equal(load(f), 0);
	assert_int_equal(f->pi.kernel_end, RAM_SIZE);
	assert_int_equal(*(uint8_t *)gm_ptr(&f->gm, RAM_SIZE - 1, 1), 0);
}

static void test_pvh_segment_in_boot_area_fails(void **state)
{
	struct fx *f = *state;

	fake_phdr(f->img, 0)->p_paddr = 0x9000;
	expect_err(f, "vmlinux: ELF segment 0 at 0x9000 overlaps the boot area below 1 MiB");
}

static void test_pvh_entry_checks(void **state)
{
	struct fx *f = *state;

	fake_note(f->img + FAKE_ELF_NOTE_OFF + 24, 18, FAKE_ELF_PADDR + FAKE_ELF_MEMSZ);
	expect_err(f, "vmlinux: PVH entry point is not in a loaded segment");
	fake_note(f->img + FAKE_ELF_NOTE_OFF + 24, 18, BOOT_MMIO_HOLE_END);
	expect_err(f, "vmlinux: PVH entry point above 4 GiB");
	fake_note(f->img + FAKE_ELF_NOTE_OFF + 24, 18, FAKE_ELF_ENTRY);
	fake_phdr(f->img, 0)->p_type = PT_NULL;
	expect_err(f, "vmlinux: ELF has no PT_LOAD segment");
}

static void test_pvh_nothing_copied_on_error(void **state)
{
	struct fx *f = *state;

	/* second PT_LOAD is bad: the first must not have been copied */
	fake_phdr(f->img, 1)->p_type = PT_LOAD;
	fake_phdr(f->img, 1)->p_paddr = RAM_SIZE;
	assert_int_equal(load(f), -EINVAL);
	assert_int_equal(*(uint8_t *)gm_ptr(&f->gm, FAKE_ELF_PADDR, 1), 0);
}

static void test_pvh_start_info_written(void **state)
{
	struct fx *f = *state;
	struct e820_entry map[3] = {
		{ 0, 0x9fc00, 1 }, { 0x9fc00, 0x60400, 2 }, { 0x100000, RAM_SIZE - 0x100000, 1 },
	};
	struct boot_handoff pp = {
		.cmdline_gpa = BOOT_CMDLINE_GPA, .initrd_gpa = 0x1800000, .initrd_len = 12345,
		.rsdp_gpa = BOOT_ACPI_GPA, .e820 = map, .nr_e820 = 3,
	};
	struct hvm_start_info si;
	struct hvm_memmap_table_entry me[3];
	struct hvm_modlist_entry mod;

	assert_int_equal(pvh_write_start_info(&f->gm, &pp), 0);
	assert_int_equal(gm_read(&f->gm, BOOT_PVH_INFO_GPA, &si, sizeof(si)), 0);
	assert_int_equal(si.magic, 0x336ec578);
	assert_int_equal(si.version, 1);
	assert_int_equal(si.flags, 0);
	assert_int_equal(si.nr_modules, 1);
	assert_int_equal(si.modlist_paddr, BOOT_PVH_MODLIST_GPA);
	assert_int_equal(si.cmdline_paddr, BOOT_CMDLINE_GPA);
	assert_int_equal(si.rsdp_paddr, BOOT_ACPI_GPA);
	assert_int_equal(si.memmap_paddr, BOOT_PVH_MEMMAP_GPA);
	assert_int_equal(si.memmap_entries, 3);
	assert_int_equal(gm_read(&f->gm, BOOT_PVH_MEMMAP_GPA, me, sizeof(me)), 0);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(me[i].addr, map[i].addr);
		assert_int_equal(me[i].size, map[i].size);
		assert_int_equal(me[i].type, map[i].type);
		assert_int_equal(me[i].reserved, 0);
	}
	assert_int_equal(gm_read(&f->gm, BOOT_PVH_MODLIST_GPA, &mod, sizeof(mod)), 0);
	assert_int_equal(mod.paddr, 0x1800000);
	assert_int_equal(mod.size, 12345);
	assert_int_equal(mod.cmdline_paddr, 0);

	pp.initrd_len = 0;
	assert_int_equal(pvh_write_start_info(&f->gm, &pp), 0);
	assert_int_equal(gm_read(&f->gm, BOOT_PVH_INFO_GPA, &si, sizeof(si)), 0);
	assert_int_equal(si.nr_modules, 0);
	assert_int_equal(si.modlist_paddr, 0);
	pp.nr_e820 = BOOT_PVH_MEMMAP_MAX + 1;
	assert_int_equal(pvh_write_start_info(&f->gm, &pp), -EINVAL);
}

static const char *real_vmlinux(void)
{
	static char path[4096];
	const char *env = getenv("AV_VMLINUX"), *cache = getenv("AV_KERNEL_CACHE");

	if (env && access(env, R_OK) == 0)
		return env;
	snprintf(path, sizeof(path), "%s/vmlinux", cache ? cache : "/var/cache/agentvmm/kernel");
	return access(path, R_OK) == 0 ? path : NULL;
}

static void test_pvh_real_vmlinux_loads(void **state)
{
	const char *path = real_vmlinux();
	struct guest_mem gm;
	struct pvh_info pi;
	char err[256], rel[128];
	size_t len;
	uint8_t *img;

	(void)state;
	if (!path)
		skip();
	img = th_read_file(path, &len);
	assert_non_null(img);
	th_gm_create(&gm, MiB(256));
	assert_int_equal(pvh_load(&gm, img, len, path, &pi, err, sizeof(err)), 0);
	assert_int_equal(pi.kernel_start, BOOT_KERNEL_GPA);
	assert_true(pi.entry > pi.kernel_start && pi.entry < pi.kernel_end);
	/* too little RAM for the kernel: a clear error */
	gm_destroy(&gm);
	th_gm_create(&gm, MiB(32));
	assert_int_equal(pvh_load(&gm, img, len, "v", &pi, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "v: ELF segment "));
	assert_non_null(strstr(err, " outside RAM ("));
	assert_int_equal(boot_kernel_release(path, rel, sizeof(rel)), 0);
	assert_non_null(strstr(rel, "-amd64"));
	gm_destroy(&gm);
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(n) cmocka_unit_test_setup_teardown(n, setup, teardown)
		T(test_pvh_valid_loads_and_zeroes_bss),
		T(test_pvh_four_byte_note_ok),
		T(test_pvh_note_only_in_section_ok),
		T(test_pvh_no_note_fails),
		T(test_pvh_no_notes_no_sections_fails),
		T(test_pvh_bad_note_sizes_fail),
		T(test_pvh_note_segment_outside_file_fails),
		T(test_pvh_bad_section_headers_fail),
		T(test_pvh_bad_ehdr_fails),
		T(test_pvh_bad_phdrs_fail),
		T(test_pvh_segment_outside_file_fails),
		T(test_pvh_segment_outside_ram_fails),
		T(test_pvh_segment_at_end_of_ram_ok),
		T(test_pvh_segment_in_boot_area_fails),
		T(test_pvh_entry_checks),
		T(test_pvh_nothing_copied_on_error),
		T(test_pvh_start_info_written),
		cmocka_unit_test(test_pvh_real_vmlinux_loads),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
