// SPDX-License-Identifier: MIT
/* virtio_pci.c: modern virtio-pci transport: capabilities, common config, status, queues, kicks. */
#include "devices/virtio/virtio_pci.h"

#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/log.h"

#define PCI_VENDOR_REDHAT_QUMRANET 0x1af4 /* virtio 1.2 §4.1.2 */
#define VIRTIO_PCI_MODERN_BASE 0x1040
#define PCI_CAP_ID_VNDR 0x09

/* virtio 1.2 §4.1.4.3: struct virtio_pci_common_cfg field offsets */
enum {
	CC_DFSELECT = 0, CC_DF = 4, CC_GFSELECT = 8, CC_GF = 12, CC_MSIX = 16, CC_NUMQ = 18,
	CC_STATUS = 20, CC_CFGGEN = 21, CC_Q_SELECT = 22, CC_Q_SIZE = 24, CC_Q_MSIX = 26,
	CC_Q_ENABLE = 28, CC_Q_NOFF = 30, CC_Q_DESCLO = 32, CC_Q_DESCHI = 36, CC_Q_AVAILLO = 40,
	CC_Q_AVAILHI = 44, CC_Q_USEDLO = 48, CC_Q_USEDHI = 52, CC_Q_NDATA = 56, CC_Q_RESET = 58,
	CC_SIZE = 60,
};

static uint32_t vpci_class(uint16_t device_id)
{
	switch (device_id) {
	case VIRTIO_ID_NET:
		return 0x020000; /* network controller */
	case VIRTIO_ID_BLOCK:
	case VIRTIO_ID_FS:
		return 0x018000; /* mass storage, other */
	default:
		return 0x00ff00; /* unclassified */
	}
}

static void put_le(uint8_t *b, uint32_t off, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		b[off + i] = (uint8_t)(v >> (8 * i));
}

/* Snapshot of the common config as the guest sees it now. Transport lock held. */
static void common_snapshot_locked(const struct vpci *t, uint8_t *b)
{
	const struct vpci_queue *q = t->qsel < t->nr_queues ? &t->q[t->qsel] : NULL;

	memset(b, 0, CC_SIZE);
	put_le(b, CC_DFSELECT, t->dfsel, 4);
	put_le(b, CC_DF, t->dfsel < 2 ? (uint32_t)(t->offered >> (32 * t->dfsel)) : 0, 4);
	put_le(b, CC_GFSELECT, t->drfsel, 4);
	put_le(b, CC_GF, t->drfsel < 2 ? (uint32_t)(t->acked >> (32 * t->drfsel)) : 0, 4);
	put_le(b, CC_MSIX, __atomic_load_n(&t->config_vector, __ATOMIC_RELAXED), 2);
	put_le(b, CC_NUMQ, t->nr_queues, 2);
	b[CC_STATUS] = __atomic_load_n(&t->status, __ATOMIC_ACQUIRE);
	b[CC_CFGGEN] = t->config_gen;
	put_le(b, CC_Q_SELECT, t->qsel, 2);
	if (!q)
		return; /* a nonexistent queue reads size 0 (virtio 1.2 §4.1.4.3.2) */
	put_le(b, CC_Q_SIZE, q->size, 2);
	put_le(b, CC_Q_MSIX, q->vector, 2);
	put_le(b, CC_Q_ENABLE, __atomic_load_n(&q->enable, __ATOMIC_RELAXED), 2);
	put_le(b, CC_Q_NOFF, t->qsel, 2);
	put_le(b, CC_Q_DESCLO, q->desc, 8);
	put_le(b, CC_Q_AVAILLO, q->driver, 8);
	put_le(b, CC_Q_USEDLO, q->device, 8);
	put_le(b, CC_Q_NDATA, t->qsel, 2);
}

