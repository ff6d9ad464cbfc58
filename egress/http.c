// SPDX-License-Identifier: MIT
/*
 * http.c: parse and rewrite the request head a proxy client sends (prefix
 * egress_http_); the accepted forms are in http.h. Every byte of the head
 * comes from the guest: each piece is range-checked against the head's own
 * length, and nothing is read past it.
 */
#include "egress/http.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define CONN_TOKENS_MAX 16 /* header names one Connection header may list */

size_t egress_http_head_len(const char *buf, size_t len)
{
	size_t start = 0;

	/* line by line: an empty line (LF or CRLF alone) ends the head */
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i == start || (i == start + 1 && buf[start] == '\r'))
			return i + 1;
		start = i + 1;
	}
	return 0;
}

/* RFC 9110 §5.6.2 tchar */
static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The line at (off) of (head, len): its length without the line end, (*next) after it. */
static size_t line_at(const char *head, size_t len, size_t off, size_t *next)
{
	const char *nl = memchr(head + off, '\n', len - off);
	size_t end = nl ? (size_t)(nl - head) : len;

	*next = nl ? end + 1 : len;
	if (end > off && head[end - 1] == '\r')
		end--;
	return end - off;
}

/* An all-digit port of (len) bytes at (s), 1..65535. */
static const char *parse_port(const char *s, size_t len, uint16_t *port)
{
	unsigned v = 0;

	if (!len || len > 5)
		return "bad port";
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return "bad port";
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return "bad port";
	*port = (uint16_t)v;
	return NULL;
}

/* The host part (no brackets) of (len) bytes at (s) into (req): a literal or a name. */
static const char *parse_host(const char *s, size_t len, bool v6, struct egress_req *req)
{
	const char *why;
	bool dotted = len > 0;

	for (size_t i = 0; i < len; i++)
		dotted = dotted && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.');
	/* digits and dots only: an IPv4 address or nothing (never a name getaddrinfo reads) */
	if (v6 || dotted) {
		if (egress_parse_ip(s, len, &req->addr) || (req->addr.ss_family == AF_INET6) != v6)
			return v6 ? "bad IPv6 address" : "bad IPv4 address";
		req->literal = true;
	} else if ((why = egress_name_check(s, len))) {
		return why;
	}
	if (len > EGRESS_NAME_MAX + 1)
		return "host name longer than 253 bytes";
	for (size_t i = 0; i < len; i++)
		req->host[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] - 'A' + 'a' : s[i]);
	req->host[len] = 0;
	return NULL;
}

/*
 * An authority host[:port] of (len) bytes at (s) into (req); (dflt) is the
 * port when none is given, 0 if one is required.
 */
static const char *parse_authority(const char *s, size_t len, uint16_t dflt,
				   struct egress_req *req)
{
	const char *hs = s, *colon, *why;
	size_t hl;
	bool v6 = false;

	if (memchr(s, '@', len))
		return "user info in the URI";
	if (len && s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (!close)
			return "missing ']' in the authority";
		v6 = true;
		hs = s + 1;
		hl = (size_t)(close - hs);
		colon = close + 1 < s + len ? close + 1 : NULL;
		if (colon && *colon != ':')
			return "junk after ']' in the authority";
	} else {
		colon = memchr(s, ':', len);
		hl = colon ? (size_t)(colon - s) : len;
	}
	if (!hl)
		return "empty host";
	if ((why = parse_host(hs, hl, v6, req)))
		return why;
	if (!colon) {
		req->port = dflt;
		return dflt ? NULL : "CONNECT needs host:port";
	}
	return parse_port(colon + 1, (size_t)(s + len - colon - 1), &req->port);
}

/* The target of an absolute-form request (len bytes at head + off) into (req). */
static const char *parse_absolute(const char *head, size_t off, size_t len,
				  struct egress_req *req)
{
	const char *t = head + off;
	size_t a;

	if (len >= 8 && !strncasecmp(t, "https://", 8))
		return "https:// URIs go through CONNECT";
	if (len < 7 || strncasecmp(t, "http://", 7)) {
		if (len && (t[0] == '/' || t[0] == '*'))
			return "not a proxy request: send an absolute http:// URI or CONNECT";
		return "only http:// URIs and CONNECT are served";
	}
	if (memchr(t, '#', len))
		return "fragment in the URI";
	for (a = 7; a < len && t[a] != '/' && t[a] != '?'; a++)
		;
	req->auth_off = off + 7;
	req->auth_len = a - 7;
	req->path_off = off + a;
	req->path_len = len - a;
	return parse_authority(t + 7, a - 7, 80, req);
}

/* The request line ((len) bytes at head) into (req). */
static const char *parse_request_line(const char *head, size_t len, struct egress_req *req)
{
	const char *sp1 = memchr(head, ' ', len), *sp2;
	size_t toff, tlen;

	if (!sp1 || sp1 == head || (size_t)(sp1 - head) > EGRESS_METHOD_MAX)
		return "malformed request line";
	req->method_len = (size_t)(sp1 - head);
	for (size_t i = 0; i < req->method_len; i++)
		if (!is_tchar(head[i]))
			return "malformed method";
	toff = req->method_len + 1;
	sp2 = memchr(head + toff, ' ', len - toff);
	if (!sp2 || sp2 == head + toff)
		return "malformed request line";
	tlen = (size_t)(sp2 - head) - toff;
	for (size_t i = toff; i < toff + tlen; i++)
		if (head[i] <= ' ' || head[i] >= 0x7f)
			return "control or non-ASCII byte in the request target";
	req->version_off = toff + tlen + 1;
	if (len - req->version_off != 8 || (memcmp(head + req->version_off, "HTTP/1.1", 8) &&
					    memcmp(head + req->version_off, "HTTP/1.0", 8)))
		return "not HTTP/1.0 or HTTP/1.1";
	if (req->method_len == 7 && !memcmp(head, "CONNECT", 7)) {
		req->kind = EGRESS_REQ_CONNECT;
		if (memchr(head + toff, '/', tlen))
			return "CONNECT needs host:port";
		return parse_authority(head + toff, tlen, 0, req);
	}
	req->kind = EGRESS_REQ_HTTP;
	return parse_absolute(head, toff, tlen, req);
}

