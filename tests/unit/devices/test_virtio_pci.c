// SPDX-License-Identifier: MIT
/*
 * test_virtio_pci.c: the virtio-pci transport's doorbells when a guest moves
 * BAR0 around through config space, against a fake KVM ioeventfd table that
 * refuses what KVM refuses (a second doorbell at the same address: EEXIST; a
 * removal of one that is not there: ENOENT). And a virtio-fs function whose
 * vhost-user back end (a scripted one on a socketpair) signals its call fd
 * while the guest has masked the MSI-X vector: nothing may reach the irqfd,
 * the pending bit must show it, and the unmask delivers it once.
 */
#include <errno.h>
#include <linux/virtio_config.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/pci.h"
#include "devices/vhost_user/vu_fs.h"
#include "devices/vhost_user/vu_msg.h"
#include "devices/virtio/virtio_pci.h"
#include "vmm/iobus.h"
#include "tests/helpers/th.h"

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


/* ---- virtio-fs interrupts and MSI-X masking ---------------------------------- */

/*
 * A plain vhost-user back end (no protocol features) on a socketpair: it
 * answers what needs an answer and keeps the call eventfd of each ring, so
 * the test can "complete a request" by signalling it, as virtiofsd would.
 */
struct mini_be {
	int sock;
	pthread_t th;
	int call[2];
	int nr_calls;                /* SET_VRING_CALL messages seen */
};

static void be_reply(int s, uint32_t request, uint64_t v)
{
	struct vu_msg m;

	vu_msg_init(&m, request, 8);
	m.hdr.flags = VU_VERSION | VU_FLAG_REPLY;
	m.p.u64 = v;
	assert_int_equal(vu_msg_send(s, &m, NULL, 0, 1000), 0);
}

static void *be_thread(void *arg)
{
	struct mini_be *b = arg;
	int fds[VU_MAX_FDS];
	unsigned nr;
	struct vu_msg m;

	while (vu_msg_recv(b->sock, &m, fds, VU_MAX_FDS, &nr, 10000) == 0) {
		uint32_t req = m.hdr.request;
		unsigned idx = (unsigned)(m.p.u64 & 0xff);

		if (req == VU_SET_VRING_CALL && nr == 1 && idx < 2) {
			if (b->call[idx] >= 0)
				close(b->call[idx]);
			__atomic_store_n(&b->call[idx], fds[0], __ATOMIC_RELEASE);
			__atomic_fetch_add(&b->nr_calls, 1, __ATOMIC_ACQ_REL);
			nr = 0;
		}
		for (unsigned i = 0; i < nr; i++)
			close(fds[i]);
		if (req == VU_GET_FEATURES)
			be_reply(b->sock, req, 1ULL << VIRTIO_F_VERSION_1);
		else if (req == VU_GET_VRING_BASE)
			be_reply(b->sock, req, m.p.state.index); /* { index, num 0 } */
	}
	return NULL;
}

/* The back end completes a request on ring (q): it signals the call fd it was given. */
static void be_signal(struct mini_be *b, int q)
{
	uint64_t one = 1;

	assert_true(__atomic_load_n(&b->call[q], __ATOMIC_ACQUIRE) >= 0);
	assert_int_equal(write(b->call[q], &one, sizeof(one)), sizeof(one));
}

static void bar_w(struct vpci *t, uint64_t off, uint64_t v, uint32_t len)
{
	t->pdev.ops->bar_write(&t->pdev, 0, off, &v, len);
}

static uint64_t bar_r(struct vpci *t, uint64_t off, uint32_t len)
{
	uint64_t v = 0;

	t->pdev.ops->bar_read(&t->pdev, 0, off, &v, len);
	return v;
}

/* Interrupts that reached vector (v)'s irqfd within (ms): the eventfd's count. */
static uint64_t irqs(struct vpci *t, uint16_t v, int ms)
{
	struct pollfd p = { .fd = t->msix.efd[v], .events = POLLIN };
	uint64_t n = 0;

	if (poll(&p, 1, ms) == 1 && read(t->msix.efd[v], &n, sizeof(n)) != sizeof(n))
		n = 0;
	return n;
}

