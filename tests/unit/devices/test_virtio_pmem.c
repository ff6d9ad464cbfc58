// SPDX-License-Identifier: MIT
/*
 * test_virtio_pmem.c: the real virtio-pmem device on real image files and a
 * real event loop (kicks through a watched eventfd), its request queue written
 * by th_vq_driver in real guest RAM; no transport (virtio_notify and
 * virtio_dev_fail accept NULL). Also vpmem_create()'s refusals, each one line
 * naming the path, and vpmem_fstype() on crafted superblocks.
 */
#include <endian.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/virtio/virtio_pmem.h"
#include "tests/helpers/th.h"
#include "tests/helpers/th_vq_driver.h"

#define RAM MiB(2)
#define QSIZE VPMEM_QUEUE_SIZE
#define CFG_SIZE 16 /* le64 start, le64 size (virtio 1.2 §5.19.4) */

static char tmpdir[] = "/tmp/av-vpmem-XXXXXX";

struct tp {
	struct guest_mem gm;
	struct th_vq drv;
	struct virtq vq;
	struct evl evl;
	int efd;
	void *dev;
	char path[128];
};

/* ---- files ---------------------------------------------------------------------------- */

/* tmpdir/(name) as a path in a static ring of buffers. */
static const char *tpath(const char *name)
{
	static char buf[4][128];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, name);
	return buf[i];
}

/* The pattern byte at file offset (off): never 0, so zeros past EOF stand out. */
static uint8_t pat(uint64_t off)
{
	return (uint8_t)(off * 131 + (off >> 12) * 7) | 1;
}

/* (name) in tmpdir: (len) bytes of pat(); its path. */
static const char *make_image(const char *name, uint64_t len)
{
	const char *p = tpath(name);
	uint8_t buf[65536];
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	for (uint64_t off = 0; off < len;) {
		size_t n = (size_t)MIN(len - off, (uint64_t)sizeof(buf));

		for (size_t i = 0; i < n; i++)
			buf[i] = pat(off + i);
		assert_int_equal(pwrite(fd, buf, n, (off_t)off), (ssize_t)n);
		off += n;
	}
	close(fd);
	return p;
}

