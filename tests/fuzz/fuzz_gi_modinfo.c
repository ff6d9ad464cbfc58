// SPDX-License-Identifier: MIT
/*
 * fuzz_gi_modinfo.c: libFuzzer target for the kernel-module ELF .modinfo
 * reader (guest-init/mkinitramfs/modinfo.c), what the initramfs builder runs
 * on every module it reaches in a modules directory without modules.dep.
 *
 * Byte 0 picks the mode:
 *   >= 0xe0  the rest is the file, raw;
 *   else     the rest is the .modinfo text of a well-formed module the
 *            harness builds (mostly valid input, so the field parser is
 *            reached), with a NUL appended unless bit 4 is set; bits 1-2
 *            give 0-3 patches of 3 bytes each (u16 offset, value) taken from
 *            the front of the rest and applied to the built file's header
 *            and section table; bit 3 takes a u16 length cut.
 * Every accepted section must lie inside the file and end with NUL; every
 * name handed out must be a normalised, printable module name.
 */
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest-init/mkinitramfs/modinfo.h"
#include "guest-init/modname.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fz_names[] = "\0.text\0.modinfo\0.shstrtab";

/* A module as tests/unit/guest-init/modelf.h builds it, (len) bytes; NULL without memory. */
static unsigned char *build(const uint8_t *info, size_t info_len, bool nul, size_t *len)
{
	Elf64_Ehdr eh = { 0 };
	Elf64_Shdr sh[4] = { { 0 } };
	size_t names_off = sizeof(eh), info_off = names_off + sizeof(fz_names);
	size_t text_off = info_off + info_len + nul, shoff = (text_off + 16 + 7) & ~(size_t)7;
	unsigned char *buf;

	*len = shoff + sizeof(sh);
	buf = calloc(1, *len);
	if (!buf)
		return NULL;
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_REL;
	eh.e_machine = EM_X86_64;
	eh.e_shoff = shoff;
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = 4;
	eh.e_shstrndx = 3;
	sh[1] = (Elf64_Shdr){ .sh_name = 1, .sh_type = SHT_PROGBITS, .sh_offset = text_off,
			      .sh_size = 16 };
	sh[2] = (Elf64_Shdr){ .sh_name = 7, .sh_type = SHT_PROGBITS, .sh_offset = info_off,
			      .sh_size = info_len + nul };
	sh[3] = (Elf64_Shdr){ .sh_name = 16, .sh_type = SHT_STRTAB, .sh_offset = names_off,
			      .sh_size = sizeof(fz_names) };
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + names_off, fz_names, sizeof(fz_names));
	memcpy(buf + info_off, info, info_len);
	memcpy(buf + shoff, sh, sizeof(sh));
	return buf;
}

struct fz_count {
	unsigned int names;
};

static int check_name(void *opaque, const char *name, bool soft)
{
	struct fz_count *c = opaque;
	size_t n = strlen(name);

	(void)soft;
	if (n == 0 || n >= GI_MODNAME_MAX || ++c->names > GI_MODINFO_MAX_NAMES)
		abort();
	for (size_t i = 0; i < n; i++)
		if (name[i] <= ' ' || name[i] > '~' || name[i] == '/' || name[i] == '-')
			abort();
	/* now and then the caller refuses a name: the walk must stop with its error */
	return n == 7 && name[0] == 'z' ? -ENOENT : 0;
}

static void run(const unsigned char *file, size_t len)
{
	struct fz_count c = { 0 };
	const char *info;
	size_t info_len;
	char err[256] = "";
	int ret;

	ret = gi_modinfo_find(file, len, &info, &info_len, err, sizeof(err));
	if (ret) {
		if ((ret != -ENOEXEC && ret != -EBADMSG) || !err[0] || info || info_len)
			abort();
		return;
	}
	if (info < (const char *)file || info_len > len ||
	    (size_t)(info - (const char *)file) > len - info_len ||
	    (info_len && info[info_len - 1] != '\0'))
		abort();
	err[0] = '\0';
	ret = gi_modinfo_deps(info, info_len, check_name, &c, err, sizeof(err));
	if (ret && ret != -ENOENT && (ret != -EBADMSG || !err[0]))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + 1, *end = data + size;
	unsigned int npatch;
	unsigned char *file;
	size_t len, cut = SIZE_MAX;

	if (size < 1)
		return 0;
	if (data[0] >= 0xe0) {
		/* a private copy, so ASan sees any read past the end */
		file = malloc(size - 1 ? size - 1 : 1);
		if (!file)
			return 0;
		memcpy(file, data + 1, size - 1);
		run(file, size - 1);
		free(file);
		return 0;
	}
	npatch = (data[0] >> 1) & 3;
	if ((size_t)(end - p) < npatch * 3u + ((data[0] & 8) ? 2u : 0u))
		return 0;
	const uint8_t *patches = p;

	p += npatch * 3;
	if (data[0] & 8) {
		cut = (size_t)(p[0] | p[1] << 8);
		p += 2;
	}
	file = build(p, (size_t)(end - p), !(data[0] & 16), &len);
	if (!file)
		return 0;
	for (unsigned int i = 0; i < npatch; i++) {
		size_t off = (size_t)(patches[3 * i] | patches[3 * i + 1] << 8);

		/* aim at the header (64 bytes) and the section table (the last 256) */
		off = off & 1 ? len - 256 + (off >> 1) % 256 : (off >> 1) % 64;
		file[off] = patches[3 * i + 2];
	}
	if (cut < len) {
		/* an exact-size buffer, so ASan sees any read past the cut */
		unsigned char *shorter = realloc(file, cut ? cut : 1);

		if (!shorter) {
			free(file);
			return 0;
		}
		file = shorter;
		len = cut;
	}
	run(file, len);
	free(file);
	return 0;
}
