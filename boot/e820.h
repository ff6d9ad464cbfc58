/* SPDX-License-Identifier: MIT */
/*
 * e820.h: the guest memory map, shared by the bzImage (boot_params.e820_table)
 * and PVH (hvm_start_info memmap) boot paths.
 *
 * Map for a guest with guest_mem regions R0 = [0, low_end) and optional
 * R1 = [4 GiB, 4 GiB + high_len):
 *
 *   [0, BOOT_EBDA_GPA)               RAM       IVT, GDT, zero page, page tables, cmdline
 *   [BOOT_EBDA_GPA, 1 MiB)           reserved  EBDA, ACPI tables at BOOT_ACPI_GPA, SMBIOS
 *                                              at BOOT_SMBIOS_EP_GPA (boot/smbios.h)
 *   [1 MiB, low_end)                 RAM       kernel, initrd
 *   [4 GiB, 4 GiB + high_len)        RAM       only when --mem exceeds the hole
 *
 * The type values are those of the ACPI/e820 spec, which PVH uses as well
 * (xen/include/public/arch-x86/hvm/start_info.h: "same as e820").
 */
#ifndef AGENTVMM_BOOT_E820_H
#define AGENTVMM_BOOT_E820_H

#include <stdint.h>

#include "vmm/compiler.h"
#include "vmm/guest_mem.h"

#define E820_TYPE_RAM 1
#define E820_TYPE_RESERVED 2

#define E820_MAX_ENTRIES 8 /* we never produce more than 4 */

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/*
 * e820_build() - fill (tab) with at most (max) entries describing (gm).
 * Return: number of entries (>= 1); -EINVAL when (gm) has less than 1 MiB of
 * low RAM (no room for the boot area and a kernel); -ENOSPC when (max) is too
 * small.
 * Context: setup.
 */
int e820_build(const struct guest_mem *gm, struct e820_entry *tab, unsigned max) __must_check;

#endif
