/* SPDX-License-Identifier: MIT */
/* log.h: leveled logging to stderr, with a rate limit for guest-triggerable messages. */
#ifndef AGENTVMM_VMM_LOG_H
#define AGENTVMM_VMM_LOG_H

#include "vmm/compiler.h"

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DBG };

/*
 * log_set_level() - messages above (level) are dropped. Default LOG_WARN.
 * Context: any thread; call before threads start.
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
 * LOG_GUEST_BURST lines per second get through; the rest are counted and the
 * count is reported with the next line that passes.
 * Context: any thread.
 * Guest: the guest controls how often this is called.
 */
#define LOG_GUEST_BURST 10
void log_guest_ratelimited(const char *fmt, ...) __printf(1, 2);

#endif
