// SPDX-License-Identifier: MIT
/* acpi_tables.c: the ACPI tables generated in C: FADT, MADT and MCFG. */
#include "boot/acpi/acpi_tables.h"

#include <assert.h>
#include <string.h>

#include "boot/layout.h"

/* ACPI 6.0 revisions: FADT 6 (minor 0), MADT 4; MCFG is revision 1. */
#define ACPI_FADT_REVISION 6
#define ACPI_FADT_MINOR 0
#define ACPI_MADT_REVISION 4
#define ACPI_MCFG_REVISION 1

/* ECAM: 4 KiB of configuration space per function, 1 MiB per bus (PCIe 5.0 §7.2.2). */
#define ACPI_ECAM_BUS_SIZE MiB(1)
_Static_assert(ACPI_ECAM_BUS_SIZE <= BOOT_PCI_ECAM_SIZE, "ECAM window holds bus 0");

/* ISA IRQ 0 (PIT) is wired to IOAPIC pin 2, as on every PC since the 8259 cascade. */
#define ACPI_ISA_IRQ_TIMER 0
#define ACPI_GSI_TIMER 2

/* LINT1 of every local APIC is the NMI input (Intel SDM vol. 3 §10.5.1). */
#define ACPI_LINT_NMI 1

uint8_t acpi_sum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *b++);
	return sum;
}

void acpi_header_init(struct acpi_header *hdr, const char *sig, uint32_t len, uint8_t rev)
{
	memset(hdr, 0, sizeof(*hdr));
	memcpy(hdr->signature, sig, sizeof(hdr->signature));
	hdr->length = len;
	hdr->revision = rev;
	memcpy(hdr->oem_id, ACPI_OEM_ID, sizeof(hdr->oem_id));
	memcpy(hdr->oem_table_id, ACPI_OEM_TABLE_ID, sizeof(hdr->oem_table_id));
	hdr->oem_revision = ACPI_OEM_REVISION;
	memcpy(hdr->creator_id, ACPI_CREATOR_ID, sizeof(hdr->creator_id));
	hdr->creator_revision = ACPI_CREATOR_REVISION;
}

void acpi_set_checksum(void *tbl, size_t len)
{
	struct acpi_header *hdr = tbl;

	hdr->checksum = 0;
	hdr->checksum = (uint8_t)-acpi_sum(tbl, len);
}

/* An 8-bit System I/O register at (port), accessed with byte accesses. */
static struct acpi_gas gas_io8(uint16_t port)
{
	return (struct acpi_gas){
		.space_id = ACPI_GAS_SYSTEM_IO,
		.bit_width = 8,
		.bit_offset = 0,
		.access_size = ACPI_GAS_ACCESS_BYTE,
		.address = port,
	};
}

void acpi_fadt_fill(struct acpi_fadt *fadt, uint64_t dsdt)
{
	memset(fadt, 0, sizeof(*fadt));
	acpi_header_init(&fadt->hdr, "FACP", sizeof(*fadt), ACPI_FADT_REVISION);
	fadt->minor_version = ACPI_FADT_MINOR;
	/*
	 * Hardware-reduced (§4.1): no PM1/GPE blocks, no SCI, no SMI command,
	 * no FACS. Power off and reset go through the three registers below,
	 * each one byte-wide I/O port the VMM traps (docs/acpi.md).
	 */
	fadt->flags = ACPI_FADT_HW_REDUCED | ACPI_FADT_RESET_REG_SUP | ACPI_FADT_PWR_BUTTON |
		      ACPI_FADT_SLP_BUTTON;
	fadt->reset_reg = gas_io8(BOOT_PORT_ACPI_RESET);
	fadt->reset_value = BOOT_ACPI_RESET_VALUE;
	fadt->sleep_control_reg = gas_io8(BOOT_PORT_ACPI_SLEEP_CTL);
	fadt->sleep_status_reg = gas_io8(BOOT_PORT_ACPI_SLEEP_STS);
	/*
	 * No VGA, no CMOS RTC (kvm-clock gives the wall clock), and no 8042
	 * flag, so Linux skips probing a keyboard controller that is not
	 * there. ASPM is meaningless on virtual links: tell the OS to leave it.
	 * MSI stays allowed (the "MSI not supported" bit is clear).
	 */
	fadt->iapc_boot_arch = ACPI_IAPC_VGA_NOT_PRESENT | ACPI_IAPC_CMOS_RTC_NOT_PRESENT |
			       ACPI_IAPC_PCIE_ASPM_CONTROLS;
	/* Only the 64-bit pointer: ACPICA warns when DSDT and X_DSDT differ. */
	fadt->x_dsdt = dsdt;
	memcpy(fadt->hypervisor_id, "AGENTVMM", sizeof(fadt->hypervisor_id));
	acpi_set_checksum(fadt, sizeof(*fadt));
}

