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
#include <time.h>
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
	int probe_efd;          /* another fd on the same loop */
	uint64_t probe_at;      /* when its callback last ran, CLOCK_MONOTONIC us */
};

static void kick_cb(void *opaque)
{
	struct tr *t = opaque;
	uint64_t n;

	if (read(t->efd, &n, sizeof(n)) == sizeof(n))
		vrng_ops.queue_notify(t->dev, 0);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void probe_cb(void *opaque)
{
	struct tr *t = opaque;
	uint64_t n;

	if (read(t->probe_efd, &n, sizeof(n)) == sizeof(n))
		__atomic_store_n(&t->probe_at, (uint64_t)(now_s() * 1e6), __ATOMIC_RELEASE);
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
	t->probe_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_int_equal(evl_watch_fd(&t->evl, t->probe_efd, probe_cb, t), 0);
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
	close(t->probe_efd);
	gm_destroy(&t->gm);
	free(t);
	return 0;
}

static uint32_t run_chain(struct tr *t, const struct th_seg *s, unsigned n)
{
	uint16_t head = th_vq_add_chain(&t->drv, s, n);
	uint64_t one = 1;

	th_vq_publish(&t->drv, head);
	assert_int_equal(write(t->efd, &one, sizeof(one)), sizeof(one));
	return th_vq_wait_used(&t->drv, head);
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

/* Add the used entries that arrived since the last call to (*bytes, *n). */
static void used_count(struct tr *t, uint64_t *bytes, unsigned *n)
{
	uint32_t id, len;

	while (th_vq_get_used(&t->drv, &id, &len)) {
		*bytes += len;
		(*n)++;
	}
}

/*
 * A guest that posts more than the budget: the bucket at once, then the rest
 * at the rate, served by the device's own tick (one kick only), while the
 * loop stays free for other work. 16 buffers of 32 KiB at 256 KiB/s with a
 * 64 KiB bucket: two at once, then about one per 100 ms tick (a grant may be
 * partial: the used length says how much).
 */
static void test_vrng_rate_limit_defers_without_blocking_the_loop(void **state)
{
	struct tr *t = *state;
	const uint64_t rate = KiB(256), burst = KiB(64);
	uint64_t one = 1, got = 0;
	unsigned n = 0;

	vrng_set_limit(t->dev, rate, burst);
	for (int i = 0; i < 16; i++) {
		struct th_seg s = { th_vq_alloc(&t->drv, KiB(32)), KiB(32), true };

		th_vq_publish(&t->drv, th_vq_add_chain(&t->drv, &s, 1));
	}
	double t0 = now_s();
	assert_int_equal(write(t->efd, &one, sizeof(one)), sizeof(one));
	usleep(50000);
	used_count(t, &got, &n);
	/* the bucket, and not much more than what 50 ms and a tick can add */
	assert_true(got >= KiB(32));
	assert_true(got <= burst + rate * 15 / 100);
	assert_true(n < 16);

	/* the loop still answers other fds while the rng waits for tokens */
	uint64_t p0 = (uint64_t)(now_s() * 1e6);
	assert_int_equal(write(t->probe_efd, &one, sizeof(one)), sizeof(one));
	for (int i = 0; i < 1000 && __atomic_load_n(&t->probe_at, __ATOMIC_ACQUIRE) == 0; i++)
		usleep(1000);
	assert_true(__atomic_load_n(&t->probe_at, __ATOMIC_ACQUIRE) - p0 < 100000);

	/* no more kicks: the tick serves the rest, never faster than the rate */
	while (n < 16 && now_s() - t0 < 10) {
		usleep(5000);
		used_count(t, &got, &n);
		assert_true(got <= burst + (uint64_t)((now_s() - t0 + 0.15) * (double)rate));
	}
	double secs = now_s() - t0;
	print_message("16 x 32 KiB at 256 KiB/s (64 KiB bucket): %.2f s, %llu bytes\n", secs,
		      (unsigned long long)got);
	assert_int_equal(n, 16);
	assert_true(secs >= 1.0 && secs < 6.0);
}

static void test_vrng_default_limit_is_documented(void **state)
{
	assert_int_equal(VRNG_RATE, 1024 * 1024);
	assert_true(VRNG_BURST >= VRNG_MAX_BYTES + VRNG_BUF_COST);
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
		cmocka_unit_test_setup_teardown(
			test_vrng_rate_limit_defers_without_blocking_the_loop, setup, teardown),
		cmocka_unit_test(test_vrng_default_limit_is_documented),
		cmocka_unit_test(test_vrng_ops_describe_device_4),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
