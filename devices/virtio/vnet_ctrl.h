/* SPDX-License-Identifier: MIT */
/*
 * vnet_ctrl.h: the virtio-net control queue (virtio 1.2 §5.1.6.5; prefix
 * vnet_ctrl_), present on a device of more than one queue pair. A command is
 * one chain, parsed through an iov cursor (never by descriptor boundaries):
 *
 *   readable:  u8 class; u8 command; command-specific data
 *   writable:  u8 ack (VIRTIO_NET_OK or VIRTIO_NET_ERR), the first writable byte
 *
 * Served: VIRTIO_NET_CTRL_MQ / VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET with exactly
 * two bytes of data (le16 virtqueue_pairs) from 1 to max_virtqueue_pairs,
 * and only when the driver took VIRTIO_NET_F_MQ. Every other class and
 * command (RX, MAC, VLAN, ANNOUNCE, GUEST_OFFLOADS, RSS, NOTF_COAL...) is
 * answered VIRTIO_NET_ERR: the device offers none of the features they
 * belong to. A chain with no writable byte is pushed back with used length
 * 0 and its command is not carried out; otherwise the used length is 1.
 */
#ifndef AGENTVMM_DEVICES_VIRTIO_VNET_CTRL_H
#define AGENTVMM_DEVICES_VIRTIO_VNET_CTRL_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/virtq.h"

/* What one control command asks for, as vnet_ctrl_parse() decided it. */
struct vnet_ctrl_cmd {
	uint8_t ack;            /* VIRTIO_NET_OK or VIRTIO_NET_ERR */
	uint16_t pairs;         /* VQ_PAIRS_SET accepted: the new count; else 0 */
	const char *why;        /* with ERR: the rule that failed (a static string) */
};

/*
 * vnet_ctrl_parse() - decide the command of chain (c) for a device of
 * (max_pairs) queue pairs, (mq) whether the driver took VIRTIO_NET_F_MQ.
 * Class, command and data are copied out of guest memory once and checked
 * there; nothing is written.
 * Context: the queue's owner thread (pure). Guest: the whole chain.
 */
void vnet_ctrl_parse(const struct vq_chain *c, uint16_t max_pairs, bool mq,
		     struct vnet_ctrl_cmd *cmd);

/*
 * vnet_ctrl_ack() - write (ack) into the first writable byte of chain (c).
 * Return: the used length: 1, or 0 when (c) has no writable byte.
 * Context: the queue's owner thread. Guest: where the byte goes.
 */
uint32_t vnet_ctrl_ack(const struct vq_chain *c, uint8_t ack);

#endif