/* (name) in tmpdir: a sparse file of (len) bytes (only a hole). */
static const char *make_sparse(const char *name, uint64_t len)
{
	const char *p = tpath(name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	close(fd);
	return p;
}

static void *create(const char *path, bool ro, char *err, size_t errlen)
{
	struct vpmem_config c = { .path = path, .readonly = ro };

	memset(err, 'X', errlen - 1); /* prove err is written on failure */
	err[errlen - 1] = 0;
	return vpmem_create(&c, err, errlen);
}

/* vpmem_create() fails with exactly "--pmem (path): (why)". */
static void expect_create_err(const char *path, bool ro, const char *why)
{
	char err[512], want[512];

	snprintf(want, sizeof(want), "--pmem %s: %s", path, why);
	assert_null(create(path, ro, err, sizeof(err)));
	assert_string_equal(err, want);
}

/* ---- the device on a loop --------------------------------------------------------------- */

static void kick_cb(void *opaque)
{
	struct tp *t = opaque;
	uint64_t n;

	if (read(t->efd, &n, sizeof(n)) == sizeof(n))
		vpmem_ops.queue_notify(t->dev, 0);
}

/* A device over (path), active on a fresh queue of QSIZE at the top of RAM. */
static struct tp *tp_new(const char *path, bool ro)
{
	struct tp *t = calloc(1, sizeof(*t));
	char err[256];

	assert_non_null(t);
	snprintf(t->path, sizeof(t->path), "%s", path);
	th_gm_create(&t->gm, RAM);
	th_vq_init(&t->drv, &t->gm, QSIZE);
	th_vq_bind(&t->drv, &t->vq, true, true);
	t->dev = create(path, ro, err, sizeof(err));
	if (!t->dev)
		fail_msg("vpmem_create: %s", err);
	assert_int_equal(vpmem_ops.set_features(t->dev, vpmem_ops.features(t->dev)), 0);
	assert_int_equal(evl_init(&t->evl, 32), 0);
	t->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_int_equal(evl_watch_fd(&t->evl, t->efd, kick_cb, t), 0);
	assert_int_equal(evl_start(&t->evl), 0);
	struct virtio_activation act = { .gm = &t->gm, .vqs = &t->vq, .nr_vqs = 1,
					 .evl = &t->evl };
	assert_int_equal(vpmem_ops.activate(t->dev, &act), 0);
	return t;
}

static void tp_free(struct tp *t)
{
	assert_int_equal(vpmem_ops.reset(t->dev), 0);
	evl_fini(&t->evl);
	vpmem_ops.destroy(t->dev);
	close(t->efd);
	gm_destroy(&t->gm);
	free(t);
}

/* A writable 2 MiB image. */
static int setup(void **state)
{
	*state = tp_new(make_image("rw.img", VPMEM_ALIGN), false);
	return 0;
}

/* A read-only image of 3 MiB + 5 bytes (mapped as 4 MiB). */
static int setup_ro(void **state)
{
	*state = tp_new(make_image("ro.img", MiB(3) + 5), true);
	return 0;
}

static int teardown(void **state)
{
	tp_free(*state);
	return 0;
}

static int group_setup(void **state)
{
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void kick(struct tp *t)
{
	uint64_t one = 1;

	assert_int_equal(write(t->efd, &one, sizeof(one)), sizeof(one));
}

/* Publish (head), kick, wait for its used entry; the used length. */
static uint32_t run_head(struct tp *t, uint16_t head)
{
	th_vq_publish(&t->drv, head);
	kick(t);
	return th_vq_wait_used(&t->drv, head);
}

static uint32_t run_chain(struct tp *t, const struct th_seg *s, unsigned n)
{
	return run_head(t, th_vq_add_chain(&t->drv, s, n));
}

/* (len) bytes of guest buffer, each (v). */
static gpa_t buf_filled(struct tp *t, size_t len, uint8_t v)
{
	gpa_t g = th_vq_alloc(&t->drv, len ? len : 1);

	if (len)
		memset(gm_ptr(&t->gm, g, len), v, len);
	return g;
}

/* A request buffer holding the le32 (type), then (extra) more bytes. */
static gpa_t type_buf(struct tp *t, uint32_t type, size_t extra)
{
	gpa_t g = buf_filled(t, 4 + extra, 0xee);
	uint32_t le = htole32(type);

	assert_int_equal(gm_write(&t->gm, g, &le, sizeof(le)), 0);
	return g;
}

static uint32_t le32_at(struct tp *t, gpa_t g)
{
	uint32_t v;

	assert_int_equal(gm_read(&t->gm, g, &v, sizeof(v)), 0);
	return le32toh(v);
}

/* Every byte of [g, g+len) equals (v). */
static bool all_are(struct tp *t, gpa_t g, size_t len, uint8_t v)
{
	const uint8_t *p = gm_ptr(&t->gm, g, len);

	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* One good flush: result 0, used length 4. */
static void good_flush(struct tp *t)
{
	gpa_t res = buf_filled(t, 4, 0xff);
	struct th_seg s[2] = { { type_buf(t, VPMEM_REQ_FLUSH, 0), 4, false }, { res, 4, true } };

	assert_int_equal(run_chain(t, s, 2), 4);
	assert_int_equal(le32_at(t, res), VPMEM_RESP_OK);
}

/* Wait until the queue is marked broken (the device failed). */
static void wait_broken(struct tp *t)
{
	for (int i = 0; i < 2000 && !__atomic_load_n(&t->vq.vq_broken, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	assert_true(__atomic_load_n(&t->vq.vq_broken, __ATOMIC_ACQUIRE));
}

/* ---- ops and config space ---------------------------------------------------------------- */

static void test_vpmem_ops_describe_device_27(void **state)
{
	assert_int_equal(vpmem_ops.device_id, 27);
	assert_int_equal(vpmem_ops.nr_queues, 1);
	assert_int_equal(vpmem_ops.max_queue_size, VPMEM_QUEUE_SIZE);
	assert_int_equal(vpmem_ops.config_size, CFG_SIZE);
	assert_false(vpmem_ops.vhost);
}

/* Expected config bytes: le64 gpa, le64 size. */
static void want_cfg(uint8_t *w, uint64_t gpa, uint64_t size)
{
	for (int i = 0; i < 8; i++) {
		w[i] = (uint8_t)(gpa >> (8 * i));
		w[8 + i] = (uint8_t)(size >> (8 * i));
	}
}

/* Every read the transport lets through (off + len <= 16): the right bytes, nothing more. */
static void check_cfg_reads(void *dev, const uint8_t *want)
{
	static const uint32_t lens[] = { 1, 2, 4, 8, 16 };

	for (size_t l = 0; l < ARRAY_SIZE(lens); l++) {
		for (uint32_t off = 0; off + lens[l] <= CFG_SIZE; off++) {
			uint8_t buf[CFG_SIZE + 8];

			memset(buf, 0x5c, sizeof(buf));
			vpmem_ops.config_read(dev, off, buf, lens[l]);
			assert_memory_equal(buf, want + off, lens[l]);
			for (size_t i = lens[l]; i < sizeof(buf); i++)
				assert_int_equal(buf[i], 0x5c);
		}
	}
}

static void test_vpmem_config_is_le_gpa_and_rounded_size(void **state)
{
	struct tp *t = *state;
	const uint64_t gpa = 0x1122334455667788ULL;
	uint8_t want[CFG_SIZE];

	vpmem_set_gpa(t->dev, gpa);
	want_cfg(want, gpa, MiB(4)); /* 3 MiB + 5 rounded up to 2 MiB */
	check_cfg_reads(t->dev, want);
	/* a write is ignored: the config space is read-only */
	uint8_t junk[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	assert_int_equal(vpmem_ops.config_write(t->dev, 0, junk, 8), 0);
	assert_int_equal(vpmem_ops.config_write(t->dev, 8, junk, 8), 0);
	check_cfg_reads(t->dev, want);
	/* the window vm_devices.c picks: 32 GiB-aligned above 4 GiB */
	vpmem_set_gpa(t->dev, 64ULL << 30);
	want_cfg(want, 64ULL << 30, MiB(4));
	check_cfg_reads(t->dev, want);
}

/* Sizes round up to 2 MiB, and exactly 2 MiB stays 2 MiB. */
static void test_vpmem_config_size_rounding(void **state)
{
	static const struct { uint64_t file, mapped; } cases[] = {
		{ 1, MiB(2) }, { 4096, MiB(2) }, { MiB(2) - 1, MiB(2) }, { MiB(2), MiB(2) },
		{ MiB(2) + 1, MiB(4) }, { MiB(6), MiB(6) },
	};
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		void *dev = create(make_image("size.img", cases[i].file), true, err, sizeof(err));
		uint8_t want[CFG_SIZE];
		uint64_t len;
		void *hva;

		assert_non_null(dev);
		vpmem_mapping(dev, &hva, &len);
		assert_int_equal(len, cases[i].mapped);
		vpmem_set_gpa(dev, 0x100000000ULL);
		want_cfg(want, 0x100000000ULL, cases[i].mapped);
		check_cfg_reads(dev, want);
		vpmem_ops.destroy(dev);
	}
}

/* ---- the mapping ---------------------------------------------------------------------- */

/* [0, size) is the file, [size, len) zeros; len is size rounded up to 2 MiB. */
static void check_mapping(void *dev, uint64_t size)
{
	uint64_t len, want_len = (size + VPMEM_ALIGN - 1) & ~(VPMEM_ALIGN - 1);
	const uint8_t *m;
	void *hva;

	vpmem_mapping(dev, &hva, &len);
	m = hva;
	assert_non_null(m);
	assert_int_equal(len, want_len);
	assert_int_equal((uintptr_t)m % 4096, 0);
	for (uint64_t i = 0; i < size; i++)
		if (m[i] != pat(i))
			fail_msg("byte %llu: %#x, want %#x", (unsigned long long)i, m[i], pat(i));
	for (uint64_t i = size; i < len; i++)
		if (m[i])
			fail_msg("byte %llu past EOF: %#x", (unsigned long long)i, m[i]);
}

static void test_vpmem_mapping_is_file_then_zeros(void **state)
{
	struct tp *t = *state;

	check_mapping(t->dev, MiB(3) + 5);
	/* more odd sizes: inside the last page, on a page, one past a 2 MiB boundary */
	static const uint64_t sizes[] = { 1, 4095, 4096, 4097, MiB(2) - 1, MiB(2) + 1 };
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		void *dev = create(make_image("map.img", sizes[i]), true, err, sizeof(err));

		assert_non_null(dev);
		check_mapping(dev, sizes[i]);
		vpmem_ops.destroy(dev);
	}
}

/* A writable image's mapping is the file: a store shows in pread, a pwrite in the mapping. */
static void test_vpmem_writable_mapping_is_shared_with_file(void **state)
{
	struct tp *t = *state;
	uint8_t *m, b[8];
	uint64_t len;
	void *hva;
	int fd;

	check_mapping(t->dev, VPMEM_ALIGN);
	vpmem_mapping(t->dev, &hva, &len);
	m = hva;
	memcpy(m + 12345, "pmem-st", 8);
	memcpy(m + len - 8, "the-end", 8); /* the last byte of the image */
	fd = open(t->path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, b, 8, 12345), 8);
	assert_memory_equal(b, "pmem-st", 8);
	assert_int_equal(pread(fd, b, 8, (off_t)len - 8), 8);
	assert_memory_equal(b, "the-end", 8);
	assert_int_equal(pwrite(fd, "fromfil", 8, 4096), 8);
	assert_memory_equal(m + 4096, "fromfil", 8);
	close(fd);
}

/* ---- requests ---------------------------------------------------------------------------- */

static void test_vpmem_flush_gets_ok_and_counts(void **state)
{
	struct tp *t = *state;

	assert_int_equal(vpmem_nr_flushes(t->dev), 0);
	good_flush(t);
	assert_int_equal(vpmem_nr_flushes(t->dev), 1);
	/* a longer type buffer and a longer result buffer: only 4 bytes written */
	gpa_t res = buf_filled(t, 16, 0xff);
	struct th_seg s[2] = { { type_buf(t, VPMEM_REQ_FLUSH, 12), 16, false }, { res, 16, true } };
	assert_int_equal(run_chain(t, s, 2), 4);
	assert_int_equal(le32_at(t, res), VPMEM_RESP_OK);
	assert_true(all_are(t, res + 4, 12, 0xff));
	/* more readable and writable descriptors after the first ones: ignored */
	gpa_t res2 = buf_filled(t, 4, 0xff), more = buf_filled(t, 8, 0xff);
	struct th_seg s3[4] = { { type_buf(t, VPMEM_REQ_FLUSH, 0), 4, false },
				{ buf_filled(t, 8, 0x77), 8, false },
				{ res2, 4, true }, { more, 8, true } };
	assert_int_equal(run_chain(t, s3, 4), 4);
	assert_int_equal(le32_at(t, res2), VPMEM_RESP_OK);
	assert_true(all_are(t, more, 8, 0xff));
	/* through an indirect table */
	gpa_t res3 = buf_filled(t, 4, 0xff);
	struct th_seg ind[2] = { { type_buf(t, VPMEM_REQ_FLUSH, 0), 4, false }, { res3, 4, true } };
	assert_int_equal(run_head(t, th_vq_add_indirect(&t->drv, NULL, 0, ind, 2)), 4);
	assert_int_equal(le32_at(t, res3), VPMEM_RESP_OK);
	assert_int_equal(vpmem_nr_flushes(t->dev), 4);
}

/* Many requests in one kick, more than the queue holds over the test: all answered. */
static void test_vpmem_flush_batch_all_answered(void **state)
{
	struct tp *t = *state;
	gpa_t res[QSIZE];
	uint32_t id, len;
	unsigned seen = 0;

	for (unsigned round = 0; round < 3; round++) {
		for (unsigned i = 0; i < QSIZE / 2; i++) {
			res[i] = buf_filled(t, 4, 0xff);
			struct th_seg s[2] = { { type_buf(t, VPMEM_REQ_FLUSH, 0), 4, false },
					       { res[i], 4, true } };
			th_vq_publish(&t->drv, th_vq_add_chain(&t->drv, s, 2));
		}
		kick(t);
		for (int w = 0; w < 5000 && seen < (round + 1) * QSIZE / 2; w++) {
			while (th_vq_get_used(&t->drv, &id, &len)) {
				assert_int_equal(len, 4);
				seen++;
			}
			if (seen < (round + 1) * QSIZE / 2)
				usleep(1000);
		}
		assert_int_equal(seen, (round + 1) * QSIZE / 2);
		for (unsigned i = 0; i < QSIZE / 2; i++)
			assert_int_equal(le32_at(t, res[i]), VPMEM_RESP_OK);
		t->drv.buf_top = t->drv.desc; /* reuse the buffer space */
	}
	assert_int_equal(vpmem_nr_flushes(t->dev), 3 * QSIZE / 2);
}

/*
 * A flush of a writable image: result 0, and a store through the mapping is
 * in the file (pread by another descriptor) and survives the device.
 */
static void test_vpmem_flush_writable_syncs_stores(void **state)
{
	struct tp *t = *state;
	uint8_t *m, b[16];
	uint64_t len;
	void *hva;
	int fd;

	vpmem_mapping(t->dev, &hva, &len);
	m = hva;
	memcpy(m + MiB(1), "durable bytes!!", 16);
	good_flush(t);
	assert_int_equal(vpmem_nr_flushes(t->dev), 1);
	fd = open(t->path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, b, 16, MiB(1)), 16);
	assert_memory_equal(b, "durable bytes!!", 16);
	close(fd);
}

/* A read-only image's flush has nothing to sync: result 0, counted. */
static void test_vpmem_flush_readonly_ok(void **state)
{
	struct tp *t = *state;

	good_flush(t);
	good_flush(t);
	assert_int_equal(vpmem_nr_flushes(t->dev), 2);
}

static void test_vpmem_unknown_type_gets_eio(void **state)
{
	struct tp *t = *state;
	static const uint32_t types[] = { 1, 2, 0x100, 0xffffffffU };

	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		gpa_t res = buf_filled(t, 4, 0xff);
		struct th_seg s[2] = { { type_buf(t, types[i], 0), 4, false }, { res, 4, true } };

		assert_int_equal(run_chain(t, s, 2), 4);
		assert_int_equal(le32_at(t, res), VPMEM_RESP_EIO);
	}
	assert_int_equal(vpmem_nr_flushes(t->dev), 0);
	good_flush(t);
	assert_int_equal(vpmem_nr_flushes(t->dev), 1);
}

/*
 * Well-formed chains without a 4-byte type to read or a 4-byte result to
 * write: returned with used length 0, nothing written, nothing counted; the
 * device serves the next good request.
 */
static void test_vpmem_chain_without_type_or_result_gets_zero_length(void **state)
{
	struct tp *t = *state;
	const gpa_t guard = buf_filled(t, 16, 0xff); /* a result buffer that must stay 0xff */
	struct th_seg chains[][2] = {
		/* no readable part */
		{ { guard, 4, true }, { 0 } },
		{ { guard, 16, true }, { 0 } },
		/* readable part shorter than 4 bytes */
		{ { type_buf(t, VPMEM_REQ_FLUSH, 0), 3, false }, { guard, 4, true } },
		{ { type_buf(t, VPMEM_REQ_FLUSH, 0), 0, false }, { guard, 4, true } },
		{ { type_buf(t, VPMEM_REQ_FLUSH, 0), 1, false }, { guard, 16, true } },
		/* no writable part */
		{ { type_buf(t, VPMEM_REQ_FLUSH, 0), 4, false }, { 0 } },
		{ { type_buf(t, VPMEM_REQ_FLUSH, 0), 4, false },
		  { type_buf(t, VPMEM_REQ_FLUSH, 0), 4, false } },
		/* writable part shorter than 4 bytes */
		{ { type_buf(t, VPMEM_REQ_FLUSH, 0), 4, false }, { guard, 3, true } },
		{ { type_buf(t, VPMEM_REQ_FLUSH, 0), 4, false }, { guard, 0, true } },
		{ { type_buf(t, 7, 0), 4, false }, { guard, 2, true } },
	};
	static const unsigned nsegs[] = { 1, 1, 2, 2, 2, 1, 2, 2, 2, 2 };

	for (size_t i = 0; i < ARRAY_SIZE(chains); i++) {
		assert_int_equal(run_chain(t, chains[i], nsegs[i]), 0);
		assert_true(all_are(t, guard, 16, 0xff));
		assert_int_equal(vpmem_nr_flushes(t->dev), 0);
		assert_false(__atomic_load_n(&t->vq.vq_broken, __ATOMIC_ACQUIRE));
	}
	good_flush(t);
	assert_int_equal(vpmem_nr_flushes(t->dev), 1);
}

/*
 * The driver may split the type and the result over descriptors as it likes
 * (virtio 1.2 §2.7.4, message framing): an empty descriptor ahead of the
 * result, the type in 2 + 2 bytes, the result in 1 + 3.
 */
static void test_vpmem_split_type_and_result_are_served(void **state)
{
	struct tp *t = *state;
	gpa_t res = buf_filled(t, 4, 0xff), r1 = buf_filled(t, 1, 0xff), r3 = buf_filled(t, 3, 0xff);
	gpa_t ty = type_buf(t, VPMEM_REQ_FLUSH, 0);
	struct th_seg empty_first[3] = { { type_buf(t, VPMEM_REQ_FLUSH, 0), 4, false },
					 { buf_filled(t, 4, 0xff), 0, true }, { res, 4, true } };
	struct th_seg split[4] = { { ty, 2, false }, { ty + 2, 2, false }, { r1, 1, true },
				   { r3, 3, true } };

	assert_int_equal(run_chain(t, empty_first, 3), 4);
	assert_int_equal(le32_at(t, res), VPMEM_RESP_OK);
	assert_int_equal(run_chain(t, split, 4), 4);
	assert_true(all_are(t, r1, 1, 0) && all_are(t, r3, 3, 0));
	assert_int_equal(vpmem_nr_flushes(t->dev), 2);
	good_flush(t);
}

/* A descriptor pointing outside RAM: virtq_pop refuses the ring, the device fails. */
static void test_vpmem_buffer_outside_ram_fails_device(void **state)
{
	struct tp *t = *state;

	good_flush(t);
	th_vq_write_desc(&t->drv, t->drv.desc, 5, RAM + 4096, 4, VRING_DESC_F_NEXT, 6);
	th_vq_write_desc(&t->drv, t->drv.desc, 6, buf_filled(t, 4, 0xff), 4, VRING_DESC_F_WRITE,
			 0);
	th_vq_publish(&t->drv, 5);
	kick(t);
	wait_broken(t);
	assert_int_equal(th_vq_used_idx(&t->drv), 1);
	/* a good request after the failure is not served: the driver must reset */
	gpa_t res = buf_filled(t, 4, 0xff);
	struct th_seg s[2] = { { type_buf(t, VPMEM_REQ_FLUSH, 0), 4, false }, { res, 4, true } };
	th_vq_publish(&t->drv, th_vq_add_chain(&t->drv, s, 2));
	kick(t);
	usleep(50000);
	assert_int_equal(th_vq_used_idx(&t->drv), 1);
	assert_true(all_are(t, res, 4, 0xff));
	assert_int_equal(vpmem_nr_flushes(t->dev), 1);
}

/* A chain that loops back on itself, then a buffer ending one byte past RAM. */
static void test_vpmem_descriptor_loop_fails_device(void **state)
{
	struct tp *t = *state;
	gpa_t b = type_buf(t, VPMEM_REQ_FLUSH, 0);

	th_vq_write_desc(&t->drv, t->drv.desc, 0, b, 4, VRING_DESC_F_NEXT, 1);
	th_vq_write_desc(&t->drv, t->drv.desc, 1, b, 4, VRING_DESC_F_NEXT, 0);
	th_vq_publish(&t->drv, 0);
	kick(t);
	wait_broken(t);
	assert_int_equal(th_vq_used_idx(&t->drv), 0);
	assert_int_equal(vpmem_nr_flushes(t->dev), 0);
}

static void test_vpmem_buffer_past_end_of_ram_fails_device(void **state)
{
	struct tp *t = *state;

	/* type buffer ending exactly at the end of RAM would be fine; one byte more is not */
	th_vq_write_desc(&t->drv, t->drv.desc, 0, RAM - 3, 4, VRING_DESC_F_NEXT, 1);
	th_vq_write_desc(&t->drv, t->drv.desc, 1, buf_filled(t, 4, 0xff), 4, VRING_DESC_F_WRITE,
			 0);
	th_vq_publish(&t->drv, 0);
	kick(t);
	wait_broken(t);
	assert_int_equal(th_vq_used_idx(&t->drv), 0);
}

/* After reset no kick is served; a fresh activation serves again. */
static void test_vpmem_reset_stops_then_reactivates(void **state)
{
	struct tp *t = *state;
	gpa_t res = buf_filled(t, 4, 0xff);
	struct th_seg s[2] = { { type_buf(t, VPMEM_REQ_FLUSH, 0), 4, false }, { res, 4, true } };

	assert_int_equal(vpmem_ops.reset(t->dev), 0);
	th_vq_publish(&t->drv, th_vq_add_chain(&t->drv, s, 2));
	kick(t);
	usleep(50000);
	assert_int_equal(th_vq_used_idx(&t->drv), 0);
	/* a queue the driver never enabled (size 0): kicks are ignored */
	struct virtq none = { 0 };
	struct virtio_activation act0 = { .gm = &t->gm, .vqs = &none, .nr_vqs = 1,
					  .evl = &t->evl };
	assert_int_equal(vpmem_ops.activate(t->dev, &act0), 0);
	kick(t);
	usleep(50000);
	assert_int_equal(th_vq_used_idx(&t->drv), 0);
	assert_int_equal(vpmem_ops.reset(t->dev), 0);
	/* the real queue again: the pending request is served */
	struct virtio_activation act = { .gm = &t->gm, .vqs = &t->vq, .nr_vqs = 1,
					 .evl = &t->evl };
	assert_int_equal(vpmem_ops.activate(t->dev, &act), 0);
	kick(t);
	for (int i = 0; i < 5000 && th_vq_used_idx(&t->drv) == 0; i++)
		usleep(1000);
	assert_int_equal(th_vq_used_idx(&t->drv), 1);
	assert_int_equal(le32_at(t, res), VPMEM_RESP_OK);
	/* a kick for a queue number the device does not have: nothing */
	vpmem_ops.queue_notify(t->dev, 1);
}

/* ---- vpmem_create refusals ------------------------------------------------------------------ */

static void test_vpmem_create_missing_file_fails(void **state)
{
	expect_create_err(tpath("missing.img"), true, "No such file or directory");
	expect_create_err(tpath("missing.img"), false, "No such file or directory");
}

static void test_vpmem_create_directory_fails(void **state)
{
	expect_create_err(tmpdir, true, "not a regular file");
	expect_create_err(tmpdir, false, "not a regular file");
}

static void test_vpmem_create_empty_file_fails(void **state)
{
	const char *p = make_image("empty.img", 0);

	expect_create_err(p, true, "image is empty");
	expect_create_err(p, false, "image is empty");
}

/* A FIFO is refused from stat(), so nothing blocks opening it (alarm: fail, not hang). */
static void test_vpmem_create_fifo_fails_without_blocking(void **state)
{
	const char *p = tpath("fifo");

	assert_int_equal(mkfifo(p, 0600), 0);
	alarm(10);
	expect_create_err(p, true, "not a regular file");
	expect_create_err(p, false, "not a regular file");
	assert_int_equal(vpmem_fstype(p), VPMEM_FS_NONE);
	alarm(0);
	unlink(p);
}

static void test_vpmem_create_writable_unaligned_size_fails(void **state)
{
	char err[256], why[200];
	void *dev;

	static const uint64_t sizes[] = { 1, 4096, MiB(2) - 1, MiB(2) + 1, MiB(3) };
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		const char *p = make_image("odd.img", sizes[i]);

		snprintf(why, sizeof(why), "a writable image's size must be a multiple of 2 MiB "
			 "(%llu bytes; truncate -s to pad it)", (unsigned long long)sizes[i]);
		expect_create_err(p, false, why);
		/* the same file read-only: accepted, its tail reads as zeros */
		dev = create(p, true, err, sizeof(err));
		assert_non_null(dev);
		vpmem_ops.destroy(dev);
	}
	/* and a writable multiple of 2 MiB is fine */
	dev = create(make_image("even.img", MiB(4)), false, err, sizeof(err));
	assert_non_null(dev);
	vpmem_ops.destroy(dev);
}

