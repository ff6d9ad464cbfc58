// SPDX-License-Identifier: MIT
/*
 * test_acpi.c: the ACPI tables as a guest and iasl see them, read at spec offsets.
 * Over 600 lines because it is the one binary for boot/acpi/ (STYLE §9) and
 * the iasl round trip shares the table walkers with the byte-level tests.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "boot/acpi/acpi.h"
#include "boot/layout.h"
#include "tests/helpers/th.h"

#define TEST_RAM MiB(2)

/*
 * Offsets from the ACPI 6.0 specification, written out here rather than
 * taken from the builder's structs, so a wrong struct fails these tests.
 */
#define SDT_LENGTH 4
#define SDT_REVISION 8
#define SDT_OEM_ID 10
#define SDT_HDR_LEN 36
#define RSDP_REVISION 15
#define RSDP_RSDT 16
#define RSDP_LENGTH 20
#define RSDP_XSDT 24
#define FADT_IAPC_BOOT_ARCH 109
#define FADT_FLAGS 112
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_MINOR 131
#define FADT_X_DSDT 140
#define FADT_SLEEP_CONTROL 244
#define FADT_SLEEP_STATUS 256
#define FADT_HYPERVISOR_ID 268
#define FADT_LEN 276
#define MADT_LAPIC_ADDR 36
#define MADT_FLAGS 40
#define MADT_ENTRIES 44
#define MCFG_BASE 44

struct fix {
	struct guest_mem gm;
	gpa_t rsdp;
};

static int fix_setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	th_gm_create(&f->gm, TEST_RAM);
	*state = f;
	return 0;
}

static int fix_teardown(void **state)
{
	struct fix *f = *state;

	gm_destroy(&f->gm);
	free(f);
	return 0;
}

static void build(struct fix *f, unsigned nr_cpus, bool pci)
{
	struct acpi_config cfg = { .nr_cpus = nr_cpus, .pci = pci };

	f->rsdp = 0;
	assert_int_equal(acpi_build(&f->gm, &cfg, &f->rsdp), 0);
}

static const uint8_t *ptr(const struct fix *f, gpa_t gpa, uint64_t len)
{
	const uint8_t *p = gm_ptr(&f->gm, gpa, len);

	assert_non_null(p);
	/* Every table lies inside the ACPI window. */
	assert_true(gpa >= BOOT_ACPI_GPA && gpa + len <= BOOT_ACPI_GPA + BOOT_ACPI_MAX);
	return p;
}

static uint64_t le(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = bytes; i--;)
		v = v << 8 | p[i];
	return v;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* A system description table at (gpa): its bytes and length, checksum checked. */
static const uint8_t *table(const struct fix *f, gpa_t gpa, const char *sig, uint32_t *len)
{
	const uint8_t *h = ptr(f, gpa, SDT_HDR_LEN);
	uint32_t l = (uint32_t)le(h + SDT_LENGTH, 4);
	const uint8_t *t;

	assert_memory_equal(h, sig, 4);
	assert_true(l >= SDT_HDR_LEN);
	t = ptr(f, gpa, l);
	assert_int_equal(sum(t, l), 0);
	assert_memory_equal(t + SDT_OEM_ID, "AGNTVM", 6);
	if (len)
		*len = l;
	return t;
}

/* The table with (sig) listed in the XSDT; NULL when absent. */
static const uint8_t *find(const struct fix *f, const char *sig, uint32_t *len)
{
	const uint8_t *rsdp = ptr(f, f->rsdp, 36);
	uint32_t xlen;
	const uint8_t *x = table(f, le(rsdp + RSDP_XSDT, 8), "XSDT", &xlen);

	for (uint32_t off = SDT_HDR_LEN; off < xlen; off += 8) {
		gpa_t gpa = le(x + off, 8);

		if (!memcmp(ptr(f, gpa, 4), sig, 4))
			return table(f, gpa, sig, len);
	}
	return NULL;
}

static const uint8_t *dsdt(const struct fix *f, uint32_t *len)
{
	const uint8_t *fadt = find(f, "FACP", NULL);

	assert_non_null(fadt);
	return table(f, le(fadt + FADT_X_DSDT, 8), "DSDT", len);
}

static bool contains(const uint8_t *hay, size_t hlen, const void *needle, size_t nlen)
{
	return memmem(hay, hlen, needle, nlen) != NULL;
}