/* One header line (len bytes at s): `name: value`, no control bytes but HTAB. */
static const char *check_field(const char *s, size_t len)
{
	const char *colon = memchr(s, ':', len);

	if (s[0] == ' ' || s[0] == '\t')
		return "folded header line";
	if (!colon || colon == s)
		return "malformed header line";
	for (const char *p = s; p < colon; p++)
		if (!is_tchar(*p))
			return "malformed header name";
	for (const char *p = colon + 1; p < s + len; p++)
		if ((*p < ' ' && *p != '\t') || *p == 0x7f)
			return "control byte in a header";
	return NULL;
}

int egress_http_parse(const char *head, size_t len, struct egress_req *req, const char **why)
{
	size_t next, n, lines = 0;

	memset(req, 0, sizeof(*req));
	*why = NULL;
	if (len > EGRESS_HEAD_MAX) {
		*why = "request head too large";
		return -EINVAL;
	}
	req->head_len = len;
	n = line_at(head, len, 0, &next);
	if (memchr(head, '\r', n))
		*why = "bare CR in the request line";
	else
		*why = parse_request_line(head, n, req);
	if (*why)
		return -EINVAL;
	req->fields_off = next;
	for (size_t off = next; off < len; off = next) {
		n = line_at(head, len, off, &next);
		if (!n)
			break; /* the blank line */
		if (++lines > EGRESS_HEADERS_MAX)
			*why = "too many header lines";
		else if (memchr(head + off, '\r', n))
			*why = "bare CR in a header";
		else
			*why = check_field(head + off, n);
		if (*why)
			return -EINVAL;
	}
	return 0;
}

/* Whether the field line (s) is named (name) (nlen bytes), case-insensitively. */
static bool field_is(const char *s, size_t len, const char *name, size_t nlen)
{
	return len > nlen && s[nlen] == ':' && !strncasecmp(s, name, nlen);
}

/* The names listed by the Connection header lines of (head) into (tok); their count. */
static unsigned conn_tokens(const char *head, const struct egress_req *req,
			    const char *tok[CONN_TOKENS_MAX], size_t tlen[CONN_TOKENS_MAX])
{
	unsigned nr = 0;
	size_t next, n;

	for (size_t off = req->fields_off; off < req->head_len; off = next) {
		n = line_at(head, req->head_len, off, &next);
		if (!n || !field_is(head + off, n, "connection", 10))
			continue;
		for (size_t i = off + 11, e = off + n; i < e && nr < CONN_TOKENS_MAX;) {
			size_t t;

			while (i < e && (head[i] == ' ' || head[i] == '\t' || head[i] == ','))
				i++;
			for (t = i; t < e && is_tchar(head[t]); t++)
				;
			if (t > i) {
				tok[nr] = head + i;
				tlen[nr++] = t - i;
			}
			while (t < e && head[t] != ',')
				t++;
			i = t;
		}
	}
	return nr;
}

/* Whether the field line (s, len) is one the proxy drops (hop-by-hop, or Host). */
static bool field_dropped(const char *s, size_t len, const char *const tok[], const size_t tlen[],
			  unsigned nr)
{
	static const char *const hop[] = { "host", "proxy-authorization", "proxy-connection",
					   "connection", "keep-alive" };

	for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (field_is(s, len, hop[i], strlen(hop[i])))
			return true;
	for (unsigned i = 0; i < nr; i++)
		if (field_is(s, len, tok[i], tlen[i]))
			return true;
	return false;
}

/* Append (len) bytes of (s) to (out) at (*at) if they fit in (outlen). */
static bool put(char *out, size_t outlen, size_t *at, const char *s, size_t len)
{
	if (len > outlen - *at)
		return false;
	memcpy(out + *at, s, len);
	*at += len;
	return true;
}

ssize_t egress_http_rewrite(const char *head, const struct egress_req *req, char *out,
			    size_t outlen)
{
	const char *tok[CONN_TOKENS_MAX];
	size_t tlen[CONN_TOKENS_MAX], at = 0, next, n;
	unsigned nr = conn_tokens(head, req, tok, tlen);
	bool ok;

	ok = put(out, outlen, &at, head, req->method_len + 1);
	if (!req->path_len || head[req->path_off] != '/')
		ok = ok && put(out, outlen, &at, "/", 1);
	ok = ok && put(out, outlen, &at, head + req->path_off, req->path_len) &&
	     put(out, outlen, &at, " ", 1) && put(out, outlen, &at, head + req->version_off, 8) &&
	     put(out, outlen, &at, "\r\nHost: ", 8) &&
	     put(out, outlen, &at, head + req->auth_off, req->auth_len) &&
	     put(out, outlen, &at, "\r\n", 2);
	for (size_t off = req->fields_off; ok && off < req->head_len; off = next) {
		n = line_at(head, req->head_len, off, &next);
		if (!n)
			break;
		if (!field_dropped(head + off, n, tok, tlen, nr))
			ok = put(out, outlen, &at, head + off, n) && put(out, outlen, &at, "\r\n", 2);
	}
	ok = ok && put(out, outlen, &at, "Connection: close\r\n\r\n", 21);
	return ok ? (ssize_t)at : -ENOSPC;
}
