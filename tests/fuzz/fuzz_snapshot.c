// SPDX-License-Identifier: MIT
/*
 * fuzz_snapshot.c: the template header and section-table parser
 * (snap_parse(), vmm/snapshot_file.c) on untrusted files.
 *
 * Input byte 0 picks the mode: below 0xc0 the rest is a list of (offset16,
 * value) byte patches applied to a valid template's metadata (odd byte 0:
 * the crc is fixed up afterwards, so the checks behind it are reached),
 * else the rest is the metadata itself, for a file of its own length. A
 * parse that succeeds must describe only bytes inside the metadata and file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/snapshot_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define VER "fuzz"
#define RAM (4ULL << 20)

static uint8_t *valid(size_t *len, uint64_t *file_size)
{
	static const struct snap_ident id = { .mem_bytes = RAM, .nr_vcpus = 2,
					      .boot_kind = SNAP_BOOT_RAW, .image_size = 1 };
	struct snap_writer w;
	uint8_t *m = NULL;

	snap_w_init(&w, &id, VER);
	snap_w_add(&w, SNAP_SEC_VM, 0, "vm", 2);
	snap_w_add(&w, SNAP_SEC_VCPU, 0, "c0", 2);
	snap_w_add(&w, SNAP_SEC_VCPU, 1, "c1", 2);
	snap_w_add(&w, SNAP_SEC_DEVICE, SNAP_DEV_COM1, "u", 1);
	snap_w_add_ram(&w, 0, 0, RAM);
	if (snap_w_finish(&w, &m, len))
		abort();
	*file_size = w.hdr.file_size;
	snap_w_free(&w);
	return m;
}

static void check(const struct snap_info *in, size_t len, uint64_t file_size)
{
	const struct snap_region exp = { 0, RAM };
	volatile uint8_t sink = 0;
	char err[256];

	if (in->hdr.meta_size > len || in->hdr.file_size != file_size || in->nr > SNAP_MAX_SECTIONS)
		abort();
	for (unsigned i = 0; i < in->nr; i++) {
		const struct snap_section *s = &in->sec[i];

		if (s->offset > file_size || s->length > file_size - s->offset)
			abort();
		if (s->type != SNAP_SEC_RAM) {
			const uint8_t *p = snap_payload(in, s);

			if (s->offset + s->length > in->hdr.meta_size)
				abort();
			for (uint64_t j = 0; j < s->length; j++)
				sink ^= p[j]; /* ASan: inside the metadata buffer */
		}
		if (snap_find(in, s->type, s->index) != s)
			abort();
	}
	if (snap_check_ram(in, &exp, 1, err, sizeof(err)) == 0 && in->hdr.id.mem_bytes != RAM)
		sink ^= 1; /* a layout of another size may still match region 0 */
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct snap_info info;
	char err[256];
	uint8_t *m;
	size_t len;
	uint64_t file_size;

	if (size == 0)
		return 0;
	if (data[0] < 0xc0) {
		m = valid(&len, &file_size);
		for (size_t i = 1; i + 2 < size; i += 3) {
			size_t off = ((size_t)data[i] | (size_t)data[i + 1] << 8) % len;

			m[off] = data[i + 2];
		}
		if (data[0] & 1) {
			struct snap_header h;

			memcpy(&h, m, sizeof(h));
			h.meta_crc = 0;
			memcpy(m, &h, sizeof(h));
			h.meta_crc = snap_crc(m, len);
			memcpy(m, &h, sizeof(h));
		}
		/* a cut: byte 0's bits 1..2 shorten the file */
		file_size -= (uint64_t)((data[0] >> 1) & 3) * 4096;
	} else {
		len = size - 1;
		m = malloc(len ? len : 1);
		if (!m)
			return 0;
		memcpy(m, data + 1, len);
		file_size = len;
	}
	if (snap_parse(m, len, file_size, VER, &info, err, sizeof(err)) == 0)
		check(&info, len, file_size);
	free(m);
	return 0;
}
