// SPDX-License-Identifier: MIT
/*
 * test_egress_http.c: egress/http.c, the proxy's request-head parser: where
 * a head ends, CONNECT (names, IPv4, bracketed IPv6), absolute http:// URIs
 * (default port, query without a path), each malformed form with its reason,
 * the header limits, and the rewrite for the origin server (origin-form
 * request line, Host from the URI, hop-by-hop headers gone, Connection: close).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "egress/http.h"

/* Parse the whole of (head), which must be complete. Return: the parser's result. */
static int parse(const char *head, struct egress_req *req, const char **why)
{
	size_t len = strlen(head);

	assert_int_equal(egress_http_head_len(head, len), len);
	return egress_http_parse(head, len, req, why);
}

/* The reason (head) is refused with. */
static const char *refused(const char *head)
{
	struct egress_req req;
	const char *why;

	assert_int_equal(parse(head, &req, &why), -EINVAL);
	assert_non_null(why);
	return why;
}

static void test_egress_http_head_len_finds_the_blank_line(void **state)
{
	assert_int_equal(egress_http_head_len("", 0), 0);
	assert_int_equal(egress_http_head_len("GET", 3), 0);
	assert_int_equal(egress_http_head_len("A\r\nB\r\n", 6), 0);
	assert_int_equal(egress_http_head_len("A\r\nB\r\n\r", 7), 0);
	assert_int_equal(egress_http_head_len("A\r\nB\r\n\r\nxyz", 11), 8);
	assert_int_equal(egress_http_head_len("A\nB\n\nxyz", 8), 5);
	assert_int_equal(egress_http_head_len("A\r\n\n", 4), 4);
	assert_int_equal(egress_http_head_len("\r\n", 2), 2);
	assert_int_equal(egress_http_head_len("A\r\r\n\r\n", 6), 6); /* "A\r" is one line */
}

static void test_egress_http_connect_forms(void **state)
{
	struct egress_req req;
	const char *why;

	assert_int_equal(parse("CONNECT Example.COM:443 HTTP/1.1\r\nHost: x\r\n\r\n", &req, &why),
			 0);
	assert_int_equal(req.kind, EGRESS_REQ_CONNECT);
	assert_string_equal(req.host, "example.com");
	assert_false(req.literal);
	assert_int_equal(req.port, 443);
	assert_int_equal(parse("CONNECT a.b.:1 HTTP/1.0\n\n", &req, &why), 0);
	assert_string_equal(req.host, "a.b.");
	assert_int_equal(req.port, 1);
	assert_int_equal(parse("CONNECT 10.1.2.3:65535 HTTP/1.1\r\n\r\n", &req, &why), 0);
	assert_true(req.literal);
	assert_int_equal(req.addr.ss_family, AF_INET);
	assert_string_equal(req.host, "10.1.2.3");
	assert_int_equal(req.port, 65535);
	assert_int_equal(parse("CONNECT [2001:DB8::1]:8443 HTTP/1.1\r\n\r\n", &req, &why), 0);
	assert_true(req.literal);
	assert_int_equal(req.addr.ss_family, AF_INET6);
	assert_string_equal(req.host, "2001:db8::1");
	assert_int_equal(req.port, 8443);
}

