// SPDX-License-Identifier: MIT
/* log.c: leveled logging to stderr, with a rate limit for guest-triggerable messages. */
#include "vmm/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level cur_level = LOG_WARN;

void log_set_level(enum log_level level)
{
	cur_level = level;
}

enum log_level log_get_level(void)
{
	return cur_level;
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

	if (level > cur_level)
		return;
	va_start(ap, fmt);
	log_vemit(prefix[level], fmt, ap);
	va_end(ap);
}

void log_guest_ratelimited(const char *fmt, ...)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static time_t window;
	static unsigned in_window, suppressed;
	struct timespec ts;
	char prefix[64] = "guest: ";
	va_list ap;

	/* guests probe absent hardware all the time: shown from -v on */
	if (cur_level < LOG_INFO)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	pthread_mutex_lock(&lock);
	if (ts.tv_sec != window) {
		window = ts.tv_sec;
		in_window = 0;
	}
	if (in_window >= LOG_GUEST_BURST) {
		suppressed++;
		pthread_mutex_unlock(&lock);
		return;
	}
	in_window++;
	if (suppressed)
		snprintf(prefix, sizeof(prefix), "guest (%u suppressed): ", suppressed);
	suppressed = 0;
	pthread_mutex_unlock(&lock);
	va_start(ap, fmt);
	log_vemit(prefix, fmt, ap);
	va_end(ap);
}
