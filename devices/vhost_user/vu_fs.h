/* SPDX-License-Identifier: MIT */
/*
 * vu_fs.h: a virtio-fs device (virtio 1.2 §5.11) whose queues are served by
 * a vhost-user back end (virtiofsd) over a unix socket; agentvmm implements
 * only the vhost-user front end (DESIGN decision 9).
 */
#ifndef AGENTVMM_DEVICES_VHOST_USER_VU_FS_H
#define AGENTVMM_DEVICES_VHOST_USER_VU_FS_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/virtio_dev.h"
#include "vmm/evloop.h"
#include "vmm/guest_mem.h"

#define VUFS_TAG_MAX 36 /* virtio_fs_config.tag */

struct vufs_config {
	const char *socket_path;  /* the back end's listening socket */
	/* socket_connected: socket_fd is already connected to the back end and is
	 * taken over (closed on failure too); socket_path then only names it */
	bool socket_connected;
	int socket_fd;
	const char *tag;          /* mount tag the guest sees, at most VUFS_TAG_MAX bytes */
	uint16_t nr_request_queues; /* besides the hiprio queue; 0 means 1 */
	/*
	 * The VM's event loop, initialised and NOT yet started (vm->evl): the
	 * back end's socket is watched on it so its death is noticed, and it
	 * serves the queues with EIO answers after that. NULL: death is noticed
	 * only when a message fails, and the queues are then left unserved.
	 */
	struct evl *evl;
	int timeout_ms;             /* per vhost-user message; 0: VU_CONN_TIMEOUT_MS (5 s) */
};

/*
 * vufs_create() - connect to the back end and negotiate (GET_FEATURES,
 * GET_PROTOCOL_FEATURES, SET_OWNER...), so a missing or broken back end is
 * reported before the VM starts. (gm) is the RAM shared with the back end
 * (its memfd is sent with SET_MEM_TABLE at activation).
 * The back end must offer VIRTIO_F_VERSION_1, and (with the MQ protocol
 * feature) at least 1 + nr_request_queues vrings.
 * Return: the device, or NULL with a one-line message in (err).
 * Context: setup, before evl_start() of (cfg->evl).
 */
void *vufs_create(const struct vufs_config *cfg, const struct guest_mem *gm, char *err,
		  size_t errlen);

/* vufs_nr_queues() - hiprio + request queues, for vpci_create(). */
uint16_t vufs_nr_queues(void *dev);

/*
 * vufs_backend_alive() - false once the back end was found dead (socket
 * EOF/HUP, an unsolicited or malformed message, a failed or timed-out
 * request); the device then answers every request with -EIO itself.
 * Context: any thread.
 */
bool vufs_backend_alive(void *dev);

extern const struct virtio_dev_ops vufs_ops;

#endif
