/* SPDX-License-Identifier: MIT */
/*
 * layout.h: every fixed guest-physical address agentvmm uses on x86_64.
 *
 * Guest physical memory map:
 *
 *   0x0000_0000 .. 0x0000_04ff  real-mode IVT and BIOS data area (left zero)
 *   0x0000_0500                 GDT: null, tss, code, data (BOOT_GDT_GPA, see cpu_setup.h)
 *   0x0000_0520                 IDT: empty (BOOT_IDT_GPA)
 *   0x0000_6000                 PVH struct hvm_start_info + memmap (BOOT_PVH_INFO_GPA)
 *   0x0000_6380                 PVH module list: the initrd (BOOT_PVH_MODLIST_GPA)
 *   0x0000_7000                 struct boot_params, the "zero page" (BOOT_ZERO_PAGE_GPA)
 *   0x0000_8ff0                 initial stack pointer (BOOT_STACK_GPA)
 *   0x0000_9000                 PML4 (BOOT_PML4_GPA)
 *   0x0000_a000                 PDPT (BOOT_PDPT_GPA)
 *   0x0000_b000 .. 0x0000_efff  4 page directories, 2 MiB pages, identity map 0..4 GiB
 *   0x0002_0000 .. 0x0002_ffff  kernel command line (BOOT_CMDLINE_GPA)
 *   0x0009_fc00                 end of low RAM as reported in e820 (EBDA starts here)
 *   0x000e_0000 .. 0x000e_ffff  ACPI tables, RSDP first (BOOT_ACPI_GPA); e820 reserved
 *   0x000f_0000 .. 0x000f_efff  SMBIOS 3.0: 64-bit entry point at 0xf0000 (where Linux
 *                               scans for "_SM3_" without EFI), then the structure
 *                               table at 0xf0020 (BOOT_SMBIOS_*, boot/smbios.h);
 *                               e820 reserved
 *   0x000f_fff0                 reset stub: writes the ACPI reset register, so a
 *                               kernel that reboots through the BIOS (no BIOS
 *                               here) still ends the VM (BOOT_RESET_VECTOR_GPA)
 *   0x0010_0000                 start of high RAM
 *   0x0100_0000                 bzImage protected-mode kernel (its pref_address)
 *   ...                         initrd, page aligned, as high as allowed below the hole
 *   0xc000_0000 .. 0xffff_ffff  32-bit MMIO hole, never RAM (BOOT_MMIO_HOLE_GPA):
 *       0xc000_0000             PCI 32-bit BAR window (BOOT_PCI_MMIO32_GPA, 512 MiB)
 *       0xe000_0000             PCI ECAM, 256 buses x 1 MiB (BOOT_PCI_ECAM_GPA)
 *       0xfec0_0000             IOAPIC
 *       0xfee0_0000             local APIC
 *   0x1_0000_0000 ..            RAM above the hole, when --mem exceeds 3 GiB
 *
 * I/O ports:
 *   0x0060, 0x0064   i8042: status reads, 0xfe to 0x64 resets the machine
 *   0x00f4           agentvmm exit port (32-bit write, see AV_EXIT_PORT below)
 *   0x00f8           agentvmm boot-timer port (32-bit write: phase marker)
 *   0x03f8 .. 0x3ff  COM1 8250 UART, IRQ 4
 *   0x0505           pvpanic (ACPI device QEMU0001): guest writes 1 on panic
 *   0x0600           ACPI sleep control register (hardware-reduced FADT)
 *   0x0601           ACPI sleep status register
 *   0x0602           ACPI reset register (write BOOT_ACPI_RESET_VALUE)
 *   0x0604           ACPI Generic Event Device status (GED0 in the DSDT): a 1-byte
 *                    read returns the latched events and clears them; bit 0 =
 *                    power button. Its interrupt is BOOT_GED_GSI (edge, high).
 *   0x0cf8, 0x0cfc   PCI configuration mechanism #1
 *   0x0cf9           reset control register (write with bit 2 set resets)
 */
