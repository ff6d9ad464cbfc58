/* SPDX-License-Identifier: MIT */
/*
 * vu_conn.h: one vhost-user front-end connection (prefix vu_conn_): connect,
 * negotiate, hand guest RAM and vrings to the back end, stop vrings.
 *
 * The handshake, in the order agentvmm sends it (the order QEMU uses, which
 * Debian's virtiofsd expects). "ack" means the message carries NEED_REPLY
 * and the back end's u64 reply must be 0; that is done for every message
 * without a reply of its own once REPLY_ACK is negotiated. Without REPLY_ACK
 * such messages are fire-and-forget and a failure shows up on the next reply.
 *
 *  vu_conn_open()        connect(path)
 *                        GET_FEATURES                -> u64 device + vhost-user features
 *    if bit 30 set:      GET_PROTOCOL_FEATURES       -> u64
 *                        SET_PROTOCOL_FEATURES       u64 = theirs & (REPLY_ACK | MQ)
 *      if MQ:            GET_QUEUE_NUM               -> u64 most vrings the back end serves
 *                        SET_OWNER                   (ack)
 *  vu_conn_set_features  SET_FEATURES                u64 = driver's acked | bit 30 if offered (ack)
 *  vu_conn_set_mem_table SET_MEM_TABLE               one region per guest_mem region, the memfd
 *                                                    once per region as SCM_RIGHTS; guest_addr =
 *                                                    gpa, user_addr = our hva, mmap_offset =
 *                                                    fd_offset (ack)
 *  vu_conn_start_vring   SET_VRING_NUM               { idx, size } (ack)
 *    (per enabled queue) SET_VRING_BASE              { idx, 0 }: a fresh ring (ack)
 *                        SET_VRING_ADDR              { idx, desc, used, avail } as OUR host
 *                                                    addresses; the back end translates them
 *                                                    through user_addr of the mem table (ack)
 *                        SET_VRING_KICK              u64 idx + fd (the KVM ioeventfd) (ack)
 *                        SET_VRING_CALL              u64 idx + fd (the MSI-X irqfd), or idx |
 *                                                    NOFD when the queue has no vector (ack)
 *    if bit 30:          SET_VRING_ENABLE            { idx, 1 } (ack)
 *  vu_conn_stop_vring    SET_VRING_ENABLE { idx, 0 } if bit 30 (ack)
 *    (device reset)      GET_VRING_BASE { idx }      -> { idx, last avail index }: the back end
 *                                                    stops the ring and drops kick/call fds
 *
 * Every reply is checked by vu_msg_check_reply() (flags, request code, exact
 * size) and carries no fds; any failure, or no reply within the timeout,
 * makes the call fail, and the caller treats the back end as dead: the
 * stream may be out of sync, so the connection is never used again.
 *
 * Reconnection is not attempted: Debian's virtiofsd serves one connection and
 * exits when it ends, so a lost connection means a lost back end (see
 * vu_fs.c for what the device does then).
 */
#ifndef AGENTVMM_DEVICES_VHOST_USER_VU_CONN_H
#define AGENTVMM_DEVICES_VHOST_USER_VU_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/virtq.h"
#include "vmm/compiler.h"
#include "vmm/guest_mem.h"

#define VU_CONN_TIMEOUT_MS 5000 /* longest wait for one reply or for socket space */

struct vu_conn {
	int vc_sock;            /* -1 when closed */
	int vc_timeout_ms;      /* per message; VU_CONN_TIMEOUT_MS unless a test lowers it */
	uint64_t vc_features;   /* back end's GET_FEATURES, vhost-user bits included */
	uint64_t vc_proto;      /* negotiated protocol features (0 without bit 30) */
	uint16_t vc_max_vrings; /* GET_QUEUE_NUM when MQ was negotiated, else 0 (unknown) */
};

/* vu_conn_init_empty() - (c) closed, so vu_conn_close() is a no-op. */
void vu_conn_init_empty(struct vu_conn *c);

/*
 * vu_conn_open() - connect to the back end listening on (path) and run the
 * handshake up to SET_OWNER (see above). (timeout_ms) bounds each reply and
 * each send (0: VU_CONN_TIMEOUT_MS).
 * Return: 0, or -errno with a one-line reason in (err): -ENAMETOOLONG,
 * -ECONNREFUSED/-ENOENT (nobody listens), -ETIMEDOUT, -EPROTO/-EBADMSG/
 * -EMSGSIZE (malformed reply), -ECONNRESET (back end hung up), -EIO (a
 * REPLY_ACK reported failure). (c) is closed on error.
 * Context: setup.
 */
int vu_conn_open(struct vu_conn *c, const char *path, int timeout_ms, char *err,
		 size_t errlen) __must_check;

/*
 * vu_conn_open_fd() - as vu_conn_open(), on (fd), a socket already connected
 * to the back end, which (c) takes over (closed on error too). (name) names
 * the back end in (err).
 * Context: setup.
 */
int vu_conn_open_fd(struct vu_conn *c, int fd, const char *name, int timeout_ms, char *err,
		    size_t errlen) __must_check;

/* vu_conn_close() - close the socket; idempotent. */
void vu_conn_close(struct vu_conn *c);

/*
 * vu_conn_set_features() - SET_FEATURES with (features) (the driver's acked
 * virtio features; bit 30 is added when the back end offered it).
 * Return: 0 or -errno as for vu_conn_open() (no message).
 * Context: the connection's owner, holding the device lock.
 */
int vu_conn_set_features(struct vu_conn *c, uint64_t features) __must_check;

/*
 * vu_conn_set_mem_table() - SET_MEM_TABLE describing every region of (gm),
 * each with gm->fd.
 * Return: 0, -E2BIG (more than VU_MEM_MAX_REGIONS), or -errno as above.
 * Context: as vu_conn_set_features().
 */
int vu_conn_set_mem_table(struct vu_conn *c, const struct guest_mem *gm) __must_check;

/*
 * vu_conn_start_vring() - hand queue (idx), bound in (vq), to the back end
 * with (kick_fd) and (call_fd) (-1: no interrupt), starting at index 0.
 * Return: 0, -EINVAL (idx > 255 or the queue unbound), or -errno as above.
 * Context: as vu_conn_set_features().
 * Guest: ring addresses and size (already validated by virtq_init()).
 */
int vu_conn_start_vring(struct vu_conn *c, uint16_t idx, const struct virtq *vq, int kick_fd,
			int call_fd) __must_check;

/*
 * vu_conn_stop_vring() - stop queue (idx); its last avail index goes to (base).
 * Return: 0, -EBADMSG (the reply names another vring or an index over
 * 0xffff), or -errno as above.
 * Context: as vu_conn_set_features().
 */
int vu_conn_stop_vring(struct vu_conn *c, uint16_t idx, uint16_t *base) __must_check;

#endif
