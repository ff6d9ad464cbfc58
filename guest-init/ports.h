/* SPDX-License-Identifier: MIT */
/*
 * ports.h: the paravirtual I/O ports guest-init writes to report to agentvmm.
 *
 * These values MUST match boot/layout.h (AV_EXIT_PORT, AV_EXIT_MAGIC,
 * AV_BOOTMARK_PORT, AV_BOOTMARK_MAGIC). guest-init is a separate program and
 * may not include anything outside guest-init/, so they are duplicated here.
 *
 *   exit port:  32-bit write of (GI_EXIT_MAGIC | status), status 0..255; the
 *               VM ends at once with that status.
 *   boot timer: 32-bit write of (GI_BOOTMARK_MAGIC | phase); the host records
 *               its clock for that phase (enum gi_bootmark_phase).
 *   restore:    in a VM started from a template (docs/snapshot.md), a 32-bit
 *               read gives the length of the configuration text the host has
 *               for this VM (0: none), then that many 8-bit reads (one
 *               `rep insb`) give the text: agentvmm.* keys as on the kernel
 *               command line (cmdline.h). AV_RESTORE_PORT in boot/layout.h.
 */
#ifndef AGENTVMM_GUEST_INIT_PORTS_H
#define AGENTVMM_GUEST_INIT_PORTS_H

#define GI_EXIT_PORT 0xf4
#define GI_EXIT_MAGIC 0xa5e00000U
#define GI_BOOTMARK_PORT 0xf8
#define GI_BOOTMARK_MAGIC 0xb0070000U
#define GI_RESTORE_PORT 0xfc
#define GI_RESTORE_MAX (256 * 1024) /* bytes of configuration text, at most */

enum gi_bootmark_phase {
	GI_BOOTMARK_INIT_STARTED = 1,
	GI_BOOTMARK_WORKLOAD_STARTED = 2,
	GI_BOOTMARK_WORKLOAD_DONE = 3,
	GI_BOOTMARK_TEMPLATE_READY = 4, /* AV_BOOTMARK_TEMPLATE_READY: docs/snapshot.md */
};

#endif
