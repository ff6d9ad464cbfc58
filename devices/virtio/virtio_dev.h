/* SPDX-License-Identifier: MIT */
/*
 * virtio_dev.h: the contract between the virtio-pci transport and a virtio
 * device model (STYLE.md §3). The transport owns status, feature
 * negotiation, queue configuration, MSI-X, ioeventfds and irqfds; the device
 * owns what its queues and config space mean.
 */
#ifndef AGENTVMM_DEVICES_VIRTIO_VIRTIO_DEV_H
#define AGENTVMM_DEVICES_VIRTIO_VIRTIO_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/virtq.h"
#include "vmm/evloop.h"
#include "vmm/guest_mem.h"

#define VIRTIO_MAX_QUEUES 64

struct vpci;

/* What a device gets when the driver sets DRIVER_OK. */
struct virtio_activation {
	const struct guest_mem *gm;
	struct virtq *vqs;          /* validated queues, indexed by qidx */
	uint16_t nr_vqs;
	uint64_t features;          /* acked */
	struct vpci *transport;     /* for virtio_notify() / virtio_dev_fail() */
	struct evl *evl;            /* the I/O loop the device's queues run on */
	/*
	 * For ops->vhost devices only: per queue, the eventfd KVM signals on a
	 * guest kick (ioeventfd) and the eventfd that injects the queue's MSI-X
	 * interrupt (irqfd; -1 when the driver gave the queue no vector). A
	 * vhost-user back end gets these directly, so queue traffic never passes
	 * through agentvmm.
	 */
	const int *kick_fds;
	const int *call_fds;
};

struct virtio_dev_ops {
	const char *name;
	uint16_t device_id;         /* virtio device id: 2 blk, 4 rng, 1 net, 26 fs */
	uint16_t nr_queues, max_queue_size;
	size_t config_size;
	/* vhost - the device serves its queues elsewhere (a vhost-user back end):
	 * the transport neither watches kicks nor adds ring features; features()
	 * returns the complete set, VERSION_1 included. */
	bool vhost;
	/* features - offered, besides VERSION_1 / EVENT_IDX / INDIRECT_DESC the
	 * transport adds. Context: vCPU thread. */
	uint64_t (*features)(void *dev);
	/* set_features - the driver's choice at FEATURES_OK; non-zero refuses.
	 * Context: vCPU thread. Guest: acked. */
	int (*set_features)(void *dev, uint64_t acked);
	/* config_read/config_write - (off, len) already range-checked against
	 * config_size. Context: vCPU thread. Guest: off, len, buf. */
	void (*config_read)(void *dev, uint32_t off, void *buf, uint32_t len);
	int (*config_write)(void *dev, uint32_t off, const void *buf, uint32_t len);
	/* activate - queues are valid; start serving them. Non-zero fails the
	 * device. Context: vCPU thread (the DRIVER_OK write). */
	int (*activate)(void *dev, const struct virtio_activation *act);
	/* queue_notify - the driver kicked (qidx). Context: event-loop thread. */
	void (*queue_notify)(void *dev, uint16_t qidx);
	/* reset - stop using the queues; in-flight requests must be completed or
	 * abandoned before this returns. Context: vCPU thread. */
	int (*reset)(void *dev);
	/* destroy - free everything; the event loop is already stopped. */
	void (*destroy)(void *dev);
};

/*
 * virtio_notify() - interrupt the driver for (qidx)'s used ring, through that
 * queue's MSI-X vector, when virtq_need_notify() says so.
 * Context: event-loop thread.
 */
void virtio_notify(struct vpci *t, uint16_t qidx);

/*
 * virtio_dev_fail() - the driver broke the protocol (malformed ring or
 * chain): set DEVICE_NEEDS_RESET, raise a config interrupt, stop the queues.
 * Context: any thread.
 */
void virtio_dev_fail(struct vpci *t, const char *why);

/* virtio_config_changed() - bump config_generation and raise the config interrupt. */
void virtio_config_changed(struct vpci *t);

#endif
