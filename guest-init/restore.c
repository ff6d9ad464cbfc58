// SPDX-License-Identifier: MIT
/* restore.c: the template mark, the restore port, reseed, clock and PCI rescan. */
#include "guest-init/restore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "guest-init/fsutil.h"
#include "guest-init/ports.h"
#include "guest-init/report.h"

/*
 * From <linux/random.h> (uapi, stable ABI), which the static build's libc
 * does not ship: add entropy to the input pool, and reseed the CRNG now.
 */
#ifndef RNDADDENTROPY
#define RNDADDENTROPY _IOW('R', 0x03, int[2])
#endif
#ifndef RNDRESEEDCRNG
#define RNDRESEEDCRNG _IO('R', 0x07)
#endif
struct gi_rand_pool_info {
	int entropy_count; /* bits credited */
	int buf_size;      /* bytes in buf */
	unsigned char buf[GI_CMDLINE_SEED_BYTES];
};

#if defined(__x86_64__) || defined(__i386__)
#include <sys/io.h>

int gi_restore_wait(char **text, size_t *len)
{
	char *buf = NULL;
	uint32_t n;
	int ret = 0;

	if (ioperm(GI_RESTORE_PORT, 4, 1) < 0)
		return -EPERM;
	gi_bootmark(GI_BOOTMARK_TEMPLATE_READY);
	/* a restored VM is here: the host answers with this VM's configuration */
	n = inl(GI_RESTORE_PORT);
	if (!n)
		ret = -ENODATA;
	else if (n > GI_RESTORE_MAX)
		ret = -E2BIG;
	else if (!(buf = malloc((size_t)n + 1)))
		ret = -ENOMEM;
	else
		insb(GI_RESTORE_PORT, buf, n);
	ioperm(GI_RESTORE_PORT, 4, 0);
	if (ret)
		return ret;
	buf[n] = '\0';
	/* the text is one line of keys: a NUL in it would end it early; refuse */
	if (memchr(buf, '\0', n)) {
		free(buf);
		return -EINVAL;
	}
	*text = buf;
	*len = n;
	return 0;
}
#else
int gi_restore_wait(char **text, size_t *len)
{
	(void)text;
	(void)len;
	return -EPERM;
}
#endif

static int reseed(const unsigned char *seed, size_t n)
{
	struct gi_rand_pool_info p;
	int fd, ret = 0;

	if (n > sizeof(p.buf))
		return -EINVAL;
	memset(&p, 0, sizeof(p));
	p.entropy_count = (int)(n * 8);
	p.buf_size = (int)n;
	memcpy(p.buf, seed, n);
	fd = open("/dev/urandom", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, RNDADDENTROPY, &p) < 0 || ioctl(fd, RNDRESEEDCRNG) < 0)
		ret = -errno;
	close(fd);
	explicit_bzero(&p, sizeof(p));
	return ret;
}

int gi_restore_apply(const struct gi_cmdline *cl)
{
	int ret = 0, r;

	if (cl->cl_has_seed) {
		r = reseed(cl->cl_seed, sizeof(cl->cl_seed));
		if (r) {
			gi_err("restore: reseeding the RNG: %s", strerror(-r));
			ret = ret ? ret : r;
		}
	} else {
		gi_err("restore: no agentvmm.seed: the RNG goes on from the template's state");
	}
	if (cl->cl_has_time) {
		struct timespec ts = { .tv_sec = (time_t)cl->cl_time_sec,
				       .tv_nsec = cl->cl_time_nsec };

		if (clock_settime(CLOCK_REALTIME, &ts) < 0) {
			r = -errno;
			gi_err("restore: setting the clock: %s", strerror(-r));
			ret = ret ? ret : r;
		}
	}
	/* the template had no PCI device; this VM may have many */
	r = gi_write_text("/sys/bus/pci/rescan", "1", 0);
	if (r) {
		gi_err("restore: /sys/bus/pci/rescan: %s", strerror(-r));
		ret = ret ? ret : r;
	}
	return ret;
}
