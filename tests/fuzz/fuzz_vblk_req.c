// SPDX-License-Identifier: MIT
/*
 * fuzz_vblk_req.c: virtio-blk request parsing and completion, through the
 * device's own entry points (activate, queue_notify on the real event-loop
 * thread, io_uring completions, reset) on a small memfd guest_mem and a small
 * temporary image.
 *
 * Input: byte 0 picks ring features and the disk (read-write or read-only);
 * then each request is 8 bytes: type selector, sector, length, data fill,
 * layout (how header/data/status are cut into descriptors, direct or
 * indirect), and a rarely-used corruption byte (0xf6: the head published
 * twice; 0xf7..0xfe: see add_request() and add_chain()). Inputs are mostly valid
 * requests: invalid types, sectors, lengths and descriptor damage are chosen
 * only for a few selector values ("rarely", Cloud Hypervisor's habit), so the
 * I/O paths are reached.
 */
#include <endian.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "boot/layout.h"
#include "devices/virtio/virtio_blk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define F_RAM MiB(1)
#define F_QSIZE 16
#define F_SECTORS 128 /* 64 KiB image */
#define F_MAX_REQS 24
#define F_RING_TOP F_RAM
#define F_AVAIL (F_RING_TOP - (6 + 2 * F_QSIZE))
#define F_USED ALIGN_DOWN(F_AVAIL - (6 + 8 * F_QSIZE), 4)
#define F_DESC ALIGN_DOWN(F_USED - 16 * F_QSIZE, 16)
#define F_BUF_TOP F_DESC

struct fz {
	struct guest_mem gm;
	struct evl evl;
	int efd;
	void *dev[2]; /* read-write, read-only */
	void *cur;
	struct virtq vq;
	gpa_t buf;    /* bump allocator, grows down from F_BUF_TOP */
	uint16_t nd;  /* next free descriptor */
	uint16_t avail;
	uint16_t busy; /* descriptors used since the last flush */
};

static struct fz F;

static void fz_kick_cb(void *opaque)
{
	uint64_t n;

	if (read(F.efd, &n, sizeof(n)) == sizeof(n))
		vblk_ops.queue_notify(__atomic_load_n(&F.cur, __ATOMIC_ACQUIRE), 0);
}

static void fz_init(void)
{
	char rw[] = "/tmp/fuzz_vblk.XXXXXX", ro[] = "/tmp/fuzz_vblk.XXXXXX", err[256];
	int a = mkstemp(rw), b = mkstemp(ro);

	if (a < 0 || b < 0 || ftruncate(a, F_SECTORS * 512) || ftruncate(b, F_SECTORS * 512))
		abort();
	close(a);
	close(b);
	if (gm_create(&F.gm, F_RAM, BOOT_MMIO_HOLE_GPA))
		abort();
	F.dev[0] = vblk_create(&(struct vblk_config){ .path = rw }, err, sizeof(err));
	F.dev[1] = vblk_create(&(struct vblk_config){ .path = ro, .readonly = true }, err,
			       sizeof(err));
	unlink(rw);
	unlink(ro);
	/* a tiny ring, so requests also wait for SQEs */
	if (!F.dev[0] || !F.dev[1] || evl_init(&F.evl, 8))
		abort();
	F.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (F.efd < 0 || evl_watch_fd(&F.evl, F.efd, fz_kick_cb, NULL) || evl_start(&F.evl))
		abort();
}

static void wr(gpa_t g, const void *p, size_t n)
{
	if (gm_write(&F.gm, g, p, n))
		abort();
}

/* Buffer space below the rings; one input needs at most ~200 KiB. */
static gpa_t fz_alloc(uint32_t len)
{
	F.buf = ALIGN_DOWN(F.buf - len, 8);
	return F.buf;
}

static uint16_t used_idx(void)
{
	const uint16_t *p = gm_ptr(&F.gm, F_USED + 2, 2);

	/* pairs with the release store of used.idx in virtq_push() */
	return le16toh(__atomic_load_n(p, __ATOMIC_ACQUIRE));
}

