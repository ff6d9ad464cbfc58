// SPDX-License-Identifier: MIT
/*
 * test_smbios.c: the SMBIOS 3.0 tables as Linux finds and reads them: the
 * entry point by its scan of 0xf0000..0xfffff, every structure parsed back at
 * the spec's offsets, the bounds, the errors, and the e820 reservation.
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
#include <cmocka.h>

#include "boot/e820.h"
#include "boot/layout.h"
#include "boot/smbios.h"
#include "tests/helpers/th.h"

#define TEST_RAM MiB(2)

/* Offsets from SMBIOS 3.0.0 (DSP0134), not from the builder's structs. */
#define EP_CHECKSUM 5
#define EP_LENGTH 6
#define EP_MAJOR 7
#define EP_MINOR 8
#define EP_DOCREV 9
#define EP_REVISION 10
#define EP_RESERVED 11
#define EP_TABLE_MAX 12
#define EP_TABLE_ADDR 16
#define T0_VENDOR 4
#define T0_VERSION 5
#define T0_DATE 8
#define T0_CHARS 10
#define T0_EXT1 18
#define T0_EXT2 19
#define T0_BIOS_MAJOR 20
#define T0_EC_MINOR 23
#define T1_MANUFACTURER 4
#define T1_PRODUCT 5
#define T1_VERSION 6
#define T1_SERIAL 7
#define T1_UUID 8
#define T1_WAKEUP 24
#define T11_COUNT 4

static const uint8_t test_uuid[16] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0x4d, 0xef,
				       0x80, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77 };

struct fix {
	struct guest_mem gm;
	struct smbios_config cfg;
};

static int fix_setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	th_gm_create(&f->gm, TEST_RAM);
	f->cfg.version = "1.2.3";
	memcpy(f->cfg.uuid, test_uuid, sizeof(test_uuid));
	*state = f;
	return 0;
}

