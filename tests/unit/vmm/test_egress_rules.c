// SPDX-License-Identifier: MIT
/*
 * test_egress_rules.c: egress/rules.c, the --egress allow-list: every entry
 * form, every error with its message, name matching (case, trailing dot,
 * wildcard depth, the apex a wildcard does not cover, ports), address rules
 * (v4 and v6 CIDR, mapped addresses), the restricted-address table, allow
 * files (comments, blanks, line numbers) and the limits (line length, count).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "egress/rules.h"

/* A rule set from (n) entries; fails the test on a bad one. */
static struct egress_rules *make(const char *const *entries, size_t n)
{
	struct egress_rules *r = egress_rules_new();
	char err[256];

	assert_non_null(r);
	for (size_t i = 0; i < n; i++)
		if (egress_rules_add(r, entries[i], err, sizeof(err)))
			fail_msg("%s", err);
	return r;
}

#define MAKE(...) make((const char *const[]){ __VA_ARGS__ }, \
		       sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

/* (s) as a sockaddr (IPv4 or IPv6 text). */
static struct sockaddr_storage sa(const char *s)
{
	struct sockaddr_storage ss;

	if (egress_parse_ip(s, strlen(s), &ss))
		fail_msg("bad test address %s", s);
	return ss;
}

static bool allow_addr(const struct egress_rules *r, const char *a, uint16_t port)
{
	struct sockaddr_storage ss = sa(a);

	return egress_rules_allow_addr(r, (struct sockaddr *)&ss, port);
}

static bool restricted(const char *a)
{
	struct sockaddr_storage ss = sa(a);

	return egress_addr_restricted((struct sockaddr *)&ss);
}

/* The error (entry) gets, as a whole line. */
static const char *bad(const char *entry)
{
	static char err[512];
	struct egress_rules *r = egress_rules_new();

	err[0] = 0;
	assert_int_equal(egress_rules_add(r, entry, err, sizeof(err)), -EINVAL);
	assert_int_equal(egress_rules_count(r), 0);
	egress_rules_free(r);
	return err;
}

static void test_egress_rules_every_form_parses(void **state)
{
	struct egress_rules *r = MAKE("example.com", "Example.ORG:443", "*.svc.example:8080",
				      "host.", "a-b.c:*", "10.1.2.3", "10.0.0.0/8:22",
				      "0.0.0.0/0:1", "[::1]", "[2001:db8::/32]:443", "[fe80::1]:*",
				      "xn--bcher-kva.example:65535");

	assert_int_equal(egress_rules_count(r), 12);
	egress_rules_free(r);
}

