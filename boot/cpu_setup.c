// SPDX-License-Identifier: MIT
/* cpu_setup.c: GDT, IDT, identity page tables and boot vCPU registers (layout in cpu_setup.h). */
#include "boot/cpu_setup.h"

#include <errno.h>
#include <string.h>

#include "boot/layout.h"

/*
 * Descriptor flags in the GDT_ENTRY() packing of arch/x86/include/asm/segment.h:
 * low byte = access byte (P, DPL, S, type), high nibble = G, D/B, L, AVL.
 * Accessed bits are preset so the CPU never writes the table, and because
 * VMX requires them for usable CS/SS/DS (Intel SDM vol. 3, 26.3.1.2).
 */
#define GDT_F_CODE64 0xa09b /* G, L, P, S, type 0xb execute/read/accessed */
#define GDT_F_CODE32 0xc09b /* G, D, P, S, type 0xb */
#define GDT_F_DATA 0xc093   /* G, B, P, S, type 0x3 read/write/accessed */
#define GDT_F_TSS 0x008b    /* P, type 0xb busy 32-bit TSS */
#define TSS_LIMIT 0x67      /* a 104-byte TSS, byte granular */
#define IDT_LIMIT 7         /* one empty 8-byte gate: any interrupt faults */

#define PT_ENTRIES 512
#define PD_PAGES 4 /* 4 x 1 GiB */

uint64_t boot_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return (((uint64_t)base & 0xff000000) << 32) | (((uint64_t)flags & 0xf0ff) << 40) |
	       (((uint64_t)limit & 0x000f0000) << 32) | (((uint64_t)base & 0x00ffffff) << 16) |
	       ((uint64_t)limit & 0x0000ffff);
}

/* The segment-register cache KVM_SET_SREGS needs for a descriptor, as the CPU would load it. */
static struct boot_seg seg_from_desc(uint64_t d, uint16_t selector)
{
	struct boot_seg s = {
		.base = ((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000),
		.limit = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000)),
		.selector = selector,
		.type = (d >> 40) & 0xf,
		.s = (d >> 44) & 1,
		.dpl = (d >> 45) & 3,
		.present = (d >> 47) & 1,
		.avl = (d >> 52) & 1,
		.l = (d >> 53) & 1,
		.db = (d >> 54) & 1,
		.g = (d >> 55) & 1,
	};

	if (s.g)
		s.limit = (s.limit << 12) | 0xfff;
	return s;
}

static int write_page_tables(const struct guest_mem *gm)
{
	uint64_t pt[PT_ENTRIES];
	int ret;

	memset(pt, 0, sizeof(pt));
	pt[0] = BOOT_PDPT_GPA | BOOT_PTE_P | BOOT_PTE_RW;
	ret = gm_write(gm, BOOT_PML4_GPA, pt, sizeof(pt));
	if (ret)
		return ret;

	memset(pt, 0, sizeof(pt));
	for (unsigned i = 0; i < PD_PAGES; i++)
		pt[i] = (BOOT_PD_GPA + i * sizeof(pt)) | BOOT_PTE_P | BOOT_PTE_RW;
	ret = gm_write(gm, BOOT_PDPT_GPA, pt, sizeof(pt));
	if (ret)
		return ret;

	for (unsigned i = 0; i < PD_PAGES; i++) {
		for (unsigned j = 0; j < PT_ENTRIES; j++)
			pt[j] = ((uint64_t)(i * PT_ENTRIES + j) << 21) | BOOT_PTE_P | BOOT_PTE_RW |
				BOOT_PTE_PS;
		ret = gm_write(gm, BOOT_PD_GPA + i * sizeof(pt), pt, sizeof(pt));
		if (ret)
			return ret;
	}
	return 0;
}

int boot_cpu_setup(const struct guest_mem *gm, enum boot_entry_mode mode, gpa_t entry,
		   gpa_t param, struct boot_cpu_state *cpu)
{
	bool lm = mode == BOOT_ENTRY_LONG64;
	uint64_t gdt[BOOT_GDT_ENTRIES] = {
		[0] = 0,
		[BOOT_SEL_TSS / 8] = boot_gdt_entry(GDT_F_TSS, 0, TSS_LIMIT),
		[BOOT_SEL_CODE / 8] = boot_gdt_entry(lm ? GDT_F_CODE64 : GDT_F_CODE32, 0, 0xfffff),
		[BOOT_SEL_DATA / 8] = boot_gdt_entry(GDT_F_DATA, 0, 0xfffff),
	};
	uint64_t idt = 0;
	int ret;

	_Static_assert(BOOT_GDT_GPA + sizeof(gdt) <= BOOT_IDT_GPA, "GDT overlaps IDT");
	ret = gm_write(gm, BOOT_GDT_GPA, gdt, sizeof(gdt));
	if (!ret)
		ret = gm_write(gm, BOOT_IDT_GPA, &idt, sizeof(idt));
	if (!ret && lm)
		ret = write_page_tables(gm);
	if (ret)
		return ret;

	struct boot_seg code = seg_from_desc(gdt[BOOT_SEL_CODE / 8], BOOT_SEL_CODE);
	struct boot_seg data = seg_from_desc(gdt[BOOT_SEL_DATA / 8], BOOT_SEL_DATA);

	*cpu = (struct boot_cpu_state){
		.rip = entry,
		.rsp = BOOT_STACK_GPA,
		.rbp = BOOT_STACK_GPA,
		.rflags = 0x2, /* bit 1 is reserved, always 1; IF clear */
		.cs = code,
		.ds = data, .es = data, .fs = data, .gs = data, .ss = data,
		.tr = seg_from_desc(gdt[BOOT_SEL_TSS / 8], BOOT_SEL_TSS),
		/* The LDTR as after reset (Intel SDM vol. 3, 9.1.1): usable, empty. */
		.ldt = { .limit = 0xffff, .type = 2, .present = 1 },
		.gdt = { .base = BOOT_GDT_GPA, .limit = sizeof(gdt) - 1 },
		.idt = { .base = BOOT_IDT_GPA, .limit = IDT_LIMIT },
	};
	if (lm) {
		/* Documentation/arch/x86/boot.rst, "64-bit Boot Protocol": %rsi = boot_params. */
		cpu->rsi = param;
		cpu->cr0 = BOOT_CR0_PE | BOOT_CR0_ET | BOOT_CR0_PG;
		cpu->cr3 = BOOT_PML4_GPA;
		cpu->cr4 = BOOT_CR4_PAE;
		cpu->efer = BOOT_EFER_LME | BOOT_EFER_LMA;
	} else {
		/* PVH: protected mode, paging off, %ebx = hvm_start_info. */
		cpu->rbx = param;
		cpu->cr0 = BOOT_CR0_PE | BOOT_CR0_ET;
	}
	return 0;
}
