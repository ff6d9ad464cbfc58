/* SPDX-License-Identifier: MIT */
/*
 * th_base64.h: a plain base64 decoder for tests (RFC 4648 §4 table, '='
 * padding ends the input), written apart from vmm/oem.c's encoder so a round
 * trip checks it. Include <cmocka.h> first.
 */
#ifndef AGENTVMM_TESTS_HELPERS_TH_BASE64_H
#define AGENTVMM_TESTS_HELPERS_TH_BASE64_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* th_unbase64() - decode (s) into (out, cap bytes); the byte count. Fails the test on a bad character or overflow. */
static inline size_t th_unbase64(const char *s, uint8_t *out, size_t cap)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t acc = 0;
	size_t n = 0;
	int bits = 0;

	for (; *s && *s != '='; s++) {
		const char *p = strchr(abc, *s);

		assert_non_null(p);
		acc = acc << 6 | (uint32_t)(p - abc);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			assert_true(n < cap);
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return n;
}

#endif
