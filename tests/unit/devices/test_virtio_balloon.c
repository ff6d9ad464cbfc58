// SPDX-License-Identifier: MIT
/*
 * test_virtio_balloon.c: the real virtio-balloon device on a real event loop
 * (kicks through watched eventfds), its queues written by th_vq_driver in real
 * guest RAM split around a hole: region 0 is [0, 4 MiB), the "MMIO hole" is
 * [4 MiB, 4 GiB), region 1 is [4 GiB, 4 GiB + 4 MiB). Discards are checked on
 * the host: the pages read zero and leave the host's resident set. No
 * transport (virtio_notify, virtio_dev_fail, virtio_config_changed accept NULL).
 * Over 600 lines: one harness for every queue, and the gm_discard() cases
 * beside the device's use of them.
 */
#include <endian.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "boot/layout.h"
#include "devices/virtio/virtio_balloon.h"
#include "tests/helpers/th.h"
#include "tests/helpers/th_vq_driver.h"

#define HOLE MiB(4)
#define RAM MiB(8)
#define HIGH BOOT_RAM_HIGH_GPA
#define RAM_END (HIGH + (RAM - HOLE)) /* first byte past RAM */
#define QSIZE 256
#define QSPAN KiB(128)   /* ring + buffers of each queue, from the top of region 0 down */
#define PG 4096

struct tb {
	struct guest_mem gm;
	struct th_vq drv[VBAL_NR_QUEUES];
	struct virtq vq[VBAL_NR_QUEUES];
	int efd[VBAL_NR_QUEUES];
	struct evl evl;
	void *dev;
};

struct kick {
	struct tb *t;
	uint16_t q;
};

static struct kick kicks[VBAL_NR_QUEUES];

static void kick_cb(void *opaque)
{
	struct kick *k = opaque;
	uint64_t n;

	if (read(k->t->efd[k->q], &n, sizeof(n)) == sizeof(n))
		vbal_ops.queue_notify(k->t->dev, k->q);
}

static struct tb *tb_new(bool private, uint64_t features, unsigned stats_s)
{
	struct tb *t = calloc(1, sizeof(*t));
	struct vbal_config c = { .stats = true, .reporting = true, .deflate_on_oom = true,
				 .stats_s = stats_s };
	char err[128];

	assert_int_equal(gm_create_opts(&t->gm, RAM, HOLE, private ? GM_PRIVATE : 0), 0);
	for (unsigned q = 0; q < VBAL_NR_QUEUES; q++) {
		th_vq_init_at(&t->drv[q], &t->gm, QSIZE, HOLE - q * QSPAN);
		t->drv[q].buf_floor = HOLE - (q + 1) * QSPAN;
		th_vq_bind(&t->drv[q], &t->vq[q], true, true);
	}
	t->dev = vbal_create(&c, err, sizeof(err));
	assert_non_null(t->dev);
	vbal_set_ram(t->dev, RAM);
	assert_int_equal(evl_init(&t->evl, 32), 0);
	for (unsigned q = 0; q < VBAL_NR_QUEUES; q++) {
		kicks[q] = (struct kick){ t, (uint16_t)q };
		t->efd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		assert_int_equal(evl_watch_fd(&t->evl, t->efd[q], kick_cb, &kicks[q]), 0);
	}
	assert_int_equal(vbal_start(t->dev, &t->evl), 0);
	assert_int_equal(evl_start(&t->evl), 0);
	assert_int_equal(vbal_ops.set_features(t->dev, features), 0);
	struct virtio_activation act = { .gm = &t->gm, .vqs = t->vq, .nr_vqs = VBAL_NR_QUEUES,
					 .evl = &t->evl, .features = features };
	assert_int_equal(vbal_ops.activate(t->dev, &act), 0);
	return t;
}

#define ALL_FEATURES ((1ULL << VIRTIO_BALLOON_F_STATS_VQ) | (1ULL << VIRTIO_BALLOON_F_REPORTING))

static int setup(void **state)
{
	*state = tb_new(false, ALL_FEATURES, 0);
	return 0;
}

static int setup_private(void **state)
{
	*state = tb_new(true, ALL_FEATURES, 0);
	return 0;
}

