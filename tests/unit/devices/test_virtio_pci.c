// SPDX-License-Identifier: MIT
/*
 * test_virtio_pci.c: the virtio-pci transport's doorbells when a guest moves
 * BAR0 around through config space, against a fake KVM ioeventfd table that
 * refuses what KVM refuses (a second doorbell at the same address: EEXIST; a
 * removal of one that is not there: ENOENT).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/pci.h"
#include "devices/virtio/virtio_pci.h"

#define MAX_DB 16

struct fake_kvm {
	struct { uint64_t addr; uint32_t len; int efd; bool on; } db[MAX_DB];
	unsigned bad_removes, refused;
	uint32_t next_gsi;
};

static int fake_msi_alloc(void *opaque, uint32_t *gsi, int *efd)
{
	struct fake_kvm *k = opaque;

	*gsi = k->next_gsi++;
	*efd = eventfd(0, EFD_CLOEXEC);
	return *efd < 0 ? -errno : 0;
}

static int fake_msi_route(void *opaque, uint32_t gsi, uint64_t addr, uint32_t data)
{
	return 0;
}

static int fake_ioeventfd(void *opaque, uint64_t addr, uint32_t len, int efd, bool deassign)
{
	struct fake_kvm *k = opaque;

	for (unsigned i = 0; i < MAX_DB; i++) {
		if (!k->db[i].on || k->db[i].addr != addr || k->db[i].len != len)
			continue;
		if (!deassign) {
			k->refused++;
			return -EEXIST;
		}
		if (k->db[i].efd != efd)
			continue;
		k->db[i].on = false;
		return 0;
	}
	if (deassign) {
		k->bad_removes++;
		return -ENOENT;
	}
	for (unsigned i = 0; i < MAX_DB; i++)
		if (!k->db[i].on) {
			k->db[i].addr = addr;
			k->db[i].len = len;
			k->db[i].efd = efd;
			k->db[i].on = true;
			return 0;
		}
	return -ENOSPC;
}

/* Is (efd)'s doorbell installed at (addr)? */
static bool has_db(const struct fake_kvm *k, uint64_t addr, int efd)
{
	for (unsigned i = 0; i < MAX_DB; i++)
		if (k->db[i].on && k->db[i].addr == addr && k->db[i].efd == efd)
			return true;
	return false;
}

static int dummy_activate(void *dev, const struct virtio_activation *act)
{
	return 0;
}

static void dummy_notify(void *dev, uint16_t qidx)
{
}

/* vhost: the transport watches no eventfd, so no event loop is needed */
static const struct virtio_dev_ops dummy_ops = {
	.name = "dummy", .device_id = 4, .nr_queues = 1, .max_queue_size = 16,
	.activate = dummy_activate, .queue_notify = dummy_notify, .vhost = true,
};

static void cfg_w(struct pci_bus *bus, unsigned slot, uint32_t off, uint32_t v, uint32_t len)
{
	pci_cfg_write(bus, slot, off, &v, len);
}

static uint32_t cfg_r32(struct pci_bus *bus, unsigned slot, uint32_t off)
{
	uint32_t v = 0;

	pci_cfg_read(bus, slot, off, &v, 4);
	return v;
}

static void test_vpci_bar_onto_other_doorbells_and_back(void **state)
{
	struct fake_kvm k = { .next_gsi = 24 };
	const struct irq_ctl irq = { &k, fake_msi_alloc, fake_msi_route, fake_ioeventfd };
	struct pci_bus bus;
	struct vpci *a, *b;
	char err[128];
	int dev_a, dev_b;

	pci_bus_init(&bus);
	a = vpci_create(&dummy_ops, &dev_a, 1, NULL, NULL, &irq, &bus, err, sizeof(err));
	b = vpci_create(&dummy_ops, &dev_b, 1, NULL, NULL, &irq, &bus, err, sizeof(err));
	assert_non_null(a);
	assert_non_null(b);
	/* slots 1 and 2 (00.0 is the host bridge); memory decoding on */
	uint32_t bar_a = cfg_r32(&bus, 1, 0x10) & ~0xfu, bar_b = cfg_r32(&bus, 2, 0x10) & ~0xfu;
	assert_int_not_equal(bar_a, bar_b);
	cfg_w(&bus, 1, 0x4, 2, 2);
	cfg_w(&bus, 2, 0x4, 2, 2);
	assert_true(has_db(&k, bar_a + VPCI_NOTIFY_OFF, a->q[0].kick_efd));
	assert_true(has_db(&k, bar_b + VPCI_NOTIFY_OFF, b->q[0].kick_efd));

	/* the guest moves A's BAR0 onto B's: KVM refuses A's doorbell there */
	cfg_w(&bus, 1, 0x10, bar_b, 4);
	assert_int_equal(k.refused, 1);
	assert_false(has_db(&k, bar_a + VPCI_NOTIFY_OFF, a->q[0].kick_efd));
	/* decoding off and on, then back home: nothing removed that was not there */
	cfg_w(&bus, 1, 0x4, 0, 2);
	cfg_w(&bus, 1, 0x4, 2, 2);
	cfg_w(&bus, 1, 0x10, bar_a, 4);
	assert_int_equal(k.bad_removes, 0);
	assert_true(has_db(&k, bar_a + VPCI_NOTIFY_OFF, a->q[0].kick_efd));
	assert_true(has_db(&k, bar_b + VPCI_NOTIFY_OFF, b->q[0].kick_efd));

	/* sizing (all ones) leaves the window: the doorbell goes, and comes back */
	cfg_w(&bus, 1, 0x10, 0xffffffff, 4);
	assert_false(has_db(&k, bar_a + VPCI_NOTIFY_OFF, a->q[0].kick_efd));
	cfg_w(&bus, 1, 0x10, bar_a, 4);
	assert_true(has_db(&k, bar_a + VPCI_NOTIFY_OFF, a->q[0].kick_efd));
	assert_int_equal(k.bad_removes, 0);

	vpci_destroy(a);
	vpci_destroy(b);
	pci_bus_fini(&bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vpci_bar_onto_other_doorbells_and_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
