// SPDX-License-Identifier: MIT
/* bzimage.c: 64-bit Linux boot protocol: setup-header checks, kernel load and zero page. */
#include "boot/bzimage.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <asm/bootparam.h>

#include "boot/layout.h"

/* Offsets in the file and in struct boot_params (Documentation/arch/x86/boot.rst). */
#define BZ_HDR_OFF 0x1f1       /* struct setup_header */
#define BZ_JUMP_OFF 0x201      /* byte: setup header ends at 0x202 + this */
#define BZ_MAGIC_OFF 0x202
#define BZ_MAGIC 0x53726448U   /* "HdrS" */
#define BZ_BOOT_FLAG 0xaa55
#define BZ_MIN_VERSION 0x020c  /* 2.12: xloadflags, so XLF_KERNEL_64 is knowable */
#define BZ_HDR_END_212 0x268   /* last field of protocol 2.12 (handover_offset) ends here */
#define BZ_ENTRY64_OFF 0x200   /* 64-bit entry point, from the load address */
#define BZ_DEFAULT_SETUP_SECTS 4
#define BZ_DEFAULT_INITRD_MAX 0x37ffffffU
#define BZ_LOADER_UNDEFINED 0xff
#define BZ_VID_MODE_NORMAL 0xffff

_Static_assert(sizeof(struct boot_params) == 4096, "zero page");
_Static_assert(offsetof(struct boot_params, hdr) == BZ_HDR_OFF, "setup header");
_Static_assert(offsetof(struct boot_params, hdr.header) == BZ_MAGIC_OFF, "HdrS");
_Static_assert(offsetof(struct boot_params, acpi_rsdp_addr) == 0x070, "acpi_rsdp_addr");
_Static_assert(offsetof(struct boot_params, e820_table) == 0x2d0, "e820_table");
_Static_assert(sizeof(struct boot_e820_entry) == sizeof(uint64_t) * 2 + sizeof(uint32_t),
	       "e820 entry");

static struct setup_header hdr_copy(const void *img)
{
	struct setup_header h;

	memcpy(&h, (const uint8_t *)img + BZ_HDR_OFF, sizeof(h));
	return h;
}

/* Header checks that need only the first BZ_HDR_END_212 bytes. */
static int check_header(const struct setup_header *h, size_t len, const char *name,
			char *err, size_t errlen)
{
	if (h->boot_flag != BZ_BOOT_FLAG) {
		snprintf(err, errlen, "%s: bad bzImage boot flag 0x%04x (want 0xaa55)", name,
			 h->boot_flag);
		return -EINVAL;
	}
	if (h->version < BZ_MIN_VERSION) {
		snprintf(err, errlen, "%s: boot protocol %u.%02u too old (need 2.12 or later)",
			 name, h->version >> 8, h->version & 0xff);
		return -EINVAL;
	}
	if (len < BZ_HDR_END_212) {
		snprintf(err, errlen, "%s: truncated: header says %u bytes, file has %zu", name,
			 BZ_HDR_END_212, len);
		return -EINVAL;
	}
	if (!(h->xloadflags & XLF_KERNEL_64)) {
		snprintf(err, errlen, "%s: not 64-bit capable (no XLF_KERNEL_64 in xloadflags)",
			 name);
		return -EINVAL;
	}
	if (!(h->loadflags & LOADED_HIGH)) {
		snprintf(err, errlen, "%s: zImage loading low is not supported (no LOADED_HIGH)",
			 name);
		return -EINVAL;
	}
	/* boot.rst: kernel_alignment is a power of two when relocatable_kernel is set. */
	if (h->relocatable_kernel &&
	    (h->kernel_alignment == 0 || (h->kernel_alignment & (h->kernel_alignment - 1)))) {
		snprintf(err, errlen, "%s: bad kernel_alignment 0x%x", name, h->kernel_alignment);
		return -EINVAL;
	}
	return 0;
}

int bzimage_parse(const void *img, size_t len, const char *name, struct bzimage_info *bi,
		  char *err, size_t errlen)
{
	uint32_t magic;

	memset(bi, 0, sizeof(*bi));
	if (len < BZ_MAGIC_OFF + sizeof(magic)) {
		snprintf(err, errlen, "%s: not a bzImage (file has only %zu bytes)", name, len);
		return -EINVAL;
	}
	memcpy(&magic, (const uint8_t *)img + BZ_MAGIC_OFF, sizeof(magic));
	if (magic != BZ_MAGIC) {
		snprintf(err, errlen, "%s: not a bzImage (no HdrS header)", name);
		return -EINVAL;
	}
	if (len < BZ_HDR_OFF + sizeof(struct setup_header)) {
		/* Short file: check what we can with a zero-padded header. */
		struct setup_header h;

		memset(&h, 0, sizeof(h));
		memcpy(&h, (const uint8_t *)img + BZ_HDR_OFF, len - BZ_HDR_OFF);
		int ret = check_header(&h, len, name, err, errlen);
		if (ret)
			return ret;
		snprintf(err, errlen, "%s: truncated: header says %zu bytes, file has %zu", name,
			 BZ_HDR_OFF + sizeof(h), len);
		return -EINVAL;
	}

	struct setup_header h = hdr_copy(img);
	int ret = check_header(&h, len, name, err, errlen);
	if (ret)
		return ret;

	uint32_t sects = h.setup_sects ? h.setup_sects : BZ_DEFAULT_SETUP_SECTS;
	uint64_t setup_size = ((uint64_t)sects + 1) * 512;
	uint64_t want = setup_size + (uint64_t)h.syssize * 16;
	if (h.syssize == 0 || want > len) {
		snprintf(err, errlen, "%s: truncated: header says %llu bytes, file has %zu", name,
			 (unsigned long long)want, len);
		return -EINVAL;
	}
	bi->version = h.version;
	bi->xloadflags = h.xloadflags;
	bi->setup_size = (uint32_t)setup_size;
	/* Load everything after the setup code: syssize may not count trailing padding. */
	bi->pm_size = len - setup_size;
	bi->cmdline_size = h.cmdline_size;
	bi->initrd_addr_max = h.initrd_addr_max ? h.initrd_addr_max : BZ_DEFAULT_INITRD_MAX;
	bi->initrd_above_4g = h.xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G;
	return 0;
}

