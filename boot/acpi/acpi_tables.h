/* SPDX-License-Identifier: MIT */
/*
 * acpi_tables.h: ACPI 6.0 table layouts (guest ABI) and the builders for the
 * tables generated in C; internal to boot/acpi/.
 *
 * All fields are little-endian, as on every host KVM runs us on (asserted
 * below). Section numbers refer to the ACPI 6.0 specification.
 */
#ifndef AGENTVMM_BOOT_ACPI_ACPI_TABLES_H
#define AGENTVMM_BOOT_ACPI_ACPI_TABLES_H

#include <stddef.h>
#include <stdint.h>

#include "boot/acpi/acpi.h"
#include "vmm/compiler.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ACPI tables are little-endian");

#define ACPI_OEM_ID "AGNTVM"         /* 6 bytes */
#define ACPI_OEM_TABLE_ID "AGENTVMM" /* 8 bytes, tables built in C */
#define ACPI_CREATOR_ID "AGVM"       /* 4 bytes */
#define ACPI_OEM_REVISION 1
#define ACPI_CREATOR_REVISION 1
#define ACPI_TABLE_ALIGN 16

/* §5.2.5.3 Root System Description Pointer, revision 2. */
struct acpi_rsdp {
	char signature[8]; /* "RSD PTR " */
	uint8_t checksum;  /* over the first 20 bytes (the ACPI 1.0 part) */
	char oem_id[6];
	uint8_t revision; /* 2 */
	uint32_t rsdt_addr;
	uint32_t length;
	uint64_t xsdt_addr;
	uint8_t ext_checksum; /* over all 36 bytes */
	uint8_t reserved[3];
} __packed;
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP size");
#define ACPI_RSDP_V1_LEN 20

/* §5.2.6 System Description Table Header. */
struct acpi_header {
	char signature[4];
	uint32_t length; /* whole table, header included */
	uint8_t revision;
	uint8_t checksum; /* all bytes of the table sum to 0 */
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __packed;
_Static_assert(sizeof(struct acpi_header) == 36, "SDT header size");

/* §5.2.3.2 Generic Address Structure. */
struct acpi_gas {
	uint8_t space_id; /* ACPI_GAS_SYSTEM_IO */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size; /* ACPI_GAS_ACCESS_BYTE */
	uint64_t address;
} __packed;
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS size");
#define ACPI_GAS_SYSTEM_IO 1
#define ACPI_GAS_ACCESS_BYTE 1

/* §5.2.9 Fixed ACPI Description Table, revision 6 (ACPI 6.0). */
struct acpi_fadt {
	struct acpi_header hdr;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
	uint32_t pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch; /* offset 109 */
	uint8_t reserved1;
	uint32_t flags; /* offset 112 */
	struct acpi_gas reset_reg; /* offset 116 */
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt; /* offset 140 */
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control_reg; /* offset 244 */
	struct acpi_gas sleep_status_reg;  /* offset 256 */
	char hypervisor_id[8];             /* offset 268 */
} __packed;
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT rev 6 size");
_Static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "IAPC_BOOT_ARCH offset");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT flags offset");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "X_DSDT offset");
_Static_assert(offsetof(struct acpi_fadt, sleep_control_reg) == 244, "SLEEP_CONTROL offset");
_Static_assert(offsetof(struct acpi_fadt, hypervisor_id) == 268, "hypervisor id offset");

/* Table 5-34 FADT flags. */
#define ACPI_FADT_PWR_BUTTON (1U << 4)     /* no fixed-feature power button */
#define ACPI_FADT_SLP_BUTTON (1U << 5)     /* no fixed-feature sleep button */
#define ACPI_FADT_RESET_REG_SUP (1U << 10) /* RESET_REG/RESET_VALUE are valid */
#define ACPI_FADT_HW_REDUCED (1U << 20)    /* HW_REDUCED_ACPI */

/* Table 5-35 IA-PC boot architecture flags. */
#define ACPI_IAPC_VGA_NOT_PRESENT (1U << 2)
#define ACPI_IAPC_PCIE_ASPM_CONTROLS (1U << 4) /* OS must not enable ASPM */
#define ACPI_IAPC_CMOS_RTC_NOT_PRESENT (1U << 5)

/* §5.2.12 Multiple APIC Description Table, revision 4 (ACPI 6.0). */
struct acpi_madt {
	struct acpi_header hdr;
	uint32_t lapic_addr;
	uint32_t flags; /* ACPI_MADT_PCAT_COMPAT */
} __packed;
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT size");
#define ACPI_MADT_PCAT_COMPAT (1U << 0) /* dual 8259 present */

