/* SPDX-License-Identifier: MIT */
/*
 * virtio_balloon.h: the virtio memory balloon (virtio 1.2 §5.5), with free
 * page reporting, so a guest's free memory goes back to the host.
 *
 * Features offered: VIRTIO_F_VERSION_1 (the transport's), STATS_VQ,
 * DEFLATE_ON_OOM and REPORTING (each unless turned off in vbal_config). Not
 * MUST_TELL_HOST (a deflate needs nothing from us: the pages fault back in),
 * FREE_PAGE_HINT (for migration) or PAGE_POISON (a guest that poisons free
 * pages does not use reporting without it; Linux then clears REPORTING).
 *
 * Queues. The spec lists inflateq 0, deflateq 1, statsq 2, free_page_vq 3,
 * reporting_vq 4, each of the last three existing only with its feature;
 * drivers number the queues that exist consecutively (Linux's find_vqs() skips
 * the absent ones and counts on, and QEMU always has a statsq, so its
 * reporting_vq is 3 as well): so here
 *
 *   0 inflateq, 1 deflateq,
 *   2 statsq                   when STATS_VQ is negotiated,
 *   2 + STATS_VQ reporting_vq  when REPORTING is negotiated,
 *
 * decided at FEATURES_OK (set_features); a queue the map does not name is
 * never served. The transport always has VBAL_NR_QUEUES.
 *
 * - inflateq/deflateq: each chain's readable bytes are le32 page frame
 *   numbers (4 KiB units, VIRTIO_BALLOON_PFN_SHIFT). An inflated page is
 *   discarded on the host (gm_discard(): MADV_DONTNEED or a punched hole);
 *   runs of consecutive PFNs go in one call. A deflated page needs nothing.
 *   A PFN outside guest RAM (past its end, in the MMIO hole) is refused and
 *   counted; the rest of the chain is still served. At most VBAL_MAX_PFNS per
 *   chain are looked at (Linux sends 256); the rest are ignored.
 * - statsq: the driver posts one buffer of struct virtio_balloon_stat
 *   entries (le16 tag, le64 val; 10 bytes, packed). The device keeps that
 *   chain; to ask for fresh figures it returns it (used length 0) and the
 *   driver posts it again with new values (virtio 1.2 §5.5.6.3). It asks
 *   every (stats_s) seconds, and when vbal_request_stats() is called.
 * - reporting_vq: each chain's segments are free guest ranges (Linux posts
 *   them device-writable, each at least 2 MiB and aligned to its size). Each
 *   is rounded inward to whole 4 KiB pages, discarded, and the chain
 *   returned with used length 0; the guest may reuse the pages from then on
 *   (they read as zeros). virtq_pop() already refused any segment outside
 *   RAM; gm_discard() checks again.
 *
 * Config space (virtio 1.2 §5.5.4), 8 bytes: le32 num_pages (the balloon
 * size the host asks for, in 4 KiB pages; set by vbal_set_target()), le32
 * actual (what the driver says it holds; only the driver writes it).
 *
 * Bounds: each pass over a queue serves at most VBAL_PASS_CHAINS chains and
 * discards at most VBAL_PASS_BYTES; what is left is resumed on the loop's next
 * turn (a write to the device's own wake eventfd), so one device cannot hold
 * the I/O thread. A malformed ring fails the device (NEEDS_RESET).
 */
#ifndef AGENTVMM_DEVICES_VIRTIO_VIRTIO_BALLOON_H
#define AGENTVMM_DEVICES_VIRTIO_VIRTIO_BALLOON_H

#include <linux/virtio_balloon.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/virtio_dev.h"
#include "vmm/compiler.h"

