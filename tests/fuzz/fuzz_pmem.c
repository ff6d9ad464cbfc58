// SPDX-License-Identifier: MIT
/*
 * fuzz_pmem.c: the virtio-pmem device (devices/virtio/virtio_pmem.c) through
 * its own entry points (activate, queue_notify, config_read/write, reset) on
 * a 2 MiB memfd guest_mem, the image a memfd too (opened by vpmem_create()
 * through /proc/self/fd, so a flush's fdatasync costs nothing). The test
 * thread is the loop thread.
 *
 * Input: byte 0 picks the device (bit 0: read-only; bit 1: with bit 0, an
 * image of 1 MiB + 123 bytes whose mapping ends in zeros, else 2 MiB; the
 * writable image is a third memfd, so stores never reach the others) and the
 * ring features (bit 2: EVENT_IDX, bit 3: INDIRECT_DESC); bytes 1-2 the
 * config's gpa (in 2 MiB units). Then operations, a selector byte and its
 * arguments:
 *   0 a request: mostly a flush (rarely type 1 or any u32); the readable
 *     bytes (the le32 type, sometimes more) mostly in one 4-byte descriptor,
 *     else cut into 0 to 3 descriptors of 0 to 8 bytes; 0 to 3 writable
 *     descriptors, mostly one of 4 bytes, else 0 to 8 bytes each; with
 *     INDIRECT_DESC sometimes through an indirect table; mostly kicked
 *   1 config space: a read of 1, 2, 4 or 8 bytes within the 16 (checked),
 *     or a write (ignored: the next reads are unchanged)
 *   2 a kick of any queue number
 *   3 the mapping: a byte read (checked against the image) or, writable, a store
 *   4 rarely: a malformed chain (next out of range) or a buffer outside RAM
 *   5 rarely: reset, then activate on a fresh ring (sometimes first on a
 *     queue the driver left disabled: no request may be served)
 * After each: every used entry belongs to a published chain and has length 4
 * (its first 4 writable bytes the result: 0 for a flush, 1 for another type,
 * the rest untouched) or 0 (nothing written); a chain whose first readable
 * and first writable descriptors hold 4 bytes gets 4, one with fewer than 4
 * readable or writable bytes in all gets 0; vpmem_nr_flushes() counts the
 * flushes answered. Else abort().
 */
#include <endian.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/virtio/virtio_pmem.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define F_RAM MiB(2)
#define F_QSIZE VPMEM_QUEUE_SIZE
#define F_MAX_OPS 64
#define F_BUF_SPAN KiB(256) /* buffers, carved downwards from the ring, cyclically */
#define F_MAX_SEG 3
#define F_ODD_SIZE (MiB(1) + 123)
#define F_FILL 0xa5

/* What the harness published under one head, to check its used entry against. */
struct req {
	bool live;
	uint32_t type;                   /* the first 4 readable bytes, if there are 4 */
	uint32_t ro_total, wo_total;
	bool first_ok;                   /* first readable and first writable desc >= 4 bytes */
	unsigned nr_wo;
	gpa_t wo[F_MAX_SEG];
	uint32_t wo_len[F_MAX_SEG];
	unsigned nr_desc;                /* ring descriptors it takes */
};

static struct guest_mem *gm;
static struct fuzz_ring ring;
static struct virtq vq;
static struct req reqs[F_QSIZE];
static unsigned inflight;         /* ring descriptors of chains published, not yet used */
static bool broken;               /* a malformed ring was published: no checks until reset */
static uint64_t flushes;          /* flushes answered, per the used entries */
static uint64_t feat;
static void *dev;

static bool rarely(struct in *in)
{
	return in->n && (take(in, 1) & 0x1f) == 0;
}

static void wr(gpa_t g, const void *p, size_t n)
{
	fuzz_wr(gm, g, p, n);
}

static gpa_t falloc(uint32_t len)
{
	if (ring.buf < ring.floor + len + 16)
		ring.buf = ring.desc;
	ring.buf = ALIGN_DOWN(ring.buf - len, 16);
	return ring.buf;
}

/* The image's byte at (off): the same pattern in both memfds. */
static uint8_t pat(uint64_t off)
{
	return (uint8_t)(off * 29 + 3);
}

