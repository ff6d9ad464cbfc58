/* SPDX-License-Identifier: MIT */
/*
 * cpu_setup.h: GDT, IDT, identity page tables and the boot vCPU's register
 * state for the two entry modes.
 *
 * GDT at BOOT_GDT_GPA, BOOT_GDT_ENTRIES entries of 8 bytes:
 *
 *   0x00  null
 *   0x08  TSS (32-bit busy TSS, base 0, limit 0x67): only so TR is valid at entry
 *   0x10  code: flat, 64-bit (L=1) for the bzImage entry, 32-bit (D=1) for PVH
 *   0x18  data: flat 32-bit read/write
 *
 * Code at 0x10 and data at 0x18 are __BOOT_CS and __BOOT_DS, which the 64-bit
 * boot protocol requires (Documentation/arch/x86/boot.rst, "64-bit Boot
 * Protocol"). Both kernels load their own GDT and TSS soon after entry.
 *
 * Page tables (bzImage path only): PML4 at BOOT_PML4_GPA, one PDPT at
 * BOOT_PDPT_GPA, four page directories from BOOT_PD_GPA, identity-mapping
 * 0 .. 4 GiB with 2 MiB pages, so the kernel, zero page and command line are
 * all mapped whatever their address below 4 GiB.
 */
#ifndef AGENTVMM_BOOT_CPU_SETUP_H
#define AGENTVMM_BOOT_CPU_SETUP_H

#include <stdint.h>

#include "boot/boot.h"
#include "vmm/compiler.h"
#include "vmm/guest_mem.h"

#define BOOT_SEL_TSS 0x08
#define BOOT_SEL_CODE 0x10
#define BOOT_SEL_DATA 0x18

/* Control-register and EFER bits (Intel SDM vol. 3, 2.5 and 2.2.1). */
#define BOOT_CR0_PE (1ULL << 0)
#define BOOT_CR0_ET (1ULL << 4)
#define BOOT_CR0_PG (1ULL << 31)
#define BOOT_CR4_PAE (1ULL << 5)
#define BOOT_EFER_LME (1ULL << 8)
#define BOOT_EFER_LMA (1ULL << 10)

/* Page-table entry bits. */
#define BOOT_PTE_P (1ULL << 0)
#define BOOT_PTE_RW (1ULL << 1)
#define BOOT_PTE_PS (1ULL << 7)

enum boot_entry_mode {
	BOOT_ENTRY_LONG64, /* bzImage 64-bit entry: long mode, paging on */
	BOOT_ENTRY_PROT32, /* PVH entry: 32-bit protected mode, paging off */
};

/*
 * boot_cpu_setup() - write the GDT and empty IDT for (mode), the page tables
 * for BOOT_ENTRY_LONG64, and fill (cpu): rip = (entry); rsi = (param) for
 * LONG64 (the zero page), rbx = (param) for PROT32 (hvm_start_info).
 * Return: 0; -EFAULT when guest RAM does not cover the boot area.
 * Context: setup.
 */
int boot_cpu_setup(const struct guest_mem *gm, enum boot_entry_mode mode, gpa_t entry,
		   gpa_t param, struct boot_cpu_state *cpu) __must_check;

/* boot_gdt_entry() - the 8-byte descriptor for (base, limit) with (flags) in
 * the kernel's GDT_ENTRY() packing: bits 0-7 access byte, bits 12-15 G/DB/L/AVL. */
uint64_t boot_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit);

#endif
