// SPDX-License-Identifier: MIT
/*
 * vu_fs.c: the virtio-fs device (prefix vufs_): config space, feature
 * filtering, queue hand-over to a vhost-user back end, and the degraded mode
 * that answers requests itself once the back end is gone.
 *
 * Threads and the device lock (fs_lock):
 *  - features/set_features/config_read/activate/reset run on a vCPU thread
 *    (the transport holds its own lock around them); activate and reset
 *    talk to the back end synchronously under fs_lock. Each message waits at
 *    most the connection timeout (5 s), and the first failure marks the back
 *    end dead, so a stuck back end costs one timeout, never a hang.
 *  - the event-loop thread runs sock_cb (the back end's socket became
 *    readable or hung up) and, once degraded, kick_cb (a guest kick).
 *    sock_cb only TRIES fs_lock while the back end is alive: a vCPU holding
 *    it is mid-transaction and will read the pending reply (or hit the EOF)
 *    itself, and the loop must not wait out a back-end timeout behind it.
 *    The poll re-arms, so a real hang-up is seen as soon as the vCPU lets go.
 *  - nothing waits on the loop thread while holding fs_lock, and the loop
 *    takes no other lock while holding it except msix's (virtio_dev_fail).
 *
 * Back-end death. The back end is dead when its socket reaches EOF/HUP, sends
 * a message nobody asked for, or a request to it fails (bad reply, timeout).
 * Then, once (logged once):
 *  1. fs_dead is set (sticky: virtiofsd serves one connection, so there is no
 *     reconnect; the device stays degraded until the VM ends);
 *  2. the loop thread replaces the socket, in place, by an eventfd (dup3), so
 *     the watch on that fd number goes quiet instead of firing on the EOF
 *     forever, and vCPU threads can poke the loop through it;
 *  3. the loop watches the queues' kick eventfds itself and answers every
 *     request with a FUSE reply header { len 16, error -EIO, unique of the
 *     request }, pushing chains without writable room (FORGET on hiprio)
 *     with length 0, and signals the queue's call eventfd the way the back
 *     end would have (the transport relays it to the queue's MSI-X vector,
 *     masking honoured: virtio_pci.h).
 *
 * Approximation at take-over: requests the back end had popped but not
 * completed are found again by restarting each ring at the used index the
 * back end last published (last_avail = used.idx). That is exact for a back
 * end that completes in order. One that completed out of order may have
 * left a later chain already used and an earlier one pending: the first is
 * then answered twice and the second never, which the guest driver reports
 * as a broken ring for that queue. A back end that is declared dead while
 * still running (timeout) could keep writing the ring until it notices the
 * closed socket and quits; virtiofsd quits at once.
 */
#include "devices/vhost_user/vu_fs.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <linux/virtio_config.h>
#include <linux/virtio_fs.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/vhost_user/vu_conn.h"
#include "devices/virtio/iov.h"
#include "vmm/log.h"

#define VUFS_QUEUE_SIZE 1024 /* libvhost-user's VIRTQUEUE_MAX_SIZE */
#define VUFS_DEFAULT_QUEUES 2 /* hiprio + one request queue */

/* virtio features we let through from the back end to the guest */
#define VUFS_ACCEPTED (1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_RING_F_EVENT_IDX | \
		       1ULL << VIRTIO_RING_F_INDIRECT_DESC)

_Static_assert(sizeof(struct virtio_fs_config) == 40, "virtio 1.2 §5.11.4");
_Static_assert(sizeof(struct fuse_in_header) == 40, "FUSE request header");
_Static_assert(sizeof(struct fuse_out_header) == 16, "FUSE reply header");

struct vufs;

/* One queue's kick eventfd, watched by the loop once degraded. */
struct vufs_kick {
	struct vufs *k_dev;
	uint16_t k_qidx;
	int k_fd;                   /* the transport's kick eventfd; -1 unknown */
	bool k_watched;             /* evl watch installed (never removed) */
};