#ifndef AGENTVMM_BOOT_LAYOUT_H
#define AGENTVMM_BOOT_LAYOUT_H

#include <stdint.h>

#define BOOT_GDT_GPA 0x500ULL
#define BOOT_GDT_ENTRIES 4
#define BOOT_IDT_GPA 0x520ULL
#define BOOT_PVH_INFO_GPA 0x6000ULL
#define BOOT_PVH_MEMMAP_GPA 0x6040ULL /* after struct hvm_start_info (56 bytes) */
#define BOOT_PVH_MEMMAP_MAX 32
#define BOOT_PVH_MODLIST_GPA 0x6380ULL /* after the memmap; one 32-byte entry */
#define BOOT_ZERO_PAGE_GPA 0x7000ULL
#define BOOT_STACK_GPA 0x8ff0ULL
#define BOOT_PML4_GPA 0x9000ULL
#define BOOT_PDPT_GPA 0xa000ULL
#define BOOT_PD_GPA 0xb000ULL /* 4 consecutive pages */
#define BOOT_CMDLINE_GPA 0x20000ULL
#define BOOT_CMDLINE_MAX 0x10000ULL /* our buffer; the kernel's own limit is smaller */
#define BOOT_EBDA_GPA 0x9fc00ULL
#define BOOT_ACPI_GPA 0xe0000ULL
#define BOOT_ACPI_MAX 0x10000ULL /* up to 0xf0000; 255 vCPUs need under 8 KiB */
/*
 * SMBIOS: the entry point where Linux's dmi_scan_machine() looks on a non-EFI
 * boot (16-byte steps through 0xf0000..0xfffff), the structure table after it,
 * both inside the e820 hole below 1 MiB that both boot paths reserve.
 */
#define BOOT_SMBIOS_EP_GPA 0xf0000ULL
#define BOOT_SMBIOS_TABLE_GPA 0xf0020ULL /* after the 24-byte entry point */
#define BOOT_SMBIOS_END 0xff000ULL       /* the page of the reset stub stays apart */
#define BOOT_RESET_VECTOR_GPA 0xffff0ULL /* F000:FFF0, where a "BIOS reboot" jumps */
#define BOOT_HIGH_RAM_GPA 0x100000ULL
#define BOOT_KERNEL_GPA 0x1000000ULL

#define BOOT_MMIO_HOLE_GPA 0xc0000000ULL
#define BOOT_MMIO_HOLE_END 0x100000000ULL
#define BOOT_PCI_MMIO32_GPA 0xc0000000ULL
#define BOOT_PCI_MMIO32_SIZE 0x20000000ULL
#define BOOT_PCI_ECAM_GPA 0xe0000000ULL
#define BOOT_PCI_ECAM_SIZE 0x10000000ULL
#define BOOT_IOAPIC_GPA 0xfec00000ULL
#define BOOT_LAPIC_GPA 0xfee00000ULL
#define BOOT_RAM_HIGH_GPA 0x100000000ULL

/* I/O ports */
#define BOOT_PORT_I8042_DATA 0x60
#define BOOT_PORT_I8042_CMD 0x64
#define BOOT_PORT_COM1 0x3f8
#define BOOT_COM1_IRQ 4
#define BOOT_PORT_PVPANIC 0x505
#define BOOT_PORT_ACPI_SLEEP_CTL 0x600
#define BOOT_PORT_ACPI_SLEEP_STS 0x601
#define BOOT_PORT_ACPI_RESET 0x602
#define BOOT_ACPI_RESET_VALUE 0x1
#define BOOT_ACPI_S5_SLP_TYP 5 /* \_S5 package in dsdt.asl; SLP_TYP is bits 2..4 */
#define BOOT_PORT_GED 0x604
#define BOOT_GED_GSI 5 /* ISA IRQ 5: no MADT override, so edge/active-high as _CRS says */
#define BOOT_PORT_PCI_CFG_ADDR 0xcf8
#define BOOT_PORT_PCI_CFG_DATA 0xcfc
#define BOOT_PORT_RESET_CTL 0xcf9
#define BOOT_RESET_CTL_RST_CPU 0x4

