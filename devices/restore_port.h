/* SPDX-License-Identifier: MIT */
/*
 * restore_port.h: the restore port (AV_RESTORE_PORT, boot/layout.h): in a VM
 * restored from a template, guest-init reads this VM's configuration text
 * from it (guest-init/restore.h; docs/snapshot.md). A 32-bit read gives the
 * text's length and rewinds; each 8-bit read gives the next byte (a `rep
 * insb` takes a page per VM exit), 0 past the end. Every other access reads
 * as all ones and writes are ignored. The text is set before the vCPUs run
 * and cleared (zeroed, freed) by restore_port_clear() or destroy.
 */
#ifndef AGENTVMM_DEVICES_RESTORE_PORT_H
#define AGENTVMM_DEVICES_RESTORE_PORT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/iobus.h"

struct restore_port {
	pthread_mutex_t lock; /* vCPU threads read; the VM thread sets and clears */
	char *text;           /* NULL: none (a 32-bit read gives 0) */
	uint32_t len, pos;
};

extern const struct iobus_ops restore_port_ops; /* AV_RESTORE_PORT, 4 bytes */

void restore_port_init(struct restore_port *p);
/* Copy (len) bytes of (text). Return: 0, -E2BIG over AV_RESTORE_MAX, -ENOMEM. */
int restore_port_set(struct restore_port *p, const char *text, size_t len);
/* Forget the text (its bytes zeroed first: it carries the RNG seed). */
void restore_port_clear(struct restore_port *p);
void restore_port_destroy(struct restore_port *p);

#endif
