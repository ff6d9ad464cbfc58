// SPDX-License-Identifier: MIT
/*
 * test_virtio_blk.c: the real virtio-blk device on a real image file, a real
 * event loop (queue_notify arrives through a watched eventfd, as from the
 * transport's ioeventfd) and rings written by th_vq_driver in real guest RAM.
 * The transport is absent (activation.transport = NULL): virtio_notify() and
 * virtio_dev_fail() of virtio_pci.c accept NULL.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/virtio/virtio_blk.h"
#include "tests/helpers/th.h"
#include "tests/helpers/th_vq_driver.h"

#define IMG_SECTORS 2048 /* 1 MiB image */
#define RAM MiB(8)

struct tb {
	struct guest_mem gm;
	struct th_vq drv[2];
	struct virtq vq[2];
	struct evl evl;
	int kick_efd;
	uint16_t kick_q;
	void *dev;
	char path[64];
};

/* Loop thread: what the transport's ioeventfd watcher does. */
static void kick_cb(void *opaque)
{
	struct tb *t = opaque;
	uint64_t n;

	if (read(t->kick_efd, &n, sizeof(n)) == sizeof(n))
		vblk_ops.queue_notify(t->dev, __atomic_load_n(&t->kick_q, __ATOMIC_ACQUIRE));
}

static void make_image(struct tb *t, uint64_t size)
{
	int fd;

	snprintf(t->path, sizeof(t->path), "/tmp/test_vblk.XXXXXX");
	fd = mkstemp(t->path);
	assert_true(fd >= 0);
	uint8_t *buf = malloc(size);
	for (uint64_t i = 0; i < size; i++)
		buf[i] = (uint8_t)(i * 7 + (i >> 9));
	assert_int_equal(write(fd, buf, size), (ssize_t)size);
	free(buf);
	close(fd);
}

static void *blk_open(struct tb *t, bool ro, uint16_t nq, const char *serial)
{
	struct vblk_config cfg = { .path = t->path, .readonly = ro, .nr_queues = nq,
				   .serial = serial };
	char err[256] = "";
	void *dev = vblk_create(&cfg, err, sizeof(err));

	if (!dev)
		fail_msg("vblk_create: %s", err);
	return dev;
}

/* Bring up RAM, rings, the loop (started when (start)) and an activated device. */
static struct tb *tb_setup_loop(bool ro, uint16_t nq, uint64_t features, unsigned ring_entries,
				bool start)
{
	struct tb *t = calloc(1, sizeof(*t));

	th_gm_create(&t->gm, RAM);
	th_vq_init_at(&t->drv[0], &t->gm, 256, RAM);
	th_vq_bind(&t->drv[0], &t->vq[0], true, true);
	if (nq > 1) {
		th_vq_init_at(&t->drv[1], &t->gm, 256, RAM / 2);
		th_vq_bind(&t->drv[1], &t->vq[1], true, true);
	}
	make_image(t, IMG_SECTORS * 512);
	t->dev = blk_open(t, ro, nq, NULL);
	assert_int_equal(evl_init(&t->evl, ring_entries), 0);
	t->kick_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_int_equal(evl_watch_fd(&t->evl, t->kick_efd, kick_cb, t), 0);
	if (start)
		assert_int_equal(evl_start(&t->evl), 0);
	struct virtio_activation act = { .gm = &t->gm, .vqs = t->vq, .nr_vqs = nq,
					 .features = features, .transport = NULL, .evl = &t->evl };
	assert_int_equal(vblk_ops.activate(t->dev, &act), 0);
	return t;
}

static struct tb *tb_setup(bool ro, uint16_t nq, uint64_t features, unsigned ring_entries)
{
	return tb_setup_loop(ro, nq, features, ring_entries, true);
}

#define FEAT_STD (1ULL << VIRTIO_BLK_F_FLUSH | 1ULL << VIRTIO_RING_F_EVENT_IDX)

static void tb_teardown(struct tb *t)
{
	assert_int_equal(vblk_ops.reset(t->dev), 0);
	evl_fini(&t->evl);
	vblk_ops.destroy(t->dev);
	close(t->kick_efd);
	unlink(t->path);
	gm_destroy(&t->gm);
	free(t);
}

static void kick(struct tb *t, uint16_t q)
{
	uint64_t one = 1;

	__atomic_store_n(&t->kick_q, q, __ATOMIC_RELEASE);
	assert_int_equal(write(t->kick_efd, &one, sizeof(one)), sizeof(one));
}

/* Wait (5 s at most) for the next used entry of queue (q). */
static void wait_used_q(struct tb *t, uint16_t q, uint32_t *id, uint32_t *len)
{
	for (int i = 0; i < 5000; i++) {
		if (th_vq_get_used(&t->drv[q], id, len))
			return;
		usleep(1000);
	}
	fail_msg("no used entry on queue %u", q);
}

static gpa_t put_hdr(struct tb *t, uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = { .type = htole32(type), .sector = htole64(sector) };
	gpa_t g = th_vq_alloc(&t->drv[0], sizeof(h));

	assert_int_equal(gm_write(&t->gm, g, &h, sizeof(h)), 0);
	return g;
}

static uint8_t rd8(struct tb *t, gpa_t g)
{
	uint8_t v;

	assert_int_equal(gm_read(&t->gm, g, &v, 1), 0);
	return v;
}

