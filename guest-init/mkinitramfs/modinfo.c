// SPDX-License-Identifier: MIT
/* modinfo.c: bounded ELF ".modinfo" reading and its depends=/softdep= fields (modinfo.h). */
#include "guest-init/mkinitramfs/modinfo.h"

#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest-init/mkinitramfs/decompress.h"
#include "guest-init/mkinitramfs/util.h"
#include "guest-init/modname.h"

static const char mi_section[] = ".modinfo";	/* compared with its NUL */

/* [off, off + size) lies inside a (len)-byte file; overflow-free. */
static bool in_file(uint64_t off, uint64_t size, size_t len)
{
	return off <= len && size <= len - off;
}

/* The ELF header of (elf, len), checked: ELF64, little-endian, ET_REL. */
static int read_ehdr(const unsigned char *elf, size_t len, Elf64_Ehdr *eh, char *err,
		     size_t errlen)
{
	if (len < SELFMAG || memcmp(elf, ELFMAG, SELFMAG) != 0) {
		snprintf(err, errlen, "not an ELF file");
		return -ENOEXEC;
	}
	if (len < sizeof(*eh)) {
		snprintf(err, errlen, "truncated ELF header (%zu bytes)", len);
		return -EBADMSG;
	}
	memcpy(eh, elf, sizeof(*eh));
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_type != ET_REL) {
		snprintf(err, errlen, "not a 64-bit little-endian ELF relocatable file");
		return -ENOEXEC;
	}
	/* e_shnum 0 or e_shstrndx SHN_XINDEX would mean extended numbering: no module needs it */
	if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shnum == 0 ||
	    eh->e_shnum > GI_MODINFO_MAX_SECTIONS || eh->e_shstrndx == SHN_UNDEF ||
	    eh->e_shstrndx >= eh->e_shnum) {
		snprintf(err, errlen,
			 "bad section table header (%u sections of %u bytes, names in %u)",
			 eh->e_shnum, eh->e_shentsize, eh->e_shstrndx);
		return -EBADMSG;
	}
	if (!in_file(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr), len)) {
		snprintf(err, errlen, "section table outside the file (truncated?)");
		return -EBADMSG;
	}
	return 0;
}

static void read_shdr(const unsigned char *elf, const Elf64_Ehdr *eh, size_t i, Elf64_Shdr *sh)
{
	/* unaligned input (a fuzzer's buffer): copy, never cast */
	memcpy(sh, elf + eh->e_shoff + i * sizeof(*sh), sizeof(*sh));
}

/* Count the strings of (info, len) (runs of non-NUL bytes); its last byte is NUL. */
static size_t count_strings(const char *info, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += info[i] != '\0' && (i + 1 == len || info[i + 1] == '\0');
	return n;
}

int gi_modinfo_find(const void *elf_in, size_t len, const char **info, size_t *info_len,
		    char *err, size_t errlen)
{
	const unsigned char *elf = elf_in;
	Elf64_Shdr names, sh;
	Elf64_Ehdr eh;
	size_t i;
	int ret;

	*info = NULL;
	*info_len = 0;
	ret = read_ehdr(elf, len, &eh, err, errlen);
	if (ret)
		return ret;
	read_shdr(elf, &eh, eh.e_shstrndx, &names);
	if (names.sh_type != SHT_STRTAB || !in_file(names.sh_offset, names.sh_size, len)) {
		snprintf(err, errlen, "section-name table outside the file or not a string table");
		return -EBADMSG;
	}
	for (i = 0; i < eh.e_shnum; i++) {
		read_shdr(elf, &eh, i, &sh);
		/* the name, NUL included, inside the name table: no unbounded strcmp */
		if (sh.sh_name >= names.sh_size ||
		    names.sh_size - sh.sh_name < sizeof(mi_section) ||
		    memcmp(elf + names.sh_offset + sh.sh_name, mi_section, sizeof(mi_section)) != 0)
			continue;
		if (sh.sh_type == SHT_NOBITS || !in_file(sh.sh_offset, sh.sh_size, len)) {
			snprintf(err, errlen, ".modinfo section outside the file (truncated?)");
			return -EBADMSG;
		}
		*info = (const char *)elf + sh.sh_offset;
		*info_len = (size_t)sh.sh_size;
		break;
	}
	if (i == eh.e_shnum) {
		snprintf(err, errlen, "no .modinfo section: not a kernel module");
		return -EBADMSG;
	}
	if (*info_len && (*info)[*info_len - 1] != '\0') {
		snprintf(err, errlen, ".modinfo does not end with a NUL byte");
		goto err_bad;
	}
	if (count_strings(*info, *info_len) > GI_MODINFO_MAX_STRINGS) {
		snprintf(err, errlen, ".modinfo has more than %u strings", GI_MODINFO_MAX_STRINGS);
		goto err_bad;
	}
	return 0;

err_bad:
	*info = NULL;
	*info_len = 0;
	return -EBADMSG;
}

struct mi_walk {
	gi_modinfo_name_fn fn;
	void *opaque;
	unsigned int nnames;
	char *err;
	size_t errlen;
};

