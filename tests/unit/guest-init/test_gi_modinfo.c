// SPDX-License-Identifier: MIT
/*
 * test_gi_modinfo.c: the ELF .modinfo reader (crafted modules reaching every
 * rejection, the depends=/softdep= fields) and real modules of the cached
 * Debian cloud kernel, plain and compressed.
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
#include <unistd.h>
#include <cmocka.h>

#include "tests/helpers/th_files.h"
#include "tests/unit/guest-init/modelf.h"

#include "guest-init/mkinitramfs/modinfo.h"

static char err[512];
static char got[4096];	/* the names the callback saw: "name,~soft," */

static int collect(void *opaque, const char *name, bool soft)
{
	(void)opaque;
	strcat(got, soft ? "~" : "");
	strcat(got, name);
	strcat(got, ",");
	return 0;
}

/* find + deps of (m); the names in got[]. */
static int run(const struct th_modelf *m, size_t len)
{
	const char *info;
	size_t info_len;
	int ret;

	got[0] = err[0] = '\0';
	ret = gi_modinfo_find(m->buf, len, &info, &info_len, err, sizeof(err));
	if (ret) {
		assert_null(info);
		assert_int_equal(info_len, 0);
		return ret;
	}
	return gi_modinfo_deps(info, info_len, collect, NULL, err, sizeof(err));
}

static void expect_err(const struct th_modelf *m, size_t len, int ret, const char *msg)
{
	int r = run(m, len);

	if (r != ret || !strstr(err, msg))
		fail_msg("ret %d (wanted %d), err '%s' (wanted '%s')", r, ret, err, msg);
}

#define FIELDS(s) th_modelf_fields(s, sizeof(s) - 1)

static void test_gi_modinfo_depends_and_softdep_pre(void **state)
{
	struct th_modelf m = FIELDS("alias=x\0depends=jbd2,mbcache,crc16\0"
				    "softdep=pre: crypto-crc32c\0license=GPL\0");

	assert_int_equal(run(&m, m.len), 0);
	assert_string_equal(got, "jbd2,mbcache,crc16,~crypto_crc32c,");
	free(m.buf);
	/* names normalised; empty items skipped; several fields; post: and loose names ignored */
	m = FIELDS("depends=\0depends=,virtio-ring,,a.ko\0softdep=x pre: b-c post: d pre: e\0"
		   "softdep=pre:\0softdep=f\0xdepends=no\0depends\0");
	assert_int_equal(run(&m, m.len), 0);
	assert_string_equal(got, "virtio_ring,a,~b_c,~e,");
	free(m.buf);
}

static void test_gi_modinfo_padding_and_empty_are_fine(void **state)
{
	/* runs of NULs between strings, as alignment leaves them */
	static const char info[] = "\0\0depends=a\0\0\0\0softdep=pre: s\0\0";
	struct th_modelf m = th_modelf_build(info, sizeof(info));

	assert_int_equal(run(&m, m.len), 0);
	assert_string_equal(got, "a,~s,");
	free(m.buf);
	m = th_modelf_build("", 0);
	assert_int_equal(run(&m, m.len), 0);
	assert_string_equal(got, "");
	free(m.buf);
}

static void test_gi_modinfo_not_elf_or_wrong_kind(void **state)
{
	struct th_modelf m = FIELDS("depends=a\0");
	Elf64_Ehdr eh = th_modelf_ehdr(&m);

	expect_err(&m, 3, -ENOEXEC, "not an ELF file");
	m.buf[1] = 'X';
	expect_err(&m, m.len, -ENOEXEC, "not an ELF file");
	m.buf[1] = 'E';
	eh.e_ident[EI_CLASS] = ELFCLASS32;
	th_modelf_put_ehdr(&m, &eh);
	expect_err(&m, m.len, -ENOEXEC, "not a 64-bit little-endian ELF relocatable");
	eh = th_modelf_ehdr(&m);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2MSB;
	th_modelf_put_ehdr(&m, &eh);
	expect_err(&m, m.len, -ENOEXEC, "not a 64-bit little-endian ELF relocatable");
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_type = ET_EXEC;
	th_modelf_put_ehdr(&m, &eh);
	expect_err(&m, m.len, -ENOEXEC, "not a 64-bit little-endian ELF relocatable");
	free(m.buf);
}