static void test_vpmem_create_over_max_size_fails(void **state)
{
	char err[256], why[200];
	const char *p = make_sparse("huge.img", VPMEM_MAX_SIZE + 1);

	snprintf(why, sizeof(why), "%llu MiB is more than the %llu MiB a pmem image may have",
		 (VPMEM_MAX_SIZE >> 20) + 1, VPMEM_MAX_SIZE >> 20);
	expect_create_err(p, true, why);
	expect_create_err(p, false, why);
	p = make_sparse("huge.img", VPMEM_MAX_SIZE + VPMEM_ALIGN);
	snprintf(why, sizeof(why), "%llu MiB is more than the %llu MiB a pmem image may have",
		 (VPMEM_MAX_SIZE >> 20) + 2, VPMEM_MAX_SIZE >> 20);
	expect_create_err(p, false, why);
	/* exactly the maximum is accepted (a sparse file: mapped, never touched) */
	p = make_sparse("max.img", VPMEM_MAX_SIZE);
	void *dev = create(p, true, err, sizeof(err));
	if (!dev)
		fail_msg("%s", err);
	uint64_t len;
	void *hva;
	vpmem_mapping(dev, &hva, &len);
	assert_int_equal(len, VPMEM_MAX_SIZE);
	assert_int_equal(((const uint8_t *)hva)[VPMEM_MAX_SIZE - 1], 0);
	vpmem_ops.destroy(dev);
	unlink(p);
	unlink(tpath("huge.img"));
}

