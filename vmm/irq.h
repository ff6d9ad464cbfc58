/* SPDX-License-Identifier: MIT */
/*
 * irq.h: how a device raises an interrupt without knowing about KVM.
 *
 * vmm/ hands each device a struct irq_line bound to one GSI of the in-kernel
 * IOAPIC; the device calls irq_line_set() with the line's new level.
 */
#ifndef AGENTVMM_VMM_IRQ_H
#define AGENTVMM_VMM_IRQ_H

#include <stdbool.h>
#include <stdint.h>

struct irq_line {
	/* set - drive (gsi) to (level). Context: any thread. */
	void (*set)(void *opaque, uint32_t gsi, bool level);
	void *opaque;
	uint32_t gsi;
};

static inline void irq_line_set(const struct irq_line *l, bool level)
{
	if (l && l->set)
		l->set(l->opaque, l->gsi, level);
}

#endif
