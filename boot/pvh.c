// SPDX-License-Identifier: MIT
/* pvh.c: ELF64 vmlinux loading, PVH entry-note lookup and struct hvm_start_info. */
#include "boot/pvh.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "boot/layout.h"

#define PVH_MAX_SHNUM 4096 /* vmlinux has about 40 sections */
#define NOTE_ALIGN 4       /* ELF64 notes in vmlinux use 4-byte alignment, as ld emits them */

/* [off, off + size) inside a file of (len) bytes, computed without overflow. */
static bool in_file(uint64_t off, uint64_t size, size_t len)
{
	return off <= len && size <= len - off;
}

static int check_ehdr(const void *img, size_t len, const char *name, Elf64_Ehdr *eh,
		      char *err, size_t errlen)
{
	const char *why = NULL;

	if (len < sizeof(*eh)) {
		snprintf(err, errlen, "%s: truncated ELF header (%zu bytes)", name, len);
		return -EINVAL;
	}
	memcpy(eh, img, sizeof(*eh));
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG))
		why = "not an ELF file";
	else if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		why = "not a 64-bit ELF";
	else if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		why = "not a little-endian ELF";
	else if (eh->e_machine != EM_X86_64)
		why = "ELF is not for x86-64";
	else if (eh->e_type != ET_EXEC)
		why = "ELF is not an executable (ET_EXEC)";
	else if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
		 eh->e_phnum > PVH_MAX_PHNUM)
		why = "bad ELF program header count or size";
	else if (!in_file(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), len))
		why = "ELF program headers outside the file";
	if (why) {
		snprintf(err, errlen, "%s: %s", name, why);
		return -EINVAL;
	}
	return 0;
}

static Elf64_Phdr get_phdr(const void *img, const Elf64_Ehdr *eh, unsigned i)
{
	Elf64_Phdr ph;

	memcpy(&ph, (const uint8_t *)img + eh->e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
	return ph;
}

/*
 * Walk the notes in file bytes [off, off + size), already checked to lie in
 * the file. Return: 1 with (*entry) when the PVH note is there, 0 when not,
 * -EINVAL when a note does not fit or the PVH note has a bad size.
 */
static int scan_notes(const uint8_t *img, uint64_t off, uint64_t size, gpa_t *entry)
{
	uint64_t pos = 0;

	while (size - pos >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;

		memcpy(&nh, img + off + pos, sizeof(nh));
		uint64_t name_len = ALIGN_UP((uint64_t)nh.n_namesz, NOTE_ALIGN);
		uint64_t desc_len = ALIGN_UP((uint64_t)nh.n_descsz, NOTE_ALIGN);
		uint64_t left = size - pos - sizeof(nh);

		/* The last note's descriptor padding may be cut off by the segment end. */
		if (name_len > left || nh.n_descsz > left - name_len)
			return -EINVAL;
		const uint8_t *name = img + off + pos + sizeof(nh);
		const uint8_t *desc = name + name_len;

		if (nh.n_type == PVH_XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    !memcmp(name, "Xen", 4)) {
			/* xen libelf elf_note_numeric(): 4- or 8-byte value */
			if (nh.n_descsz == 4) {
				uint32_t v;

				memcpy(&v, desc, sizeof(v));
				*entry = v;
			} else if (nh.n_descsz == 8) {
				memcpy(entry, desc, sizeof(*entry));
			} else {
				return -EINVAL;
			}
			return 1;
		}
		pos += sizeof(nh) + name_len + MIN(desc_len, left - name_len);
	}
	return 0;
}

/* PT_NOTE segments first (what the kernel's linker script emits), then SHT_NOTE sections. */
static int find_note(const void *img, size_t len, const Elf64_Ehdr *eh, gpa_t *entry,
		     const char **why)
{
	int ret;

	for (unsigned i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph = get_phdr(img, eh, i);

		if (ph.p_type != PT_NOTE)
			continue;
		if (!in_file(ph.p_offset, ph.p_filesz, len)) {
			*why = "ELF note segment outside the file";
			return -EINVAL;
		}
		ret = scan_notes(img, ph.p_offset, ph.p_filesz, entry);
		if (ret) {
			*why = "malformed ELF note";
			return ret;
		}
	}
	if (eh->e_shoff == 0 || eh->e_shnum == 0)
		return 0;
	if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shnum > PVH_MAX_SHNUM ||
	    !in_file(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr), len)) {
		*why = "ELF section headers outside the file";
		return -EINVAL;
	}
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		Elf64_Shdr sh;

		memcpy(&sh, (const uint8_t *)img + eh->e_shoff + (uint64_t)i * sizeof(sh),
		       sizeof(sh));
		if (sh.sh_type != SHT_NOTE)
			continue;
		if (!in_file(sh.sh_offset, sh.sh_size, len)) {
			*why = "ELF note section outside the file";
			return -EINVAL;
		}
		ret = scan_notes(img, sh.sh_offset, sh.sh_size, entry);
		if (ret) {
			*why = "malformed ELF note";
			return ret;
		}
	}
	return 0;
}

