// SPDX-License-Identifier: MIT
/* cpio.c: buffered newc cpio archive writer for initramfs images. */
#include "guest-init/mkinitramfs/cpio.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CPIO_MAGIC "070701"
#define CPIO_HDR_LEN 110
#define CPIO_TRAILER "TRAILER!!!"
#define CPIO_NAME_MAX 4096

/* one newc member header, before the name */
struct cpio_member {
	uint32_t mode;
	uint32_t nlink;
	uint64_t size;
	uint32_t rmajor, rminor;
};

void gi_cpio_init(struct gi_cpio *c, int fd)
{
	memset(c, 0, sizeof(*c));
	c->cp_fd = fd;
}

static int flush(struct gi_cpio *c)
{
	size_t done = 0;
	ssize_t n;

	while (done < c->cp_buf_len) {
		n = write(c->cp_fd, c->cp_buf + done, c->cp_buf_len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			c->cp_err = n < 0 ? -errno : -EIO;
			return c->cp_err;
		}
		done += (size_t)n;
	}
	c->cp_buf_len = 0;
	return 0;
}

static int put(struct gi_cpio *c, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t chunk;

	while (len) {
		if (c->cp_buf_len == sizeof(c->cp_buf) && flush(c))
			return c->cp_err;
		chunk = sizeof(c->cp_buf) - c->cp_buf_len;
		if (chunk > len)
			chunk = len;
		memcpy(c->cp_buf + c->cp_buf_len, p, chunk);
		c->cp_buf_len += chunk;
		c->cp_off += chunk;
		p += chunk;
		len -= chunk;
	}
	return 0;
}

/* zero bytes up to the next multiple of 4 */
static int pad4(struct gi_cpio *c)
{
	static const unsigned char zero[4];

	return put(c, zero, (4 - (c->cp_off & 3)) & 3);
}

static int check_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= CPIO_NAME_MAX || name[0] == '/' || strcmp(name, CPIO_TRAILER) == 0)
		return -EINVAL;
	return 0;
}

/* Header and padded name; the caller writes (m->size) data bytes and pads. */
static int put_header(struct gi_cpio *c, const char *name, const struct cpio_member *m)
{
	char hdr[CPIO_HDR_LEN + 1];
	size_t nlen = strlen(name) + 1;

	if (c->cp_err)
		return c->cp_err;
	if (m->size > UINT32_MAX)
		return -EFBIG;
	snprintf(hdr, sizeof(hdr),
		 CPIO_MAGIC "%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 ++c->cp_ino, m->mode, 0u, 0u, m->nlink, 0u, (unsigned int)m->size, 0u, 0u,
		 m->rmajor, m->rminor, (unsigned int)nlen, 0u);
	if (put(c, hdr, CPIO_HDR_LEN) || put(c, name, nlen) || pad4(c))
		return c->cp_err;
	return 0;
}

static int add_simple(struct gi_cpio *c, const char *name, const struct cpio_member *m,
		      const void *data)
{
	int ret = check_name(name);

	if (ret)
		return ret;
	ret = put_header(c, name, m);
	if (ret)
		return ret;
	if (put(c, data, m->size) || pad4(c))
		return c->cp_err;
	return 0;
}

int gi_cpio_add_dir(struct gi_cpio *c, const char *name, mode_t mode)
{
	struct cpio_member m = { .mode = S_IFDIR | (mode & 07777), .nlink = 2 };

	return add_simple(c, name, &m, NULL);
}

int gi_cpio_add_file(struct gi_cpio *c, const char *name, mode_t mode, const void *data,
		     size_t len)
{
	struct cpio_member m = { .mode = S_IFREG | (mode & 07777), .nlink = 1, .size = len };

	return add_simple(c, name, &m, data);
}

int gi_cpio_add_symlink(struct gi_cpio *c, const char *name, const char *target)
{
	struct cpio_member m = { .mode = S_IFLNK | 0777, .nlink = 1, .size = strlen(target) };

	if (!*target)
		return -EINVAL;
	return add_simple(c, name, &m, target);
}

int gi_cpio_add_chardev(struct gi_cpio *c, const char *name, mode_t mode, unsigned int major,
			unsigned int minor)
{
	struct cpio_member m = {
		.mode = S_IFCHR | (mode & 07777), .nlink = 1, .rmajor = major, .rminor = minor,
	};

	return add_simple(c, name, &m, NULL);
}

int gi_cpio_add_file_fd(struct gi_cpio *c, const char *name, mode_t mode, int src_fd,
			uint64_t len)
{
	struct cpio_member m = { .mode = S_IFREG | (mode & 07777), .nlink = 1, .size = len };
	unsigned char chunk[16384];
	ssize_t n;
	int ret = check_name(name);

	if (ret)
		return ret;
	ret = put_header(c, name, &m);
	if (ret)
		return ret;
	while (len) {
		n = read(src_fd, chunk, len < sizeof(chunk) ? (size_t)len : sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* the member is half written: the archive is unusable from here */
			c->cp_err = n < 0 ? -errno : -EIO;
			return c->cp_err;
		}
		if (put(c, chunk, (size_t)n))
			return c->cp_err;
		len -= (uint64_t)n;
	}
	if (pad4(c))
		return c->cp_err;
	return 0;
}

int gi_cpio_finish(struct gi_cpio *c)
{
	struct cpio_member m = { .nlink = 1 };

	if (c->cp_err)
		return c->cp_err;
	if (put_header(c, CPIO_TRAILER, &m) || flush(c))
		return c->cp_err;
	return 0;
}
