/* SPDX-License-Identifier: MIT */
/*
 * acpi.h: build the ACPI tables through which the guest finds its CPUs, the
 * IOAPIC, PCI, and how to power off, reset and report a panic.
 *
 * Table layout in guest RAM (from BOOT_ACPI_GPA, each table 16-byte aligned):
 *
 *   BOOT_ACPI_GPA  RSDP rev 2 (RSDT address 0, XSDT address set)
 *   ...            DSDT  static AML from dsdt.asl: \_S5, COM1, pvpanic
 *   ...            FACP  rev 6, hardware-reduced; X_DSDT -> DSDT
 *   ...            APIC  MADT: one LAPIC per vCPU, IOAPIC, IRQ0 override, NMI
 *   ...            MCFG  (pci only) ECAM at BOOT_PCI_ECAM_GPA, segment 0, bus 0
 *   ...            SSDT  (pci only) static AML from ssdt_pci.asl: PCI0 root
 *   ...            XSDT  -> FACP, APIC[, MCFG, SSDT]
 *
 * The RSDP sits at the start of the 0xe0000..0xfffff BIOS area, so a kernel
 * that scans for "RSD PTR " finds it even without boot_params.acpi_rsdp_addr.
 * See docs/acpi.md for what the VMM must do at the ports the tables name.
 */
#ifndef AGENTVMM_BOOT_ACPI_ACPI_H
#define AGENTVMM_BOOT_ACPI_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/compiler.h"
#include "vmm/guest_mem.h"

/*
 * xAPIC ids are 8 bits and 0xff is the broadcast id, so LAPIC ids run
 * 0..254. x2APIC entries would lift this; not needed yet.
 */
#define ACPI_MAX_CPUS 255

struct acpi_config {
	unsigned nr_cpus; /* 1..ACPI_MAX_CPUS; vCPU i has APIC id i */
	bool pci;         /* describe the ECAM PCI root: adds MCFG and ssdt_pci */
};

/*
 * acpi_build() - write the tables for (cfg) into (gm) at BOOT_ACPI_GPA,
 * within BOOT_ACPI_MAX bytes, and store the RSDP's address (== BOOT_ACPI_GPA)
 * in (rsdp_gpa) for boot_params.acpi_rsdp_addr / hvm_start_info.rsdp_paddr.
 * Return: 0; -EINVAL when (cfg)->nr_cpus is 0 or above ACPI_MAX_CPUS;
 * -ENOSPC when the tables do not fit in BOOT_ACPI_MAX; -EFAULT when that area
 * is not guest RAM. Nothing is written on -EINVAL.
 * Context: setup, single thread.
 * Guest: none; runs before the guest. The guest may later overwrite the
 * tables in its own RAM, which is its business.
 */
int acpi_build(const struct guest_mem *gm, const struct acpi_config *cfg,
	       gpa_t *rsdp_gpa) __must_check;

/*
 * acpi_build_at() - acpi_build() into the (max) bytes at (base), which must be
 * 16-byte aligned; acpi_build() is acpi_build_at(gm, cfg, BOOT_ACPI_GPA,
 * BOOT_ACPI_MAX, rsdp_gpa). Exposed so tests can reach -ENOSPC.
 * Return: as acpi_build(), and -EINVAL for a misaligned (base).
 * Context: setup, single thread.
 * Guest: none.
 */
int acpi_build_at(const struct guest_mem *gm, const struct acpi_config *cfg, gpa_t base,
		  uint64_t max, gpa_t *rsdp_gpa) __must_check;

#endif