static void test_egress_http_connect_bad(void **state)
{
	assert_string_equal(refused("CONNECT a.com HTTP/1.1\r\n\r\n"), "CONNECT needs host:port");
	assert_string_equal(refused("CONNECT a.com:0 HTTP/1.1\r\n\r\n"), "bad port");
	assert_string_equal(refused("CONNECT a.com:65536 HTTP/1.1\r\n\r\n"), "bad port");
	assert_string_equal(refused("CONNECT a.com:44a HTTP/1.1\r\n\r\n"), "bad port");
	assert_string_equal(refused("CONNECT a.com: HTTP/1.1\r\n\r\n"), "bad port");
	assert_string_equal(refused("CONNECT :443 HTTP/1.1\r\n\r\n"), "empty host");
	assert_string_equal(refused("CONNECT a.com:443/x HTTP/1.1\r\n\r\n"),
			    "CONNECT needs host:port");
	assert_string_equal(refused("CONNECT u@a.com:443 HTTP/1.1\r\n\r\n"), "user info in the URI");
	assert_string_equal(refused("CONNECT a_b.com:443 HTTP/1.1\r\n\r\n"),
			    "host names may have only letters, digits, '-' and '.'");
	assert_string_equal(refused("CONNECT 127.1:443 HTTP/1.1\r\n\r\n"), "bad IPv4 address");
	assert_string_equal(refused("CONNECT 0177.0.0.1:443 HTTP/1.1\r\n\r\n"), "bad IPv4 address");
	assert_string_equal(refused("CONNECT [::1:443 HTTP/1.1\r\n\r\n"),
			    "missing ']' in the authority");
	assert_string_equal(refused("CONNECT [::1]x:443 HTTP/1.1\r\n\r\n"),
			    "junk after ']' in the authority");
	assert_string_equal(refused("CONNECT [::1] HTTP/1.1\r\n\r\n"), "CONNECT needs host:port");
	assert_string_equal(refused("CONNECT [1.2.3.4]:1 HTTP/1.1\r\n\r\n"), "bad IPv6 address");
	assert_string_equal(refused("CONNECT ::1:443 HTTP/1.1\r\n\r\n"), "empty host");
	assert_string_equal(refused("connect a.com:443 HTTP/1.1\r\n\r\n"),
			    "only http:// URIs and CONNECT are served");
}

static void test_egress_http_name_limits(void **state)
{
	char head[600], label[70];
	struct egress_req req;
	const char *why;

	memset(label, 'a', 63);
	label[63] = 0;
	snprintf(head, sizeof(head), "CONNECT %s.com:1 HTTP/1.1\r\n\r\n", label);
	assert_int_equal(parse(head, &req, &why), 0);
	snprintf(head, sizeof(head), "CONNECT %sa.com:1 HTTP/1.1\r\n\r\n", label);
	assert_string_equal(refused(head), "a label is longer than 63 bytes");
	/* 253 bytes and one trailing dot */
	char name[300];

	for (int i = 0; i < 253; i++)
		name[i] = i % 2 ? '.' : 'a';
	name[253] = '.';
	name[254] = 0;
	snprintf(head, sizeof(head), "CONNECT %s:1 HTTP/1.1\r\n\r\n", name);
	assert_int_equal(parse(head, &req, &why), 0);
	assert_string_equal(req.host, name);
	name[253] = 'a';
	snprintf(head, sizeof(head), "CONNECT %s:1 HTTP/1.1\r\n\r\n", name);
	assert_string_equal(refused(head), "host name longer than 253 bytes");
}

static void test_egress_http_absolute_uris(void **state)
{
	struct egress_req req;
	const char *why;
	const char *h = "GET http://Example.com/a/b?c=d HTTP/1.1\r\nHost: x\r\n\r\n";

	assert_int_equal(parse(h, &req, &why), 0);
	assert_int_equal(req.kind, EGRESS_REQ_HTTP);
	assert_string_equal(req.host, "example.com");
	assert_int_equal(req.port, 80);
	assert_int_equal(req.method_len, 3);
	assert_memory_equal(h + req.path_off, "/a/b?c=d", req.path_len);
	assert_memory_equal(h + req.auth_off, "Example.com", req.auth_len);
	assert_int_equal(parse("POST HTTP://a.com:8080 HTTP/1.0\r\n\r\n", &req, &why), 0);
	assert_int_equal(req.port, 8080);
	assert_int_equal(req.path_len, 0);
	assert_int_equal(parse("GET http://[::1]:81?x HTTP/1.1\r\n\r\n", &req, &why), 0);
	assert_string_equal(req.host, "::1");
	assert_int_equal(req.port, 81);
	assert_int_equal(parse("GET http://1.2.3.4/ HTTP/1.1\r\n\r\n", &req, &why), 0);
	assert_true(req.literal);
	assert_int_equal(req.port, 80);
}