/* Back to the just-reset state (virtio 1.2 §2.4). Transport lock held. */
static void vpci_reset_locked(struct vpci *t)
{
	if (t->active && t->ops->reset)
		t->ops->reset(t->dev);
	__atomic_store_n(&t->active, false, __ATOMIC_RELEASE);
	__atomic_store_n(&t->failed, false, __ATOMIC_RELEASE);
	__atomic_store_n(&t->status, 0, __ATOMIC_RELEASE);
	t->dfsel = t->drfsel = 0;
	t->acked = 0;
	__atomic_store_n(&t->isr, 0, __ATOMIC_RELEASE);
	t->qsel = 0;
	/* atomic, as every field the loop thread reads without the lock (virtio_pci.h) */
	__atomic_store_n(&t->config_vector, MSIX_NO_VECTOR, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < t->nr_queues; i++) {
		struct vpci_queue *q = &t->q[i];

		q->size = t->ops->max_queue_size;
		__atomic_store_n(&q->vector, MSIX_NO_VECTOR, __ATOMIC_RELEASE);
		__atomic_store_n(&q->enable, 0, __ATOMIC_RELEASE);
		q->desc = q->driver = q->device = 0;
		/* no other thread reads vqs[] now: vpci_kick() looks at q->enable only */
		memset(&t->vqs[i], 0, sizeof(t->vqs[i]));
	}
}

/*
 * Fail the device. Takes no lock: the loop thread calls this from inside a
 * device's queue processing while a vCPU may hold the transport lock and wait
 * in ops->reset() for that very processing to end.
 */
static void vpci_fail(struct vpci *t, const char *why)
{
	if (!__atomic_exchange_n(&t->failed, true, __ATOMIC_ACQ_REL))
		log_guest_ratelimited("%s: device needs reset: %s", t->ops->name, why);
	__atomic_fetch_or(&t->status, VIRTIO_CONFIG_S_NEEDS_RESET, __ATOMIC_ACQ_REL);
	__atomic_fetch_or(&t->isr, VIRTIO_PCI_ISR_CONFIG, __ATOMIC_ACQ_REL);
	msix_notify(&t->msix, __atomic_load_n(&t->config_vector, __ATOMIC_ACQUIRE));
}

#define vpci_fail_locked vpci_fail

void virtio_dev_fail(struct vpci *t, const char *why)
{
	/* a failure reported after a reset belongs to the old session: drop it */
	if (t && __atomic_load_n(&t->active, __ATOMIC_ACQUIRE))
		vpci_fail(t, why);
}

void virtio_config_changed(struct vpci *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	t->config_gen++;
	__atomic_fetch_or(&t->isr, VIRTIO_PCI_ISR_CONFIG, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&t->lock);
	msix_notify(&t->msix, __atomic_load_n(&t->config_vector, __ATOMIC_ACQUIRE));
}

void virtio_notify(struct vpci *t, uint16_t qidx)
{
	if (!t || qidx >= t->nr_queues)
		return;
	/* the used-ring writes are published (release) by virtq_push before this check */
	if (virtq_need_notify(&t->vqs[qidx]))
		msix_notify(&t->msix, __atomic_load_n(&t->q[qidx].vector, __ATOMIC_ACQUIRE));
}

/* FEATURES_OK: the driver's features must be a subset of ours and include VERSION_1. */
static bool vpci_features_ok_locked(struct vpci *t)
{
	if ((t->acked & ~t->offered) || !(t->acked & (1ULL << VIRTIO_F_VERSION_1)))
		return false;
	return !t->ops->set_features || t->ops->set_features(t->dev, t->acked) == 0;
}

/* DRIVER_OK: validate every enabled queue, then hand them to the device. */
static void vpci_activate_locked(struct vpci *t)
{
	bool event_idx = t->acked & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	bool indirect = t->acked & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);

	for (unsigned i = 0; i < t->nr_queues; i++) {
		struct vpci_queue *q = &t->q[i];

		if (!q->enable)
			continue;
		if (virtq_init(&t->vqs[i], t->gm, q->size, t->ops->max_queue_size, q->desc,
			       q->driver, q->device, event_idx, indirect) < 0) {
			vpci_fail_locked(t, "queue geometry invalid");
			return;
		}
	}
	int kick[VIRTIO_MAX_QUEUES], call[VIRTIO_MAX_QUEUES];
	for (unsigned i = 0; i < t->nr_queues; i++) {
		kick[i] = t->q[i].kick_efd;
		/* never the irqfd itself: the relay keeps MSI-X masking (virtio_pci.h) */
		call[i] = t->q[i].vector < t->msix.nr ? t->q[i].call_efd : -1;
	}
	struct virtio_activation act = {
		.gm = t->gm, .vqs = t->vqs, .nr_vqs = t->nr_queues, .features = t->acked,
		.transport = t, .evl = t->evl, .kick_fds = kick, .call_fds = call,
	};
	if (t->ops->activate(t->dev, &act) != 0) {
		vpci_fail_locked(t, "activation refused");
		return;
	}
	/* pairs with the acquire load in vpci_kick() on the loop thread */
	__atomic_store_n(&t->active, true, __ATOMIC_RELEASE);
}

