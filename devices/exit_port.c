// SPDX-License-Identifier: MIT
/* exit_port.c: agentvmm's paravirtual exit port and boot-timer port. */
#include "devices/platform.h"

#include <string.h>

#include "boot/layout.h"
#include "vmm/log.h"

static void exit_port_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	uint32_t v;

	/* layout.h "Exit port protocol": one 32-bit write of AV_EXIT_MAGIC | status */
	if (off != 0 || len != 4) {
		log_guest_ratelimited("exit port: ignored %u-byte write at +%llu", len,
				      (unsigned long long)off);
		return;
	}
	memcpy(&v, data, sizeof(v));
	if ((v & AV_EXIT_MAGIC_MASK) != AV_EXIT_MAGIC) {
		log_guest_ratelimited("exit port: ignored value 0x%x", v);
		return;
	}
	power_notify(opaque, POWER_EXIT_STATUS, v & 0xff);
}

static void bootmark_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	uint32_t v;

	if (off != 0 || len != 4)
		return;
	memcpy(&v, data, sizeof(v));
	if ((v & AV_BOOTMARK_MAGIC_MASK) != AV_BOOTMARK_MAGIC)
		return;
	power_notify(opaque, POWER_BOOTMARK, v & 0xffff);
}

const struct iobus_ops exit_port_ops = {
	.write = exit_port_write,
};

const struct iobus_ops bootmark_ops = {
	.write = bootmark_write,
};