static void test_egress_http_bad_requests(void **state)
{
	assert_string_equal(refused("GET / HTTP/1.1\r\nHost: a.com\r\n\r\n"),
			    "not a proxy request: send an absolute http:// URI or CONNECT");
	assert_string_equal(refused("OPTIONS * HTTP/1.1\r\n\r\n"),
			    "not a proxy request: send an absolute http:// URI or CONNECT");
	assert_string_equal(refused("GET https://a.com/ HTTP/1.1\r\n\r\n"),
			    "https:// URIs go through CONNECT");
	assert_string_equal(refused("GET ftp://a.com/ HTTP/1.1\r\n\r\n"),
			    "only http:// URIs and CONNECT are served");
	assert_string_equal(refused("GET http:///x HTTP/1.1\r\n\r\n"), "empty host");
	assert_string_equal(refused("GET http://a.com:0/ HTTP/1.1\r\n\r\n"), "bad port");
	assert_string_equal(refused("GET http://u:p@a.com/ HTTP/1.1\r\n\r\n"), "user info in the URI");
	assert_string_equal(refused("GET http://a.com/#f HTTP/1.1\r\n\r\n"), "fragment in the URI");
	assert_string_equal(refused("GET http://a.com/ HTTP/2.0\r\n\r\n"), "not HTTP/1.0 or HTTP/1.1");
	assert_string_equal(refused("GET http://a.com/ HTTP/1.1 \r\n\r\n"),
			    "not HTTP/1.0 or HTTP/1.1");
	assert_string_equal(refused("GET http://a.com/\r\n\r\n"), "malformed request line");
	assert_string_equal(refused("GET  http://a.com/ HTTP/1.1\r\n\r\n"), "malformed request line");
	assert_string_equal(refused(" GET http://a.com/ HTTP/1.1\r\n\r\n"), "malformed request line");
	assert_string_equal(refused("\r\n"), "malformed request line");
	assert_string_equal(refused("G(T http://a.com/ HTTP/1.1\r\n\r\n"), "malformed method");
	assert_string_equal(refused("GET http://a.com/\x01 HTTP/1.1\r\n\r\n"),
			    "control or non-ASCII byte in the request target");
	assert_string_equal(refused("GET http://a.com/\xc3\xa9 HTTP/1.1\r\n\r\n"),
			    "control or non-ASCII byte in the request target");
	assert_string_equal(refused("GET http://a\rb/ HTTP/1.1\r\n\r\n"),
			    "bare CR in the request line");
	assert_string_equal(refused("GET http://a.com/ HTTP/1.1\r\nX: a\rb\r\n\r\n"),
			    "bare CR in a header");
	assert_string_equal(refused("GET http://a.com/ HTTP/1.1\r\nX: a\r\n b\r\n\r\n"),
			    "folded header line");
	assert_string_equal(refused("GET http://a.com/ HTTP/1.1\r\nno colon\r\n\r\n"),
			    "malformed header line");
	assert_string_equal(refused("GET http://a.com/ HTTP/1.1\r\n: v\r\n\r\n"),
			    "malformed header line");
	assert_string_equal(refused("GET http://a.com/ HTTP/1.1\r\nX Y: v\r\n\r\n"),
			    "malformed header name");
	assert_string_equal(refused("GET http://a.com/ HTTP/1.1\r\nX: \x7f\r\n\r\n"),
			    "control byte in a header");
	char method[64];

	memset(method, 'M', 33);
	strcpy(method + 33, " http://a.com/ HTTP/1.1\r\n\r\n");
	assert_string_equal(refused(method), "malformed request line");
}

static void test_egress_http_header_limits(void **state)
{
	char *head = malloc(EGRESS_HEAD_MAX + 64);
	struct egress_req req;
	const char *why;
	size_t n = (size_t)sprintf(head, "CONNECT a.com:1 HTTP/1.1\r\n");

	for (int i = 0; i < EGRESS_HEADERS_MAX; i++)
		n += (size_t)sprintf(head + n, "X-%d: v\r\n", i);
	strcpy(head + n, "\r\n");
	assert_int_equal(parse(head, &req, &why), 0);
	strcpy(head + n, "Y: v\r\n\r\n");
	assert_string_equal(refused(head), "too many header lines");
	/* a head of exactly EGRESS_HEAD_MAX bytes is fine, one more is not */
	n = (size_t)sprintf(head, "CONNECT a.com:1 HTTP/1.1\r\nX: ");
	memset(head + n, 'v', EGRESS_HEAD_MAX - n - 4);
	memcpy(head + EGRESS_HEAD_MAX - 4, "\r\n\r\n", 5);
	assert_int_equal(parse(head, &req, &why), 0);
	assert_int_equal(req.head_len, EGRESS_HEAD_MAX);
	assert_int_equal(egress_http_parse(head, EGRESS_HEAD_MAX + 1, &req, &why), -EINVAL);
	assert_string_equal(why, "request head too large");
	free(head);
}

