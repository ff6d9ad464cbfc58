/* SPDX-License-Identifier: MIT */
/* fuzz_util.h: pieces the fuzz targets share (guest RAM, crafted-image mode). */
#ifndef AGENTVMM_TESTS_FUZZ_FUZZ_UTIL_H
#define AGENTVMM_TESTS_FUZZ_FUZZ_UTIL_H

#include <stdint.h>
#include <stdlib.h>

#include "boot/layout.h"
#include "vmm/guest_mem.h"

/* One guest RAM of (ram) bytes for the whole run (the first call's size wins). */
static inline struct guest_mem *fuzz_gm(uint64_t ram)
{
	static struct guest_mem gm;
	static int ready;

	if (!ready) {
		if (gm_create(&gm, ram, BOOT_MMIO_HOLE_GPA))
			abort();
		ready = 1;
	}
	return &gm;
}

/*
 * fuzz_pick_image() - byte 0 < 0xe0: the input patches a crafted image (img,
 * (full) bytes, already built by the caller), with bytes 1-2 an optional length
 * cut; otherwise the rest of the input is the raw image. Sets (*kimg, *klen)
 * and returns the offset of the first patch byte (0: raw, no patches).
 */
static inline size_t fuzz_pick_image(const uint8_t *data, size_t size, const uint8_t *img,
				     size_t full, const uint8_t **kimg, size_t *klen)
{
	*kimg = img;
	*klen = full;
	if (data[0] >= 0xe0) {
		*kimg = data + 1;
		*klen = size - 1;
		return 0;
	}
	if (size < 3)
		return 1;
	uint16_t cut = (uint16_t)(data[1] | data[2] << 8);
	if (cut < full && (data[0] & 1))
		*klen = cut;
	return 3;
}

/* The fuzz input read front to back; past its end every byte reads as 0. */
struct in {
	const uint8_t *p;
	size_t n;
};

/* take() - the next (bytes) bytes of (in), big-endian, as a number. */
static inline unsigned take(struct in *in, unsigned bytes)
{
	unsigned v = 0;

	for (unsigned i = 0; i < bytes; i++) {
		v = v << 8 | (in->n ? *in->p : 0);
		if (in->n) {
			in->p++;
			in->n--;
		}
	}
	return v;
}

#endif