static int teardown(void **state)
{
	struct tb *t = *state;

	assert_int_equal(vbal_ops.reset(t->dev), 0);
	evl_fini(&t->evl);
	vbal_ops.destroy(t->dev);
	for (unsigned q = 0; q < VBAL_NR_QUEUES; q++)
		close(t->efd[q]);
	gm_destroy(&t->gm);
	free(t);
	return 0;
}

static void kick(struct tb *t, uint16_t q)
{
	uint64_t one = 1;

	assert_int_equal(write(t->efd[q], &one, sizeof(one)), sizeof(one));
}

/* Publish a chain on queue (q), kick, wait for its used entry; return the used length. */
static uint32_t run_chain(struct tb *t, uint16_t q, const struct th_seg *s, unsigned n)
{
	uint16_t head = th_vq_add_chain(&t->drv[q], s, n);
	uint32_t id, len;

	th_vq_publish(&t->drv[q], head);
	kick(t, q);
	for (int i = 0; i < 5000; i++) {
		if (th_vq_get_used(&t->drv[q], &id, &len)) {
			assert_int_equal(id, head);
			return len;
		}
		usleep(1000);
	}
	fail_msg("no used entry");
	return 0;
}

/* A PFN array chain (readable) on queue (q). */
static void send_pfns(struct tb *t, uint16_t q, const uint32_t *pfns, unsigned n)
{
	gpa_t a = th_vq_alloc(&t->drv[q], 4 * (uint64_t)n);
	struct th_seg s = { a, 4 * n, false };

	for (unsigned i = 0; i < n; i++) {
		uint32_t le = htole32(pfns[i]);

		assert_int_equal(gm_write(&t->gm, a + 4 * (uint64_t)i, &le, 4), 0);
	}
	assert_int_equal(run_chain(t, q, &s, 1), 0);
}

static void fill(struct tb *t, gpa_t g, uint64_t len, uint8_t v)
{
	memset(gm_ptr(&t->gm, g, len), v, len);
}

