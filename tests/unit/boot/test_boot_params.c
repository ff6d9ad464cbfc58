// SPDX-License-Identifier: MIT
/* test_boot_params.c: boot_setup() end to end on crafted files: zero page, start_info, errors. */
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
#include "boot/smbios.h"
#include "tests/helpers/th.h"
#include "tests/unit/boot/fake_kernel.h"

#define RAM_SIZE MiB(64)
#define INITRD_LEN 10000

struct fx {
	struct guest_mem gm;
	char kernel[64], initrd[64];
	struct boot_config cfg;
	struct boot_cpu_state cpu;
	struct boot_info info;
	char err[256];
};

/* A new temporary file at (path) holding (data); the one (path) named before is removed. */
static void write_tmp(char *path, const void *data, size_t len)
{
	if (path[0])
		unlink(path);
	strcpy(path, "/tmp/av-test-boot-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	static uint8_t bz[FAKE_BZ_SIZE], rd[INITRD_LEN];

	th_gm_create(&f->gm, RAM_SIZE);
	fake_bzimage(bz);
	write_tmp(f->kernel, bz, sizeof(bz));
	for (unsigned i = 0; i < INITRD_LEN; i++)
		rd[i] = (uint8_t)(i ^ 0x5a);
	write_tmp(f->initrd, rd, sizeof(rd));
	f->cfg = (struct boot_config){
		.kernel_path = f->kernel, .initrd_path = f->initrd,
		.cmdline = "console=ttyS0 quiet", .nr_cpus = 2,
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	unlink(f->kernel);
	unlink(f->initrd);
	gm_destroy(&f->gm);
	free(f);
	return 0;
}

static int run(struct fx *f)
{
	f->err[0] = 0;
	return boot_setup(&f->gm, &f->cfg, &f->cpu, &f->info, f->err, sizeof(f->err));
}

static void test_boot_params_bzimage_fields(void **state)
{
	struct fx *f = *state;
	struct boot_params zp;
	uint8_t img[FAKE_BZ_SIZE];
	char line[64];

	fake_bzimage(img);
	assert_int_equal(run(f), 0);
	assert_int_equal(f->info.kind, BOOT_KIND_BZIMAGE);
	assert_int_equal(f->info.kernel_gpa, BOOT_KERNEL_GPA);
	assert_int_equal(f->info.kernel_end, BOOT_KERNEL_GPA + FAKE_INIT_SIZE);
	assert_int_equal(f->info.entry, BOOT_KERNEL_GPA + 0x200);
	assert_int_equal(f->info.rsdp_gpa, BOOT_ACPI_GPA);
	assert_int_equal(f->cpu.rip, BOOT_KERNEL_GPA + 0x200);
	assert_int_equal(f->cpu.rsi, BOOT_ZERO_PAGE_GPA);
	assert_int_equal(f->cpu.cr3, BOOT_PML4_GPA);

	/* initrd: page aligned, as high as possible in low RAM, bytes intact */
	assert_int_equal(f->info.initrd_len, INITRD_LEN);
	assert_int_equal(f->info.initrd_gpa, ALIGN_DOWN(RAM_SIZE - INITRD_LEN, 4096));
	uint8_t *rd = gm_ptr(&f->gm, f->info.initrd_gpa, INITRD_LEN);
	assert_int_equal(rd[0], 0x5a);
	assert_int_equal(rd[INITRD_LEN - 1], (uint8_t)((INITRD_LEN - 1) ^ 0x5a));

	assert_int_equal(gm_read(&f->gm, BOOT_ZERO_PAGE_GPA, &zp, sizeof(zp)), 0);
	/* header copied from the image from 0x1f1 to 0x202 + 0x6a ... */
	assert_int_equal(zp.hdr.boot_flag, 0xaa55);
	assert_memory_equal(&zp.hdr.header, "HdrS", 4);
	assert_int_equal(zp.hdr.version, 0x020f);
	assert_int_equal(zp.hdr.init_size, FAKE_INIT_SIZE);
	assert_int_equal(zp.hdr.kernel_alignment, 0x200000);
	assert_int_equal(zp.hdr.cmdline_size, 2047);
	assert_int_equal(zp.hdr.syssize, FAKE_PM_SIZE / 16);
	/* ... and the loader's fields filled in */
	assert_int_equal(zp.hdr.type_of_loader, 0xff);
	assert_int_equal(zp.hdr.vid_mode, 0xffff);
	assert_int_equal(zp.hdr.code32_start, BOOT_KERNEL_GPA);
	assert_int_equal(zp.hdr.setup_data, 0);
	assert_int_equal(zp.hdr.cmd_line_ptr, BOOT_CMDLINE_GPA);
	assert_int_equal(zp.ext_cmd_line_ptr, 0);
	assert_int_equal(zp.hdr.ramdisk_image, (uint32_t)f->info.initrd_gpa);
	assert_int_equal(zp.ext_ramdisk_image, 0);
	assert_int_equal(zp.hdr.ramdisk_size, INITRD_LEN);
	assert_int_equal(zp.ext_ramdisk_size, 0);
	assert_int_equal(zp.acpi_rsdp_addr, BOOT_ACPI_GPA);
	assert_int_equal(zp.sentinel, 0);
	assert_int_equal(zp.e820_entries, 3);
	assert_int_equal(zp.e820_table[0].addr, 0);
	assert_int_equal(zp.e820_table[0].size, BOOT_EBDA_GPA);
	assert_int_equal(zp.e820_table[1].type, 2);
	assert_int_equal(zp.e820_table[2].addr, 0x100000);
	assert_int_equal(zp.e820_table[2].size, RAM_SIZE - 0x100000);
	assert_int_equal(zp.e820_table[2].type, 1);
	/* nothing past the header copy leaks in */
	assert_int_equal(((uint8_t *)&zp)[0x26c], 0);

	assert_int_equal(gm_read(&f->gm, BOOT_CMDLINE_GPA, line, 20), 0);
	assert_string_equal(line, "console=ttyS0 quiet");
	assert_memory_equal(gm_ptr(&f->gm, BOOT_ACPI_GPA, 8), "RSD PTR ", 8);
}

static void test_boot_params_initrd_below_initrd_addr_max(void **state)
{
	struct fx *f = *state;
	uint8_t img[FAKE_BZ_SIZE];

	fake_bzimage(img);
	fake_hdr(img)->xloadflags = XLF_KERNEL_64;
	fake_hdr(img)->initrd_addr_max = 0x2ffffff;
	write_tmp(f->kernel, img, sizeof(img));
	assert_int_equal(run(f), 0);
	assert_int_equal(f->info.initrd_gpa, ALIGN_DOWN(0x3000000 - INITRD_LEN, 4096));
	unlink(f->kernel);
}

static void test_boot_params_initrd_too_big_fails(void **state)
{
	struct fx *f = *state;
	uint8_t img[FAKE_BZ_SIZE];
	char msg[256];

	fake_bzimage(img);
	fake_hdr(img)->xloadflags = XLF_KERNEL_64;
	/* 0x1400000 is the kernel end: room for 8 KiB only below initrd_addr_max */
	fake_hdr(img)->initrd_addr_max = 0x1401fff;
	write_tmp(f->kernel, img, sizeof(img));
	assert_int_equal(run(f), -EINVAL);
	snprintf(msg, sizeof(msg),
		 "%s: initrd too big (10000 bytes; 8192 free between kernel end 0x1400000 and 0x1402000)",
		 f->initrd);
	assert_string_equal(f->err, msg);
	unlink(f->kernel);
}

static void test_boot_params_cmdline_too_long_fails(void **state)
{
	struct fx *f = *state;
	char line[2100];

	memset(line, 'x', sizeof(line));
	line[2048] = 0;
	f->cfg.cmdline = line;
	assert_int_equal(run(f), -EINVAL);
	assert_string_equal(f->err, "kernel command line too long (2048 bytes, limit 2047)");
}

static void test_boot_params_missing_files_fail(void **state)
{
	struct fx *f = *state;
	char msg[256];

	f->cfg.kernel_path = "/nonexistent/vmlinuz";
	assert_int_equal(run(f), -ENOENT);
	assert_string_equal(f->err, "/nonexistent/vmlinuz: No such file or directory");
	f->cfg.kernel_path = "/tmp";
	assert_int_equal(run(f), -EINVAL);
	assert_string_equal(f->err, "/tmp: not a regular file");
	f->cfg.kernel_path = f->kernel;
	f->cfg.initrd_path = "/nonexistent/initrd";
	assert_int_equal(run(f), -ENOENT);
	assert_string_equal(f->err, "/nonexistent/initrd: No such file or directory");
	assert_int_equal(truncate(f->initrd, 0), 0);
	f->cfg.initrd_path = f->initrd;
	assert_int_equal(run(f), -EINVAL);
	snprintf(msg, sizeof(msg), "%s: initrd is empty", f->initrd);
	assert_string_equal(f->err, msg);
}

static void test_boot_params_not_a_kernel_fails(void **state)
{
	struct fx *f = *state;
	char msg[256];

	write_tmp(f->kernel, "#!/bin/sh\necho hello\n", 21);
	assert_int_equal(run(f), -EINVAL);
	snprintf(msg, sizeof(msg), "%s: not a Linux kernel (no bzImage header or ELF)", f->kernel);
	assert_string_equal(f->err, msg);
	unlink(f->kernel);
	write_tmp(f->kernel, "", 0);
	assert_int_equal(run(f), -EINVAL);
	snprintf(msg, sizeof(msg), "%s: not a Linux kernel (empty, 0 bytes)", f->kernel);
	assert_string_equal(f->err, msg);
	unlink(f->kernel);
}

static void test_boot_params_pvh_start_info(void **state)
{
	struct fx *f = *state;
	static uint8_t elf[FAKE_ELF_SIZE];
	struct hvm_start_info si;
	struct hvm_modlist_entry mod;
	char rel[64];

	fake_elf(elf);
	write_tmp(f->kernel, elf, sizeof(elf));
	assert_int_equal(run(f), 0);
	assert_int_equal(f->info.kind, BOOT_KIND_PVH);
	assert_int_equal(f->cpu.rip, FAKE_ELF_ENTRY);
	assert_int_equal(f->cpu.rbx, BOOT_PVH_INFO_GPA);
	assert_int_equal(f->cpu.cr0, 0x11);
	assert_int_equal(f->info.kernel_end, FAKE_ELF_PADDR + FAKE_ELF_MEMSZ);
	assert_int_equal(gm_read(&f->gm, BOOT_PVH_INFO_GPA, &si, sizeof(si)), 0);
	assert_int_equal(si.magic, PVH_START_MAGIC);
	assert_int_equal(si.version, 1);
	assert_int_equal(si.cmdline_paddr, BOOT_CMDLINE_GPA);
	assert_int_equal(si.rsdp_paddr, BOOT_ACPI_GPA);
	assert_int_equal(si.memmap_entries, 3);
	assert_int_equal(si.nr_modules, 1);
	assert_int_equal(gm_read(&f->gm, si.modlist_paddr, &mod, sizeof(mod)), 0);
	assert_int_equal(mod.paddr, ALIGN_DOWN(RAM_SIZE - INITRD_LEN, 4096));
	assert_int_equal(mod.size, INITRD_LEN);
	assert_int_equal(boot_kernel_release(f->kernel, rel, sizeof(rel)), 0);
	assert_string_equal(rel, "6.1.0-98-elf-amd64");

	/* PVH limit: 2047 characters + NUL */
	static char line[2049];
	memset(line, 'y', 2048);
	f->cfg.cmdline = line;
	assert_int_equal(run(f), -EINVAL);
	assert_string_equal(f->err, "kernel command line too long (2048 bytes, limit 2047)");
	line[2047] = 0;
	assert_int_equal(run(f), 0);
	unlink(f->kernel);
}

static void test_boot_params_pvh_without_note_fails(void **state)
{
	struct fx *f = *state;
	static uint8_t elf[FAKE_ELF_SIZE];
	char msg[256];

	fake_elf(elf);
	fake_phdr(elf, 1)->p_type = PT_NULL;
	fake_ehdr(elf)->e_shnum = 0;
	write_tmp(f->kernel, elf, sizeof(elf));
	assert_int_equal(run(f), -EINVAL);
	snprintf(msg, sizeof(msg),
		 "%s: ELF without a PVH note (XEN_ELFNOTE_PHYS32_ENTRY; needs CONFIG_PVH=y)",
		 f->kernel);
	assert_string_equal(f->err, msg);
	unlink(f->kernel);
}

static void test_boot_params_high_ram(void **state)
{
	struct fx *f = *state;
	struct guest_mem gm;
	struct boot_params zp;

	th_gm_create(&gm, GiB(4));
	assert_int_equal(boot_setup(&gm, &f->cfg, &f->cpu, &f->info, f->err, sizeof(f->err)), 0);
	assert_int_equal(gm_read(&gm, BOOT_ZERO_PAGE_GPA, &zp, sizeof(zp)), 0);
	assert_int_equal(zp.e820_entries, 4);
	assert_int_equal(zp.e820_table[3].addr, BOOT_RAM_HIGH_GPA);
	/* XLF_CAN_BE_LOADED_ABOVE_4G lifts initrd_addr_max (2 GiB here); low RAM is still first. */
	assert_int_equal(f->info.initrd_gpa, ALIGN_DOWN(BOOT_MMIO_HOLE_GPA - INITRD_LEN, 4096));
	gm_destroy(&gm);
}

/* The SMBIOS entry point's table length, and the type 1 UUID (SMBIOS byte order) into (uuid). */
static uint32_t smbios_at(struct fx *f, uint8_t uuid[16])
{
	const uint8_t *ep = gm_ptr(&f->gm, BOOT_SMBIOS_EP_GPA, 24);
	const uint8_t *t;
	uint32_t len;
	size_t off;

	assert_memory_equal(ep, "_SM3_", 5);
	memcpy(&len, ep + 12, 4);
	t = gm_ptr(&f->gm, BOOT_SMBIOS_TABLE_GPA, len);
	assert_non_null(t);
	/* type 0, its strings up to the double NUL, then type 1 with the UUID at offset 8 */
	assert_int_equal(t[0], 0);
	for (off = t[1]; t[off] || t[off + 1]; off++)
		;
	off += 2;
	assert_int_equal(t[off], 1);
	memcpy(uuid, t + off + 8, 16);
	return len;
}

/* The boot path's map (n entries at e) reserves the whole SMBIOS window. */
static void expect_smbios_reserved(const uint64_t *addr, const uint64_t *size, const uint32_t *type,
				   unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (type[i] == 2 && addr[i] <= BOOT_SMBIOS_EP_GPA &&
		    BOOT_SMBIOS_END <= addr[i] + size[i])
			return;
	fail_msg("no reserved e820 entry covers SMBIOS [0x%llx, 0x%llx)",
		 (unsigned long long)BOOT_SMBIOS_EP_GPA, (unsigned long long)BOOT_SMBIOS_END);
}

/*
 * Both boot paths get the SMBIOS tables at the place Linux scans, inside a
 * reserved range of their memory map; each boot a new version 4 UUID.
 */
static void test_boot_params_smbios_on_both_paths(void **state)
{
	struct fx *f = *state;
	static const char *const oem[] = { "io.systemd.credential:a=b" };
	static uint8_t elf[FAKE_ELF_SIZE];
	uint64_t addr[8], size[8];
	uint32_t type[8];
	uint8_t u1[16], u2[16];
	struct boot_params zp;
	struct hvm_start_info si;

	f->cfg.oem_strings = oem;
	f->cfg.nr_oem_strings = 1;
	f->cfg.version = "9.9";
	assert_int_equal(run(f), 0);
	assert_int_equal(smbios_at(f, u1), f->info.smbios_len);
	/* RFC 4122 byte 6 (version) is the high byte of little-endian time_hi: byte 7 here */
	assert_int_equal(u1[7] >> 4, 4);
	assert_int_equal(u1[8] & 0xc0, 0x80);
	assert_int_equal(gm_read(&f->gm, BOOT_ZERO_PAGE_GPA, &zp, sizeof(zp)), 0);
	for (unsigned i = 0; i < zp.e820_entries; i++) {
		addr[i] = zp.e820_table[i].addr;
		size[i] = zp.e820_table[i].size;
		type[i] = zp.e820_table[i].type;
	}
	expect_smbios_reserved(addr, size, type, zp.e820_entries);
	assert_int_equal(run(f), 0);
	smbios_at(f, u2);
	assert_memory_not_equal(u1, u2, 16);

	fake_elf(elf);
	write_tmp(f->kernel, elf, sizeof(elf));
	memset(gm_ptr(&f->gm, BOOT_SMBIOS_EP_GPA, 24), 0, 24);
	assert_int_equal(run(f), 0);
	assert_int_equal(smbios_at(f, u1), f->info.smbios_len);
	assert_int_equal(gm_read(&f->gm, BOOT_PVH_INFO_GPA, &si, sizeof(si)), 0);
	for (unsigned i = 0; i < si.memmap_entries; i++) {
		struct hvm_memmap_table_entry m;

		assert_int_equal(gm_read(&f->gm, si.memmap_paddr + i * sizeof(m), &m, sizeof(m)), 0);
		addr[i] = m.addr;
		size[i] = m.size;
		type[i] = m.type;
	}
	expect_smbios_reserved(addr, size, type, si.memmap_entries);
	unlink(f->kernel);
}

static void test_boot_params_bad_oem_string_fails(void **state)
{
	struct fx *f = *state;
	static const char *const oem[] = { "ok", "" };

	f->cfg.oem_strings = oem;
	f->cfg.nr_oem_strings = 2;
	assert_int_equal(run(f), -EINVAL);
	assert_string_equal(f->err, "SMBIOS tables (2 OEM strings): Invalid argument");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(n) cmocka_unit_test_setup_teardown(n, setup, teardown)
		T(test_boot_params_bzimage_fields),
		T(test_boot_params_initrd_below_initrd_addr_max),
		T(test_boot_params_initrd_too_big_fails),
		T(test_boot_params_cmdline_too_long_fails),
		T(test_boot_params_missing_files_fail),
		T(test_boot_params_not_a_kernel_fails),
		T(test_boot_params_pvh_start_info),
		T(test_boot_params_pvh_without_note_fails),
		T(test_boot_params_high_ram),
		T(test_boot_params_smbios_on_both_paths),
		T(test_boot_params_bad_oem_string_fails),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
