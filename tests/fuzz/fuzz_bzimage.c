// SPDX-License-Identifier: MIT
/*
 * fuzz_bzimage.c: bzImage header parsing, loading and zero-page writing.
 *
 * Input byte 0 picks the mode: mostly (< 0xe0) the rest is a list of
 * (offset, value) byte patches applied to a valid crafted bzImage's setup
 * header, plus a length cut, so the deep paths are reached; otherwise the rest
 * is a raw image.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/bzimage.h"
#include "boot/e820.h"
#include "boot/layout.h"
#include "tests/unit/boot/fake_kernel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_RAM MiB(32)
#define HDR_SPAN (0x270 - 0x1f1)

static struct guest_mem *fuzz_gm(void)
{
	static struct guest_mem gm;
	static int ready;

	if (!ready) {
		if (gm_create(&gm, FUZZ_RAM, BOOT_MMIO_HOLE_GPA))
			abort();
		ready = 1;
	}
	return &gm;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t img[FAKE_BZ_SIZE];
	const uint8_t *kimg = img;
	size_t klen = FAKE_BZ_SIZE;
	struct guest_mem *gm = fuzz_gm();
	struct e820_entry map[E820_MAX_ENTRIES];
	struct bzimage_info bi;
	char err[256];

	if (size == 0)
		return 0;
	if (data[0] < 0xe0) {
		fake_bzimage(img);
		size_t i = 1;
		if (size >= 3) { /* a length cut, mostly none */
			uint16_t cut = (uint16_t)(data[1] | data[2] << 8);
			if (cut < FAKE_BZ_SIZE && (data[0] & 1))
				klen = cut;
			i = 3;
		}
		for (; i + 1 < size; i += 2)
			img[0x1f1 + data[i] % HDR_SPAN] = data[i + 1];
	} else {
		kimg = data + 1;
		klen = size - 1;
	}
	if (bzimage_load(gm, kimg, klen, "fuzz", &bi, err, sizeof(err)))
		return 0;
	/* invariants of an accepted image */
	if (bi.entry64 != bi.load_gpa + 0x200 || bi.kernel_end > gm_low_end(gm) ||
	    bi.load_gpa < BOOT_HIGH_RAM_GPA || bi.setup_size + bi.pm_size != klen)
		abort();
	int nr = e820_build(gm, map, E820_MAX_ENTRIES);
	if (nr < 0)
		abort();
	struct bzimage_params bp = {
		.cmdline_gpa = BOOT_CMDLINE_GPA, .initrd_gpa = bi.kernel_end, .initrd_len = 4096,
		.rsdp_gpa = BOOT_ACPI_GPA, .e820 = map, .nr_e820 = (unsigned)nr,
	};
	if (bzimage_write_params(gm, kimg, klen, &bi, &bp))
		abort();
	return 0;
}
