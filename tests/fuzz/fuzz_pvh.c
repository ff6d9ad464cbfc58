// SPDX-License-Identifier: MIT
/*
 * fuzz_pvh.c: ELF64 validation, PVH note lookup, segment loading and start_info.
 *
 * Input byte 0 picks the mode: mostly (< 0xe0) the rest is a list of
 * (offset16, value) byte patches applied to the headers and notes of a valid
 * crafted vmlinux, plus a length cut; otherwise the rest is a raw ELF file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/e820.h"
#include "boot/layout.h"
#include "boot/pvh.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/unit/boot/fake_kernel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_RAM MiB(32)
#define PATCH_SPAN (FAKE_ELF_NOTE_OFF + FAKE_ELF_NOTE_SIZE)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t img[FAKE_ELF_SIZE];
	const uint8_t *kimg;
	size_t klen, p;
	struct guest_mem *gm = fuzz_gm(FUZZ_RAM);
	struct e820_entry map[E820_MAX_ENTRIES];
	struct pvh_info pi;
	char err[256];

	if (size == 0)
		return 0;
	if (data[0] < 0xe0)
		fake_elf(img);
	p = fuzz_pick_image(data, size, img, FAKE_ELF_SIZE, &kimg, &klen);
	if (p)
		for (size_t i = p; i + 2 < size; i += 3)
			img[(data[i] | data[i + 1] << 8) % PATCH_SPAN] = data[i + 2];
	if (pvh_load(gm, kimg, klen, "fuzz", &pi, err, sizeof(err)))
		return 0;
	if (pi.entry < pi.kernel_start || pi.entry >= pi.kernel_end ||
	    pi.kernel_start < BOOT_HIGH_RAM_GPA || pi.kernel_end > gm_low_end(gm))
		abort();
	int nr = e820_build(gm, map, E820_MAX_ENTRIES);
	if (nr < 0)
		abort();
	struct boot_handoff pp = {
		.cmdline_gpa = BOOT_CMDLINE_GPA, .initrd_gpa = pi.kernel_end, .initrd_len = 1,
		.rsdp_gpa = BOOT_ACPI_GPA, .e820 = map, .nr_e820 = (unsigned)nr,
	};
	if (pvh_write_start_info(gm, &pp))
		abort();
	return 0;
}