/* A memfd of (len) bytes of pat(); its /proc/self/fd path (kept for the whole run). */
static const char *make_image(uint64_t len, char *path, size_t plen)
{
	static uint8_t buf[65536];
	int fd = memfd_create("fuzz-pmem", MFD_CLOEXEC);

	if (fd < 0)
		abort();
	for (uint64_t off = 0; off < len;) {
		size_t n = (size_t)MIN(len - off, (uint64_t)sizeof(buf));

		for (size_t i = 0; i < n; i++)
			buf[i] = pat(off + i);
		if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n)
			abort();
		off += n;
	}
	snprintf(path, plen, "/proc/self/fd/%d", fd);
	return path;
}

/* A fresh, empty ring at the top of RAM; activate on it. */
static void bring_up(void)
{
	static const uint8_t z[16 * F_QSIZE];
	struct virtio_activation act = { .gm = gm, .vqs = &vq, .nr_vqs = 1, .features = feat };

	fuzz_ring_place(&ring, F_RAM, F_QSIZE);
	ring.buf = ring.desc;
	ring.floor = ring.desc - F_BUF_SPAN;
	wr(ring.desc, z, sizeof(z));
	wr(ring.used, z, 6 + 8 * F_QSIZE);
	wr(ring.avail, z, 6 + 2 * F_QSIZE);
	if (virtq_init(&vq, gm, F_QSIZE, F_QSIZE, ring.desc, ring.avail, ring.used,
		       feat & (1ULL << VIRTIO_RING_F_EVENT_IDX),
		       feat & (1ULL << VIRTIO_RING_F_INDIRECT_DESC)))
		abort();
	memset(reqs, 0, sizeof(reqs));
	inflight = 0;
	broken = false;
	if (vpmem_ops.set_features(dev, feat) || vpmem_ops.activate(dev, &act))
		abort();
}

static void kick(void)
{
	vpmem_ops.queue_notify(dev, 0);
}

/* Every used entry since the last look, against what was published. */
static void check_used(void)
{
	for (; ring.used_seen != vq.vq_used_idx; ring.used_seen++) {
		struct vring_used_elem e;
		struct req *r;

		if (gm_read(gm, ring.used + 4 + 8 * (uint64_t)(ring.used_seen % F_QSIZE), &e,
			    sizeof(e)))
			abort();
		e.id = le32toh(e.id);
		e.len = le32toh(e.len);
		if (e.id >= F_QSIZE || !reqs[e.id].live)
			abort();
		r = &reqs[e.id];
		if (e.len != 0 && e.len != 4)
			abort();
		if ((e.len == 0 && r->first_ok) || (e.len == 4 && (r->ro_total < 4 ||
								  r->wo_total < 4)))
			abort();
		/* the writable bytes: the result first (when answered), the rest untouched */
		uint8_t want[4], got;
		uint32_t resp = htole32(r->type == VPMEM_REQ_FLUSH ? VPMEM_RESP_OK :
								     VPMEM_RESP_EIO);
		unsigned k = 0;

		memcpy(want, &resp, 4);
		for (unsigned s = 0; s < r->nr_wo; s++) {
			for (uint32_t i = 0; i < r->wo_len[s]; i++, k++) {
				if (gm_read(gm, r->wo[s] + i, &got, 1))
					abort();
				if (got != (e.len && k < 4 ? want[k] : F_FILL))
					abort();
			}
		}
		flushes += e.len == 4 && r->type == VPMEM_REQ_FLUSH;
		inflight -= r->nr_desc;
		r->live = false;
	}
	if (vpmem_nr_flushes(dev) != flushes)
		abort();
}

/* Segment lengths into (len), their number the return: mostly one of 4, else 0..3 of 0..8. */
static unsigned seg_lens(struct in *in, uint32_t *len)
{
	unsigned n;

	if (!rarely(in) && (take(in, 1) & 3)) {
		len[0] = 4;
		return 1;
	}
	n = take(in, 1) % (F_MAX_SEG + 1);
	for (unsigned i = 0; i < n; i++)
		len[i] = take(in, 1) % 9;
	return n;
}

