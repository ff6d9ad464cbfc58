/* SPDX-License-Identifier: MIT */
/*
 * http.h: the request head a proxy client sends (prefix egress_http_), as
 * the agentvmm-egress proxy reads it from a guest connection: finding its
 * end, parsing the two forms a forward proxy serves, and rewriting a plain
 * HTTP request for the origin server. libc only; no allocation.
 *
 * Accepted (RFC 9112 §3.2.3, §3.2.2), lines ending in CRLF or a bare LF:
 *   CONNECT host:port HTTP/1.x         authority form; IPv6 as [addr]:port
 *   METHOD http://host[:port][/path] HTTP/1.x   absolute form, port 80
 * followed by at most EGRESS_HEADERS_MAX header lines `name: value` and a
 * blank line, EGRESS_HEAD_MAX bytes in all. Everything else is malformed
 * (origin-form and asterisk-form targets, https:// or other schemes,
 * user info, obs-fold, control bytes, bad ports or host names).
 */
#ifndef AGENTVMM_EGRESS_HTTP_H
#define AGENTVMM_EGRESS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "egress/rules.h"

#define EGRESS_HEAD_MAX 8192    /* request line + headers + blank line */
#define EGRESS_HEADERS_MAX 100  /* header lines in one head */
#define EGRESS_METHOD_MAX 32    /* bytes of a method token */
/* egress_http_rewrite()'s worst case: LF → CRLF per line, '/', Connection: close */
#define EGRESS_REWRITE_MAX (EGRESS_HEAD_MAX + EGRESS_HEADERS_MAX + 64)

enum egress_req_kind { EGRESS_REQ_CONNECT, EGRESS_REQ_HTTP };

struct egress_req {
	enum egress_req_kind kind;
	char host[EGRESS_NAME_MAX + 2]; /* lower case; an IPv6 literal without brackets */
	bool literal;                   /* host is an address literal, in (addr) */
	struct sockaddr_storage addr;   /* AF_INET/AF_INET6, port 0 */
	uint16_t port;                  /* 1..65535 */
	size_t head_len;                /* bytes through the blank line */
	/* EGRESS_REQ_HTTP: pieces of the head, as offsets into it */
	size_t method_len;              /* the method is head[0, method_len) */
	size_t auth_off, auth_len;      /* host[:port] as in the URI */
	size_t path_off, path_len;      /* after the authority; may be empty or start with '?' */
	size_t version_off;             /* "HTTP/1.x", 8 bytes */
	size_t fields_off;              /* the first header line */
};

/*
 * egress_http_head_len() - the length of the head at the start of (len)
 * bytes at (buf), through the end of its blank line.
 * Return: that length, or 0 while no blank line has arrived.
 * Guest: (buf).
 */
size_t egress_http_head_len(const char *buf, size_t len);

/*
 * egress_http_parse() - parse the (len) bytes of a complete head (as
 * egress_http_head_len() found it) into (req).
 * Return: 0, or -EINVAL with a one-line reason in (*why) (a static string).
 * Guest: (head).
 */
int egress_http_parse(const char *head, size_t len, struct egress_req *req, const char **why);

/*
 * egress_http_rewrite() - the head of an EGRESS_REQ_HTTP (req), parsed from
 * (head), as the origin server gets it, into (out): the request line in
 * origin form, Host: set to the URI's authority (RFC 9112 §3.2.2), the
 * other header lines except Proxy-Authorization, Proxy-Connection,
 * Connection, Keep-Alive and the headers the Connection header names,
 * then `Connection: close` and the blank line; every line ends in CRLF.
 * Return: the bytes written, or -ENOSPC if (outlen) (at least
 * EGRESS_REWRITE_MAX suffices) is too small.
 * Guest: (head).
 */
ssize_t egress_http_rewrite(const char *head, const struct egress_req *req, char *out,
			    size_t outlen);

#endif
