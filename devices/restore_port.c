// SPDX-License-Identifier: MIT
/* restore_port.c: the configuration text of a VM restored from a template. */
#include "devices/restore_port.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot/layout.h"
#include "vmm/log.h"

void restore_port_init(struct restore_port *p)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
}

int restore_port_set(struct restore_port *p, const char *text, size_t len)
{
	char *copy;

	if (len > AV_RESTORE_MAX)
		return -E2BIG;
	copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	restore_port_clear(p);
	pthread_mutex_lock(&p->lock);
	p->text = copy;
	p->len = (uint32_t)len;
	p->pos = 0;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

void restore_port_clear(struct restore_port *p)
{
	pthread_mutex_lock(&p->lock);
	if (p->text) {
		explicit_bzero(p->text, p->len);
		free(p->text);
	}
	p->text = NULL;
	p->len = p->pos = 0;
	pthread_mutex_unlock(&p->lock);
}

void restore_port_destroy(struct restore_port *p)
{
	restore_port_clear(p);
	pthread_mutex_destroy(&p->lock);
}

/* Guest: off and len are the guest's; nothing it does reaches past the text. */
static void restore_port_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct restore_port *p = opaque;
	uint32_t v;

	memset(data, 0xff, len);
	if (off != 0 || (len != 1 && len != 4))
		return;
	pthread_mutex_lock(&p->lock);
	if (len == 4) {
		v = p->text ? p->len : 0;
		p->pos = 0;
		memcpy(data, &v, sizeof(v));
	} else {
		*(uint8_t *)data = p->text && p->pos < p->len ? (uint8_t)p->text[p->pos++] : 0;
	}
	pthread_mutex_unlock(&p->lock);
}

static void restore_port_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	(void)opaque;
	(void)data;
	log_guest_ratelimited("restore port: ignored %u-byte write at +%llu", len,
			      (unsigned long long)off);
}

const struct iobus_ops restore_port_ops = {
	.read = restore_port_read,
	.write = restore_port_write,
};
