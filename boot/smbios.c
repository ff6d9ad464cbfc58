// SPDX-License-Identifier: MIT
/* smbios.c: the SMBIOS 3.0 entry point and structure table (layout in smbios.h). */
#include "boot/smbios.h"

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot/layout.h"

/* Structure types and field values: SMBIOS 3.0.0 (DSP0134) §7.1, §7.2, §7.12, §7.45. */
#define SMBIOS_TYPE_BIOS 0
#define SMBIOS_TYPE_SYSTEM 1
#define SMBIOS_TYPE_OEM_STRINGS 11
#define SMBIOS_TYPE_END 127
#define SMBIOS_BIOS_PCI (1ULL << 7)         /* BIOS characteristics: PCI is supported */
#define SMBIOS_BIOS_EXT1_ACPI (1u << 0)     /* extension byte 1: ACPI is supported */
#define SMBIOS_BIOS_EXT2_VM (1u << 4)       /* extension byte 2: describes a virtual machine */
#define SMBIOS_RELEASE_NONE 0xff            /* BIOS / EC release: not supported */
#define SMBIOS_WAKEUP_POWER_SWITCH 6
#define SMBIOS_EP_REVISION 1                /* entry point revision 01h: SMBIOS 3.0 */

#define SMBIOS_VENDOR "agentvmm"
#define SMBIOS_PRODUCT "agentvmm VM"

struct smbios_hdr {
	uint8_t type;
	uint8_t length;     /* of the formatted area; the strings follow it */
	uint16_t handle;
} __packed;

struct smbios_bios {                 /* type 0, SMBIOS 2.4+ length */
	struct smbios_hdr hdr;
	uint8_t vendor, version;     /* string numbers */
	uint16_t start_segment;
	uint8_t release_date, rom_size;
	uint64_t characteristics;
	uint8_t ext1, ext2;
	uint8_t bios_major, bios_minor, ec_major, ec_minor;
} __packed;

struct smbios_system {               /* type 1, SMBIOS 2.4+ length */
	struct smbios_hdr hdr;
	uint8_t manufacturer, product, version, serial;
	uint8_t uuid[16];
	uint8_t wakeup, sku, family;
} __packed;

struct smbios_oem {                  /* type 11 */
	struct smbios_hdr hdr;
	uint8_t count;
} __packed;

struct smbios3_ep {                  /* SMBIOS 3.0 §5.2.2 */
	char anchor[5];              /* "_SM3_" */
	uint8_t checksum;            /* the 24 bytes sum to 0 */
	uint8_t length;
	uint8_t major, minor, docrev;
	uint8_t revision;
	uint8_t reserved;
	uint32_t table_max;          /* structure table maximum size */
	uint64_t table_addr;
} __packed;

_Static_assert(sizeof(struct smbios_bios) == 0x18, "SMBIOS type 0 is 18h bytes");
_Static_assert(sizeof(struct smbios_system) == 0x1b, "SMBIOS type 1 is 1Bh bytes");
_Static_assert(sizeof(struct smbios_oem) == 5, "SMBIOS type 11 is 5 bytes");
_Static_assert(sizeof(struct smbios3_ep) == SMBIOS_EP_LEN, "SMBIOS 3.0 entry point is 18h bytes");

/*
 * The table being built: with (p) NULL only (len) advances, so one pass
 * measures and a second one writes the same bytes.
 */
struct smbios_buf {
	uint8_t *p;
	size_t len;
};

static void put(struct smbios_buf *b, const void *data, size_t n)
{
	if (b->p)
		memcpy(b->p + b->len, data, n);
	b->len += n;
}

/* One structure: its formatted area, then its (nr) strings, each NUL-terminated, then a NUL. */
static void put_struct(struct smbios_buf *b, const void *area, size_t area_len,
		       const char *const *str, unsigned nr)
{
	put(b, area, area_len);
	for (unsigned i = 0; i < nr; i++)
		put(b, str[i], strlen(str[i]) + 1);
	/* §6.1.3: no strings is two NULs, else the set ends with one more */
	put(b, "\0", nr ? 1 : 2);
}

/* RFC 4122 byte order to SMBIOS 2.6+ order: time_low, time_mid, time_hi little-endian. */
static void uuid_to_smbios(const uint8_t in[16], uint8_t out[16])
{
	static const uint8_t order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };

	for (int i = 0; i < 16; i++)
		out[i] = in[order[i]];
}