static void test_gi_modinfo_truncated(void **state)
{
	struct th_modelf m = FIELDS("depends=a\0");

	expect_err(&m, sizeof(Elf64_Ehdr) - 1, -EBADMSG, "truncated ELF header (63 bytes)");
	/* cut inside the section table: every length up to the full file fails */
	for (size_t len = sizeof(Elf64_Ehdr); len < m.len; len += 7)
		expect_err(&m, len, -EBADMSG, "section table outside the file (truncated?)");
	expect_err(&m, m.len - 1, -EBADMSG, "section table outside the file");
	assert_int_equal(run(&m, m.len), 0);
	free(m.buf);
}

static void test_gi_modinfo_bad_section_table_header(void **state)
{
	static const struct {
		uint16_t shentsize, shnum, shstrndx;
	} bad[] = {
		{ 40, 4, 3 },				/* ELF32 entry size */
		{ sizeof(Elf64_Shdr), 0, 0 },		/* extended numbering */
		{ sizeof(Elf64_Shdr), GI_MODINFO_MAX_SECTIONS + 1, 3 },
		{ sizeof(Elf64_Shdr), 4, 0 },		/* SHN_UNDEF */
		{ sizeof(Elf64_Shdr), 4, 4 },		/* past the table */
		{ sizeof(Elf64_Shdr), 4, SHN_XINDEX },
	};
	struct th_modelf m = FIELDS("depends=a\0");
	Elf64_Ehdr eh;

	for (size_t i = 0; i < GI_ARRAY_SIZE(bad); i++) {
		eh = th_modelf_ehdr(&m);
		eh.e_shentsize = bad[i].shentsize;
		eh.e_shnum = bad[i].shnum;
		eh.e_shstrndx = bad[i].shstrndx;
		th_modelf_put_ehdr(&m, &eh);
		expect_err(&m, m.len, -EBADMSG, "bad section table header");
	}
	/* a table offset that wraps around */
	eh = th_modelf_ehdr(&m);
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = 4;
	eh.e_shstrndx = 3;
	eh.e_shoff = UINT64_MAX - 8;
	th_modelf_put_ehdr(&m, &eh);
	expect_err(&m, m.len, -EBADMSG, "section table outside the file");
	free(m.buf);
}

static void test_gi_modinfo_section_offsets_out_of_range(void **state)
{
	struct th_modelf m = FIELDS("depends=a\0");
	Elf64_Shdr names = th_modelf_shdr(&m, TH_MODELF_SHSTRTAB), orig = names, sh;

	names.sh_offset = m.len;
	names.sh_size = 1;
	th_modelf_put_shdr(&m, TH_MODELF_SHSTRTAB, &names);
	expect_err(&m, m.len, -EBADMSG, "section-name table outside the file");
	names = orig;
	names.sh_size = UINT64_MAX;
	th_modelf_put_shdr(&m, TH_MODELF_SHSTRTAB, &names);
	expect_err(&m, m.len, -EBADMSG, "section-name table outside the file");
	names = orig;
	names.sh_type = SHT_PROGBITS;
	th_modelf_put_shdr(&m, TH_MODELF_SHSTRTAB, &names);
	expect_err(&m, m.len, -EBADMSG, "not a string table");
	th_modelf_put_shdr(&m, TH_MODELF_SHSTRTAB, &orig);

	sh = th_modelf_shdr(&m, TH_MODELF_MODINFO);
	sh.sh_offset = m.len - 2;
	th_modelf_put_shdr(&m, TH_MODELF_MODINFO, &sh);
	expect_err(&m, m.len, -EBADMSG, ".modinfo section outside the file (truncated?)");
	sh.sh_offset = UINT64_MAX - 1;
	sh.sh_size = 4;
	th_modelf_put_shdr(&m, TH_MODELF_MODINFO, &sh);
	expect_err(&m, m.len, -EBADMSG, ".modinfo section outside the file");
	sh = th_modelf_shdr(&m, TH_MODELF_MODINFO);
	sh.sh_offset = m.modinfo_off;
	sh.sh_size = 10;
	sh.sh_type = SHT_NOBITS;
	th_modelf_put_shdr(&m, TH_MODELF_MODINFO, &sh);
	expect_err(&m, m.len, -EBADMSG, ".modinfo section outside the file");
	free(m.buf);
}

