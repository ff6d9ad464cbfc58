/* SPDX-License-Identifier: MIT */
/*
 * bzimage.h: the 64-bit Linux boot protocol: setup-header checks, loading the
 * protected-mode kernel and filling struct boot_params (the zero page).
 *
 * A bzImage file is (Documentation/arch/x86/boot.rst):
 *
 *   [0, (setup_sects + 1) * 512)   real-mode boot sector and setup code; the
 *                                  setup header sits at 0x1f1 inside it
 *   [(setup_sects + 1) * 512, ..)  protected-mode kernel, syssize * 16 bytes,
 *                                  loaded at a kernel_alignment boundary;
 *                                  its 64-bit entry point is at +0x200
 *
 * The kernel then needs init_size bytes from its load address to decompress
 * and run, and finds the zero page through %rsi.
 */
#ifndef AGENTVMM_BOOT_BZIMAGE_H
#define AGENTVMM_BOOT_BZIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/e820.h"
#include "boot/handoff.h"
#include "vmm/compiler.h"
#include "vmm/guest_mem.h"

/* Setup-header facts that the rest of boot_setup() needs. */
struct bzimage_info {
	uint16_t version;         /* boot protocol, 0x020f = 2.15 */
	uint16_t xloadflags;
	uint32_t setup_size;      /* bytes of real-mode code, (setup_sects + 1) * 512 */
	uint64_t pm_size;         /* bytes of protected-mode kernel in the file */
	gpa_t load_gpa;           /* where the protected-mode kernel went */
	gpa_t entry64;            /* load_gpa + 0x200 */
	gpa_t kernel_end;         /* load_gpa + max(init_size, pm_size) */
	uint32_t cmdline_size;    /* longest command line, without the NUL */
	uint64_t initrd_addr_max; /* highest address the initrd's last byte may have */
	bool initrd_above_4g;     /* XLF_CAN_BE_LOADED_ABOVE_4G: initrd_addr_max does not bind */
};

/*
 * bzimage_parse() - check the setup header of the (len) bytes at (img) and
 * fill (bi) except the load fields. (name) prefixes the message in (err).
 * Return: 0; -EINVAL naming the problem: no "HdrS"/boot flag, protocol older
 * than 2.12, no XLF_KERNEL_64, not LOADED_HIGH, truncated ("truncated: header
 * says N bytes, file has M"), bad alignment.
 * Context: any.
 */
int bzimage_parse(const void *img, size_t len, const char *name, struct bzimage_info *bi,
		  char *err, size_t errlen) __must_check;

/*
 * bzimage_load() - bzimage_parse(), then choose the load address (pref_address
 * when it is aligned and fits, else BOOT_KERNEL_GPA rounded up to
 * kernel_alignment when the kernel is relocatable) and copy the
 * protected-mode kernel there; init_size bytes from it must lie in low RAM.
 * Return: 0; -EINVAL as bzimage_parse(), or "kernel needs N bytes at 0x..,
 * RAM ends at 0x..".
 * Context: setup.
 */
int bzimage_load(const struct guest_mem *gm, const void *img, size_t len, const char *name,
		 struct bzimage_info *bi, char *err, size_t errlen) __must_check;

/*
 * bzimage_write_params() - build the zero page at BOOT_ZERO_PAGE_GPA: the
 * setup header copied from (img) as the protocol says, type_of_loader 0xff,
 * and the command line, initrd, e820 and RSDP of (bp).
 * Return: 0; -EINVAL when (bp) has too many e820 entries or an address the
 * protocol cannot carry; -EFAULT when the zero page is not in RAM.
 * Context: setup.
 */
int bzimage_write_params(const struct guest_mem *gm, const void *img, size_t len,
			 const struct bzimage_info *bi, const struct boot_handoff *bp) __must_check;

#endif
