// SPDX-License-Identifier: MIT
/* i8042.c: just enough of the PS/2 controller for the CPU reset line (command 0xfe). */
#include "devices/platform.h"

#include <string.h>

#include "boot/layout.h"

#define I8042_OFF_CMD (BOOT_PORT_I8042_CMD - BOOT_PORT_I8042_DATA)
#define I8042_CMD_RESET 0xfe /* pulse output port bit 0: CPU reset */

static void i8042_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	/* no keyboard: status 0 (output buffer empty, input buffer empty), data 0 */
	memset(data, 0, len);
}

static void i8042_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	if (off == I8042_OFF_CMD && *(const uint8_t *)data == I8042_CMD_RESET)
		power_notify(opaque, POWER_RESET, 0);
}

const struct iobus_ops i8042_ops = {
	.read = i8042_read,
	.write = i8042_write,
};