static void test_egress_rules_bad_entries_say_why(void **state)
{
	assert_string_equal(bad(""), "bad allow entry \"\": empty entry");
	assert_string_equal(bad("*"), "bad allow entry \"*\": '*' alone would allow everything "
				      "(use log mode)");
	assert_string_equal(bad("*:443"), "bad allow entry \"*:443\": '*' alone would allow "
					  "everything (use log mode)");
	assert_string_equal(bad("a.*.com"), "bad allow entry \"a.*.com\": '*' is allowed only as "
					    "a whole first label (*.DOMAIN)");
	assert_string_equal(bad("*x.com"), "bad allow entry \"*x.com\": '*' is allowed only as a "
					   "whole first label (*.DOMAIN)");
	assert_string_equal(bad("*.1.2.3"), "bad allow entry \"*.1.2.3\": *. needs a domain name");
	assert_string_equal(bad("a.com:0"), "bad allow entry \"a.com:0\": the port must be "
					    "1..65535 or *");
	assert_string_equal(bad("a.com:65536"), "bad allow entry \"a.com:65536\": the port must "
						"be 1..65535 or *");
	assert_string_equal(bad("a.com:"), "bad allow entry \"a.com:\": the port must be 1..65535 "
					   "or *");
	assert_string_equal(bad("a.com:+80"), "bad allow entry \"a.com:+80\": the port must be "
					      "1..65535 or *");
	assert_string_equal(bad(":80"), "bad allow entry \":80\": empty host");
	assert_string_equal(bad("::1"), "bad allow entry \"::1\": IPv6 addresses go in brackets: "
					"[ADDR]:PORT");
	assert_string_equal(bad("1.2.3"), "bad allow entry \"1.2.3\": not an IPv4 address");
	assert_string_equal(bad("1.2.3.4."), "bad allow entry \"1.2.3.4.\": not an IPv4 address");
	assert_string_equal(bad("0177.0.0.1"), "bad allow entry \"0177.0.0.1\": not an IPv4 "
					       "address");
	assert_string_equal(bad("256.1.1.1"), "bad allow entry \"256.1.1.1\": not an IPv4 address");
	assert_string_equal(bad("10.1.2.3/8"), "bad allow entry \"10.1.2.3/8\": bits set after the "
					       "prefix length");
	assert_string_equal(bad("10.0.0.0/33"), "bad allow entry \"10.0.0.0/33\": an IPv4 prefix "
						"length is 0..32");
	assert_string_equal(bad("10.0.0.0/08"), "bad allow entry \"10.0.0.0/08\": bad prefix "
						"length after '/'");
	assert_string_equal(bad("10.0.0.0/"), "bad allow entry \"10.0.0.0/\": bad prefix length "
					      "after '/'");
	assert_string_equal(bad("a.com/8"), "bad allow entry \"a.com/8\": not an IPv4 address");
	assert_string_equal(bad("[::1"), "bad allow entry \"[::1\": missing ']'");
	assert_string_equal(bad("[::1]80"), "bad allow entry \"[::1]80\": only :PORT may follow "
					    "']'");
	assert_string_equal(bad("[1.2.3.4]"), "bad allow entry \"[1.2.3.4]\": not an IPv6 address");
	assert_string_equal(bad("[fe80::1%eth0]"), "bad allow entry \"[fe80::1%eth0]\": not an "
						   "IPv6 address");
	assert_string_equal(bad("[::/129]"), "bad allow entry \"[::/129]\": an IPv6 prefix length "
					     "is 0..128");
	assert_string_equal(bad("[2001:db8::1/32]"), "bad allow entry \"[2001:db8::1/32]\": bits "
						     "set after the prefix length");
	assert_string_equal(bad("a_b.com"), "bad allow entry \"a_b.com\": host names may have only "
					    "letters, digits, '-' and '.'");
	assert_string_equal(bad("a b"), "bad allow entry \"a b\": host names may have only "
					"letters, digits, '-' and '.'");
	assert_string_equal(bad("-a.com"), "bad allow entry \"-a.com\": a label starts or ends "
					   "with '-'");
	assert_string_equal(bad("a-.com"), "bad allow entry \"a-.com\": a label starts or ends "
					   "with '-'");
	assert_string_equal(bad("a..com"), "bad allow entry \"a..com\": empty label in host name");
	assert_string_equal(bad(".a.com"), "bad allow entry \".a.com\": empty label in host name");
	assert_string_equal(bad("a.com.."), "bad allow entry \"a.com..\": empty label in host name");
	assert_string_equal(bad("."), "bad allow entry \".\": empty host name");
	/* what a message echoes stays on one printable line */
	assert_string_equal(bad("a\nb\x1b[2J"), "bad allow entry \"a?b?[2J\": host names may have "
					       "only letters, digits, '-' and '.'");
}

static void test_egress_rules_name_length_limits(void **state)
{
	char name[300], entry[400];
	struct egress_rules *r;

	/* a 63-byte label is fine, 64 is not */
	memset(name, 'a', 63);
	strcpy(name + 63, ".com");
	r = MAKE(name);
	egress_rules_free(r);
	memset(name, 'a', 64);
	strcpy(name + 64, ".com");
	snprintf(entry, sizeof(entry), "bad allow entry \"%s\": a label is longer than 63 bytes",
		 name);
	assert_string_equal(bad(name), entry);
	/* 253 bytes in all (plus one trailing dot) is fine, 254 is not */
	for (int i = 0; i < 253; i++)
		name[i] = i % 2 ? '.' : 'a';
	name[253] = 0;
	r = MAKE(name);
	assert_true(egress_rules_allow_name(r, name, 1));
	strcat(name, ".");
	assert_true(egress_rules_allow_name(r, name, 1));
	egress_rules_free(r);
	name[252] = 'b';
	name[253] = 'b';
	name[254] = 0;
	assert_string_equal(strstr(bad(name), "\": "), "\": host name longer than 253 bytes");
}

