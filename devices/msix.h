/* SPDX-License-Identifier: MIT */
/*
 * msix.h: an MSI-X capability, its table and pending-bit array (PCI Local
 * Bus 3.0 §6.8.2), with each vector routed to KVM as an MSI GSI fed by an
 * irqfd, so raising an interrupt is one eventfd write from any thread.
 *
 * Table entry (16 bytes): message address low, high, data, vector control
 * (bit 0 = masked; every vector starts masked). Message control in config
 * space: bits 10..0 table size - 1, bit 14 function mask, bit 15 enable.
 * A vector raised while masked sets its pending bit and fires on unmask.
 */
#ifndef AGENTVMM_DEVICES_MSIX_H
#define AGENTVMM_DEVICES_MSIX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/pci.h"
#include "vmm/compiler.h"
#include "vmm/irq.h"

#define MSIX_MAX_VECTORS 64
#define MSIX_ENTRY_SIZE 16
#define MSIX_NO_VECTOR 0xffff /* virtio: VIRTIO_MSI_NO_VECTOR */

struct msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;
};

struct msix {
	pthread_mutex_t lock;
	struct pci_dev *pdev;
	uint8_t cap;                 /* config offset of the capability */
	uint16_t nr;                 /* vectors */
	const struct irq_ctl *irq;
	struct msix_entry table[MSIX_MAX_VECTORS];
	uint32_t gsi[MSIX_MAX_VECTORS];
	int efd[MSIX_MAX_VECTORS];   /* irqfds, owned by the vmm's router */
	uint64_t pba;                /* pending bits */
	bool enabled, fmask;
	uint64_t fired, deferred;    /* counters */
};

/*
 * msix_init() - add the capability to (d), table at (table_off) and PBA at
 * (pba_off) inside BAR (bar), and allocate (nr) MSI routes from (irq).
 * Return: 0, -EINVAL (nr), -ENOSPC (config space or routes), -errno.
 * Context: setup.
 */
int msix_init(struct msix *m, struct pci_dev *d, uint16_t nr, int bar, uint32_t table_off,
	      uint32_t pba_off, const struct irq_ctl *irq) __must_check;
void msix_fini(struct msix *m);

/* Table and PBA accesses at (off) from their start. Context: vCPU thread. Guest: all. */
void msix_table_read(struct msix *m, uint64_t off, void *data, uint32_t len);
void msix_table_write(struct msix *m, uint64_t off, const void *data, uint32_t len);
void msix_pba_read(struct msix *m, uint64_t off, void *data, uint32_t len);

/* msix_cfg_written() - config space changed (enable / function mask). Context: vCPU thread. */
void msix_cfg_written(struct msix *m);

/*
 * msix_notify() - raise (vector); MSIX_NO_VECTOR or out of range is ignored.
 * Context: any thread.
 */
void msix_notify(struct msix *m, uint16_t vector);

#endif