static void test_gi_modinfo_missing_section(void **state)
{
	struct th_modelf m = FIELDS("depends=a\0");
	Elf64_Shdr sh = th_modelf_shdr(&m, TH_MODELF_MODINFO);

	/* a name offset past the name table, one whose ".modinfo" would run past its end */
	sh.sh_name = 1000;
	th_modelf_put_shdr(&m, TH_MODELF_MODINFO, &sh);
	expect_err(&m, m.len, -EBADMSG, "no .modinfo section: not a kernel module");
	sh.sh_name = 7;
	th_modelf_put_shdr(&m, TH_MODELF_MODINFO, &sh);
	sh = th_modelf_shdr(&m, TH_MODELF_SHSTRTAB);
	sh.sh_size = 7 + 8;	/* ".modinfo" without its NUL */
	th_modelf_put_shdr(&m, TH_MODELF_SHSTRTAB, &sh);
	expect_err(&m, m.len, -EBADMSG, "no .modinfo section");
	sh.sh_size = sizeof(th_modelf_names);
	th_modelf_put_shdr(&m, TH_MODELF_SHSTRTAB, &sh);
	m.buf[m.modinfo_off - sizeof(th_modelf_names) + 8] = 'M';	/* ".Modinfo" */
	expect_err(&m, m.len, -EBADMSG, "no .modinfo section");
	free(m.buf);
}

static void test_gi_modinfo_unterminated_or_too_many_strings(void **state)
{
	struct th_modelf m = th_modelf_build("depends=a", 9);
	size_t n = 2 * (GI_MODINFO_MAX_STRINGS + 1);
	char *many;

	expect_err(&m, m.len, -EBADMSG, ".modinfo does not end with a NUL byte");
	/* the same text handed to gi_modinfo_deps() directly */
	assert_int_equal(gi_modinfo_deps("depends=a", 9, collect, NULL, err, sizeof(err)),
			 -EBADMSG);
	free(m.buf);
	many = malloc(n);
	assert_non_null(many);
	for (size_t i = 0; i < n; i += 2)
		memcpy(many + i, "a", 2);
	m = th_modelf_build(many, n);
	expect_err(&m, m.len, -EBADMSG, "more than 65536 strings");
	free(m.buf);
	/* exactly at the bound: fine */
	m = th_modelf_build(many, n - 2);
	assert_int_equal(run(&m, m.len), 0);
	free(m.buf);
	free(many);
}

static void test_gi_modinfo_bad_names(void **state)
{
	char info[4096], *p;
	struct th_modelf m = FIELDS("depends=a,b/c\0");

	expect_err(&m, m.len, -EBADMSG, "bad name in depends= (byte 0x2f)");
	free(m.buf);
	m = FIELDS("softdep=pre: a\x01\0");
	expect_err(&m, m.len, -EBADMSG, "bad name in softdep= (byte 0x01)");
	free(m.buf);
	m = FIELDS("depends=\xc3\xa9t\xc3\xa9\0");
	expect_err(&m, m.len, -EBADMSG, "bad name in depends= (byte 0xc3)");
	free(m.buf);
	m = FIELDS("depends=.ko\0");
	expect_err(&m, m.len, -EBADMSG, "empty module name");
	free(m.buf);
	/* 255 bytes fit, 256 do not */
	p = info + sprintf(info, "depends=");
	memset(p, 'n', 255);
	p[255] = '\0';
	m = th_modelf_fields(info, strlen(info) + 1);
	assert_int_equal(run(&m, m.len), 0);
	free(m.buf);
	p[255] = 'n';
	p[256] = '\0';
	m = th_modelf_fields(info, strlen(info) + 1);
	expect_err(&m, m.len, -EBADMSG, "bad name in depends= (longer than 255 bytes)");
	free(m.buf);
	/* 256 names are fine, the 257th is not */
	p = info + sprintf(info, "depends=");
	for (int i = 0; i < GI_MODINFO_MAX_NAMES; i++)
		p += sprintf(p, "%s%d", i ? "," : "", i % 10);
	m = th_modelf_fields(info, strlen(info) + 1);
	assert_int_equal(run(&m, m.len), 0);
	free(m.buf);
	strcpy(p, ",x");
	m = th_modelf_fields(info, strlen(info) + 1);
	expect_err(&m, m.len, -EBADMSG, "more than 256 names");
	free(m.buf);
}

