// SPDX-License-Identifier: MIT
/* log.c: leveled logging to stderr, with a rate limit for guest-triggerable messages. */
#include "vmm/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* relaxed atomic: an embedder may change it while VMs run (avm_set_log_level()) */
static enum log_level cur_level = LOG_WARN;

/* unbound threads' limiter; a VM's threads bind the VM's own (log_limit_bind()) */
static struct log_limit process_limit = { .ll_lock = PTHREAD_MUTEX_INITIALIZER };
static __thread struct log_limit *thread_limit;

void log_set_level(enum log_level level)
{
	__atomic_store_n(&cur_level, level, __ATOMIC_RELAXED);
}

enum log_level log_get_level(void)
{
	return __atomic_load_n(&cur_level, __ATOMIC_RELAXED);
}

__printf(2, 0) static void log_vemit(const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "agentvmm: %s", prefix);

	if (n < 0)
		return;
	int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return;
	size_t len = strnlen(buf, sizeof(buf) - 2);
	buf[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, buf, len);
	(void)w;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = { "", "warning: ", "", "debug: " };
	va_list ap;

	if (level > log_get_level())
		return;
	va_start(ap, fmt);
	log_vemit(prefix[level], fmt, ap);
	va_end(ap);
}

void log_limit_init(struct log_limit *l)
{
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->ll_lock, NULL);
}

void log_limit_bind(struct log_limit *l)
{
	thread_limit = l;
}

bool log_limit_take(struct log_limit *l, int64_t now, unsigned *suppressed)
{
	bool pass;

	pthread_mutex_lock(&l->ll_lock);
	if (now != l->ll_window) {
		l->ll_window = now;
		l->ll_in_window = 0;
	}
	pass = l->ll_in_window < LOG_GUEST_BURST;
	if (pass) {
		l->ll_in_window++;
		*suppressed = l->ll_suppressed;
		l->ll_suppressed = 0;
	} else {
		l->ll_suppressed++;
	}
	pthread_mutex_unlock(&l->ll_lock);
	return pass;
}

void log_guest_ratelimited(const char *fmt, ...)
{
	struct log_limit *l = thread_limit ? thread_limit : &process_limit;
	char prefix[64] = "guest: ";
	struct timespec ts;
	unsigned suppressed;
	va_list ap;

	/* guests probe absent hardware all the time: shown from -v on */
	if (log_get_level() < LOG_INFO)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (!log_limit_take(l, ts.tv_sec, &suppressed))
		return;
	if (suppressed)
		snprintf(prefix, sizeof(prefix), "guest (%u suppressed): ", suppressed);
	va_start(ap, fmt);
	log_vemit(prefix, fmt, ap);
	va_end(ap);
}
