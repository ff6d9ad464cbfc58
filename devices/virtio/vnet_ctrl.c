// SPDX-License-Identifier: MIT
/*
 * vnet_ctrl.c: virtio-net's control queue and the number of queue pairs in
 * use (prefixes vnet_ctrl_, vnet_pairs_); vnet_ctrl.h has the commands,
 * vnet_int.h the state shared with virtio_net.c. Apart from virtio_net.c
 * because that file is near STYLE's size cap with the pair paths alone.
 */
#include "devices/virtio/vnet_ctrl.h"

#include <endian.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>

#include "devices/virtio/iov.h"
#include "devices/virtio/vnet_int.h"
#include "vmm/log.h"

_Static_assert(sizeof(struct virtio_net_ctrl_hdr) == 2, "virtio 1.2 §5.1.6.5");
_Static_assert(sizeof(struct virtio_net_ctrl_mq) == 2, "virtio 1.2 §5.1.6.5.5");

#define F(x) (1ULL << (x))

void vnet_ctrl_parse(const struct vq_chain *c, uint16_t max_pairs, bool mq,
		     struct vnet_ctrl_cmd *cmd)
{
	struct virtio_net_ctrl_hdr h;
	struct virtio_net_ctrl_mq d;
	struct iov_cur cur;
	uint16_t pairs;

	*cmd = (struct vnet_ctrl_cmd){ .ack = VIRTIO_NET_ERR };
	if (!c->wo_len) {
		cmd->why = "no writable byte for the ack";
		return;
	}
	/* single fetch: class, command and data are copied out, then checked */
	iov_cur_init(&cur, c->seg, c->nr_ro);
	if (iov_cur_copy_out(&cur, &h, sizeof(h))) {
		cmd->why = "shorter than class and command";
		return;
	}
	if (h.class != VIRTIO_NET_CTRL_MQ || h.cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET) {
		cmd->why = "class or command not offered";
		return;
	}
	/* virtio 1.2 §5.1.6.5.5: the command belongs to VIRTIO_NET_F_MQ */
	if (!mq) {
		cmd->why = "VQ_PAIRS_SET without VIRTIO_NET_F_MQ";
		return;
	}
	if (iov_cur_left(&cur) != sizeof(d) || iov_cur_copy_out(&cur, &d, sizeof(d))) {
		cmd->why = "VQ_PAIRS_SET data is not 2 bytes";
		return;
	}
	pairs = le16toh(d.virtqueue_pairs);
	/* virtio 1.2 §5.1.6.5.5.1: 1 to max_virtqueue_pairs, the rest refused */
	if (pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || pairs > max_pairs) {
		cmd->why = "virtqueue_pairs out of range";
		return;
	}
	cmd->ack = VIRTIO_NET_OK;
	cmd->pairs = pairs;
}

uint32_t vnet_ctrl_ack(const struct vq_chain *c, uint8_t ack)
{
	struct iov_cur cur;

	iov_cur_init(&cur, c->seg + c->nr_ro, c->nr_wo);
	return iov_cur_copy_in(&cur, &ack, sizeof(ack)) ? 0 : sizeof(ack);
}

void vnet_pairs_attach_locked(struct vnet *n)
{
	if (!n->vn_detach)
		return;
	/* pair 0 stays attached: it is in use whenever anything is */
	for (uint16_t i = 1; i < n->vn_nr_pairs; i++) {
		struct vnet_pair *p = &n->vn_pairs[i];
		bool want = vnet_pair_in_use(n, p);
		struct ifreq ifr = { .ifr_flags = want ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE };

		if (want == p->pr_attached)
			continue;
		/*
		 * A detached queue gets no frame from the host kernel (tun purges
		 * it). EINVAL: it already was (a parent's fd= queue may come
		 * detached; tun and macvtap both refuse a second attach or detach).
		 */
		if (ioctl(p->pr_fd, TUNSETQUEUE, &ifr) == 0 || errno == EINVAL) {
			p->pr_attached = want;
			continue;
		}
		if (!n->vn_queue_warned)
			log_warn("virtio-net %s: cannot %s tap queue %u: %s", n->vn_name,
				 want ? "attach" : "detach", i, strerror(errno));
		n->vn_queue_warned = true;
	}
}

/* VQ_PAIRS_SET (k), already checked: the pairs it adds start at the end of the pass. */
static void set_pairs_locked(struct vnet *n, uint16_t k)
{
	for (uint16_t i = n->vn_active_pairs; i < k; i++)
		n->vn_pairs[i].pr_start = true;
	n->vn_active_pairs = k;
	vnet_pairs_attach_locked(n);
}

/* Carry out and answer the command in n->vn_chain; the used length. Guest: the chain. */
static uint32_t ctrl_one_locked(struct vnet *n)
{
	struct vnet_ctrl_cmd cmd;

	vnet_ctrl_parse(n->vn_chain, n->vn_nr_pairs, n->vn_acked & F(VIRTIO_NET_F_MQ), &cmd);
	if (cmd.ack == VIRTIO_NET_OK) {
		set_pairs_locked(n, cmd.pairs);
		n->vn_stats.ctrl_ok++;
	} else {
		n->vn_stats.ctrl_err++;
		log_guest_ratelimited("virtio-net %s: control command refused: %s", n->vn_name,
				      cmd.why);
	}
	return vnet_ctrl_ack(n->vn_chain, cmd.ack);
}

bool vnet_ctrl_run_locked(struct vnet *n)
{
	struct virtq *vq = n->vn_ctrlq;
	struct vnet_pass p = { 0 };
	int r = 0;

	virtq_disable_notify(vq);
	for (;;) {
		while (!vnet_pass_spent(&p) && (r = virtq_pop(vq, n->vn_chain)) == 1) {
			p.chains++;
			/* pushed after the command took effect (virtio 1.2 §5.1.6.5.5) */
			virtq_push(vq, n->vn_chain->head, ctrl_one_locked(n));
			p.pushed = true;
		}
		if (r < 0)
			break;
		if (vnet_pass_spent(&p)) {
			if (vnet_resume_locked(n, NULL, 0))
				break;
			p.chains = 0; /* cannot yield: go on rather than strand the queue */
			continue;
		}
		if (!virtq_enable_notify(vq))
			break;
	}
	if (p.pushed)
		virtio_notify(n->vn_t, n->vn_ctrl_qidx);
	return r >= 0;
}
