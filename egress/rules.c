// SPDX-License-Identifier: MIT
/*
 * rules.c: the egress allow-list (prefix egress_): parsing entries and allow
 * files, matching names and addresses, classifying restricted addresses.
 * Syntax and semantics in rules.h. Rules live in one growing array; a
 * request is matched by a linear scan (4096 entries at most, a few
 * microseconds, next to a DNS lookup and a TCP handshake).
 */
#include "egress/rules.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum rule_kind { RULE_NAME, RULE_SUFFIX, RULE_NET4, RULE_NET6 };

struct rule {
	uint8_t kind;     /* enum rule_kind */
	uint8_t bits;     /* prefix length of RULE_NET4/6 */
	uint16_t port;    /* 0: any port */
	uint8_t addr[16]; /* RULE_NET4: the first 4 bytes, network order */
	char *name;       /* RULE_NAME / RULE_SUFFIX: lower case, no trailing dot */
};

struct egress_rules {
	struct rule *rv;
	size_t nr, cap;
};

struct egress_rules *egress_rules_new(void)
{
	return calloc(1, sizeof(struct egress_rules));
}

void egress_rules_free(struct egress_rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nr; i++)
		free(r->rv[i].name);
	free(r->rv);
	free(r);
}

size_t egress_rules_count(const struct egress_rules *r)
{
	return r->nr;
}

/* Digits and dots only, at least one digit: an IPv4 address or nothing. */
static bool is_digits_dots(const char *s, size_t len)
{
	bool digit = false;

	for (size_t i = 0; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			digit = true;
		else if (s[i] != '.')
			return false;
	}
	return digit;
}

static bool is_ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-';
}

const char *egress_name_check(const char *name, size_t len)
{
	size_t label = 0;

	if (len && name[len - 1] == '.')
		len--;
	if (!len)
		return "empty host name";
	if (len > EGRESS_NAME_MAX)
		return "host name longer than 253 bytes";
	if (is_digits_dots(name, len))
		return "not an IPv4 address";
	for (size_t i = 0; i <= len; i++) {
		if (i < len && name[i] != '.') {
			if (!is_ldh(name[i]))
				return "host names may have only letters, digits, '-' and '.'";
			if (++label > EGRESS_LABEL_MAX)
				return "a label is longer than 63 bytes";
			continue;
		}
		if (!label)
			return "empty label in host name";
		if (name[i - 1] == '-' || name[i - label] == '-')
			return "a label starts or ends with '-'";
		label = 0;
	}
	return NULL;
}

int egress_parse_ip(const char *s, size_t len, struct sockaddr_storage *ss)
{
	char buf[INET6_ADDRSTRLEN + 1];

	memset(ss, 0, sizeof(*ss));
	if (!len || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = 0;
	if (memchr(buf, ':', len)) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		return inet_pton(AF_INET6, buf, &s6->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	s4->sin_family = AF_INET;
	/* inet_pton(), not inet_aton(): no octal, hex or short forms ("0177.1") */
	return inet_pton(AF_INET, buf, &s4->sin_addr) == 1 ? 0 : -EINVAL;
}

/* The port after an entry's ':' ((len) bytes at (s)) into (*port); 0 is '*'. */
static const char *parse_port(const char *s, size_t len, uint16_t *port)
{
	unsigned v = 0;

	if (len == 1 && s[0] == '*') {
		*port = 0;
		return NULL;
	}
	if (!len || len > 5)
		return "the port must be 1..65535 or *";
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return "the port must be 1..65535 or *";
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return "the port must be 1..65535 or *";
	*port = (uint16_t)v;
	return NULL;
}

/* "/N" of (len) bytes at (s) into (*bits), at most (max). */
static const char *parse_bits(const char *s, size_t len, unsigned max, uint8_t *bits)
{
	unsigned v = 0;

	if (!len || len > 3 || (len > 1 && s[0] == '0'))
		return "bad prefix length after '/'";
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return "bad prefix length after '/'";
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return max == 32 ? "an IPv4 prefix length is 0..32" : "an IPv6 prefix length is 0..128";
	*bits = (uint8_t)v;
	return NULL;
}

/* Whether the (bits)-bit prefixes of (a) and (b) are equal. */
static bool prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole))
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));

	return (a[whole] & mask) == (b[whole] & mask);
}

