// SPDX-License-Identifier: MIT
/*
 * cli_net.c: the --net option (prefix cli_): tap or inherited fds, queue
 * pairs, MAC and the addresses guest-init configures, and the checks across
 * all --net. Apart from cli.c, which holds every other option, for size.
 */
#include "vmm/cli_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/compiler.h"

_Static_assert(VM_NET_MAX_QUEUES == 16, "docs/net.md and the messages say 16");

#define NET_USAGE "expected tap=NAME, fd=N[:N...] or user, then [,queues=N][,mac=MAC]" \
	"[,ip=A.B.C.D/N][,gw=A.B.C.D][,dns=A.B.C.D][,forward=tcp|udp:[ADDR:]HOSTPORT:GUESTPORT]"

/* --net user's addresses when ip= is not given: QEMU's user-mode network's */
#define USER_IP "10.0.2.15/24"
#define USER_GW "10.0.2.2"

/* (s) as decimal of 1 to (digits) digits, nothing else, into (out). */
static int parse_small(const char *s, unsigned digits, unsigned *out)
{
	unsigned v = 0, i;

	for (i = 0; s[i]; i++) {
		if (i == digits || s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (!i)
		return -EINVAL;
	*out = v;
	return 0;
}

/* A tap name the kernel takes: 1..15 bytes, no '/', ':' or whitespace, not "." or "..". */
static bool ifname_ok(const char *t, size_t n)
{
	if (n == 0 || n >= VM_IFNAME_MAX || (n == 1 && t[0] == '.') ||
	    (n == 2 && t[0] == '.' && t[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] <= ' ' || t[i] == '/' || t[i] == ':' || t[i] == 0x7f)
			return false;
	return true;
}

/* "02:00:00:00:00:05": six pairs of hex digits split by ':', unicast. */
int cli_parse_mac(const char *s, size_t n, uint8_t mac[6])
{
	static const char hex[] = "0123456789abcdef0123456789ABCDEF";

	if (n != 17)
		return -EINVAL;
	for (unsigned i = 0; i < 6; i++) {
		const char *h = strchr(hex, s[3 * i]), *l = strchr(hex, s[3 * i + 1]);

		if (!s[3 * i] || !s[3 * i + 1] || !h || !l || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)(((h - hex) % 16) << 4 | (l - hex) % 16);
	}
	if (mac[0] & 1)
		return -EINVAL; /* multicast / broadcast cannot be a NIC's address */
	if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return -EINVAL;
	return 0;
}

/*
 * An IPv4 address "A.B.C.D" (strict dotted quad, inet_pton) or, with
 * (prefix) non-NULL, "A.B.C.D/N" with N in 1..32, into canonical text (out).
 */
int cli_parse_ipv4(const char *s, size_t n, bool prefix, char *out, size_t outlen)
{
	char buf[32];
	const char *slash;
	struct in_addr a;
	unsigned p = 32;

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = 0;
	slash = strchr(buf, '/');
	if (prefix != !!slash)
		return -EINVAL;
	if (slash) {
		buf[slash - buf] = 0;
		if (parse_small(slash + 1, 2, &p) || p < 1 || p > 32)
			return -EINVAL;
	}
	if (inet_pton(AF_INET, buf, &a) != 1 || a.s_addr == 0)
		return -EINVAL;
	inet_ntop(AF_INET, &a, buf, sizeof(buf));
	if (prefix)
		snprintf(out, outlen, "%s/%u", buf, p);
	else
		snprintf(out, outlen, "%s", buf);
	return 0;
}

/* The default MAC: 02 (locally administered, unicast) + 40 bits of FNV-1a of the tap name. */
void cli_default_mac(const char *tap, uint8_t mac[6])
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const char *c = tap; *c; c++)
		h = (h ^ (uint8_t)*c) * 0x100000001b3ULL;
	mac[0] = 0x02;
	for (unsigned i = 1; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * (i - 1)));
}

