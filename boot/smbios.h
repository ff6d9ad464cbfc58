/* SPDX-License-Identifier: MIT */
/*
 * smbios.h: the SMBIOS 3.0 tables through which a guest learns its vendor,
 * product and UUID (/sys/class/dmi/id) and gets OEM strings, such as the
 * systemd credentials ("io.systemd.credential:NAME=VALUE") systemd's PID 1
 * imports from /sys/firmware/dmi/entries/11-*.
 *
 * Layout in guest RAM (boot/layout.h; e820 reserves all of [EBDA, 1 MiB)):
 *
 *   BOOT_SMBIOS_EP_GPA     64-bit entry point "_SM3_" (SMBIOS 3.0 §5.2.2), 24 bytes:
 *                          checksum, version 3.0.0, table maximum size = the
 *                          table's exact length, table address
 *   BOOT_SMBIOS_TABLE_GPA  structure table, up to BOOT_SMBIOS_END:
 *     type 0    BIOS information: vendor "agentvmm", version; ACPI and PCI
 *               supported, "describes a virtual machine" (systemd-detect-virt
 *               reads that bit); no release date (none is the same as the
 *               no-DMI boot had for the kernel's BIOS-year quirks)
 *     type 1    system information: manufacturer "agentvmm", product
 *               "agentvmm VM", version, UUID (random per VM, RFC 4122
 *               version 4, stored with SMBIOS 2.6's little-endian first fields)
 *     type 11   OEM strings, in the order given; only when there are any
 *     type 127  end of table
 *
 * Linux finds the entry point by scanning 0xf0000..0xfffff in 16-byte steps
 * on a non-EFI boot (drivers/firmware/dmi_scan.c, dmi_scan_machine()), the
 * same for bzImage and PVH entry. Why the OEM strings are bounded at
 * SMBIOS_OEM_MAX_BYTES: at boot x86 Linux copies every type 11 string plus a
 * 40-byte struct dmi_device into a 64 KiB brk reservation
 * (RESERVE_BRK(dmi_alloc, 65536), arch/x86/kernel/setup.c) whose overflow is
 * a BUG_ON in extend_brk(), and it maps the whole table with one
 * early_memremap() of at most 64 pages (NR_FIX_BTMAPS). docs/architecture.md,
 * "Firmware tables", has the numbers.
 */
#ifndef AGENTVMM_BOOT_SMBIOS_H
#define AGENTVMM_BOOT_SMBIOS_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/compiler.h"
#include "vmm/guest_mem.h"

#define SMBIOS_OEM_MAX_STRINGS 255         /* type 11's Count is one byte */
#define SMBIOS_OEM_MAX_BYTES (48 * 1024)   /* all OEM strings, each with its NUL */
#define SMBIOS_VERSION_MAX 64              /* the version string, NUL excluded */
#define SMBIOS_EP_LEN 24

struct smbios_config {
	const char *const *oem;   /* type 11 strings: non-empty, NUL-terminated */
	unsigned nr_oem;          /* 0: no type 11 structure */
	const char *version;      /* BIOS and system version, 1..SMBIOS_VERSION_MAX bytes */
	uint8_t uuid[16];         /* system UUID in RFC 4122 (big-endian) byte order */
};

/*
 * smbios_check() - check (cfg) and compute the length of its structure table
 * into (len), without guest memory; smbios_build() runs the same checks.
 * Return: 0; -EINVAL for a NULL or empty OEM string or a bad version string;
 * -E2BIG for more than SMBIOS_OEM_MAX_STRINGS strings or more than
 * SMBIOS_OEM_MAX_BYTES bytes of them.
 * Context: any.
 */
int smbios_check(const struct smbios_config *cfg, size_t *len) __must_check;

/*
 * smbios_build() - write the entry point at BOOT_SMBIOS_EP_GPA and the table
 * at BOOT_SMBIOS_TABLE_GPA (below BOOT_SMBIOS_END) into (gm); the table's
 * length goes to (len) (may be NULL).
 * Return: as smbios_check(); -ENOSPC when the table does not fit; -EFAULT
 * when the area is not guest RAM; -ENOMEM. Nothing is written on an error but
 * -EFAULT.
 * Context: setup, single thread.
 * Guest: none; runs before the guest, which may later overwrite its RAM.
 */
int smbios_build(const struct guest_mem *gm, const struct smbios_config *cfg, size_t *len)
	__must_check;

/*
 * smbios_build_at() - smbios_build() with the entry point at (ep) (16-byte
 * aligned) and the table at (table), at most (max) bytes. Exposed so tests
 * can reach -ENOSPC.
 * Return: as smbios_build(), and -EINVAL for an (ep) not 16-byte aligned.
 * Context: setup, single thread.
 * Guest: none.
 */
int smbios_build_at(const struct guest_mem *gm, const struct smbios_config *cfg, gpa_t ep,
		    gpa_t table, uint64_t max, size_t *len) __must_check;

#endif