static void msix_ctrl(struct pci_bus *bus, struct vpci *t, uint16_t v)
{
	pci_cfg_write(bus, t->pdev.slot, t->msix.cap + 2u, &v, 2);
}

/* The driver's side of bring-up: both queues at the top of RAM, queue q on vector q. */
static void fs_driver_ok(struct vpci *t)
{
	bar_w(t, 20, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER, 1);
	bar_w(t, 8, 1, 4);   /* driver_feature_select 1 */
	bar_w(t, 12, 1, 4);  /* VERSION_1 is bit 32 */
	bar_w(t, 20, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		     VIRTIO_CONFIG_S_FEATURES_OK, 1);
	assert_true(bar_r(t, 20, 1) & VIRTIO_CONFIG_S_FEATURES_OK);
	for (uint16_t q = 0; q < 2; q++) {
		gpa_t base = MiB(1) + q * KiB(64);

		bar_w(t, 22, q, 2);                 /* queue_select */
		bar_w(t, 24, 16, 2);                /* queue_size */
		bar_w(t, 26, q, 2);                 /* queue_msix_vector */
		assert_int_equal(bar_r(t, 26, 2), q);
		bar_w(t, 32, base, 8);              /* desc */
		bar_w(t, 40, base + KiB(4), 8);     /* driver (avail) */
		bar_w(t, 48, base + KiB(8), 8);     /* device (used) */
		bar_w(t, 28, 1, 2);                 /* queue_enable */
	}
	bar_w(t, 20, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		     VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK, 1);
	assert_false(bar_r(t, 20, 1) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

#define MSIX_EN 0x8000
#define MSIX_FMASK 0x4000
#define VEC1 (VPCI_MSIX_TABLE_OFF + 16) /* table entry of vector 1 */

static void test_vpci_vhost_fs_msix_mask_holds_interrupt_pending(void **state)
{
	struct fake_kvm k = { .next_gsi = 24 };
	const struct irq_ctl irq = { &k, fake_msi_alloc, fake_msi_route, fake_ioeventfd };
	struct mini_be be = { .call = { -1, -1 } };
	struct pci_bus bus;
	struct guest_mem gm;
	struct evl evl;
	char err[256];
	int sv[2];

	th_gm_create(&gm, MiB(2));
	assert_int_equal(evl_init(&evl, 64), 0);
	pci_bus_init(&bus);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	be.sock = sv[1];
	assert_int_equal(pthread_create(&be.th, NULL, be_thread, &be), 0);
	struct vufs_config cfg = { .socket_path = "fs-test", .socket_connected = true,
				   .socket_fd = sv[0], .tag = "t", .evl = &evl };
	void *fs = vufs_create(&cfg, &gm, err, sizeof(err));
	assert_non_null(fs);
	struct vpci *t = vpci_create(&vufs_ops, fs, vufs_nr_queues(fs), &gm, &evl, &irq, &bus,
				     err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(evl_start(&evl), 0);
	fs_driver_ok(t);
	/* no REPLY_ACK: the back end reads the vring set-up after activate() returns */
	for (int i = 0; i < 2000 && __atomic_load_n(&be.nr_calls, __ATOMIC_ACQUIRE) < 2; i++)
		usleep(1000);
	assert_int_equal(__atomic_load_n(&be.nr_calls, __ATOMIC_ACQUIRE), 2);

	/* MSI-X on, vector 1 routed and unmasked: a completion interrupts once */
	msix_ctrl(&bus, t, MSIX_EN);
	bar_w(t, VEC1, 0xfee00000, 4);
	bar_w(t, VEC1 + 8, 0x41, 4);
	bar_w(t, VEC1 + 12, 0, 4);
	be_signal(&be, 1);
	assert_int_equal(irqs(t, 1, 2000), 1);

	/* vector masked: held, and the PBA says so; the unmask delivers it once */
	bar_w(t, VEC1 + 12, 1, 4);
	be_signal(&be, 1);
	be_signal(&be, 1);
	assert_int_equal(irqs(t, 1, 300), 0);
	for (int i = 0; i < 2000 && !(bar_r(t, VPCI_MSIX_PBA_OFF, 8) & 2); i++)
		usleep(1000);
	assert_int_equal(bar_r(t, VPCI_MSIX_PBA_OFF, 8), 2);
	bar_w(t, VEC1 + 12, 0, 4);
	assert_int_equal(irqs(t, 1, 2000), 1);
	assert_int_equal(irqs(t, 1, 100), 0);
	assert_int_equal(bar_r(t, VPCI_MSIX_PBA_OFF, 8), 0);

	/* the function mask holds it the same way */
	msix_ctrl(&bus, t, MSIX_EN | MSIX_FMASK);
	be_signal(&be, 1);
	assert_int_equal(irqs(t, 1, 300), 0);
	for (int i = 0; i < 2000 && !(bar_r(t, VPCI_MSIX_PBA_OFF, 8) & 2); i++)
		usleep(1000);
	assert_int_equal(bar_r(t, VPCI_MSIX_PBA_OFF, 8), 2);
	msix_ctrl(&bus, t, MSIX_EN);
	assert_int_equal(irqs(t, 1, 2000), 1);

	/* MSI-X off: no message at all (as for the in-process devices) */
	msix_ctrl(&bus, t, 0);
	be_signal(&be, 1);
	assert_int_equal(irqs(t, 1, 300), 0);

	evl_fini(&evl);
	vpci_destroy(t); /* resets the device: GET_VRING_BASE is answered */
	shutdown(sv[1], SHUT_RDWR);
	pthread_join(be.th, NULL);
	close(sv[1]);
	for (int q = 0; q < 2; q++)
		if (be.call[q] >= 0)
			close(be.call[q]);
	pci_bus_fini(&bus);
	gm_destroy(&gm);
}

/* ---- issue 14: what the loop thread reads while a vCPU resets (run under TSan) ---- */

static struct vpci *race_t; /* the transport, as activate() saw it */
static unsigned race_kicks;

static int race_activate(void *dev, const struct virtio_activation *act)
{
	__atomic_store_n(&race_t, act->transport, __ATOMIC_RELEASE);
	return 0;
}

/* Loop thread: count the kick and raise a config interrupt (reads config_vector). */
static void race_notify(void *dev, uint16_t qidx)
{
	__atomic_fetch_add(&race_kicks, 1, __ATOMIC_RELAXED);
	virtio_config_changed(__atomic_load_n(&race_t, __ATOMIC_ACQUIRE));
}

/* in-process (not vhost): the transport watches the kick eventfd on the loop */
static const struct virtio_dev_ops race_ops = {
	.name = "race", .device_id = 4, .nr_queues = 1, .max_queue_size = 16,
	.activate = race_activate, .queue_notify = race_notify,
};

struct kicker {
	int efd;
	bool stop;
	pthread_t th;
};

static void *kicker_thread(void *arg)
{
	struct kicker *k = arg;
	uint64_t one = 1;

	while (!__atomic_load_n(&k->stop, __ATOMIC_ACQUIRE)) {
		if (write(k->efd, &one, sizeof(one)) != sizeof(one))
			break;
		usleep(50);
	}
	return NULL;
}

/*
 * A guest kicks queue 0 all the time while its vCPU brings the device up and
 * resets it again, writing the config vector each round. vpci_kick() on the
 * loop thread used to read q->enable and the virtqueue's vq_broken without a
 * lock while the reset rewrote them, and config_vector was written plainly
 * but read atomically: ThreadSanitizer reported both. Only TSan can see the
 * race; in other builds this checks that kicks keep working across resets.
 */
static void test_vpci_regress_issue14_kicks_during_resets(void **state)
{
	struct fake_kvm k = { .next_gsi = 24 };
	const struct irq_ctl irq = { &k, fake_msi_alloc, fake_msi_route, fake_ioeventfd };
	struct pci_bus bus;
	struct guest_mem gm;
	struct evl evl;
	struct kicker kick = { 0 };
	char err[256];
	const gpa_t base = MiB(1);

	th_gm_create(&gm, MiB(2));
	assert_int_equal(evl_init(&evl, 64), 0);
	pci_bus_init(&bus);
	struct vpci *t = vpci_create(&race_ops, NULL, 1, &gm, &evl, &irq, &bus, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(evl_start(&evl), 0);
	kick.efd = t->q[0].kick_efd;
	assert_int_equal(pthread_create(&kick.th, NULL, kicker_thread, &kick), 0);
	for (int round = 0; round < 200; round++) {
		bar_w(t, 20, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER, 1);
		bar_w(t, 8, 1, 4);  /* driver_feature_select 1 */
		bar_w(t, 12, 1, 4); /* VERSION_1 is bit 32 */
		bar_w(t, 20, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			     VIRTIO_CONFIG_S_FEATURES_OK, 1);
		bar_w(t, 16, (uint64_t)(round & 1), 2); /* config_msix_vector */
		bar_w(t, 22, 0, 2);                     /* queue_select */
		bar_w(t, 24, 16, 2);                    /* queue_size */
		bar_w(t, 32, base, 8);
		bar_w(t, 40, base + KiB(4), 8);
		bar_w(t, 48, base + KiB(8), 8);
		bar_w(t, 28, 1, 2); /* queue_enable */
		bar_w(t, 20, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			     VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK, 1);
		assert_false(bar_r(t, 20, 1) & VIRTIO_CONFIG_S_NEEDS_RESET);
		usleep(200);
		bar_w(t, 20, 0, 1); /* reset */
	}
	__atomic_store_n(&kick.stop, true, __ATOMIC_RELEASE);
	pthread_join(kick.th, NULL);
	evl_fini(&evl);
	assert_true(__atomic_load_n(&race_kicks, __ATOMIC_RELAXED) > 0);
	vpci_destroy(t);
	pci_bus_fini(&bus);
	gm_destroy(&gm);
}

struct latch_user {
	struct iobus *pio;
	uint32_t dev; /* the device number this thread's latch writes name */
	pthread_t th;
};

/* One "vCPU": latch writes and data reads through ports 0xcf8/0xcfc. */
static void *latch_thread(void *arg)
{
	struct latch_user *u = arg;

	for (int i = 0; i < 5000; i++) {
		uint32_t addr = 0x80000000u | u->dev << 11, v = 0;

		iobus_write(u->pio, 0xcf8, &addr, 4);
		iobus_read(u->pio, 0xcfc, &v, 4);
		iobus_read(u->pio, 0xcf8, &v, 4);
	}
	return NULL;
}

/*
 * Two vCPUs use configuration mechanism #1 at once: the address latch has no
 * lock (one register per bus, as on a PC), so it must be an atomic, never a
 * torn or racy access (ThreadSanitizer reported bus->cf8 before issue 14).
 */
static void test_vpci_regress_issue14_cf8_latch_from_two_vcpus(void **state)
{
	struct iobus pio, mmio;
	struct pci_bus bus;
	struct latch_user u[2] = { { .pio = &pio, .dev = 0 }, { .pio = &pio, .dev = 3 } };
	uint32_t id = 0, addr = 0x80000000u;

	iobus_init(&pio, "pio");
	iobus_init(&mmio, "mmio");
	pci_bus_init(&bus);
	assert_int_equal(pci_bus_register(&bus, &pio, &mmio), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&u[i].th, NULL, latch_thread, &u[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(u[i].th, NULL);
	/* the host bridge still answers at 00.0 */
	iobus_write(&pio, 0xcf8, &addr, 4);
	iobus_read(&pio, 0xcfc, &id, 4);
	assert_int_equal(id, cfg_r32(&bus, 0, 0));
	pci_bus_fini(&bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vpci_bar_onto_other_doorbells_and_back),
		cmocka_unit_test(test_vpci_vhost_fs_msix_mask_holds_interrupt_pending),
		cmocka_unit_test(test_vpci_regress_issue14_kicks_during_resets),
		cmocka_unit_test(test_vpci_regress_issue14_cf8_latch_from_two_vcpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
