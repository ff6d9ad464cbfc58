// SPDX-License-Identifier: MIT
/* net_tap.c: open, create or take over the TAP queues behind a --net device. */
#include "vmm/net_tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/kcmp.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "devices/virtio/virtio_net.h"
#include "vmm/log.h"

#define TUN_PATH "/dev/net/tun"
/* /dev/net/tun: misc device 10, 200 (Documentation/admin-guide/devices.txt) */
#define TUN_MAJOR 10
#define TUN_MINOR 200
#define TAP_FLAGS (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)

/* The offloads (TUN_F_*) the tap takes, most first; ends with them off. */
static uint64_t tap_probe_offloads(int fd)
{
	static const unsigned tries[] = {
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN,
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6,
		TUN_F_CSUM,
	};
	uint64_t got = 0;

	for (size_t i = 0; i < ARRAY_SIZE(tries) && !got; i++)
		if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)tries[i]) == 0)
			got = tries[i];
	if (ioctl(fd, TUNSETOFFLOAD, 0UL) < 0)
		log_warn("tap: cannot turn offloads off: %s", strerror(errno));
	return got;
}

/* Bring a tap we created up (no address: that is the host's business). */
static void tap_set_up(const char *name)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			log_warn("tap %s: cannot set it up: %s", name, strerror(errno));
	}
	close(s);
}

