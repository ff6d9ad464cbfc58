// SPDX-License-Identifier: MIT
/* net.c: bring up lo and the --net interfaces with rtnetlink (no external tools). */
#include "guest-init/net.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "guest-init/diag.h"
#include "guest-init/report.h"

#define RESOLV_CONF "/etc/resolv.conf"

/*
 * The rtnetlink ABI, spelled out here because guest-init is libc-only and musl
 * ships no Linux uapi headers: include/uapi/linux/netlink.h, rtnetlink.h,
 * if_addr.h (Linux 6.1), stable kernel ABI.
 */
#define NETLINK_ROUTE 0
#define NLM_F_REQUEST 0x01
#define NLM_F_ACK 0x04
#define NLM_F_REPLACE 0x100
#define NLM_F_CREATE 0x400
#define NLMSG_ERROR 0x2
#define RTM_NEWLINK 16
#define IFLA_MTU 4
#define RTM_NEWADDR 20
#define RTM_NEWROUTE 24
#define IFA_ADDRESS 1
#define IFA_LOCAL 2
#define IFA_BROADCAST 4
#define RTA_OIF 4
#define RTA_GATEWAY 5
#define RT_TABLE_MAIN 254
#define RTPROT_BOOT 3
#define RT_SCOPE_UNIVERSE 0
#define RTN_UNICAST 1
#define NL_ALIGN(len) (((len) + 3u) & ~3u)

struct sockaddr_nl {
	unsigned short nl_family, nl_pad;
	uint32_t nl_pid, nl_groups;
};

struct nlmsghdr {
	uint32_t nlmsg_len;
	uint16_t nlmsg_type, nlmsg_flags;
	uint32_t nlmsg_seq, nlmsg_pid;
};

struct nlmsgerr {
	int error;
	struct nlmsghdr msg;
};

struct rtattr {
	unsigned short rta_len, rta_type;
};

struct ifinfomsg {
	unsigned char ifi_family, ifi_pad;
	unsigned short ifi_type;
	int ifi_index;
	unsigned ifi_flags, ifi_change;
};

struct ifaddrmsg {
	uint8_t ifa_family, ifa_prefixlen, ifa_flags, ifa_scope;
	uint32_t ifa_index;
};

struct rtmsg {
	unsigned char rtm_family, rtm_dst_len, rtm_src_len, rtm_tos;
	unsigned char rtm_table, rtm_protocol, rtm_scope, rtm_type;
	unsigned rtm_flags;
};

_Static_assert(sizeof(struct nlmsghdr) == 16, "netlink ABI");
_Static_assert(sizeof(struct ifinfomsg) == 16, "rtnetlink ABI");
_Static_assert(sizeof(struct ifaddrmsg) == 8, "rtnetlink ABI");
_Static_assert(sizeof(struct rtmsg) == 12, "rtnetlink ABI");

struct nl_req {
	struct nlmsghdr nh;
	union {
		struct ifinfomsg ifi;
		struct ifaddrmsg ifa;
		struct rtmsg rt;
	};
	char attrs[64];
};

/* Append attribute (type, data, len) to (r). */
static void nl_attr(struct nl_req *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NL_ALIGN(r->nh.nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)(sizeof(*a) + len);
	memcpy(a + 1, data, len);
	r->nh.nlmsg_len = NL_ALIGN(r->nh.nlmsg_len) + NL_ALIGN(a->rta_len);
}

