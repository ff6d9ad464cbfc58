// SPDX-License-Identifier: MIT
/*
 * virtio_pmem.c: virtio-pmem (prefix vpmem_, virtio_pmem.h). The image is
 * mapped MAP_SHARED over an anonymous reservation of its size rounded up to
 * VPMEM_ALIGN, so the tail past the end of a read-only file reads as zeros
 * instead of faulting (SIGBUS) in KVM. Requests are answered on the loop
 * thread as they are popped; the device lock keeps reset() (vCPU thread) out.
 */
#include "devices/virtio/virtio_pmem.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/virtio_ids.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/virtio/iov.h"
#include "vmm/log.h"

#ifndef VIRTIO_ID_PMEM
#define VIRTIO_ID_PMEM 27
#endif
#define VPMEM_CONFIG_SIZE 16 /* le64 start, le64 size */
#define EROFS_MAGIC 0xE0F5E1E2u
#define EROFS_MAGIC_OFF 1024
#define EXT4_MAGIC 0xEF53u
#define EXT4_MAGIC_OFF 1080

struct vpmem {
	pthread_mutex_t lock;
	bool active;
	struct virtq *vq;          /* NULL: not active or queue not enabled */
	struct vpci *t;
	struct vq_chain *chain;    /* scratch for virtq_pop */
	int fd;
	bool readonly;
	char *path;
	uint8_t *map;              /* the reservation: (len) bytes, the file over its start */
	uint64_t len;              /* file size rounded up to VPMEM_ALIGN */
	uint64_t gpa;              /* config start */
	uint64_t nr_flushes;       /* atomic */
};

enum vpmem_fstype vpmem_fstype(const char *path)
{
	uint8_t sb[EXT4_MAGIC_OFF + 2];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	ssize_t n = fd >= 0 ? pread(fd, sb, sizeof(sb), 0) : -1;
	uint32_t m32;
	uint16_t m16;

	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)sizeof(sb))
		return VPMEM_FS_NONE;
	memcpy(&m32, sb + EROFS_MAGIC_OFF, sizeof(m32));
	memcpy(&m16, sb + EXT4_MAGIC_OFF, sizeof(m16));
	if (le32toh(m32) == EROFS_MAGIC)
		return VPMEM_FS_EROFS;
	if (le16toh(m16) == EXT4_MAGIC)
		return VPMEM_FS_EXT4;
	return VPMEM_FS_NONE;
}

/*
 * Answer one request. The type and the result may be split over descriptors
 * however the driver likes; a chain without 4 bytes of type to read or 4 of
 * result to write is the driver's mistake, not a reason to stop the device:
 * it is returned with nothing written.
 */
static void serve_chain_locked(struct vpmem *p)
{
	const struct vq_chain *c = p->chain;
	struct iov_cur in, out;
	uint32_t type, resp = VPMEM_RESP_OK;

	iov_cur_init(&in, c->seg, c->nr_ro);
	iov_cur_init(&out, c->seg + c->nr_ro, c->nr_wo);
	if (c->wo_len < sizeof(resp) || iov_cur_copy_out(&in, &type, sizeof(type))) {
		log_guest_ratelimited("virtio-pmem %s: request without a type or a result buffer",
				      p->path);
		virtq_push(p->vq, c->head, 0);
		return;
	}
	if (le32toh(type) != VPMEM_REQ_FLUSH) {
		log_guest_ratelimited("virtio-pmem %s: unknown request type %" PRIu32, p->path,
				      le32toh(type));
		resp = VPMEM_RESP_EIO;
	} else {
		__atomic_add_fetch(&p->nr_flushes, 1, __ATOMIC_RELAXED);
		/* the guest's stores are in the host's page cache already: make them durable */
		if (!p->readonly && fdatasync(p->fd) < 0) {
			log_warn("virtio-pmem %s: fdatasync: %s", p->path, strerror(errno));
			resp = VPMEM_RESP_EIO;
		}
	}
	resp = htole32(resp);
	/* wo_len was checked: the copy succeeds and 4 bytes are used */
	virtq_push(p->vq, c->head, iov_cur_copy_in(&out, &resp, sizeof(resp)) ? 0 : sizeof(resp));
}

/* queue_notify - Context: loop thread. */
static void vpmem_queue_notify(void *dev, uint16_t qidx)
{
	struct vpmem *p = dev;
	struct vpci *t;
	bool pushed = false;
	int got = 0;

	pthread_mutex_lock(&p->lock);
	t = p->t;
	if (p->active && qidx == 0 && p->vq) {
		do {
			while ((got = virtq_pop(p->vq, p->chain)) == 1) {
				serve_chain_locked(p);
				pushed = true;
			}
		} while (got == 0 && virtq_enable_notify(p->vq));
		if (pushed)
			virtio_notify(t, 0);
	}
	pthread_mutex_unlock(&p->lock);
	if (got < 0)
		virtio_dev_fail(t, "malformed descriptor chain");
}

