// SPDX-License-Identifier: MIT
/* acpi_event.c: join the kernel's acpi_event genetlink group and count power-button presses. */
#include "guest-init/acpi_event.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * The netlink and generic netlink ABI, spelled out because guest-init is
 * libc-only (musl ships no Linux uapi headers): include/uapi/linux/netlink.h,
 * genetlink.h and drivers/acpi/event.c (Linux 6.1), stable kernel ABI.
 */
#define NETLINK_GENERIC 16
#define SOL_NETLINK 270
#define NETLINK_ADD_MEMBERSHIP 1
#define NLMSG_ERROR 0x2
#define NLM_F_REQUEST 0x01
#define GENL_ID_CTRL 0x10
#define CTRL_CMD_NEWFAMILY 1
#define CTRL_CMD_GETFAMILY 3
#define CTRL_ATTR_FAMILY_ID 1
#define CTRL_ATTR_FAMILY_NAME 2
#define CTRL_ATTR_MCAST_GROUPS 7
#define CTRL_ATTR_MCAST_GRP_NAME 1
#define CTRL_ATTR_MCAST_GRP_ID 2
#define NLA_TYPE_MASK 0x3fff /* without NLA_F_NESTED, NLA_F_NET_BYTEORDER */
#define ACPI_GENL_CMD_EVENT 1
#define ACPI_GENL_ATTR_EVENT 1
#define ACPI_BUTTON_NOTIFY_STATUS 0x80
#define NL_ALIGN(len) (((len) + 3u) & ~3u)
#define GI_ACPI_REPLY_TIMEOUT_MS 1000

struct sockaddr_nl {
	unsigned short nl_family, nl_pad;
	uint32_t nl_pid, nl_groups;
};

struct nlmsghdr {
	uint32_t nlmsg_len;
	uint16_t nlmsg_type, nlmsg_flags;
	uint32_t nlmsg_seq, nlmsg_pid;
};

struct genlmsghdr {
	uint8_t cmd, version;
	uint16_t reserved;
};

struct nlattr {
	uint16_t nla_len, nla_type;
};

/* drivers/acpi/event.c: the payload of ACPI_GENL_ATTR_EVENT (natural alignment) */
struct acpi_genl_event {
	char device_class[20];
	char bus_id[15];
	uint32_t type;
	uint32_t data;
};

#define NLMSG_HDRLEN NL_ALIGN(sizeof(struct nlmsghdr))
#define GENL_HDRLEN NL_ALIGN(sizeof(struct genlmsghdr))
#define NLA_HDRLEN NL_ALIGN(sizeof(struct nlattr))

/*
 * Walk the netlink attributes in [p, p+len): return the next one's payload
 * and advance (*off); NULL at the end or at a malformed attribute.
 */
static const uint8_t *nla_next(const uint8_t *p, size_t len, size_t *off, uint16_t *type,
			       size_t *plen)
{
	struct nlattr a;

	if (*off > len || len - *off < NLA_HDRLEN)
		return NULL;
	memcpy(&a, p + *off, sizeof(a));
	if (a.nla_len < NLA_HDRLEN || a.nla_len > len - *off)
		return NULL;
	*type = a.nla_type & NLA_TYPE_MASK;
	*plen = a.nla_len - NLA_HDRLEN;
	const uint8_t *payload = p + *off + NLA_HDRLEN;
	*off += NL_ALIGN(a.nla_len) < len - *off ? NL_ALIGN(a.nla_len) : len - *off;
	return payload;
}

/* Walk the messages in (buf): the next one's header and body; NULL at the end. */
static const uint8_t *nlmsg_next(const uint8_t *buf, size_t len, size_t *off,
				 struct nlmsghdr *h, size_t *blen)
{
	if (*off > len || len - *off < NLMSG_HDRLEN)
		return NULL;
	memcpy(h, buf + *off, sizeof(*h));
	if (h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > len - *off)
		return NULL;
	const uint8_t *body = buf + *off + NLMSG_HDRLEN;
	*blen = h->nlmsg_len - NLMSG_HDRLEN;
	*off += NL_ALIGN(h->nlmsg_len) < len - *off ? NL_ALIGN(h->nlmsg_len) : len - *off;
	return body;
}

static bool str_attr_is(const uint8_t *p, size_t plen, const char *s)
{
	size_t n = strlen(s);

	/* the kernel's strings carry their NUL; accept trailing padding NULs */
	return plen > n && memcmp(p, s, n) == 0 && p[n] == '\0';
}

/* The id of GI_ACPI_MCAST_GROUP in a CTRL_ATTR_MCAST_GROUPS payload. */
static int find_group(const uint8_t *p, size_t len, uint32_t *group)
{
	const uint8_t *grp, *a;
	size_t off = 0, glen, alen;
	uint16_t type;

	while ((grp = nla_next(p, len, &off, &type, &glen))) {
		size_t goff = 0;
		bool named = false, has_id = false;
		uint32_t id = 0;

		while ((a = nla_next(grp, glen, &goff, &type, &alen))) {
			if (type == CTRL_ATTR_MCAST_GRP_NAME)
				named = str_attr_is(a, alen, GI_ACPI_MCAST_GROUP);
			else if (type == CTRL_ATTR_MCAST_GRP_ID && alen == sizeof(id)) {
				memcpy(&id, a, sizeof(id));
				has_id = true;
			}
		}
		if (named && has_id) {
			*group = id;
			return 0;
		}
	}
	return -EINVAL;
}