static void vpci_status_write_locked(struct vpci *t, uint8_t v)
{
	uint8_t old = __atomic_load_n(&t->status, __ATOMIC_ACQUIRE);

	if (v == 0) {
		vpci_reset_locked(t);
		return;
	}
	if ((v & VIRTIO_CONFIG_S_FEATURES_OK) && !(old & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !vpci_features_ok_locked(t))
		v &= (uint8_t)~VIRTIO_CONFIG_S_FEATURES_OK;
	/* bits are only ever added until reset; NEEDS_RESET is the device's */
	__atomic_fetch_or(&t->status, (uint8_t)(v & ~VIRTIO_CONFIG_S_NEEDS_RESET), __ATOMIC_ACQ_REL);
	if ((v & VIRTIO_CONFIG_S_DRIVER_OK) && !(old & VIRTIO_CONFIG_S_DRIVER_OK)) {
		if (!(__atomic_load_n(&t->status, __ATOMIC_ACQUIRE) & VIRTIO_CONFIG_S_FEATURES_OK))
			vpci_fail_locked(t, "DRIVER_OK without FEATURES_OK");
		else
			vpci_activate_locked(t);
	}
}

static void set_lo_hi(uint64_t *f, bool hi, uint32_t v)
{
	*f = hi ? (*f & 0xffffffffULL) | (uint64_t)v << 32 : (*f & ~0xffffffffULL) | v;
}

static void common_write_locked(struct vpci *t, uint64_t off, uint64_t v, uint32_t len)
{
	struct vpci_queue *q = t->qsel < t->nr_queues ? &t->q[t->qsel] : NULL;
	uint8_t status = __atomic_load_n(&t->status, __ATOMIC_ACQUIRE);
	bool live = status & VIRTIO_CONFIG_S_DRIVER_OK;

	switch (off) {
	case CC_DFSELECT:
		t->dfsel = (uint32_t)v;
		return;
	case CC_GFSELECT:
		t->drfsel = (uint32_t)v;
		return;
	case CC_GF:
		if (t->drfsel < 2 && !(status & VIRTIO_CONFIG_S_FEATURES_OK))
			set_lo_hi(&t->acked, t->drfsel == 1, (uint32_t)v);
		return;
	case CC_MSIX:
		__atomic_store_n(&t->config_vector, v < t->msix.nr ? (uint16_t)v : MSIX_NO_VECTOR,
				 __ATOMIC_RELEASE);
		return;
	case CC_STATUS:
		vpci_status_write_locked(t, (uint8_t)v);
		return;
	case CC_Q_SELECT:
		t->qsel = (uint16_t)v;
		return;
	}
	/* queue registers: only before DRIVER_OK, and only for a queue that exists */
	if (!q || live)
		return;
	switch (off) {
	case CC_Q_SIZE:
		q->size = (uint16_t)v;
		break;
	case CC_Q_MSIX:
		/* reading back NO_VECTOR tells the driver the vector was refused */
		__atomic_store_n(&q->vector, v < t->msix.nr ? (uint16_t)v : MSIX_NO_VECTOR,
				 __ATOMIC_RELEASE);
		break;
	case CC_Q_ENABLE:
		if (v == 1)
			__atomic_store_n(&q->enable, 1, __ATOMIC_RELEASE);
		break;
	case CC_Q_DESCLO:
	case CC_Q_DESCHI:
		if (len == 8)
			q->desc = v;
		else
			set_lo_hi(&q->desc, off == CC_Q_DESCHI, (uint32_t)v);
		break;
	case CC_Q_AVAILLO:
	case CC_Q_AVAILHI:
		if (len == 8)
			q->driver = v;
		else
			set_lo_hi(&q->driver, off == CC_Q_AVAILHI, (uint32_t)v);
		break;
	case CC_Q_USEDLO:
	case CC_Q_USEDHI:
		if (len == 8)
			q->device = v;
		else
			set_lo_hi(&q->device, off == CC_Q_USEDHI, (uint32_t)v);
		break;
	default:
		break; /* read-only or reserved */
	}
}

static void bar_read(struct pci_dev *d, int bar, uint64_t off, void *data, uint32_t len)
{
	struct vpci *t = d->opaque;
	uint8_t snap[CC_SIZE];

	memset(data, 0xff, len);
	if (off < CC_SIZE) {
		if (off + len > CC_SIZE)
			return;
		pthread_mutex_lock(&t->lock);
		common_snapshot_locked(t, snap);
		pthread_mutex_unlock(&t->lock);
		memcpy(data, snap + off, len);
	} else if (off == VPCI_ISR_OFF && len == 1) {
		pthread_mutex_lock(&t->lock);
		/* reading clears it (virtio 1.2 §4.1.4.5) */
		*(uint8_t *)data = __atomic_exchange_n(&t->isr, 0, __ATOMIC_ACQ_REL);
		pthread_mutex_unlock(&t->lock);
	} else if (off >= VPCI_DEVICE_OFF && off < VPCI_DEVICE_OFF + VPCI_DEVICE_LEN) {
		uint64_t c = off - VPCI_DEVICE_OFF;

		if (len <= t->ops->config_size && c <= t->ops->config_size - len && t->ops->config_read)
			t->ops->config_read(t->dev, (uint32_t)c, data, len);
	} else if (off >= VPCI_MSIX_TABLE_OFF && off < VPCI_MSIX_PBA_OFF) {
		msix_table_read(&t->msix, off - VPCI_MSIX_TABLE_OFF, data, len);
	} else if (off >= VPCI_MSIX_PBA_OFF) {
		msix_pba_read(&t->msix, off - VPCI_MSIX_PBA_OFF, data, len);
	}
}

static void bar_write(struct pci_dev *d, int bar, uint64_t off, const void *data, uint32_t len)
{
	struct vpci *t = d->opaque;
	uint64_t v = 0;

	if (len > 8)
		return;
	memcpy(&v, data, len); /* little-endian host */
	if (off < CC_SIZE) {
		if (off + len > CC_SIZE)
			return;
		pthread_mutex_lock(&t->lock);
		common_write_locked(t, off, v, len);
		pthread_mutex_unlock(&t->lock);
	} else if (off >= VPCI_DEVICE_OFF && off < VPCI_DEVICE_OFF + VPCI_DEVICE_LEN) {
		uint64_t c = off - VPCI_DEVICE_OFF;

		if (len <= t->ops->config_size && c <= t->ops->config_size - len &&
		    t->ops->config_write)
			t->ops->config_write(t->dev, (uint32_t)c, data, len);
	} else if (off >= VPCI_NOTIFY_OFF &&
		   off < VPCI_NOTIFY_OFF + (uint64_t)VPCI_NOTIFY_MULT * t->nr_queues) {
		/* a kick the ioeventfd did not catch (other width): forward it */
		uint64_t one = 1;
		uint16_t qidx = (uint16_t)((off - VPCI_NOTIFY_OFF) / VPCI_NOTIFY_MULT);

		if (write(t->q[qidx].kick_efd, &one, sizeof(one)) < 0)
			log_guest_ratelimited("%s: kick lost", t->ops->name);
	} else if (off >= VPCI_MSIX_TABLE_OFF && off < VPCI_MSIX_PBA_OFF) {
		msix_table_write(&t->msix, off - VPCI_MSIX_TABLE_OFF, data, len);
	}
}

static void cfg_written(struct pci_dev *d, uint32_t off, uint32_t len)
{
	struct vpci *t = d->opaque;

	msix_cfg_written(&t->msix);
}

/*
 * BAR0 moved: move the queue doorbells with it. Context: vCPU thread, bus
 * write-locked. The guest chooses (addr): it may put BAR0 onto another
 * device's doorbells, where KVM refuses a second ioeventfd. Then kicks reach
 * bar_write() instead, and the next move must not try to remove a doorbell
 * that was never installed: (db_on) records which ones are. Both failures
 * are the guest's doing, so they are logged rate-limited.
 */
_Static_assert(VIRTIO_MAX_QUEUES <= 64, "db_on has one bit per queue");

static void bar_moved(struct pci_dev *d, int bar, uint64_t addr)
{
	struct vpci *t = d->opaque;

	for (unsigned i = 0; i < t->nr_queues; i++) {
		uint64_t off = VPCI_NOTIFY_OFF + VPCI_NOTIFY_MULT * i, bit = 1ULL << i;

		if (t->db_on & bit) {
			if (t->irq->ioeventfd(t->irq->opaque, t->bar_addr + off, 2, t->q[i].kick_efd,
					      true))
				log_guest_ratelimited("%s: cannot remove doorbell %u", t->ops->name, i);
			t->db_on &= ~bit;
		}
		if (!addr)
			continue;
		if (t->irq->ioeventfd(t->irq->opaque, addr + off, 2, t->q[i].kick_efd, false) == 0)
			t->db_on |= bit;
		else
			log_guest_ratelimited("%s: doorbell %u at %#llx taken (kicks exit to userspace)",
					      t->ops->name, i, (unsigned long long)(addr + off));
	}
	t->bar_addr = addr;
}

static const struct pci_dev_ops vpci_pci_ops = {
	.bar_read = bar_read,
	.bar_write = bar_write,
	.cfg_written = cfg_written,
	.bar_moved = bar_moved,
};

/* Kick from the guest (loop thread): drain the eventfd, let the device work. */
static void vpci_kick(void *opaque)
{
	struct vpci_queue *q = opaque;
	struct vpci *t = q->t;
	uint64_t n;

	if (read(q->kick_efd, &n, sizeof(n)) < 0)
		return;
	/*
	 * Pairs with the release store in vpci_activate_locked(). Only transport
	 * atomics are read here, never t->vqs[]: a vCPU resetting the device
	 * rewrites those meanwhile. A queue that broke is the device's to see
	 * (under its queue lock, vq_broken) before it pops.
	 */
	if (__atomic_load_n(&t->active, __ATOMIC_ACQUIRE) &&
	    !__atomic_load_n(&t->failed, __ATOMIC_ACQUIRE) &&
	    __atomic_load_n(&q->enable, __ATOMIC_ACQUIRE))
		t->ops->queue_notify(t->dev, q->qidx);
}

/*
 * A vhost back end signalled queue (q)'s call fd (loop thread): raise the
 * queue's vector through the MSI-X model, which holds it as pending while the
 * vector or the function is masked and drops it while MSI-X is off, exactly
 * as for the in-process devices. The back end already applied the driver's
 * interrupt suppression (EVENT_IDX / NO_INTERRUPT), so there is no
 * virtq_need_notify() check here. A signal that comes late, after a reset,
 * meets NO_VECTOR and is dropped.
 */
static void vpci_call_relay(void *opaque)
{
	struct vpci_queue *q = opaque;
	uint64_t n;

	if (read(q->call_efd, &n, sizeof(n)) < 0)
		return;
	/* pairs with the release stores of q->vector on the vCPU thread */
	msix_notify(&q->t->msix, __atomic_load_n(&q->vector, __ATOMIC_ACQUIRE));
}

/* One virtio vendor capability (struct virtio_pci_cap). */
static int add_vcap(struct pci_dev *d, uint8_t type, uint32_t off, uint32_t len, uint8_t extra)
{
	uint8_t c = pci_dev_add_cap(d, PCI_CAP_ID_VNDR, (uint8_t)(sizeof(struct virtio_pci_cap) + extra));

	if (!c)
		return -ENOSPC;
	d->cfg[c + 2] = (uint8_t)(sizeof(struct virtio_pci_cap) + extra); /* cap_len */
	d->cfg[c + 3] = type;
	d->cfg[c + 4] = 0; /* bar */
	pci_cfg_set32(d, c + 8, off);
	pci_cfg_set32(d, c + 12, len);
	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
		pci_cfg_set32(d, c + 16, VPCI_NOTIFY_MULT);
	return 0;
}

static int vpci_setup_pci(struct vpci *t, uint16_t nr_vectors)
{
	struct pci_dev *d = &t->pdev;
	int r;

	pci_dev_init(d, PCI_VENDOR_REDHAT_QUMRANET, VIRTIO_PCI_MODERN_BASE + t->ops->device_id,
		     vpci_class(t->ops->device_id), 1, &vpci_pci_ops, t);
	pci_cfg_set16(d, 0x2c, PCI_VENDOR_REDHAT_QUMRANET);
	pci_cfg_set16(d, 0x2e, 0x1100); /* modern-only device (virtio 1.2 §4.1.2.1) */
	pci_dev_set_bar(d, 0, VPCI_BAR_SIZE);
	r = msix_init(&t->msix, d, nr_vectors, 0, VPCI_MSIX_TABLE_OFF, VPCI_MSIX_PBA_OFF, t->irq);
	if (r)
		return r;
	r = add_vcap(d, VIRTIO_PCI_CAP_COMMON_CFG, VPCI_COMMON_OFF, CC_SIZE, 0);
	if (!r)
		r = add_vcap(d, VIRTIO_PCI_CAP_NOTIFY_CFG, VPCI_NOTIFY_OFF,
			     VPCI_NOTIFY_MULT * t->nr_queues, 4);
	if (!r)
		r = add_vcap(d, VIRTIO_PCI_CAP_ISR_CFG, VPCI_ISR_OFF, 4, 0);
	if (!r && t->ops->config_size)
		r = add_vcap(d, VIRTIO_PCI_CAP_DEVICE_CFG, VPCI_DEVICE_OFF,
			     (uint32_t)t->ops->config_size, 0);
	/* the PCI configuration access capability (virtio 1.2 §4.1.4.9): present, window unused */
	if (!r)
		r = add_vcap(d, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 4);
	return r;
}

/*
 * A vhost queue's call eventfd and its relay watch (setup, before the loop
 * starts). Without an event loop (unit tests of the doorbells) there is no
 * relay, and the back end gets no call fd.
 */
static int vpci_relay_init(struct vpci_queue *q, struct evl *evl)
{
	q->call_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->call_efd < 0)
		return -errno;
	return evl_watch_fd(evl, q->call_efd, vpci_call_relay, q);
}