/*
 * Exit port protocol (agentvmm paravirtual device, port AV_EXIT_PORT):
 * a 32-bit write of (AV_EXIT_MAGIC | status), status 0..255, records the
 * workload's exit status and ends the VM at once. guest-init syncs and
 * unmounts before writing. Other values and widths are ignored (logged).
 */
#define AV_EXIT_PORT 0xf4
#define AV_EXIT_MAGIC 0xa5e00000U
#define AV_EXIT_MAGIC_MASK 0xffffff00U

/*
 * Boot-timer port: a 32-bit write of (AV_BOOTMARK_MAGIC | phase) records the
 * host time of a guest boot phase (1 = guest-init started, 2 = workload
 * started, 3 = workload finished).
 */
#define AV_BOOTMARK_PORT 0xf8
#define AV_BOOTMARK_MAGIC 0xb0070000U
#define AV_BOOTMARK_MAGIC_MASK 0xffff0000U
/*
 * Phase 4, "ready for a template": under `agentvmm template` the VM stops
 * here and is written to a template; a restored VM goes on right after this
 * OUT (docs/snapshot.md). Ignored otherwise.
 */
#define AV_BOOTMARK_TEMPLATE_READY 4
/*
 * Restore port (devices/restore_port.h): a restored VM's guest-init reads its
 * configuration text here, at most AV_RESTORE_MAX bytes. guest-init/ports.h
 * has the same values (GI_RESTORE_PORT, GI_RESTORE_MAX).
 */
#define AV_RESTORE_PORT 0xfc
#define AV_RESTORE_MAX (256 * 1024)

_Static_assert(BOOT_PVH_MEMMAP_GPA + BOOT_PVH_MEMMAP_MAX * 24 <= BOOT_PVH_MODLIST_GPA,
	       "PVH memmap overlaps the module list");
_Static_assert(BOOT_PVH_MODLIST_GPA + 32 <= BOOT_ZERO_PAGE_GPA, "PVH modlist overlaps the zero page");
_Static_assert(BOOT_ZERO_PAGE_GPA + 0x1000 <= BOOT_STACK_GPA, "zero page overlaps stack");
_Static_assert(BOOT_PD_GPA + 4 * 0x1000 <= BOOT_CMDLINE_GPA, "page tables overlap cmdline");
_Static_assert(BOOT_CMDLINE_GPA + BOOT_CMDLINE_MAX <= BOOT_EBDA_GPA, "cmdline overlaps EBDA");
_Static_assert(BOOT_ACPI_GPA + BOOT_ACPI_MAX <= BOOT_SMBIOS_EP_GPA, "ACPI overlaps SMBIOS");
_Static_assert(BOOT_SMBIOS_EP_GPA >= 0xf0000 && BOOT_SMBIOS_EP_GPA % 16 == 0,
	       "SMBIOS entry point outside Linux's 16-byte scan of 0xf0000..0xfffff");
_Static_assert(BOOT_SMBIOS_EP_GPA + 24 <= BOOT_SMBIOS_TABLE_GPA, "SMBIOS entry point overlaps it");
_Static_assert(BOOT_SMBIOS_TABLE_GPA < BOOT_SMBIOS_END, "SMBIOS table window empty");
_Static_assert(BOOT_SMBIOS_END <= BOOT_RESET_VECTOR_GPA, "SMBIOS overlaps reset stub");
_Static_assert(BOOT_EBDA_GPA <= BOOT_ACPI_GPA && BOOT_SMBIOS_END <= BOOT_HIGH_RAM_GPA,
	       "firmware tables outside the e820 reserved range [EBDA, 1 MiB)");
_Static_assert(BOOT_RESET_VECTOR_GPA + 16 <= BOOT_HIGH_RAM_GPA, "reset stub overlaps high RAM");
_Static_assert(BOOT_PCI_ECAM_GPA + BOOT_PCI_ECAM_SIZE <= BOOT_IOAPIC_GPA, "ECAM overlaps IOAPIC");

#endif