int gi_acpi_parse_family(const void *buf, size_t len, uint16_t *family, uint32_t *group)
{
	const uint8_t *body, *a;
	struct nlmsghdr h;
	size_t off = 0, blen, alen;
	uint16_t type;

	while ((body = nlmsg_next(buf, len, &off, &h, &blen))) {
		if (h.nlmsg_type == NLMSG_ERROR && blen >= sizeof(int)) {
			int e;

			memcpy(&e, body, sizeof(e));
			if (e < 0)
				return e;
			continue;
		}
		if (h.nlmsg_type != GENL_ID_CTRL || blen < GENL_HDRLEN ||
		    body[0] != CTRL_CMD_NEWFAMILY)
			continue;
		bool has_family = false, has_group = false, named = false;
		size_t aoff = 0;

		while ((a = nla_next(body + GENL_HDRLEN, blen - GENL_HDRLEN, &aoff, &type, &alen))) {
			if (type == CTRL_ATTR_FAMILY_ID && alen == sizeof(*family)) {
				memcpy(family, a, sizeof(*family));
				has_family = true;
			} else if (type == CTRL_ATTR_FAMILY_NAME) {
				named = str_attr_is(a, alen, GI_ACPI_FAMILY);
			} else if (type == CTRL_ATTR_MCAST_GROUPS) {
				has_group = find_group(a, alen, group) == 0;
			}
		}
		if (has_family && has_group && named)
			return 0;
	}
	return -EINVAL;
}

int gi_acpi_count_power(const void *buf, size_t len, uint16_t family)
{
	const uint8_t *body, *a;
	struct acpi_genl_event ev;
	struct nlmsghdr h;
	size_t off = 0, blen, alen;
	uint16_t type;
	int n = 0;

	while ((body = nlmsg_next(buf, len, &off, &h, &blen))) {
		if (h.nlmsg_type != family || blen < GENL_HDRLEN || body[0] != ACPI_GENL_CMD_EVENT)
			continue;
		size_t aoff = 0;

		while ((a = nla_next(body + GENL_HDRLEN, blen - GENL_HDRLEN, &aoff, &type, &alen))) {
			if (type != ACPI_GENL_ATTR_EVENT || alen < sizeof(ev))
				continue;
			memcpy(&ev, a, sizeof(ev));
			ev.device_class[sizeof(ev.device_class) - 1] = '\0';
			if (!strcmp(ev.device_class, GI_ACPI_POWER_CLASS) &&
			    ev.type == ACPI_BUTTON_NOTIFY_STATUS)
				n++;
		}
	}
	return n;
}

size_t gi_acpi_build_getfamily(void *buf, size_t cap, uint32_t seq)
{
	const size_t name_len = sizeof(GI_ACPI_FAMILY); /* with its NUL */
	const size_t len = NLMSG_HDRLEN + GENL_HDRLEN + NL_ALIGN(NLA_HDRLEN + name_len);
	struct nlmsghdr h = { .nlmsg_len = (uint32_t)len, .nlmsg_type = GENL_ID_CTRL,
			      .nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = seq };
	struct genlmsghdr g = { .cmd = CTRL_CMD_GETFAMILY, .version = 1 };
	struct nlattr a = { .nla_len = (uint16_t)(NLA_HDRLEN + name_len),
			    .nla_type = CTRL_ATTR_FAMILY_NAME };
	uint8_t *p = buf;

	if (cap < len)
		return 0;
	memset(p, 0, len);
	memcpy(p, &h, sizeof(h));
	memcpy(p + NLMSG_HDRLEN, &g, sizeof(g));
	memcpy(p + NLMSG_HDRLEN + GENL_HDRLEN, &a, sizeof(a));
	memcpy(p + NLMSG_HDRLEN + GENL_HDRLEN + NLA_HDRLEN, GI_ACPI_FAMILY, name_len);
	return len;
}

/* One datagram from the kernel (port id 0) into (buf); -errno, -EAGAIN when none. */
static ssize_t recv_kernel(int fd, uint8_t *buf, size_t cap)
{
	struct sockaddr_nl from;
	socklen_t flen = sizeof(from);
	ssize_t n;

	for (;;) {
		n = recvfrom(fd, buf, cap, MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
		if (n < 0)
			return errno == EINTR ? -EINTR : -errno;
		if (flen >= sizeof(from) && from.nl_pid == 0)
			return n;
		/* not the kernel: ignore it */
		flen = sizeof(from);
	}
}

static int acpi_resolve(int fd, uint16_t *family, uint32_t *group)
{
	uint8_t buf[8192];
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t len = gi_acpi_build_getfamily(buf, sizeof(buf), 1);
	ssize_t n;

	if (sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)len)
		return -errno;
	if (poll(&p, 1, GI_ACPI_REPLY_TIMEOUT_MS) <= 0)
		return -ETIMEDOUT;
	n = recv_kernel(fd, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	return gi_acpi_parse_family(buf, (size_t)n, family, group);
}

/* family id of the socket, kept for gi_acpi_event_read() (one socket per PID 1) */
static uint16_t gi_acpi_family;

int gi_acpi_event_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	uint32_t group = 0;
	int fd, r;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		goto err;
	}
	r = acpi_resolve(fd, &gi_acpi_family, &group);
	if (r)
		goto err;
	if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
		r = -errno;
		goto err;
	}
	return fd;
err:
	close(fd);
	return r < 0 ? r : -EINVAL;
}

int gi_acpi_event_read(int fd)
{
	uint8_t buf[8192];
	int presses = 0;
	ssize_t n;

	while ((n = recv_kernel(fd, buf, sizeof(buf))) > 0)
		presses += gi_acpi_count_power(buf, (size_t)n, gi_acpi_family);
	if (n < 0 && n != -EAGAIN && n != -EINTR && n != -ENOBUFS)
		return presses ? presses : (int)n;
	return presses;
}