static void put_tables(struct smbios_buf *b, const struct smbios_config *cfg)
{
	const char *bios_str[] = { SMBIOS_VENDOR, cfg->version };
	const char *sys_str[] = { SMBIOS_VENDOR, SMBIOS_PRODUCT, cfg->version };
	uint16_t handle = 0;
	struct smbios_bios bios = {
		.hdr = { SMBIOS_TYPE_BIOS, sizeof(bios), htole16(handle++) },
		.vendor = 1,
		.version = 2,
		.characteristics = htole64(SMBIOS_BIOS_PCI),
		.ext1 = SMBIOS_BIOS_EXT1_ACPI,
		.ext2 = SMBIOS_BIOS_EXT2_VM,
		.bios_major = SMBIOS_RELEASE_NONE, .bios_minor = SMBIOS_RELEASE_NONE,
		.ec_major = SMBIOS_RELEASE_NONE, .ec_minor = SMBIOS_RELEASE_NONE,
	};
	struct smbios_system sys = {
		.hdr = { SMBIOS_TYPE_SYSTEM, sizeof(sys), htole16(handle++) },
		.manufacturer = 1,
		.product = 2,
		.version = 3,
		.wakeup = SMBIOS_WAKEUP_POWER_SWITCH,
	};

	uuid_to_smbios(cfg->uuid, sys.uuid);
	put_struct(b, &bios, sizeof(bios), bios_str, ARRAY_SIZE(bios_str));
	put_struct(b, &sys, sizeof(sys), sys_str, ARRAY_SIZE(sys_str));
	if (cfg->nr_oem) {
		struct smbios_oem oem = {
			.hdr = { SMBIOS_TYPE_OEM_STRINGS, sizeof(oem), htole16(handle++) },
			.count = (uint8_t)cfg->nr_oem,
		};

		put_struct(b, &oem, sizeof(oem), cfg->oem, cfg->nr_oem);
	}
	struct smbios_hdr end = { SMBIOS_TYPE_END, sizeof(end), htole16(handle) };

	put_struct(b, &end, sizeof(end), NULL, 0);
}

int smbios_check(const struct smbios_config *cfg, size_t *len)
{
	struct smbios_buf b = { .p = NULL };
	size_t bytes = 0, n;

	if (!cfg->version || !cfg->version[0] || strlen(cfg->version) > SMBIOS_VERSION_MAX)
		return -EINVAL;
	if (cfg->nr_oem > SMBIOS_OEM_MAX_STRINGS)
		return -E2BIG;
	for (unsigned i = 0; i < cfg->nr_oem; i++) {
		/* an empty string would end the string set early */
		if (!cfg->oem[i] || !cfg->oem[i][0])
			return -EINVAL;
		n = strnlen(cfg->oem[i], SMBIOS_OEM_MAX_BYTES);
		if (n >= SMBIOS_OEM_MAX_BYTES || n + 1 > SMBIOS_OEM_MAX_BYTES - bytes)
			return -E2BIG;
		bytes += n + 1;
	}
	put_tables(&b, cfg);
	*len = b.len;
	return 0;
}

static uint8_t sum8(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (n--)
		s += *b++;
	return s;
}

int smbios_build_at(const struct guest_mem *gm, const struct smbios_config *cfg, gpa_t ep,
		    gpa_t table, uint64_t max, size_t *len)
{
	struct smbios_buf b = { .p = NULL };
	struct smbios3_ep e = {
		.anchor = { '_', 'S', 'M', '3', '_' },
		.length = sizeof(e),
		.major = 3,
		.minor = 0,
		.docrev = 0,
		.revision = SMBIOS_EP_REVISION,
		.table_addr = htole64(table),
	};
	size_t need;
	int ret;

	if (!IS_ALIGNED(ep, 16))
		return -EINVAL;
	ret = smbios_check(cfg, &need);
	if (ret)
		return ret;
	/* smbios_check() bounds the strings, so (need) is far below 4 GiB */
	if (need > max)
		return -ENOSPC;
	b.p = malloc(need);
	if (!b.p)
		return -ENOMEM;
	put_tables(&b, cfg);
	assert(b.len == need);
	ret = gm_write(gm, table, b.p, b.len);
	free(b.p);
	if (ret)
		return ret;
	/* §5.2.2: the exact length, which Linux then also exposes as the DMI file's size */
	e.table_max = htole32((uint32_t)need);
	e.checksum = (uint8_t)-sum8(&e, sizeof(e));
	ret = gm_write(gm, ep, &e, sizeof(e));
	if (ret)
		return ret;
	if (len)
		*len = need;
	return 0;
}

int smbios_build(const struct guest_mem *gm, const struct smbios_config *cfg, size_t *len)
{
	return smbios_build_at(gm, cfg, BOOT_SMBIOS_EP_GPA, BOOT_SMBIOS_TABLE_GPA,
			       BOOT_SMBIOS_END - BOOT_SMBIOS_TABLE_GPA, len);
}