#define VBAL_NR_QUEUES 4          /* inflate, deflate, stats, reporting (at most) */
#define VBAL_QUEUE_SIZE 256       /* Linux's reporting needs >= 32 (PAGE_REPORTING_CAPACITY) */
#define VBAL_PAGE_SIZE 4096       /* 1 << VIRTIO_BALLOON_PFN_SHIFT */
#define VBAL_MAX_PFNS 4096        /* PFNs looked at per inflate/deflate chain */
#define VBAL_MAX_STATS 64         /* stat entries read from one stats buffer */
#define VBAL_NR_STATS 16          /* tags kept (Linux 6.1 sends 0..9) */
#define VBAL_PASS_CHAINS 64       /* chains per queue pass, then resume on the loop */
#define VBAL_PASS_BYTES (1ULL << 30) /* bytes discarded per pass, then resume */
#define VBAL_STATS_MAX_S 3600     /* --balloon stats=SECONDS */
#define VBAL_NONE 0xffff          /* a queue that does not exist */

_Static_assert(sizeof(struct virtio_balloon_stat) == 10, "virtio 1.2 §5.5.6.3: packed");

struct vbal_config {
	bool stats;               /* offer STATS_VQ */
	bool reporting;           /* offer REPORTING */
	bool deflate_on_oom;      /* offer DEFLATE_ON_OOM */
	unsigned stats_s;         /* ask for stats this often (0: only on request) */
};

/* What the device knows, for the control socket and the library. */
struct vbal_info {
	bool active;              /* the driver set DRIVER_OK */
	uint64_t features;        /* negotiated */
	uint32_t target_pages;    /* num_pages: the size asked for */
	uint32_t actual_pages;    /* actual: the driver's answer */
	bool stats_valid;         /* the guest sent stats since activation */
	uint64_t stats_age_ms;    /* how old they are */
	uint32_t stats_mask;      /* bit t: stats[t] was sent */
	uint64_t stats[VBAL_NR_STATS]; /* VIRTIO_BALLOON_S_* values (memory in bytes) */
	uint64_t inflated_pages, deflated_pages; /* PFNs served */
	uint64_t reported_ranges, reported_bytes; /* free page reports discarded */
	uint64_t refused;         /* PFNs or ranges outside RAM, or that failed to discard */
};

/*
 * vbal_create() - a balloon device for vbal_ops.
 * Return: the device, or NULL with a message in (err) (out of memory, no
 * eventfd or timerfd, stats_s over VBAL_STATS_MAX_S).
 * Context: setup thread.
 */
void *vbal_create(const struct vbal_config *cfg, char *err, size_t errlen);

/*
 * vbal_start() - watch the device's wake eventfd and stats timer on (evl).
 * Return: 0 or -ENOSPC (evl_watch_fd()).
 * Context: setup, before evl_start().
 */
int vbal_start(void *dev, struct evl *evl) __must_check;

/*
 * vbal_set_target() - ask the guest to hold a balloon of (pages) 4 KiB pages
 * (num_pages); the loop thread raises the config interrupt. More than the
 * guest's RAM is clamped to it.
 * Context: any thread (the control thread); does not block beyond the device lock.
 */
void vbal_set_target(void *dev, uint64_t pages);

/*
 * vbal_request_stats() - ask the guest for fresh stats now (they arrive
 * later: vbal_get_info() shows their age). Context: any thread.
 */
void vbal_request_stats(void *dev);

/* vbal_get_info() - a snapshot of the device's state. Context: any thread. */
void vbal_get_info(void *dev, struct vbal_info *out);

/* vbal_set_ram() - the guest's RAM in bytes, the bound of vbal_set_target(). Context: setup. */
void vbal_set_ram(void *dev, uint64_t bytes);

/* vbal_stat_name() - "swap_in", "mem_free"...; NULL for an unknown tag. */
const char *vbal_stat_name(unsigned tag);

/*
 * vbal_ops - threads: queue_notify, the wake eventfd and the stats timer on
 * the loop thread (pop, discard and push under the device lock);
 * set_features, config access, activate and reset on a vCPU thread (reset
 * waits only for that lock); vbal_set_target()/vbal_request_stats()/
 * vbal_get_info() on any thread. virtio_dev_fail() and
 * virtio_config_changed() are called without the device lock.
 */
extern const struct virtio_dev_ops vbal_ops;

#endif
