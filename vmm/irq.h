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

/*
 * struct irq_ctl: what vmm/ offers devices for message-signalled interrupts
 * and doorbells, without exposing KVM. Every function returns 0 or -errno.
 *
 * msi_alloc - a new GSI routed as an MSI, with an eventfd bound to it by
 *   irqfd: writing 1 to (*efd) injects the interrupt from any thread.
 * msi_route - point (gsi) at (addr, data); a masked vector is routed nowhere
 *   by the device simply not signalling it.
 * ioeventfd - make a guest write to MMIO [addr, addr+len) signal (efd)
 *   inside KVM, without an exit to userspace (deassign = true removes it).
 * Context: msi_route and ioeventfd run on vCPU threads (MSI-X table and BAR
 * writes); msi_alloc at setup.
 */
struct irq_ctl {
	void *opaque;
	int (*msi_alloc)(void *opaque, uint32_t *gsi, int *efd);
	int (*msi_route)(void *opaque, uint32_t gsi, uint64_t addr, uint32_t data);
	int (*ioeventfd)(void *opaque, uint64_t addr, uint32_t len, int efd, bool deassign);
};

#endif
