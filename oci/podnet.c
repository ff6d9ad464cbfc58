// SPDX-License-Identifier: MIT
/*
 * podnet.c: the container's network (docs/oci.md "Network"). With a network
 * namespace path in the spec (a Kubernetes pod's, made by CNI), the monitor
 * joins it, and when an interface there has an IPv4 address (the pod's veth,
 * usually eth0) the VM gets a NIC on a new tap in that namespace, joined to
 * the veth by tc: each one's ingress is redirected (mirred) to the other's
 * egress, as Kata Containers does by default. The guest's NIC takes the
 * veth's MAC and address, and the default route, so the pod IP reaches the
 * guest and the CNI plugin's routes and ARP entries stay right. A new
 * namespace without a path (ctr run's default) or one with no addressed
 * interface: the VM gets no NIC at all, which is what such a container has.
 *
 * The tap (avmXXXXXXXX, from the container ID) is agentvmm's (created at
 * avm_create(), not persistent: the kernel deletes it, and its filter, with
 * the VMM's last fd). The veth's ingress qdisc is replaced at start and
 * removed at a normal exit (a SIGKILLed monitor leaves it; the next
 * container in the pod replaces it). The interface carries one VM: while
 * another container's tap exists in the namespace, create is refused.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oci/runtime.h"


/* The default route's gateway through (ifname), from /proc/net/route; 0 none. */
static uint32_t default_gw(const char *ifname)
{
	char line[256], name[IFNAMSIZ + 1];
	unsigned dest, gw, flags;
	uint32_t found = 0;
	FILE *f = fopen("/proc/net/route", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%16s %x %x %x", name, &dest, &gw, &flags) == 4 && !dest &&
		    (flags & 0x2 /* RTF_GATEWAY */) && !strcmp(name, ifname)) {
			found = gw;
			break;
		}
	fclose(f);
	return found;
}

static int run_tc(char *const argv[], char *msg, size_t msglen)
{
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(st) && !WEXITSTATUS(st))
		return 0;
	snprintf(msg, msglen, "%s %s %s %s %s failed (status %d%s)", argv[0], argv[1], argv[2],
		 argv[3], argv[4], WIFEXITED(st) ? WEXITSTATUS(st) : -1,
		 WIFEXITED(st) && WEXITSTATUS(st) == 127 ? ": tc (iproute2) not found" : "");
	return -EIO;
}

/* Another container's VM on this pod's interface: a tap of ours (avm*) other than (mine). */
static bool taken(const char *mine, char *other, size_t len)
{
	struct if_nameindex *ni = if_nameindex(), *p;
	bool found = false;

	for (p = ni; p && p->if_index && !found; p++)
		if (!strncmp(p->if_name, "avm", 3) && strcmp(p->if_name, mine)) {
			snprintf(other, len, "%s", p->if_name);
			found = true;
		}
	if (ni)
		if_freenameindex(ni);
	return found;
}

int oci_podnet_join(const struct oci_spec *s, const char *id, struct oci_podnet *pn, char *msg,
		    size_t msglen)
{
	struct ifaddrs *ifa, *i;
	uint32_t h = 2166136261u;
	char other[IF_NAMESIZE];
	int fd;

	memset(pn, 0, sizeof(*pn));
	/* the VM's tap: named after the container (FNV-1a), 11 bytes */
	for (const char *p = id; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	snprintf(pn->tap, sizeof(pn->tap), "avm%08x", h);
	if (!s->netns_path)
		return 0; /* a new namespace or none: no NIC */
	fd = open(s->netns_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		int r = -errno;

		snprintf(msg, msglen, "linux.namespaces network %s: %s", s->netns_path,
			 strerror(-r));
		if (fd >= 0)
			close(fd);
		return r;
	}
	close(fd);
	if (getifaddrs(&ifa) < 0) {
		snprintf(msg, msglen, "network namespace %s: %s", s->netns_path, strerror(errno));
		return -errno;
	}
	/* the interface with the default route, else the first with an IPv4 address */
	for (int pass = 0; pass < 2 && !pn->ifname[0]; pass++)
		for (i = ifa; i; i = i->ifa_next) {
			struct sockaddr_in *a = (struct sockaddr_in *)i->ifa_addr;
			struct sockaddr_in *m = (struct sockaddr_in *)i->ifa_netmask;

			if (!a || a->sin_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK) || !m ||
			    strlen(i->ifa_name) >= sizeof(pn->ifname))
				continue;
			if (!pass && !default_gw(i->ifa_name))
				continue;
			snprintf(pn->ifname, sizeof(pn->ifname), "%s", i->ifa_name);
			pn->addr = a->sin_addr.s_addr;
			pn->prefix = (unsigned)__builtin_popcount(ntohl(m->sin_addr.s_addr));
			break;
		}
	freeifaddrs(ifa);
	if (!pn->ifname[0])
		return 0;
	if (taken(pn->tap, other, sizeof(other))) {
		snprintf(msg, msglen, "the pod's network (%s) belongs to another container's VM "
			 "(tap %s): one container per pod gets it (docs/oci.md \"Network\")",
			 pn->ifname, other);
		return -EBUSY;
	}
	pn->gw = default_gw(pn->ifname);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		struct ifreq ifr = { 0 };

		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", pn->ifname);
		if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0)
			memcpy(pn->mac, ifr.ifr_hwaddr.sa_data, 6);
		close(fd);
	}
	pn->active = true;
	return 0;
}

