// SPDX-License-Identifier: MIT
/*
 * virtio_rng.c: virtio-rng (prefix vrng_): each writable buffer the guest
 * posts is filled from getrandom(GRND_NONBLOCK), at most VRNG_MAX_BYTES, and
 * pushed with the length written. Work is synchronous on the loop thread;
 * the device lock only keeps reset() (vCPU thread) out of a fill in progress.
 *
 * Rate limit (virtio_rng.h): a token bucket refilled from CLOCK_MONOTONIC
 * whenever the device runs. When it is empty, the remaining buffers stay in
 * the avail ring (not popped, so nothing is in flight across a reset) and the
 * device waits for a tick. The event loop has no timers, and the I/O
 * thread's seccomp filter allows timerfd_settime() only with --vsock, so the
 * tick is a periodic timerfd armed once at creation (setup, main thread)
 * whose watch is installed, from the loop thread, the first time the guest
 * runs the bucket dry. A guest that never does costs no wake-up; one that did
 * costs VRNG_TICK_MS wake-ups (a read of the timerfd) from then on.
 */
#include "devices/virtio/virtio_rng.h"

#include <errno.h>
#include <linux/virtio_ids.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/log.h"

_Static_assert(VRNG_BURST >= VRNG_MAX_BYTES + VRNG_BUF_COST, "a full buffer fits the bucket");
_Static_assert(VRNG_RATE < (1ULL << 32), "bucket_refill_locked() multiplies by it");

