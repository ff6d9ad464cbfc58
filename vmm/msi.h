/* SPDX-License-Identifier: MIT */
/*
 * msi.h: the GSI routing table behind struct irq_ctl: the legacy PIC/IOAPIC
 * pins (GSI 0..23, as KVM's default) plus one MSI route per device vector,
 * each with an irqfd.
 */
#ifndef AGENTVMM_VMM_MSI_H
#define AGENTVMM_VMM_MSI_H

#include <pthread.h>

#include "vmm/irq.h"
#include "vmm/kvm.h"

#define MSI_FIRST_GSI 24 /* after the IOAPIC's 24 pins */
#define MSI_MAX 512

struct msi_router {
	struct kvm *kvm;
	pthread_mutex_t lock;
	unsigned nr;                      /* MSI routes allocated */
	struct kvm_route msi[MSI_MAX];
	int efd[MSI_MAX];
	struct irq_ctl ctl;               /* handed to devices */
};

/* msi_router_init() - install the legacy routes. Return: 0 or -errno. Context: setup. */
int msi_router_init(struct msi_router *m, struct kvm *kvm) __must_check;

/* msi_router_fini() - unbind and close every irqfd; idempotent. */
void msi_router_fini(struct msi_router *m);

#endif
