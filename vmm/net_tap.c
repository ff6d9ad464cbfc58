// SPDX-License-Identifier: MIT
/* net_tap.c: open or create the TAP behind a --net device. */
#include "vmm/net_tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/virtio/virtio_net.h"
#include "vmm/log.h"

#define TUN_PATH "/dev/net/tun"

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

static int tap_fail(int fd, int e, char *err, size_t errlen, const char *name, const char *why)
{
	snprintf(err, errlen, "--net tap=%s: %s", name, why);
	if (fd >= 0)
		close(fd);
	return -e;
}

int net_tap_open(const char *name, bool *created, uint64_t *offloads, char *err, size_t errlen)
{
	struct ifreq ifr = { 0 };
	int hdr = VNET_HDR_LEN, fd, e;
	bool exists = if_nametoindex(name) != 0;
	char why[160];

	*created = false;
	*offloads = 0;
	if (strlen(name) >= sizeof(ifr.ifr_name))
		return tap_fail(-1, EINVAL, err, errlen, name, "name too long");
	fd = open(TUN_PATH, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		e = errno;
		snprintf(why, sizeof(why), TUN_PATH ": %s", strerror(e));
		return tap_fail(-1, e, err, errlen, name, why);
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	/* TUN_EXCL when creating: never attach to one someone made meanwhile */
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (exists ? 0 : IFF_TUN_EXCL);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		if (e == EBUSY)
			snprintf(why, sizeof(why), "tap %s is in use by another process", name);
		else if (e == EPERM && exists)
			snprintf(why, sizeof(why), "permission denied (the tap belongs to another "
				 "user; attaching needs its owner or CAP_NET_ADMIN)");
		else if (e == EPERM)
			snprintf(why, sizeof(why), "no such tap, and creating one needs "
				 "CAP_NET_ADMIN");
		else if (e == EINVAL && exists)
			snprintf(why, sizeof(why), "%s is not a single-queue tap device", name);
		else
			snprintf(why, sizeof(why), "%s", strerror(e));
		return tap_fail(fd, e, err, errlen, name, why);
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		e = errno;
		snprintf(why, sizeof(why), "cannot set the vnet header size: %s", strerror(e));
		return tap_fail(fd, e, err, errlen, name, why);
	}
	*offloads = tap_probe_offloads(fd);
	*created = !exists;
	if (!exists)
		tap_set_up(name);
	return fd;
}