/* Kick and wait until every published chain is used (or the ring broke). */
static void fz_flush(void)
{
	uint64_t one = 1;

	if (write(F.efd, &one, sizeof(one)) != sizeof(one))
		abort();
	for (int spin = 0; used_idx() != F.avail; spin++) {
		if (__atomic_load_n(&F.vq.vq_broken, __ATOMIC_ACQUIRE))
			break;
		if (spin > 200000) {
			fprintf(stderr, "fuzz_vblk_req: %u of %u chains completed\n", used_idx(),
				F.avail);
			abort();
		}
		if (spin > 1000)
			usleep(10);
	}
	F.busy = 0;
}

static void put_desc(gpa_t table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	struct vring_desc d = { htole64(addr), htole32(len), htole16(flags), htole16(next) };

	wr(table + 16 * (uint64_t)i, &d, sizeof(d));
}

struct seg {
	gpa_t gpa;
	uint32_t len;
	bool w;
};

/* Cut (s, n) further at the points chosen by (layout), then write the chain. */
static int add_chain(const struct seg *s, unsigned n, uint8_t layout, uint8_t bad)
{
	struct seg cut[16];
	unsigned m = 0;

	for (unsigned i = 0; i < n && m < 14; i++) {
		uint32_t at = s[i].len && (layout >> (i % 4)) & 1 ? (layout * 7u + i) % s[i].len : 0;

		if (at) {
			cut[m++] = (struct seg){ s[i].gpa, at, s[i].w };
			cut[m++] = (struct seg){ s[i].gpa + at, s[i].len - at, s[i].w };
		} else {
			cut[m++] = s[i];
		}
	}
	if (bad == 0xfe && m > 1)
		cut[0].w = true; /* writable before readable: malformed */
	bool indirect = layout & 0x80;

	if (!indirect && m > F_QSIZE)
		m = F_QSIZE;
	/* keep chains valid: never reuse a descriptor still in flight */
	if (F.busy + (indirect ? 1 : m) > F_QSIZE)
		fz_flush();
	F.busy = (uint16_t)(F.busy + (indirect ? 1 : m));
	uint16_t head = F.nd;
	gpa_t table = indirect ? fz_alloc(16 * m) : F_DESC;
	uint16_t base = indirect ? 0 : F.nd;

	for (unsigned i = 0; i < m; i++) {
		uint16_t idx = (uint16_t)((base + i) % F_QSIZE), nxt = (uint16_t)((base + i + 1) % F_QSIZE);
		uint16_t fl = (uint16_t)((cut[i].w ? VRING_DESC_F_WRITE : 0) |
					 (i + 1 < m ? VRING_DESC_F_NEXT : 0));

		if (indirect) {
			idx = (uint16_t)i;
			nxt = (uint16_t)(i + 1);
		}
		put_desc(table, idx, cut[i].gpa, cut[i].len, fl, nxt);
	}
	if (indirect) {
		put_desc(F_DESC, F.nd, table, 16 * m, VRING_DESC_F_INDIRECT, 0);
		F.nd = (uint16_t)((F.nd + 1) % F_QSIZE);
	} else {
		F.nd = (uint16_t)((F.nd + m) % F_QSIZE);
	}
	if (bad == 0xfd) /* next out of range / loop */
		put_desc(F_DESC, head, s[0].gpa, 16, VRING_DESC_F_NEXT, (uint16_t)(head + F_QSIZE * (layout & 1)));
	if (bad == 0xfc)
		put_desc(F_DESC, head, F_RAM - 8, 16, 0, 0); /* runs off the end of RAM */
	return head;
}

static void publish(uint16_t head)
{
	uint16_t v = htole16(head), idx;

	wr(F_AVAIL + 4 + 2 * (uint64_t)(F.avail % F_QSIZE), &v, 2);
	F.avail++;
	idx = htole16(F.avail);
	wr(F_AVAIL + 2, &idx, 2);
}