struct vpci *vpci_create(const struct virtio_dev_ops *ops, void *dev, uint16_t nr_queues,
			 const struct guest_mem *gm, struct evl *evl, const struct irq_ctl *irq,
			 struct pci_bus *bus, char *err, size_t errlen)
{
	struct vpci *t;
	int r;

	if (nr_queues == 0 || nr_queues > VIRTIO_MAX_QUEUES || nr_queues + 1 > MSIX_MAX_VECTORS) {
		snprintf(err, errlen, "%s: %u queues is out of range", ops->name, nr_queues);
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "%s: out of memory", ops->name);
		return NULL;
	}
	pthread_mutex_init(&t->lock, NULL);
	t->ops = ops;
	t->dev = dev;
	t->gm = gm;
	t->evl = evl;
	t->irq = irq;
	t->nr_queues = nr_queues;
	t->offered = ops->features ? ops->features(dev) : 0;
	if (!ops->vhost)
		t->offered |= 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_RING_F_EVENT_IDX |
			      1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	for (unsigned i = 0; i < nr_queues; i++)
		t->q[i].kick_efd = t->q[i].call_efd = -1;
	vpci_reset_locked(t);
	r = vpci_setup_pci(t, nr_queues + 1);
	for (unsigned i = 0; !r && i < nr_queues; i++) {
		t->q[i].t = t;
		t->q[i].qidx = (uint16_t)i;
		t->q[i].kick_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (t->q[i].kick_efd < 0)
			r = -errno;
		else if (!ops->vhost)
			r = evl_watch_fd(evl, t->q[i].kick_efd, vpci_kick, &t->q[i]);
		else if (evl)
			r = vpci_relay_init(&t->q[i], evl);
	}
	if (!r)
		r = pci_bus_add(bus, &t->pdev);
	if (r) {
		snprintf(err, errlen, "%s: cannot create the PCI device: %s", ops->name, strerror(-r));
		t->dev = NULL; /* the caller still owns it */
		vpci_destroy(t);
		return NULL;
	}
	return t;
}

void vpci_destroy(struct vpci *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	if (t->dev)
		vpci_reset_locked(t);
	pthread_mutex_unlock(&t->lock);
	if (t->dev && t->ops->destroy)
		t->ops->destroy(t->dev);
	for (unsigned i = 0; i < t->nr_queues; i++) {
		if (t->q[i].kick_efd >= 0)
			close(t->q[i].kick_efd);
		if (t->q[i].call_efd >= 0)
			close(t->q[i].call_efd);
	}
	msix_fini(&t->msix);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
