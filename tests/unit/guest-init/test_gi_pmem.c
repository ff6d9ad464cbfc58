// SPDX-License-Identifier: MIT
/*
 * test_gi_pmem.c: guest-init's lookup of a virtio-pmem block device by the
 * start of its nd region, against a fake /sys laid out as Linux 6.1's (relative
 * links as sysfs has them): found, several regions, wrong address, missing
 * and garbage resource files, names that are not "pmem" + digits, a region
 * without a block device. The item syntax is in test_gi_cmdline.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/helpers/th_files.h"

#include "guest-init/pmem.h"

#define GPA0 0x140000000ull
#define GPA1 0x200000000ull

static char tmp[64];
static char name[32];

/* (tmp)/(rel), printf-formatted. */
static const char *at(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *at(const char *fmt, ...)
{
	static char path[512];
	char rel[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	return path;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void write_resource(int region, const char *text)
{
	write_file(at("sys/devices/pci0000:00/0000:00:0%d.0/virtio%d/ndbus%d/region%d/resource",
		      region + 4, region, region, region), text, strlen(text));
}

/*
 * Region (region) with resource (text) (NULL: none), its namespace
 * namespaceR.0 and, with (blk) set, the block device (blk) under it, linked
 * from /sys/block and /sys/bus/nd/devices as the kernel links them.
 */
static void add_region(int region, const char *text, const char *blk)
{
	char reg[200];

	snprintf(reg, sizeof(reg), "devices/pci0000:00/0000:00:0%d.0/virtio%d/ndbus%d/region%d",
		 region + 4, region, region, region);
	assert_int_equal(th_sh("mkdir -p '%s/sys/%s/namespace%d.0' '%s/sys/block' "
			       "'%s/sys/bus/nd/devices' && ln -s '../../../%s' "
			       "'%s/sys/bus/nd/devices/region%d'",
			       tmp, reg, region, tmp, tmp, reg, tmp, region), 0);
	if (text)
		write_resource(region, text);
	if (!blk)
		return;
	assert_int_equal(th_sh("mkdir -p '%s/sys/%s/namespace%d.0/block/%s' && "
			       "ln -s '../../../namespace%d.0' "
			       "'%s/sys/%s/namespace%d.0/block/%s/device' && "
			       "ln -s '../%s/namespace%d.0/block/%s' '%s/sys/block/%s'",
			       tmp, reg, region, blk, region, tmp, reg, region, blk, reg, region,
			       blk, tmp, blk), 0);
}

static int setup(void **state)
{
	snprintf(tmp, sizeof(tmp), "/tmp/gi_pmem_XXXXXX");
	return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
	return th_sh("rm -rf '%s'", tmp);
}

static void test_gi_pmem_find_region_found(void **state)
{
	add_region(0, "0x140000000\n", "pmem0");
	assert_int_equal(gi_pmem_find(tmp, GPA0, name, sizeof(name)), 0);
	assert_string_equal(name, "pmem0");
	assert_true(gi_pmem_region_exists(tmp, GPA0));
	/* the path really goes through the device link: the region is its target's parent */
	assert_int_equal(access(at("sys/block/pmem0/device/../resource"), R_OK), 0);
}

static void test_gi_pmem_find_picks_the_right_region(void **state)
{
	add_region(0, "0x140000000\n", "pmem0");
	add_region(1, "0x200000000", "pmem1");	/* no newline: accepted too */
	assert_int_equal(gi_pmem_find(tmp, GPA1, name, sizeof(name)), 0);
	assert_string_equal(name, "pmem1");
	assert_int_equal(gi_pmem_find(tmp, GPA0, name, sizeof(name)), 0);
	assert_string_equal(name, "pmem0");
}

static void test_gi_pmem_find_wrong_address_not_found(void **state)
{
	add_region(0, "0x140000000\n", "pmem0");
	strcpy(name, "unchanged");
	assert_int_equal(gi_pmem_find(tmp, GPA1, name, sizeof(name)), -ENOENT);
	assert_int_equal(gi_pmem_find(tmp, GPA0 + 0x200000, name, sizeof(name)), -ENOENT);
	assert_string_equal(name, "unchanged");
	assert_false(gi_pmem_region_exists(tmp, GPA1));
}

static void test_gi_pmem_find_no_sysfs_not_found(void **state)
{
	assert_int_equal(gi_pmem_find(tmp, GPA0, name, sizeof(name)), -ENOENT);
	assert_false(gi_pmem_region_exists(tmp, GPA0));
	assert_int_equal(gi_pmem_find("/nonexistent-root", GPA0, name, sizeof(name)), -ENOENT);
}

static void test_gi_pmem_find_missing_resource_not_found(void **state)
{
	add_region(0, NULL, "pmem0");
	assert_int_equal(gi_pmem_find(tmp, GPA0, name, sizeof(name)), -ENOENT);
	assert_false(gi_pmem_region_exists(tmp, GPA0));
	/* a dangling device link */
	add_region(1, "0x200000000\n", NULL);
	assert_int_equal(th_sh("mkdir -p '%s/sys/devices/x/block/pmem1' && "
			       "ln -s ../../../gone '%s/sys/devices/x/block/pmem1/device' && "
			       "ln -s ../devices/x/block/pmem1 '%s/sys/block/pmem1'",
			       tmp, tmp, tmp), 0);
	assert_int_equal(gi_pmem_find(tmp, GPA1, name, sizeof(name)), -ENOENT);
}

static void test_gi_pmem_find_garbage_resource_not_found(void **state)
{
	static const char *const garbage[] = {
		"",
		"\n",
		"garbage\n",
		"0x\n",
		"0X140000000\n",
		"140000000\n",
		"0x140000000 \n",
		" 0x140000000\n",
		"0x140000000\n\n",
		"0x140000000\r\n",
		"0x14000000g\n",
		"0x0000000140000000\n1",
		"0x00000000140000000\n",	/* 17 digits, even with the right value */
		"0x1000000140000000\n",		/* wraps to GPA0 only if digits overflowed */
		"0x140000000\n0x140000000\n",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	char big[8192];
	size_t i;

	add_region(0, "0x140000000\n", "pmem0");
	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		write_resource(0, garbage[i]);
		if (gi_pmem_find(tmp, GPA0, name, sizeof(name)) != -ENOENT ||
		    gi_pmem_region_exists(tmp, GPA0))
			fail_msg("resource '%s' was accepted", garbage[i]);
	}
	/* an embedded NUL ends nothing early */
	write_file(at("sys/devices/pci0000:00/0000:00:04.0/virtio0/ndbus0/region0/resource"),
		   "0x14\0" "0000000\n", 13);
	assert_int_equal(gi_pmem_find(tmp, GPA0, name, sizeof(name)), -ENOENT);
	/* the right value followed by a large tail: read bounded, refused */
	memset(big, '\n', sizeof(big));
	memcpy(big, "0x140000000", 11);
	write_file(at("sys/devices/pci0000:00/0000:00:04.0/virtio0/ndbus0/region0/resource"), big,
		   sizeof(big));
	assert_int_equal(gi_pmem_find(tmp, GPA0, name, sizeof(name)), -ENOENT);
	/* back to the kernel's form: found again */
	write_resource(0, "0x140000000\n");
	assert_int_equal(gi_pmem_find(tmp, GPA0, name, sizeof(name)), 0);
}

static void test_gi_pmem_find_odd_resource_files_skipped(void **state)
{
	const char *res = "sys/devices/pci0000:00/0000:00:04.0/virtio0/ndbus0/region0/resource";

	add_region(0, NULL, "pmem0");
	/* a directory, a FIFO (must not block PID 1), a symlink to a good file */
	assert_int_equal(mkdir(at("%s", res), 0755), 0);
	assert_int_equal(gi_pmem_find(tmp, GPA0, name, sizeof(name)), -ENOENT);
	assert_int_equal(rmdir(at("%s", res)), 0);
	assert_int_equal(mkfifo(at("%s", res), 0600), 0);
	assert_int_equal(gi_pmem_find(tmp, GPA0, name, sizeof(name)), -ENOENT);
	assert_false(gi_pmem_region_exists(tmp, GPA0));
	assert_int_equal(unlink(at("%s", res)), 0);
	char good[128];

	snprintf(good, sizeof(good), "%s", at("good"));
	write_file(good, "0x140000000\n", 12);
	assert_int_equal(symlink(good, at("%s", res)), 0);
	assert_int_equal(gi_pmem_find(tmp, GPA0, name, sizeof(name)), -ENOENT);
}

static void test_gi_pmem_find_only_pmem_digits(void **state)
{
	add_region(0, "0x140000000\n", "pmem0s");	/* BTT */
	add_region(1, "0x140000000\n", "pmem");
	add_region(2, "0x140000000\n", "pmem12345678901");	/* 11 digits */
	add_region(3, "0x140000000\n", "vda");
	add_region(4, "0x140000000\n", "pmem-1");
	assert_int_equal(gi_pmem_find(tmp, GPA0, name, sizeof(name)), -ENOENT);
	/* the regions themselves are there */
	assert_true(gi_pmem_region_exists(tmp, GPA0));
	add_region(5, "0x140000000\n", "pmem1234567890");	/* 10 digits: taken */
	assert_int_equal(gi_pmem_find(tmp, GPA0, name, sizeof(name)), 0);
	assert_string_equal(name, "pmem1234567890");
}

static void test_gi_pmem_find_region_without_block_device(void **state)
{
	/* virtio_pmem bound, nd_pmem did not: the region exists, no pmemN */
	add_region(0, "0x140000000\n", NULL);
	assert_int_equal(gi_pmem_find(tmp, GPA0, name, sizeof(name)), -ENOENT);
	assert_true(gi_pmem_region_exists(tmp, GPA0));
	assert_false(gi_pmem_region_exists(tmp, GPA1));
}

static void test_gi_pmem_find_small_name_buffer_fails(void **state)
{
	char small[5];

	add_region(0, "0x140000000\n", "pmem0");
	assert_int_equal(gi_pmem_find(tmp, GPA0, small, sizeof(small)), -ENAMETOOLONG);
	assert_int_equal(gi_pmem_find(tmp, GPA0, name, 6), 0);
	assert_string_equal(name, "pmem0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_gi_pmem_find_region_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gi_pmem_find_picks_the_right_region, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_gi_pmem_find_wrong_address_not_found, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_gi_pmem_find_no_sysfs_not_found, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_gi_pmem_find_missing_resource_not_found, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_gi_pmem_find_garbage_resource_not_found, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_gi_pmem_find_odd_resource_files_skipped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_gi_pmem_find_only_pmem_digits, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_gi_pmem_find_region_without_block_device,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_gi_pmem_find_small_name_buffer_fails, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
