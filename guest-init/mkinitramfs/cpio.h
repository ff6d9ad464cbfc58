/* SPDX-License-Identifier: MIT */
/*
 * cpio.h: a writer for "newc" cpio archives, the format the kernel unpacks
 * as an initramfs (Documentation/driver-api/early-userspace/buffer-format.rst).
 *
 * Each member is a 110-byte ASCII header, "070701" then 13 fields of 8
 * uppercase hex digits (ino, mode, uid, gid, nlink, mtime, filesize,
 * devmajor, devminor, rdevmajor, rdevminor, namesize incl. NUL, check=0),
 * then the NUL-terminated name padded so header+name is a multiple of 4,
 * then the data (a symlink's data is its target) padded to 4. The archive
 * ends with a member named "TRAILER!!!". Every member is owned by root with
 * mtime 0, so the same inputs give the same bytes; inode numbers count up
 * from 1 (nlink 1, so the kernel never links two members together).
 */
#ifndef AGENTVMM_GUEST_INIT_MKINITRAMFS_CPIO_H
#define AGENTVMM_GUEST_INIT_MKINITRAMFS_CPIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "guest-init/compiler.h"

#define GI_CPIO_BUF 16384

struct gi_cpio {
	int cp_fd;
	int cp_err;		/* first error; every later call returns it */
	uint32_t cp_ino;
	uint64_t cp_off;	/* bytes written, buffered ones included */
	size_t cp_buf_len;
	unsigned char cp_buf[GI_CPIO_BUF];
};

/* gi_cpio_init() - start an archive written to (fd), which the caller owns. */
void gi_cpio_init(struct gi_cpio *c, int fd);

/*
 * Members. (name) is the path inside the archive without a leading '/', e.g.
 * "bin/busybox"; parents must be added first. (mode) holds the permission
 * bits only (the type comes from the function).
 *
 * Return (each): 0; -EINVAL for an empty, absolute or over-long name or the
 * reserved "TRAILER!!!"; -EFBIG for data over 4 GiB - 1; -EIO when (src_fd)
 * ends early; a write error as -errno. After an error the archive is unusable.
 * Context: any thread; one archive per thread.
 */
int __must_check gi_cpio_add_dir(struct gi_cpio *c, const char *name, mode_t mode);
int __must_check gi_cpio_add_file(struct gi_cpio *c, const char *name, mode_t mode,
				  const void *data, size_t len);
/* gi_cpio_add_file_fd() - a regular file whose (len) bytes are read from (src_fd). */
int __must_check gi_cpio_add_file_fd(struct gi_cpio *c, const char *name, mode_t mode,
				     int src_fd, uint64_t len);
int __must_check gi_cpio_add_symlink(struct gi_cpio *c, const char *name, const char *target);
/* gi_cpio_add_chardev() - a character device node (major, minor). */
int __must_check gi_cpio_add_chardev(struct gi_cpio *c, const char *name, mode_t mode,
				     unsigned int major, unsigned int minor);

/*
 * gi_cpio_finish() - write the trailer and flush. The fd is not synced or closed.
 * Return: 0 or the first error of the archive.
 */
int __must_check gi_cpio_finish(struct gi_cpio *c);

#endif
