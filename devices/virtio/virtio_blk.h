/* SPDX-License-Identifier: MIT */
/*
 * virtio_blk.h: virtio-blk (virtio 1.2 §5.2) over a raw image file or block
 * device, served asynchronously through the event loop's io_uring.
 *
 * A request is one descriptor chain, parsed through an iov cursor (never by
 * descriptor boundaries):
 *
 *   readable:  struct virtio_blk_outhdr { le32 type; le32 ioprio; le64 sector; }
 *              then, for OUT / DISCARD / WRITE_ZEROES, the payload
 *   writable:  for IN / GET_ID, the payload; then one status byte, which is
 *              the last writable byte of the chain
 *
 * Sectors are always 512 bytes, whatever blk_size says. Completion pushes
 * the chain with used length (bytes of payload written + 1 for the status)
 * on success and 1 on error; a chain with no writable byte is pushed back
 * with 0 and never touched. A head made available again while its chain is
 * in flight breaks the queue (DEVICE_NEEDS_RESET).
 *
 * Durability: without VIRTIO_BLK_F_FLUSH the device is write-through (writes
 * are RWF_DSYNC, DISCARD and WRITE_ZEROES are followed by an fsync before
 * they complete); with it, FLUSH is an fsync. A failed sync is latched for
 * the disk's life: every later FLUSH, write, DISCARD and WRITE_ZEROES fails
 * with IOERR (docs/faults.md).
 */
#ifndef AGENTVMM_DEVICES_VIRTIO_VIRTIO_BLK_H
#define AGENTVMM_DEVICES_VIRTIO_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/virtio_dev.h"

#define VBLK_QUEUE_SIZE 256                  /* max_queue_size offered */
#define VBLK_MAX_QUEUES 16
#define VBLK_SEG_MAX (VBLK_QUEUE_SIZE - 2)   /* seg_max <= queue size - 2 (STYLE §5) */
#define VBLK_MAX_DISCARD_SECTORS (1u << 22)  /* 2 GiB per DISCARD / WRITE_ZEROES segment */
#define VBLK_SECTOR_SIZE 512

struct vblk_config {
	const char *path;       /* image file or block device */
	bool readonly;          /* open O_RDONLY, shared lock, offer VIRTIO_BLK_F_RO */
	bool direct;            /* O_DIRECT (falls back to buffered with a warning) */
	uint16_t nr_queues;     /* 0 means 1; capped at VBLK_MAX_QUEUES */
	const char *serial;     /* GET_ID answer (first 20 bytes); NULL: derived from dev/ino */
};

/*
 * vblk_create() - open (cfg->path), lock it (flock exclusive, or shared when
 * read-only, so two VMs never write one image) and build the device.
 * Return: the device for vblk_ops, or NULL with one line naming the file in
 * (err): missing, not a regular file or block device, cannot open (read-write),
 * empty, size not a multiple of 512, already in use, out of memory.
 * Context: setup thread.
 */
void *vblk_create(const struct vblk_config *cfg, char *err, size_t errlen);

/*
 * vblk_nr_queues() - how many request queues this instance has (the transport
 * uses this rather than vblk_ops.nr_queues, which is only the default of 1).
 * Context: any thread.
 */
uint16_t vblk_nr_queues(void *dev);

/*
 * vblk_nr_syncs() - fsyncs this device has issued so far (FLUSH, and the
 * syncs that make DISCARD / WRITE_ZEROES write-through); for tests.
 * Context: any thread.
 */
uint64_t vblk_nr_syncs(void *dev);

/*
 * vblk_ops - the virtio device. Threads, for the transport:
 *  - features/set_features/config_*, activate, reset: vCPU thread, called with
 *    whatever transport lock; reset() blocks until every io_uring operation
 *    of this device has completed, so those completions (run on the loop
 *    thread) must never wait for a lock the transport holds across reset();
 *  - queue_notify: the event-loop thread;
 *  - destroy: after evl_fini() of the loop (so no completion is pending).
 * virtio_notify() is called from the loop thread with the device lock held,
 * once per queue and completion batch (evl_defer); virtio_dev_fail() from the
 * loop thread with no device lock held.
 */
extern const struct virtio_dev_ops vblk_ops;

#endif