/* §5.2.12.2 Processor Local APIC structure (type 0). */
struct acpi_madt_lapic {
	uint8_t type, length;
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags; /* ACPI_MADT_LAPIC_ENABLED */
} __packed;
_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "MADT LAPIC size");
#define ACPI_MADT_TYPE_LAPIC 0
#define ACPI_MADT_LAPIC_ENABLED (1U << 0)

/* §5.2.12.3 I/O APIC structure (type 1). */
struct acpi_madt_ioapic {
	uint8_t type, length;
	uint8_t ioapic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __packed;
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "MADT IOAPIC size");
#define ACPI_MADT_TYPE_IOAPIC 1

/* §5.2.12.5 Interrupt Source Override structure (type 2). */
struct acpi_madt_iso {
	uint8_t type, length;
	uint8_t bus; /* 0: ISA */
	uint8_t source;
	uint32_t gsi;
	uint16_t flags; /* Table 5-50 MPS INTI flags */
} __packed;
_Static_assert(sizeof(struct acpi_madt_iso) == 10, "MADT ISO size");
#define ACPI_MADT_TYPE_ISO 2
#define ACPI_MPS_INTI_ACTIVE_HIGH 0x1 /* polarity, bits 0..1 */
#define ACPI_MPS_INTI_EDGE 0x4        /* trigger mode, bits 2..3 */

/* §5.2.12.7 Local APIC NMI structure (type 4). */
struct acpi_madt_lapic_nmi {
	uint8_t type, length;
	uint8_t processor_uid; /* 0xff: all processors */
	uint16_t flags;
	uint8_t lint; /* 0 or 1 */
} __packed;
_Static_assert(sizeof(struct acpi_madt_lapic_nmi) == 6, "MADT LAPIC NMI size");
#define ACPI_MADT_TYPE_LAPIC_NMI 4
#define ACPI_MADT_ALL_PROCESSORS 0xff

/* PCI Firmware 3.2 §4.1.2 MCFG: header, 8 reserved bytes, allocation entries. */
struct acpi_mcfg_alloc {
	uint64_t base; /* ECAM base of bus 0 of this segment */
	uint16_t segment;
	uint8_t start_bus, end_bus;
	uint32_t reserved;
} __packed;
struct acpi_mcfg {
	struct acpi_header hdr;
	uint64_t reserved;
	struct acpi_mcfg_alloc alloc[1];
} __packed;
_Static_assert(sizeof(struct acpi_mcfg) == 60, "MCFG with one allocation");

/* Largest MADT: header, every LAPIC, IOAPIC, one override, one LAPIC NMI. */
#define ACPI_MADT_MAX_LEN                                                                  \
	(sizeof(struct acpi_madt) + ACPI_MAX_CPUS * sizeof(struct acpi_madt_lapic) +       \
	 sizeof(struct acpi_madt_ioapic) + sizeof(struct acpi_madt_iso) +                  \
	 sizeof(struct acpi_madt_lapic_nmi))

/* acpi_sum() - byte sum of (len) bytes at (p), mod 256. */
uint8_t acpi_sum(const void *p, size_t len);

/*
 * acpi_header_init() - fill (hdr) with (sig), (len), (rev) and our OEM and
 * creator ids; the checksum is left 0 for acpi_set_checksum().
 */
void acpi_header_init(struct acpi_header *hdr, const char *sig, uint32_t len, uint8_t rev);

/* acpi_set_checksum() - set the header checksum of the (len)-byte table (tbl). */
void acpi_set_checksum(void *tbl, size_t len);

/* acpi_fadt_fill() - the hardware-reduced FADT pointing at the DSDT at (dsdt). */
void acpi_fadt_fill(struct acpi_fadt *fadt, uint64_t dsdt);

/*
 * acpi_madt_fill() - the MADT for (nr_cpus) (1..ACPI_MAX_CPUS) into (buf) of
 * ACPI_MADT_MAX_LEN bytes.
 * Return: its length.
 */
size_t acpi_madt_fill(uint8_t *buf, unsigned nr_cpus);

/* acpi_mcfg_fill() - the MCFG for segment 0, bus 0 at BOOT_PCI_ECAM_GPA. */
void acpi_mcfg_fill(struct acpi_mcfg *mcfg);

#endif
