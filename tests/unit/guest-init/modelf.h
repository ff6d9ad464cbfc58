/* SPDX-License-Identifier: MIT */
/*
 * modelf.h: crafted kernel-module ELF files for the guest-init unit tests
 * (include after <cmocka.h>): an ELF64 ET_REL with sections
 *   [0] null  [1] .text  [2] .modinfo  [3] .shstrtab (e_shstrndx = 3)
 * laid out as header, .shstrtab, .modinfo, .text, section table. Tests patch
 * the header or a section header (th_modelf_shdr) to reach each error branch.
 */
#ifndef AGENTVMM_TESTS_UNIT_GUEST_INIT_MODELF_H
#define AGENTVMM_TESTS_UNIT_GUEST_INIT_MODELF_H

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TH_MODELF_TEXT 1
#define TH_MODELF_MODINFO 2
#define TH_MODELF_SHSTRTAB 3

struct th_modelf {
	unsigned char *buf;
	size_t len;
	size_t shoff;		/* section table */
	size_t modinfo_off;
};

static const char th_modelf_names[] = "\0.text\0.modinfo\0.shstrtab";

/* A module whose .modinfo is (info, info_len) bytes taken as they are. */
static inline struct th_modelf th_modelf_build(const void *info, size_t info_len)
{
	struct th_modelf m;
	Elf64_Ehdr eh = { 0 };
	Elf64_Shdr sh[4] = { { 0 } };
	size_t names_off = sizeof(eh), text_off;

	m.modinfo_off = names_off + sizeof(th_modelf_names);
	text_off = m.modinfo_off + info_len;
	m.shoff = (text_off + 16 + 7) & ~(size_t)7;
	m.len = m.shoff + sizeof(sh);
	m.buf = calloc(1, m.len);
	assert_non_null(m.buf);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_REL;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_ehsize = sizeof(eh);
	eh.e_shoff = m.shoff;
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = 4;
	eh.e_shstrndx = TH_MODELF_SHSTRTAB;
	sh[TH_MODELF_TEXT] = (Elf64_Shdr){ .sh_name = 1, .sh_type = SHT_PROGBITS,
					   .sh_offset = text_off, .sh_size = 16 };
	sh[TH_MODELF_MODINFO] = (Elf64_Shdr){ .sh_name = 7, .sh_type = SHT_PROGBITS,
					      .sh_offset = m.modinfo_off, .sh_size = info_len };
	sh[TH_MODELF_SHSTRTAB] = (Elf64_Shdr){ .sh_name = 16, .sh_type = SHT_STRTAB,
					       .sh_offset = names_off,
					       .sh_size = sizeof(th_modelf_names) };
	memcpy(m.buf, &eh, sizeof(eh));
	memcpy(m.buf + names_off, th_modelf_names, sizeof(th_modelf_names));
	memcpy(m.buf + m.modinfo_off, info, info_len);
	memset(m.buf + text_off, 0xc3, 16);
	memcpy(m.buf + m.shoff, sh, sizeof(sh));
	return m;
}

/* A module with .modinfo "vermagic=test\0name=N\0" + (fields, NUL-separated, NUL-ended). */
static inline struct th_modelf th_modelf_fields(const char *fields, size_t len)
{
	char info[4096];
	int n = snprintf(info, sizeof(info), "vermagic=6.1.0 SMP mod_unload%cname=x%c", 0, 0);

	assert_true(n > 0 && (size_t)n + len <= sizeof(info));
	memcpy(info + n, fields, len);
	return th_modelf_build(info, (size_t)n + len);
}

/* The header, for patching; write it back with th_modelf_put_ehdr(). */
static inline Elf64_Ehdr th_modelf_ehdr(const struct th_modelf *m)
{
	Elf64_Ehdr eh;

	memcpy(&eh, m->buf, sizeof(eh));
	return eh;
}

static inline void th_modelf_put_ehdr(struct th_modelf *m, const Elf64_Ehdr *eh)
{
	memcpy(m->buf, eh, sizeof(*eh));
}

static inline Elf64_Shdr th_modelf_shdr(const struct th_modelf *m, size_t i)
{
	Elf64_Shdr sh;

	memcpy(&sh, m->buf + m->shoff + i * sizeof(sh), sizeof(sh));
	return sh;
}

static inline void th_modelf_put_shdr(struct th_modelf *m, size_t i, const Elf64_Shdr *sh)
{
	memcpy(m->buf + m->shoff + i * sizeof(*sh), sh, sizeof(*sh));
}

/* Write (m) (its first (len) bytes) to (path). */
static inline void th_modelf_write(const struct th_modelf *m, size_t len, const char *path)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(m->buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

#endif