int pvh_find_entry(const void *img, size_t len, const char *name, gpa_t *entry, char *err,
		   size_t errlen)
{
	const char *why = "ELF without a PVH note (XEN_ELFNOTE_PHYS32_ENTRY; needs CONFIG_PVH=y)";
	Elf64_Ehdr eh;
	int ret;

	ret = check_ehdr(img, len, name, &eh, err, errlen);
	if (ret)
		return ret;
	ret = find_note(img, len, &eh, entry, &why);
	if (ret == 1 && *entry >= BOOT_MMIO_HOLE_END) {
		why = "PVH entry point above 4 GiB";
		ret = -EINVAL;
	}
	if (ret != 1) {
		snprintf(err, errlen, "%s: %s", name, why);
		return -EINVAL;
	}
	return 0;
}

/* Check one PT_LOAD; on error, a message in (err). */
static int check_load(const struct guest_mem *gm, const Elf64_Phdr *ph, unsigned i,
		      size_t len, const char *name, char *err, size_t errlen)
{
	uint64_t end;

	if (ph->p_filesz > ph->p_memsz || !in_file(ph->p_offset, ph->p_filesz, len)) {
		snprintf(err, errlen, "%s: ELF segment %u outside the file", name, i);
		return -EINVAL;
	}
	if (add_overflows(ph->p_paddr, ph->p_memsz, &end) || !gm_range_ok(gm, ph->p_paddr,
									 ph->p_memsz)) {
		snprintf(err, errlen,
			 "%s: ELF segment %u outside RAM (0x%llx + 0x%llx; low RAM ends at 0x%llx)",
			 name, i, (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz,
			 (unsigned long long)gm_low_end(gm));
		return -EINVAL;
	}
	if (ph->p_paddr < BOOT_HIGH_RAM_GPA) {
		snprintf(err, errlen, "%s: ELF segment %u at 0x%llx overlaps the boot area below 1 MiB",
			 name, i, (unsigned long long)ph->p_paddr);
		return -EINVAL;
	}
	return 0;
}

int pvh_load(const struct guest_mem *gm, const void *img, size_t len, const char *name,
	     struct pvh_info *pi, char *err, size_t errlen)
{
	Elf64_Ehdr eh;
	bool entry_loaded = false;
	int ret;

	memset(pi, 0, sizeof(*pi));
	ret = pvh_find_entry(img, len, name, &pi->entry, err, errlen);
	if (ret)
		return ret;
	memcpy(&eh, img, sizeof(eh)); /* validated by pvh_find_entry() */
	pi->kernel_start = UINT64_MAX;

	/* Validate every segment before copying any. */
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph = get_phdr(img, &eh, i);

		if (ph.p_type != PT_LOAD)
			continue;
		ret = check_load(gm, &ph, i, len, name, err, errlen);
		if (ret)
			return ret;
		pi->kernel_start = MIN(pi->kernel_start, ph.p_paddr);
		pi->kernel_end = MAX(pi->kernel_end, ph.p_paddr + ph.p_memsz);
		entry_loaded |= pi->entry >= ph.p_paddr && pi->entry - ph.p_paddr < ph.p_memsz;
	}
	if (pi->kernel_start == UINT64_MAX || !entry_loaded) {
		snprintf(err, errlen, "%s: %s", name,
			 pi->kernel_start == UINT64_MAX ? "ELF has no PT_LOAD segment"
							: "PVH entry point is not in a loaded segment");
		return -EINVAL;
	}

	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph = get_phdr(img, &eh, i);

		if (ph.p_type != PT_LOAD)
			continue;
		/* gm_ptr() was checked for the whole of p_memsz by check_load(). */
		uint8_t *dst = gm_ptr(gm, ph.p_paddr, ph.p_memsz);

		memcpy(dst, (const uint8_t *)img + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz); /* bss */
	}
	return 0;
}

int pvh_write_start_info(const struct guest_mem *gm, const struct boot_handoff *pp)
{
	struct hvm_memmap_table_entry map[BOOT_PVH_MEMMAP_MAX];
	struct hvm_start_info si = {
		.magic = PVH_START_MAGIC,
		.version = PVH_START_VERSION,
		.cmdline_paddr = pp->cmdline_gpa,
		.rsdp_paddr = pp->rsdp_gpa,
		.memmap_paddr = BOOT_PVH_MEMMAP_GPA,
		.memmap_entries = pp->nr_e820,
	};
	int ret;

	if (pp->nr_e820 > BOOT_PVH_MEMMAP_MAX)
		return -EINVAL;
	memset(map, 0, sizeof(map));
	for (unsigned i = 0; i < pp->nr_e820; i++) {
		map[i].addr = pp->e820[i].addr;
		map[i].size = pp->e820[i].size;
		map[i].type = pp->e820[i].type;
	}
	if (pp->initrd_len) {
		struct hvm_modlist_entry mod = { .paddr = pp->initrd_gpa, .size = pp->initrd_len };

		ret = gm_write(gm, BOOT_PVH_MODLIST_GPA, &mod, sizeof(mod));
		if (ret)
			return ret;
		si.nr_modules = 1;
		si.modlist_paddr = BOOT_PVH_MODLIST_GPA;
	}
	_Static_assert(BOOT_PVH_INFO_GPA + sizeof(si) <= BOOT_PVH_MEMMAP_GPA, "start_info size");
	ret = gm_write(gm, BOOT_PVH_MEMMAP_GPA, map, pp->nr_e820 * sizeof(map[0]));
	if (!ret)
		ret = gm_write(gm, BOOT_PVH_INFO_GPA, &si, sizeof(si));
	return ret;
}
