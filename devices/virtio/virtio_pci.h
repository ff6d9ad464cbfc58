/* SPDX-License-Identifier: MIT */
/*
 * virtio_pci.h: the modern (virtio 1.x only) virtio-pci transport
 * (virtio 1.2 §4.1). One PCI function per device, one 32-bit memory BAR:
 *
 *   BAR0 + 0x0000  common configuration (struct virtio_pci_common_cfg)
 *   BAR0 + 0x1000  ISR status (unused with MSI-X, kept for drivers that read it)
 *   BAR0 + 0x2000  device-specific configuration
 *   BAR0 + 0x3000  notifications: queue q at + 4 * q, one ioeventfd each
 *   BAR0 + 0x4000  MSI-X table (one vector per queue + one for config)
 *   BAR0 + 0x5000  MSI-X pending bits
 *
 * Queue kicks go straight from KVM to the queue's eventfd, which the event
 * loop watches and turns into ops->queue_notify() on the loop thread.
 *
 * Interrupts always pass msix_notify(), so a masked vector, a masked function
 * or MSI-X disabled is honoured (pending bit, delivery on unmask) for every
 * device. A vhost device's back end therefore never gets an irqfd: its call
 * fd for a queue is the transport's (call_efd), which the event loop relays
 * to msix_notify() for the queue's vector (docs/vhost-user.md, "Interrupts").
 */
#ifndef AGENTVMM_DEVICES_VIRTIO_VIRTIO_PCI_H
#define AGENTVMM_DEVICES_VIRTIO_VIRTIO_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/msix.h"
#include "devices/pci.h"
#include "devices/virtio/virtio_dev.h"
#include "vmm/irq.h"

#define VPCI_BAR_SIZE 0x8000
#define VPCI_COMMON_OFF 0x0000
#define VPCI_ISR_OFF 0x1000
#define VPCI_DEVICE_OFF 0x2000
#define VPCI_DEVICE_LEN 0x1000
#define VPCI_NOTIFY_OFF 0x3000
#define VPCI_NOTIFY_MULT 4
#define VPCI_MSIX_TABLE_OFF 0x4000
#define VPCI_MSIX_PBA_OFF 0x5000

/*
 * Threads: the vCPU threads write the registers under vpci.lock. The loop
 * thread reads active, failed, status, isr, config_vector and each queue's
 * vector and enable without that lock, so those are written only with
 * __atomic stores and read with __atomic loads wherever the lock is not held.
 * It never reads vqs[] without the device's queue lock: a reset rewrites them.
 */
struct vpci_queue {
	uint16_t size, vector, enable;
	uint64_t desc, driver, device;
	int kick_efd;               /* ioeventfd target, watched by the event loop */
	int call_efd;               /* vhost: the back end's call fd, relayed to MSI-X; else -1 */
	struct vpci *t;
	uint16_t qidx;
};

struct vpci {
	struct pci_dev pdev;
	struct msix msix;
	const struct virtio_dev_ops *ops;
	void *dev;
	const struct guest_mem *gm;
	struct evl *evl;
	const struct irq_ctl *irq;
	pthread_mutex_t lock;        /* transport registers; never held across device I/O */
	uint16_t nr_queues;
	uint32_t dfsel, drfsel;
	uint64_t offered, acked;
	uint16_t config_vector, qsel;
	uint8_t status, config_gen, isr;
	bool active, failed;         /* read by the loop thread without the lock */
	uint64_t bar_addr;           /* where BAR0 decodes now (0: off) */
	uint64_t db_on;              /* bit q: queue q's doorbell ioeventfd is installed */
	struct vpci_queue q[VIRTIO_MAX_QUEUES];
	struct virtq vqs[VIRTIO_MAX_QUEUES];
};

/*
 * vpci_create() - wrap device (dev, ops) with (nr_queues) queues in a PCI
 * function on (bus): config space, MSI-X vectors, kick eventfds watched on
 * (evl). Return: the transport, or NULL with a message in (err).
 * Context: setup, before the event loop starts.
 */
struct vpci *vpci_create(const struct virtio_dev_ops *ops, void *dev, uint16_t nr_queues,
			 const struct guest_mem *gm, struct evl *evl, const struct irq_ctl *irq,
			 struct pci_bus *bus, char *err, size_t errlen);

/* vpci_destroy() - device reset, ops->destroy, free; the event loop must be stopped. */
void vpci_destroy(struct vpci *t);

#endif
