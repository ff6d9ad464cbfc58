/* SPDX-License-Identifier: MIT */
/*
 * iobus.h: registry of guest-visible address ranges (one bus for port I/O,
 * one for MMIO), dispatching vCPU exits to device callbacks.
 *
 * Ranges are registered during setup, before any vCPU runs, and never change
 * afterwards, so lookups take no lock. The array is kept sorted by base and
 * ranges never overlap.
 */
#ifndef AGENTVMM_VMM_IOBUS_H
#define AGENTVMM_VMM_IOBUS_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/compiler.h"

struct iobus_ops {
	/*
	 * read/write - access of (len) bytes (1, 2, 4 or 8) at (off) from the
	 * range base. (data) is little-endian guest data.
	 * Context: vCPU thread; must not block.
	 * Guest: off, len and data come from the guest.
	 */
	void (*read)(void *opaque, uint64_t off, void *data, uint32_t len);
	void (*write)(void *opaque, uint64_t off, const void *data, uint32_t len);
};

struct iobus_range {
	uint64_t base, len;
	const struct iobus_ops *ops;
	void *opaque;
	const char *name;
};

#define IOBUS_MAX_RANGES 64

struct iobus {
	const char *name; /* "pio" or "mmio", for logs */
	unsigned nr;
	struct iobus_range r[IOBUS_MAX_RANGES];
};

void iobus_init(struct iobus *bus, const char *name);

/*
 * iobus_register() - claim [base, base+len) for (ops, opaque).
 * Return: 0; -EINVAL (len 0 or wraps), -EEXIST (overlaps a range), -ENOSPC.
 * Context: setup, before vCPUs start.
 */
int iobus_register(struct iobus *bus, uint64_t base, uint64_t len, const struct iobus_ops *ops,
		   void *opaque, const char *name) __must_check;

/*
 * iobus_read()/iobus_write() - dispatch an access. Unclaimed reads return
 * all-ones; unclaimed writes are dropped; both are logged rate-limited.
 * An access that straddles the end of a range is treated as unclaimed.
 * Return: true when a device claimed it.
 * Context: vCPU thread.
 * Guest: everything.
 */
bool iobus_read(const struct iobus *bus, uint64_t addr, void *data, uint32_t len);
bool iobus_write(const struct iobus *bus, uint64_t addr, const void *data, uint32_t len);

#endif