/*
 * One request: header, (len) data bytes at (data) (device-writable when
 * (wr_data)), status byte. Returns the status; *used gets the used length.
 */
static uint8_t do_req(struct tb *t, uint32_t type, uint64_t sector, gpa_t data, uint32_t len,
		      bool wr_data, uint32_t *used)
{
	gpa_t st = th_vq_alloc(&t->drv[0], 1);
	struct th_seg s[3] = { { put_hdr(t, type, sector), 16, false } };
	unsigned n = 1;
	uint32_t id, l;

	if (len)
		s[n++] = (struct th_seg){ data, len, wr_data };
	s[n++] = (struct th_seg){ st, 1, true };
	assert_int_equal(gm_write(&t->gm, st, "\xee", 1), 0);
	uint16_t head = th_vq_add_chain(&t->drv[0], s, n);
	th_vq_publish(&t->drv[0], head);
	kick(t, 0);
	wait_used_q(t, 0, &id, &l);
	assert_int_equal(id, head);
	if (used)
		*used = l;
	return rd8(t, st);
}

static void file_read(struct tb *t, uint64_t off, void *buf, size_t len)
{
	int fd = open(t->path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void test_vblk_write_then_read_round_trips_through_file(void **state)
{
	struct tb *t = tb_setup(false, 1, FEAT_STD, 64);
	uint8_t pat[4096], got[4096];
	uint32_t used;
	gpa_t buf = th_vq_alloc(&t->drv[0], sizeof(pat));

	for (unsigned i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(0xa5 ^ i);
	assert_int_equal(gm_write(&t->gm, buf, pat, sizeof(pat)), 0);
	assert_int_equal(do_req(t, VIRTIO_BLK_T_OUT, 3, buf, sizeof(pat), false, &used),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	file_read(t, 3 * 512, got, sizeof(got));
	assert_memory_equal(got, pat, sizeof(pat));

	gpa_t in = th_vq_alloc(&t->drv[0], sizeof(pat));
	assert_int_equal(do_req(t, VIRTIO_BLK_T_IN, 3, in, sizeof(pat), true, &used),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(used, sizeof(pat) + 1);
	assert_int_equal(gm_read(&t->gm, in, got, sizeof(got)), 0);
	assert_memory_equal(got, pat, sizeof(pat));
	tb_teardown(t);
}

static void test_vblk_flush_completes_after_data_is_in_file(void **state)
{
	struct tb *t = tb_setup(false, 1, FEAT_STD, 64);
	uint8_t pat[512], got[512];
	gpa_t buf = th_vq_alloc(&t->drv[0], sizeof(pat));
	uint32_t used;

	memset(pat, 0x5c, sizeof(pat));
	assert_int_equal(gm_write(&t->gm, buf, pat, sizeof(pat)), 0);
	assert_int_equal(do_req(t, VIRTIO_BLK_T_OUT, IMG_SECTORS - 1, buf, 512, false, NULL), 0);
	assert_int_equal(do_req(t, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	file_read(t, (IMG_SECTORS - 1) * 512, got, sizeof(got));
	assert_memory_equal(got, pat, sizeof(pat));
	tb_teardown(t);
}

static void test_vblk_write_without_flush_feature_is_write_through(void **state)
{
	struct tb *t = tb_setup(false, 1, 0, 64);
	uint8_t pat[1024], got[1024];
	gpa_t buf = th_vq_alloc(&t->drv[0], sizeof(pat));

	memset(pat, 0x42, sizeof(pat));
	assert_int_equal(gm_write(&t->gm, buf, pat, sizeof(pat)), 0);
	assert_int_equal(do_req(t, VIRTIO_BLK_T_OUT, 10, buf, sizeof(pat), false, NULL), 0);
	file_read(t, 10 * 512, got, sizeof(got));
	assert_memory_equal(got, pat, sizeof(pat));
	tb_teardown(t);
}

static void test_vblk_bad_ranges_fail_with_ioerr(void **state)
{
	struct tb *t = tb_setup(false, 1, FEAT_STD, 64);
	gpa_t buf = th_vq_alloc(&t->drv[0], 1024);
	uint32_t used;

	/* last sector: fine; one past: IOERR with only the status counted */
	assert_int_equal(do_req(t, VIRTIO_BLK_T_IN, IMG_SECTORS - 1, buf, 512, true, &used), 0);
	assert_int_equal(used, 513);
	assert_int_equal(do_req(t, VIRTIO_BLK_T_IN, IMG_SECTORS - 1, buf, 1024, true, &used),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	assert_int_equal(do_req(t, VIRTIO_BLK_T_OUT, IMG_SECTORS, buf, 512, false, &used),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	/* sector + len/512 wraps around 2^64 */
	assert_int_equal(do_req(t, VIRTIO_BLK_T_IN, UINT64_MAX - 1, buf, 1024, true, &used),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_req(t, VIRTIO_BLK_T_OUT, UINT64_MAX, buf, 512, false, &used),
			 VIRTIO_BLK_S_IOERR);
	/* not a whole number of sectors */
	assert_int_equal(do_req(t, VIRTIO_BLK_T_IN, 0, buf, 700, true, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	assert_int_equal(do_req(t, VIRTIO_BLK_T_OUT, 0, buf, 100, false, NULL), VIRTIO_BLK_S_IOERR);
	/* empty read: nothing to do */
	assert_int_equal(do_req(t, VIRTIO_BLK_T_IN, 0, 0, 0, true, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	tb_teardown(t);
}

static void test_vblk_unknown_type_is_unsupp(void **state)
{
	struct tb *t = tb_setup(false, 1, FEAT_STD, 64);
	uint32_t used;

	assert_int_equal(do_req(t, 0x1234, 0, 0, 0, false, &used), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(used, 1);
	assert_int_equal(do_req(t, VIRTIO_BLK_T_SCSI_CMD, 0, 0, 0, false, NULL),
			 VIRTIO_BLK_S_UNSUPP);
	tb_teardown(t);
}

static void test_vblk_readonly_rejects_writes_file_unchanged(void **state)
{
	struct tb *t = tb_setup(true, 1, FEAT_STD, 64);
	uint8_t before[4096], after[4096];
	gpa_t buf = th_vq_alloc(&t->drv[0], 4096);
	struct virtio_blk_discard_write_zeroes seg = { .sector = 0, .num_sectors = htole32(8) };
	gpa_t sg = th_vq_alloc(&t->drv[0], sizeof(seg));

	assert_true(vblk_ops.features(t->dev) & (1ULL << VIRTIO_BLK_F_RO));
	file_read(t, 0, before, sizeof(before));
	assert_int_equal(gm_write(&t->gm, buf, "\0\0\0\0", 4), 0);
	assert_int_equal(do_req(t, VIRTIO_BLK_T_OUT, 0, buf, 4096, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(gm_write(&t->gm, sg, &seg, sizeof(seg)), 0);
	assert_int_equal(do_req(t, VIRTIO_BLK_T_WRITE_ZEROES, 0, sg, 16, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_req(t, VIRTIO_BLK_T_DISCARD, 0, sg, 16, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_req(t, VIRTIO_BLK_T_IN, 0, buf, 4096, true, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(do_req(t, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
	file_read(t, 0, after, sizeof(after));
	assert_memory_equal(before, after, sizeof(before));
	tb_teardown(t);
}

/* GET_ID into a (buflen) buffer: (want, cmp) are the first bytes, (wlen) the bytes written. */
static void check_get_id(struct tb *t, uint32_t buflen, const char *want, uint32_t cmp,
			 uint32_t wlen)
{
	uint8_t got[64];
	gpa_t buf = th_vq_alloc(&t->drv[0], buflen);
	uint32_t used;

	memset(got, 0xff, sizeof(got));
	assert_int_equal(gm_write(&t->gm, buf, got, buflen), 0);
	assert_int_equal(do_req(t, VIRTIO_BLK_T_GET_ID, 0, buf, buflen, true, &used), 0);
	assert_int_equal(used, wlen + 1);
	assert_int_equal(gm_read(&t->gm, buf, got, buflen), 0);
	assert_memory_equal(got, want, cmp);
	if (buflen > wlen)
		assert_int_equal(got[wlen], 0xff); /* nothing past the 20 bytes */
}

static void test_vblk_get_id_truncated_to_20_bytes(void **state)
{
	struct tb *t = tb_setup(false, 1, FEAT_STD, 64);

	vblk_ops.reset(t->dev);
	vblk_ops.destroy(t->dev);
	t->dev = blk_open(t, false, 1, "0123456789abcdefghijKLMNOP");
	struct virtio_activation act = { .gm = &t->gm, .vqs = t->vq, .nr_vqs = 1,
					 .features = FEAT_STD, .evl = &t->evl };
	assert_int_equal(vblk_ops.activate(t->dev, &act), 0);
	check_get_id(t, 24, "0123456789abcdefghij", 20, 20);
	check_get_id(t, 8, "01234567", 8, 8);
	vblk_ops.reset(t->dev);
	vblk_ops.destroy(t->dev);
	t->dev = blk_open(t, false, 1, "abc");
	assert_int_equal(vblk_ops.activate(t->dev, &act), 0);
	check_get_id(t, 21, "abc\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20, 20);
	vblk_ops.reset(t->dev);
	vblk_ops.destroy(t->dev);
	t->dev = blk_open(t, false, 1, NULL); /* default: "av" + dev + inode */
	assert_int_equal(vblk_ops.activate(t->dev, &act), 0);
	check_get_id(t, 20, "av", 2, 20);
	tb_teardown(t);
}

static uint8_t zero_req(struct tb *t, uint32_t type, uint64_t sector, uint32_t nr, uint32_t flags,
			unsigned nseg)
{
	struct virtio_blk_discard_write_zeroes seg[2] = {
		{ htole64(sector), htole32(nr), htole32(flags) },
		{ htole64(sector), htole32(nr), htole32(flags) },
	};
	gpa_t g = th_vq_alloc(&t->drv[0], sizeof(seg));

	assert_int_equal(gm_write(&t->gm, g, seg, sizeof(seg)), 0);
	return do_req(t, type, 0, g, (uint32_t)(nseg * sizeof(seg[0])), false, NULL);
}

static void test_vblk_discard_and_write_zeroes_ranges(void **state)
{
	struct tb *t = tb_setup(false, 1, FEAT_STD, 64);
	uint8_t got[8 * 512], zero[8 * 512] = { 0 }, edge[512], edge2[512];

	file_read(t, 15 * 512, edge, sizeof(edge));
	file_read(t, 24 * 512, edge2, sizeof(edge2));
	assert_int_equal(zero_req(t, VIRTIO_BLK_T_WRITE_ZEROES, 16, 8, 0, 1), 0);
	file_read(t, 16 * 512, got, sizeof(got));
	assert_memory_equal(got, zero, sizeof(got));
	file_read(t, 15 * 512, got, 512);
	assert_memory_equal(got, edge, 512); /* neighbours untouched */
	file_read(t, 24 * 512, got, 512);
	assert_memory_equal(got, edge2, 512);
	assert_int_equal(zero_req(t, VIRTIO_BLK_T_WRITE_ZEROES, 64, 8,
				  VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, 1), 0);
	file_read(t, 64 * 512, got, sizeof(got));
	assert_memory_equal(got, zero, sizeof(got));
	/* discard on ext4/tmpfs punches a hole: reads back as zeros */
	assert_int_equal(zero_req(t, VIRTIO_BLK_T_DISCARD, 128, 8, 0, 1), 0);
	assert_int_equal(zero_req(t, VIRTIO_BLK_T_DISCARD, IMG_SECTORS - 8, 8, 0, 1), 0);
	assert_int_equal(zero_req(t, VIRTIO_BLK_T_DISCARD, 0, 0, 0, 1), 0);
	/* bad ranges and flags */
	assert_int_equal(zero_req(t, VIRTIO_BLK_T_DISCARD, IMG_SECTORS - 7, 8, 0, 1),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(zero_req(t, VIRTIO_BLK_T_WRITE_ZEROES, UINT64_MAX - 2, 8, 0, 1),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(zero_req(t, VIRTIO_BLK_T_WRITE_ZEROES, 0, UINT32_MAX, 0, 1),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(zero_req(t, VIRTIO_BLK_T_DISCARD, 0, 8, 0, 2), VIRTIO_BLK_S_IOERR);
	assert_int_equal(zero_req(t, VIRTIO_BLK_T_DISCARD, 0, 8, 0, 0), VIRTIO_BLK_S_IOERR);
	assert_int_equal(zero_req(t, VIRTIO_BLK_T_DISCARD, 0, 8,
				  VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, 1), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(zero_req(t, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0x4, 1),
			 VIRTIO_BLK_S_UNSUPP);
	tb_teardown(t);
}

static void test_vblk_chain_without_status_byte_used_len_0(void **state)
{
	struct tb *t = tb_setup(false, 1, FEAT_STD, 64);
	gpa_t data = th_vq_alloc(&t->drv[0], 512);
	struct th_seg s[2] = { { put_hdr(t, VIRTIO_BLK_T_OUT, 0), 16, false },
			       { data, 512, false } };
	uint32_t id, len;

	uint16_t head = th_vq_add_chain(&t->drv[0], s, 2);
	th_vq_publish(&t->drv[0], head);
	/* a zero-length writable descriptor holds no status byte either */
	struct th_seg s2[2] = { { put_hdr(t, VIRTIO_BLK_T_IN, 0), 16, false }, { data, 0, true } };
	uint16_t head2 = th_vq_add_chain(&t->drv[0], s2, 2);
	th_vq_publish(&t->drv[0], head2);
	kick(t, 0);
	wait_used_q(t, 0, &id, &len);
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
	wait_used_q(t, 0, &id, &len);
	assert_int_equal(id, head2);
	assert_int_equal(len, 0);
	/* the queue still works */
	assert_int_equal(do_req(t, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, NULL), 0);
	tb_teardown(t);
}

static void test_vblk_header_split_and_status_in_data_segment(void **state)
{
	struct tb *t = tb_setup(false, 1, FEAT_STD, 64);
	struct virtio_blk_outhdr h = { .type = htole32(VIRTIO_BLK_T_IN), .sector = htole64(5) };
	gpa_t hg = th_vq_alloc(&t->drv[0], 16), io = th_vq_alloc(&t->drv[0], 513);
	uint8_t want[512], got[512];
	uint32_t id, len;

	assert_int_equal(gm_write(&t->gm, hg, &h, sizeof(h)), 0);
	/* header in 3 pieces (one empty), data and status in one writable buffer */
	struct th_seg s[5] = { { hg, 5, false }, { hg + 5, 0, false }, { hg + 5, 7, false },
			       { hg + 12, 4, false }, { io, 513, true } };
	uint16_t head = th_vq_add_chain(&t->drv[0], s, 5);
	th_vq_publish(&t->drv[0], head);
	kick(t, 0);
	wait_used_q(t, 0, &id, &len);
	assert_int_equal(id, head);
	assert_int_equal(len, 513);
	assert_int_equal(rd8(t, io + 512), VIRTIO_BLK_S_OK);
	assert_int_equal(gm_read(&t->gm, io, got, 512), 0);
	file_read(t, 5 * 512, want, 512);
	assert_memory_equal(got, want, 512);
	/* header cut short (12 bytes readable): IOERR, not a crash */
	struct th_seg s2[2] = { { hg, 12, false }, { io, 1, true } };
	head = th_vq_add_chain(&t->drv[0], s2, 2);
	th_vq_publish(&t->drv[0], head);
	kick(t, 0);
	wait_used_q(t, 0, &id, &len);
	assert_int_equal(len, 1);
	assert_int_equal(rd8(t, io), VIRTIO_BLK_S_IOERR);
	tb_teardown(t);
}

static void test_vblk_malformed_chain_fails_device(void **state)
{
	struct tb *t = tb_setup(false, 1, FEAT_STD, 64);
	gpa_t hg = put_hdr(t, VIRTIO_BLK_T_FLUSH, 0);

	/* next out of range */
	th_vq_write_desc(&t->drv[0], t->drv[0].desc, 0, hg, 16, VRING_DESC_F_NEXT, 999);
	th_vq_publish(&t->drv[0], 0);
	kick(t, 0);
	for (int i = 0; i < 2000 && !__atomic_load_n(&t->vq[0].vq_broken, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	assert_true(__atomic_load_n(&t->vq[0].vq_broken, __ATOMIC_ACQUIRE));
	/* later chains are not served: the driver must reset */
	t->drv[0].next_desc = 1;
	uint16_t head = th_vq_add_chain(&t->drv[0], (struct th_seg[]){ { hg, 16, false },
					{ th_vq_alloc(&t->drv[0], 1), 1, true } }, 2);
	th_vq_publish(&t->drv[0], head);
	kick(t, 0);
	usleep(50000);
	assert_int_equal(th_vq_used_idx(&t->drv[0]), 0);
	tb_teardown(t);
}

/*
 * Fill the queue: 256 indirect chains (one descriptor each) of mixed reads and
 * writes on a 16-entry io_uring, so requests wait for SQEs.
 */
static void test_vblk_full_queue_all_complete(void **state)
{
	struct tb *t = tb_setup(false, 1, FEAT_STD, 16);
	enum { N = 256, SZ = 2048 };
	gpa_t data[N], st[N];
	uint16_t heads[N];
	uint8_t seen[N] = { 0 };
	uint32_t id, len;

	for (unsigned i = 0; i < N; i++) {
		bool wr = i % 2;
		uint8_t fill[SZ];

		data[i] = th_vq_alloc(&t->drv[0], SZ);
		st[i] = th_vq_alloc(&t->drv[0], 1);
		memset(fill, (int)i, SZ);
		assert_int_equal(gm_write(&t->gm, data[i], fill, SZ), 0);
		struct th_seg s[3] = { { put_hdr(t, wr ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN,
						 (uint64_t)i * (SZ / 512)), 16, false },
				       { data[i], SZ, !wr }, { st[i], 1, true } };
		heads[i] = th_vq_add_indirect(&t->drv[0], NULL, 0, s, 3);
		th_vq_publish(&t->drv[0], heads[i]);
	}
	kick(t, 0);
	for (unsigned n = 0; n < N; n++) {
		wait_used_q(t, 0, &id, &len);
		assert_true(id < N);
		unsigned i = id; /* heads are 0..255 in order */
		assert_int_equal(heads[i], id);
		assert_false(seen[i]);
		seen[i] = 1;
		assert_int_equal(rd8(t, st[i]), VIRTIO_BLK_S_OK);
		assert_int_equal(len, i % 2 ? 1 : SZ + 1);
	}
	for (unsigned i = 1; i < N; i += 2) {
		uint8_t got[SZ], want[SZ];

		memset(want, (int)i, SZ);
		file_read(t, (uint64_t)i * SZ, got, SZ);
		assert_memory_equal(got, want, SZ);
	}
	tb_teardown(t);
}

/* The image shrank under us: a read inside the capacity past EOF reads zeros. */
static void test_vblk_read_past_eof_zero_fills(void **state)
{
	struct tb *t = tb_setup(false, 1, FEAT_STD, 64);
	gpa_t buf = th_vq_alloc(&t->drv[0], 2048);
	uint8_t got[2048], want[2048];

	assert_int_equal(truncate(t->path, 100 * 512 + 1024), 0);
	memset(want, 0, sizeof(want));
	file_read(t, 100 * 512, want, 1024);
	assert_int_equal(do_req(t, VIRTIO_BLK_T_IN, 100, buf, 2048, true, NULL), 0);
	assert_int_equal(gm_read(&t->gm, buf, got, sizeof(got)), 0);
	assert_memory_equal(got, want, sizeof(got));
	tb_teardown(t);
}

/* reset() on a "vCPU" thread while requests are in flight, then activate again. */
static void test_vblk_reset_with_inflight_then_reactivate(void **state)
{
	struct tb *t = tb_setup(false, 1, FEAT_STD, 16);
	enum { N = 64 };

	for (unsigned i = 0; i < N; i++) {
		struct th_seg s[3] = { { put_hdr(t, VIRTIO_BLK_T_IN, i), 16, false },
				       { th_vq_alloc(&t->drv[0], 4096), 4096, true },
				       { th_vq_alloc(&t->drv[0], 1), 1, true } };
		th_vq_publish(&t->drv[0], th_vq_add_indirect(&t->drv[0], NULL, 0, s, 3));
	}
	kick(t, 0);
	usleep(200);
	assert_int_equal(vblk_ops.reset(t->dev), 0);
	/* new rings, as a driver re-initialising the device */
	th_vq_init_at(&t->drv[0], &t->gm, 128, RAM);
	th_vq_bind(&t->drv[0], &t->vq[0], false, false);
	struct virtio_activation act = { .gm = &t->gm, .vqs = t->vq, .nr_vqs = 1,
					 .features = FEAT_STD, .evl = &t->evl };
	assert_int_equal(vblk_ops.activate(t->dev, &act), 0);
	assert_int_equal(do_req(t, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, NULL), 0);
	tb_teardown(t);
}

static void test_vblk_multiqueue_serves_second_queue(void **state)
{
	struct tb *t = tb_setup(false, 2, FEAT_STD | 1ULL << VIRTIO_BLK_F_MQ, 64);
	struct virtio_blk_config cfg;
	uint32_t id, len;

	assert_int_equal(vblk_nr_queues(t->dev), 2);
	assert_true(vblk_ops.features(t->dev) & (1ULL << VIRTIO_BLK_F_MQ));
	vblk_ops.config_read(t->dev, offsetof(struct virtio_blk_config, num_queues),
			     &cfg.num_queues, 2);
	assert_int_equal(le16toh(cfg.num_queues), 2);
	struct virtio_blk_outhdr h = { .type = htole32(VIRTIO_BLK_T_IN), .sector = htole64(1) };
	gpa_t hg = th_vq_alloc(&t->drv[1], 16), io = th_vq_alloc(&t->drv[1], 513);
	assert_int_equal(gm_write(&t->gm, hg, &h, sizeof(h)), 0);
	struct th_seg s[2] = { { hg, 16, false }, { io, 513, true } };
	uint16_t head = th_vq_add_chain(&t->drv[1], s, 2);
	th_vq_publish(&t->drv[1], head);
	kick(t, 1);
	wait_used_q(t, 1, &id, &len);
	assert_int_equal(id, head);
	assert_int_equal(len, 513);
	assert_int_equal(th_vq_used_idx(&t->drv[0]), 0);
	tb_teardown(t);
}

static void test_vblk_config_space_values(void **state)
{
	struct tb *t = tb_setup(false, 1, FEAT_STD, 64);
	struct virtio_blk_config c;
	uint64_t f = vblk_ops.features(t->dev);

	assert_int_equal(vblk_ops.config_size, 60);
	vblk_ops.config_read(t->dev, 0, &c, (uint32_t)vblk_ops.config_size);
	assert_int_equal(le64toh(c.capacity), IMG_SECTORS);
	assert_true(le32toh(c.seg_max) <= (uint32_t)vblk_ops.max_queue_size - 2);
	assert_int_equal(le32toh(c.blk_size), 512);
	assert_int_equal(le32toh(c.max_discard_seg), 1);
	assert_int_equal(le32toh(c.max_write_zeroes_seg), 1);
	assert_true(f & (1ULL << VIRTIO_BLK_F_FLUSH));
	assert_true(f & (1ULL << VIRTIO_BLK_F_DISCARD));
	assert_true(f & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
	assert_false(f & (1ULL << VIRTIO_BLK_F_RO));
	assert_false(f & (1ULL << VIRTIO_BLK_F_MQ));
	assert_int_equal(vblk_ops.max_queue_size, 256);
	tb_teardown(t);
}

/*
 * A full queue whose 256 completions arrive in reverse order, in one batch:
 * the requests are queued before the loop runs, their SQEs reversed in the
 * SQ, then the loop's first io_uring_enter() submits them all (cached reads
 * complete inline, in SQ order). Each completion finds its request in O(1)
 * (its own user data) and the queue is interrupted once, after the batch.
 */
static void test_vblk_full_queue_completing_in_reverse_order(void **state)
{
	struct tb *t = tb_setup_loop(false, 1, FEAT_STD, 512, false);
	enum { N = 256 };
	struct io_uring *ring = &t->evl.ring;
	gpa_t data[N], st[N];
	uint16_t heads[N];
	uint32_t id, len;
	unsigned base = ring->sq.sqe_tail, mask = *ring->sq.kring_mask;

	for (unsigned i = 0; i < N; i++) {
		data[i] = th_vq_alloc(&t->drv[0], 512);
		st[i] = th_vq_alloc(&t->drv[0], 1);
		struct th_seg s[3] = { { put_hdr(t, VIRTIO_BLK_T_IN, 2 * i), 16, false },
				       { data[i], 512, true }, { st[i], 1, true } };
		heads[i] = th_vq_add_indirect(&t->drv[0], NULL, 0, s, 3);
		assert_int_equal(heads[i], i);
		th_vq_publish(&t->drv[0], heads[i]);
	}
	/* this thread is the loop thread until evl_start() */
	vblk_ops.queue_notify(t->dev, 0);
	assert_int_equal(ring->sq.sqe_tail - base, N); /* one readv SQE per request */
	for (unsigned i = 0; i < N / 2; i++) {
		struct io_uring_sqe tmp = ring->sq.sqes[(base + i) & mask];

		ring->sq.sqes[(base + i) & mask] = ring->sq.sqes[(base + N - 1 - i) & mask];
		ring->sq.sqes[(base + N - 1 - i) & mask] = tmp;
	}
	assert_int_equal(evl_start(&t->evl), 0);
	for (unsigned n = 0; n < N; n++) {
		uint8_t got[512], want[512];

		wait_used_q(t, 0, &id, &len);
		assert_int_equal(id, N - 1 - n); /* reverse order, each to its own chain */
		assert_int_equal(len, 513);
		assert_int_equal(rd8(t, st[id]), VIRTIO_BLK_S_OK);
		assert_int_equal(gm_read(&t->gm, data[id], got, sizeof(got)), 0);
		file_read(t, (uint64_t)id * 1024, want, sizeof(want));
		assert_memory_equal(got, want, sizeof(got));
	}
	/* the queue goes on working */
	assert_int_equal(do_req(t, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, NULL), 0);
	tb_teardown(t);
}

/*
 * The driver makes a head available again while its chain is in flight
 * (virtio 1.2 §2.7.13 forbids it): the queue is broken (it needs a reset),
 * the first chain still completes, the duplicate is never pushed.
 */
static void test_vblk_head_republished_in_flight_breaks_queue(void **state)
{
	struct tb *t = tb_setup(false, 1, FEAT_STD, 64);
	gpa_t data = th_vq_alloc(&t->drv[0], 512), st = th_vq_alloc(&t->drv[0], 1);
	struct th_seg s[3] = { { put_hdr(t, VIRTIO_BLK_T_IN, 7), 16, false }, { data, 512, true },
			       { st, 1, true } };
	uint32_t id, len;
	uint16_t head = th_vq_add_chain(&t->drv[0], s, 3);

	/* both in one kick: the first read is still in flight when the second is popped */
	th_vq_publish(&t->drv[0], head);
	th_vq_publish(&t->drv[0], head);
	kick(t, 0);
	wait_used_q(t, 0, &id, &len);
	assert_int_equal(id, head);
	assert_int_equal(len, 513);
	assert_int_equal(rd8(t, st), VIRTIO_BLK_S_OK);
	usleep(50000);
	assert_int_equal(th_vq_used_idx(&t->drv[0]), 1);
	assert_true(__atomic_load_n(&t->vq[0].vq_broken, __ATOMIC_ACQUIRE));
	/* later chains are not served: the driver must reset */
	uint16_t h2 = th_vq_add_chain(&t->drv[0], (struct th_seg[]){
		{ put_hdr(t, VIRTIO_BLK_T_FLUSH, 0), 16, false },
		{ th_vq_alloc(&t->drv[0], 1), 1, true } }, 2);
	th_vq_publish(&t->drv[0], h2);
	kick(t, 0);
	usleep(50000);
	assert_int_equal(th_vq_used_idx(&t->drv[0]), 1);
	tb_teardown(t);
}

/* The fd number the device holds open on t->path (/proc/self/fd). */
static int disk_fd(struct tb *t)
{
	char link[64], target[256];
	int found = -1;

	for (int fd = 3; fd < 1024; fd++) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, target, sizeof(target) - 1);

		if (n <= 0)
			continue;
		target[n] = 0;
		if (!strcmp(target, t->path)) {
			assert_int_equal(found, -1); /* only one */
			found = fd;
		}
	}
	assert_true(found >= 0);
	return found;
}

/*
 * A failed fsync is reported by the kernel once (errseq): the next fsync of
 * the same file succeeds although the data is gone. No unprivileged file
 * system fails writeback on demand, so the disk's fd is pointed at a pipe
 * for one FLUSH (fsync: EINVAL) and back at the image: that is the one-shot
 * report. Every later FLUSH must still fail, and so must writes; reads work.
 */
static void test_vblk_failed_flush_is_latched(void **state)
{
	struct tb *t = tb_setup(false, 1, FEAT_STD, 64);
	gpa_t buf = th_vq_alloc(&t->drv[0], 512);
	uint8_t pat[512];
	int fd = disk_fd(t), saved = dup(fd), p[2];

	memset(pat, 0x3e, sizeof(pat));
	assert_int_equal(gm_write(&t->gm, buf, pat, sizeof(pat)), 0);
	assert_int_equal(do_req(t, VIRTIO_BLK_T_OUT, 4, buf, 512, false, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(do_req(t, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
	assert_true(saved >= 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(dup2(p[1], fd), fd);
	assert_int_equal(do_req(t, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(dup2(saved, fd), fd); /* the image again: its fsync would succeed */
	close(saved);
	close(p[0]);
	close(p[1]);
	assert_int_equal(fsync(fd), 0);
	uint64_t syncs = vblk_nr_syncs(t->dev);
	assert_int_equal(do_req(t, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_req(t, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(vblk_nr_syncs(t->dev), syncs); /* answered from the latch */
	assert_int_equal(do_req(t, VIRTIO_BLK_T_OUT, 4, buf, 512, false, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(zero_req(t, VIRTIO_BLK_T_DISCARD, 8, 8, 0, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(zero_req(t, VIRTIO_BLK_T_WRITE_ZEROES, 8, 8, 0, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_req(t, VIRTIO_BLK_T_IN, 4, buf, 512, true, NULL), VIRTIO_BLK_S_OK);
	/* a driver reset does not bring lost data back: still latched */
	assert_int_equal(vblk_ops.reset(t->dev), 0);
	th_vq_init_at(&t->drv[0], &t->gm, 256, RAM);
	th_vq_bind(&t->drv[0], &t->vq[0], true, true);
	struct virtio_activation act = { .gm = &t->gm, .vqs = t->vq, .nr_vqs = 1,
					 .features = FEAT_STD, .evl = &t->evl };
	assert_int_equal(vblk_ops.activate(t->dev, &act), 0);
	assert_int_equal(do_req(t, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, NULL), VIRTIO_BLK_S_IOERR);
	tb_teardown(t);
}

/* Without VIRTIO_BLK_F_FLUSH, DISCARD and WRITE_ZEROES are synced before they complete. */
static void test_vblk_discard_write_zeroes_write_through_without_flush(void **state)
{
	struct tb *t = tb_setup(false, 1, 0, 64);
	uint64_t n = vblk_nr_syncs(t->dev);

	assert_int_equal(zero_req(t, VIRTIO_BLK_T_DISCARD, 32, 8, 0, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(vblk_nr_syncs(t->dev), n + 1);
	assert_int_equal(zero_req(t, VIRTIO_BLK_T_WRITE_ZEROES, 48, 8, 0, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(vblk_nr_syncs(t->dev), n + 2);
	assert_int_equal(zero_req(t, VIRTIO_BLK_T_WRITE_ZEROES, 64, 8,
				  VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(vblk_nr_syncs(t->dev), n + 3);
	/* nothing changed, nothing to sync */
	assert_int_equal(zero_req(t, VIRTIO_BLK_T_DISCARD, 0, 0, 0, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(vblk_nr_syncs(t->dev), n + 3);
	tb_teardown(t);

	/* with FLUSH negotiated the driver flushes when it wants durability */
	t = tb_setup(false, 1, FEAT_STD, 64);
	n = vblk_nr_syncs(t->dev);
	assert_int_equal(zero_req(t, VIRTIO_BLK_T_DISCARD, 32, 8, 0, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(zero_req(t, VIRTIO_BLK_T_WRITE_ZEROES, 48, 8, 0, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(vblk_nr_syncs(t->dev), n);
	assert_int_equal(do_req(t, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(vblk_nr_syncs(t->dev), n + 1);
	tb_teardown(t);
}

static void expect_create_error(const char *path, bool ro, const char *needle)
{
	struct vblk_config cfg = { .path = path, .readonly = ro };
	char err[256] = "";

	assert_null(vblk_create(&cfg, err, sizeof(err)));
	if (!strstr(err, needle) || !strstr(err, path))
		fail_msg("error \"%s\" lacks \"%s\"", err, needle);
}

static void test_vblk_create_bad_images_one_line_errors(void **state)
{
	char p[] = "/tmp/test_vblk_bad.XXXXXX";
	int fd = mkstemp(p);
	struct tb t = { 0 };

	assert_true(fd >= 0);
	expect_create_error("/nonexistent/var.img", false, "No such file or directory");
	expect_create_error("/tmp", false, "not a regular file or block device");
	expect_create_error(p, false, "image is empty");
	assert_int_equal(write(fd, "x", 1), 1);
	expect_create_error(p, false, "not a multiple of 512");
	assert_int_equal(ftruncate(fd, 4096), 0);
	close(fd);
	/* locked: a second read-write user, or a reader next to a writer */
	snprintf(t.path, sizeof(t.path), "%s", p);
	void *a = blk_open(&t, false, 1, NULL);
	expect_create_error(p, false, "already in use");
	expect_create_error(p, true, "already in use");
	vblk_ops.destroy(a);
	/* two read-only users share the image */
	a = blk_open(&t, true, 1, NULL);
	void *b = blk_open(&t, true, 1, NULL);
	expect_create_error(p, false, "already in use");
	vblk_ops.destroy(a);
	vblk_ops.destroy(b);
	if (geteuid() != 0) {
		chmod(p, 0400);
		expect_create_error(p, false, "cannot open read-write");
	}
	unlink(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vblk_write_then_read_round_trips_through_file),
		cmocka_unit_test(test_vblk_flush_completes_after_data_is_in_file),
		cmocka_unit_test(test_vblk_write_without_flush_feature_is_write_through),
		cmocka_unit_test(test_vblk_bad_ranges_fail_with_ioerr),
		cmocka_unit_test(test_vblk_unknown_type_is_unsupp),
		cmocka_unit_test(test_vblk_readonly_rejects_writes_file_unchanged),
		cmocka_unit_test(test_vblk_get_id_truncated_to_20_bytes),
		cmocka_unit_test(test_vblk_discard_and_write_zeroes_ranges),
		cmocka_unit_test(test_vblk_chain_without_status_byte_used_len_0),
		cmocka_unit_test(test_vblk_header_split_and_status_in_data_segment),
		cmocka_unit_test(test_vblk_malformed_chain_fails_device),
		cmocka_unit_test(test_vblk_full_queue_all_complete),
		cmocka_unit_test(test_vblk_read_past_eof_zero_fills),
		cmocka_unit_test(test_vblk_reset_with_inflight_then_reactivate),
		cmocka_unit_test(test_vblk_multiqueue_serves_second_queue),
		cmocka_unit_test(test_vblk_config_space_values),
		cmocka_unit_test(test_vblk_create_bad_images_one_line_errors),
		cmocka_unit_test(test_vblk_full_queue_completing_in_reverse_order),
		cmocka_unit_test(test_vblk_head_republished_in_flight_breaks_queue),
		cmocka_unit_test(test_vblk_failed_flush_is_latched),
		cmocka_unit_test(test_vblk_discard_write_zeroes_write_through_without_flush),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