/* One writer at a time (exclusive flock), readers share; the lock goes with the device. */
static void test_vpmem_create_flock_excludes_writers(void **state)
{
	const char *p = make_image("locked.img", MiB(2));
	const char *busy = "already in use (locked by another VM or device)";
	char err[256];
	void *rw, *ro1, *ro2;

	rw = create(p, false, err, sizeof(err));
	assert_non_null(rw);
	expect_create_err(p, false, busy);
	expect_create_err(p, true, busy);
	vpmem_ops.destroy(rw);

	ro1 = create(p, true, err, sizeof(err));
	assert_non_null(ro1);
	ro2 = create(p, true, err, sizeof(err));
	assert_non_null(ro2);
	expect_create_err(p, false, busy);
	vpmem_ops.destroy(ro1);
	expect_create_err(p, false, busy); /* ro2 still holds it */
	vpmem_ops.destroy(ro2);

	rw = create(p, false, err, sizeof(err));
	assert_non_null(rw);
	vpmem_ops.destroy(rw);
	/* destroy(NULL) is a no-op */
	vpmem_ops.destroy(NULL);
}

/* A file the user may only read: refused writable with a hint, accepted with ro. */
static void test_vpmem_create_unwritable_file_needs_ro(void **state)
{
	const char *p = make_image("readonly.img", MiB(2));
	char err[256], why[200];
	void *dev;

	if (geteuid() == 0)
		skip(); /* root opens it read-write anyway */
	assert_int_equal(chmod(p, 0444), 0);
	snprintf(why, sizeof(why), "cannot open read-write (or give ro): Permission denied");
	expect_create_err(p, false, why);
	dev = create(p, true, err, sizeof(err));
	assert_non_null(dev);
	vpmem_ops.destroy(dev);
}

