// SPDX-License-Identifier: MIT
/*
 * virtio_balloon.c: virtio-balloon (prefix vbal_): inflate/deflate, the stats
 * queue and free page reporting, discarding inflated and reported guest pages
 * on the host through gm_discard() (virtio_balloon.h explains the queues).
 *
 * All queue work is synchronous on the loop thread under the device lock: a
 * discard is one madvise() or fallocate() per run of pages, so nothing is in
 * flight across a reset. Other threads reach the loop through the device's
 * wake eventfd (vbal_set_target(), vbal_request_stats(), a pass that used up
 * its budget); the stats timer is a periodic timerfd armed at creation (setup
 * thread), so the I/O thread never needs timerfd_settime().
 *
 * Just over 600 lines: the three kinds of queue share one lock, one pass
 * loop and one wake path, which read best side by side.
 */
#include "devices/virtio/virtio_balloon.h"

#include <endian.h>
#include <errno.h>
#include <linux/virtio_ids.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio/iov.h"
#include "vmm/log.h"

#define VBAL_Q_INFLATE 0
#define VBAL_Q_DEFLATE 1
#define VBAL_CONFIG_SIZE 8        /* num_pages, actual */
#define VBAL_PFN_BATCH 256        /* PFNs copied out of the chain at a time */

/* bits of (pending): queues 0..3 to resume, and work for the loop */
#define VBAL_WAKE_CONFIG (1U << 8)
#define VBAL_WAKE_STATS (1U << 9)

struct vbal {
	pthread_mutex_t lock;
	struct vbal_config cfg;
	uint64_t ram_pages;        /* bound of num_pages */
	bool active;
	uint64_t features;         /* acked at FEATURES_OK */
	uint16_t q_stats, q_report; /* queue map (virtio_balloon.h), VBAL_NONE: absent */
	struct virtq *vqs;         /* the transport's, from activate() */
	uint16_t nr_vqs;
	const struct guest_mem *gm;
	struct vpci *t;
	struct vq_chain *chain;    /* scratch for virtq_pop */
	uint32_t num_pages, actual; /* config space */
	bool stats_held;           /* the driver's stats buffer is with us */
	uint16_t stats_head;
	bool stats_valid;
	uint64_t stats_ns;         /* CLOCK_MONOTONIC of the last stats */
	uint32_t stats_mask;
	uint64_t stats[VBAL_NR_STATS];
	uint64_t nr_inflated, nr_deflated, nr_ranges, nr_range_bytes, nr_refused;
	int wake_fd, timer_fd;     /* eventfd; periodic timerfd (-1 without stats_s) */
	uint32_t pending;          /* VBAL_WAKE_* and queue bits; atomic */
};

static const char *const stat_names[] = {
	[VIRTIO_BALLOON_S_SWAP_IN] = "swap_in",
	[VIRTIO_BALLOON_S_SWAP_OUT] = "swap_out",
	[VIRTIO_BALLOON_S_MAJFLT] = "major_faults",
	[VIRTIO_BALLOON_S_MINFLT] = "minor_faults",
	[VIRTIO_BALLOON_S_MEMFREE] = "free_memory",
	[VIRTIO_BALLOON_S_MEMTOT] = "total_memory",
	[VIRTIO_BALLOON_S_AVAIL] = "available_memory",
	[VIRTIO_BALLOON_S_CACHES] = "disk_caches",
	[VIRTIO_BALLOON_S_HTLB_PGALLOC] = "hugetlb_allocations",
	[VIRTIO_BALLOON_S_HTLB_PGFAIL] = "hugetlb_failures",
};

