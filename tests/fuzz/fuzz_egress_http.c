// SPDX-License-Identifier: MIT
/*
 * fuzz_egress_http.c: the egress proxy's request-head parser (egress/http.c),
 * as the proxy calls it on bytes a guest sends.
 * Input: byte 0 picks a prefix (0 none, 1 "CONNECT ", 2 "GET http://", so
 * most inputs reach the authority and header code); the rest follows it.
 * Checks: the head's end found in the whole input is the one found in every
 * prefix that holds it, and none is found in shorter ones; a parsed request
 * has a valid host and port and offsets inside the head; its rewrite always
 * fits EGRESS_REWRITE_MAX, has CRLF line ends only, exactly one blank line
 * (at its end: no request can be smuggled behind it), ends in
 * "Connection: close", and carries no Proxy-Authorization.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "egress/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_head_len(const char *buf, size_t len)
{
	size_t hl = egress_http_head_len(buf, len);

	if (hl > len || (hl && buf[hl - 1] != '\n'))
		abort();
	for (size_t k = 0; k <= len && k < EGRESS_HEAD_MAX + 16; k++) {
		size_t hk = egress_http_head_len(buf, k);

		if ((k < hl || !hl) ? hk != 0 : hk != hl)
			abort();
	}
}

static void check_rewrite(const char *head, const struct egress_req *req)
{
	static char out[EGRESS_REWRITE_MAX];
	ssize_t n = egress_http_rewrite(head, req, out, sizeof(out));

	if (n < 0)
		abort(); /* a parsed head always fits */
	if (egress_http_head_len(out, (size_t)n) != (size_t)n ||
	    memcmp(out + n - 21, "Connection: close\r\n\r\n", 21))
		abort();
	for (ssize_t i = 0; i < n; i++) {
		if (out[i] == '\n' && (i == 0 || out[i - 1] != '\r'))
			abort();
		if (out[i] == '\r' && (i + 1 == n || out[i + 1] != '\n'))
			abort();
		if ((i == 0 || out[i - 1] == '\n') &&
		    !strncasecmp(out + i, "proxy-authorization:", 20))
			abort();
	}
	if (memcmp(out, head, req->method_len + 1) || out[req->method_len + 1] != '/')
		abort();
}

static void check_parse(const char *buf, size_t len)
{
	struct egress_req req;
	const char *why;
	size_t hl = egress_http_head_len(buf, len);

	if (egress_http_parse(buf, hl ? hl : len, &req, &why)) {
		if (!why || !*why)
			abort();
		return;
	}
	if (why || !req.port || !req.host[0] || strlen(req.host) > EGRESS_NAME_MAX + 1)
		abort();
	if (!req.literal && egress_name_check(req.host, strlen(req.host)))
		abort();
	if (req.kind == EGRESS_REQ_HTTP) {
		if (req.path_off + req.path_len > req.head_len || req.version_off + 8 > req.head_len ||
		    req.auth_off + req.auth_len > req.head_len || req.fields_off > req.head_len)
			abort();
		check_rewrite(buf, &req);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const prefix[] = { "", "CONNECT ", "GET http://" };
	static char buf[EGRESS_HEAD_MAX + 64];
	size_t len, pl;

	if (!size)
		return 0;
	pl = strlen(prefix[data[0] % 3]);
	memcpy(buf, prefix[data[0] % 3], pl);
	len = size - 1 > sizeof(buf) - pl ? sizeof(buf) - pl : size - 1;
	memcpy(buf + pl, data + 1, len);
	len += pl;
	check_head_len(buf, len);
	if (len <= EGRESS_HEAD_MAX || egress_http_head_len(buf, len))
		check_parse(buf, len);
	return 0;
}