static void test_egress_rules_names_match_exactly_any_case(void **state)
{
	struct egress_rules *r = MAKE("Example.com", "api.example.net:443");

	assert_true(egress_rules_allow_name(r, "example.com", 80));
	assert_true(egress_rules_allow_name(r, "EXAMPLE.COM", 443));
	assert_true(egress_rules_allow_name(r, "example.com.", 1));
	assert_false(egress_rules_allow_name(r, "example.com..", 1));
	assert_false(egress_rules_allow_name(r, "www.example.com", 80));
	assert_false(egress_rules_allow_name(r, "xexample.com", 80));
	assert_false(egress_rules_allow_name(r, "example.co", 80));
	assert_true(egress_rules_allow_name(r, "API.example.net", 443));
	assert_false(egress_rules_allow_name(r, "api.example.net", 80));
	assert_false(egress_rules_allow_name(r, "example.net", 443));
	/* not names: never allowed here */
	assert_false(egress_rules_allow_name(r, "", 80));
	assert_false(egress_rules_allow_name(r, "exa mple.com", 80));
	egress_rules_free(r);
}

static void test_egress_rules_wildcard_any_depth_not_apex(void **state)
{
	struct egress_rules *r = MAKE("*.Example.com:443", "trailing.dot.", "*.x.org.");

	assert_true(egress_rules_allow_name(r, "a.example.com", 443));
	assert_true(egress_rules_allow_name(r, "a.b.c.example.com.", 443));
	assert_true(egress_rules_allow_name(r, "A.EXAMPLE.COM", 443));
	assert_false(egress_rules_allow_name(r, "example.com", 443));
	assert_false(egress_rules_allow_name(r, "badexample.com", 443));
	assert_false(egress_rules_allow_name(r, "a.example.com", 80));
	assert_false(egress_rules_allow_name(r, "a.example.com.evil", 443));
	assert_true(egress_rules_allow_name(r, "trailing.dot", 1));
	assert_true(egress_rules_allow_name(r, "w.x.org", 1));
	assert_false(egress_rules_allow_name(r, "x.org", 1));
	egress_rules_free(r);
}

static void test_egress_rules_addresses_v4_v6_ports(void **state)
{
	struct egress_rules *r = MAKE("127.0.0.1:8080", "10.0.0.0/8", "192.168.1.0/24:22",
				      "[::1]:8080", "[fd00::/8]", "[2001:db8::/32]:443");

	assert_true(allow_addr(r, "127.0.0.1", 8080));
	assert_false(allow_addr(r, "127.0.0.1", 8081));
	assert_false(allow_addr(r, "127.0.0.2", 8080));
	assert_true(allow_addr(r, "10.255.1.2", 1));
	assert_false(allow_addr(r, "11.0.0.0", 1));
	assert_true(allow_addr(r, "192.168.1.77", 22));
	assert_false(allow_addr(r, "192.168.2.77", 22));
	assert_false(allow_addr(r, "192.168.1.77", 23));
	assert_true(allow_addr(r, "::1", 8080));
	assert_false(allow_addr(r, "::2", 8080));
	assert_true(allow_addr(r, "fd12:3456::1", 9));
	assert_false(allow_addr(r, "fe00::1", 9));
	assert_true(allow_addr(r, "2001:db8:ffff::1", 443));
	assert_false(allow_addr(r, "2001:db9::1", 443));
	/* a mapped IPv6 address is judged by IPv4 rules too */
	assert_true(allow_addr(r, "::ffff:127.0.0.1", 8080));
	assert_true(allow_addr(r, "::ffff:10.9.9.9", 5));
	assert_false(allow_addr(r, "::ffff:11.9.9.9", 5));
	/* names never match address rules, addresses never match name rules */
	assert_false(egress_rules_allow_name(r, "localhost", 8080));
	egress_rules_free(r);
	r = MAKE("localhost:8080");
	assert_false(allow_addr(r, "127.0.0.1", 8080));
	egress_rules_free(r);
	r = MAKE("0.0.0.0/0", "[::/0]");
	assert_true(allow_addr(r, "1.2.3.4", 1));
	assert_true(allow_addr(r, "2001::1", 1));
	egress_rules_free(r);
}