size_t acpi_madt_fill(uint8_t *buf, unsigned nr_cpus)
{
	struct acpi_madt madt;
	struct acpi_madt_ioapic ioapic = {
		.type = ACPI_MADT_TYPE_IOAPIC,
		.length = sizeof(ioapic),
		/*
		 * IOAPIC and LAPIC ids shared one APIC bus namespace before the
		 * P4; x86-64 Linux no longer cares, but keep them disjoint
		 * anyway: LAPICs are 0..nr_cpus-1, so the IOAPIC is nr_cpus.
		 */
		.ioapic_id = (uint8_t)nr_cpus,
		.address = (uint32_t)BOOT_IOAPIC_GPA,
		.gsi_base = 0,
	};
	struct acpi_madt_iso iso = {
		.type = ACPI_MADT_TYPE_ISO,
		.length = sizeof(iso),
		.bus = 0,
		.source = ACPI_ISA_IRQ_TIMER,
		.gsi = ACPI_GSI_TIMER,
		.flags = ACPI_MPS_INTI_ACTIVE_HIGH | ACPI_MPS_INTI_EDGE,
	};
	struct acpi_madt_lapic_nmi nmi = {
		.type = ACPI_MADT_TYPE_LAPIC_NMI,
		.length = sizeof(nmi),
		.processor_uid = ACPI_MADT_ALL_PROCESSORS,
		.flags = 0, /* conforms to the bus: edge, active high */
		.lint = ACPI_LINT_NMI,
	};
	size_t off = sizeof(madt);

	/* acpi_build_at() validated nr_cpus; the ids below must fit a byte. */
	assert(nr_cpus >= 1 && nr_cpus <= ACPI_MAX_CPUS);
	for (unsigned i = 0; i < nr_cpus; i++) {
		struct acpi_madt_lapic lapic = {
			.type = ACPI_MADT_TYPE_LAPIC,
			.length = sizeof(lapic),
			.processor_uid = (uint8_t)i,
			.apic_id = (uint8_t)i,
			.flags = ACPI_MADT_LAPIC_ENABLED,
		};

		memcpy(buf + off, &lapic, sizeof(lapic));
		off += sizeof(lapic);
	}
	memcpy(buf + off, &ioapic, sizeof(ioapic));
	off += sizeof(ioapic);
	memcpy(buf + off, &iso, sizeof(iso));
	off += sizeof(iso);
	memcpy(buf + off, &nmi, sizeof(nmi));
	off += sizeof(nmi);

	acpi_header_init(&madt.hdr, "APIC", (uint32_t)off, ACPI_MADT_REVISION);
	madt.lapic_addr = (uint32_t)BOOT_LAPIC_GPA;
	madt.flags = ACPI_MADT_PCAT_COMPAT;
	memcpy(buf, &madt, sizeof(madt));
	acpi_set_checksum(buf, off);
	return off;
}

void acpi_mcfg_fill(struct acpi_mcfg *mcfg)
{
	memset(mcfg, 0, sizeof(*mcfg));
	acpi_header_init(&mcfg->hdr, "MCFG", sizeof(*mcfg), ACPI_MCFG_REVISION);
	/* Bus 0 only, as ssdt_pci.asl's WordBusNumber and MRES say. */
	mcfg->alloc[0].base = BOOT_PCI_ECAM_GPA;
	mcfg->alloc[0].segment = 0;
	mcfg->alloc[0].start_bus = 0;
	mcfg->alloc[0].end_bus = 0;
	acpi_set_checksum(mcfg, sizeof(*mcfg));
}
