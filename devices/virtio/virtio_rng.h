/* SPDX-License-Identifier: MIT */
/*
 * virtio_rng.h: virtio entropy device (virtio 1.2 §5.4): one queue of
 * device-writable buffers, each filled from the host's getrandom().
 */
#ifndef AGENTVMM_DEVICES_VIRTIO_VIRTIO_RNG_H
#define AGENTVMM_DEVICES_VIRTIO_VIRTIO_RNG_H

#include <stddef.h>

#include "devices/virtio/virtio_dev.h"

#define VRNG_QUEUE_SIZE 256
#define VRNG_MAX_BYTES (64 * 1024) /* most bytes given for one buffer */

/*
 * vrng_create() - a virtio-rng device for vrng_ops.
 * Return: the device, or NULL with a message in (err) (out of memory).
 * Context: setup thread.
 */
void *vrng_create(char *err, size_t errlen);

/*
 * vrng_ops - threads: queue_notify on the loop thread (fills and pushes
 * synchronously, under the device lock, then calls virtio_notify() with it
 * held); activate/reset on a vCPU thread (reset waits only for that lock);
 * virtio_dev_fail() is called from the loop thread without the device lock.
 */
extern const struct virtio_dev_ops vrng_ops;

#endif
