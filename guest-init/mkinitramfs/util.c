// SPDX-License-Identifier: MIT
/* util.c: whole-file reading for the initramfs builder. */
#include "guest-init/mkinitramfs/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int gi_read_file(const char *path, size_t max, char **buf, size_t *len)
{
	struct stat st;
	size_t done = 0;
	char *p = NULL;
	ssize_t n;
	int fd, ret;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto err_close;
	}
	ret = -EFBIG;
	if (st.st_size < 0 || (unsigned long long)st.st_size > max)
		goto err_close;
	ret = -ENOMEM;
	p = malloc((size_t)st.st_size + 1);
	if (!p)
		goto err_close;
	/* read to EOF even if the size was wrong (procfs, a file still growing) */
	while (done < (size_t)st.st_size) {
		n = read(fd, p + done, (size_t)st.st_size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto err_free;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	p[done] = '\0';
	close(fd);
	*buf = p;
	*len = done;
	return 0;

err_free:
	free(p);
err_close:
	close(fd);
	return ret;
}
