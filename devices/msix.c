// SPDX-License-Identifier: MIT
/* msix.c: MSI-X capability, table and PBA, routed to KVM MSI GSIs with irqfds. */
#include "devices/msix.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "vmm/log.h"

#define PCI_CAP_ID_MSIX 0x11
#define MSIX_CAP_LEN 12
#define MSIX_CTRL 2              /* message control, from the capability */
#define MSIX_TABLE 4             /* table offset | BIR */
#define MSIX_PBA 8               /* PBA offset | BIR */
#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_CTRL_FMASK 0x4000
#define MSIX_VEC_MASKED 0x1

int msix_init(struct msix *m, struct pci_dev *d, uint16_t nr, int bar, uint32_t table_off,
	      uint32_t pba_off, const struct irq_ctl *irq)
{
	uint8_t cap;

	memset(m, 0, sizeof(*m));
	for (unsigned i = 0; i < MSIX_MAX_VECTORS; i++)
		m->efd[i] = -1;
	if (nr == 0 || nr > MSIX_MAX_VECTORS)
		return -EINVAL;
	cap = pci_dev_add_cap(d, PCI_CAP_ID_MSIX, MSIX_CAP_LEN);
	if (!cap)
		return -ENOSPC;
	pthread_mutex_init(&m->lock, NULL);
	m->pdev = d;
	m->cap = cap;
	m->nr = nr;
	m->irq = irq;
	pci_cfg_set16(d, cap + MSIX_CTRL, (uint16_t)(nr - 1));
	pci_cfg_set32(d, cap + MSIX_TABLE, table_off | (uint32_t)bar);
	pci_cfg_set32(d, cap + MSIX_PBA, pba_off | (uint32_t)bar);
	d->wmask[cap + MSIX_CTRL + 1] = (MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK) >> 8;
	for (unsigned i = 0; i < nr; i++) {
		m->table[i].ctrl = MSIX_VEC_MASKED;
		int r = irq->msi_alloc(irq->opaque, &m->gsi[i], &m->efd[i]);
		if (r)
			return r;
	}
	return 0;
}

void msix_fini(struct msix *m)
{
	if (m->pdev)
		pthread_mutex_destroy(&m->lock);
	m->pdev = NULL;
}

static void msix_fire(struct msix *m, uint16_t v)
{
	uint64_t one = 1;

	/* the irqfd injects the routed MSI inside KVM */
	if (write(m->efd[v], &one, sizeof(one)) < 0)
		log_guest_ratelimited("MSI-X vector %u: eventfd write failed", v);
	m->fired++;
}

static bool msix_masked_locked(const struct msix *m, uint16_t v)
{
	return m->fmask || (m->table[v].ctrl & MSIX_VEC_MASKED);
}

/* Deliver pending vectors that are no longer masked. */
static void msix_flush_pending_locked(struct msix *m)
{
	if (!m->enabled)
		return;
	for (uint16_t v = 0; v < m->nr && m->pba; v++) {
		if ((m->pba & (1ULL << v)) && !msix_masked_locked(m, v)) {
			m->pba &= ~(1ULL << v);
			msix_fire(m, v);
		}
	}
}

void msix_notify(struct msix *m, uint16_t v)
{
	if (v >= m->nr)
		return;
	pthread_mutex_lock(&m->lock);
	if (m->enabled) {
		if (msix_masked_locked(m, v)) {
			m->pba |= 1ULL << v;
			m->deferred++;
		} else {
			msix_fire(m, v);
		}
	}
	pthread_mutex_unlock(&m->lock);
}

void msix_table_read(struct msix *m, uint64_t off, void *data, uint32_t len)
{
	memset(data, 0xff, len);
	if ((len != 4 && len != 8) || !IS_ALIGNED(off, len) || off + len > m->nr * MSIX_ENTRY_SIZE)
		return;
	pthread_mutex_lock(&m->lock);
	memcpy(data, (const uint8_t *)m->table + off, len);
	pthread_mutex_unlock(&m->lock);
}

void msix_table_write(struct msix *m, uint64_t off, const void *data, uint32_t len)
{
	if ((len != 4 && len != 8) || !IS_ALIGNED(off, len) || off + len > m->nr * MSIX_ENTRY_SIZE)
		return;
	uint16_t v = (uint16_t)(off / MSIX_ENTRY_SIZE);
	pthread_mutex_lock(&m->lock);
	struct msix_entry old = m->table[v];
	memcpy((uint8_t *)m->table + off, data, len);
	m->table[v].ctrl &= MSIX_VEC_MASKED; /* other control bits are reserved */
	struct msix_entry *e = &m->table[v];
	if (e->addr_lo != old.addr_lo || e->addr_hi != old.addr_hi || e->data != old.data) {
		uint64_t addr = (uint64_t)e->addr_hi << 32 | e->addr_lo;

		if (m->irq->msi_route(m->irq->opaque, m->gsi[v], addr, e->data) < 0)
			log_guest_ratelimited("MSI-X vector %u: cannot route to 0x%llx", v,
					      (unsigned long long)addr);
	}
	msix_flush_pending_locked(m);
	pthread_mutex_unlock(&m->lock);
}

void msix_pba_read(struct msix *m, uint64_t off, void *data, uint32_t len)
{
	memset(data, 0, len);
	if ((len != 4 && len != 8) || off >= 8 || !IS_ALIGNED(off, len))
		return;
	pthread_mutex_lock(&m->lock);
	uint64_t pba = m->pba >> (8 * off);
	memcpy(data, &pba, len);
	pthread_mutex_unlock(&m->lock);
}

void msix_cfg_written(struct msix *m)
{
	uint16_t ctrl = pci_cfg_get16(m->pdev, m->cap + MSIX_CTRL);

	pthread_mutex_lock(&m->lock);
	m->enabled = ctrl & MSIX_CTRL_ENABLE;
	m->fmask = ctrl & MSIX_CTRL_FMASK;
	msix_flush_pending_locked(m);
	pthread_mutex_unlock(&m->lock);
}