/* An address rule from (len) bytes at (s): ADDR or ADDR/N, no brackets, into (ru). */
static const char *parse_net(const char *s, size_t len, bool v6, struct rule *ru)
{
	const char *slash = memchr(s, '/', len);
	size_t alen = slash ? (size_t)(slash - s) : len;
	struct sockaddr_storage ss;
	unsigned max = v6 ? 128 : 32;
	uint8_t masked[16];
	const char *why;

	if (egress_parse_ip(s, alen, &ss) || (ss.ss_family == AF_INET6) != v6)
		return v6 ? "not an IPv6 address" : "not an IPv4 address";
	ru->kind = v6 ? RULE_NET6 : RULE_NET4;
	ru->bits = (uint8_t)max;
	if (v6)
		memcpy(ru->addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	else
		memcpy(ru->addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	if (slash && (why = parse_bits(slash + 1, len - alen - 1, max, &ru->bits)))
		return why;
	/* host bits set (10.1.2.3/8) is most likely a typo: refuse it */
	memcpy(masked, ru->addr, 16);
	for (unsigned b = ru->bits; b < max; b++)
		masked[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
	if (memcmp(masked, ru->addr, 16))
		return "bits set after the prefix length";
	return NULL;
}

/* A NAME or *.DOMAIN of (len) bytes at (s) into (ru). */
static const char *parse_name(const char *s, size_t len, struct rule *ru)
{
	const char *why;

	ru->kind = RULE_NAME;
	if (len == 1 && s[0] == '*')
		return "'*' alone would allow everything (use log mode)";
	if (len >= 2 && s[0] == '*' && s[1] == '.') {
		ru->kind = RULE_SUFFIX;
		s += 2;
		len -= 2;
	}
	if (memchr(s, '*', len))
		return "'*' is allowed only as a whole first label (*.DOMAIN)";
	if (ru->kind == RULE_SUFFIX && is_digits_dots(s, len))
		return "*. needs a domain name";
	if ((why = egress_name_check(s, len)))
		return why;
	if (s[len - 1] == '.')
		len--;
	ru->name = strndup(s, len);
	if (!ru->name)
		return "out of memory";
	for (char *p = ru->name; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return NULL;
}

/* One entry of (len) bytes at (s) into (ru) (name allocated on success). */
static const char *parse_entry(const char *s, size_t len, struct rule *ru)
{
	const char *colon = NULL, *why;
	size_t hlen = len;

	memset(ru, 0, sizeof(*ru));
	if (!len)
		return "empty entry";
	if (memchr(s, 0, len))
		return "NUL byte";
	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (!close)
			return "missing ']'";
		if (close + 1 < s + len && close[1] != ':')
			return "only :PORT may follow ']'";
		colon = close + 1 < s + len ? close + 1 : NULL;
		if (colon && (why = parse_port(colon + 1, (size_t)(s + len - colon - 1), &ru->port)))
			return why;
		return parse_net(s + 1, (size_t)(close - s - 1), true, ru);
	}
	colon = memchr(s, ':', len);
	if (colon) {
		if (memchr(colon + 1, ':', (size_t)(s + len - colon - 1)))
			return "IPv6 addresses go in brackets: [ADDR]:PORT";
		hlen = (size_t)(colon - s);
		if ((why = parse_port(colon + 1, len - hlen - 1, &ru->port)))
			return why;
	}
	if (!hlen)
		return "empty host";
	if (memchr(s, '/', hlen) || is_digits_dots(s, hlen))
		return parse_net(s, hlen, false, ru);
	return parse_name(s, hlen, ru);
}

/* Append (ru) to (r). */
static int push(struct egress_rules *r, const struct rule *ru)
{
	if (r->nr >= EGRESS_MAX_RULES)
		return -E2BIG;
	if (r->nr == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct rule *rv = realloc(r->rv, cap * sizeof(*rv));

		if (!rv)
			return -ENOMEM;
		r->rv = rv;
		r->cap = cap;
	}
	r->rv[r->nr++] = *ru;
	return 0;
}

/* Parse and append (len) bytes at (s); on failure the reason in (*why). */
static int add_entry(struct egress_rules *r, const char *s, size_t len, const char **why)
{
	struct rule ru;
	int e;

	*why = parse_entry(s, len, &ru);
	if (*why) {
		free(ru.name);
		return strcmp(*why, "out of memory") ? -EINVAL : -ENOMEM;
	}
	e = push(r, &ru);
	if (e) {
		free(ru.name);
		*why = e == -E2BIG ? "more than 4096 entries" : "out of memory";
	}
	return e;
}

/* (len) bytes at (s) for a message: at most EGRESS_LINE_MAX, unprintable bytes as '?'. */
static const char *printable(const char *s, size_t len, char out[EGRESS_LINE_MAX + 1])
{
	size_t n = len < EGRESS_LINE_MAX ? len : EGRESS_LINE_MAX;

	for (size_t i = 0; i < n; i++)
		out[i] = s[i] >= ' ' && s[i] < 0x7f ? s[i] : '?';
	out[n] = 0;
	return out;
}

int egress_rules_add(struct egress_rules *r, const char *entry, char *err, size_t errlen)
{
	char buf[EGRESS_LINE_MAX + 1];
	const char *why;
	size_t len = strlen(entry);
	int e = add_entry(r, entry, len, &why);

	if (e)
		snprintf(err, errlen, "bad allow entry \"%s\": %s", printable(entry, len, buf), why);
	return e;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* One allow-file line (no newline): comment and blanks off, then the entry. */
static int load_line(struct egress_rules *r, const char *s, size_t len, const char **why,
		     const char **entry, size_t *elen)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] == '#' && (i == 0 || is_blank(s[i - 1])))
			break;
	len = i;
	while (len && is_blank(s[len - 1]))
		len--;
	while (len && is_blank(*s)) {
		s++;
		len--;
	}
	*entry = s;
	*elen = len;
	if (!len)
		return 0;
	return add_entry(r, s, len, why);
}

int egress_rules_load(struct egress_rules *r, const char *text, size_t len, const char *name,
		      char *err, size_t errlen)
{
	char buf[EGRESS_LINE_MAX + 1];
	size_t lineno = 0, off = 0;

	while (off < len) {
		const char *s = text + off, *nl = memchr(s, '\n', len - off), *why = NULL, *entry;
		size_t n = nl ? (size_t)(nl - s) : len - off, elen;
		int e;

		lineno++;
		off += n + (nl != NULL);
		if (n > EGRESS_LINE_MAX) {
			snprintf(err, errlen, "%s:%zu: line longer than %d bytes", name, lineno,
				 EGRESS_LINE_MAX);
			return -EINVAL;
		}
		e = load_line(r, s, n, &why, &entry, &elen);
		if (e == -EINVAL)
			snprintf(err, errlen, "%s:%zu: bad entry \"%s\": %s", name, lineno,
				 printable(entry, elen, buf), why);
		else if (e)
			snprintf(err, errlen, "%s:%zu: %s", name, lineno, why);
		if (e)
			return e;
	}
	return 0;
}

/* (host) lower-cased, one trailing dot off, into (buf); false if not a valid name. */
static bool norm_name(const char *host, char buf[EGRESS_NAME_MAX + 2])
{
	size_t len = strnlen(host, EGRESS_NAME_MAX + 2);

	if (len > EGRESS_NAME_MAX + 1 || egress_name_check(host, len))
		return false;
	if (host[len - 1] == '.')
		len--;
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)((host[i] >= 'A' && host[i] <= 'Z') ? host[i] - 'A' + 'a' : host[i]);
	buf[len] = 0;
	return true;
}