/* Send (r) and wait for its acknowledgement. Return: 0 or the -errno the kernel gave. */
static int nl_talk(int fd, struct nl_req *r)
{
	static uint32_t seq;
	char buf[4096] __attribute__((aligned(4)));
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	r->nh.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	r->nh.nlmsg_seq = ++seq;
	if (sendto(fd, r, r->nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0)
			return errno == EINTR ? -EINTR : -errno;
		for (size_t off = 0; off + sizeof(struct nlmsghdr) <= (size_t)n;) {
			struct nlmsghdr *h = (struct nlmsghdr *)(buf + off);

			if (h->nlmsg_len < sizeof(*h) || h->nlmsg_len > (size_t)n - off)
				break;
			if (h->nlmsg_seq == r->nh.nlmsg_seq && h->nlmsg_type == NLMSG_ERROR &&
			    h->nlmsg_len >= sizeof(*h) + sizeof(int))
				return ((struct nlmsgerr *)(h + 1))->error;
			off += NL_ALIGN(h->nlmsg_len);
		}
	}
}

/* Set (ifindex) up, and its MTU to (mtu) unless 0. */
static int link_up(int fd, int ifindex, unsigned mtu)
{
	struct nl_req r = { 0 };

	r.nh.nlmsg_len = sizeof(r.nh) + sizeof(r.ifi);
	r.nh.nlmsg_type = RTM_NEWLINK;
	r.ifi.ifi_family = AF_UNSPEC;
	r.ifi.ifi_index = ifindex;
	r.ifi.ifi_flags = IFF_UP;
	r.ifi.ifi_change = IFF_UP;
	if (mtu)
		nl_attr(&r, IFLA_MTU, &mtu, sizeof(mtu));
	return nl_talk(fd, &r);
}

static int addr_add(int fd, int ifindex, struct in_addr a, unsigned prefix)
{
	struct nl_req r = { 0 };
	struct in_addr brd = a;

	if (prefix < 32)
		brd.s_addr |= htonl(0xffffffffu >> prefix);
	r.nh.nlmsg_len = sizeof(r.nh) + sizeof(r.ifa);
	r.nh.nlmsg_type = RTM_NEWADDR;
	r.nh.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	r.ifa.ifa_family = AF_INET;
	r.ifa.ifa_prefixlen = (unsigned char)prefix;
	r.ifa.ifa_index = (unsigned)ifindex;
	nl_attr(&r, IFA_LOCAL, &a, sizeof(a));
	nl_attr(&r, IFA_ADDRESS, &a, sizeof(a));
	if (prefix < 31)
		nl_attr(&r, IFA_BROADCAST, &brd, sizeof(brd));
	return nl_talk(fd, &r);
}

static int route_default(int fd, int ifindex, struct in_addr gw)
{
	struct nl_req r = { 0 };
	uint32_t oif = (uint32_t)ifindex;

	r.nh.nlmsg_len = sizeof(r.nh) + sizeof(r.rt);
	r.nh.nlmsg_type = RTM_NEWROUTE;
	r.nh.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	r.rt.rtm_family = AF_INET;
	r.rt.rtm_table = RT_TABLE_MAIN;
	r.rt.rtm_protocol = RTPROT_BOOT;
	r.rt.rtm_scope = RT_SCOPE_UNIVERSE;
	r.rt.rtm_type = RTN_UNICAST;
	nl_attr(&r, RTA_GATEWAY, &gw, sizeof(gw));
	nl_attr(&r, RTA_OIF, &oif, sizeof(oif));
	return nl_talk(fd, &r);
}

/* The index of the interface whose address is (mac) ("aa:bb:..", lowercase), or 0. */
static int if_by_mac(const char *mac)
{
	DIR *d = opendir("/sys/class/net");
	struct dirent *de;
	int idx = 0;

	while (d && !idx && (de = readdir(d))) {
		char path[300], got[32] = "";
		ssize_t n;
		int f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/class/net/%s/address", de->d_name);
		f = open(path, O_RDONLY | O_CLOEXEC);
		if (f < 0)
			continue;
		n = read(f, got, sizeof(got) - 1);
		close(f);
		if (n >= 17 && strncmp(got, mac, 17) == 0) {
			snprintf(path, sizeof(path), "/sys/class/net/%s/ifindex", de->d_name);
			f = open(path, O_RDONLY | O_CLOEXEC);
			if (f >= 0) {
				n = read(f, got, sizeof(got) - 1);
				got[n > 0 ? n : 0] = 0;
				idx = atoi(got);
				close(f);
			}
		}
	}
	if (d)
		closedir(d);
	return idx;
}

