// SPDX-License-Identifier: MIT
/*
 * test_log.c: the guest-log rate limit is per limiter (issue 14): one VM's
 * flood uses up its own limiter only, so another VM's threads in the same
 * process still log.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/log.h"

static void test_log_limit_burst_then_suppressed_then_counted(void **state)
{
	struct log_limit l;
	unsigned sup = 99;

	log_limit_init(&l);
	for (int i = 0; i < LOG_GUEST_BURST; i++) {
		assert_true(log_limit_take(&l, 7, &sup));
		assert_int_equal(sup, 0);
	}
	assert_false(log_limit_take(&l, 7, &sup));
	assert_false(log_limit_take(&l, 7, &sup));
	/* the next second lets one through and reports the two dropped */
	assert_true(log_limit_take(&l, 8, &sup));
	assert_int_equal(sup, 2);
	assert_true(log_limit_take(&l, 8, &sup));
	assert_int_equal(sup, 0);
}

static void test_log_limit_two_limiters_are_independent(void **state)
{
	struct log_limit a, b;
	unsigned sup;
	int passed = 0;

	log_limit_init(&a);
	log_limit_init(&b);
	for (int i = 0; i < 3 * LOG_GUEST_BURST; i++)
		passed += log_limit_take(&a, 7, &sup);
	assert_int_equal(passed, LOG_GUEST_BURST);
	/* (a) spent its second; (b) has its whole burst, and nothing suppressed */
	for (int i = 0; i < LOG_GUEST_BURST; i++) {
		assert_true(log_limit_take(&b, 7, &sup));
		assert_int_equal(sup, 0);
	}
	assert_false(log_limit_take(&b, 7, &sup));
}

/* ---- through log_guest_ratelimited(): stderr into a memfd -------------------- */

struct capture {
	int saved, fd;
	char text[16384];
};

static void capture_start(struct capture *c)
{
	c->fd = memfd_create("test-log", MFD_CLOEXEC);
	assert_true(c->fd >= 0);
	c->saved = dup(STDERR_FILENO);
	assert_true(c->saved >= 0);
	assert_true(dup2(c->fd, STDERR_FILENO) >= 0);
}

/* Return: how many times (needle) occurs in the captured text. */
static int capture_count_again(const struct capture *c, const char *needle)
{
	const char *p = c->text;
	int count = 0;

	while ((p = strstr(p, needle))) {
		count++;
		p += strlen(needle);
	}
	return count;
}

/* Stop capturing; Return: how many times (needle) occurs in what was written. */
static int capture_count(struct capture *c, const char *needle)
{
	ssize_t n;

	assert_true(dup2(c->saved, STDERR_FILENO) >= 0);
	close(c->saved);
	n = pread(c->fd, c->text, sizeof(c->text) - 1, 0);
	close(c->fd);
	assert_true(n >= 0);
	c->text[n] = '\0';
	return capture_count_again(c, needle);
}

static time_t mono_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* One "VM" thread: binds its limiter, then logs (n) lines naming (tag). */
struct vm_thread {
	struct log_limit *limit;
	const char *tag;
	int n;
};

static void *vm_thread_fn(void *arg)
{
	struct vm_thread *t = arg;

	log_limit_bind(t->limit);
	for (int i = 0; i < t->n; i++)
		log_guest_ratelimited("%s line %d", t->tag, i);
	return NULL;
}

static void run_thread(struct vm_thread *t)
{
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, vm_thread_fn, t), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
}

/*
 * Two VMs in one process: VM a's guest floods, then VM b's guest logs once in
 * the same second. Before issue 14 both shared one process-wide limiter and
 * b's line was swallowed.
 */
static void test_log_guest_flood_of_one_vm_does_not_silence_another(void **state)
{
	struct log_limit la, lb;
	struct vm_thread a = { &la, "vm-a", 5 * LOG_GUEST_BURST };
	struct vm_thread b = { &lb, "vm-b", 1 };
	enum log_level old = log_get_level();
	int seen_a, seen_b;
	time_t t0;

	log_set_level(LOG_INFO);
	/* a second boundary in the middle would reset a's window: try again then */
	for (int attempt = 0; attempt < 5; attempt++) {
		struct capture c;

		log_limit_init(&la);
		log_limit_init(&lb);
		t0 = mono_sec();
		capture_start(&c);
		run_thread(&a);
		run_thread(&b);
		seen_a = capture_count(&c, "vm-a line");
		seen_b = capture_count_again(&c, "vm-b line");
		if (mono_sec() != t0)
			continue;
		assert_int_equal(seen_a, LOG_GUEST_BURST);
		assert_int_equal(seen_b, 1);
		log_set_level(old);
		return;
	}
	log_set_level(old);
	fail_msg("the monotonic clock crossed a second in every attempt");
}

/* Threads that bound no limiter share the process-wide one. */
static void test_log_guest_unbound_threads_share_one_limiter(void **state)
{
	struct vm_thread a = { NULL, "unbound-a", 3 * LOG_GUEST_BURST };
	struct vm_thread b = { NULL, "unbound-b", 1 };
	enum log_level old = log_get_level();

	log_set_level(LOG_INFO);
	for (int attempt = 0; attempt < 5; attempt++) {
		struct capture c;
		time_t t0 = mono_sec();
		int seen_b;

		capture_start(&c);
		run_thread(&a);
		run_thread(&b);
		seen_b = capture_count(&c, "unbound-b line");
		if (mono_sec() != t0)
			continue;
		assert_int_equal(seen_b, 0);
		log_set_level(old);
		return;
	}
	log_set_level(old);
	fail_msg("the monotonic clock crossed a second in every attempt");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_limit_burst_then_suppressed_then_counted),
		cmocka_unit_test(test_log_limit_two_limiters_are_independent),
		cmocka_unit_test(test_log_guest_flood_of_one_vm_does_not_silence_another),
		cmocka_unit_test(test_log_guest_unbound_threads_share_one_limiter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