/* The rewrite of (head) for the origin server, as a string. */
static const char *rewrite(const char *head)
{
	static char out[EGRESS_REWRITE_MAX + 1];
	struct egress_req req;
	const char *why;
	ssize_t n;

	assert_int_equal(parse(head, &req, &why), 0);
	n = egress_http_rewrite(head, &req, out, EGRESS_REWRITE_MAX);
	assert_true(n > 0);
	out[n] = 0;
	return out;
}

static void test_egress_http_rewrite_origin_form_and_hop_by_hop(void **state)
{
	assert_string_equal(rewrite("GET http://a.com/x?y HTTP/1.1\r\n"
				    "Host: evil.example\r\n"
				    "User-Agent: t\r\n"
				    "Proxy-Authorization: Basic Zm9vOmJhcg==\r\n"
				    "proxy-connection: keep-alive\r\n"
				    "Connection: keep-alive, X-Secret , Upgrade\r\n"
				    "Keep-Alive: timeout=5\r\n"
				    "X-Secret: 1\r\n"
				    "upgrade: h2c\r\n"
				    "X-Secretive: stays\r\n"
				    "Accept: */*\r\n\r\n"),
			    "GET /x?y HTTP/1.1\r\n"
			    "Host: a.com\r\n"
			    "User-Agent: t\r\n"
			    "X-Secretive: stays\r\n"
			    "Accept: */*\r\n"
			    "Connection: close\r\n\r\n");
	assert_string_equal(rewrite("POST http://A.com:8080 HTTP/1.0\nContent-Length: 3\n\n"),
			    "POST / HTTP/1.0\r\nHost: A.com:8080\r\nContent-Length: 3\r\n"
			    "Connection: close\r\n\r\n");
	assert_string_equal(rewrite("GET http://[::1]:81?q HTTP/1.1\r\n\r\n"),
			    "GET /?q HTTP/1.1\r\nHost: [::1]:81\r\nConnection: close\r\n\r\n");
}

static void test_egress_http_rewrite_bounded(void **state)
{
	char *head = malloc(EGRESS_HEAD_MAX + 1), *out = malloc(EGRESS_REWRITE_MAX);
	struct egress_req req;
	const char *why;
	size_t n = (size_t)sprintf(head, "GET http://a.com HTTP/1.1\n");

	/* the worst case: many short LF lines, each growing by a CR */
	for (int i = 0; i < EGRESS_HEADERS_MAX; i++)
		n += (size_t)sprintf(head + n, "%c:\n", 'a' + i % 26);
	head[n++] = '\n';
	assert_int_equal(egress_http_parse(head, n, &req, &why), 0);
	assert_true(egress_http_rewrite(head, &req, out, EGRESS_REWRITE_MAX) > 0);
	assert_int_equal(egress_http_rewrite(head, &req, out, 20), -ENOSPC);
	free(head);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_egress_http_head_len_finds_the_blank_line),
		cmocka_unit_test(test_egress_http_connect_forms),
		cmocka_unit_test(test_egress_http_connect_bad),
		cmocka_unit_test(test_egress_http_name_limits),
		cmocka_unit_test(test_egress_http_absolute_uris),
		cmocka_unit_test(test_egress_http_bad_requests),
		cmocka_unit_test(test_egress_http_header_limits),
		cmocka_unit_test(test_egress_http_rewrite_origin_form_and_hop_by_hop),
		cmocka_unit_test(test_egress_http_rewrite_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
