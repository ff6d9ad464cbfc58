// SPDX-License-Identifier: MIT
/* test_ged.c: the Generic Event Device: latched power-button events, edge pulses, bad accesses. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "boot/layout.h"
#include "devices/ged.h"

/* The VMM side of the interrupt line: every level change, in order. */
struct line_rec {
	unsigned nr;
	bool level[64];
	uint32_t gsi[64];
};

static void line_set(void *opaque, uint32_t gsi, bool level)
{
	struct line_rec *r = opaque;

	assert_true(r->nr < ARRAY_SIZE(r->level));
	r->level[r->nr] = level;
	r->gsi[r->nr] = gsi;
	r->nr++;
}

struct fix {
	struct ged g;
	struct line_rec rec;
};

static int setup(void **state)
{
	struct fix *f = test_calloc(1, sizeof(*f));
	struct irq_line l = { .set = line_set, .opaque = &f->rec, .gsi = BOOT_GED_GSI };

	ged_init(&f->g, &l);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	ged_fini(&f->g);
	test_free(f);
	return 0;
}

static uint8_t rd8(struct fix *f)
{
	uint8_t v = 0x5a;

	ged_ops.read(&f->g, 0, &v, 1);
	return v;
}

static void test_ged_idle_reads_zero_and_no_irq(void **state)
{
	struct fix *f = *state;

	assert_int_equal(rd8(f), 0);
	assert_int_equal(f->rec.nr, 0);
}

static void test_ged_press_pulses_edge_and_latches(void **state)
{
	struct fix *f = *state;

	assert_int_equal(ged_event(&f->g, GED_EV_POWER_BUTTON), 0);
	/* one edge on the GED's GSI: high, then low again */
	assert_int_equal(f->rec.nr, 2);
	assert_true(f->rec.level[0]);
	assert_false(f->rec.level[1]);
	assert_int_equal(f->rec.gsi[0], BOOT_GED_GSI);
	assert_int_equal(f->rec.gsi[1], BOOT_GED_GSI);
	/* _EVT's read gets the event and clears it */
	assert_int_equal(rd8(f), GED_EV_POWER_BUTTON);
	assert_int_equal(rd8(f), 0);
	assert_int_equal(f->g.reads, 2);
}

static void test_ged_presses_before_read_coalesce(void **state)
{
	struct fix *f = *state;

	/* the guest had the pin masked: every press is a new edge, one event bit */
	for (int i = 0; i < 3; i++)
		assert_int_equal(ged_event(&f->g, GED_EV_POWER_BUTTON), 0);
	assert_int_equal(f->rec.nr, 6);
	for (unsigned i = 0; i < f->rec.nr; i++)
		assert_int_equal(f->rec.level[i], i % 2 == 0);
	assert_int_equal(f->g.events, 3);
	assert_int_equal(rd8(f), GED_EV_POWER_BUTTON);
	assert_int_equal(rd8(f), 0);
}

static void test_ged_rejects_unknown_event_bits(void **state)
{
	struct fix *f = *state;

	assert_int_equal(ged_event(&f->g, 0), -EINVAL);
	assert_int_equal(ged_event(&f->g, 0x02), -EINVAL);
	assert_int_equal(ged_event(&f->g, 0x81), -EINVAL);
	assert_int_equal(f->rec.nr, 0);
	assert_int_equal(rd8(f), 0);
}

static void test_ged_bad_width_or_offset_ignored(void **state)
{
	struct fix *f = *state;
	uint32_t v32 = 0;
	uint16_t v16 = 0;
	uint8_t v8 = 0;

	assert_int_equal(ged_event(&f->g, GED_EV_POWER_BUTTON), 0);
	/* wrong widths and offsets read all-ones and do not consume the event */
	ged_ops.read(&f->g, 0, &v32, 4);
	assert_int_equal(v32, 0xffffffff);
	ged_ops.read(&f->g, 0, &v16, 2);
	assert_int_equal(v16, 0xffff);
	ged_ops.read(&f->g, 1, &v8, 1);
	assert_int_equal(v8, 0xff);
	ged_ops.read(&f->g, UINT64_MAX, &v8, 1);
	assert_int_equal(v8, 0xff);
	/* writes never set or clear events, at any width */
	v8 = 0;
	ged_ops.write(&f->g, 0, &v8, 1);
	v8 = 0xff;
	ged_ops.write(&f->g, 0, &v8, 1);
	v32 = 0;
	ged_ops.write(&f->g, 0, &v32, 4);
	assert_int_equal(f->g.bad_accesses, 7);
	assert_int_equal(f->g.reads, 0);
	assert_int_equal(rd8(f), GED_EV_POWER_BUTTON);
	/* a write of the event bit does not invent one either */
	v8 = GED_EV_POWER_BUTTON;
	ged_ops.write(&f->g, 0, &v8, 1);
	assert_int_equal(rd8(f), 0);
	assert_int_equal(f->rec.nr, 2);
}

static void test_ged_without_line_still_latches(void **state)
{
	struct ged g;

	(void)state;
	ged_init(&g, NULL);
	assert_int_equal(ged_event(&g, GED_EV_POWER_BUTTON), 0);
	uint8_t v = 0;
	ged_ops.read(&g, 0, &v, 1);
	assert_int_equal(v, GED_EV_POWER_BUTTON);
	ged_fini(&g);
}

/* Presses from another thread while the "guest" reads: nothing lost, nothing invented. */
struct race {
	struct ged *g;
	int presses;
};

static void *presser(void *arg)
{
	struct race *r = arg;

	for (int i = 0; i < r->presses; i++)
		ged_event(r->g, GED_EV_POWER_BUTTON);
	return NULL;
}

static void count_line(void *opaque, uint32_t gsi, bool level)
{
	if (level)
		__atomic_add_fetch((unsigned *)opaque, 1, __ATOMIC_RELAXED);
}

static void test_ged_press_from_other_thread(void **state)
{
	unsigned edges = 0, seen = 0;
	struct irq_line l = { .set = count_line, .opaque = &edges, .gsi = BOOT_GED_GSI };
	struct ged g;
	struct race r = { .g = &g, .presses = 10000 };
	pthread_t t;

	(void)state;
	ged_init(&g, &l);
	assert_int_equal(pthread_create(&t, NULL, presser, &r), 0);
	for (int i = 0; i < 20000; i++) {
		uint8_t v = 0;

		ged_ops.read(&g, 0, &v, 1);
		assert_true(v == 0 || v == GED_EV_POWER_BUTTON);
		seen += v;
	}
	pthread_join(t, NULL);
	uint8_t v = 0;
	ged_ops.read(&g, 0, &v, 1);
	seen += v;
	assert_int_equal(edges, 10000);
	assert_int_equal(g.events, 10000);
	assert_true(seen >= 1 && seen <= 10000);
	ged_fini(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ged_idle_reads_zero_and_no_irq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ged_press_pulses_edge_and_latches, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ged_presses_before_read_coalesce, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ged_rejects_unknown_event_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ged_bad_width_or_offset_ignored, setup,
						teardown),
		cmocka_unit_test(test_ged_without_line_still_latches),
		cmocka_unit_test(test_ged_press_from_other_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