static void test_egress_rules_restricted_table(void **state)
{
	static const struct {
		const char *addr;
		bool restricted;
	} t[] = {
		{ "0.0.0.0", true },          { "0.255.1.1", true },      { "10.0.0.1", true },
		{ "100.64.0.1", true },       { "100.127.255.255", true }, { "100.128.0.1", false },
		{ "100.63.255.255", false },  { "127.0.0.1", true },      { "127.255.255.254", true },
		{ "169.254.169.254", true },  { "172.16.0.1", true },     { "172.31.255.255", true },
		{ "172.32.0.1", false },      { "172.15.255.255", false }, { "192.0.0.8", true },
		{ "192.0.1.1", false },       { "192.168.0.1", true },    { "198.18.0.1", true },
		{ "198.19.255.255", true },   { "198.20.0.1", false },    { "224.0.0.1", true },
		{ "239.255.255.255", true },  { "240.0.0.1", true },      { "255.255.255.255", true },
		{ "8.8.8.8", false },         { "1.1.1.1", false },       { "93.184.216.34", false },
		{ "::", true },               { "::1", true },            { "fe80::1", true },
		{ "febf::1", true },          { "fec0::1", true },        { "fc00::1", true },
		{ "fdff::1", true },          { "ff02::1", true },        { "2001:4860::8888", false },
		{ "::ffff:127.0.0.1", true }, { "::ffff:10.1.1.1", true }, { "::ffff:8.8.8.8", false },
		{ "64:ff9b::10.0.0.1", true }, { "64:ff9b::8.8.8.8", false },
		{ "64:ff9b:1::8.8.8.8", true }, { "2002:7f00:1::1", true }, { "2002:808:808::1", false },
		{ "::127.0.0.1", true },      { "::ffff:0:127.0.0.1", true },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (restricted(t[i].addr) != t[i].restricted)
			fail_msg("%s: expected %s", t[i].addr, t[i].restricted ? "restricted" : "not");
	struct sockaddr unix_sa = { .sa_family = AF_UNIX };

	assert_true(egress_addr_restricted(&unix_sa));
}

static void test_egress_rules_name_check_and_parse_ip(void **state)
{
	struct sockaddr_storage ss;

	assert_null(egress_name_check("a", 1));
	assert_null(egress_name_check("a.b.", 2)); /* a length: only "a." */
	assert_string_equal(egress_name_check("1.2", 3), "not an IPv4 address");
	assert_int_equal(egress_parse_ip("1.2.3.4", 7, &ss), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(egress_parse_ip("::", 2, &ss), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(egress_parse_ip("1.2.3.4", 6, &ss), -EINVAL); /* "1.2.3." */
	assert_int_equal(egress_parse_ip("", 0, &ss), -EINVAL);
	assert_int_equal(egress_parse_ip("127.1", 5, &ss), -EINVAL);
	assert_int_equal(egress_parse_ip("0x7f.0.0.1", 10, &ss), -EINVAL);
}

static void test_egress_rules_file_comments_blanks_lines(void **state)
{
	static const char text[] = "# header comment\n"
				   "\n"
				   "   example.com   \n"
				   "\t*.example.net:443\t# trailing comment\r\n"
				   "a#b.com\n" /* '#' not after a blank: part of the entry */
				   "   # indented comment\n"
				   "127.0.0.1/32:8080";
	struct egress_rules *r = egress_rules_new();
	char err[256] = "";

	assert_int_equal(egress_rules_load(r, text, sizeof(text) - 1, "allow.txt", err,
					   sizeof(err)), -EINVAL);
	assert_string_equal(err, "allow.txt:5: bad entry \"a#b.com\": host names may have only "
				 "letters, digits, '-' and '.'");
	egress_rules_free(r);
	/* without the bad line: every entry, the last one without a newline */
	char good[sizeof(text)];
	const char *bad_line = strstr(text, "a#b.com\n");
	size_t k = (size_t)(bad_line - text);

	memcpy(good, text, k);
	strcpy(good + k, bad_line + 8);
	r = egress_rules_new();
	assert_int_equal(egress_rules_load(r, good, strlen(good), "f", err, sizeof(err)), 0);
	assert_int_equal(egress_rules_count(r), 3);
	assert_true(egress_rules_allow_name(r, "example.com", 1));
	assert_true(egress_rules_allow_name(r, "a.example.net", 443));
	assert_true(allow_addr(r, "127.0.0.1", 8080));
	egress_rules_free(r);
	/* empty text, only comments: nothing allowed, no error */
	r = egress_rules_new();
	assert_int_equal(egress_rules_load(r, "", 0, "f", err, sizeof(err)), 0);
	assert_int_equal(egress_rules_load(r, "#x\n\n  \n", 7, "f", err, sizeof(err)), 0);
	assert_int_equal(egress_rules_count(r), 0);
	egress_rules_free(r);
}

static void test_egress_rules_file_errors_name_the_line(void **state)
{
	struct egress_rules *r = egress_rules_new();
	char err[256], line[300];

	assert_int_equal(egress_rules_load(r, "a.com\n  b.com:99999  # x\n", 25, "F", err,
					   sizeof(err)), -EINVAL);
	assert_string_equal(err, "F:2: bad entry \"b.com:99999\": the port must be 1..65535 or *");
	assert_int_equal(egress_rules_load(r, "a\0b\n", 4, "F", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "F:1: bad entry \"a?b\": NUL byte");
	/* 255 bytes is a line, 256 is too long */
	memset(line, ' ', sizeof(line));
	memcpy(line + 200, "x.com", 5);
	assert_int_equal(egress_rules_load(r, line, 255, "F", err, sizeof(err)), 0);
	assert_int_equal(egress_rules_load(r, line, 256, "F", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "F:1: line longer than 255 bytes");
	egress_rules_free(r);
}

static void test_egress_rules_at_most_4096_entries(void **state)
{
	size_t len = (EGRESS_MAX_RULES + 1) * 8;
	char *text = malloc(len + 1), err[256];
	struct egress_rules *r = egress_rules_new();
	size_t n = 0;

	for (unsigned i = 0; i <= EGRESS_MAX_RULES; i++)
		n += (size_t)sprintf(text + n, "h%u.c\n", i);
	/* 4096 entries are fine */
	const char *last = text + n - 1;

	while (last > text && last[-1] != '\n')
		last--;
	assert_int_equal(egress_rules_load(r, text, (size_t)(last - text), "F", err, sizeof(err)),
			 0);
	assert_int_equal(egress_rules_count(r), EGRESS_MAX_RULES);
	assert_int_equal(egress_rules_add(r, "one.more", err, sizeof(err)), -E2BIG);
	assert_string_equal(err, "bad allow entry \"one.more\": more than 4096 entries");
	egress_rules_free(r);
	/* the 4097th fails, naming its line */
	r = egress_rules_new();
	assert_int_equal(egress_rules_load(r, text, n, "F", err, sizeof(err)), -E2BIG);
	assert_string_equal(err, "F:4097: more than 4096 entries");
	egress_rules_free(r);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_egress_rules_every_form_parses),
		cmocka_unit_test(test_egress_rules_bad_entries_say_why),
		cmocka_unit_test(test_egress_rules_name_length_limits),
		cmocka_unit_test(test_egress_rules_names_match_exactly_any_case),
		cmocka_unit_test(test_egress_rules_wildcard_any_depth_not_apex),
		cmocka_unit_test(test_egress_rules_addresses_v4_v6_ports),
		cmocka_unit_test(test_egress_rules_restricted_table),
		cmocka_unit_test(test_egress_rules_name_check_and_parse_ip),
		cmocka_unit_test(test_egress_rules_file_comments_blanks_lines),
		cmocka_unit_test(test_egress_rules_file_errors_name_the_line),
		cmocka_unit_test(test_egress_rules_at_most_4096_entries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
