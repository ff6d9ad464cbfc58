/* SPDX-License-Identifier: MIT */
/*
 * ged.h: the ACPI Generic Event Device (ACPI 6.4 §5.6.9, _HID ACPI0013) of
 * our hardware-reduced platform, with one event: the power button.
 *
 * The host presses the button with ged_event(): the event's bit is latched
 * in a one-byte status register and the GED's interrupt line is pulsed (an
 * edge on its IOAPIC pin). The guest's GED driver (Linux drivers/acpi/evged.c)
 * then runs the DSDT's _EVT method, which reads the register (the read
 * returns the latched bits and clears them) and, for GED_EV_POWER_BUTTON,
 * does Notify(\_SB.PWRB, 0x80): the PNP0C0C power button is pressed.
 * Port and GSI: BOOT_PORT_GED and BOOT_GED_GSI in boot/layout.h.
 */
#ifndef AGENTVMM_DEVICES_GED_H
#define AGENTVMM_DEVICES_GED_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/iobus.h"
#include "vmm/irq.h"

#define GED_REG_LEN 1              /* one byte register at BOOT_PORT_GED */
#define GED_EV_POWER_BUTTON 0x01   /* the only event bit; _EVT tests it */
#define GED_EV_ALL GED_EV_POWER_BUTTON

struct ged {
	pthread_mutex_t lock;      /* guards pending and serialises the pulses */
	struct irq_line irq;
	uint8_t pending;           /* latched event bits, cleared by a guest read */
	uint64_t events;           /* ged_event() calls that raised the line */
	uint64_t reads;            /* valid register reads (the guest's _EVT runs) */
	uint64_t bad_accesses;     /* wrong width, offset or any write: ignored */
};

/* opaque: a struct ged *; registered over GED_REG_LEN bytes */
extern const struct iobus_ops ged_ops;

/* ged_init() - nothing pending; (irq) is the GED's edge-triggered line. Context: setup. */
void ged_init(struct ged *g, const struct irq_line *irq);
void ged_fini(struct ged *g);

/*
 * ged_event() - latch (bits) (GED_EV_*) and pulse the interrupt line.
 * Return: 0; -EINVAL for bits outside GED_EV_ALL or none.
 * Context: any thread (takes the GED lock; the line's set() must not block long).
 */
int ged_event(struct ged *g, uint8_t bits);

/*
 * Snapshot state: the latched event bits (GED_STATE_LEN bytes: version,
 * pending). ged_state_save() - Return: bytes written, 0 when (len) is too
 * small. ged_state_load() - validate and load; Return: 0 or -EINVAL.
 * Context: the vCPUs parked or stopped / setup.
 */
#define GED_STATE_LEN 2
size_t ged_state_save(struct ged *g, void *buf, size_t len);
int ged_state_load(struct ged *g, const void *buf, size_t len);

#endif
