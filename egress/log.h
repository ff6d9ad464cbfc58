/* SPDX-License-Identifier: MIT */
/*
 * log.h: the agentvmm-egress proxy's stderr lines and its log-mode list
 * (prefix egress_log_). Every line is "agentvmm: egress: ...", written with
 * one write(2) so threads never interleave. Refusals are rate-limited: one
 * HOST:PORT at most once per EGRESS_LOG_KEY_MS, and at most
 * EGRESS_LOG_BURST lines per EGRESS_LOG_WINDOW_MS in all; what the second
 * limit drops is counted and reported as one line "N more refusals not
 * logged" when its window ends. Process-wide state: the proxy is a program
 * of its own, one per VM.
 */
#ifndef AGENTVMM_EGRESS_LOG_H
#define AGENTVMM_EGRESS_LOG_H

#include <stdbool.h>

#define EGRESS_LOG_KEY_MS 60000   /* one HOST:PORT refused: logged once per minute */
#define EGRESS_LOG_BURST 20       /* refusal lines per window */
#define EGRESS_LOG_WINDOW_MS 10000
#define EGRESS_LOG_KEYS 256       /* HOST:PORTs remembered (> the lines a minute may carry) */
#define EGRESS_LIST_MAX 4096      /* distinct HOST:PORTs log mode lists */
#define EGRESS_KEY_MAX 272        /* "HOST:PORT" with brackets and NUL */

/* egress_log_init() - log mode lists what is reached, to stderr and, if >= 0, (list_fd). */
void egress_log_init(bool log_mode, int list_fd);

/* egress_log_line() - one line to stderr, unlimited (start-up and internal errors). */
void egress_log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * egress_log_refused() - "refused KEY: reason", under both rate limits.
 * Context: any thread. Guest: how often, and (key).
 */
void egress_log_refused(const char *key, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* egress_log_tick() - end a past window (its "N more" line). Context: the control loop, ~1/s. */
void egress_log_tick(void);

/*
 * egress_log_reached() - log mode: the first time (key) is reached, say so
 * and add it to the list; later times nothing. Context: any thread.
 */
void egress_log_reached(const char *key);

#endif
