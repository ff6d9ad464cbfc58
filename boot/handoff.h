/* SPDX-License-Identifier: MIT */
/* handoff.h: what the kernel is told besides its image, for both boot protocols. */
#ifndef AGENTVMM_BOOT_HANDOFF_H
#define AGENTVMM_BOOT_HANDOFF_H

#include <stdint.h>

#include "boot/e820.h"
#include "vmm/guest_mem.h"

/* Filled into the bzImage zero page or the PVH start_info. */
struct boot_handoff {
	gpa_t cmdline_gpa;
	gpa_t initrd_gpa;
	uint64_t initrd_len;      /* 0: no initrd / module */
	gpa_t rsdp_gpa;           /* 0: let the kernel scan for it (bzImage only) */
	const struct e820_entry *e820;
	unsigned nr_e820;
};

#endif