/* true when [gpa, gpa + need) lies in low RAM above the boot area */
static bool kernel_fits(const struct guest_mem *gm, gpa_t gpa, uint64_t need)
{
	return gpa >= BOOT_HIGH_RAM_GPA && need <= gm_low_end(gm) && gpa <= gm_low_end(gm) - need;
}

int bzimage_load(const struct guest_mem *gm, const void *img, size_t len, const char *name,
		 struct bzimage_info *bi, char *err, size_t errlen)
{
	int ret = bzimage_parse(img, len, name, bi, err, errlen);
	if (ret)
		return ret;

	struct setup_header h = hdr_copy(img);
	uint64_t need = MAX((uint64_t)h.init_size, bi->pm_size);
	gpa_t load;

	/* boot.rst: pref_address is where a non-relocatable kernel must go. */
	if (h.pref_address && kernel_fits(gm, h.pref_address, need) &&
	    (!h.relocatable_kernel || IS_ALIGNED(h.pref_address, (uint64_t)h.kernel_alignment)))
		load = h.pref_address;
	else if (h.relocatable_kernel)
		load = ALIGN_UP(BOOT_KERNEL_GPA, (uint64_t)h.kernel_alignment);
	else
		load = h.pref_address ? h.pref_address : BOOT_HIGH_RAM_GPA;

	if (!kernel_fits(gm, load, need)) {
		snprintf(err, errlen, "%s: kernel needs %llu bytes at 0x%llx, RAM ends at 0x%llx",
			 name, (unsigned long long)need, (unsigned long long)load,
			 (unsigned long long)gm_low_end(gm));
		return -EINVAL;
	}
	ret = gm_write(gm, load, (const uint8_t *)img + bi->setup_size, bi->pm_size);
	if (ret) {
		snprintf(err, errlen, "%s: cannot copy kernel to 0x%llx", name,
			 (unsigned long long)load);
		return ret;
	}
	bi->load_gpa = load;
	bi->entry64 = load + BZ_ENTRY64_OFF;
	bi->kernel_end = load + need;
	return 0;
}

int bzimage_write_params(const struct guest_mem *gm, const void *img, size_t len,
			 const struct bzimage_info *bi, const struct boot_handoff *bp)
{
	struct boot_params zp;
	size_t hdr_end;

	if (bp->nr_e820 > E820_MAX_ENTRIES_ZEROPAGE || bp->cmdline_gpa >> 32 ||
	    len <= BZ_JUMP_OFF)
		return -EINVAL;

	/*
	 * boot.rst, "Details of header fields": copy the setup header from the
	 * kernel image into boot_params, from 0x1f1 to 0x202 + the byte at
	 * 0x201 (the jump's offset), then fill in the fields a loader writes.
	 */
	memset(&zp, 0, sizeof(zp));
	hdr_end = BZ_MAGIC_OFF + ((const uint8_t *)img)[BZ_JUMP_OFF];
	hdr_end = MIN(hdr_end, offsetof(struct boot_params, edd_mbr_sig_buffer));
	hdr_end = MIN(hdr_end, len);
	memcpy((uint8_t *)&zp + BZ_HDR_OFF, (const uint8_t *)img + BZ_HDR_OFF,
	       hdr_end - BZ_HDR_OFF);

	zp.hdr.type_of_loader = BZ_LOADER_UNDEFINED;
	zp.hdr.vid_mode = BZ_VID_MODE_NORMAL;
	zp.hdr.code32_start = (uint32_t)bi->load_gpa;
	zp.hdr.setup_data = 0; /* we pass no setup_data list */
	zp.hdr.cmd_line_ptr = (uint32_t)bp->cmdline_gpa;
	zp.ext_cmd_line_ptr = 0;
	if (bp->initrd_len) {
		zp.hdr.ramdisk_image = (uint32_t)bp->initrd_gpa;
		zp.ext_ramdisk_image = (uint32_t)(bp->initrd_gpa >> 32);
		zp.hdr.ramdisk_size = (uint32_t)bp->initrd_len;
		zp.ext_ramdisk_size = (uint32_t)(bp->initrd_len >> 32);
	}
	zp.acpi_rsdp_addr = bp->rsdp_gpa;
	zp.e820_entries = (uint8_t)bp->nr_e820;
	for (unsigned i = 0; i < bp->nr_e820; i++) {
		zp.e820_table[i].addr = bp->e820[i].addr;
		zp.e820_table[i].size = bp->e820[i].size;
		zp.e820_table[i].type = bp->e820[i].type;
	}
	return gm_write(gm, BOOT_ZERO_PAGE_GPA, &zp, sizeof(zp));
}
