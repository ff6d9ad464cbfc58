/* SPDX-License-Identifier: MIT */
/*
 * pvh.h: booting an ELF vmlinux through its PVH entry point
 * (XEN_ELFNOTE_PHYS32_ENTRY) with a struct hvm_start_info.
 *
 * PVH ABI (xen/include/public/arch-x86/hvm/start_info.h, docs/misc/pvh.pandoc):
 * the kernel is entered in 32-bit protected mode, paging off, flat CS/DS/ES/SS,
 * %ebx = guest-physical address of struct hvm_start_info. We place it at
 * BOOT_PVH_INFO_GPA, the memory map right after it at BOOT_PVH_MEMMAP_GPA and
 * the one module (the initrd) at BOOT_PVH_MODLIST_GPA.
 */
#ifndef AGENTVMM_BOOT_PVH_H
#define AGENTVMM_BOOT_PVH_H

#include <stddef.h>
#include <stdint.h>

#include "boot/e820.h"
#include "boot/handoff.h"
#include "vmm/compiler.h"
#include "vmm/guest_mem.h"

#define PVH_START_MAGIC 0x336ec578U
#define PVH_START_VERSION 1
#define PVH_XEN_ELFNOTE_PHYS32_ENTRY 18
#define PVH_MAX_PHNUM 128 /* vmlinux has 5; more is not a kernel we want */

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;    /* version >= 1 */
	uint32_t memmap_entries;  /* version >= 1 */
	uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_start_info) == 56, "start_info.h ABI");

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "start_info.h ABI");

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "start_info.h ABI");

struct pvh_info {
	gpa_t entry;              /* 32-bit PVH entry point */
	gpa_t kernel_start;       /* lowest p_paddr of a PT_LOAD */
	gpa_t kernel_end;         /* highest p_paddr + p_memsz */
};

/*
 * pvh_find_entry() - validate the ELF64 header of the (len) bytes at (img) and
 * find its PVH entry point in a PT_NOTE segment (or, failing that, an SHT_NOTE
 * section): a note named "Xen" of type XEN_ELFNOTE_PHYS32_ENTRY.
 * Return: 0 with (*entry); -EINVAL with a message naming (name) in (err):
 * bad ELF header, program/section headers outside the file, a malformed note,
 * "ELF without a PVH note".
 * Context: any.
 */
int pvh_find_entry(const void *img, size_t len, const char *name, gpa_t *entry, char *err,
		   size_t errlen) __must_check;

/*
 * pvh_load() - pvh_find_entry(), then check every PT_LOAD (inside the file,
 * p_filesz <= p_memsz, [p_paddr, p_paddr + p_memsz) in one RAM region at or
 * above 1 MiB, no overflow) and copy them into (gm), zeroing the bss part.
 * Return: 0 with (pi) filled; -EINVAL with a message in (err) ("ELF segment
 * outside RAM", ...). Nothing is copied unless every segment is valid.
 * Context: setup.
 */
int pvh_load(const struct guest_mem *gm, const void *img, size_t len, const char *name,
	     struct pvh_info *pi, char *err, size_t errlen) __must_check;

/*
 * pvh_write_start_info() - write hvm_start_info, the memory map and the
 * module list for (pp).
 * Return: 0; -EINVAL when (pp) has more than BOOT_PVH_MEMMAP_MAX e820
 * entries; -EFAULT when the area is not in RAM.
 * Context: setup.
 */
int pvh_write_start_info(const struct guest_mem *gm, const struct boot_handoff *pp) __must_check;

#endif