int oci_podnet_net_option(const struct oci_podnet *pn, char *buf, size_t len)
{
	char ip[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN] = "";
	int n;

	inet_ntop(AF_INET, &pn->addr, ip, sizeof(ip));
	if (pn->gw)
		inet_ntop(AF_INET, &pn->gw, gw, sizeof(gw));
	n = snprintf(buf, len, "tap=%s,mac=%02x:%02x:%02x:%02x:%02x:%02x,ip=%s/%u%s%s",
		     pn->tap, pn->mac[0], pn->mac[1], pn->mac[2], pn->mac[3], pn->mac[4],
		     pn->mac[5], ip, pn->prefix, pn->gw ? ",gw=" : "", gw);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int oci_podnet_connect(const struct oci_podnet *pn, char *msg, size_t msglen)
{
	char ifn[IFNAMSIZ], tap[IFNAMSIZ];
	char tc[] = "tc", qdisc[] = "qdisc", filter[] = "filter", del[] = "del", add[] = "add";
	char dev[] = "dev", ingress[] = "ingress", parent[] = "parent", ff[] = "ffff:";
	char proto[] = "protocol", all[] = "all", u32[] = "u32", match[] = "match", u8[] = "u8";
	char zero[] = "0", action[] = "action", mirred[] = "mirred", egress[] = "egress";
	char redirect[] = "redirect";
	int r;

	snprintf(ifn, sizeof(ifn), "%s", pn->ifname);
	snprintf(tap, sizeof(tap), "%s", pn->tap);
	char *del_veth[] = { tc, qdisc, del, dev, ifn, ingress, NULL };
	char *q_veth[] = { tc, qdisc, add, dev, ifn, ingress, NULL };
	char *q_tap[] = { tc, qdisc, add, dev, tap, ingress, NULL };
	char *f_veth[] = { tc, filter, add, dev, ifn, parent, ff, proto, all, u32, match, u8,
			   zero, zero, action, mirred, egress, redirect, dev, tap, NULL };
	char *f_tap[] = { tc, filter, add, dev, tap, parent, ff, proto, all, u32, match, u8,
			  zero, zero, action, mirred, egress, redirect, dev, ifn, NULL };

	run_tc(del_veth, msg, msglen); /* an earlier container's, if any */
	r = run_tc(q_veth, msg, msglen);
	if (!r)
		r = run_tc(q_tap, msg, msglen);
	if (!r)
		r = run_tc(f_tap, msg, msglen);
	if (!r)
		r = run_tc(f_veth, msg, msglen);
	return r;
}

void oci_podnet_disconnect(const struct oci_podnet *pn)
{
	char msg[256], ifn[IFNAMSIZ];
	char tc[] = "tc", qdisc[] = "qdisc", del[] = "del", dev[] = "dev", ingress[] = "ingress";
	char *argv[] = { tc, qdisc, del, dev, ifn, ingress, NULL };

	if (!pn->active)
		return;
	snprintf(ifn, sizeof(ifn), "%s", pn->ifname);
	run_tc(argv, msg, sizeof(msg));
}
