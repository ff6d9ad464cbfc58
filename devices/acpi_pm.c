// SPDX-License-Identifier: MIT
/* acpi_pm.c: hardware-reduced ACPI sleep control/status and reset registers, and pvpanic. */
#include "devices/platform.h"

#include <string.h>

#include "boot/layout.h"

/* ACPI 6.4 §4.8.3.7: sleep control register bits */
#define SLP_EN 0x20
#define SLP_TYP_SHIFT 2
#define SLP_TYP_MASK 0x7

#define PM_OFF_SLEEP_CTL (BOOT_PORT_ACPI_SLEEP_CTL - BOOT_PORT_ACPI_SLEEP_CTL)
#define PM_OFF_SLEEP_STS (BOOT_PORT_ACPI_SLEEP_STS - BOOT_PORT_ACPI_SLEEP_CTL)
#define PM_OFF_RESET (BOOT_PORT_ACPI_RESET - BOOT_PORT_ACPI_SLEEP_CTL)

static void acpi_pm_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	/* sleep status: WAK_STS never set (we never resume); reset reads 0 */
	memset(data, 0, len);
}

static void acpi_pm_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	uint8_t v = *(const uint8_t *)data;

	if (off == PM_OFF_SLEEP_CTL) {
		if ((v & SLP_EN) && ((v >> SLP_TYP_SHIFT) & SLP_TYP_MASK) == BOOT_ACPI_S5_SLP_TYP)
			power_notify(opaque, POWER_OFF, 0);
	} else if (off == PM_OFF_RESET && v == BOOT_ACPI_RESET_VALUE) {
		power_notify(opaque, POWER_RESET, 0);
	}
}

const struct iobus_ops acpi_pm_ops = {
	.read = acpi_pm_read,
	.write = acpi_pm_write,
};

static void pvpanic_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	/* capabilities the guest may use (pvpanic spec: read returns supported bits) */
	memset(data, 0, len);
	*(uint8_t *)data = PVPANIC_PANICKED | PVPANIC_CRASH_LOADED;
}

static void pvpanic_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	uint8_t v = *(const uint8_t *)data;

	if (v & PVPANIC_PANICKED)
		power_notify(opaque, POWER_PANIC, v);
}

const struct iobus_ops pvpanic_ops = {
	.read = pvpanic_read,
	.write = pvpanic_write,
};

/* Port 0xcf9, the PCH reset control register: RST_CPU set resets (Linux reboot=p). */
static void reset_ctl_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	memset(data, 0, len);
}

static void reset_ctl_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	if (len == 1 && (*(const uint8_t *)data & BOOT_RESET_CTL_RST_CPU))
		power_notify(opaque, POWER_RESET, 0);
}

const struct iobus_ops reset_ctl_ops = {
	.read = reset_ctl_read,
	.write = reset_ctl_write,
};