static int fix_teardown(void **state)
{
	struct fix *f = *state;

	gm_destroy(&f->gm);
	free(f);
	return 0;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

/*
 * What Linux's dmi_scan_machine() does without EFI: 16-byte steps through
 * 0xf0000..0xfffff, the first "_SM3_" with length < 32 and a zero checksum.
 * Return: its address, or 0.
 */
static gpa_t linux_scan(const struct guest_mem *gm)
{
	const uint8_t *p = gm_ptr(gm, 0xf0000, 0x10000);

	assert_non_null(p);
	for (size_t off = 0; off + 32 <= 0x10000; off += 16)
		if (!memcmp(p + off, "_SM3_", 5) && p[off + EP_LENGTH] < 32 &&
		    sum(p + off, p[off + EP_LENGTH]) == 0)
			return 0xf0000 + off;
	return 0;
}

/* One structure of a table: its header, formatted area and strings. */
struct sm_struct {
	uint8_t type, len;
	uint16_t handle;
	const uint8_t *area;
	unsigned nr_str;
	const char *str[SMBIOS_OEM_MAX_STRINGS + 1];
};

struct sm_table {
	unsigned nr;
	struct sm_struct s[8];
};

/*
 * Walk the (len) bytes at (t) structure by structure, as the spec lays them
 * out (§6.1.2, §6.1.3), failing on anything malformed; the table must end
 * with type 127 exactly at (len).
 */
static void parse_table(const uint8_t *t, size_t len, struct sm_table *out)
{
	size_t off = 0;

	memset(out, 0, sizeof(*out));
	for (;;) {
		struct sm_struct *s = &out->s[out->nr++];

		assert_true(out->nr <= 8);
		assert_true(off + 4 <= len);
		s->type = t[off];
		s->len = t[off + 1];
		s->handle = (uint16_t)(t[off + 2] | t[off + 3] << 8);
		s->area = t + off;
		assert_true(s->len >= 4 && off + s->len + 2 <= len);
		off += s->len;
		if (!t[off] && !t[off + 1]) {
			off += 2; /* no strings */
		} else {
			while (t[off]) {
				const uint8_t *nul = memchr(t + off, 0, len - off);

				assert_non_null(nul);
				assert_true(s->nr_str < SMBIOS_OEM_MAX_STRINGS);
				s->str[s->nr_str++] = (const char *)t + off;
				off = (size_t)(nul - t) + 1;
				assert_true(off < len);
			}
			off++; /* the set's terminating NUL */
		}
		if (s->type == 127)
			break;
	}
	assert_int_equal(off, len);
}

/* The entry point Linux finds, checked field by field; the parsed table in (tab). */
static size_t read_back(struct fix *f, struct sm_table *tab)
{
	const uint8_t *ep;
	size_t len;

	assert_int_equal(linux_scan(&f->gm), BOOT_SMBIOS_EP_GPA);
	ep = gm_ptr(&f->gm, BOOT_SMBIOS_EP_GPA, SMBIOS_EP_LEN);
	assert_int_equal(ep[EP_LENGTH], 0x18);
	assert_int_equal(sum(ep, 0x18), 0);
	assert_int_equal(ep[EP_MAJOR], 3);
	assert_int_equal(ep[EP_MINOR], 0);
	assert_int_equal(ep[EP_DOCREV], 0);
	assert_int_equal(ep[EP_REVISION], 1);
	assert_int_equal(ep[EP_RESERVED], 0);
	assert_int_equal(le64(ep + EP_TABLE_ADDR), BOOT_SMBIOS_TABLE_GPA);
	len = le32(ep + EP_TABLE_MAX);
	assert_true(len > 0 && BOOT_SMBIOS_TABLE_GPA + len <= BOOT_SMBIOS_END);
	parse_table(gm_ptr(&f->gm, BOOT_SMBIOS_TABLE_GPA, len), len, tab);
	return len;
}

static void build_ok(struct fix *f, size_t *len)
{
	assert_int_equal(smbios_build(&f->gm, &f->cfg, len), 0);
}

static void test_smbios_linux_scan_finds_entry_point(void **state)
{
	struct fix *f = *state;
	struct sm_table tab;
	size_t len;

	build_ok(f, &len);
	assert_int_equal(read_back(f, &tab), len);
}

static void test_smbios_types_0_1_127_without_oem_strings(void **state)
{
	struct fix *f = *state;
	struct sm_table tab;
	const struct sm_struct *s;
	uint8_t uuid[16];

	build_ok(f, NULL);
	read_back(f, &tab);
	assert_int_equal(tab.nr, 3);
	s = &tab.s[0];
	assert_int_equal(s->type, 0);
	assert_int_equal(s->len, 0x18);
	assert_int_equal(s->nr_str, 2);
	assert_int_equal(s->area[T0_VENDOR], 1);
	assert_string_equal(s->str[s->area[T0_VENDOR] - 1], "agentvmm");
	assert_string_equal(s->str[s->area[T0_VERSION] - 1], "1.2.3");
	assert_int_equal(s->area[T0_DATE], 0);
	assert_int_equal(le64(s->area + T0_CHARS), 1u << 7);  /* PCI */
	assert_int_equal(s->area[T0_EXT1], 1u << 0);           /* ACPI */
	assert_int_equal(s->area[T0_EXT2], 1u << 4);           /* virtual machine */
	for (int i = T0_BIOS_MAJOR; i <= T0_EC_MINOR; i++)
		assert_int_equal(s->area[i], 0xff);
	s = &tab.s[1];
	assert_int_equal(s->type, 1);
	assert_int_equal(s->len, 0x1b);
	assert_string_equal(s->str[s->area[T1_MANUFACTURER] - 1], "agentvmm");
	assert_string_equal(s->str[s->area[T1_PRODUCT] - 1], "agentvmm VM");
	assert_string_equal(s->str[s->area[T1_VERSION] - 1], "1.2.3");
	assert_int_equal(s->area[T1_SERIAL], 0);
	assert_int_equal(s->area[T1_WAKEUP], 6);
	/* SMBIOS 2.6+: time_low, time_mid, time_hi_and_version little-endian */
	memcpy(uuid, s->area + T1_UUID, 16);
	const uint8_t want[16] = { 0x78, 0x56, 0x34, 0x12, 0xbc, 0x9a, 0xef, 0x4d,
				   0x80, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77 };
	assert_memory_equal(uuid, want, 16);
	s = &tab.s[2];
	assert_int_equal(s->type, 127);
	assert_int_equal(s->len, 4);
	assert_int_equal(s->nr_str, 0);
	/* handles are distinct */
	assert_int_equal(tab.s[0].handle, 0);
	assert_int_equal(tab.s[1].handle, 1);
	assert_int_equal(tab.s[2].handle, 2);
}

static void test_smbios_oem_strings_byte_for_byte(void **state)
{
	struct fix *f = *state;
	static const char *const oem[] = {
		"io.systemd.credential:hostname=vm1",
		"spaces and = , ; \"quotes\" 'too'",
		"\xff\x01\x7f tab\there newline\n ünï",
	};
	struct sm_table tab;
	const struct sm_struct *s;

	f->cfg.oem = oem;
	f->cfg.nr_oem = 3;
	build_ok(f, NULL);
	read_back(f, &tab);
	assert_int_equal(tab.nr, 4);
	s = &tab.s[2];
	assert_int_equal(s->type, 11);
	assert_int_equal(s->len, 5);
	assert_int_equal(s->handle, 2);
	assert_int_equal(s->area[T11_COUNT], 3);
	assert_int_equal(s->nr_str, 3);
	for (int i = 0; i < 3; i++)
		assert_string_equal(s->str[i], oem[i]);
	assert_int_equal(tab.s[3].type, 127);
	assert_int_equal(tab.s[3].handle, 3);
}

/* (nr) strings of (each) bytes apiece (NUL included), the last one (last) bytes. */
static const char **make_strings(unsigned nr, size_t each, size_t last)
{
	const char **v = calloc(nr, sizeof(*v));

	assert_non_null(v);
	for (unsigned i = 0; i < nr; i++) {
		size_t n = i + 1 == nr ? last : each;
		char *s = malloc(n);

		assert_non_null(s);
		memset(s, 'a' + i % 26, n - 1);
		s[n - 1] = 0;
		v[i] = s;
	}
	return v;
}

static void free_strings(const char **v, unsigned nr)
{
	for (unsigned i = 0; i < nr; i++)
		free((void *)(uintptr_t)v[i]);
	free(v);
}

static void test_smbios_255_strings_ok_256_refused(void **state)
{
	struct fix *f = *state;
	const char **v = make_strings(256, 2, 2);
	struct sm_table tab;
	size_t len;

	f->cfg.oem = v;
	f->cfg.nr_oem = 256;
	assert_int_equal(smbios_check(&f->cfg, &len), -E2BIG);
	assert_int_equal(smbios_build(&f->gm, &f->cfg, NULL), -E2BIG);
	assert_int_equal(linux_scan(&f->gm), 0); /* nothing written */
	f->cfg.nr_oem = 255;
	build_ok(f, NULL);
	read_back(f, &tab);
	assert_int_equal(tab.s[2].area[T11_COUNT], 255);
	assert_int_equal(tab.s[2].nr_str, 255);
	free_strings(v, 256);
}

/*
 * The largest input: 255 strings, SMBIOS_OEM_MAX_BYTES together. It fits the
 * window below the reset stub, and Linux's single early_memremap() of the
 * table (at most 64 pages, NR_FIX_BTMAPS) maps it; one byte more is refused.
 */
static void test_smbios_byte_bound_exact_fits_one_more_refused(void **state)
{
	struct fix *f = *state;
	size_t each = SMBIOS_OEM_MAX_BYTES / 255;
	const char **v = make_strings(255, each, SMBIOS_OEM_MAX_BYTES - 254 * each);
	const char **w = make_strings(255, each, SMBIOS_OEM_MAX_BYTES - 254 * each + 1);
	struct sm_table tab;
	size_t len;

	f->cfg.oem = w;
	f->cfg.nr_oem = 255;
	assert_int_equal(smbios_build(&f->gm, &f->cfg, NULL), -E2BIG);
	f->cfg.oem = v;
	build_ok(f, &len);
	print_message("  largest table: %zu bytes, window %llu\n", len,
		      (unsigned long long)(BOOT_SMBIOS_END - BOOT_SMBIOS_TABLE_GPA));
	assert_int_equal(read_back(f, &tab), len);
	assert_true(BOOT_SMBIOS_TABLE_GPA + len <= BOOT_SMBIOS_END);
	assert_true((ALIGN_UP(BOOT_SMBIOS_TABLE_GPA + len, 4096) -
		     ALIGN_DOWN(BOOT_SMBIOS_TABLE_GPA, 4096)) / 4096 <= 64);
	for (unsigned i = 0; i < 255; i++)
		assert_string_equal(tab.s[2].str[i], v[i]);
	/* one string alone may not exceed the bound either */
	const char **one = make_strings(1, 0, SMBIOS_OEM_MAX_BYTES + 1);
	f->cfg.oem = one;
	f->cfg.nr_oem = 1;
	assert_int_equal(smbios_check(&f->cfg, &len), -E2BIG);
	free_strings(one, 1);
	free_strings(v, 255);
	free_strings(w, 255);
}

static void test_smbios_empty_or_null_string_refused(void **state)
{
	struct fix *f = *state;
	const char *empty[] = { "a", "" }, *null[] = { NULL };
	size_t len;

	f->cfg.oem = empty;
	f->cfg.nr_oem = 2;
	assert_int_equal(smbios_build(&f->gm, &f->cfg, NULL), -EINVAL);
	assert_int_equal(linux_scan(&f->gm), 0);
	f->cfg.oem = null;
	f->cfg.nr_oem = 1;
	assert_int_equal(smbios_check(&f->cfg, &len), -EINVAL);
}

static void test_smbios_bad_version_refused(void **state)
{
	struct fix *f = *state;
	char longv[SMBIOS_VERSION_MAX + 2];
	size_t len;

	f->cfg.version = NULL;
	assert_int_equal(smbios_check(&f->cfg, &len), -EINVAL);
	f->cfg.version = "";
	assert_int_equal(smbios_check(&f->cfg, &len), -EINVAL);
	memset(longv, 'v', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = 0;
	f->cfg.version = longv;
	assert_int_equal(smbios_check(&f->cfg, &len), -EINVAL);
	longv[SMBIOS_VERSION_MAX] = 0;
	assert_int_equal(smbios_check(&f->cfg, &len), 0);
}

static void test_smbios_window_too_small_enospc(void **state)
{
	struct fix *f = *state;
	size_t need, len;

	assert_int_equal(smbios_check(&f->cfg, &need), 0);
	assert_int_equal(smbios_build_at(&f->gm, &f->cfg, BOOT_SMBIOS_EP_GPA,
					 BOOT_SMBIOS_TABLE_GPA, need - 1, NULL), -ENOSPC);
	assert_int_equal(linux_scan(&f->gm), 0);
	assert_int_equal(smbios_build_at(&f->gm, &f->cfg, BOOT_SMBIOS_EP_GPA,
					 BOOT_SMBIOS_TABLE_GPA, need, &len), 0);
	assert_int_equal(len, need);
}

static void test_smbios_misaligned_entry_point_einval(void **state)
{
	struct fix *f = *state;

	assert_int_equal(smbios_build_at(&f->gm, &f->cfg, BOOT_SMBIOS_EP_GPA + 8,
					 BOOT_SMBIOS_TABLE_GPA, 0x1000, NULL), -EINVAL);
}

static void test_smbios_outside_ram_efault(void **state)
{
	struct fix *f = *state;

	/* a table that would end one byte past the end of RAM */
	assert_int_equal(smbios_build_at(&f->gm, &f->cfg, BOOT_SMBIOS_EP_GPA, TEST_RAM - 16,
					 0x1000, NULL), -EFAULT);
	assert_int_equal(smbios_build_at(&f->gm, &f->cfg, TEST_RAM, BOOT_SMBIOS_TABLE_GPA,
					 0x1000, NULL), -EFAULT);
}

/* Both boot paths hand the guest this map: the window must be reserved, never RAM. */
static void test_smbios_window_reserved_in_e820(void **state)
{
	struct fix *f = *state;
	struct e820_entry t[E820_MAX_ENTRIES];
	int nr = e820_build(&f->gm, t, E820_MAX_ENTRIES);
	bool covered = false;

	assert_true(nr > 0);
	for (int i = 0; i < nr; i++) {
		bool overlaps = t[i].addr < BOOT_SMBIOS_END && BOOT_SMBIOS_EP_GPA < t[i].addr + t[i].size;

		if (t[i].type == E820_TYPE_RAM)
			assert_false(overlaps);
		if (t[i].type == E820_TYPE_RESERVED && t[i].addr <= BOOT_SMBIOS_EP_GPA &&
		    BOOT_SMBIOS_END <= t[i].addr + t[i].size)
			covered = true;
	}
	assert_true(covered);
}

int main(void)
{
#define T(n) cmocka_unit_test_setup_teardown(n, fix_setup, fix_teardown)
	const struct CMUnitTest tests[] = {
		T(test_smbios_linux_scan_finds_entry_point),
		T(test_smbios_types_0_1_127_without_oem_strings),
		T(test_smbios_oem_strings_byte_for_byte),
		T(test_smbios_255_strings_ok_256_refused),
		T(test_smbios_byte_bound_exact_fits_one_more_refused),
		T(test_smbios_empty_or_null_string_refused),
		T(test_smbios_bad_version_refused),
		T(test_smbios_window_too_small_enospc),
		T(test_smbios_misaligned_entry_point_einval),
		T(test_smbios_outside_ram_efault),
		T(test_smbios_window_reserved_in_e820),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