/* activate - Context: vCPU thread (DRIVER_OK). */
static int vpmem_activate(void *dev, const struct virtio_activation *act)
{
	struct vpmem *p = dev;

	pthread_mutex_lock(&p->lock);
	p->t = act->transport;
	p->vq = act->nr_vqs && act->vqs[0].vq_size ? &act->vqs[0] : NULL;
	p->active = true;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

/* reset - nothing is in flight beyond the lock. Context: vCPU thread. */
static int vpmem_reset(void *dev)
{
	struct vpmem *p = dev;

	pthread_mutex_lock(&p->lock);
	p->active = false;
	p->vq = NULL;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static uint64_t vpmem_features(void *dev)
{
	return 0; /* no VIRTIO_PMEM_F_SHMEM_REGION: the region is in the config space */
}

static int vpmem_set_features(void *dev, uint64_t acked)
{
	return 0;
}

/* (off, len) checked by the transport. Guest: off, len. */
static void vpmem_config_read(void *dev, uint32_t off, void *buf, uint32_t len)
{
	const struct vpmem *p = dev;
	uint64_t cfg[2] = { htole64(p->gpa), htole64(p->len) }; /* both fixed before the guest runs */

	memcpy(buf, (const uint8_t *)cfg + off, len);
}

/* The config space is read-only (virtio 1.2 §5.19.4). */
static int vpmem_config_write(void *dev, uint32_t off, const void *buf, uint32_t len)
{
	return 0;
}

static void vpmem_destroy(void *dev)
{
	struct vpmem *p = dev;

	if (!p)
		return;
	if (p->map)
		munmap(p->map, p->len);
	if (p->fd >= 0)
		close(p->fd); /* drops the flock */
	pthread_mutex_destroy(&p->lock);
	free(p->chain);
	free(p->path);
	free(p);
}

__printf(4, 5) static void *create_fail(struct vpmem *p, char *err, size_t errlen,
					const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	vpmem_destroy(p);
	return NULL;
}

/* The reservation, then the file over its start: shared, so N guests share its page cache. */
static int map_image(struct vpmem *p, uint64_t size)
{
	int prot = PROT_READ | (p->readonly ? 0 : PROT_WRITE);
	uint64_t file_len = (size + 4095) & ~4095ULL;
	void *m;

	p->len = (size + VPMEM_ALIGN - 1) & ~(VPMEM_ALIGN - 1);
	m = mmap(NULL, p->len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return -errno;
	p->map = m;
	if (mmap(m, file_len, prot, MAP_SHARED | MAP_FIXED, p->fd, 0) == MAP_FAILED)
		return -errno;
	return 0;
}

void *vpmem_create(const struct vpmem_config *c, char *err, size_t errlen)
{
	struct vpmem *p = calloc(1, sizeof(*p));
	const char *path = c->path;
	struct stat st;
	uint64_t size;
	int r;

	if (!p) {
		snprintf(err, errlen, "--pmem %s: out of memory", path);
		return NULL;
	}
	p->fd = -1;
	p->readonly = c->readonly;
	pthread_mutex_init(&p->lock, NULL);
	p->chain = malloc(sizeof(*p->chain));
	p->path = strdup(path);
	if (!p->chain || !p->path)
		return create_fail(p, err, errlen, "--pmem %s: out of memory", path);
	/* stat first: opening a FIFO would block */
	if (stat(path, &st) < 0)
		return create_fail(p, err, errlen, "--pmem %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return create_fail(p, err, errlen, "--pmem %s: not a regular file", path);
	p->fd = open(path, (c->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY);
	if (p->fd < 0)
		return create_fail(p, err, errlen, "--pmem %s: cannot open%s: %s", path,
				   c->readonly ? "" : " read-write (or give ro)", strerror(errno));
	if (fstat(p->fd, &st) < 0 || !S_ISREG(st.st_mode))
		return create_fail(p, err, errlen, "--pmem %s: not a regular file", path);
	if (flock(p->fd, (c->readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0)
		return create_fail(p, err, errlen, "--pmem %s: %s", path, errno == EWOULDBLOCK ?
				   "already in use (locked by another VM or device)" :
				   strerror(errno));
	size = (uint64_t)st.st_size;
	if (!size)
		return create_fail(p, err, errlen, "--pmem %s: image is empty", path);
	if (size > VPMEM_MAX_SIZE)
		return create_fail(p, err, errlen, "--pmem %s: %" PRIu64 " MiB is more than the "
				   "%llu MiB a pmem image may have", path,
				   (size + (1 << 20) - 1) >> 20, VPMEM_MAX_SIZE >> 20);
	if (!c->readonly && size % VPMEM_ALIGN)
		return create_fail(p, err, errlen, "--pmem %s: a writable image's size must be a "
				   "multiple of 2 MiB (%" PRIu64 " bytes; truncate -s to pad it)",
				   path, size);
	r = map_image(p, size);
	if (r)
		return create_fail(p, err, errlen, "--pmem %s: cannot map it: %s", path,
				   strerror(-r));
	return p;
}

void vpmem_mapping(void *dev, void **hva, uint64_t *len)
{
	const struct vpmem *p = dev;

	*hva = p->map;
	*len = p->len;
}

void vpmem_set_gpa(void *dev, uint64_t gpa)
{
	((struct vpmem *)dev)->gpa = gpa;
}

uint64_t vpmem_nr_flushes(void *dev)
{
	return __atomic_load_n(&((struct vpmem *)dev)->nr_flushes, __ATOMIC_RELAXED);
}

const struct virtio_dev_ops vpmem_ops = {
	.name = "virtio-pmem",
	.device_id = VIRTIO_ID_PMEM,
	.nr_queues = 1,
	.max_queue_size = VPMEM_QUEUE_SIZE,
	.config_size = VPMEM_CONFIG_SIZE,
	.features = vpmem_features,
	.set_features = vpmem_set_features,
	.config_read = vpmem_config_read,
	.config_write = vpmem_config_write,
	.activate = vpmem_activate,
	.queue_notify = vpmem_queue_notify,
	.reset = vpmem_reset,
	.destroy = vpmem_destroy,
};