struct vufs {
	pthread_mutex_t fs_lock;
	struct vu_conn fs_conn;     /* fs_conn.vc_sock: socket, then the poke eventfd */
	struct evl *fs_evl;
	char fs_tag[VUFS_TAG_MAX + 1];
	struct virtio_fs_config fs_cfg; /* guest view, immutable after create */
	uint16_t fs_nr_queues;
	uint64_t fs_offered, fs_acked;
	bool fs_dead;               /* back end gone; read without the lock by sock_cb */
	bool fs_swapped;            /* the socket slot holds the poke eventfd */
	bool fs_active;             /* between activate and reset */
	const struct guest_mem *fs_gm;
	struct vpci *fs_t;
	struct virtq *fs_vqs;       /* the transport's, valid while fs_active */
	uint16_t fs_nr_vqs;
	int fs_call[VIRTIO_MAX_QUEUES];
	/*
	 * Call eventfd for a queue the driver gave no MSI-X vector (polling is
	 * legal): the back end gets this one, which nobody reads, instead of
	 * VU_VRING_NOFD. libvhost-user (Debian's virtiofsd) writes the call fd
	 * unconditionally after every completion and exits on EBADF.
	 */
	int fs_nocall;
	bool fs_owned[VIRTIO_MAX_QUEUES]; /* handed to the back end, not taken back */
	struct vufs_kick fs_kick[VIRTIO_MAX_QUEUES];
	struct vq_chain *fs_chain;  /* scratch for virtq_pop on the loop thread */
};

/* ---- back-end death ------------------------------------------------------ */

/* Mark the back end dead (once) and make sure the loop hears about it. */
static void backend_lost_locked(struct vufs *d, const char *why)
{
	if (d->fs_dead)
		return;
	log_err("virtio-fs '%s': back end lost (%s): requests now fail with EIO", d->fs_tag, why);
	/* pairs with the acquire load in sock_cb() */
	__atomic_store_n(&d->fs_dead, true, __ATOMIC_RELEASE);
	/* our own EOF wakes the loop's watch even if the back end is only stuck */
	if (!d->fs_swapped && d->fs_conn.vc_sock >= 0)
		shutdown(d->fs_conn.vc_sock, SHUT_RDWR);
}

/* Wake the loop thread to (re)take over the queues, after an activation. */
static void poke_loop_locked(struct vufs *d)
{
	uint64_t one = 1;

	/* not swapped yet: the pending EOF will run sock_cb anyway */
	if (d->fs_swapped && write(d->fs_conn.vc_sock, &one, sizeof(one)) < 0)
		log_warn("virtio-fs '%s': cannot wake the event loop: %s", d->fs_tag,
			 strerror(errno));
}

/* ---- degraded mode: answer every request with -EIO ------------------------ */

/* Restart a ring the back end owned at the used index it last published. */
static void queue_resync_locked(struct vufs *d, uint16_t qidx)
{
	struct virtq *vq = &d->fs_vqs[qidx];
	uint16_t le;

	d->fs_owned[qidx] = false;
	/* single fetch; a guest that scribbles here only breaks its own ring */
	if (gm_read(d->fs_gm, vq->vq_used + offsetof(struct vring_used, idx), &le, sizeof(le)))
		return;
	vq->vq_used_idx = vq->vq_last_avail = le16toh(le);
	vq->vq_signalled_valid = false;
}

/* Complete (c) with a FUSE -EIO reply, or with nothing when it has no room for one. */
static void answer_eio_locked(struct virtq *vq, const struct vq_chain *c)
{
	struct fuse_in_header in;
	struct fuse_out_header out = {
		.len = htole32(sizeof(out)),
		.error = (int32_t)htole32((uint32_t)-EIO),
	};
	struct iov_cur cur;
	uint32_t written = 0;

	iov_cur_init(&cur, c->seg, c->nr_ro);
	/* a short request header is answered too, with unique 0 */
	if (iov_cur_copy_out(&cur, &in, sizeof(in)) == 0)
		out.unique = in.unique; /* both little-endian */
	iov_cur_init(&cur, c->seg + c->nr_ro, c->nr_wo);
	if (iov_cur_copy_in(&cur, &out, sizeof(out)) == 0)
		written = sizeof(out);
	virtq_push(vq, c->head, written);
}

static void signal_call(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0)
		log_guest_ratelimited("virtio-fs: interrupt eventfd write failed");
}

/* Drain queue (qidx) the way virtq.h describes. Loop thread. */
static void queue_serve_locked(struct vufs *d, uint16_t qidx)
{
	struct virtq *vq = &d->fs_vqs[qidx];
	int r;

	if (!vq->vq_size || vq->vq_broken)
		return;
	if (d->fs_owned[qidx])
		queue_resync_locked(d, qidx);
	for (;;) {
		while ((r = virtq_pop(vq, d->fs_chain)) == 1)
			answer_eio_locked(vq, d->fs_chain);
		if (virtq_need_notify(vq))
			signal_call(d->fs_call[qidx]);
		if (r < 0) {
			virtio_dev_fail(d->fs_t, "malformed virtqueue");
			return;
		}
		if (!virtq_enable_notify(vq))
			return;
	}
}