void cli_net_label(const struct vm_net *d, char *buf, size_t len)
{
	size_t used;

	if (d->user) {
		snprintf(buf, len, "user");
		return;
	}
	if (!d->nr_fds) {
		snprintf(buf, len, "tap=%s", d->tap);
		return;
	}
	used = (size_t)snprintf(buf, len, "fd=%d", d->fds[0]);
	for (unsigned i = 1; i < d->nr_fds && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, ":%d", d->fds[i]);
}

/*
 * "fd=A[:B...]" (p, n after "fd="): descriptors of 3 or more (0-2 are stdio),
 * each once, at most VM_NET_MAX_QUEUES, into (d).
 */
static int net_fds(const char *arg, const char *p, size_t n, struct vm_net *d, char *err,
		   size_t errlen)
{
	const char *end = p + n;

	d->nr_fds = 0;
	for (const char *q = p; q <= end; q++) {
		const char *e = q + strcspn(q, ":,");
		char num[12];
		unsigned v;

		if (e > end)
			e = end;
		if (d->nr_fds == VM_NET_MAX_QUEUES) {
			snprintf(err, errlen, "--net %s: at most %d fds (one per queue pair)", arg,
				 VM_NET_MAX_QUEUES);
			return -EINVAL;
		}
		snprintf(num, sizeof(num), "%.*s", (int)MIN((size_t)(e - q), sizeof(num) - 1), q);
		if ((size_t)(e - q) >= sizeof(num) || parse_small(num, 9, &v) || v < 3) {
			snprintf(err, errlen, "--net %s: fd '%.*s' must be a descriptor number "
				 "of 3 or more (0, 1 and 2 are stdio)", arg, (int)(e - q), q);
			return -EINVAL;
		}
		for (unsigned i = 0; i < d->nr_fds; i++) {
			if (d->fds[i] == (int)v) {
				snprintf(err, errlen, "--net %s: fd %u given twice", arg, v);
				return -EINVAL;
			}
		}
		d->fds[d->nr_fds++] = (int)v;
		q = e;
	}
	return 0;
}

