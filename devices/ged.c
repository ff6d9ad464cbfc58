// SPDX-License-Identifier: MIT
/* ged.c: ACPI Generic Event Device: a latched event register and an edge interrupt. */
#include "devices/ged.h"

#include <errno.h>
#include <string.h>

#include "vmm/log.h"

void ged_init(struct ged *g, const struct irq_line *irq)
{
	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->lock, NULL);
	if (irq)
		g->irq = *irq;
}

void ged_fini(struct ged *g)
{
	pthread_mutex_destroy(&g->lock);
}

int ged_event(struct ged *g, uint8_t bits)
{
	if (!bits || (bits & ~GED_EV_ALL))
		return -EINVAL;
	pthread_mutex_lock(&g->lock);
	g->pending |= bits;
	g->events++;
	/*
	 * An edge: the line goes back low at once, so the next event makes a new
	 * edge even if the guest never read the register (or had the pin masked).
	 */
	irq_line_set(&g->irq, true);
	irq_line_set(&g->irq, false);
	pthread_mutex_unlock(&g->lock);
	return 0;
}

/* _EVT reads the byte: it gets the latched events and clears them (read-to-clear). */
static void ged_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct ged *g = opaque;

	pthread_mutex_lock(&g->lock);
	if (off != 0 || len != GED_REG_LEN) {
		g->bad_accesses++;
		pthread_mutex_unlock(&g->lock);
		memset(data, 0xff, len);
		log_guest_ratelimited("ged: ignored %u-byte read at +%llu", len,
				      (unsigned long long)off);
		return;
	}
	*(uint8_t *)data = g->pending;
	g->pending = 0;
	g->reads++;
	pthread_mutex_unlock(&g->lock);
}

static void ged_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct ged *g = opaque;

	/* read-only register: a write never sets or clears an event */
	pthread_mutex_lock(&g->lock);
	g->bad_accesses++;
	pthread_mutex_unlock(&g->lock);
	log_guest_ratelimited("ged: ignored %u-byte write at +%llu", len, (unsigned long long)off);
}

const struct iobus_ops ged_ops = {
	.read = ged_read,
	.write = ged_write,
};

size_t ged_state_save(struct ged *g, void *buf, size_t len)
{
	uint8_t *b = buf;

	if (len < GED_STATE_LEN)
		return 0;
	pthread_mutex_lock(&g->lock);
	b[0] = 1;
	b[1] = g->pending;
	pthread_mutex_unlock(&g->lock);
	return GED_STATE_LEN;
}

int ged_state_load(struct ged *g, const void *buf, size_t len)
{
	const uint8_t *b = buf;

	if (len != GED_STATE_LEN || b[0] != 1 || (b[1] & ~GED_EV_ALL))
		return -EINVAL;
	pthread_mutex_lock(&g->lock);
	g->pending = b[1];
	pthread_mutex_unlock(&g->lock);
	return 0;
}