/*
 * "MAC|A.B.C.D/N|GW|DNS[|MTU]" into its fields (in place; f[4] "" without
 * MTU). Return: 0 or -EINVAL.
 */
static int item_split(char *item, char **f)
{
	static char none[] = "";

	f[4] = none;
	for (int i = 0; i < 5 && item; i++) {
		f[i] = item;
		item = strchr(item, '|');
		if (item)
			*item++ = 0;
		else if (i < 3)
			return -EINVAL;
	}
	return strlen(f[0]) == 17 && !item ? 0 : -EINVAL;
}

static int resolv_add(const char *dns)
{
	FILE *f = fopen(RESOLV_CONF, "ae");

	if (!f)
		return -errno;
	fprintf(f, "nameserver %s\n", dns);
	return fclose(f) ? -errno : 0;
}

/* Configure one item. Return: 0 or -errno (printed). */
static int net_one(int fd, const char *item_in)
{
	char item[128], *f[5], *slash, *end;
	struct timespec nap = { 0, 10 * 1000 * 1000 };
	struct in_addr a, gw, dns;
	unsigned prefix;
	unsigned long mtu = 0;
	int idx = 0, r;

	snprintf(item, sizeof(item), "%s", item_in);
	if (item_split(item, f) ||
	    (f[4][0] && ((mtu = strtoul(f[4], &end, 10)) < 68 || mtu > 65535 || *end))) {
		gi_err("net: bad item '%s'", item_in);
		return -EINVAL;
	}
	for (int waited = 0; !(idx = if_by_mac(f[0])) && waited < GI_NET_WAIT_MS; waited += 10)
		nanosleep(&nap, NULL);
	if (!idx) {
		char why[512];

		if (gi_diag_virtio("virtio_net", "virtio_net", why, sizeof(why)))
			gi_err("net: no interface with MAC %s: %s", f[0], why);
		else
			gi_err("net: no interface with MAC %s", f[0]);
		return -ENODEV;
	}
	if (!f[1][0]) {
		gi_info("net: %s has no address: left down", f[0]);
		return 0;
	}
	slash = strchr(f[1], '/');
	if (!slash) {
		gi_err("net: bad address in '%s'", item_in);
		return -EINVAL;
	}
	*slash = 0;
	prefix = (unsigned)atoi(slash + 1);
	if (inet_pton(AF_INET, f[1], &a) != 1 || prefix < 1 || prefix > 32 ||
	    (f[2][0] && inet_pton(AF_INET, f[2], &gw) != 1) ||
	    (f[3][0] && inet_pton(AF_INET, f[3], &dns) != 1)) {
		gi_err("net: bad address in '%s'", item_in);
		return -EINVAL;
	}
	r = addr_add(fd, idx, a, prefix);
	if (!r)
		r = link_up(fd, idx, (unsigned)mtu);
	if (!r && f[2][0])
		r = route_default(fd, idx, gw);
	if (r) {
		gi_err("net: %s: %s", f[0], strerror(-r));
		return r;
	}
	if (f[3][0] && (r = resolv_add(f[3])))
		gi_err("net: " RESOLV_CONF ": %s", strerror(-r));
	gi_info("net: %s (if %d) %s/%u%s%s", f[0], idx, f[1], prefix, f[2][0] ? " via " : "",
		f[2]);
	return 0;
}

int gi_net_setup(char *const *items, size_t n)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int ret = 0, r;

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		gi_err("net: netlink: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	r = link_up(fd, 1, 0); /* lo is always interface 1 */
	if (r)
		gi_err("net: lo: %s", strerror(-r));
	for (size_t i = 0; i < n; i++) {
		r = net_one(fd, items[i]);
		if (r && !ret)
			ret = r;
	}
	close(fd);
	return ret;
}
