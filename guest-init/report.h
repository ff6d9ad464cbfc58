/* SPDX-License-Identifier: MIT */
/* report.h: guest-init's messages and its reports to agentvmm (boot-timer and exit ports). */
#ifndef AGENTVMM_GUEST_INIT_REPORT_H
#define AGENTVMM_GUEST_INIT_REPORT_H

#include <stdbool.h>

#include "guest-init/compiler.h"
#include "guest-init/ports.h"

/*
 * Exit statuses guest-init itself reports (the workload's own are 0..255);
 * docs/guest-init.md "Exit status" lists them all.
 */
#define GI_STATUS_USAGE 2		/* malformed agentvmm.* command line */
#define GI_STATUS_SETUP_FAILED 123	/* a disk, share or NIC the host asked for: not set up */
#define GI_STATUS_INIT_FAILED 125	/* guest-init could not start the workload */
#define GI_STATUS_EXEC_FAILED 126	/* found but could not be executed */
#define GI_STATUS_NOT_FOUND 127		/* command not found */

/*
 * gi_report_init() - get access to the two agentvmm ports with ioperm().
 * Without it (not x86, or not root) the port writes are skipped.
 * Context: PID 1, once, first thing.
 */
void gi_report_init(void);

/* gi_report_drop() - give up port access (a forked child does this before exec). */
void gi_report_drop(void);

/* gi_bootmark() - record boot phase (phase) with the host's boot timer. */
void gi_bootmark(enum gi_bootmark_phase phase);

/*
 * gi_report_exit() - report (status) through the exit port: the VM ends
 * there. If it returns (no agentvmm on the other side), power off instead;
 * never returns.
 * Context: PID 1, after everything was synced and unmounted.
 */
__attribute__((noreturn)) void gi_report_exit(int status);

/* gi_set_verbose() - whether gi_info() prints. */
void gi_set_verbose(bool on);

/* gi_verbose() - the current setting. */
bool gi_verbose(void);

/* gi_err() - one "agentvmm-init: ..." line on the console (stderr), always. */
void gi_err(const char *fmt, ...) __printf(1, 2);

/* gi_info() - the same, only in verbose mode (agentvmm.verbose=1). */
void gi_info(const char *fmt, ...) __printf(1, 2);

#endif