/* The message is one line even in a short buffer (truncated, terminated). */
static void test_vpmem_create_short_err_buffer(void **state)
{
	char err[12];

	assert_null(create(tpath("missing.img"), true, err, sizeof(err)));
	assert_string_equal(err, "--pmem /tmp");
}

/* ---- vpmem_fstype ---------------------------------------------------------------------------- */

/* (name): (len) zero bytes with (magic, mlen) at (off) if mlen. */
static const char *make_sb(const char *name, size_t len, size_t off, const void *magic,
			   size_t mlen)
{
	const char *p = tpath(name);
	uint8_t *b = calloc(1, len ? len : 1);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	if (mlen)
		memcpy(b + off, magic, mlen);
	assert_int_equal(fwrite(b, 1, len, f), len);
	fclose(f);
	free(b);
	return p;
}

static void test_vpmem_fstype_magics(void **state)
{
	static const uint8_t erofs[4] = { 0xe2, 0xe1, 0xf5, 0xe0 }; /* le32 0xE0F5E1E2 */
	static const uint8_t ext4[2] = { 0x53, 0xef };              /* le16 0xEF53 */
	static const uint8_t erofs_be[4] = { 0xe0, 0xf5, 0xe1, 0xe2 };

	assert_int_equal(vpmem_fstype(make_sb("erofs.img", 4096, 1024, erofs, 4)),
			 VPMEM_FS_EROFS);
	assert_int_equal(vpmem_fstype(make_sb("ext4.img", 4096, 1080, ext4, 2)), VPMEM_FS_EXT4);
	assert_int_equal(vpmem_fstype(make_sb("zero.img", 4096, 0, NULL, 0)), VPMEM_FS_NONE);
	/* the magic at the wrong offset or byte order is no filesystem */
	assert_int_equal(vpmem_fstype(make_sb("off.img", 4096, 1020, erofs, 4)), VPMEM_FS_NONE);
	assert_int_equal(vpmem_fstype(make_sb("be.img", 4096, 1024, erofs_be, 4)),
			 VPMEM_FS_NONE);
	assert_int_equal(vpmem_fstype(make_sb("ext4off.img", 4096, 1078, ext4, 2)),
			 VPMEM_FS_NONE);
	/* both magics: erofs's is checked first */
	const char *p = make_sb("both.img", 4096, 1024, erofs, 4);
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	assert_int_equal(pwrite(fd, ext4, 2, 1080), 2);
	close(fd);
	assert_int_equal(vpmem_fstype(p), VPMEM_FS_EROFS);
}