/* Every byte of [g, g+len) equals (v). */
static bool all_are(struct tb *t, gpa_t g, uint64_t len, uint8_t v)
{
	const uint8_t *p = gm_ptr(&t->gm, g, len);

	for (uint64_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

static struct vbal_info info(struct tb *t)
{
	struct vbal_info i;

	vbal_get_info(t->dev, &i);
	return i;
}

/* ---- guest_mem: the discard primitive ---------------------------------------------- */

static void check_gm_discard(bool private)
{
	struct guest_mem gm;

	assert_int_equal(gm_create_opts(&gm, RAM, HOLE, private ? GM_PRIVATE : 0), 0);
	memset(gm_ptr(&gm, 0, MiB(2)), 0x5a, MiB(2));
	memset(gm_ptr(&gm, HIGH, MiB(4)), 0x5a, MiB(4));
	uint64_t before = gm_resident_bytes(&gm);
	assert_int_equal(gm_discard(&gm, 0, MiB(2)), 0);
	/* a range ending exactly at the end of RAM is accepted */
	assert_int_equal(gm_discard(&gm, RAM_END - MiB(2), MiB(2)), 0);
	assert_true(gm_resident_bytes(&gm) + MiB(4) <= before);
	const uint8_t *p = gm_ptr(&gm, 0, MiB(2));
	for (uint64_t i = 0; i < MiB(2); i += 512)
		assert_int_equal(p[i], 0);
	p = gm_ptr(&gm, HIGH, MiB(2));
	assert_int_equal(p[0], 0x5a); /* below the discarded range: kept */
	assert_int_equal(p[MiB(2) - 1], 0x5a);
	/* refused: one page past the end, in the hole, across the hole, unaligned, empty, wrap */
	assert_int_equal(gm_discard(&gm, RAM_END - MiB(2) + PG, MiB(2)), -EFAULT);
	assert_int_equal(gm_discard(&gm, HOLE, PG), -EFAULT);
	assert_int_equal(gm_discard(&gm, HOLE - PG, 2 * PG), -EFAULT);
	assert_int_equal(gm_discard(&gm, RAM_END, PG), -EFAULT);
	assert_int_equal(gm_discard(&gm, 100, PG), -EINVAL);
	assert_int_equal(gm_discard(&gm, 0, 100), -EINVAL);
	assert_int_equal(gm_discard(&gm, 0, 0), -EINVAL);
	assert_int_equal(gm_discard(&gm, 0xfffffffffffff000ULL, 2 * PG), -EFAULT);
	/* gm_gpa_of(): back from a host pointer, only inside RAM */
	gpa_t g;
	assert_int_equal(gm_gpa_of(&gm, gm_ptr(&gm, HIGH + PG, PG), PG, &g), 0);
	assert_int_equal(g, HIGH + PG);
	assert_int_equal(gm_gpa_of(&gm, gm_ptr(&gm, 0, 1), HOLE + 1, &g), -EFAULT);
	assert_int_equal(gm_gpa_of(&gm, &g, 8, &g), -EFAULT);
	gm_destroy(&gm);
}

static void test_gm_discard_memfd_zeroes_and_frees(void **state)
{
	check_gm_discard(false);
}

static void test_gm_discard_private_zeroes_and_frees(void **state)
{
	check_gm_discard(true);
}

/* ---- inflate / deflate -------------------------------------------------------------- */

static void test_vbal_inflate_discards_pages(void **state)
{
	struct tb *t = *state;
	uint32_t pfns[] = { 16, 17, 18, 19, 40, (uint32_t)(HIGH / PG) + 3 };

	fill(t, 16 * PG, 32 * PG, 0xaa);
	fill(t, HIGH, 8 * PG, 0xaa);
	send_pfns(t, 0, pfns, ARRAY_SIZE(pfns));
	assert_true(all_are(t, 16 * PG, 4 * PG, 0));
	assert_true(all_are(t, 20 * PG, 20 * PG, 0xaa)); /* between the runs: kept */
	assert_true(all_are(t, 40 * PG, PG, 0));
	assert_true(all_are(t, 41 * PG, 7 * PG, 0xaa));
	assert_true(all_are(t, HIGH + 3 * PG, PG, 0));
	assert_true(all_are(t, HIGH + 2 * PG, PG, 0xaa));
	struct vbal_info i = info(t);
	assert_int_equal(i.inflated_pages, 6);
	assert_int_equal(i.refused, 0);
}

/* PFNs in the hole, past RAM or huge: refused and counted, the rest of the chain still served. */
static void test_vbal_inflate_outside_ram_refused(void **state)
{
	struct tb *t = *state;
	uint32_t pfns[] = { (uint32_t)(HOLE / PG), (uint32_t)(HOLE / PG) + 100, 50,
			    (uint32_t)(RAM_END / PG), 0xffffffffU };

	fill(t, 50 * PG, PG, 0xbb);
	fill(t, HOLE - QSPAN * VBAL_NR_QUEUES - PG, PG, 0xbb);
	send_pfns(t, 0, pfns, ARRAY_SIZE(pfns));
	assert_true(all_are(t, 50 * PG, PG, 0));
	assert_true(all_are(t, HOLE - QSPAN * VBAL_NR_QUEUES - PG, PG, 0xbb));
	struct vbal_info i = info(t);
	assert_int_equal(i.inflated_pages, 5);
	assert_int_equal(i.refused, 4);
}

static void test_vbal_deflate_counts_and_keeps_memory(void **state)
{
	struct tb *t = *state;
	uint32_t pfns[] = { 60, 61, 62 };

	fill(t, 60 * PG, 3 * PG, 0xcc);
	send_pfns(t, 1, pfns, 3);
	assert_true(all_are(t, 60 * PG, 3 * PG, 0xcc));
	struct vbal_info i = info(t);
	assert_int_equal(i.deflated_pages, 3);
	assert_int_equal(i.inflated_pages, 0);
}

/* A chain of more than VBAL_MAX_PFNS PFNs: only the first VBAL_MAX_PFNS are looked at. */
static void test_vbal_inflate_chain_capped(void **state)
{
	struct tb *t = *state;
	unsigned n = VBAL_MAX_PFNS + 1000;
	uint32_t *pfns = calloc(n, sizeof(*pfns));

	for (unsigned i = 0; i < n; i++)
		pfns[i] = 100 + i % 200;
	send_pfns(t, 0, pfns, n);
	free(pfns);
	assert_int_equal(info(t).inflated_pages, VBAL_MAX_PFNS);
}

/* A PFN array split anywhere across descriptors (a PFN across two) reads the same. */
static void test_vbal_inflate_pfns_across_descriptors(void **state)
{
	struct tb *t = *state;
	gpa_t a = th_vq_alloc(&t->drv[0], 12);
	uint32_t le[3] = { htole32(70), htole32(71), htole32(72) };
	struct th_seg s[3] = { { a, 3, false }, { a + 3, 6, false }, { a + 9, 3, false } };

	fill(t, 70 * PG, 3 * PG, 0xdd);
	assert_int_equal(gm_write(&t->gm, a, le, sizeof(le)), 0);
	assert_int_equal(run_chain(t, 0, s, 3), 0);
	assert_true(all_are(t, 70 * PG, 3 * PG, 0));
	assert_int_equal(info(t).inflated_pages, 3);
}

/* More chains than one pass serves: the device resumes on its own, with one kick. */
static void test_vbal_budget_resumes_without_kick(void **state)
{
	struct tb *t = *state;
	unsigned n = VBAL_PASS_CHAINS * 3 + 5;
	uint32_t id, len, got = 0;

	for (unsigned i = 0; i < n; i++) {
		gpa_t a = th_vq_alloc(&t->drv[0], 4);
		uint32_t le = htole32(200 + i);
		struct th_seg s = { a, 4, false };

		assert_int_equal(gm_write(&t->gm, a, &le, 4), 0);
		th_vq_publish(&t->drv[0], th_vq_add_chain(&t->drv[0], &s, 1));
	}
	kick(t, 0);
	for (int i = 0; i < 5000 && got < n; i++) {
		while (th_vq_get_used(&t->drv[0], &id, &len))
			got++;
		if (got < n)
			usleep(1000);
	}
	assert_int_equal(got, n);
	assert_int_equal(info(t).inflated_pages, n);
}

static void test_vbal_malformed_chain_breaks_queue(void **state)
{
	struct tb *t = *state;

	fill(t, 80 * PG, PG, 0xee);
	th_vq_write_desc(&t->drv[0], t->drv[0].desc, 0, th_vq_alloc(&t->drv[0], 16), 16,
			 VRING_DESC_F_NEXT, 4000);
	th_vq_publish(&t->drv[0], 0);
	kick(t, 0);
	for (int i = 0; i < 2000 && !__atomic_load_n(&t->vq[0].vq_broken, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	assert_true(__atomic_load_n(&t->vq[0].vq_broken, __ATOMIC_ACQUIRE));
	assert_int_equal(th_vq_used_idx(&t->drv[0]), 0);
	assert_int_equal(info(t).inflated_pages, 0);
}

/* ---- free page reporting ------------------------------------------------------------ */

static void check_report_discards(struct tb *t, uint16_t q)
{
	struct th_seg s[2] = { { HIGH, (uint32_t)MiB(2), true },
			       { RAM_END - MiB(2), (uint32_t)MiB(2), true } };

	fill(t, HIGH, RAM - HOLE, 0x77);
	fill(t, 0, MiB(2), 0x77);
	uint64_t before = gm_resident_bytes(&t->gm);
	assert_int_equal(run_chain(t, q, s, 2), 0);
	/* before reading them back: a read faults a page in again */
	assert_true(gm_resident_bytes(&t->gm) + MiB(4) <= before);
	assert_true(all_are(t, HIGH, MiB(4), 0));
	assert_true(all_are(t, 0, MiB(2), 0x77));
	struct vbal_info i = info(t);
	assert_int_equal(i.reported_ranges, 2);
	assert_int_equal(i.reported_bytes, MiB(4));
	assert_int_equal(i.refused, 0);
}

/* Two reported ranges, one ending exactly at the end of RAM: zero and gone from RSS. */
static void test_vbal_report_discards_ranges(void **state)
{
	check_report_discards(*state, 3);
}

static void test_vbal_report_discards_private_ram(void **state)
{
	check_report_discards(*state, 3);
}

/* Without STATS_VQ the reporting queue is queue 2 (virtio_balloon.h "Queues"). */
static void test_vbal_report_queue_2_without_stats(void **state)
{
	struct tb *t = tb_new(false, 1ULL << VIRTIO_BALLOON_F_REPORTING, 0);
	void *s = t;

	check_report_discards(t, 2);
	teardown(&s);
}

/* Unaligned ranges are rounded inward: partial pages at either end are kept. */
static void test_vbal_report_rounds_inward(void **state)
{
	struct tb *t = *state;
	struct th_seg s = { HIGH + 100, 3 * PG, true };

	fill(t, HIGH, 5 * PG, 0x66);
	assert_int_equal(run_chain(t, 3, &s, 1), 0);
	assert_true(all_are(t, HIGH, PG, 0x66));
	assert_true(all_are(t, HIGH + PG, 2 * PG, 0));
	assert_true(all_are(t, HIGH + 3 * PG, 2 * PG, 0x66));
	assert_int_equal(info(t).reported_bytes, 2 * PG);
	/* a range inside one page discards nothing */
	struct th_seg tiny = { HIGH + 4 * PG + 10, 100, true };
	assert_int_equal(run_chain(t, 3, &tiny, 1), 0);
	assert_true(all_are(t, HIGH + 4 * PG, PG, 0x66));
}

/*
 * A report naming the hole, or one byte past RAM: the chain is malformed
 * (virtq_pop refuses a buffer outside RAM), the device fails, and nothing of
 * the chain, not even its good range, is discarded.
 */
static void check_report_refused(struct tb *t, gpa_t bad, uint32_t len)
{
	struct th_seg s[2] = { { HIGH, (uint32_t)MiB(1), true }, { bad, len, true } };

	fill(t, HIGH, MiB(1), 0x55);
	th_vq_publish(&t->drv[3], th_vq_add_chain(&t->drv[3], s, 2));
	kick(t, 3);
	for (int i = 0; i < 2000 && !__atomic_load_n(&t->vq[3].vq_broken, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	assert_true(__atomic_load_n(&t->vq[3].vq_broken, __ATOMIC_ACQUIRE));
	assert_true(all_are(t, HIGH, MiB(1), 0x55));
	assert_int_equal(info(t).reported_ranges, 0);
}

static void test_vbal_report_in_hole_refused(void **state)
{
	check_report_refused(*state, HOLE, (uint32_t)MiB(2));
}

static void test_vbal_report_across_hole_refused(void **state)
{
	check_report_refused(*state, HOLE - MiB(1), (uint32_t)MiB(2));
}

static void test_vbal_report_past_ram_refused(void **state)
{
	check_report_refused(*state, RAM_END - MiB(2) + 1, (uint32_t)MiB(2));
}

/* ---- stats ------------------------------------------------------------------------ */

static gpa_t stats_buf(struct tb *t, const struct virtio_balloon_stat *st, unsigned n)
{
	gpa_t a = th_vq_alloc(&t->drv[2], sizeof(*st) * n);

	assert_int_equal(gm_write(&t->gm, a, st, sizeof(*st) * n), 0);
	return a;
}

static void wait_stats(struct tb *t, uint64_t want_free)
{
	for (int i = 0; i < 2000; i++) {
		struct vbal_info in = info(t);

		if (in.stats_valid && in.stats[VIRTIO_BALLOON_S_MEMFREE] == want_free)
			return;
		usleep(1000);
	}
	fail_msg("stats never arrived");
}

static void test_vbal_stats_kept_then_returned_on_request(void **state)
{
	struct tb *t = *state;
	struct virtio_balloon_stat st[3] = {
		{ htole16(VIRTIO_BALLOON_S_MEMFREE), htole64(MiB(300)) },
		{ htole16(VIRTIO_BALLOON_S_MEMTOT), htole64(MiB(500)) },
		{ htole16(999), htole64(1) }, /* unknown tag: ignored */
	};
	struct th_seg s = { stats_buf(t, st, 3), sizeof(st), false };
	uint16_t head = th_vq_add_chain(&t->drv[2], &s, 1);
	uint32_t id, len;

	th_vq_publish(&t->drv[2], head);
	kick(t, 2);
	wait_stats(t, MiB(300));
	struct vbal_info i = info(t);
	assert_int_equal(i.stats[VIRTIO_BALLOON_S_MEMTOT], MiB(500));
	assert_int_equal(i.stats_mask, (1U << VIRTIO_BALLOON_S_MEMFREE) |
					       (1U << VIRTIO_BALLOON_S_MEMTOT));
	assert_false(th_vq_get_used(&t->drv[2], &id, &len)); /* held, not returned */
	vbal_request_stats(t->dev);
	for (int k = 0; k < 2000 && !th_vq_get_used(&t->drv[2], &id, &len); k++)
		usleep(1000);
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
	/* the driver posts it again with new figures */
	st[0].val = htole64(MiB(100));
	s.gpa = stats_buf(t, st, 1);
	s.len = sizeof(st[0]);
	th_vq_publish(&t->drv[2], th_vq_add_chain(&t->drv[2], &s, 1));
	kick(t, 2);
	wait_stats(t, MiB(100));
}

/* stats=SECONDS: the device asks by itself. */
static void test_vbal_stats_timer_asks(void **state)
{
	struct tb *t = tb_new(false, ALL_FEATURES, 1);
	void *s = t;
	struct virtio_balloon_stat st = { htole16(VIRTIO_BALLOON_S_MEMFREE), htole64(7) };
	struct th_seg seg = { stats_buf(t, &st, 1), sizeof(st), false };
	uint32_t id, len;
	bool back = false;

	th_vq_publish(&t->drv[2], th_vq_add_chain(&t->drv[2], &seg, 1));
	kick(t, 2);
	wait_stats(t, 7);
	for (int k = 0; k < 3000 && !(back = th_vq_get_used(&t->drv[2], &id, &len)); k++)
		usleep(1000);
	assert_true(back);
	teardown(&s);
}

/*
 * A kick before DRIVER_OK is dropped by the transport (Linux primes the stats
 * queue before virtio_device_ready()): activation serves what waits.
 */
static void test_vbal_activation_serves_buffers_posted_before(void **state)
{
	struct tb *t = *state;
	struct virtio_balloon_stat st = { htole16(VIRTIO_BALLOON_S_MEMFREE), htole64(42) };
	struct th_seg s = { stats_buf(t, &st, 1), sizeof(st), false };
	struct virtio_activation act = { .gm = &t->gm, .vqs = t->vq, .nr_vqs = VBAL_NR_QUEUES,
					 .evl = &t->evl, .features = ALL_FEATURES };

	assert_int_equal(vbal_ops.reset(t->dev), 0);
	for (unsigned q = 0; q < VBAL_NR_QUEUES; q++)
		th_vq_bind(&t->drv[q], &t->vq[q], true, true);
	th_vq_publish(&t->drv[2], th_vq_add_chain(&t->drv[2], &s, 1));
	kick(t, 2); /* not active: nothing served */
	usleep(20000);
	assert_false(info(t).stats_valid);
	assert_int_equal(vbal_ops.set_features(t->dev, ALL_FEATURES), 0);
	assert_int_equal(vbal_ops.activate(t->dev, &act), 0);
	wait_stats(t, 42);
}

/* A second stats buffer while one is held: the first goes back, the second is kept. */
static void test_vbal_stats_second_buffer_returns_first(void **state)
{
	struct tb *t = *state;
	struct virtio_balloon_stat st = { htole16(VIRTIO_BALLOON_S_MEMFREE), htole64(1) };
	struct th_seg s = { stats_buf(t, &st, 1), sizeof(st), false };
	uint16_t h1 = th_vq_add_chain(&t->drv[2], &s, 1);
	uint32_t id, len;

	th_vq_publish(&t->drv[2], h1);
	kick(t, 2);
	wait_stats(t, 1);
	st.val = htole64(2);
	s.gpa = stats_buf(t, &st, 1);
	th_vq_publish(&t->drv[2], th_vq_add_chain(&t->drv[2], &s, 1));
	kick(t, 2);
	wait_stats(t, 2);
	assert_true(th_vq_get_used(&t->drv[2], &id, &len));
	assert_int_equal(id, h1);
	assert_false(th_vq_get_used(&t->drv[2], &id, &len));
}

/* ---- config space and features ------------------------------------------------------ */

static uint32_t cfg_read32(struct tb *t, uint32_t off)
{
	uint32_t v;

	vbal_ops.config_read(t->dev, off, &v, 4);
	return le32toh(v);
}

static void test_vbal_config_target_and_actual(void **state)
{
	struct tb *t = *state;
	uint32_t v = htole32(1234);
	uint16_t lo = htole16(0x5678);

	vbal_set_target(t->dev, 1000);
	assert_int_equal(cfg_read32(t, 0), 1000);
	vbal_set_target(t->dev, 1ULL << 40); /* clamped to the RAM's pages */
	assert_int_equal(cfg_read32(t, 0), RAM / PG);
	/* the driver writes actual, whole or in part; num_pages is the device's */
	assert_int_equal(vbal_ops.config_write(t->dev, 4, &v, 4), 0);
	assert_int_equal(cfg_read32(t, 4), 1234);
	assert_int_equal(vbal_ops.config_write(t->dev, 4, &lo, 2), 0);
	assert_int_equal(cfg_read32(t, 4), 0x5678);
	assert_int_equal(vbal_ops.config_write(t->dev, 0, &v, 4), 0);
	assert_int_equal(cfg_read32(t, 0), RAM / PG);
	uint8_t b;
	vbal_ops.config_read(t->dev, 5, &b, 1);
	assert_int_equal(b, 0x56);
	struct vbal_info i = info(t);
	assert_int_equal(i.target_pages, RAM / PG);
	assert_int_equal(i.actual_pages, 0x5678);
	/* reset: the driver's figure is gone, the host's target stays */
	assert_int_equal(vbal_ops.reset(t->dev), 0);
	assert_int_equal(cfg_read32(t, 4), 0);
	assert_int_equal(cfg_read32(t, 0), RAM / PG);
}

static void test_vbal_features_follow_config(void **state)
{
	struct vbal_config c = { .stats = true, .reporting = false, .deflate_on_oom = true };
	char err[128];
	void *d = vbal_create(&c, err, sizeof(err));

	assert_non_null(d);
	uint64_t f = vbal_ops.features(d);
	assert_true(f & (1ULL << VIRTIO_BALLOON_F_STATS_VQ));
	assert_true(f & (1ULL << VIRTIO_BALLOON_F_DEFLATE_ON_OOM));
	assert_false(f & (1ULL << VIRTIO_BALLOON_F_REPORTING));
	assert_false(f & (1ULL << VIRTIO_BALLOON_F_MUST_TELL_HOST));
	assert_false(f & (1ULL << VIRTIO_BALLOON_F_FREE_PAGE_HINT));
	vbal_ops.destroy(d);
	c.stats_s = VBAL_STATS_MAX_S + 1;
	assert_null(vbal_create(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "stats interval"));
}

/* A queue the negotiated features do not name is never served. */
static void test_vbal_absent_queue_ignored(void **state)
{
	struct tb *t = tb_new(false, 0, 0);
	void *s = t;
	struct th_seg seg = { HIGH, (uint32_t)MiB(1), true };

	fill(t, HIGH, MiB(1), 0x44);
	th_vq_publish(&t->drv[3], th_vq_add_chain(&t->drv[3], &seg, 1));
	kick(t, 3);
	usleep(50000);
	assert_int_equal(th_vq_used_idx(&t->drv[3]), 0);
	assert_true(all_are(t, HIGH, MiB(1), 0x44));
	teardown(&s);
}

static void test_vbal_ops_describe_device_5(void **state)
{
	assert_int_equal(vbal_ops.device_id, 5);
	assert_int_equal(vbal_ops.nr_queues, 4);
	assert_int_equal(vbal_ops.config_size, 8);
	assert_true(vbal_ops.max_queue_size >= 32);
	assert_string_equal(vbal_stat_name(VIRTIO_BALLOON_S_AVAIL), "available_memory");
	assert_null(vbal_stat_name(VBAL_NR_STATS));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gm_discard_memfd_zeroes_and_frees),
		cmocka_unit_test(test_gm_discard_private_zeroes_and_frees),
		T(test_vbal_inflate_discards_pages),
		T(test_vbal_inflate_outside_ram_refused),
		T(test_vbal_deflate_counts_and_keeps_memory),
		T(test_vbal_inflate_chain_capped),
		T(test_vbal_inflate_pfns_across_descriptors),
		T(test_vbal_budget_resumes_without_kick),
		T(test_vbal_malformed_chain_breaks_queue),
		T(test_vbal_report_discards_ranges),
		cmocka_unit_test_setup_teardown(test_vbal_report_discards_private_ram,
						setup_private, teardown),
		cmocka_unit_test(test_vbal_report_queue_2_without_stats),
		T(test_vbal_report_rounds_inward),
		T(test_vbal_report_in_hole_refused),
		T(test_vbal_report_across_hole_refused),
		T(test_vbal_report_past_ram_refused),
		T(test_vbal_stats_kept_then_returned_on_request),
		cmocka_unit_test(test_vbal_stats_timer_asks),
		T(test_vbal_stats_second_buffer_returns_first),
		T(test_vbal_activation_serves_buffers_posted_before),
		T(test_vbal_config_target_and_actual),
		cmocka_unit_test(test_vbal_features_follow_config),
		cmocka_unit_test(test_vbal_absent_queue_ignored),
		cmocka_unit_test(test_vbal_ops_describe_device_5),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
