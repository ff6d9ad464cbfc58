/* SPDX-License-Identifier: MIT */
/*
 * rules.h: the egress allow-list (prefix egress_): entry syntax, allow files,
 * matching of names and addresses, and the classification of addresses a
 * guest must not reach by name (SSRF). Shared by agentvmm's CLI (which checks
 * entries) and the agentvmm-egress proxy (which enforces them); libc only.
 *
 * Entry syntax (the same in --egress allow= lists and in allow files):
 *   NAME[:PORT]          an exact host name, case-insensitive, one trailing
 *                        dot ignored; labels [A-Za-z0-9-] 1..63 bytes, not
 *                        starting or ending with '-', 253 bytes in all
 *   *.DOMAIN[:PORT]      any name strictly below DOMAIN, at any depth
 *   A.B.C.D[/N][:PORT]   an IPv4 address or network
 *   [IPV6[/N]][:PORT]    an IPv6 address or network
 *   PORT                 1..65535 or '*'; no port: any port
 * A NAME made of digits and dots only must be an IPv4 address. An address
 * rule permits CONNECT to a literal it covers, and permits a "restricted"
 * address (egress_addr_restricted()) it covers, whether named or literal.
 *
 * Allow file: one entry per line, surrounding blanks ignored, '#' starts a
 * comment (at the start of a line or after a blank), lines of at most
 * EGRESS_LINE_MAX bytes, at most EGRESS_MAX_RULES entries in all.
 */
#ifndef AGENTVMM_EGRESS_RULES_H
#define AGENTVMM_EGRESS_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define EGRESS_MAX_RULES 4096 /* entries in one rule set */
#define EGRESS_LINE_MAX 255   /* bytes of one allow-file line, without its newline */
#define EGRESS_NAME_MAX 253   /* RFC 1035 §2.3.4: 255 octets on the wire = 253 as text */
#define EGRESS_LABEL_MAX 63   /* RFC 1035 §2.3.4 */

struct egress_rules;

/* egress_rules_new() - an empty rule set (allows nothing). Return: NULL on ENOMEM. */
struct egress_rules *egress_rules_new(void);

/* egress_rules_free() - free (r); NULL is fine. */
void egress_rules_free(struct egress_rules *r);

/* egress_rules_count() - the number of entries in (r). */
size_t egress_rules_count(const struct egress_rules *r);

/*
 * egress_rules_add() - parse one (entry) (syntax above, no blanks) into (r).
 * Return: 0; -EINVAL with `bad allow entry "x": <why>` in (err); -E2BIG over
 * EGRESS_MAX_RULES (message in (err)); -ENOMEM.
 * Context: any thread, (r) not shared yet.
 * Guest: none (the user's command line or file).
 */
int egress_rules_add(struct egress_rules *r, const char *entry, char *err, size_t errlen);

/*
 * egress_rules_load() - parse (len) bytes of allow-file (text) into (r).
 * (name) names the file in messages: `NAME:LINE: bad entry "x": <why>`.
 * Return: 0, -EINVAL (a bad entry, an overlong line, NUL bytes), -E2BIG (too
 * many entries), -ENOMEM; one line in (err). On failure (r) may hold the
 * entries before the bad line.
 */
int egress_rules_load(struct egress_rules *r, const char *text, size_t len, const char *name,
		      char *err, size_t errlen);

/*
 * egress_rules_allow_name() - whether a NAME or *.DOMAIN rule of (r) covers
 * (host) (a name, any case, one trailing dot allowed) and (port).
 * Address rules never match here. An invalid name is never allowed.
 */
bool egress_rules_allow_name(const struct egress_rules *r, const char *host, uint16_t port);

/*
 * egress_rules_allow_addr() - whether an address rule of (r) covers (sa)
 * (AF_INET or AF_INET6; an IPv4-mapped ::ffff:a.b.c.d also by IPv4 rules)
 * and (port).
 */
bool egress_rules_allow_addr(const struct egress_rules *r, const struct sockaddr *sa,
			     uint16_t port);

/*
 * egress_addr_restricted() - whether (sa) is an address the proxy uses only
 * when an address rule covers it: loopback, private, link-local, CGNAT,
 * benchmarking, multicast, reserved and unspecified addresses, and IPv6
 * forms embedding such an IPv4 address (mapped, compatible, NAT64 64:ff9b::/96,
 * 6to4). Any family other than AF_INET/AF_INET6 is restricted.
 */
bool egress_addr_restricted(const struct sockaddr *sa);

/*
 * egress_name_check() - whether (len) bytes at (name) are a valid host name
 * (syntax above; one trailing dot allowed; not all digits and dots).
 * Return: NULL if valid, else a short reason.
 */
const char *egress_name_check(const char *name, size_t len);

/*
 * egress_parse_ip() - (len) bytes at (s) as an IPv4 dotted quad or an IPv6
 * address (no brackets, no zone) into (ss), port 0.
 * Return: 0, or -EINVAL.
 */
int egress_parse_ip(const char *s, size_t len, struct sockaddr_storage *ss);

#endif