static void op_request(struct in *in)
{
	uint32_t ro_len[F_MAX_SEG], wo_len[F_MAX_SEG], type, le;
	uint8_t stream[F_MAX_SEG * 8] = { 0 };
	struct vring_desc tab[2 * F_MAX_SEG];
	uint64_t a[2 * F_MAX_SEG];
	uint32_t l[2 * F_MAX_SEG];
	bool w[2 * F_MAX_SEG];
	unsigned nr_ro, nr_wo, n = 0, off = 0;
	bool indirect;

	if (broken)
		return;
	type = rarely(in) ? take(in, 4) : rarely(in) ? 1 : VPMEM_REQ_FLUSH;
	nr_ro = seg_lens(in, ro_len);
	nr_wo = seg_lens(in, wo_len);
	if (!nr_ro && !nr_wo)
		nr_wo = 1, wo_len[0] = 4;
	indirect = (feat & (1ULL << VIRTIO_RING_F_INDIRECT_DESC)) && (take(in, 1) & 7) == 0;
	le = htole32(type);
	memcpy(stream, &le, 4);
	for (unsigned i = 4; i < sizeof(stream); i++)
		stream[i] = (uint8_t)take(in, 1);

	struct req r = { .live = true, .type = type, .nr_wo = nr_wo,
			 .first_ok = nr_ro && ro_len[0] >= 4 && nr_wo && wo_len[0] >= 4 };
	for (unsigned i = 0; i < nr_ro; i++, n++) {
		a[n] = falloc(ro_len[i] ? ro_len[i] : 1);
		l[n] = ro_len[i];
		w[n] = false;
		if (ro_len[i])
			wr(a[n], stream + off, ro_len[i]);
		off += ro_len[i];
	}
	r.ro_total = off;
	for (unsigned i = 0; i < nr_wo; i++, n++) {
		uint8_t fill[8];

		memset(fill, F_FILL, sizeof(fill));
		a[n] = falloc(wo_len[i] ? wo_len[i] : 1);
		l[n] = wo_len[i];
		w[n] = true;
		if (wo_len[i])
			wr(a[n], fill, wo_len[i]);
		r.wo[i] = a[n];
		r.wo_len[i] = wo_len[i];
		r.wo_total += wo_len[i];
	}
	if (r.ro_total < 4)
		r.type = ~0U; /* never read: no expected result */
	r.nr_desc = indirect ? 1 : n;
	if (inflight + r.nr_desc > F_QSIZE) {
		kick(); /* the device answers everything at once: room again */
		check_used();
		if (inflight + r.nr_desc > F_QSIZE)
			abort();
	}
	uint16_t head = ring.nd;
	if (indirect) {
		gpa_t t = falloc(16 * n);

		for (unsigned i = 0; i < n; i++)
			tab[i] = (struct vring_desc){
				htole64(a[i]), htole32(l[i]),
				htole16((uint16_t)((w[i] ? VRING_DESC_F_WRITE : 0) |
						   (i + 1 < n ? VRING_DESC_F_NEXT : 0))),
				htole16((uint16_t)(i + 1)) };
		wr(t, tab, 16 * n);
		fuzz_put_desc(gm, &ring, head, t, 16 * n, VRING_DESC_F_INDIRECT, 0);
		ring.nd = (uint16_t)((ring.nd + 1) % F_QSIZE);
		fuzz_publish(gm, &ring, head);
	} else {
		fuzz_chain(gm, &ring, a, l, w, false, n);
	}
	reqs[head] = r;
	inflight += r.nr_desc;
	if (take(in, 1) % 8)
		kick();
}

/* Config space: le64 gpa, le64 mapped length (every image here rounds up to 2 MiB). */
static void op_config(struct in *in, uint64_t gpa, uint64_t len)
{
	static const uint32_t lens[] = { 1, 2, 4, 8 };
	uint32_t n = lens[take(in, 1) % 4], off = take(in, 1) % (16 - n + 1);
	uint8_t want[16], got[8];

	if (take(in, 1) & 1) {
		uint64_t v = (uint64_t)take(in, 4) << 32 | take(in, 4);

		if (vpmem_ops.config_write(dev, off, &v, n))
			abort();
	}
	for (int i = 0; i < 8; i++) {
		want[i] = (uint8_t)(gpa >> (8 * i));
		want[8 + i] = (uint8_t)(len >> (8 * i));
	}
	vpmem_ops.config_read(dev, off, got, n);
	if (memcmp(got, want + off, n))
		abort();
}

