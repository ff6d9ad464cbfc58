// SPDX-License-Identifier: MIT
/*
 * virtio_rng.c: virtio-rng (prefix vrng_): each writable buffer the guest
 * posts is filled from getrandom(GRND_NONBLOCK), at most VRNG_MAX_BYTES, and
 * pushed with the length written. Work is synchronous on the loop thread;
 * the device lock only keeps reset() (vCPU thread) out of a fill in progress.
 */
#include "devices/virtio/virtio_rng.h"

#include <errno.h>
#include <linux/virtio_ids.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "vmm/log.h"

struct vrng {
	pthread_mutex_t lock;
	bool active;
	struct virtq *vq;          /* NULL: not active or queue not enabled */
	struct vpci *t;
	struct vq_chain *chain;    /* scratch for virtq_pop */
};

/*
 * Fill the writable segments of (c) in order, stopping at the first short
 * getrandom() (so the bytes written are a prefix, as the used length says).
 */
static uint32_t chain_fill_random(const struct vq_chain *c)
{
	uint32_t done = 0;

	for (unsigned i = c->nr_ro; i < (unsigned)c->nr_ro + c->nr_wo; i++) {
		uint8_t *p = c->seg[i].iov_base;
		size_t want = MIN(c->seg[i].iov_len, (size_t)(VRNG_MAX_BYTES - done));

		while (want) {
			ssize_t n = getrandom(p, want, GRND_NONBLOCK);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return done; /* EAGAIN: pool not ready; give what we have */
			p += n;
			want -= (size_t)n;
			done += (uint32_t)n;
		}
		if (done == VRNG_MAX_BYTES)
			break;
	}
	return done;
}

/* Serve every posted buffer. Return: false when the ring is malformed. */
static bool vrng_drain_locked(struct vrng *r)
{
	bool pushed = false;
	int got;

	for (;;) {
		while ((got = virtq_pop(r->vq, r->chain)) == 1) {
			/* a buffer with nothing writable gets 0 bytes back */
			virtq_push(r->vq, r->chain->head, chain_fill_random(r->chain));
			pushed = true;
		}
		if (got < 0)
			break;
		if (!virtq_enable_notify(r->vq))
			break;
	}
	if (pushed)
		virtio_notify(r->t, 0); /* only signals an irqfd */
	return got >= 0;
}

/* queue_notify - the driver posted buffers. Context: loop thread. */
static void vrng_queue_notify(void *dev, uint16_t qidx)
{
	struct vrng *r = dev;
	bool ok = true;

	pthread_mutex_lock(&r->lock);
	if (r->active && qidx == 0 && r->vq)
		ok = vrng_drain_locked(r);
	pthread_mutex_unlock(&r->lock);
	/* the transport's lock is taken here: never with ours held */
	if (!ok)
		virtio_dev_fail(r->t, "malformed descriptor chain");
}

/* activate - Context: vCPU thread (DRIVER_OK). */
static int vrng_activate(void *dev, const struct virtio_activation *act)
{
	struct vrng *r = dev;

	pthread_mutex_lock(&r->lock);
	r->t = act->transport;
	r->vq = act->nr_vqs && act->vqs[0].vq_size ? &act->vqs[0] : NULL;
	r->active = true;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

/* reset - nothing is ever in flight beyond the lock. Context: vCPU thread. */
static int vrng_reset(void *dev)
{
	struct vrng *r = dev;

	pthread_mutex_lock(&r->lock);
	r->active = false;
	r->vq = NULL;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static uint64_t vrng_features(void *dev)
{
	return 0;
}

static int vrng_set_features(void *dev, uint64_t acked)
{
	return 0;
}

/* No config space (config_size 0): the transport never calls these. */
static void vrng_config_read(void *dev, uint32_t off, void *buf, uint32_t len)
{
	memset(buf, 0xff, len);
}

static int vrng_config_write(void *dev, uint32_t off, const void *buf, uint32_t len)
{
	return 0;
}

/* destroy - after the loop has stopped. */
static void vrng_destroy(void *dev)
{
	struct vrng *r = dev;

	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->chain);
	free(r);
}

void *vrng_create(char *err, size_t errlen)
{
	struct vrng *r = calloc(1, sizeof(*r));

	if (!r)
		goto err_nomem;
	pthread_mutex_init(&r->lock, NULL);
	r->chain = malloc(sizeof(*r->chain));
	if (!r->chain)
		goto err_destroy;
	return r;

err_destroy:
	vrng_destroy(r);
err_nomem:
	snprintf(err, errlen, "virtio-rng: out of memory");
	return NULL;
}

const struct virtio_dev_ops vrng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.nr_queues = 1,
	.max_queue_size = VRNG_QUEUE_SIZE,
	.config_size = 0,
	.features = vrng_features,
	.set_features = vrng_set_features,
	.config_read = vrng_config_read,
	.config_write = vrng_config_write,
	.activate = vrng_activate,
	.queue_notify = vrng_queue_notify,
	.reset = vrng_reset,
	.destroy = vrng_destroy,
};