static void test_acpi_build_rsdp_valid_at_layout_address(void **state)
{
	struct fix *f = *state;
	const uint8_t *r;

	build(f, 1, false);
	assert_int_equal(f->rsdp, BOOT_ACPI_GPA);
	assert_int_equal(f->rsdp % 16, 0);
	r = ptr(f, f->rsdp, 36);
	assert_memory_equal(r, "RSD PTR ", 8);
	assert_int_equal(sum(r, 20), 0);
	assert_int_equal(sum(r, 36), 0);
	assert_memory_equal(r + 9, "AGNTVM", 6);
	assert_int_equal(r[RSDP_REVISION], 2);
	assert_int_equal(le(r + RSDP_RSDT, 4), 0);
	assert_int_equal(le(r + RSDP_LENGTH, 4), 36);
	assert_int_not_equal(le(r + RSDP_XSDT, 8), 0);
	assert_int_equal(le(r + RSDP_XSDT, 8) % 8, 0);
}

/* XSDT entries, in order, and every table's checksum (checked by table()). */
static void check_xsdt(struct fix *f, bool pci)
{
	static const char *const want[] = { "FACP", "APIC", "MCFG", "SSDT" };
	unsigned nr = pci ? 4 : 2;
	const uint8_t *rsdp, *x;
	uint32_t xlen;

	build(f, 2, pci);
	rsdp = ptr(f, f->rsdp, 36);
	x = table(f, le(rsdp + RSDP_XSDT, 8), "XSDT", &xlen);
	assert_int_equal(x[SDT_REVISION], 1);
	assert_int_equal(xlen, SDT_HDR_LEN + 8 * nr);
	for (unsigned i = 0; i < nr; i++) {
		gpa_t gpa = le(x + SDT_HDR_LEN + 8 * i, 8);

		assert_int_equal(gpa % 16, 0);
		table(f, gpa, want[i], NULL);
	}
	dsdt(f, NULL);
}

static void test_acpi_build_no_pci_lists_facp_apic(void **state)
{
	check_xsdt(*state, false);
	assert_null(find(*state, "MCFG", NULL));
	assert_null(find(*state, "SSDT", NULL));
}

static void test_acpi_build_pci_lists_mcfg_ssdt(void **state)
{
	check_xsdt(*state, true);
}

/* Rebuilding without PCI after a PCI build leaves no stale MCFG reachable. */
static void test_acpi_build_rebuild_without_pci_drops_mcfg(void **state)
{
	struct fix *f = *state;

	build(f, 4, true);
	build(f, 4, false);
	assert_null(find(f, "MCFG", NULL));
}

static void check_gas_io8(const uint8_t *g, uint16_t port)
{
	assert_int_equal(g[0], 1); /* System I/O */
	assert_int_equal(g[1], 8); /* bit width */
	assert_int_equal(g[2], 0); /* bit offset */
	assert_int_equal(g[3], 1); /* byte access */
	assert_int_equal(le(g + 4, 8), port);
}

static void test_acpi_fadt_fields_at_spec_offsets(void **state)
{
	struct fix *f = *state;
	uint32_t len, flags;
	const uint8_t *t;

	build(f, 2, false);
	t = find(f, "FACP", &len);
	assert_non_null(t);
	assert_int_equal(len, FADT_LEN);
	assert_int_equal(t[SDT_REVISION], 6);
	assert_int_equal(t[FADT_MINOR], 0);
	flags = (uint32_t)le(t + FADT_FLAGS, 4);
	assert_true(flags & (1U << 20)); /* HW_REDUCED_ACPI */
	assert_true(flags & (1U << 10)); /* RESET_REG_SUP */
	check_gas_io8(t + FADT_RESET_REG, BOOT_PORT_ACPI_RESET);
	assert_int_equal(t[FADT_RESET_VALUE], BOOT_ACPI_RESET_VALUE);
	check_gas_io8(t + FADT_SLEEP_CONTROL, BOOT_PORT_ACPI_SLEEP_CTL);
	check_gas_io8(t + FADT_SLEEP_STATUS, BOOT_PORT_ACPI_SLEEP_STS);
	/* VGA and CMOS RTC absent, ASPM off, 8042 absent, MSI allowed. */
	assert_int_equal(le(t + FADT_IAPC_BOOT_ARCH, 2), (1 << 2) | (1 << 4) | (1 << 5));
	assert_memory_equal(t + FADT_HYPERVISOR_ID, "AGENTVMM", 8);
	/* Hardware-reduced: no SCI, no PM blocks, no FACS, DSDT only in X_DSDT. */
	assert_int_equal(le(t + 46, 2), 0);  /* SCI_INT */
	assert_int_equal(le(t + 36, 4), 0);  /* FIRMWARE_CTRL */
	assert_int_equal(le(t + 40, 4), 0);  /* DSDT */
	assert_int_equal(le(t + 132, 8), 0); /* X_FIRMWARE_CTRL */
	assert_int_equal(le(t + 56, 4), 0);  /* PM1a_EVT_BLK */
	dsdt(f, NULL);
}

