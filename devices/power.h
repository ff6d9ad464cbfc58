/* SPDX-License-Identifier: MIT */
/*
 * power.h: how platform devices (exit port, ACPI PM registers, i8042, pvpanic)
 * tell the VMM that the guest wants to stop, without knowing struct vm.
 */
#ifndef AGENTVMM_DEVICES_POWER_H
#define AGENTVMM_DEVICES_POWER_H

#include <stdint.h>

enum power_event {
	POWER_EXIT_STATUS, /* guest-init reported the workload status (value 0..255) */
	POWER_OFF,         /* ACPI S5 */
	POWER_RESET,       /* ACPI reset register or i8042 reset line */
	POWER_PANIC,       /* pvpanic: guest kernel panicked (value = pvpanic bits) */
	POWER_BOOTMARK,    /* boot-timer marker (value = phase), not a stop */
};

struct power_sink {
	/* event - Context: vCPU thread; must not block. */
	void (*event)(void *opaque, enum power_event ev, uint32_t value);
	void *opaque;
};

static inline void power_notify(const struct power_sink *s, enum power_event ev, uint32_t value)
{
	if (s && s->event)
		s->event(s->opaque, ev, value);
}

#endif