/* The superblock must be read whole: 1082 bytes (ext4's magic ends there). */
static void test_vpmem_fstype_short_file_is_none(void **state)
{
	static const uint8_t erofs[4] = { 0xe2, 0xe1, 0xf5, 0xe0 };
	static const uint8_t ext4[2] = { 0x53, 0xef };

	assert_int_equal(vpmem_fstype(make_sb("e1081.img", 1081, 1024, erofs, 4)), VPMEM_FS_NONE);
	assert_int_equal(vpmem_fstype(make_sb("e1028.img", 1028, 1024, erofs, 4)), VPMEM_FS_NONE);
	assert_int_equal(vpmem_fstype(make_sb("x1081.img", 1081, 1079, ext4, 2)), VPMEM_FS_NONE);
	assert_int_equal(vpmem_fstype(make_sb("zero0.img", 0, 0, NULL, 0)), VPMEM_FS_NONE);
	/* exactly 1082 bytes is enough */
	assert_int_equal(vpmem_fstype(make_sb("x1082.img", 1082, 1080, ext4, 2)), VPMEM_FS_EXT4);
	assert_int_equal(vpmem_fstype(make_sb("e1082.img", 1082, 1024, erofs, 4)),
			 VPMEM_FS_EROFS);
}

static void test_vpmem_fstype_missing_or_directory_is_none(void **state)
{
	assert_int_equal(vpmem_fstype(tpath("nothing-here.img")), VPMEM_FS_NONE);
	assert_int_equal(vpmem_fstype(tmpdir), VPMEM_FS_NONE);
	assert_int_equal(vpmem_fstype(""), VPMEM_FS_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vpmem_ops_describe_device_27),
		cmocka_unit_test_setup_teardown(test_vpmem_config_is_le_gpa_and_rounded_size,
						setup_ro, teardown),
		cmocka_unit_test(test_vpmem_config_size_rounding),
		cmocka_unit_test_setup_teardown(test_vpmem_mapping_is_file_then_zeros, setup_ro,
						teardown),
		cmocka_unit_test_setup_teardown(test_vpmem_writable_mapping_is_shared_with_file,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_vpmem_flush_gets_ok_and_counts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vpmem_flush_batch_all_answered, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vpmem_flush_writable_syncs_stores, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vpmem_flush_readonly_ok, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(test_vpmem_unknown_type_gets_eio, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_vpmem_chain_without_type_or_result_gets_zero_length, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_vpmem_split_type_and_result_are_served, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vpmem_buffer_outside_ram_fails_device, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vpmem_descriptor_loop_fails_device, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vpmem_buffer_past_end_of_ram_fails_device,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_vpmem_reset_stops_then_reactivates, setup,
						teardown),
		cmocka_unit_test(test_vpmem_create_missing_file_fails),
		cmocka_unit_test(test_vpmem_create_directory_fails),
		cmocka_unit_test(test_vpmem_create_empty_file_fails),
		cmocka_unit_test(test_vpmem_create_fifo_fails_without_blocking),
		cmocka_unit_test(test_vpmem_create_writable_unaligned_size_fails),
		cmocka_unit_test(test_vpmem_create_over_max_size_fails),
		cmocka_unit_test(test_vpmem_create_flock_excludes_writers),
		cmocka_unit_test(test_vpmem_create_unwritable_file_needs_ro),
		cmocka_unit_test(test_vpmem_create_short_err_buffer),
		cmocka_unit_test(test_vpmem_fstype_magics),
		cmocka_unit_test(test_vpmem_fstype_short_file_is_none),
		cmocka_unit_test(test_vpmem_fstype_missing_or_directory_is_none),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