static void check_madt(struct fix *f, unsigned nr_cpus)
{
	unsigned lapics = 0, ioapics = 0, isos = 0, nmis = 0;
	const uint8_t *t;
	uint32_t len, off;

	build(f, nr_cpus, false);
	t = find(f, "APIC", &len);
	assert_non_null(t);
	assert_int_equal(le(t + MADT_LAPIC_ADDR, 4), BOOT_LAPIC_GPA);
	assert_int_equal(le(t + MADT_FLAGS, 4), 1); /* PCAT_COMPAT */
	for (off = MADT_ENTRIES; off < len; off += t[off + 1]) {
		const uint8_t *e = t + off;

		assert_true(e[1] >= 2 && off + e[1] <= len);
		switch (e[0]) {
		case 0: /* Processor Local APIC, in order, APIC id == index */
			assert_int_equal(e[1], 8);
			assert_int_equal(e[2], lapics);
			assert_int_equal(e[3], lapics);
			assert_int_equal(le(e + 4, 4), 1); /* enabled */
			lapics++;
			break;
		case 1: /* I/O APIC, id clear of every LAPIC id */
			assert_int_equal(e[1], 12);
			assert_int_equal(e[2], nr_cpus);
			assert_int_equal(le(e + 4, 4), BOOT_IOAPIC_GPA);
			assert_int_equal(le(e + 8, 4), 0);
			ioapics++;
			break;
		case 2: /* ISA IRQ0 -> GSI 2, edge, active high */
			assert_int_equal(e[1], 10);
			assert_int_equal(e[2], 0);
			assert_int_equal(e[3], 0);
			assert_int_equal(le(e + 4, 4), 2);
			assert_int_equal(le(e + 8, 2), 0x5);
			isos++;
			break;
		case 4: /* LAPIC NMI, all processors, LINT1 */
			assert_int_equal(e[1], 6);
			assert_int_equal(e[2], 0xff);
			assert_int_equal(e[5], 1);
			nmis++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
	}
	assert_int_equal(off, len);
	assert_int_equal(lapics, nr_cpus);
	assert_int_equal(ioapics, 1);
	assert_int_equal(isos, 1);
	assert_int_equal(nmis, 1);
}

static void test_acpi_madt_1_cpu(void **state)
{
	check_madt(*state, 1);
}

static void test_acpi_madt_2_cpus(void **state)
{
	check_madt(*state, 2);
}

static void test_acpi_madt_8_cpus(void **state)
{
	check_madt(*state, 8);
}

static void test_acpi_madt_255_cpus(void **state)
{
	check_madt(*state, ACPI_MAX_CPUS);
}

static void test_acpi_build_bad_cpu_count_fails_einval(void **state)
{
	struct fix *f = *state;
	struct acpi_config cfg = { .nr_cpus = 0 };
	gpa_t rsdp = 0x1234;

	assert_int_equal(acpi_build(&f->gm, &cfg, &rsdp), -EINVAL);
	cfg.nr_cpus = 256;
	cfg.pci = true;
	assert_int_equal(acpi_build(&f->gm, &cfg, &rsdp), -EINVAL);
	assert_int_equal(rsdp, 0x1234);
	/* Nothing written. */
	assert_int_equal(sum(ptr(f, BOOT_ACPI_GPA, 36), 36), 0);
	assert_memory_not_equal(ptr(f, BOOT_ACPI_GPA, 8), "RSD PTR ", 8);
}

static void test_acpi_build_at_misaligned_base_fails_einval(void **state)
{
	struct fix *f = *state;
	struct acpi_config cfg = { .nr_cpus = 1 };
	gpa_t rsdp;

	assert_int_equal(acpi_build_at(&f->gm, &cfg, BOOT_ACPI_GPA + 8, BOOT_ACPI_MAX, &rsdp),
			 -EINVAL);
}

static void test_acpi_build_at_too_small_fails_enospc(void **state)
{
	struct fix *f = *state;
	struct acpi_config cfg = { .nr_cpus = ACPI_MAX_CPUS, .pci = true };
	uint32_t need;
	gpa_t rsdp;

	/* Find the exact size needed: it fits, one byte less does not. */
	build(f, ACPI_MAX_CPUS, true);
	{
		const uint8_t *r = ptr(f, f->rsdp, 36);
		const uint8_t *x = table(f, le(r + RSDP_XSDT, 8), "XSDT", &need);

		need += (uint32_t)(x - r);
	}
	assert_int_equal(acpi_build_at(&f->gm, &cfg, BOOT_ACPI_GPA, need, &rsdp), 0);
	assert_int_equal(acpi_build_at(&f->gm, &cfg, BOOT_ACPI_GPA, need - 1, &rsdp), -ENOSPC);
	assert_int_equal(acpi_build_at(&f->gm, &cfg, BOOT_ACPI_GPA, 0, &rsdp), -ENOSPC);
	assert_true(need <= BOOT_ACPI_MAX);
}

static void test_acpi_build_outside_ram_fails_efault(void **state)
{
	struct guest_mem gm;
	struct acpi_config cfg = { .nr_cpus = 1 };
	gpa_t rsdp;

	(void)state;
	th_gm_create(&gm, KiB(512)); /* ends below BOOT_ACPI_GPA */
	assert_int_equal(acpi_build(&gm, &cfg, &rsdp), -EFAULT);
	gm_destroy(&gm);
}

static void test_acpi_mcfg_bus0_at_ecam(void **state)
{
	struct fix *f = *state;
	uint32_t len;
	const uint8_t *t;

	build(f, 1, true);
	t = find(f, "MCFG", &len);
	assert_non_null(t);
	assert_int_equal(len, 60);
	assert_int_equal(le(t + MCFG_BASE, 8), BOOT_PCI_ECAM_GPA);
	assert_int_equal(le(t + MCFG_BASE + 8, 2), 0); /* segment */
	assert_int_equal(t[MCFG_BASE + 10], 0);        /* start bus */
	assert_int_equal(t[MCFG_BASE + 11], 0);        /* end bus */
}

/* Small I/O port descriptor (ACPI 6.0 §6.4.2.5), 16-bit decode, fixed base. */
static void io_desc(uint8_t d[8], uint16_t port, uint8_t len)
{
	const uint8_t v[8] = { 0x47, 0x01, port & 0xff, port >> 8, port & 0xff, port >> 8, 1, len };

	memcpy(d, v, 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The static AML agrees with boot/layout.h (dsdt.asl copies its numbers). */
static void test_acpi_dsdt_matches_layout(void **state)
{
	struct fix *f = *state;
	const uint8_t irq[3] = { 0x22, (1 << BOOT_COM1_IRQ) & 0xff, (1 << BOOT_COM1_IRQ) >> 8 };
	const uint8_t s5[] = { '_', 'S', '5', '_', 0x12 };
	const uint8_t *t, *p;
	uint8_t d[8];
	uint32_t len;

	build(f, 1, false);
	t = dsdt(f, &len);
	assert_int_equal(t[SDT_REVISION], 2);
	io_desc(d, BOOT_PORT_COM1, 8);
	assert_true(contains(t, len, d, 8));
	assert_true(contains(t, len, irq, 3));
	assert_true(contains(t, len, "\x41\xd0\x05\x01", 4)); /* EisaId PNP0501 */
	io_desc(d, BOOT_PORT_PVPANIC, 1);
	assert_true(contains(t, len, d, 8));
	assert_true(contains(t, len, "QEMU0001", 8));
	/* GED: Interrupt(Consumer, Edge, ActiveHigh, Exclusive) {BOOT_GED_GSI} */
	const uint8_t ged_irq[9] = { 0x89, 0x06, 0x00, 0x03, 0x01, BOOT_GED_GSI & 0xff,
				     (BOOT_GED_GSI >> 8) & 0xff, 0, 0 };
	/* OperationRegion(GDST, SystemIO, BOOT_PORT_GED, 1): space 1, WordConst, One */
	const uint8_t ged_reg[] = { 'G', 'D', 'S', 'T', 0x01, 0x0b, BOOT_PORT_GED & 0xff,
				    BOOT_PORT_GED >> 8, 0x01 };
	assert_true(contains(t, len, ged_irq, sizeof(ged_irq)));
	assert_true(contains(t, len, ged_reg, sizeof(ged_reg)));
	assert_true(contains(t, len, "ACPI0013", 8));
	assert_true(contains(t, len, "_EVT", 4));
	assert_true(contains(t, len, "\x41\xd0\x0c\x0c", 4)); /* EisaId PNP0C0C */
	/* Name(_S5, Package(4) {SLP_TYP, ...}): PkgLength, NumElements, BytePrefix */
	p = memmem(t, len, s5, sizeof(s5));
	assert_non_null(p);
	assert_true(p + 8 < t + len);
	assert_int_equal(p[7], 0x0a);
	assert_int_equal(p[8], BOOT_ACPI_S5_SLP_TYP);
}

static void test_acpi_ssdt_pci_matches_layout(void **state)
{
	struct fix *f = *state;
	uint8_t d[8], win[16], ecam[12] = { 0x86, 0x09, 0x00, 0x01 };
	const uint8_t *t;
	uint32_t len;

	build(f, 1, true);
	t = find(f, "SSDT", &len);
	assert_non_null(t);
	io_desc(d, BOOT_PORT_PCI_CFG_ADDR, 8);
	assert_true(contains(t, len, d, 8));
	/* DWordMemory: min, max, translation, length */
	put32(win, (uint32_t)BOOT_PCI_MMIO32_GPA);
	put32(win + 4, (uint32_t)(BOOT_PCI_MMIO32_GPA + BOOT_PCI_MMIO32_SIZE - 1));
	put32(win + 8, 0);
	put32(win + 12, (uint32_t)BOOT_PCI_MMIO32_SIZE);
	assert_true(contains(t, len, win, sizeof(win)));
	/* Memory32Fixed reserving bus 0's ECAM */
	put32(ecam + 4, (uint32_t)BOOT_PCI_ECAM_GPA);
	put32(ecam + 8, (uint32_t)MiB(1));
	assert_true(contains(t, len, ecam, sizeof(ecam)));
	assert_true(contains(t, len, "_OSC", 4));
	assert_true(contains(t, len, "\x41\xd0\x0a\x08", 4)); /* EisaId PNP0A08 */
	assert_true(contains(t, len, "\x41\xd0\x0a\x03", 4)); /* EisaId PNP0A03 */
	assert_true(contains(t, len, "\x41\xd0\x0c\x02", 4)); /* EisaId PNP0C02 */
}

/* iasl on PATH, or NULL. */
static const char *find_iasl(void)
{
	static char path[4096];
	const char *env = getenv("PATH");

	for (const char *dir = env ? env : "/usr/bin:/bin"; *dir;) {
		size_t n = strcspn(dir, ":");

		snprintf(path, sizeof(path), "%.*s/iasl", (int)n, dir);
		if (n && access(path, X_OK) == 0)
			return path;
		dir += n + (dir[n] == ':');
	}
	return NULL;
}

/* Write (len) bytes of (t) to (dir)/(name).dat and disassemble it; the .dsl text. */
static char *disassemble(const char *iasl, const char *dir, const char *name, const uint8_t *t,
			 size_t len)
{
	char path[512], cmd[2048];
	size_t dlen;
	FILE *fp;
	char *dsl;

	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(t, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	snprintf(cmd, sizeof(cmd), "cd '%s' && '%s' -d %s.dat >%s.log 2>&1", dir, iasl, name,
		 name);
	if (system(cmd) != 0) {
		snprintf(path, sizeof(path), "%s/%s.log", dir, name);
		dsl = th_read_file(path, &dlen);
		fail_msg("iasl -d %s failed:\n%s", name, dsl ? dsl : "(no log)");
	}
	snprintf(path, sizeof(path), "%s/%s.dsl", dir, name);
	dsl = th_read_file(path, &dlen);
	assert_non_null(dsl);
	return dsl;
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void expect(const char *dsl, const char *needle)
{
	if (!strstr(dsl, needle))
		fail_msg("\"%s\" missing from iasl output:\n%s", needle, dsl);
}

/* Every SDT we write decompiles with iasl -d and says what we meant. */
static void test_acpi_iasl_disassembles_every_table(void **state)
{
	static const char *const sigs[] = { "FACP", "APIC", "MCFG", "SSDT" };
	struct fix *f = *state;
	const char *iasl = find_iasl();
	char dir[] = "/tmp/test_acpi.XXXXXX", cmd[600], buf[64];
	const uint8_t *t;
	uint32_t len;
	char *dsl;

	if (!iasl) {
		print_message("iasl not found on PATH: skipping the disassembly check\n");
		skip();
	}
	assert_non_null(mkdtemp(dir));
	build(f, 8, true);

	/*
	 * No RSDP here: iasl 20200925 rejects any standalone RSDP file, even
	 * the one its own "iasl -T RSDP" template compiles to. The RSDP is
	 * checked byte by byte in test_acpi_build_rsdp_valid_at_layout_address.
	 */
	{
		const uint8_t *r = ptr(f, f->rsdp, 36);

		t = table(f, le(r + RSDP_XSDT, 8), "XSDT", &len);
		dsl = disassemble(iasl, dir, "xsdt", t, len);
		expect(dsl, "Signature : \"XSDT\"");
		assert_int_equal(count(dsl, "ACPI Table Address"), 4);
		free(dsl);
	}

	t = dsdt(f, &len);
	dsl = disassemble(iasl, dir, "dsdt", t, len);
	expect(dsl, "\"QEMU0001\"");
	expect(dsl, "\"ACPI0013\"");
	expect(dsl, "Notify (PWRB, 0x80)");
	expect(dsl, "Method (_EVT, 1");
	expect(dsl, "EisaId (\"PNP0501\")");
	expect(dsl, "Name (_S5, Package");
	free(dsl);

	for (unsigned i = 0; i < ARRAY_SIZE(sigs); i++) {
		t = find(f, sigs[i], &len);
		assert_non_null(t);
		snprintf(buf, sizeof(buf), "%.4s", sigs[i]);
		dsl = disassemble(iasl, dir, buf, t, len);
		expect(dsl, "Checksum");
		if (!strcmp(sigs[i], "FACP")) {
			expect(dsl, "Hardware Reduced (V5) : 1");
			expect(dsl, "Reset Register Supported (V2) : 1");
			expect(dsl, "Address : 0000000000000600");
			expect(dsl, "Address : 0000000000000601");
			expect(dsl, "Address : 0000000000000602");
		} else if (!strcmp(sigs[i], "APIC")) {
			assert_int_equal(count(dsl, "[Processor Local APIC]"), 8);
			assert_int_equal(count(dsl, "[I/O APIC]"), 1);
			expect(dsl, "Address : FEC00000");
		} else if (!strcmp(sigs[i], "MCFG")) {
			expect(dsl, "Base Address : 00000000E0000000");
		} else {
			expect(dsl, "EisaId (\"PNP0A08\")");
			expect(dsl, "Method (_OSC, 4");
		}
		free(dsl);
	}

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fix_setup, fix_teardown)
		T(test_acpi_build_rsdp_valid_at_layout_address),
		T(test_acpi_build_no_pci_lists_facp_apic),
		T(test_acpi_build_pci_lists_mcfg_ssdt),
		T(test_acpi_build_rebuild_without_pci_drops_mcfg),
		T(test_acpi_fadt_fields_at_spec_offsets),
		T(test_acpi_madt_1_cpu),
		T(test_acpi_madt_2_cpus),
		T(test_acpi_madt_8_cpus),
		T(test_acpi_madt_255_cpus),
		T(test_acpi_build_bad_cpu_count_fails_einval),
		T(test_acpi_build_at_misaligned_base_fails_einval),
		T(test_acpi_build_at_too_small_fails_enospc),
		T(test_acpi_build_outside_ram_fails_efault),
		T(test_acpi_mcfg_bus0_at_ecam),
		T(test_acpi_dsdt_matches_layout),
		T(test_acpi_ssdt_pci_matches_layout),
		T(test_acpi_iasl_disassembles_every_table),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