/* The mapping: the image, zeros past its end; writable: a store stays. */
static void op_mapping(struct in *in, bool ro, uint64_t file_len)
{
	uint8_t *m;
	uint64_t len, off;
	void *hva;

	vpmem_mapping(dev, &hva, &len);
	m = hva;
	off = ((uint64_t)take(in, 3) << 1 | (take(in, 1) & 1)) % len;
	if (ro) {
		if (m[off] != (off < file_len ? pat(off) : 0))
			abort();
	} else {
		uint8_t v = (uint8_t)take(in, 1);

		m[off] = v;
		if (m[off] != v)
			abort();
	}
}

static void op_damage(struct in *in)
{
	uint16_t d;

	if (inflight >= F_QSIZE) {
		kick(); /* its descriptor must not overwrite a pending chain's */
		check_used();
	}
	d = ring.nd;

	if (take(in, 1) & 1)
		fuzz_put_desc(gm, &ring, d, falloc(16), 16, VRING_DESC_F_NEXT,
			      (uint16_t)(F_QSIZE + take(in, 1)));
	else
		fuzz_put_desc(gm, &ring, d, F_RAM - (take(in, 1) % 8), 16, 0, 0);
	fuzz_publish(gm, &ring, d);
	ring.nd = (uint16_t)((ring.nd + 1) % F_QSIZE);
	broken = true;
	kick();
	check_used(); /* the chains before it were served normally */
	if (!__atomic_load_n(&vq.vq_broken, __ATOMIC_ACQUIRE))
		abort(); /* virtq_pop() must have refused it, and the device stopped there */
}

static void op_reset(struct in *in)
{
	if (vpmem_ops.reset(dev))
		abort();
	if (take(in, 1) & 1) {
		/* the driver left the queue disabled (size 0): kicks do nothing */
		struct virtq none = { 0 };
		struct virtio_activation act = { .gm = gm, .vqs = &none, .nr_vqs = 1,
						 .features = feat };
		uint16_t before = vq.vq_used_idx;

		if (vpmem_ops.activate(dev, &act))
			abort();
		kick();
		if (vq.vq_used_idx != before)
			abort();
		if (vpmem_ops.reset(dev))
			abort();
	}
	/* chains published before the reset are the old session's: forget them */
	ring.used_seen = 0;
	flushes = vpmem_nr_flushes(dev);
	bring_up();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path_rw[64], path_even[64], path_odd[64];
	struct in in = { data, size };
	char err[256];

	if (!gm) {
		gm = fuzz_gm(F_RAM);
		make_image(VPMEM_ALIGN, path_rw, sizeof(path_rw));
		make_image(VPMEM_ALIGN, path_even, sizeof(path_even));
		make_image(F_ODD_SIZE, path_odd, sizeof(path_odd));
	}
	unsigned fb = take(&in, 1);
	bool ro = fb & 1, odd = ro && (fb & 2);
	struct vpmem_config c = { .path = !ro ? path_rw : odd ? path_odd : path_even,
				  .readonly = ro };
	uint64_t file_len = odd ? F_ODD_SIZE : VPMEM_ALIGN;
	uint64_t gpa = (uint64_t)take(&in, 2) << 21;

	feat = (fb & 4 ? 1ULL << VIRTIO_RING_F_EVENT_IDX : 0) |
	       (fb & 8 ? 1ULL << VIRTIO_RING_F_INDIRECT_DESC : 0);
	dev = vpmem_create(&c, err, sizeof(err));
	if (!dev) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	vpmem_set_gpa(dev, gpa);
	flushes = 0;
	ring.used_seen = 0;
	bring_up();
	for (unsigned i = 0; i < F_MAX_OPS && in.n; i++) {
		switch (take(&in, 1) % 8) {
		case 0:
		case 1:
			op_request(&in);
			break;
		case 2:
			op_config(&in, gpa, VPMEM_ALIGN);
			break;
		case 3:
			vpmem_ops.queue_notify(dev, (uint16_t)(rarely(&in) ? take(&in, 2) : 0));
			break;
		case 4:
			op_mapping(&in, ro, file_len);
			break;
		case 5:
			if (rarely(&in))
				op_damage(&in);
			break;
		case 6:
			if (rarely(&in))
				op_reset(&in);
			break;
		default:
			kick();
			break;
		}
		if (!broken)
			check_used();
	}
	if (vpmem_ops.reset(dev))
		abort();
	vpmem_ops.destroy(dev);
	dev = NULL;
	return 0;
}