/* Request (p[0..7]) -> one chain. */
static void add_request(const uint8_t *p)
{
	static const uint32_t types[] = { VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_FLUSH,
					  VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_DISCARD,
					  VIRTIO_BLK_T_WRITE_ZEROES };
	uint8_t sel = p[0], bad = p[7];
	uint32_t type = sel < 0xf0 ? types[sel % 6] : (uint32_t)p[1] << 8 | p[2];
	uint64_t sector = bad == 0xfb ? UINT64_MAX - p[1] : p[1] % (F_SECTORS + 8);
	uint32_t len = bad == 0xfa ? (uint32_t)p[2] * 3 + 1 : (uint32_t)(p[2] % 17) * 512;
	struct virtio_blk_outhdr h = { htole32(type), 0, htole64(sector) };
	struct seg s[4];
	unsigned n = 0;
	gpa_t hg = fz_alloc(sizeof(h));

	wr(hg, &h, sizeof(h));
	s[n++] = (struct seg){ hg, sizeof(h), false };
	if (type == VIRTIO_BLK_T_DISCARD || type == VIRTIO_BLK_T_WRITE_ZEROES) {
		struct virtio_blk_discard_write_zeroes z = {
			htole64(sector), htole32(p[3] % 40), htole32(bad == 0xf9 ? p[3] : p[3] & 1u * (sel & 1))
		};
		gpa_t zg = fz_alloc(sizeof(z) * 2);
		wr(zg, &z, sizeof(z));
		wr(zg + sizeof(z), &z, sizeof(z));
		s[n++] = (struct seg){ zg, (uint32_t)sizeof(z) * (bad == 0xf8 ? 2 : 1), false };
	} else if (len) {
		gpa_t dg = fz_alloc(len);
		uint8_t fill[512];

		memset(fill, p[3], sizeof(fill));
		for (uint32_t o = 0; o < len; o += sizeof(fill))
			wr(dg + o, fill, MIN(sizeof(fill), (size_t)(len - o)));
		s[n++] = (struct seg){ dg, len, type != VIRTIO_BLK_T_OUT };
	}
	if (bad != 0xf7) /* no status byte */
		s[n++] = (struct seg){ fz_alloc(1), 1, true };
	uint16_t head = (uint16_t)add_chain(s, n, p[4], bad);

	publish(head);
	if (bad == 0xf6) /* the same head again while (maybe) in flight: breaks the queue */
		publish(head);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	unsigned nreq;

	if (!ready) {
		fz_init();
		ready = true;
	}
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	nreq = (unsigned)MIN((size - 1) / 8, (size_t)F_MAX_REQS);
	/* fresh rings for every input, as after a driver reset */
	static const uint8_t zeros[F_RING_TOP - F_DESC];
	wr(F_DESC, zeros, sizeof(zeros));
	F.nd = F.avail = F.busy = 0;
	F.buf = F_BUF_TOP;
	if (virtq_init(&F.vq, &F.gm, F_QSIZE, VBLK_QUEUE_SIZE, F_DESC, F_AVAIL, F_USED,
		       mode & 1, mode & 2))
		abort();
	void *dev = F.dev[(mode >> 2) & 1];
	struct virtio_activation act = {
		.gm = &F.gm, .vqs = &F.vq, .nr_vqs = 1, .evl = &F.evl,
		.features = (mode & 8 ? 1ULL << VIRTIO_BLK_F_FLUSH : 0),
	};
	if (vblk_ops.activate(dev, &act))
		abort();
	__atomic_store_n(&F.cur, dev, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < nreq; i++)
		add_request(data + 1 + 8 * i);
	fz_flush(); /* every chain comes back, unless the ring was found malformed */
	if (vblk_ops.reset(dev))
		abort();
	return 0;
}