const char *vbal_stat_name(unsigned tag)
{
	return tag < ARRAY_SIZE(stat_names) ? stat_names[tag] : NULL;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Ask the loop thread for (bits); the eventfd write is the happens-before edge. */
static void wake(struct vbal *b, uint32_t bits)
{
	uint64_t one = 1;

	__atomic_fetch_or(&b->pending, bits, __ATOMIC_RELEASE);
	if (write(b->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("virtio-balloon: wake: %s", strerror(errno));
}

/* The queue (qidx) when it exists for the negotiated features and is enabled. */
static struct virtq *queue_locked(struct vbal *b, uint16_t qidx)
{
	if (!b->active || qidx >= b->nr_vqs || !b->vqs[qidx].vq_size)
		return NULL;
	if (qidx == VBAL_Q_INFLATE || qidx == VBAL_Q_DEFLATE || qidx == b->q_stats ||
	    qidx == b->q_report)
		return &b->vqs[qidx];
	return NULL;
}

/* Discard (pages) guest pages from (pfn); a run outside RAM is refused and counted. */
static uint64_t discard_run_locked(struct vbal *b, uint64_t pfn, uint64_t pages)
{
	int r;

	if (!pages)
		return 0;
	r = gm_discard(b->gm, pfn * VBAL_PAGE_SIZE, pages * VBAL_PAGE_SIZE);
	if (r) {
		b->nr_refused += pages;
		log_guest_ratelimited("virtio-balloon: cannot discard %llu pages at pfn %#llx: %s",
				      (unsigned long long)pages, (unsigned long long)pfn,
				      strerror(-r));
		return 0;
	}
	return pages * VBAL_PAGE_SIZE;
}

/*
 * An inflate or deflate chain: its readable bytes are le32 PFNs, copied out
 * VBAL_PFN_BATCH at a time (single fetch); runs of consecutive PFNs are
 * discarded together. Return: bytes discarded.
 */
static uint64_t serve_pfns_locked(struct vbal *b, bool inflate)
{
	const struct vq_chain *c = b->chain;
	uint64_t n = MIN((uint64_t)c->ro_len / 4, (uint64_t)VBAL_MAX_PFNS), done = 0;
	uint64_t run_pfn = 0, run_len = 0;
	uint32_t pfns[VBAL_PFN_BATCH];
	struct iov_cur cur;

	iov_cur_init(&cur, c->seg, c->nr_ro);
	while (n) {
		unsigned k = (unsigned)MIN(n, (uint64_t)VBAL_PFN_BATCH);

		if (iov_cur_copy_out(&cur, pfns, k * sizeof(pfns[0])))
			break; /* ro_len said otherwise: cannot happen, stop safely */
		n -= k;
		if (!inflate) {
			b->nr_deflated += k;
			continue;
		}
		b->nr_inflated += k;
		for (unsigned i = 0; i < k; i++) {
			uint64_t pfn = le32toh(pfns[i]);

			if (run_len && pfn == run_pfn + run_len) {
				run_len++;
				continue;
			}
			done += discard_run_locked(b, run_pfn, run_len);
			run_pfn = pfn;
			run_len = 1;
		}
	}
	return done + discard_run_locked(b, run_pfn, run_len);
}

/*
 * A free page report: every segment is a free range of guest RAM, rounded
 * inward to whole pages and discarded. Return: bytes discarded.
 */
static uint64_t serve_report_locked(struct vbal *b)
{
	const struct vq_chain *c = b->chain;
	uint64_t done = 0;

	for (unsigned i = 0; i < (unsigned)c->nr_ro + c->nr_wo; i++) {
		uint64_t len = c->seg[i].iov_len, start, end;
		gpa_t gpa;
		int r;

		if (!len)
			continue;
		if (gm_gpa_of(b->gm, c->seg[i].iov_base, len, &gpa)) {
			b->nr_refused++; /* virtq_pop() checked it: cannot happen */
			continue;
		}
		start = ALIGN_UP(gpa, (uint64_t)VBAL_PAGE_SIZE);
		end = ALIGN_DOWN(gpa + len, (uint64_t)VBAL_PAGE_SIZE); /* in RAM: no wrap */
		if (end <= start)
			continue;
		r = gm_discard(b->gm, start, end - start);
		if (r) {
			b->nr_refused++;
			log_guest_ratelimited("virtio-balloon: cannot discard reported range "
					      "%#llx+%#llx: %s", (unsigned long long)start,
					      (unsigned long long)(end - start), strerror(-r));
			continue;
		}
		b->nr_ranges++;
		b->nr_range_bytes += end - start;
		done += end - start;
	}
	return done;
}

/* The driver's stats buffer: read the entries (single fetch), keep the chain. */
static void take_stats_locked(struct vbal *b, struct virtq *vq)
{
	const struct vq_chain *c = b->chain;
	unsigned n = (unsigned)MIN((uint64_t)c->ro_len / sizeof(struct virtio_balloon_stat),
				   (uint64_t)VBAL_MAX_STATS);
	struct iov_cur cur;

	/* one buffer at a time (virtio 1.2 §5.5.6.3); a second one returns the first */
	if (b->stats_held)
		virtq_push(vq, b->stats_head, 0);
	iov_cur_init(&cur, c->seg, c->nr_ro);
	b->stats_mask = 0;
	for (unsigned i = 0; i < n; i++) {
		struct virtio_balloon_stat s;
		uint16_t tag;

		if (iov_cur_copy_out(&cur, &s, sizeof(s)))
			break;
		tag = le16toh(s.tag);
		if (tag >= VBAL_NR_STATS)
			continue;
		b->stats[tag] = le64toh(s.val);
		b->stats_mask |= 1U << tag;
	}
	b->stats_valid = true;
	b->stats_ns = now_ns();
	b->stats_held = true;
	b->stats_head = c->head;
}

/* Give the stats buffer back: the driver refills it with fresh figures. */
static void request_stats_locked(struct vbal *b)
{
	struct virtq *vq = b->q_stats != VBAL_NONE ? queue_locked(b, b->q_stats) : NULL;

	if (!vq || !b->stats_held)
		return; /* none held: the driver is refilling it already */
	b->stats_held = false;
	virtq_push(vq, b->stats_head, 0);
	virtio_notify(b->t, b->q_stats);
}

/* Serve one popped chain of queue (qidx). Return: bytes discarded. */
static uint64_t serve_chain_locked(struct vbal *b, struct virtq *vq, uint16_t qidx, bool *held)
{
	*held = false;
	if (qidx == VBAL_Q_INFLATE || qidx == VBAL_Q_DEFLATE)
		return serve_pfns_locked(b, qidx == VBAL_Q_INFLATE);
	if (qidx == b->q_report)
		return serve_report_locked(b);
	take_stats_locked(b, vq);
	*held = true;
	return 0;
}

/*
 * One pass over queue (qidx) within the budget. (*more) says the budget ran
 * out with work left. Return: false when the ring is malformed.
 */
static bool pass_locked(struct vbal *b, uint16_t qidx, bool *more)
{
	struct virtq *vq = queue_locked(b, qidx);
	unsigned chains = 0;
	uint64_t bytes = 0;
	bool pushed = false;
	int got = 0;

	*more = false;
	if (!vq)
		return true;
	for (;;) {
		while (chains < VBAL_PASS_CHAINS && bytes < VBAL_PASS_BYTES &&
		       (got = virtq_pop(vq, b->chain)) == 1) {
			bool held;

			chains++;
			bytes += serve_chain_locked(b, vq, qidx, &held);
			if (!held) {
				virtq_push(vq, b->chain->head, 0);
				pushed = true;
			}
		}
		if (got < 0)
			break;
		if (chains >= VBAL_PASS_CHAINS || bytes >= VBAL_PASS_BYTES) {
			*more = true;
			break;
		}
		if (!virtq_enable_notify(vq))
			break;
	}
	if (pushed)
		virtio_notify(b->t, qidx); /* only signals an irqfd */
	return got >= 0;
}

/*
 * Drop the lock, then fail the device when (broken) (virtio_dev_fail() takes
 * the transport's lock, never with ours held) and resume (resume) queues on
 * the loop's next turn.
 */
static void unlock_and_finish(struct vbal *b, bool broken, uint32_t resume)
{
	struct vpci *t = b->t;

	pthread_mutex_unlock(&b->lock);
	if (broken)
		virtio_dev_fail(t, "malformed descriptor chain");
	else if (resume)
		wake(b, resume);
}

/* queue_notify - the driver posted buffers. Context: loop thread. */
static void vbal_queue_notify(void *dev, uint16_t qidx)
{
	struct vbal *b = dev;
	bool broken, more;

	pthread_mutex_lock(&b->lock);
	broken = !pass_locked(b, qidx, &more);
	unlock_and_finish(b, broken, more && qidx < VBAL_NR_QUEUES ? 1U << qidx : 0);
}

/* The wake eventfd: resumed passes, a new target, a stats request. Context: loop thread. */
static void vbal_wake_cb(void *opaque)
{
	struct vbal *b = opaque;
	uint32_t resume = 0, bits;
	bool broken = false, active;
	uint64_t n;
	struct vpci *t;

	if (read(b->wake_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	bits = __atomic_exchange_n(&b->pending, 0, __ATOMIC_ACQUIRE);
	pthread_mutex_lock(&b->lock);
	for (uint16_t q = 0; q < VBAL_NR_QUEUES && !broken; q++) {
		bool more;

		if (!(bits & (1U << q)))
			continue;
		broken = !pass_locked(b, q, &more);
		if (more)
			resume |= 1U << q;
	}
	if (bits & VBAL_WAKE_STATS)
		request_stats_locked(b);
	active = b->active;
	t = b->t;
	unlock_and_finish(b, broken, resume);
	if ((bits & VBAL_WAKE_CONFIG) && active && !broken)
		virtio_config_changed(t);
}

/* The periodic stats timer. Context: loop thread. */
static void vbal_timer_cb(void *opaque)
{
	struct vbal *b = opaque;
	uint64_t n;

	if (read(b->timer_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&b->lock);
	request_stats_locked(b);
	pthread_mutex_unlock(&b->lock);
}

static uint64_t vbal_features(void *dev)
{
	struct vbal *b = dev;
	uint64_t f = 0;

	if (b->cfg.stats)
		f |= 1ULL << VIRTIO_BALLOON_F_STATS_VQ;
	if (b->cfg.reporting)
		f |= 1ULL << VIRTIO_BALLOON_F_REPORTING;
	if (b->cfg.deflate_on_oom)
		f |= 1ULL << VIRTIO_BALLOON_F_DEFLATE_ON_OOM;
	return f;
}

/* FEATURES_OK: number the optional queues that exist. Context: vCPU thread. Guest: acked. */
static int vbal_set_features(void *dev, uint64_t acked)
{
	struct vbal *b = dev;
	uint16_t next = 2;

	pthread_mutex_lock(&b->lock);
	b->features = acked;
	b->q_stats = b->q_report = VBAL_NONE;
	if (acked & (1ULL << VIRTIO_BALLOON_F_STATS_VQ))
		b->q_stats = next++;
	if (acked & (1ULL << VIRTIO_BALLOON_F_REPORTING))
		b->q_report = next++;
	pthread_mutex_unlock(&b->lock);
	return 0;
}

/* Context: vCPU thread; (off, len) checked against VBAL_CONFIG_SIZE by the transport. */
static void vbal_config_read(void *dev, uint32_t off, void *buf, uint32_t len)
{
	struct vbal *b = dev;
	uint32_t cfg[2];

	pthread_mutex_lock(&b->lock);
	cfg[0] = htole32(b->num_pages);
	cfg[1] = htole32(b->actual);
	pthread_mutex_unlock(&b->lock);
	memcpy(buf, (const uint8_t *)cfg + off, len);
}

/* Only actual (bytes 4-7) is the driver's to write; any part of it. Guest: off, len, buf. */
static int vbal_config_write(void *dev, uint32_t off, const void *buf, uint32_t len)
{
	struct vbal *b = dev;
	uint32_t actual;

	if (off < 4 || off + len > VBAL_CONFIG_SIZE)
		return 0;
	pthread_mutex_lock(&b->lock);
	actual = htole32(b->actual);
	memcpy((uint8_t *)&actual + (off - 4), buf, len);
	b->actual = le32toh(actual);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

/*
 * activate - Context: vCPU thread (DRIVER_OK). Every queue gets one pass on
 * the loop: a driver may post and kick before DRIVER_OK, which the transport
 * drops (Linux primes the stats queue in init_vqs(), before
 * virtio_device_ready()).
 */
static int vbal_activate(void *dev, const struct virtio_activation *act)
{
	struct vbal *b = dev;

	pthread_mutex_lock(&b->lock);
	b->t = act->transport;
	b->gm = act->gm;
	b->vqs = act->vqs;
	b->nr_vqs = act->nr_vqs;
	b->stats_held = false;
	b->stats_valid = false;
	b->active = true;
	pthread_mutex_unlock(&b->lock);
	wake(b, (1U << VBAL_NR_QUEUES) - 1);
	return 0;
}

/* reset - nothing in flight beyond the lock; a held stats buffer is dropped. Context: vCPU. */
static int vbal_reset(void *dev)
{
	struct vbal *b = dev;

	pthread_mutex_lock(&b->lock);
	b->active = false;
	b->vqs = NULL;
	b->nr_vqs = 0;
	b->stats_held = false;
	b->actual = 0;
	pthread_mutex_unlock(&b->lock);
	return 0;
}

/* destroy - after the loop has stopped. */
static void vbal_destroy(void *dev)
{
	struct vbal *b = dev;

	if (!b)
		return;
	if (b->wake_fd >= 0)
		close(b->wake_fd);
	if (b->timer_fd >= 0)
		close(b->timer_fd);
	pthread_mutex_destroy(&b->lock);
	free(b->chain);
	free(b);
}

void vbal_set_target(void *dev, uint64_t pages)
{
	struct vbal *b = dev;

	pthread_mutex_lock(&b->lock);
	if (b->ram_pages && pages > b->ram_pages)
		pages = b->ram_pages;
	b->num_pages = (uint32_t)MIN(pages, (uint64_t)UINT32_MAX);
	pthread_mutex_unlock(&b->lock);
	wake(b, VBAL_WAKE_CONFIG);
}

void vbal_request_stats(void *dev)
{
	wake(dev, VBAL_WAKE_STATS);
}

void vbal_set_ram(void *dev, uint64_t bytes)
{
	struct vbal *b = dev;

	pthread_mutex_lock(&b->lock);
	b->ram_pages = bytes / VBAL_PAGE_SIZE;
	pthread_mutex_unlock(&b->lock);
}

void vbal_get_info(void *dev, struct vbal_info *out)
{
	struct vbal *b = dev;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&b->lock);
	out->active = b->active;
	out->features = b->features;
	out->target_pages = b->num_pages;
	out->actual_pages = b->actual;
	out->stats_valid = b->stats_valid;
	if (b->stats_valid)
		out->stats_age_ms = (now_ns() - b->stats_ns) / 1000000;
	out->stats_mask = b->stats_mask;
	memcpy(out->stats, b->stats, sizeof(out->stats));
	out->inflated_pages = b->nr_inflated;
	out->deflated_pages = b->nr_deflated;
	out->reported_ranges = b->nr_ranges;
	out->reported_bytes = b->nr_range_bytes;
	out->refused = b->nr_refused;
	pthread_mutex_unlock(&b->lock);
}

int vbal_start(void *dev, struct evl *evl)
{
	struct vbal *b = dev;
	int r = evl_watch_fd(evl, b->wake_fd, vbal_wake_cb, b);

	if (!r && b->timer_fd >= 0)
		r = evl_watch_fd(evl, b->timer_fd, vbal_timer_cb, b);
	return r;
}

/* The periodic stats request, every (s) seconds from now. */
static int timer_open(struct vbal *b, unsigned s)
{
	const struct itimerspec its = {
		.it_interval = { .tv_sec = s },
		.it_value = { .tv_sec = s },
	};

	b->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (b->timer_fd < 0 || timerfd_settime(b->timer_fd, 0, &its, NULL) < 0)
		return -errno;
	return 0;
}

void *vbal_create(const struct vbal_config *cfg, char *err, size_t errlen)
{
	struct vbal *b;
	int e;

	if (cfg->stats_s > VBAL_STATS_MAX_S) {
		snprintf(err, errlen, "virtio-balloon: stats interval over %d s", VBAL_STATS_MAX_S);
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		goto err_nomem;
	b->wake_fd = b->timer_fd = -1;
	pthread_mutex_init(&b->lock, NULL);
	b->cfg = *cfg;
	b->q_stats = b->q_report = VBAL_NONE;
	b->chain = malloc(sizeof(*b->chain));
	if (!b->chain)
		goto err_destroy;
	b->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->wake_fd < 0) {
		e = errno;
		snprintf(err, errlen, "virtio-balloon: eventfd: %s", strerror(e));
		vbal_destroy(b);
		return NULL;
	}
	e = cfg->stats_s ? timer_open(b, cfg->stats_s) : 0;
	if (e) {
		snprintf(err, errlen, "virtio-balloon: timerfd: %s", strerror(-e));
		vbal_destroy(b);
		return NULL;
	}
	return b;

err_destroy:
	vbal_destroy(b);
err_nomem:
	snprintf(err, errlen, "virtio-balloon: out of memory");
	return NULL;
}

const struct virtio_dev_ops vbal_ops = {
	.name = "virtio-balloon",
	.device_id = VIRTIO_ID_BALLOON,
	.nr_queues = VBAL_NR_QUEUES,
	.max_queue_size = VBAL_QUEUE_SIZE,
	.config_size = VBAL_CONFIG_SIZE,
	.features = vbal_features,
	.set_features = vbal_set_features,
	.config_read = vbal_config_read,
	.config_write = vbal_config_write,
	.activate = vbal_activate,
	.queue_notify = vbal_queue_notify,
	.reset = vbal_reset,
	.destroy = vbal_destroy,
};
