// SPDX-License-Identifier: MIT
/* test_snapshot_file.c: the template file (vmm/snapshot_file.c): round trip, sparse RAM, every refusal. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/snapshot_file.h"

#define VER "1.2.3-test"
#define RAM_LEN (4u << 20)

static char path[64];
static uint8_t *ram;

static const struct snap_ident ident = {
	.mem_bytes = RAM_LEN, .nr_vcpus = 2, .boot_kind = SNAP_BOOT_RAW, .image_size = 182,
	.image_crc = 0x763c4f05, .cpuid_crc = 0x11223344,
};

/* A synthetic template: VM, two vCPUs, a device, one RAM region with 3 pages written. */
static void write_template(const char *version)
{
	struct snap_writer w;
	uint8_t *meta;
	size_t len;
	int fd;

	snap_w_init(&w, &ident, version);
	snap_w_add(&w, SNAP_SEC_VM, 0, "vmstate", 7);
	snap_w_add(&w, SNAP_SEC_VCPU, 0, "cpu0", 4);
	snap_w_add(&w, SNAP_SEC_VCPU, 1, "cpu1!", 5);
	snap_w_add(&w, SNAP_SEC_DEVICE, SNAP_DEV_COM1, "uart", 4);
	snap_w_add_ram(&w, 0, 0, RAM_LEN);
	assert_int_equal(snap_w_finish(&w, &meta, &len), 0);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, meta, len, 0), (ssize_t)len);
	assert_int_equal(snap_write_ram(fd, w.sec[4].offset, ram, RAM_LEN), 0);
	assert_int_equal(ftruncate(fd, (off_t)w.hdr.file_size), 0);
	close(fd);
	free(meta);
	snap_w_free(&w);
}

static int setup(void **state)
{
	(void)state;
	snprintf(path, sizeof(path), "/tmp/av-snapfile-XXXXXX");
	close(mkstemp(path));
	ram = calloc(1, RAM_LEN);
	ram[0] = 1;                   /* page 0 */
	ram[5 * 4096 + 17] = 2;       /* page 5 */
	ram[RAM_LEN - 1] = 3;         /* the last page */
	write_template(VER);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	free(ram);
	return 0;
}

static int open_it(struct snap_file *f, char *err)
{
	f->fd = -1;
	return snap_open(f, path, VER, err, 256);
}

static void test_snapfile_round_trip(void **state)
{
	struct snap_file f;
	char err[256] = "";
	const struct snap_section *s;
	uint8_t *back = calloc(1, RAM_LEN);
	struct stat st;

	(void)state;
	assert_int_equal(open_it(&f, err), 0);
	assert_memory_equal(&f.info.hdr.id, &ident, sizeof(ident));
	assert_int_equal(f.info.nr, 5);
	s = snap_find(&f.info, SNAP_SEC_VCPU, 1);
	assert_non_null(s);
	assert_int_equal(s->length, 5);
	assert_memory_equal(snap_payload(&f.info, s), "cpu1!", 5);
	s = snap_find(&f.info, SNAP_SEC_RAM, 0);
	assert_non_null(s);
	assert_int_equal(s->offset % SNAP_RAM_ALIGN, 0);
	assert_int_equal(snap_read_ram(f.fd, s->offset, back, s->length), 0);
	assert_memory_equal(back, ram, RAM_LEN);
	struct snap_region exp = { 0, RAM_LEN }, bad = { 0, RAM_LEN / 2 };
	assert_int_equal(snap_check_ram(&f.info, &exp, 1, err, sizeof(err)), 0);
	assert_int_equal(snap_check_ram(&f.info, &bad, 1, err, sizeof(err)), -EINVAL);
	snap_close(&f);
	/* sparse: 3 pages of RAM and the metadata, not 6 MiB */
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > RAM_LEN);
	assert_true((uint64_t)st.st_blocks * 512 <= 64 * 1024);
	free(back);
}

static void expect_refused(const char *what)
{
	struct snap_file f;
	char err[256] = "";

	assert_int_equal(open_it(&f, err), -EINVAL);
	if (!strstr(err, what))
		fail_msg("message '%s' lacks '%s'", err, what);
	assert_int_equal(f.fd, -1);
}

/* Patch (len) bytes at (off) of the file. */
static void patch(off_t off, const void *p, size_t len)
{
	int fd = open(path, O_RDWR);

	assert_int_equal(pwrite(fd, p, len, off), (ssize_t)len);
	close(fd);
}