/* Close the first (nr) of (fds) and set them to -1. */
static void close_all(int *fds, unsigned nr)
{
	for (unsigned i = 0; i < nr; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

/* TUNSETIFF (name) with (flags) on (fd). Return: 0 or -errno. */
static int tun_setiff(int fd, const char *name, int flags)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = (short)flags;
	return ioctl(fd, TUNSETIFF, &ifr) < 0 ? -errno : 0;
}

/* Why TUNSETIFF failed with (e), into (why); (exists): the interface was there. */
static void setiff_why(const char *name, int e, bool exists, char *why, size_t len)
{
	if (e == EBUSY)
		snprintf(why, len, "tap %s is in use by another process", name);
	else if (e == EPERM && exists)
		snprintf(why, len, "permission denied (the tap belongs to another user; attaching "
			 "needs its owner or CAP_NET_ADMIN)");
	else if (e == EPERM)
		snprintf(why, len, "no such tap, and creating one needs CAP_NET_ADMIN");
	else if (e == EINVAL && exists)
		snprintf(why, len, "%s is not a tap device (a tun, or another kind of interface)",
			 name);
	else
		snprintf(why, len, "%s", strerror(e));
}

/*
 * The first queue of (name) on (fd): single-queue unless (mq). An existing tap
 * whose multi_queue setting differs refuses with EINVAL; the other setting is
 * tried then, and taken for one queue (*mq_tap says so), refused for more.
 * Return: 0 or -errno with the reason in (why).
 */
static int tap_first_queue(int fd, const char *name, bool mq, bool exists, bool *mq_tap,
			   char *why, size_t len)
{
	/* TUN_EXCL when creating: never attach to one someone made meanwhile */
	int r = tun_setiff(fd, name, TAP_FLAGS | (mq ? IFF_MULTI_QUEUE : 0) |
				     (exists ? 0 : IFF_TUN_EXCL));

	*mq_tap = mq;
	if (r == -EINVAL && exists) {
		r = tun_setiff(fd, name, TAP_FLAGS | (mq ? 0 : IFF_MULTI_QUEUE));
		if (r == 0 && mq) {
			snprintf(why, len, "%s is a single-queue tap: more than one queue needs "
				 "a tap made multi_queue (ip tuntap add %s mode tap multi_queue)",
				 name, name);
			return -EINVAL;
		}
		*mq_tap = !mq; /* if r is still -EINVAL, neither way: not a tap at all */
	}
	if (r)
		setiff_why(name, -r, exists, why, len);
	return r;
}

int net_tap_open(const char *name, unsigned queues, int *fds, struct net_tap_info *info,
		 char *err, size_t errlen)
{
	struct ifreq ifr;
	int hdr = VNET_HDR_LEN, e = 0;
	bool exists = if_nametoindex(name) != 0;
	char why[200];

	*info = (struct net_tap_info){ 0 };
	for (unsigned i = 0; i < queues; i++)
		fds[i] = -1;
	if (strlen(name) >= sizeof(ifr.ifr_name)) {
		snprintf(err, errlen, "--net tap=%s: name too long", name);
		return -EINVAL;
	}
	for (unsigned i = 0; i < queues && !e; i++) {
		fds[i] = open(TUN_PATH, O_RDWR | O_CLOEXEC | O_NONBLOCK);
		if (fds[i] < 0) {
			e = errno;
			snprintf(why, sizeof(why), TUN_PATH ": %s", strerror(e));
		} else if (i == 0) {
			e = -tap_first_queue(fds[0], name, queues > 1, exists, &info->multi_queue,
					     why, sizeof(why));
		} else if ((e = -tun_setiff(fds[i], name, TAP_FLAGS | IFF_MULTI_QUEUE))) {
			snprintf(why, sizeof(why), "cannot open queue %u of %u: %s", i + 1, queues,
				 strerror(e));
		}
		if (!e && ioctl(fds[i], TUNSETVNETHDRSZ, &hdr) < 0) {
			e = errno;
			snprintf(why, sizeof(why), "cannot set the vnet header size: %s",
				 strerror(e));
		}
	}
	if (e) {
		/* a tap we created goes with its last queue */
		close_all(fds, queues);
		snprintf(err, errlen, "--net tap=%s: %s", name, why);
		return -e;
	}
	info->offloads = tap_probe_offloads(fds[0]);
	info->created = !exists;
	if (!exists)
		tap_set_up(name);
	return 0;
}

/* Whether (a) and (b) are one open file (kcmp(2)); false where kcmp is missing. */
static bool same_file(int a, int b)
{
	pid_t me = getpid();

	return syscall(SYS_kcmp, me, me, KCMP_FILE, a, b) == 0;
}

/*
 * Check fd (i) of (fds) against the rules of net_tap_adopt(); (first) is the
 * interface of fds[0] (filled when i is 0), (tun) whether fds[0] is a tun
 * device queue. Return: 0 or -errno with the reason in (why).
 */
static int adopt_check(const int *fds, unsigned i, char *first, bool *tun, char *why,
		       size_t len)
{
	struct ifreq ifr = { 0 };
	struct stat st;
	int fd = fds[i];

	if (fcntl(fd, F_GETFD) < 0 || fstat(fd, &st) < 0) {
		snprintf(why, len, "fd %d is not open (agentvmm must inherit it from its parent)",
			 fd);
		return -EBADF;
	}
	if (!S_ISCHR(st.st_mode) || ioctl(fd, TUNGETIFF, &ifr) < 0) {
		bool unattached = S_ISCHR(st.st_mode) && errno == EBADFD;

		snprintf(why, len, "fd %d is not a tap or macvtap%s", fd, unattached ?
			 " (a /dev/net/tun fd not attached to a tap: TUNSETIFF first)" :
			 " (expected /dev/net/tun after TUNSETIFF, or a macvtap's /dev/tapN)");
		return -ENOTTY;
	}
	if ((ifr.ifr_flags & (IFF_TUN | IFF_TAP)) != IFF_TAP) {
		snprintf(why, len, "fd %d is a tun (IFF_TUN), not a tap", fd);
		return -ENOTTY;
	}
	if ((ifr.ifr_flags & (IFF_NO_PI | IFF_VNET_HDR)) != (IFF_NO_PI | IFF_VNET_HDR)) {
		snprintf(why, len, "fd %d: the tap was opened without IFF_NO_PI and IFF_VNET_HDR "
			 "(ip tuntap ... vnet_hdr)", fd);
		return -EINVAL;
	}
	if (i == 0) {
		snprintf(first, IFNAMSIZ, "%s", ifr.ifr_name);
		*tun = major(st.st_rdev) == TUN_MAJOR && minor(st.st_rdev) == TUN_MINOR;
		return 0;
	}
	if (strncmp(first, ifr.ifr_name, IFNAMSIZ)) {
		snprintf(why, len, "fd %d is a queue of %.16s, fd %d of %.16s: all fds must be "
			 "queues of one interface", fds[0], first, fd, ifr.ifr_name);
		return -EINVAL;
	}
	for (unsigned j = 0; j < i; j++) {
		if (same_file(fds[j], fd)) {
			snprintf(why, len, "fd %d and fd %d are the same open queue (one a dup of "
				 "the other)", fds[j], fd);
			return -EINVAL;
		}
	}
	/* a single-queue tap has one queue: a second fd can only be the same open file */
	if (*tun && !(ifr.ifr_flags & IFF_MULTI_QUEUE)) {
		snprintf(why, len, "%.16s is a single-queue tap: one fd only", first);
		return -EINVAL;
	}
	return 0;
}

int net_tap_adopt(const char *label, const int *fds, unsigned nr, int *out,
		  struct net_tap_info *info, char *err, size_t errlen)
{
	char first[IFNAMSIZ] = "", why[200];
	int hdr = VNET_HDR_LEN, r = 0;
	bool tun = false;

	*info = (struct net_tap_info){ 0 };
	for (unsigned i = 0; i < nr; i++)
		out[i] = -1;
	for (unsigned i = 0; i < nr && !r; i++) {
		int fd = fds[i], fl;

		r = adopt_check(fds, i, first, &tun, why, sizeof(why));
		if (r)
			break;
		fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 ||
		    (out[i] = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
			r = -errno;
			snprintf(why, sizeof(why), "fd %d: cannot set it up: %s", fd, strerror(-r));
		}
	}
	if (r) {
		close_all(out, nr);
		snprintf(err, errlen, "--net %s: %s", label, why);
		return r;
	}
	info->offloads = tap_probe_offloads(out[0]);
	/* a macvtap's queues detach whatever its flags say; a tun's when multi_queue */
	info->multi_queue = nr > 1;
	return 0;
}