struct vrng {
	pthread_mutex_t lock;
	bool active;
	struct virtq *vq;          /* NULL: not active or queue not enabled */
	struct vpci *t;
	struct evl *evl;           /* the loop the queue runs on (activation) */
	struct vq_chain *chain;    /* scratch for virtq_pop */
	/* token bucket, under (lock); kept across resets, so a reset refills nothing */
	uint64_t rate, burst;      /* bytes/s (0: no limit), bucket size */
	uint64_t tokens, last_ns;  /* tokens at (last_ns), CLOCK_MONOTONIC */
	bool throttled;            /* buffers wait in the ring for tokens */
	int tick_fd;               /* periodic timerfd, VRNG_TICK_MS */
	bool tick_watched;         /* its evl watch is installed (never removed) */
	uint64_t nr_throttled;     /* times the bucket ran dry */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Add the tokens earned since (last_ns), up to the bucket size. */
static void bucket_refill_locked(struct vrng *r)
{
	uint64_t now = now_ns(), dt = now - r->last_ns, add;

	if (dt >= 1000000000ULL) {
		r->tokens = r->burst;
		r->last_ns = now;
		return;
	}
	add = dt * r->rate / 1000000000ULL; /* dt < 1 s and rate < 2^32: no overflow */
	if (!add)
		return; /* keep last_ns: the fraction is earned on a later call */
	r->tokens = MIN(r->burst, r->tokens + add);
	r->last_ns = now;
}

/*
 * Fill the writable segments of (c) in order, at most (max) bytes, stopping
 * at the first short getrandom() (so the bytes written are a prefix, as the
 * used length says).
 */
static uint32_t chain_fill_random(const struct vq_chain *c, uint32_t max)
{
	uint32_t done = 0;

	for (unsigned i = c->nr_ro; i < (unsigned)c->nr_ro + c->nr_wo; i++) {
		uint8_t *p = c->seg[i].iov_base;
		size_t want = MIN(c->seg[i].iov_len, (size_t)(max - done));

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
		if (done == max)
			break;
	}
	return done;
}

/* May the next buffer be served now? Takes no buffer: it only looks at tokens. */
static bool bucket_allows_locked(const struct vrng *r)
{
	return !r->rate || r->tokens >= VRNG_BUF_COST + VRNG_MIN_GRANT;
}

/* Serve one popped buffer within the budget; a buffer with nothing writable gets 0 bytes. */
static void serve_chain_locked(struct vrng *r)
{
	uint32_t max = VRNG_MAX_BYTES, n;

	if (r->rate)
		max = (uint32_t)MIN((uint64_t)max, r->tokens - VRNG_BUF_COST);
	n = chain_fill_random(r->chain, max);
	if (r->rate)
		r->tokens -= VRNG_BUF_COST + n;
	virtq_push(r->vq, r->chain->head, n);
}

static void vrng_tick(void *opaque);

/* The bucket ran dry with buffers waiting: make sure the tick will come. */
static void throttle_locked(struct vrng *r)
{
	int e;

	r->throttled = true;
	r->nr_throttled++;
	if (r->tick_watched)
		return;
	e = r->evl ? evl_watch_fd(r->evl, r->tick_fd, vrng_tick, r) : -ENODEV;
	if (e) {
		/* nothing would wake us: serving without a limit beats a stalled guest */
		log_warn("virtio-rng: no refill timer (%s): rate limit off", strerror(-e));
		r->rate = 0;
		r->throttled = false;
		return;
	}
	r->tick_watched = true;
}

/*
 * Serve posted buffers while the bucket allows; leave the rest in the ring.
 * Return: false when the ring is malformed.
 */
static bool vrng_drain_locked(struct vrng *r)
{
	bool pushed = false;
	int got = 0;

	r->throttled = false;
	if (r->rate)
		bucket_refill_locked(r);
	for (;;) {
		while (bucket_allows_locked(r) && (got = virtq_pop(r->vq, r->chain)) == 1) {
			serve_chain_locked(r);
			pushed = true;
		}
		if (got < 0)
			break;
		if (!bucket_allows_locked(r)) {
			throttle_locked(r);
			if (r->throttled)
				break;
			continue; /* the limit was turned off: go on */
		}
		if (!virtq_enable_notify(r->vq))
			break;
	}
	if (pushed)
		virtio_notify(r->t, 0); /* only signals an irqfd */
	return got >= 0;
}

/*
 * Drop the lock, then fail the device when (broken): virtio_dev_fail() takes
 * the transport's lock, never with ours held. The transport pointer is read
 * before unlocking: activate() writes it on a vCPU thread.
 */
static void unlock_and_fail(struct vrng *r, bool broken)
{
	struct vpci *t = r->t;

	pthread_mutex_unlock(&r->lock);
	if (broken)
		virtio_dev_fail(t, "malformed descriptor chain");
}

/* queue_notify - the driver posted buffers. Context: loop thread. */
static void vrng_queue_notify(void *dev, uint16_t qidx)
{
	struct vrng *r = dev;
	bool broken = false;

	pthread_mutex_lock(&r->lock);
	if (r->active && qidx == 0 && r->vq)
		broken = !vrng_drain_locked(r);
	unlock_and_fail(r, broken);
}

/* The refill timer ticked (loop thread): serve what waits for tokens. */
static void vrng_tick(void *opaque)
{
	struct vrng *r = opaque;
	uint64_t n;
	bool broken = false;

	if (read(r->tick_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&r->lock);
	if (r->active && r->vq && r->throttled)
		broken = !vrng_drain_locked(r);
	unlock_and_fail(r, broken);
}

/* activate - Context: vCPU thread (DRIVER_OK). */
static int vrng_activate(void *dev, const struct virtio_activation *act)
{
	struct vrng *r = dev;

	pthread_mutex_lock(&r->lock);
	r->t = act->transport;
	r->evl = act->evl;
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
	r->throttled = false;
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
	if (r->tick_fd >= 0)
		close(r->tick_fd);
	pthread_mutex_destroy(&r->lock);
	free(r->chain);
	free(r);
}

void vrng_set_limit(void *dev, uint64_t rate, uint64_t burst)
{
	struct vrng *r = dev;

	pthread_mutex_lock(&r->lock);
	r->rate = MIN(rate, (uint64_t)UINT32_MAX); /* bucket_refill_locked()'s product */
	r->burst = r->tokens = MAX(burst, (uint64_t)(VRNG_BUF_COST + VRNG_MIN_GRANT));
	r->last_ns = now_ns();
	pthread_mutex_unlock(&r->lock);
}

/* The refill tick: periodic from now on, watched only once it is needed. */
static int tick_open(struct vrng *r)
{
	const struct itimerspec its = {
		.it_interval = { .tv_nsec = VRNG_TICK_MS * 1000000L },
		.it_value = { .tv_nsec = VRNG_TICK_MS * 1000000L },
	};

	r->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (r->tick_fd < 0 || timerfd_settime(r->tick_fd, 0, &its, NULL) < 0)
		return -errno;
	return 0;
}

void *vrng_create(char *err, size_t errlen)
{
	struct vrng *r = calloc(1, sizeof(*r));
	int e;

	if (!r)
		goto err_nomem;
	r->tick_fd = -1;
	pthread_mutex_init(&r->lock, NULL);
	r->chain = malloc(sizeof(*r->chain));
	if (!r->chain)
		goto err_destroy;
	e = tick_open(r);
	if (e)
		goto err_timer;
	vrng_set_limit(r, VRNG_RATE, VRNG_BURST);
	return r;

err_timer:
	snprintf(err, errlen, "virtio-rng: timerfd: %s", strerror(-e));
	vrng_destroy(r);
	return NULL;
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
