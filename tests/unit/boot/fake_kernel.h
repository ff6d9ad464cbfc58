/* SPDX-License-Identifier: MIT */
/*
 * fake_kernel.h: builders for crafted bzImage and ELF/PVH images, shared by
 * the boot unit tests and fuzz harnesses (Firecracker's make_fake_bzimage idea).
 */
#ifndef AGENTVMM_TESTS_UNIT_BOOT_FAKE_KERNEL_H
#define AGENTVMM_TESTS_UNIT_BOOT_FAKE_KERNEL_H

#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <asm/bootparam.h>

#define FAKE_SETUP_SECTS 4
#define FAKE_SETUP_SIZE ((FAKE_SETUP_SECTS + 1) * 512)
#define FAKE_PM_SIZE 0x2000
#define FAKE_BZ_SIZE (FAKE_SETUP_SIZE + FAKE_PM_SIZE)
#define FAKE_INIT_SIZE 0x400000
#define FAKE_KVER_STR "6.1.0-99-test-amd64 (test@example) #1 SMP"
#define FAKE_KVER_OFF 0x300 /* string at file offset 0x300 + 0x200 */

static inline struct setup_header *fake_hdr(uint8_t *img)
{
	return (struct setup_header *)(img + 0x1f1);
}

/* A valid protocol-2.15 bzImage of FAKE_BZ_SIZE bytes; protected-mode bytes are (i * 7) & 0xff. */
static inline void fake_bzimage(uint8_t *img)
{
	struct setup_header *h = fake_hdr(img);

	memset(img, 0, FAKE_BZ_SIZE);
	h->setup_sects = FAKE_SETUP_SECTS;
	h->syssize = FAKE_PM_SIZE / 16;
	h->boot_flag = 0xaa55;
	h->jump = 0x6aeb; /* jmp +0x6a: the header ends at 0x26c */
	memcpy(&h->header, "HdrS", 4);
	h->version = 0x020f;
	h->kernel_version = FAKE_KVER_OFF;
	h->loadflags = LOADED_HIGH;
	h->initrd_addr_max = 0x7fffffff;
	h->kernel_alignment = 0x200000;
	h->relocatable_kernel = 1;
	h->xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h->cmdline_size = 2047;
	h->pref_address = 0x1000000;
	h->init_size = FAKE_INIT_SIZE;
	h->setup_data = 0x12345678; /* a loader must not pass this on */
	memcpy(img + FAKE_KVER_OFF + 0x200, FAKE_KVER_STR, sizeof(FAKE_KVER_STR));
	for (unsigned i = 0; i < FAKE_PM_SIZE; i++)
		img[FAKE_SETUP_SIZE + i] = (uint8_t)(i * 7);
}

/*
 * A valid ELF64 vmlinux: ehdr, 2 phdrs (PT_LOAD, PT_NOTE), 2 section headers
 * (null, .notes), the notes, then FAKE_ELF_FILESZ bytes of text loaded at
 * FAKE_ELF_PADDR with FAKE_ELF_MEMSZ bytes of memory (the rest is bss).
 */
#define FAKE_ELF_PADDR 0x1000000ULL
#define FAKE_ELF_ENTRY (FAKE_ELF_PADDR + 0x40)
#define FAKE_ELF_FILESZ 0x1000
#define FAKE_ELF_MEMSZ 0x3000
#define FAKE_ELF_PHOFF 64
#define FAKE_ELF_SHOFF (FAKE_ELF_PHOFF + 2 * 56)
#define FAKE_ELF_NOTE_OFF (FAKE_ELF_SHOFF + 2 * 64)
#define FAKE_ELF_NOTE_SIZE (2 * (12 + 4 + 8)) /* an unrelated Xen note, then the PVH one */
#define FAKE_ELF_TEXT_OFF 0x1000
#define FAKE_ELF_SIZE (FAKE_ELF_TEXT_OFF + FAKE_ELF_FILESZ)
#define FAKE_ELF_BANNER "Linux version 6.1.0-98-elf-amd64 (x@y) #1"

static inline Elf64_Ehdr *fake_ehdr(uint8_t *img) { return (Elf64_Ehdr *)img; }
static inline Elf64_Phdr *fake_phdr(uint8_t *img, unsigned i)
{
	return (Elf64_Phdr *)(img + FAKE_ELF_PHOFF + i * sizeof(Elf64_Phdr));
}
static inline Elf64_Shdr *fake_shdr(uint8_t *img, unsigned i)
{
	return (Elf64_Shdr *)(img + FAKE_ELF_SHOFF + i * sizeof(Elf64_Shdr));
}

static inline void fake_note(uint8_t *p, uint32_t type, uint64_t val)
{
	uint32_t nh[3] = { 4, 8, type };

	memcpy(p, nh, sizeof(nh));
	memcpy(p + 12, "Xen", 4);
	memcpy(p + 16, &val, 8);
}

static inline void fake_elf(uint8_t *img)
{
	Elf64_Ehdr *eh = fake_ehdr(img);

	memset(img, 0, FAKE_ELF_SIZE);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = 0xffffffff81000000ULL;
	eh->e_phoff = FAKE_ELF_PHOFF;
	eh->e_shoff = FAKE_ELF_SHOFF;
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 2;
	eh->e_shentsize = sizeof(Elf64_Shdr);
	eh->e_shnum = 2;
	*fake_phdr(img, 0) = (Elf64_Phdr){
		.p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = FAKE_ELF_TEXT_OFF,
		.p_vaddr = 0xffffffff81000000ULL, .p_paddr = FAKE_ELF_PADDR,
		.p_filesz = FAKE_ELF_FILESZ, .p_memsz = FAKE_ELF_MEMSZ, .p_align = 0x1000,
	};
	*fake_phdr(img, 1) = (Elf64_Phdr){
		.p_type = PT_NOTE, .p_offset = FAKE_ELF_NOTE_OFF, .p_filesz = FAKE_ELF_NOTE_SIZE,
		.p_memsz = FAKE_ELF_NOTE_SIZE, .p_align = 4,
	};
	*fake_shdr(img, 1) = (Elf64_Shdr){
		.sh_type = SHT_NOTE, .sh_offset = FAKE_ELF_NOTE_OFF, .sh_size = FAKE_ELF_NOTE_SIZE,
		.sh_addralign = 4,
	};
	fake_note(img + FAKE_ELF_NOTE_OFF, 5, 0x302e332d6e6578ULL); /* XEN_ELFNOTE_XEN_VERSION */
	fake_note(img + FAKE_ELF_NOTE_OFF + 24, 18, FAKE_ELF_ENTRY);
	for (unsigned i = 0; i < FAKE_ELF_FILESZ; i++)
		img[FAKE_ELF_TEXT_OFF + i] = (uint8_t)(i * 13 + 1);
	memcpy(img + FAKE_ELF_TEXT_OFF + 0x100, FAKE_ELF_BANNER, sizeof(FAKE_ELF_BANNER));
}

#endif