static int stop_at_b(void *opaque, const char *name, bool soft)
{
	int *calls = opaque;

	(*calls)++;
	return strcmp(name, "b") ? 0 : -ENOENT;
}

static void test_gi_modinfo_callback_error_stops(void **state)
{
	struct th_modelf m = FIELDS("depends=a,b,c\0");
	const char *info;
	size_t info_len;
	int calls = 0;

	assert_int_equal(gi_modinfo_find(m.buf, m.len, &info, &info_len, err, sizeof(err)), 0);
	assert_int_equal(gi_modinfo_deps(info, info_len, stop_at_b, &calls, err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(calls, 2);
	free(m.buf);
}

static void test_gi_modinfo_real_modules_plain_and_compressed(void **state)
{
	const char *dir = th_real_modules_dir();
	char tmp[] = "/tmp/gi_modinfo_XXXXXX", path[1024];

	if (!dir) {
		print_message("no cached kernel modules (AV_MODULES_DIR); skipped\n");
		skip();
	}
	snprintf(path, sizeof(path), "%s/kernel/drivers/block/virtio_blk.ko", dir);
	got[0] = '\0';
	assert_int_equal(gi_modinfo_file(path, collect, NULL, err, sizeof(err)), 0);
	assert_string_equal(got, "virtio,virtio_ring,");
	assert_non_null(mkdtemp(tmp));
	assert_int_equal(th_sh("cd %s && xz -c %s > v.ko.xz && zstd -q -c %s > v.ko.zst && "
			     "gzip -n -c %s > v.ko.gz && head -c 5000 %s > cut.ko",
			     tmp, path, path, path, path),
			 0);
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/v.ko.%s", tmp, (const char *[]){ "xz", "zst",
										 "gz" }[i]);
		got[0] = '\0';
		if (gi_modinfo_file(path, collect, NULL, err, sizeof(err)))
			fail_msg("%s: %s", path, err);
		assert_string_equal(got, "virtio,virtio_ring,");
	}
	/* errors name the file */
	snprintf(path, sizeof(path), "%s/cut.ko", tmp);
	assert_int_equal(gi_modinfo_file(path, collect, NULL, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "/cut.ko: bad module: section table outside the file"));
	snprintf(path, sizeof(path), "%s/none.ko", tmp);
	assert_int_equal(gi_modinfo_file(path, collect, NULL, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/none.ko: No such file or directory"));
	assert_int_equal(th_sh("echo junk > %s/j.ko.zst", tmp), 0);
	snprintf(path, sizeof(path), "%s/j.ko.zst", tmp);
	assert_int_equal(gi_modinfo_file(path, collect, NULL, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "/j.ko.zst: corrupt zstd data"));
	assert_int_equal(th_sh("rm -rf %s", tmp), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gi_modinfo_depends_and_softdep_pre),
		cmocka_unit_test(test_gi_modinfo_padding_and_empty_are_fine),
		cmocka_unit_test(test_gi_modinfo_not_elf_or_wrong_kind),
		cmocka_unit_test(test_gi_modinfo_truncated),
		cmocka_unit_test(test_gi_modinfo_bad_section_table_header),
		cmocka_unit_test(test_gi_modinfo_section_offsets_out_of_range),
		cmocka_unit_test(test_gi_modinfo_missing_section),
		cmocka_unit_test(test_gi_modinfo_unterminated_or_too_many_strings),
		cmocka_unit_test(test_gi_modinfo_bad_names),
		cmocka_unit_test(test_gi_modinfo_callback_error_stops),
		cmocka_unit_test(test_gi_modinfo_real_modules_plain_and_compressed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
