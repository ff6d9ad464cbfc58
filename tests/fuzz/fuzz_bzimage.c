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
#include "tests/fuzz/fuzz_util.h"
#include "tests/unit/boot/fake_kernel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_RAM MiB(32)
#define HDR_SPAN (0x270 - 0x1f1)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t img[FAKE_BZ_SIZE];
	const uint8_t *kimg;
	size_t klen, p;
	struct guest_mem *gm = fuzz_gm(FUZZ_RAM);
	struct e820_entry map[E820_MAX_ENTRIES];
	struct bzimage_info bi;
	char err[256];

	if (size == 0)
		return 0;
	if (data[0] < 0xe0)
		fake_bzimage(img);
	p = fuzz_pick_image(data, size, img, FAKE_BZ_SIZE, &kimg, &klen);
	if (p)
		for (size_t i = p; i + 1 < size; i += 2)
			img[0x1f1 + data[i] % HDR_SPAN] = data[i + 1];
	if (bzimage_load(gm, kimg, klen, "fuzz", &bi, err, sizeof(err)))
		return 0;
	/* invariants of an accepted image */
	if (bi.entry64 != bi.load_gpa + 0x200 || bi.kernel_end > gm_low_end(gm) ||
	    bi.load_gpa < BOOT_HIGH_RAM_GPA || bi.setup_size + bi.pm_size != klen)
		abort();
	int nr = e820_build(gm, map, E820_MAX_ENTRIES);
	if (nr < 0)
		abort();
	struct boot_handoff bp = {
		.cmdline_gpa = BOOT_CMDLINE_GPA, .initrd_gpa = bi.kernel_end, .initrd_len = 4096,
		.rsdp_gpa = BOOT_ACPI_GPA, .e820 = map, .nr_e820 = (unsigned)nr,
	};
	if (bzimage_write_params(gm, kimg, klen, &bi, &bp))
		abort();
	return 0;
}