/* A port 1..65535 from (s, n). */
static int parse_port(const char *s, size_t n, uint16_t *out)
{
	char num[8];
	unsigned v;

	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n);
	num[n] = 0;
	if (parse_small(num, 5, &v) || v < 1 || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

/* A forward's bind address (s, n): a dotted quad, 0.0.0.0 (every address) included. */
static int forward_addr(const char *s, size_t n, char *out, size_t outlen)
{
	char buf[16];
	struct in_addr a;

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	inet_ntop(AF_INET, &a, out, (socklen_t)outlen);
	return 0;
}

/* "tcp|udp:[ADDR:]HOSTPORT:GUESTPORT" (p, n) appended to (d)'s forwards. */
static int net_forward(const char *arg, const char *p, size_t n, struct vm_net *d, char *err,
		       size_t errlen)
{
	struct vm_net_forward f = { .addr = "127.0.0.1" };
	const char *start = p, *end = p + n, *f1, *f2;

	if (d->nr_forwards == VM_NET_MAX_FORWARDS) {
		snprintf(err, errlen, "--net %s: at most %d forward=", arg, VM_NET_MAX_FORWARDS);
		return -EINVAL;
	}
	if (n > 4 && (!strncmp(p, "tcp:", 4) || !strncmp(p, "udp:", 4))) {
		f.udp = p[0] == 'u';
		p += 4;
		/* the last two ':'-separated fields are the ports, anything before the address */
		f2 = memrchr(p, ':', (size_t)(end - p));
		f1 = f2 ? memrchr(p, ':', (size_t)(f2 - p)) : NULL;
		if (f2 && !parse_port(f2 + 1, (size_t)(end - f2 - 1), &f.guest) &&
		    !parse_port(f1 ? f1 + 1 : p, (size_t)(f2 - (f1 ? f1 + 1 : p)), &f.host) &&
		    (!f1 || !forward_addr(p, (size_t)(f1 - p), f.addr, sizeof(f.addr)))) {
			d->forwards[d->nr_forwards++] = f;
			return 0;
		}
	}
	snprintf(err, errlen, "--net %s: malformed forward '%.*s' (expected "
		 "tcp|udp:[ADDR:]HOSTPORT:GUESTPORT, ports 1 to 65535)", arg, (int)n, start);
	return -EINVAL;
}

/* One "key=value" of --net (p, n) into (d); (*queues) is queues= (0: not given). */
static int cli_net_item(const char *arg, const char *p, size_t n, struct vm_net *d,
			bool *mac_set, unsigned *queues, char *err, size_t errlen)
{
	if (n == 4 && !strncmp(p, "user", 4)) {
		d->user = true;
	} else if (n >= 8 && !strncmp(p, "forward=", 8)) {
		return net_forward(arg, p + 8, n - 8, d, err, errlen);
	} else if (n >= 4 && !strncmp(p, "tap=", 4)) {
		if (!ifname_ok(p + 4, n - 4)) {
			snprintf(err, errlen, "--net %s: tap name must be 1 to %d bytes without '/', "
				 "':' or spaces", arg, VM_IFNAME_MAX - 1);
			return -EINVAL;
		}
		memcpy(d->tap, p + 4, n - 4);
		d->tap[n - 4] = 0;
	} else if (n >= 3 && !strncmp(p, "fd=", 3)) {
		return net_fds(arg, p + 3, n - 3, d, err, errlen);
	} else if (n >= 7 && !strncmp(p, "queues=", 7)) {
		char num[4];

		snprintf(num, sizeof(num), "%.*s", (int)MIN(n - 7, sizeof(num) - 1), p + 7);
		if (n - 7 >= sizeof(num) || parse_small(num, 2, queues) || *queues < 1 ||
		    *queues > VM_NET_MAX_QUEUES) {
			snprintf(err, errlen, "--net %s: queues must be 1 to %d", arg,
				 VM_NET_MAX_QUEUES);
			return -EINVAL;
		}
	} else if (n >= 4 && !strncmp(p, "mac=", 4)) {
		if (cli_parse_mac(p + 4, n - 4, d->mac)) {
			snprintf(err, errlen, "--net %s: malformed MAC address '%.*s' (expected a "
				 "unicast address like 02:00:00:00:00:01)", arg, (int)(n - 4), p + 4);
			return -EINVAL;
		}
		*mac_set = true;
	} else if (n >= 3 && !strncmp(p, "ip=", 3)) {
		if (cli_parse_ipv4(p + 3, n - 3, true, d->ip, sizeof(d->ip))) {
			snprintf(err, errlen, "--net %s: malformed address '%.*s' (expected "
				 "A.B.C.D/N, N from 1 to 32)", arg, (int)(n - 3), p + 3);
			return -EINVAL;
		}
	} else if (n >= 3 && (!strncmp(p, "gw=", 3) || !strncmp(p, "dns=", 4))) {
		bool gw = p[0] == 'g';
		size_t k = gw ? 3 : 4;

		if (cli_parse_ipv4(p + k, n - k, false, gw ? d->gw : d->dns, sizeof(d->gw))) {
			snprintf(err, errlen, "--net %s: malformed address '%.*s' (expected A.B.C.D)",
				 arg, (int)(n - k), p + k);
			return -EINVAL;
		}
	} else {
		snprintf(err, errlen, "--net %s: unknown option '%.*s' (" NET_USAGE ")", arg, (int)n, p);
		return -EINVAL;
	}
	return 0;
}

/* After the items: one of tap= and fd=, queues= matching the fds, gw/dns with ip. */
static int net_complete(const char *arg, struct vm_net *d, unsigned queues, char *err,
			size_t errlen)
{
	if ((d->tap[0] != 0) + (d->nr_fds != 0) + d->user > 1) {
		snprintf(err, errlen, "--net %s: tap=, fd= and user exclude each other", arg);
		return -EINVAL;
	}
	if (d->nr_forwards && !d->user) {
		snprintf(err, errlen, "--net %s: forward= is for --net user (a tap's traffic is "
			 "the host's to route)", arg);
		return -EINVAL;
	}
	if (d->user) {
		if (queues > 1) {
			snprintf(err, errlen, "--net %s: one queue pair with user (passt serves one)",
				 arg);
			return -EINVAL;
		}
		if (d->ip[0] && !d->gw[0]) {
			snprintf(err, errlen, "--net %s: ip= with user needs gw= (the address that "
				 "stands for the host)", arg);
			return -EINVAL;
		}
		if (!d->ip[0]) {
			snprintf(d->ip, sizeof(d->ip), USER_IP);
			snprintf(d->gw, sizeof(d->gw), USER_GW);
		}
		/* dns= left empty: chosen from the host's resolvers at start (net_user.h) */
		d->queues = 1;
		return 0;
	}
	if (!d->tap[0] && !d->nr_fds) {
		snprintf(err, errlen, "--net %s: " NET_USAGE, arg);
		return -EINVAL;
	}
	if (d->nr_fds && queues && queues != d->nr_fds) {
		snprintf(err, errlen, "--net %s: queues=%u but %u fd%s (one fd per queue pair)",
			 arg, queues, d->nr_fds, d->nr_fds == 1 ? "" : "s");
		return -EINVAL;
	}
	if ((d->gw[0] || d->dns[0]) && !d->ip[0]) {
		snprintf(err, errlen, "--net %s: gw= and dns= need ip=", arg);
		return -EINVAL;
	}
	d->queues = d->nr_fds ? d->nr_fds : queues ? queues : 1;
	return 0;
}

int cli_net(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	struct vm_net *d;
	bool mac_set = false;
	unsigned queues = 0;
	const char *p, *end;
	int r;

	if (cfg->nr_nets >= VM_MAX_NETS) {
		snprintf(err, errlen, "--net %s: at most %d network devices", arg, VM_MAX_NETS);
		return -EINVAL;
	}
	d = &cfg->nets[cfg->nr_nets];
	memset(d, 0, sizeof(*d));
	for (p = arg; *p; p = *end ? end + 1 : end) {
		end = p + strcspn(p, ",");
		r = cli_net_item(arg, p, (size_t)(end - p), d, &mac_set, &queues, err, errlen);
		if (r)
			return r;
	}
	r = net_complete(arg, d, queues, err, errlen);
	if (r)
		return r;
	if (!mac_set) {
		char label[VM_NET_LABEL_MAX];

		cli_net_label(d, label, sizeof(label));
		cli_default_mac(d->nr_fds || d->user ? label : d->tap, d->mac);
	}
	cfg->nr_nets++;
	return 0;
}

/* (a) and (b) share an fd: the first one, or -1. */
static int shared_fd(const struct vm_net *a, const struct vm_net *b)
{
	for (unsigned i = 0; i < a->nr_fds; i++)
		for (unsigned j = 0; j < b->nr_fds; j++)
			if (a->fds[i] == b->fds[j])
				return a->fds[i];
	return -1;
}

int cli_check_nets(const struct vm_config *cfg, char *err, size_t errlen)
{
	unsigned all = 0;

	for (unsigned i = 0; i < cfg->nr_nets; i++) {
		const struct vm_net *a = &cfg->nets[i];
		char label[VM_NET_LABEL_MAX];

		cli_net_label(a, label, sizeof(label));
		all += a->queues ? a->queues : 1;
		if (all > VM_NET_MAX_ALL_QUEUES) {
			snprintf(err, errlen, "--net %s: more than %d queue pairs in all --net "
				 "together", label, VM_NET_MAX_ALL_QUEUES);
			return -EINVAL;
		}
		for (unsigned j = 0; j < i; j++) {
			const struct vm_net *b = &cfg->nets[j];
			int fd = shared_fd(a, b);

			if (a->user && b->user) {
				snprintf(err, errlen, "--net user: given twice (one passt network is "
					 "enough: add forward= to it)");
				return -EINVAL;
			}
			if (a->tap[0] && !strcmp(a->tap, b->tap)) {
				snprintf(err, errlen, "--net %s: tap used twice", label);
				return -EINVAL;
			}
			if (fd >= 0) {
				snprintf(err, errlen, "--net %s: fd %d used twice", label, fd);
				return -EINVAL;
			}
			if (!memcmp(a->mac, b->mac, sizeof(a->mac))) {
				snprintf(err, errlen, "--net %s: MAC address used twice", label);
				return -EINVAL;
			}
		}
	}
	return 0;
}
