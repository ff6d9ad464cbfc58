/* SPDX-License-Identifier: MIT */
/*
 * virtio_rng.h: virtio entropy device (virtio 1.2 §5.4): one queue of
 * device-writable buffers, each filled from the host's getrandom().
 */
#ifndef AGENTVMM_DEVICES_VIRTIO_VIRTIO_RNG_H
#define AGENTVMM_DEVICES_VIRTIO_VIRTIO_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/virtio_dev.h"

#define VRNG_QUEUE_SIZE 256
#define VRNG_MAX_BYTES (64 * 1024) /* most bytes given for one buffer */

/*
 * Rate limit (a token bucket, one token per byte): the guest gets at most
 * VRNG_RATE bytes per second after a burst of VRNG_BURST, and every buffer
 * costs VRNG_BUF_COST tokens on top of its bytes, so empty or read-only
 * buffers are bounded too (at most VRNG_RATE / VRNG_BUF_COST per second).
 * Buffers beyond the budget stay in the ring, untouched, and are served when
 * the bucket has refilled, at the next VRNG_TICK_MS tick of the device's
 * timer or the next kick: the I/O thread never waits for tokens.
 * Linux's hw_random reads a few dozen bytes at a time, and only while the
 * kernel wants entropy: far below the limit.
 */
#define VRNG_RATE (1024 * 1024)      /* bytes per second */
#define VRNG_BURST (256 * 1024)      /* bucket size, >= VRNG_MAX_BYTES + VRNG_BUF_COST */
#define VRNG_BUF_COST 64
#define VRNG_MIN_GRANT 64            /* fewer tokens left: wait, rather than give dribbles */
#define VRNG_TICK_MS 100

/*
 * vrng_create() - a virtio-rng device for vrng_ops, limited to VRNG_RATE.
 * Return: the device, or NULL with a message in (err) (out of memory, no
 * timerfd).
 * Context: setup thread.
 */
void *vrng_create(char *err, size_t errlen);

/*
 * vrng_set_limit() - replace the rate limit of (dev) with (rate) bytes per
 * second and a bucket of (burst) bytes (now full); rate 0 turns it off.
 * For tests and embedders. Context: setup, before activation.
 */
void vrng_set_limit(void *dev, uint64_t rate, uint64_t burst);

/*
 * vrng_ops - threads: queue_notify and the refill tick on the loop thread
 * (fill and push synchronously, under the device lock, then call
 * virtio_notify() with it held); activate/reset on a vCPU thread (reset waits only for that lock);
 * virtio_dev_fail() is called from the loop thread without the device lock.
 */
extern const struct virtio_dev_ops vrng_ops;

#endif