/* Patch a header or section field and fix the crc, so only the field is wrong. */
static void patch_meta(off_t off, const void *p, size_t len)
{
	struct snap_header h;
	uint8_t *m;
	int fd = open(path, O_RDWR);

	assert_int_equal(pread(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	m = malloc(h.meta_size);
	assert_int_equal(pread(fd, m, h.meta_size, 0), (ssize_t)h.meta_size);
	memcpy(m + off, p, len);
	memcpy(&h, m, sizeof(h));
	h.meta_crc = 0;
	memcpy(m, &h, sizeof(h));
	/* the crc as the writer computes it: header with zero crc, then the rest */
	h.meta_crc = snap_crc(m, h.meta_size);
	memcpy(m, &h, sizeof(h));
	assert_int_equal(pwrite(fd, m, h.meta_size, 0), (ssize_t)h.meta_size);
	close(fd);
	free(m);
}

static void test_snapfile_bad_magic(void **state)
{
	(void)state;
	patch(0, "XVMTMPL", 7);
	expect_refused("bad magic");
}

static void test_snapfile_other_format_version(void **state)
{
	uint32_t v = SNAP_FORMAT_VERSION + 1;

	(void)state;
	patch_meta(offsetof(struct snap_header, format_version), &v, 4);
	expect_refused("template format version 2");
}

static void test_snapfile_other_agentvmm_version(void **state)
{
	(void)state;
	write_template("9.9.9");
	expect_refused("made by agentvmm 9.9.9, this is agentvmm " VER);
}

static void test_snapfile_identity_mismatch(void **state)
{
	struct snap_ident want = ident;
	char err[256];

	(void)state;
	want.mem_bytes = 2 * RAM_LEN;
	assert_int_equal(snap_check_ident(&ident, &want, SNAP_ID_MEM, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--mem 8: the template was made with --mem 4 (a restored VM has "
			    "the template's memory size)");
	want = ident;
	want.nr_vcpus = 1;
	assert_int_equal(snap_check_ident(&ident, &want, SNAP_ID_CPUS, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--cpus 1: the template was made with --cpus 2"));
	want = ident;
	want.image_crc ^= 1;
	assert_int_equal(snap_check_ident(&ident, &want, SNAP_ID_IMAGE, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--raw-image"));
	want.boot_kind = SNAP_BOOT_KERNEL;
	assert_int_equal(snap_check_ident(&ident, &want, SNAP_ID_IMAGE, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--kernel"));
	want = ident;
	want.cpuid_crc ^= 1;
	assert_int_equal(snap_check_ident(&ident, &want, SNAP_ID_CPUID, err, sizeof(err)), -EINVAL);
	assert_int_equal(snap_check_ident(&ident, &want, SNAP_ID_MEM | SNAP_ID_CPUS, err,
					  sizeof(err)), 0);
}

static void test_snapfile_truncated(void **state)
{
	struct stat st;
	const off_t at[] = { 0, 50, 119, 200, 3 << 20, -1 };

	(void)state;
	assert_int_equal(stat(path, &st), 0);
	for (size_t i = ARRAY_SIZE(at); i-- > 0;) {
		assert_int_equal(truncate(path, at[i] < 0 ? st.st_size - 1 : at[i]), 0);
		expect_refused("truncated template");
	}
}

static void test_snapfile_crc_mismatch(void **state)
{
	(void)state;
	patch(sizeof(struct snap_header) + 5 * sizeof(struct snap_section) + 2, "X", 1);
	expect_refused("metadata crc mismatch");
}

static void test_snapfile_section_out_of_range(void **state)
{
	uint64_t big = 1ULL << 40;
	off_t sec2 = sizeof(struct snap_header) + 2 * sizeof(struct snap_section);

	(void)state;
	patch_meta(sec2 + offsetof(struct snap_section, length), &big, 8);
	expect_refused("out of range");
}

static void test_snapfile_section_in_header_refused(void **state)
{
	uint64_t off = 8;
	off_t sec0 = sizeof(struct snap_header);

	(void)state;
	patch_meta(sec0 + offsetof(struct snap_section, offset), &off, 8);
	expect_refused("out of range");
}

static void test_snapfile_overlapping_sections(void **state)
{
	struct snap_section s0;
	int fd = open(path, O_RDONLY);
	off_t sec0 = sizeof(struct snap_header), sec1 = sec0 + sizeof(s0);

	(void)state;
	assert_int_equal(pread(fd, &s0, sizeof(s0), sec0), (ssize_t)sizeof(s0));
	close(fd);
	/* vCPU 0's payload placed over the VM section's */
	patch_meta(sec1 + offsetof(struct snap_section, offset), &s0.offset, 8);
	expect_refused("overlap");
}

static void test_snapfile_vcpu_count_checked(void **state)
{
	uint32_t n = 3;

	(void)state;
	patch_meta(offsetof(struct snap_header, id) + offsetof(struct snap_ident, nr_vcpus), &n, 4);
	expect_refused("2 of 3 vCPU sections");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_snapfile_round_trip),
		T(test_snapfile_bad_magic),
		T(test_snapfile_other_format_version),
		T(test_snapfile_other_agentvmm_version),
		T(test_snapfile_identity_mismatch),
		T(test_snapfile_truncated),
		T(test_snapfile_crc_mismatch),
		T(test_snapfile_section_out_of_range),
		T(test_snapfile_section_in_header_refused),
		T(test_snapfile_overlapping_sections),
		T(test_snapfile_vcpu_count_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