/* One list item (s, n) of a (field): validate, normalise, hand to the callback. */
static int emit(struct mi_walk *w, const char *field, const char *s, size_t n, bool soft)
{
	char raw[GI_MODNAME_MAX], name[GI_MODNAME_MAX];
	size_t i;

	if (n == 0)
		return 0;
	if (n >= sizeof(raw)) {
		snprintf(w->err, w->errlen, "bad name in %s= (longer than %zu bytes)", field,
			 sizeof(raw) - 1);
		return -EBADMSG;
	}
	for (i = 0; i < n; i++) {
		if (s[i] <= ' ' || s[i] > '~' || s[i] == '/') {
			snprintf(w->err, w->errlen, "bad name in %s= (byte 0x%02x)", field,
				 (unsigned char)s[i]);
			return -EBADMSG;
		}
	}
	if (++w->nnames > GI_MODINFO_MAX_NAMES) {
		snprintf(w->err, w->errlen, "more than %u names in depends= and softdep=",
			 GI_MODINFO_MAX_NAMES);
		return -EBADMSG;
	}
	memcpy(raw, s, n);
	raw[n] = '\0';
	if (gi_modname(raw, name, sizeof(name))) {
		snprintf(w->err, w->errlen, "bad name in %s= (%s)", field, "empty module name");
		return -EBADMSG;
	}
	return w->fn(w->opaque, name, soft);
}

/* depends=a,b,c */
static int walk_depends(struct mi_walk *w, const char *v)
{
	const char *e;
	int ret;

	for (;; v = e + 1) {
		e = strchr(v, ',');
		ret = emit(w, "depends", v, e ? (size_t)(e - v) : strlen(v), false);
		if (ret || !e)
			return ret;
	}
}

/* softdep=pre: a b post: c — the "pre:" names only */
static int walk_softdep(struct mi_walk *w, const char *v)
{
	enum { SD_NONE, SD_PRE, SD_POST } mode = SD_NONE;
	size_t n;
	int ret;

	for (;;) {
		v += strspn(v, " \t");
		n = strcspn(v, " \t");
		if (n == 0)
			return 0;
		if (n == 4 && !strncmp(v, "pre:", 4)) {
			mode = SD_PRE;
		} else if (n == 5 && !strncmp(v, "post:", 5)) {
			mode = SD_POST;
		} else if (mode == SD_PRE) {
			ret = emit(w, "softdep", v, n, true);
			if (ret)
				return ret;
		}
		v += n;
	}
}

/* Each string of (info, len) whose key is (key), in order, to (walk_fn). */
static int walk_field(struct mi_walk *w, const char *info, size_t len, const char *key,
		      int (*walk_fn)(struct mi_walk *w, const char *v))
{
	size_t klen = strlen(key), i = 0, n;
	int ret;

	while (i < len) {
		/* gi_modinfo_find() checked that info[len - 1] is NUL: strnlen stops there */
		n = strnlen(info + i, len - i);
		if (n > klen && !strncmp(info + i, key, klen) && info[i + klen] == '=') {
			ret = walk_fn(w, info + i + klen + 1);
			if (ret)
				return ret;
		}
		i += n + 1;
	}
	return 0;
}

int gi_modinfo_deps(const char *info, size_t info_len, gi_modinfo_name_fn fn, void *opaque,
		    char *err, size_t errlen)
{
	struct mi_walk w = { .fn = fn, .opaque = opaque, .err = err, .errlen = errlen };
	int ret;

	if (info_len && info[info_len - 1] != '\0') {
		snprintf(err, errlen, ".modinfo does not end with a NUL byte");
		return -EBADMSG;
	}
	ret = walk_field(&w, info, info_len, "depends", walk_depends);
	if (!ret)
		ret = walk_field(&w, info, info_len, "softdep", walk_softdep);
	return ret;
}

int gi_modinfo_file(const char *path, gi_modinfo_name_fn fn, void *opaque, char *err,
		    size_t errlen)
{
	char msg[256];
	const char *info;
	size_t len, info_len;
	void *buf;
	char *plain;
	int ret;

	if (gi_comp_of(path) != GI_COMP_NONE) {
		ret = gi_decompress_file(path, GI_DECOMP_MAX_MODULE, &buf, &len, err, errlen);
		if (ret)
			return ret;
	} else {
		ret = gi_read_file(path, GI_DECOMP_MAX_MODULE, &plain, &len);
		buf = plain;
		if (ret) {
			snprintf(err, errlen, "%s: %s", path, ret == -EFBIG ?
				 "larger than 64 MiB: not a kernel module" : strerror(-ret));
			return ret;
		}
	}
	msg[0] = '\0';
	ret = gi_modinfo_find(buf, len, &info, &info_len, msg, sizeof(msg));
	if (!ret) {
		ret = gi_modinfo_deps(info, info_len, fn, opaque, msg, sizeof(msg));
		/* the callback wrote its own message, naming what it looked for */
		if (ret && !msg[0])
			goto out;
	}
	if (ret)
		snprintf(err, errlen, "%s: bad module: %s", path, msg);
out:
	free(buf);
	return ret;
}