bool egress_rules_allow_name(const struct egress_rules *r, const char *host, uint16_t port)
{
	char h[EGRESS_NAME_MAX + 2];
	size_t hl;

	if (!norm_name(host, h))
		return false;
	hl = strlen(h);
	for (size_t i = 0; i < r->nr; i++) {
		const struct rule *ru = &r->rv[i];
		size_t nl;

		if ((ru->port && ru->port != port) || !ru->name)
			continue;
		if (ru->kind == RULE_NAME && !strcmp(h, ru->name))
			return true;
		nl = strlen(ru->name);
		if (ru->kind == RULE_SUFFIX && hl > nl + 1 && h[hl - nl - 1] == '.' &&
		    !strcmp(h + hl - nl, ru->name))
			return true;
	}
	return false;
}

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

bool egress_rules_allow_addr(const struct egress_rules *r, const struct sockaddr *sa,
			     uint16_t port)
{
	const uint8_t *a4 = NULL, *a6 = NULL;

	if (sa->sa_family == AF_INET) {
		a4 = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		a6 = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (!memcmp(a6, v4mapped, 12))
			a4 = a6 + 12;
	} else {
		return false;
	}
	for (size_t i = 0; i < r->nr; i++) {
		const struct rule *ru = &r->rv[i];

		if (ru->port && ru->port != port)
			continue;
		if (ru->kind == RULE_NET4 && a4 && prefix_eq(ru->addr, a4, ru->bits))
			return true;
		if (ru->kind == RULE_NET6 && a6 && prefix_eq(ru->addr, a6, ru->bits))
			return true;
	}
	return false;
}

