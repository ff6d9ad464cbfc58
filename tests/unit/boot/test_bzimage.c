// SPDX-License-Identifier: MIT
/* test_bzimage.c: bzImage setup-header checks and kernel loading, crafted and real. */
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
#include "boot/bzimage.h"
#include "boot/layout.h"
#include "tests/helpers/th.h"
#include "tests/unit/boot/fake_kernel.h"

#define RAM_SIZE MiB(64)

struct fx {
	struct guest_mem gm;
	uint8_t img[FAKE_BZ_SIZE];
	char err[256];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	th_gm_create(&f->gm, RAM_SIZE);
	fake_bzimage(f->img);
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

static int load(struct fx *f, size_t len, struct bzimage_info *bi)
{
	f->err[0] = 0;
	return bzimage_load(&f->gm, f->img, len, "k", bi, f->err, sizeof(f->err));
}

static void expect_err(struct fx *f, size_t len, const char *msg)
{
	struct bzimage_info bi;

	assert_int_equal(load(f, len, &bi), -EINVAL);
	assert_string_equal(f->err, msg);
}

static void test_bzimage_valid_loads_at_pref_address(void **state)
{
	struct fx *f = *state;
	struct bzimage_info bi;
	uint8_t *k;

	assert_int_equal(load(f, FAKE_BZ_SIZE, &bi), 0);
	assert_int_equal(bi.version, 0x020f);
	assert_int_equal(bi.setup_size, FAKE_SETUP_SIZE);
	assert_int_equal(bi.pm_size, FAKE_PM_SIZE);
	assert_int_equal(bi.load_gpa, BOOT_KERNEL_GPA);
	assert_int_equal(bi.entry64, BOOT_KERNEL_GPA + 0x200);
	assert_int_equal(bi.kernel_end, BOOT_KERNEL_GPA + FAKE_INIT_SIZE);
	assert_int_equal(bi.cmdline_size, 2047);
	assert_int_equal(bi.initrd_addr_max, 0x7fffffff);
	assert_true(bi.initrd_above_4g);
	k = gm_ptr(&f->gm, BOOT_KERNEL_GPA, FAKE_PM_SIZE + 1);
	assert_non_null(k);
	assert_memory_equal(k, f->img + FAKE_SETUP_SIZE, FAKE_PM_SIZE);
	assert_int_equal(k[FAKE_PM_SIZE], 0);
}

static void test_bzimage_too_short_fails(void **state)
{
	expect_err(*state, 0x205, "k: not a bzImage (file has only 517 bytes)");
}

static void test_bzimage_no_hdrs_fails(void **state)
{
	struct fx *f = *state;

	f->img[0x202] = 'X';
	expect_err(f, FAKE_BZ_SIZE, "k: not a bzImage (no HdrS header)");
}

static void test_bzimage_bad_boot_flag_fails(void **state)
{
	struct fx *f = *state;

	fake_hdr(f->img)->boot_flag = 0x55aa;
	expect_err(f, FAKE_BZ_SIZE, "k: bad bzImage boot flag 0x55aa (want 0xaa55)");
}

static void test_bzimage_old_protocol_fails(void **state)
{
	struct fx *f = *state;

	fake_hdr(f->img)->version = 0x020b;
	expect_err(f, FAKE_BZ_SIZE, "k: boot protocol 2.11 too old (need 2.12 or later)");
}

static void test_bzimage_not_64bit_fails(void **state)
{
	struct fx *f = *state;

	fake_hdr(f->img)->xloadflags = XLF_CAN_BE_LOADED_ABOVE_4G;
	expect_err(f, FAKE_BZ_SIZE, "k: not 64-bit capable (no XLF_KERNEL_64 in xloadflags)");
}

static void test_bzimage_not_loaded_high_fails(void **state)
{
	struct fx *f = *state;

	fake_hdr(f->img)->loadflags = 0;
	expect_err(f, FAKE_BZ_SIZE, "k: zImage loading low is not supported (no LOADED_HIGH)");
}

static void test_bzimage_truncated_fails(void **state)
{
	struct fx *f = *state;
	char msg[128];

	snprintf(msg, sizeof(msg), "k: truncated: header says %d bytes, file has %d",
		 FAKE_BZ_SIZE, FAKE_BZ_SIZE - 1);
	expect_err(f, FAKE_BZ_SIZE - 1, msg);
}

static void test_bzimage_truncated_in_header_fails(void **state)
{
	/* HdrS present, header cut inside the 2.12 fields */
	expect_err(*state, 0x260, "k: truncated: header says 616 bytes, file has 608");
}

static void test_bzimage_truncated_just_after_header_fails(void **state)
{
	expect_err(*state, 0x26a, "k: truncated: header says 620 bytes, file has 618");
}

static void test_bzimage_zero_syssize_fails(void **state)
{
	struct fx *f = *state;

	fake_hdr(f->img)->syssize = 0;
	expect_err(f, FAKE_BZ_SIZE, "k: truncated: header says 2560 bytes, file has 10752");
}

static void test_bzimage_syssize_overflow_fails(void **state)
{
	struct fx *f = *state;

	fake_hdr(f->img)->syssize = 0xffffffff;
	expect_err(f, FAKE_BZ_SIZE, "k: truncated: header says 68719479280 bytes, file has 10752");
}

static void test_bzimage_bad_alignment_fails(void **state)
{
	struct fx *f = *state;

	fake_hdr(f->img)->kernel_alignment = 0x300000;
	expect_err(f, FAKE_BZ_SIZE, "k: bad kernel_alignment 0x300000");
	fake_hdr(f->img)->kernel_alignment = 0;
	expect_err(f, FAKE_BZ_SIZE, "k: bad kernel_alignment 0x0");
}

static void test_bzimage_setup_sects_zero_means_four(void **state)
{
	struct fx *f = *state;
	struct bzimage_info bi;

	fake_hdr(f->img)->setup_sects = 0;
	assert_int_equal(load(f, FAKE_BZ_SIZE, &bi), 0);
	assert_int_equal(bi.setup_size, 5 * 512);
}

static void test_bzimage_misaligned_pref_uses_default(void **state)
{
	struct fx *f = *state;
	struct bzimage_info bi;

	fake_hdr(f->img)->pref_address = 0x1100000;
	assert_int_equal(load(f, FAKE_BZ_SIZE, &bi), 0);
	assert_int_equal(bi.load_gpa, BOOT_KERNEL_GPA);
	fake_hdr(f->img)->pref_address = 0;
	assert_int_equal(load(f, FAKE_BZ_SIZE, &bi), 0);
	assert_int_equal(bi.load_gpa, BOOT_KERNEL_GPA);
}

static void test_bzimage_aligned_pref_is_used(void **state)
{
	struct fx *f = *state;
	struct bzimage_info bi;

	fake_hdr(f->img)->pref_address = 0x2000000;
	assert_int_equal(load(f, FAKE_BZ_SIZE, &bi), 0);
	assert_int_equal(bi.load_gpa, 0x2000000);
	assert_int_equal(bi.entry64, 0x2000200);
}

static void test_bzimage_big_alignment_rounds_up(void **state)
{
	struct fx *f = *state;
	struct bzimage_info bi;

	fake_hdr(f->img)->pref_address = 0;
	fake_hdr(f->img)->kernel_alignment = 0x2000000;
	assert_int_equal(load(f, FAKE_BZ_SIZE, &bi), 0);
	assert_int_equal(bi.load_gpa, 0x2000000);
}

static void test_bzimage_init_size_to_end_of_ram_ok(void **state)
{
	struct fx *f = *state;
	struct bzimage_info bi;

	fake_hdr(f->img)->init_size = RAM_SIZE - BOOT_KERNEL_GPA;
	assert_int_equal(load(f, FAKE_BZ_SIZE, &bi), 0);
	assert_int_equal(bi.kernel_end, RAM_SIZE);
}

static void test_bzimage_init_size_past_ram_fails(void **state)
{
	struct fx *f = *state;

	fake_hdr(f->img)->init_size = RAM_SIZE - BOOT_KERNEL_GPA + 1;
	expect_err(f, FAKE_BZ_SIZE,
		   "k: kernel needs 50331649 bytes at 0x1000000, RAM ends at 0x4000000");
}

static void test_bzimage_pm_at_end_of_ram_ok(void **state)
{
	/* The protected-mode bytes end exactly at the end of RAM: the guard page follows. */
	struct fx *f = *state;
	struct bzimage_info bi;

	fake_hdr(f->img)->pref_address = RAM_SIZE - FAKE_PM_SIZE;
	fake_hdr(f->img)->relocatable_kernel = 0;
	fake_hdr(f->img)->init_size = FAKE_PM_SIZE;
	assert_int_equal(load(f, FAKE_BZ_SIZE, &bi), 0);
	assert_int_equal(bi.load_gpa, RAM_SIZE - FAKE_PM_SIZE);
	assert_int_equal(bi.kernel_end, RAM_SIZE);
}

static void test_bzimage_non_relocatable_bad_pref_fails(void **state)
{
	struct fx *f = *state;

	fake_hdr(f->img)->relocatable_kernel = 0;
	fake_hdr(f->img)->pref_address = RAM_SIZE;
	expect_err(f, FAKE_BZ_SIZE, "k: kernel needs 4194304 bytes at 0x4000000, RAM ends at 0x4000000");
	fake_hdr(f->img)->pref_address = 0x80000; /* below 1 MiB: the boot area */
	expect_err(f, FAKE_BZ_SIZE, "k: kernel needs 4194304 bytes at 0x80000, RAM ends at 0x4000000");
}

static void test_bzimage_kernel_release_crafted(void **state)
{
	struct fx *f = *state;
	char path[] = "/tmp/av-test-bzimage-XXXXXX", out[64];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, f->img, FAKE_BZ_SIZE), FAKE_BZ_SIZE);
	close(fd);
	assert_int_equal(boot_kernel_release(path, out, sizeof(out)), 0);
	assert_string_equal(out, "6.1.0-99-test-amd64");
	assert_int_equal(boot_kernel_release(path, out, 19), -ENOSPC);
	assert_int_equal(boot_kernel_release(path, out, 20), 0);
	unlink(path);
	assert_int_equal(boot_kernel_release(path, out, sizeof(out)), -ENOENT);
}

