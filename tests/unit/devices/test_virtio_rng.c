// SPDX-License-Identifier: MIT
/*
 * test_virtio_rng.c: the real virtio-rng device fed by a real event loop
 * (kicks through a watched eventfd) on rings written by th_vq_driver in real
 * guest RAM; no transport (virtio_notify/virtio_dev_fail accept NULL).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/virtio/virtio_rng.h"
#include "tests/helpers/th.h"
#include "tests/helpers/th_vq_driver.h"

#define RAM MiB(2)

struct tr {
	struct guest_mem gm;
	struct th_vq drv;
	struct virtq vq;
	struct evl evl;
	int efd;
	void *dev;
};

static void kick_cb(void *opaque)
{
	struct tr *t = opaque;
	uint64_t n;

	if (read(t->efd, &n, sizeof(n)) == sizeof(n))
		vrng_ops.queue_notify(t->dev, 0);
}

static int setup(void **state)
{
	struct tr *t = calloc(1, sizeof(*t));
	char err[128];

	th_gm_create(&t->gm, RAM);
	th_vq_init(&t->drv, &t->gm, 64);
	th_vq_bind(&t->drv, &t->vq, true, true);
	t->dev = vrng_create(err, sizeof(err));
	assert_non_null(t->dev);
	assert_int_equal(evl_init(&t->evl, 32), 0);
	t->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_int_equal(evl_watch_fd(&t->evl, t->efd, kick_cb, t), 0);
	assert_int_equal(evl_start(&t->evl), 0);
	struct virtio_activation act = { .gm = &t->gm, .vqs = &t->vq, .nr_vqs = 1,
					 .evl = &t->evl };
	assert_int_equal(vrng_ops.activate(t->dev, &act), 0);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tr *t = *state;

	assert_int_equal(vrng_ops.reset(t->dev), 0);
	evl_fini(&t->evl);
	vrng_ops.destroy(t->dev);
	close(t->efd);
	gm_destroy(&t->gm);
	free(t);
	return 0;
}

static uint32_t run_chain(struct tr *t, const struct th_seg *s, unsigned n)
{
	uint16_t head = th_vq_add_chain(&t->drv, s, n);
	uint64_t one = 1;
	uint32_t id, len;

	th_vq_publish(&t->drv, head);
	assert_int_equal(write(t->efd, &one, sizeof(one)), sizeof(one));
	for (int i = 0; i < 5000; i++) {
		if (th_vq_get_used(&t->drv, &id, &len)) {
			assert_int_equal(id, head);
			return len;
		}
		usleep(1000);
	}
	fail_msg("no used entry");
	return 0;
}

/* Count of bytes equal to (v) in guest RAM at (g). */
static size_t count_byte(struct tr *t, gpa_t g, size_t len, uint8_t v)
{
	uint8_t *p = malloc(len);
	size_t n = 0;

	assert_int_equal(gm_read(&t->gm, g, p, len), 0);
	for (size_t i = 0; i < len; i++)
		n += p[i] == v;
	free(p);
	return n;
}

static gpa_t buf_filled(struct tr *t, size_t len, uint8_t v)
{
	gpa_t g = th_vq_alloc(&t->drv, len);
	uint8_t *p = malloc(len);

	memset(p, v, len);
	assert_int_equal(gm_write(&t->gm, g, p, len), 0);
	free(p);
	return g;
}

static void test_vrng_fills_writable_buffers(void **state)
{
	struct tr *t = *state;
	gpa_t a = buf_filled(t, 4096, 0), b = buf_filled(t, 100, 0);
	struct th_seg s[2] = { { a, 4096, true }, { b, 100, true } };

	assert_int_equal(run_chain(t, s, 2), 4196);
	/* random bytes: a 4 KiB run of zeros would be a 2^-32768 event */
	assert_true(count_byte(t, a, 4096, 0) < 64);
	assert_true(count_byte(t, b, 100, 0) < 20);
}

static void test_vrng_caps_one_buffer_at_64k(void **state)
{
	struct tr *t = *state;
	size_t len = VRNG_MAX_BYTES + 8192;
	gpa_t a = buf_filled(t, len, 0xa5);
	struct th_seg s[1] = { { a, (uint32_t)len, true } };

	assert_int_equal(run_chain(t, s, 1), VRNG_MAX_BYTES);
	assert_int_equal(count_byte(t, a + VRNG_MAX_BYTES, 8192, 0xa5), 8192);
	assert_true(count_byte(t, a, VRNG_MAX_BYTES, 0xa5) < 1024);
}

static void test_vrng_readonly_chain_gets_zero_length(void **state)
{
	struct tr *t = *state;
	gpa_t a = buf_filled(t, 64, 0x11);
	struct th_seg ro[1] = { { a, 64, false } };

	assert_int_equal(run_chain(t, ro, 1), 0);
	assert_int_equal(count_byte(t, a, 64, 0x11), 64); /* untouched */
	/* readable part skipped, writable part filled */
	gpa_t w = buf_filled(t, 32, 0);
	struct th_seg mix[2] = { { a, 64, false }, { w, 32, true } };
	assert_int_equal(run_chain(t, mix, 2), 32);
	assert_int_equal(count_byte(t, a, 64, 0x11), 64);
}

static void test_vrng_malformed_chain_breaks_queue(void **state)
{
	struct tr *t = *state;
	uint64_t one = 1;

	th_vq_write_desc(&t->drv, t->drv.desc, 0, buf_filled(t, 16, 0), 16,
			 VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 4000);
	th_vq_publish(&t->drv, 0);
	assert_int_equal(write(t->efd, &one, sizeof(one)), sizeof(one));
	for (int i = 0; i < 2000 && !__atomic_load_n(&t->vq.vq_broken, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	assert_true(__atomic_load_n(&t->vq.vq_broken, __ATOMIC_ACQUIRE));
	assert_int_equal(th_vq_used_idx(&t->drv), 0);
}

static void test_vrng_ops_describe_device_4(void **state)
{
	assert_int_equal(vrng_ops.device_id, 4);
	assert_int_equal(vrng_ops.nr_queues, 1);
	assert_int_equal(vrng_ops.config_size, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_vrng_fills_writable_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vrng_caps_one_buffer_at_64k, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vrng_readonly_chain_gets_zero_length, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vrng_malformed_chain_breaks_queue, setup,
						teardown),
		cmocka_unit_test(test_vrng_ops_describe_device_4),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