/* An IPv4 network (a.b.c.d/bits) as a host-order value and mask, for the table below. */
struct net4 {
	uint32_t net;
	unsigned bits;
};

#define NET4(a, b, c, d, n) { (uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d), n }

/* RFC 6890 special-purpose ranges a guest may not reach by name, plus multicast */
static const struct net4 restricted4[] = {
	NET4(0, 0, 0, 0, 8),       /* "this network" */
	NET4(10, 0, 0, 0, 8),      /* RFC 1918 */
	NET4(100, 64, 0, 0, 10),   /* RFC 6598 CGNAT */
	NET4(127, 0, 0, 0, 8),     /* loopback */
	NET4(169, 254, 0, 0, 16),  /* link-local (cloud metadata at .169.254) */
	NET4(172, 16, 0, 0, 12),   /* RFC 1918 */
	NET4(192, 0, 0, 0, 24),    /* IETF protocol assignments */
	NET4(192, 168, 0, 0, 16),  /* RFC 1918 */
	NET4(198, 18, 0, 0, 15),   /* RFC 2544 benchmarking */
	NET4(224, 0, 0, 0, 4),     /* multicast */
	NET4(240, 0, 0, 0, 4),     /* reserved, and 255.255.255.255 */
};

static bool restricted_v4(const uint8_t *a)
{
	uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];

	for (size_t i = 0; i < sizeof(restricted4) / sizeof(restricted4[0]); i++) {
		uint32_t mask = restricted4[i].bits ? ~0U << (32 - restricted4[i].bits) : 0;

		if ((v & mask) == restricted4[i].net)
			return true;
	}
	return false;
}

static bool restricted_v6(const uint8_t *a)
{
	static const uint8_t zero[12], nat64[12] = { 0, 0x64, 0xff, 0x9b };
	static const uint8_t siit[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0 };
	static const uint8_t nat64_local[6] = { 0, 0x64, 0xff, 0x9b, 0, 1 };

	/* forms that carry an IPv4 address: judged by it */
	if (!memcmp(a, v4mapped, 12) || !memcmp(a, zero, 12) || !memcmp(a, nat64, 12) ||
	    !memcmp(a, siit, 12))
		return restricted_v4(a + 12);         /* ::ffff:0:0/96, ::/96 (:: ::1), RFC 6052, 6145 */
	if (a[0] == 0x20 && a[1] == 0x02)
		return restricted_v4(a + 2);          /* 6to4 2002::/16, RFC 3056 */
	if (!memcmp(a, nat64_local, 6))
		return true;                          /* RFC 8215 local-use NAT64 */
	return (a[0] & 0xfe) == 0xfc ||               /* fc00::/7 unique local */
	       (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || /* fe80::/10 link-local */
	       (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) || /* fec0::/10 old site-local */
	       a[0] == 0xff;                          /* ff00::/8 multicast */
}

bool egress_addr_restricted(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return restricted_v4((const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr);
	if (sa->sa_family == AF_INET6)
		return restricted_v6((const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return true;
}
