// SPDX-License-Identifier: MIT
/*
 * log.c: the proxy's stderr lines, the refusal rate limits and the log-mode
 * list of destinations reached (prefix egress_log_; contract in log.h).
 * One mutex guards all of it; lines are rare next to connections.
 */
#include "egress/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PREFIX "agentvmm: egress: "
#define LIST_SLOTS (2 * EGRESS_LIST_MAX) /* open addressing, at most half full */

struct recent {
	char key[EGRESS_KEY_MAX];
	int64_t at; /* ms when last logged; 0: free */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct recent recent[EGRESS_LOG_KEYS];
static int64_t win_start;      /* ms the current window began */
static unsigned win_lines;     /* refusal lines logged in it */
static unsigned win_dropped;   /* refusals the window limit dropped */
static bool listing;           /* log mode */
static int list_out = -1;      /* --list-fd */
static char **list;            /* LIST_SLOTS keys reached, NULL: free */
static unsigned list_nr;
static bool list_full_said;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* +1: 0 means "never" in struct recent */
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 1;
}

/* Write all of (len) bytes at (s) to (fd); a short or failed write is dropped. */
static void write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(fd, s, len);

		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

static void __attribute__((format(printf, 1, 0))) vline(const char *fmt, va_list ap)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), PREFIX);

	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	write_all(2, buf, (size_t)n);
}

void egress_log_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(fmt, ap);
	va_end(ap);
}

void egress_log_init(bool log_mode, int list_fd)
{
	listing = log_mode;
	list_out = list_fd;
	if (log_mode && !list)
		list = calloc(LIST_SLOTS, sizeof(*list));
}

/* A window that is over: its "N more" line, and a fresh one. Lock held. */
static void window_roll_locked(int64_t now)
{
	if (now - win_start < EGRESS_LOG_WINDOW_MS)
		return;
	if (win_dropped)
		egress_log_line("%u more refusal%s not logged", win_dropped,
				win_dropped == 1 ? "" : "s");
	win_start = now;
	win_lines = 0;
	win_dropped = 0;
}

/* Whether (key) was logged within a minute; if not, the slot to record it in (*slot). */
static bool recent_locked(const char *key, int64_t now, struct recent **slot)
{
	*slot = &recent[0];
	for (size_t i = 0; i < EGRESS_LOG_KEYS; i++) {
		struct recent *r = &recent[i];

		if (r->at && now - r->at < EGRESS_LOG_KEY_MS && !strcmp(r->key, key))
			return true;
		if (r->at < (*slot)->at)
			*slot = r; /* the free or oldest one */
	}
	return false;
}

void egress_log_refused(const char *key, const char *fmt, ...)
{
	int64_t now = now_ms();
	struct recent *slot;
	char why[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&lock);
	window_roll_locked(now);
	if (recent_locked(key, now, &slot)) {
		pthread_mutex_unlock(&lock);
		return;
	}
	if (win_lines >= EGRESS_LOG_BURST) {
		win_dropped++;
		pthread_mutex_unlock(&lock);
		return;
	}
	win_lines++;
	snprintf(slot->key, sizeof(slot->key), "%s", key);
	slot->at = now;
	egress_log_line("refused %s: %s", key, why);
	pthread_mutex_unlock(&lock);
}

void egress_log_tick(void)
{
	pthread_mutex_lock(&lock);
	window_roll_locked(now_ms());
	pthread_mutex_unlock(&lock);
}

/* FNV-1a */
static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

/* Add (key) to the list; whether it is new. Lock held. */
static bool list_add_locked(const char *key)
{
	uint32_t i = hash(key) % LIST_SLOTS;

	while (list[i]) {
		if (!strcmp(list[i], key))
			return false;
		i = (i + 1) % LIST_SLOTS;
	}
	if (list_nr >= EGRESS_LIST_MAX) {
		if (!list_full_said)
			egress_log_line("more than %d destinations reached: not listing more",
					EGRESS_LIST_MAX);
		list_full_said = true;
		return false;
	}
	list[i] = strdup(key);
	if (!list[i])
		return false;
	list_nr++;
	return true;
}

void egress_log_reached(const char *key)
{
	char line[EGRESS_KEY_MAX + 1];

	if (!listing || !list)
		return;
	pthread_mutex_lock(&lock);
	if (list_add_locked(key)) {
		egress_log_line("reached %s", key);
		if (list_out >= 0) {
			int n = snprintf(line, sizeof(line), "%s\n", key);

			write_all(list_out, line, (size_t)n);
		}
	}
	pthread_mutex_unlock(&lock);
}
