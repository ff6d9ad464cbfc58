/* SPDX-License-Identifier: MIT */
/* log.h: leveled logging to stderr, with a rate limit for guest-triggerable messages. */
#ifndef AGENTVMM_VMM_LOG_H
#define AGENTVMM_VMM_LOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/compiler.h"

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DBG };

/*
 * log_set_level() - messages above (level) are dropped. Default LOG_WARN.
 * Process-wide (avm_set_log_level()). Context: any thread, at any time.
 */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/*
 * log_msg() - print "agentvmm: <message>\n" to stderr as one write(2), so lines
 * from several threads never interleave.
 * Context: any thread.
 */
void log_msg(enum log_level level, const char *fmt, ...) __printf(2, 3);

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_dbg(...) log_msg(LOG_DBG, __VA_ARGS__)

/*
 * log_guest_ratelimited() - a message caused by guest behaviour, shown at
 * LOG_INFO and above (-v), since guests probe absent hardware routinely. At most
 * LOG_GUEST_BURST lines per second get through per limiter; the rest are
 * counted and the count is reported with the next line that passes. The
 * limiter is the calling thread's (log_limit_bind()): each VM's threads bind
 * the VM's own, so one guest's flood never silences another VM's log in the
 * same process. A thread that bound none shares one process-wide limiter.
 * Context: any thread.
 * Guest: the guest controls how often this is called.
 */
#define LOG_GUEST_BURST 10
void log_guest_ratelimited(const char *fmt, ...) __printf(1, 2);

/* One rate limit for log_guest_ratelimited(): a window of one second. */
struct log_limit {
	pthread_mutex_t ll_lock;
	int64_t ll_window;        /* CLOCK_MONOTONIC second the counts belong to */
	unsigned ll_in_window;    /* lines let through in it */
	unsigned ll_suppressed;   /* lines dropped since the last one let through */
};

/* log_limit_init() - an empty limiter (nothing to free later). Context: setup. */
void log_limit_init(struct log_limit *l);

/*
 * log_limit_bind() - make (l) the calling thread's limiter; NULL goes back to
 * the process-wide one. (l) must outlive the thread's last guest log line.
 * Context: the thread itself, first thing (vCPU and I/O threads of a VM).
 */
void log_limit_bind(struct log_limit *l);

/*
 * log_limit_take() - may one more line pass through (l) in second (now)?
 * On true, (*suppressed) is the number dropped since the last line that
 * passed (then reset to 0). Context: any thread; takes (l)'s lock.
 */
bool log_limit_take(struct log_limit *l, int64_t now, unsigned *suppressed) __must_check;

#endif
