// SPDX-License-Identifier: MIT
/*
 * fuzz_egress_rules.c: the --egress allow-list parser (egress/rules.c), both
 * ways it is fed: single entries (an --egress allow= list, split at commas)
 * and an allow file (egress_rules_load()), then matching.
 * Input: byte 0 bit 0 picks the file loader; the rest is the text.
 * Checks: every error is one line in the documented form; the count is the
 * number of entries accepted; an accepted NAME allows itself (any case,
 * with a trailing dot), an accepted *.DOMAIN allows a name below DOMAIN but
 * never DOMAIN, an accepted address allows itself; matching and the
 * restricted-address check never crash on the entries as hosts.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egress/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What an accepted (entry) must allow. */
static void check_entry(const struct egress_rules *r, const char *entry)
{
	char host[EGRESS_LINE_MAX + 8];
	const char *colon = entry[0] == '[' ? NULL : strchr(entry, ':');
	size_t hl = colon ? (size_t)(colon - entry) : strlen(entry);
	uint16_t port = colon && colon[1] != '*' ? (uint16_t)atoi(colon + 1) : 4242;
	struct sockaddr_storage ss;

	if (hl >= sizeof(host) - 4 || entry[0] == '[' || memchr(entry, '/', hl))
		return;
	if (!egress_parse_ip(entry, hl, &ss)) {
		if (!egress_rules_allow_addr(r, (struct sockaddr *)&ss, port))
			abort();
		(void)egress_addr_restricted((struct sockaddr *)&ss);
		return;
	}
	if (entry[0] == '*') {
		size_t dl = hl - 2 - (entry[hl - 1] == '.');

		if (dl + 2 > EGRESS_NAME_MAX)
			return; /* no name fits below it */
		snprintf(host, sizeof(host), "x.%.*s", (int)hl - 2, entry + 2);
		if (!egress_rules_allow_name(r, host, port))
			abort();
		return;
	}
	memcpy(host, entry, hl);
	host[hl] = 0;
	for (size_t i = 0; i < hl; i++)
		host[i] = (char)toupper((unsigned char)host[i]);
	if (!egress_rules_allow_name(r, host, port))
		abort();
}

static void entries(const char *text, size_t len)
{
	struct egress_rules *r = egress_rules_new();
	char entry[EGRESS_LINE_MAX + 1], err[512];
	size_t ok = 0;

	for (size_t off = 0; off <= len;) {
		const char *comma = memchr(text + off, ',', len - off);
		size_t n = comma ? (size_t)(comma - text - off) : len - off;

		if (n < sizeof(entry) && !memchr(text + off, 0, n)) {
			memcpy(entry, text + off, n);
			entry[n] = 0;
			err[0] = 0;
			int e = egress_rules_add(r, entry, err, sizeof(err));

			if (e && (strncmp(err, "bad allow entry \"", 17) || strchr(err, '\n')))
				abort();
			if (!e) {
				ok++;
				check_entry(r, entry);
			}
		}
		off += n + 1;
	}
	if (egress_rules_count(r) != ok)
		abort();
	egress_rules_free(r);
}

static void file(const char *text, size_t len)
{
	struct egress_rules *r = egress_rules_new();
	char err[512] = "";
	int e = egress_rules_load(r, text, len, "F", err, sizeof(err));

	if (e && e != -EINVAL && e != -E2BIG)
		abort();
	if (e && (strncmp(err, "F:", 2) || strchr(err, '\n')))
		abort();
	(void)egress_rules_allow_name(r, "example.com", 443);
	egress_rules_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	if (data[0] & 1)
		file((const char *)data + 1, size - 1);
	else
		entries((const char *)data + 1, size - 1);
	return 0;
}
