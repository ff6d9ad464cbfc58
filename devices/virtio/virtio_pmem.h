/* SPDX-License-Identifier: MIT */
/*
 * virtio_pmem.h: virtio-pmem (virtio 1.2 §5.19, device id 27): a host file
 * mapped into the guest's physical address space, which the guest uses as
 * persistent memory (a /dev/pmemN block device, with DAX for filesystems on
 * it: files are read straight from the mapping, without a copy in the guest's
 * page cache). N guests mapping one read-only image share the host's page
 * cache pages of it (docs/pmem.md).
 *
 * The device owns the file and its host mapping; the VM registers the
 * mapping as a KVM memory slot at the guest-physical address it chose
 * (vpmem_set_gpa(), before the guest can read the config space) and
 * read-only when the image is. The one queue carries flush requests: a
 * device-readable le32 type (0: flush) and a device-writable le32 result
 * (0: done). A flush of a writable image is fdatasync() of the file.
 */
#ifndef AGENTVMM_DEVICES_VIRTIO_VIRTIO_PMEM_H
#define AGENTVMM_DEVICES_VIRTIO_VIRTIO_PMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/virtio_dev.h"

#define VPMEM_QUEUE_SIZE 64
#define VPMEM_ALIGN (2ULL << 20)      /* region size granule: the guest maps 2 MiB sections */
#define VPMEM_MAX_SIZE (32ULL << 30)  /* one image; also the window per device (vm_devices.c) */
#define VPMEM_REQ_FLUSH 0
#define VPMEM_RESP_OK 0
#define VPMEM_RESP_EIO 1

enum vpmem_fstype { VPMEM_FS_NONE, VPMEM_FS_EROFS, VPMEM_FS_EXT4 };

struct vpmem_config {
	const char *path;
	bool readonly;
};

/*
 * vpmem_create() - open (c->path) and map it: a regular file of 1 byte to
 * VPMEM_MAX_SIZE; read-only images are opened O_RDONLY with a shared flock,
 * writable ones O_RDWR with an exclusive one and a size that is a multiple of
 * VPMEM_ALIGN (a read-only image's tail up to the next 2 MiB reads as zeros).
 * Return: the device for vpmem_ops, or NULL with one line in (err) naming the
 * path and the problem. Context: setup.
 */
void *vpmem_create(const struct vpmem_config *c, char *err, size_t errlen);

/* vpmem_mapping() - the host mapping (*hva, *len: a multiple of VPMEM_ALIGN). */
void vpmem_mapping(void *dev, void **hva, uint64_t *len);

/* vpmem_set_gpa() - where the VM put the mapping (the config space's start). Context: setup. */
void vpmem_set_gpa(void *dev, uint64_t gpa);

/*
 * vpmem_fstype() - the filesystem at the start of the image at (path): erofs
 * (magic 0xE0F5E1E2 at 1024) or ext2/3/4 (0xEF53 at 1080), else
 * VPMEM_FS_NONE (also when it cannot be read). Context: any.
 */
enum vpmem_fstype vpmem_fstype(const char *path);

/* vpmem_nr_flushes() - flush requests served (tests). */
uint64_t vpmem_nr_flushes(void *dev);

/*
 * vpmem_ops - queue_notify on the loop thread (each request answered at
 * once: nothing is ever in flight); activate/reset/config on a vCPU thread;
 * the device lock keeps them apart.
 */
extern const struct virtio_dev_ops vpmem_ops;

#endif