static void kick_cb(void *opaque)
{
	struct vufs_kick *k = opaque;
	struct vufs *d = k->k_dev;
	uint64_t n;

	if (read(k->k_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&d->fs_lock);
	if (d->fs_active && d->fs_swapped && k->k_qidx < d->fs_nr_vqs)
		queue_serve_locked(d, k->k_qidx);
	pthread_mutex_unlock(&d->fs_lock);
}

/* Loop thread, back end dead: quiet the socket slot, watch kicks, serve. */
static void takeover_locked(struct vufs *d)
{
	uint64_t n;

	if (!d->fs_swapped) {
		int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

		/* dup3 closes the socket and keeps the watched fd number alive */
		if (efd < 0 || dup3(efd, d->fs_conn.vc_sock, O_CLOEXEC) < 0) {
			log_err("virtio-fs '%s': cannot retire the socket: %s", d->fs_tag,
				strerror(errno));
			if (efd >= 0)
				close(efd);
			return;
		}
		close(efd);
		d->fs_swapped = true;
	} else if (read(d->fs_conn.vc_sock, &n, sizeof(n)) < 0 && errno != EAGAIN) {
		log_warn("virtio-fs '%s': poke eventfd: %s", d->fs_tag, strerror(errno));
	}
	if (!d->fs_active)
		return;
	for (uint16_t q = 0; q < d->fs_nr_vqs; q++) {
		struct vufs_kick *k = &d->fs_kick[q];

		if (!k->k_watched && k->k_fd >= 0) {
			int r = evl_watch_fd(d->fs_evl, k->k_fd, kick_cb, k);

			if (r)
				log_err("virtio-fs '%s': queue %u cannot be served: %s", d->fs_tag, q,
					strerror(-r));
			k->k_watched = r == 0;
		}
		queue_serve_locked(d, q);
	}
}

/* The socket is readable or hung up (loop thread). */
static void sock_cb(void *opaque)
{
	struct vufs *d = opaque;

	/* pairs with the release store in backend_lost_locked() */
	if (__atomic_load_n(&d->fs_dead, __ATOMIC_ACQUIRE))
		pthread_mutex_lock(&d->fs_lock);
	else if (pthread_mutex_trylock(&d->fs_lock))
		return; /* a vCPU is mid-transaction: see the file header */
	if (!d->fs_dead) {
		char b;
		ssize_t n = recv(d->fs_conn.vc_sock, &b, 1, MSG_PEEK | MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			/* woken by a reply that a vCPU has read since */
			pthread_mutex_unlock(&d->fs_lock);
			return;
		}
		backend_lost_locked(d, n == 0 ? "hung up" :
				       n > 0 ? "unsolicited message" : strerror(errno));
	}
	takeover_locked(d);
	pthread_mutex_unlock(&d->fs_lock);
}

/* ---- virtio_dev_ops -------------------------------------------------------- */

static uint64_t vufs_features(void *dev)
{
	struct vufs *d = dev;

	return d->fs_offered;
}

static int vufs_set_features(void *dev, uint64_t acked)
{
	struct vufs *d = dev;

	if (acked & ~d->fs_offered)
		return -EINVAL;
	pthread_mutex_lock(&d->fs_lock);
	d->fs_acked = acked;
	pthread_mutex_unlock(&d->fs_lock);
	return 0;
}

static void vufs_config_read(void *dev, uint32_t off, void *buf, uint32_t len)
{
	struct vufs *d = dev;

	memcpy(buf, (const uint8_t *)&d->fs_cfg + off, len);
}

/* The virtio-fs config space is read-only (virtio 1.2 §5.11.4): writes are dropped. */
static int vufs_config_write(void *dev, uint32_t off, const void *buf, uint32_t len)
{
	return 0;
}

/* Hand features, RAM and every enabled ring to the back end. */
static int backend_start_locked(struct vufs *d, const int *kick_fds)
{
	int r = vu_conn_set_features(&d->fs_conn, d->fs_acked);

	if (!r)
		r = vu_conn_set_mem_table(&d->fs_conn, d->fs_gm);
	for (uint16_t q = 0; !r && q < d->fs_nr_vqs; q++) {
		if (!d->fs_vqs[q].vq_size)
			continue; /* the driver left it disabled */
		/* owned from the first message on: a half-started ring is resynced too */
		d->fs_owned[q] = true;
		r = vu_conn_start_vring(&d->fs_conn, q, &d->fs_vqs[q], kick_fds[q], d->fs_call[q]);
	}
	return r;
}

static int vufs_activate(void *dev, const struct virtio_activation *act)
{
	struct vufs *d = dev;
	int r;

	if (!act->kick_fds || !act->call_fds)
		return -EINVAL; /* not driven as a vhost device */
	pthread_mutex_lock(&d->fs_lock);
	d->fs_gm = act->gm;
	d->fs_t = act->transport;
	d->fs_vqs = act->vqs;
	d->fs_nr_vqs = MIN(act->nr_vqs, d->fs_nr_queues);
	d->fs_acked = act->features;
	for (uint16_t q = 0; q < d->fs_nr_vqs; q++) {
		d->fs_call[q] = act->call_fds[q] >= 0 ? act->call_fds[q] : d->fs_nocall;
		d->fs_owned[q] = false;
		if (!d->fs_kick[q].k_watched)
			d->fs_kick[q].k_fd = act->kick_fds[q];
		else if (d->fs_kick[q].k_fd != act->kick_fds[q])
			log_warn("virtio-fs '%s': queue %u kick eventfd changed", d->fs_tag, q);
	}
	d->fs_active = true;
	if (!d->fs_dead) {
		r = backend_start_locked(d, act->kick_fds);
		if (r)
			backend_lost_locked(d, strerror(-r));
	}
	if (d->fs_dead)
		poke_loop_locked(d);
	pthread_mutex_unlock(&d->fs_lock);
	return 0; /* a dead back end degrades the device; it does not fail it */
}

/* Nothing to do: the back end (or, degraded, kick_cb) watches the kicks. */
static void vufs_queue_notify(void *dev, uint16_t qidx)
{
}

static int vufs_reset(void *dev)
{
	struct vufs *d = dev;
	uint16_t base;

	pthread_mutex_lock(&d->fs_lock);
	for (uint16_t q = 0; d->fs_active && q < d->fs_nr_vqs; q++) {
		if (!d->fs_owned[q])
			continue;
		d->fs_owned[q] = false;
		if (d->fs_dead)
			continue;
		/* GET_VRING_BASE returns once the back end stopped the ring */
		int r = vu_conn_stop_vring(&d->fs_conn, q, &base);
		if (r)
			backend_lost_locked(d, strerror(-r));
	}
	/* kick_cb/sock_cb test fs_active under the lock: nothing serves after this */
	d->fs_active = false;
	d->fs_vqs = NULL;
	d->fs_t = NULL;
	pthread_mutex_unlock(&d->fs_lock);
	return 0;
}

static void vufs_destroy(void *dev)
{
	struct vufs *d = dev;

	if (!d)
		return;
	vu_conn_close(&d->fs_conn);
	if (d->fs_nocall >= 0)
		close(d->fs_nocall);
	free(d->fs_chain);
	pthread_mutex_destroy(&d->fs_lock);
	free(d);
}

/* ---- creation ---------------------------------------------------------------- */

static int vufs_check_config(const struct vufs_config *cfg, char *err, size_t errlen)
{
	size_t tl = cfg->tag ? strlen(cfg->tag) : 0;
	unsigned nrq = cfg->nr_request_queues ? cfg->nr_request_queues : 1;

	if (!cfg->socket_path || !cfg->socket_path[0]) {
		snprintf(err, errlen, "virtio-fs: no vhost-user socket given");
		return -EINVAL;
	}
	if (tl == 0 || tl > VUFS_TAG_MAX) {
		snprintf(err, errlen, "virtio-fs: tag '%s' must be 1 to %d bytes",
			 cfg->tag ? cfg->tag : "", VUFS_TAG_MAX);
		return -EINVAL;
	}
	if (nrq + 1 > VIRTIO_MAX_QUEUES) {
		snprintf(err, errlen, "virtio-fs '%s': %u request queues is too many", cfg->tag,
			 nrq);
		return -EINVAL;
	}
	return 0;
}

/* What the connected back end offers must be enough for this device. */
static int vufs_check_backend(struct vufs *d, const char *path, char *err, size_t errlen)
{
	const struct vu_conn *c = &d->fs_conn;

	if (!(c->vc_features & (1ULL << VIRTIO_F_VERSION_1))) {
		snprintf(err, errlen, "virtio-fs '%s': back end %s does not offer VIRTIO_F_VERSION_1",
			 d->fs_tag, path);
		return -ENOTSUP;
	}
	if (c->vc_max_vrings && d->fs_nr_queues > c->vc_max_vrings) {
		snprintf(err, errlen, "virtio-fs '%s': back end %s serves %u queues, %u needed",
			 d->fs_tag, path, c->vc_max_vrings, d->fs_nr_queues);
		return -ENOTSUP;
	}
	return 0;
}

void *vufs_create(const struct vufs_config *cfg, const struct guest_mem *gm, char *err,
		  size_t errlen)
{
	struct vufs *d;
	int r;

	if (vufs_check_config(cfg, err, errlen))
		goto err_fd;
	d = calloc(1, sizeof(*d));
	if (!d || !(d->fs_chain = malloc(sizeof(*d->fs_chain)))) {
		snprintf(err, errlen, "virtio-fs '%s': out of memory", cfg->tag);
		goto err_free;
	}
	pthread_mutex_init(&d->fs_lock, NULL);
	vu_conn_init_empty(&d->fs_conn);
	d->fs_nocall = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->fs_nocall < 0) {
		snprintf(err, errlen, "virtio-fs '%s': eventfd: %s", cfg->tag, strerror(errno));
		goto err_destroy;
	}
	snprintf(d->fs_tag, sizeof(d->fs_tag), "%s", cfg->tag);
	d->fs_nr_queues = (uint16_t)(1 + (cfg->nr_request_queues ? cfg->nr_request_queues : 1));
	d->fs_gm = gm;
	d->fs_evl = cfg->evl;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		d->fs_call[q] = -1;
		d->fs_kick[q] = (struct vufs_kick){ .k_dev = d, .k_qidx = (uint16_t)q, .k_fd = -1 };
	}
	memcpy(d->fs_cfg.tag, cfg->tag, strlen(cfg->tag)); /* NUL-padded, not terminated */
	d->fs_cfg.num_request_queues = htole32(d->fs_nr_queues - 1u);
	r = cfg->socket_connected ? vu_conn_open_fd(&d->fs_conn, cfg->socket_fd, cfg->socket_path,
						    cfg->timeout_ms, err, errlen)
				  : vu_conn_open(&d->fs_conn, cfg->socket_path, cfg->timeout_ms, err,
						 errlen);
	if (r)
		goto err_destroy;
	if (vufs_check_backend(d, cfg->socket_path, err, errlen))
		goto err_destroy;
	d->fs_offered = d->fs_conn.vc_features & VUFS_ACCEPTED;
	/* last: an evl watch cannot be removed, and evl_fini() never calls it after stop */
	if (d->fs_evl) {
		r = evl_watch_fd(d->fs_evl, d->fs_conn.vc_sock, sock_cb, d);
		if (r) {
			snprintf(err, errlen, "virtio-fs '%s': cannot watch the back end: %s",
				 d->fs_tag, strerror(-r));
			goto err_destroy;
		}
	} else {
		log_warn("virtio-fs '%s': no event loop: a dead back end will hang requests",
			 d->fs_tag);
	}
	return d;

err_destroy:
	vufs_destroy(d);
	return NULL;
err_free:
	free(d);
err_fd:
	if (cfg->socket_connected)
		close(cfg->socket_fd);
	return NULL;
}

uint16_t vufs_nr_queues(void *dev)
{
	struct vufs *d = dev;

	return d->fs_nr_queues;
}

bool vufs_backend_alive(void *dev)
{
	struct vufs *d = dev;

	return !__atomic_load_n(&d->fs_dead, __ATOMIC_ACQUIRE);
}

const struct virtio_dev_ops vufs_ops = {
	.name = "virtio-fs",
	.device_id = VIRTIO_ID_FS,
	.nr_queues = VUFS_DEFAULT_QUEUES,
	.max_queue_size = VUFS_QUEUE_SIZE,
	.config_size = sizeof(struct virtio_fs_config),
	.vhost = true,
	.features = vufs_features,
	.set_features = vufs_set_features,
	.config_read = vufs_config_read,
	.config_write = vufs_config_write,
	.activate = vufs_activate,
	.queue_notify = vufs_queue_notify,
	.reset = vufs_reset,
	.destroy = vufs_destroy,
};
