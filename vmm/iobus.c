// SPDX-License-Identifier: MIT
/* iobus.c: sorted, lock-free-after-setup registry of PIO and MMIO ranges. */
#include "vmm/iobus.h"

#include <errno.h>
#include <string.h>

#include "vmm/log.h"

void iobus_init(struct iobus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
}

int iobus_register(struct iobus *bus, uint64_t base, uint64_t len, const struct iobus_ops *ops,
		   void *opaque, const char *name)
{
	uint64_t last;
	unsigned i;

	if (len == 0 || add_overflows(base, len - 1, &last) || !ops)
		return -EINVAL;
	if (bus->nr >= IOBUS_MAX_RANGES)
		return -ENOSPC;
	for (i = 0; i < bus->nr; i++) {
		const struct iobus_range *r = &bus->r[i];

		if (base <= r->base + (r->len - 1) && r->base <= last)
			return -EEXIST;
		if (r->base > base)
			break;
	}
	memmove(&bus->r[i + 1], &bus->r[i], (bus->nr - i) * sizeof(bus->r[0]));
	bus->r[i] = (struct iobus_range){
		.base = base, .len = len, .ops = ops, .opaque = opaque, .name = name,
	};
	bus->nr++;
	return 0;
}

static const struct iobus_range *iobus_find(const struct iobus *bus, uint64_t addr, uint32_t len)
{
	unsigned lo = 0, hi = bus->nr;

	/* binary search for the last range with base <= addr */
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (bus->r[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct iobus_range *r = &bus->r[lo - 1];
	if (len > r->len || addr - r->base > r->len - len)
		return NULL;
	return r;
}

bool iobus_read(const struct iobus *bus, uint64_t addr, void *data, uint32_t len)
{
	const struct iobus_range *r = iobus_find(bus, addr, len);

	if (!r || !r->ops->read) {
		memset(data, 0xff, len);
		if (!r)
			log_guest_ratelimited("unclaimed %s read at 0x%llx (%u bytes)", bus->name,
					      (unsigned long long)addr, len);
		return r != NULL;
	}
	r->ops->read(r->opaque, addr - r->base, data, len);
	return true;
}

bool iobus_write(const struct iobus *bus, uint64_t addr, const void *data, uint32_t len)
{
	const struct iobus_range *r = iobus_find(bus, addr, len);

	if (!r || !r->ops->write) {
		if (!r)
			log_guest_ratelimited("unclaimed %s write at 0x%llx (%u bytes)", bus->name,
					      (unsigned long long)addr, len);
		return r != NULL;
	}
	r->ops->write(r->opaque, addr - r->base, data, len);
	return true;
}
