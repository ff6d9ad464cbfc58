// SPDX-License-Identifier: MIT
/* acpi.c: lay the ACPI tables out in guest RAM and link them: RSDP, XSDT, static AML. */
#include "boot/acpi/acpi.h"

#include <errno.h>
#include <string.h>

#include "boot/acpi/acpi_tables.h"
#include "boot/layout.h"

/* iasl output, compiled at build time from boot/acpi/<name>.asl (boot/CMakeLists.txt). */
#include "boot/acpi/dsdt.hex"
#include "boot/acpi/ssdt_pci.hex"

/* FACP, APIC, MCFG, SSDT */
#define ACPI_XSDT_MAX_ENTRIES 4

_Static_assert(IS_ALIGNED(BOOT_ACPI_GPA, ACPI_TABLE_ALIGN), "RSDP must be 16-byte aligned");
_Static_assert(BOOT_ACPI_GPA >= 0xe0000 && BOOT_ACPI_GPA + sizeof(struct acpi_rsdp) <= 0x100000,
	       "RSDP outside the BIOS area a legacy scan covers (ACPI 6.0 §5.2.5.1)");

/* The window being filled: tables go at base + off, never past base + max. */
struct acpi_writer {
	const struct guest_mem *gm;
	gpa_t base;
	uint64_t max;
	uint64_t off;
};

/* Copy (len) bytes of (tbl) to the next aligned free spot; its address goes in (gpa). */
static int acpi_put(struct acpi_writer *w, const void *tbl, size_t len, gpa_t *gpa)
{
	uint64_t off = ALIGN_UP(w->off, ACPI_TABLE_ALIGN);
	int ret;

	if (off > w->max || len > w->max - off)
		return -ENOSPC;
	ret = gm_write(w->gm, w->base + off, tbl, len);
	if (ret)
		return ret;
	*gpa = w->base + off;
	w->off = off + len;
	return 0;
}

/* Write the XSDT over the (nr) table addresses in (entry). */
static int acpi_put_xsdt(struct acpi_writer *w, const uint64_t *entry, unsigned nr, gpa_t *gpa)
{
	struct {
		struct acpi_header hdr;
		uint64_t entry[ACPI_XSDT_MAX_ENTRIES];
	} __packed xsdt;
	size_t len = sizeof(xsdt.hdr) + nr * sizeof(xsdt.entry[0]);

	acpi_header_init(&xsdt.hdr, "XSDT", (uint32_t)len, 1);
	memcpy(xsdt.entry, entry, nr * sizeof(xsdt.entry[0]));
	acpi_set_checksum(&xsdt, len);
	return acpi_put(w, &xsdt, len, gpa);
}

static void acpi_rsdp_fill(struct acpi_rsdp *rsdp, uint64_t xsdt)
{
	memset(rsdp, 0, sizeof(*rsdp));
	memcpy(rsdp->signature, "RSD PTR ", sizeof(rsdp->signature));
	memcpy(rsdp->oem_id, ACPI_OEM_ID, sizeof(rsdp->oem_id));
	rsdp->revision = 2;
	rsdp->rsdt_addr = 0; /* XSDT only: every 64-bit OS reads it */
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt_addr = xsdt;
	rsdp->checksum = (uint8_t)-acpi_sum(rsdp, ACPI_RSDP_V1_LEN);
	rsdp->ext_checksum = (uint8_t)-acpi_sum(rsdp, sizeof(*rsdp));
}

/* The tables the XSDT lists, written after the DSDT; their addresses go in (entry). */
static int acpi_put_sdts(struct acpi_writer *w, const struct acpi_config *cfg, gpa_t dsdt,
			 uint64_t *entry, unsigned *nr)
{
	uint8_t madt[ACPI_MADT_MAX_LEN];
	struct acpi_fadt fadt;
	struct acpi_mcfg mcfg;
	size_t madt_len;
	int ret;

	*nr = 0;
	acpi_fadt_fill(&fadt, dsdt);
	ret = acpi_put(w, &fadt, sizeof(fadt), &entry[(*nr)++]);
	if (ret)
		return ret;
	madt_len = acpi_madt_fill(madt, cfg->nr_cpus);
	ret = acpi_put(w, madt, madt_len, &entry[(*nr)++]);
	if (ret || !cfg->pci)
		return ret;
	acpi_mcfg_fill(&mcfg);
	ret = acpi_put(w, &mcfg, sizeof(mcfg), &entry[(*nr)++]);
	if (ret)
		return ret;
	return acpi_put(w, ssdt_pci_aml, sizeof(ssdt_pci_aml), &entry[(*nr)++]);
}

int acpi_build_at(const struct guest_mem *gm, const struct acpi_config *cfg, gpa_t base,
		  uint64_t max, gpa_t *rsdp_gpa)
{
	struct acpi_writer w = { .gm = gm, .base = base, .max = max };
	uint64_t entry[ACPI_XSDT_MAX_ENTRIES];
	struct acpi_rsdp rsdp;
	gpa_t dsdt, xsdt, gpa;
	unsigned nr;
	int ret;

	if (cfg->nr_cpus == 0 || cfg->nr_cpus > ACPI_MAX_CPUS ||
	    !IS_ALIGNED(base, ACPI_TABLE_ALIGN))
		return -EINVAL;

	/* The RSDP goes first, at (base), once the XSDT's address is known. */
	w.off = sizeof(rsdp);
	ret = acpi_put(&w, dsdt_aml, sizeof(dsdt_aml), &dsdt);
	if (!ret)
		ret = acpi_put_sdts(&w, cfg, dsdt, entry, &nr);
	if (!ret)
		ret = acpi_put_xsdt(&w, entry, nr, &xsdt);
	if (ret)
		return ret;

	acpi_rsdp_fill(&rsdp, xsdt);
	w.off = 0;
	ret = acpi_put(&w, &rsdp, sizeof(rsdp), &gpa);
	if (ret)
		return ret;
	*rsdp_gpa = gpa;
	return 0;
}

int acpi_build(const struct guest_mem *gm, const struct acpi_config *cfg, gpa_t *rsdp_gpa)
{
	return acpi_build_at(gm, cfg, BOOT_ACPI_GPA, BOOT_ACPI_MAX, rsdp_gpa);
}
