// SPDX-License-Identifier: MIT
/* msi.c: GSI routing (legacy pins + MSI routes) and irqfds for device interrupts. */
#include "vmm/msi.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define IOAPIC_PINS 24
#define PIC_PINS 16

/* Legacy routes, as KVM installs them by default, then our MSI routes. */
static int msi_commit_locked(struct msi_router *m)
{
	struct kvm_route r[PIC_PINS + IOAPIC_PINS + MSI_MAX];
	unsigned n = 0;

	for (uint32_t i = 0; i < PIC_PINS; i++)
		r[n++] = (struct kvm_route){
			.gsi = i, .type = i < 8 ? KVM_ROUTE_PIC_MASTER : KVM_ROUTE_PIC_SLAVE,
			.pin = i % 8,
		};
	for (uint32_t i = 0; i < IOAPIC_PINS; i++)
		r[n++] = (struct kvm_route){ .gsi = i, .type = KVM_ROUTE_IOAPIC, .pin = i };
	for (unsigned i = 0; i < m->nr; i++)
		r[n++] = m->msi[i];
	return kvm_set_gsi_routing(m->kvm, r, n);
}

static int msi_alloc(void *opaque, uint32_t *gsi, int *efd)
{
	struct msi_router *m = opaque;
	int r, fd;

	pthread_mutex_lock(&m->lock);
	if (m->nr >= MSI_MAX) {
		r = -ENOSPC;
		goto out;
	}
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	/* an unprogrammed vector routes to address 0: never signalled until programmed */
	m->msi[m->nr] = (struct kvm_route){ .gsi = MSI_FIRST_GSI + m->nr, .type = KVM_ROUTE_MSI,
					    .addr = 0xfee00000, .data = 0 };
	m->efd[m->nr] = fd;
	r = msi_commit_locked(m);
	if (!r)
		r = kvm_irqfd(m->kvm, fd, MSI_FIRST_GSI + m->nr, false);
	if (r) {
		close(fd);
		goto out;
	}
	*gsi = MSI_FIRST_GSI + m->nr;
	*efd = fd;
	m->nr++;
out:
	pthread_mutex_unlock(&m->lock);
	return r;
}

static int msi_route(void *opaque, uint32_t gsi, uint64_t addr, uint32_t data)
{
	struct msi_router *m = opaque;
	int r = -EINVAL;

	pthread_mutex_lock(&m->lock);
	if (gsi >= MSI_FIRST_GSI && gsi - MSI_FIRST_GSI < m->nr) {
		struct kvm_route *e = &m->msi[gsi - MSI_FIRST_GSI];

		r = 0;
		if (e->addr != addr || e->data != data) {
			e->addr = addr;
			e->data = data;
			r = msi_commit_locked(m);
		}
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

static int msi_ioeventfd(void *opaque, uint64_t addr, uint32_t len, int efd, bool deassign)
{
	struct msi_router *m = opaque;

	return kvm_ioeventfd(m->kvm, addr, len, efd, deassign);
}

int msi_router_init(struct msi_router *m, struct kvm *kvm)
{
	memset(m, 0, sizeof(*m));
	m->kvm = kvm;
	pthread_mutex_init(&m->lock, NULL);
	m->ctl = (struct irq_ctl){
		.opaque = m, .msi_alloc = msi_alloc, .msi_route = msi_route,
		.ioeventfd = msi_ioeventfd,
	};
	pthread_mutex_lock(&m->lock);
	int r = msi_commit_locked(m);
	pthread_mutex_unlock(&m->lock);
	return r;
}

void msi_router_fini(struct msi_router *m)
{
	if (!m->kvm)
		return;
	for (unsigned i = 0; i < m->nr; i++) {
		/* failure is harmless: closing the eventfd detaches the irqfd too */
		int r = kvm_irqfd(m->kvm, m->efd[i], MSI_FIRST_GSI + i, true);

		(void)r;
		close(m->efd[i]);
	}
	m->nr = 0;
	pthread_mutex_destroy(&m->lock);
	m->kvm = NULL;
}