static const char *real_bzimage(void)
{
	static const char probe[] =
		"/var/cache/agentvmm-kernel-probe/x/boot/vmlinuz-6.1.0-56-cloud-amd64";
	const char *p = th_test_kernel();

	if (!p && access(probe, R_OK) == 0)
		p = probe;
	return p;
}

static void test_bzimage_real_kernel_loads(void **state)
{
	const char *path = real_bzimage();
	struct guest_mem gm;
	struct bzimage_info bi;
	char err[256], rel[128];
	size_t len;
	uint8_t *img;

	(void)state;
	if (!path)
		skip();
	img = th_read_file(path, &len);
	assert_non_null(img);
	th_gm_create(&gm, MiB(256));
	assert_int_equal(bzimage_load(&gm, img, len, path, &bi, err, sizeof(err)), 0);
	assert_true(bi.version >= 0x020c);
	assert_int_equal(bi.load_gpa, BOOT_KERNEL_GPA);
	assert_int_equal(bi.entry64, BOOT_KERNEL_GPA + 0x200);
	assert_true(bi.kernel_end > bi.load_gpa + bi.pm_size - 1);
	assert_true(bi.cmdline_size >= 255);
	assert_memory_equal(gm_ptr(&gm, BOOT_KERNEL_GPA, 4096), img + bi.setup_size, 4096);
	/* truncating the real file by one byte is caught */
	assert_int_equal(bzimage_load(&gm, img, len - bi.pm_size / 2, path, &bi, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "truncated: header says"));
	assert_int_equal(boot_kernel_release(path, rel, sizeof(rel)), 0);
	assert_non_null(strstr(rel, "-amd64"));
	assert_null(strchr(rel, ' '));
	gm_destroy(&gm);
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(n) cmocka_unit_test_setup_teardown(n, setup, teardown)
		T(test_bzimage_valid_loads_at_pref_address),
		T(test_bzimage_too_short_fails),
		T(test_bzimage_no_hdrs_fails),
		T(test_bzimage_bad_boot_flag_fails),
		T(test_bzimage_old_protocol_fails),
		T(test_bzimage_not_64bit_fails),
		T(test_bzimage_not_loaded_high_fails),
		T(test_bzimage_truncated_fails),
		T(test_bzimage_truncated_in_header_fails),
		T(test_bzimage_truncated_just_after_header_fails),
		T(test_bzimage_zero_syssize_fails),
		T(test_bzimage_syssize_overflow_fails),
		T(test_bzimage_bad_alignment_fails),
		T(test_bzimage_setup_sects_zero_means_four),
		T(test_bzimage_misaligned_pref_uses_default),
		T(test_bzimage_aligned_pref_is_used),
		T(test_bzimage_big_alignment_rounds_up),
		T(test_bzimage_init_size_to_end_of_ram_ok),
		T(test_bzimage_init_size_past_ram_fails),
		T(test_bzimage_pm_at_end_of_ram_ok),
		T(test_bzimage_non_relocatable_bad_pref_fails),
		T(test_bzimage_kernel_release_crafted),
		cmocka_unit_test(test_bzimage_real_kernel_loads),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
