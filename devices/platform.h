/* SPDX-License-Identifier: MIT */
/*
 * platform.h: the small port-I/O platform devices that end or time a VM:
 * agentvmm exit port and boot-timer port, ACPI PM registers of the
 * hardware-reduced FADT (sleep control/status, reset), pvpanic, and the
 * i8042 reset line. Port numbers and protocols: boot/layout.h.
 */
#ifndef AGENTVMM_DEVICES_PLATFORM_H
#define AGENTVMM_DEVICES_PLATFORM_H

#include "devices/power.h"
#include "vmm/iobus.h"

/* opaque for every ops table below: a const struct power_sink * */
extern const struct iobus_ops exit_port_ops;  /* AV_EXIT_PORT, 4 bytes */
extern const struct iobus_ops bootmark_ops;   /* AV_BOOTMARK_PORT, 4 bytes */
extern const struct iobus_ops acpi_pm_ops;    /* BOOT_PORT_ACPI_SLEEP_CTL, 3 bytes */
extern const struct iobus_ops pvpanic_ops;    /* BOOT_PORT_PVPANIC, 1 byte */
extern const struct iobus_ops reset_ctl_ops;  /* BOOT_PORT_RESET_CTL, 1 byte */
extern const struct iobus_ops i8042_ops;      /* BOOT_PORT_I8042_DATA..CMD, 5 bytes */

#define PVPANIC_PANICKED 0x1     /* pvpanic spec: guest panicked */
#define PVPANIC_CRASH_LOADED 0x2 /* guest kdump kernel loaded; not a stop */

#endif
