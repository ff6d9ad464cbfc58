// SPDX-License-Identifier: MIT
/*
 * fuzz_cmdline.c: argv encoder round trip. The input, split at NUL bytes, is
 * the argv; byte 0 sets the buffer size. Invariants: the output has only
 * literal bytes, '%XX' escapes, ',' and the fixed prefix; decoding gives the
 * argv back; -ENOSPC happens exactly when the encoding does not fit.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/cmdline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 64
#define BUF_MAX 16384

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1; /* lowercase is not allowed by the spec */
}

/* Decode one argument [s, end) into (out); -1 on a bad byte or escape. */
static int decode(const char *s, const char *end, char *out)
{
	size_t n = 0;

	for (; s < end; s++) {
		if (*s == '%') {
			if (end - s < 3 || hexval(s[1]) < 0 || hexval(s[2]) < 0)
				return -1;
			out[n++] = (char)(hexval(s[1]) << 4 | hexval(s[2]));
			s += 2;
		} else if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
			   (*s >= '0' && *s <= '9') || strchr("-._~/:@+=", *s)) {
			out[n++] = *s;
		} else {
			return -1;
		}
	}
	out[n] = 0;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char copy[BUF_MAX], buf[BUF_MAX * 3 + 64], big[BUF_MAX * 3 + 64], arg[BUF_MAX];
	char *argv[MAX_ARGS], head[64];
	int argc = 0;

	if (size < 1 || size >= BUF_MAX)
		return 0;
	size_t blen = (size_t)data[0] * 4 + 1;
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = 0;
	for (size_t i = 0; i < size && argc < MAX_ARGS;) {
		argv[argc++] = copy + i;
		i += strlen(copy + i) + 1;
	}

	int full = boot_cmdline_encode_argv(big, sizeof(big), argv, argc);
	if (full < 0)
		abort(); /* big is always big enough */
	int small = boot_cmdline_encode_argv(buf, blen, argv, argc);
	if ((size_t)full < blen ? (small != full || strcmp(buf, big)) : small != -ENOSPC)
		abort();

	int hn = snprintf(head, sizeof(head), "agentvmm.argc=%d agentvmm.argv=", argc);
	if (strncmp(big, head, (size_t)hn) || strlen(big) != (size_t)full)
		abort();
	const char *p = big + hn, *end = big + full;
	for (int i = 0; i < argc; i++) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma ? comma : end;

		if (decode(p, stop, arg) || strcmp(arg, argv[i]))
			abort();
		if ((i == argc - 1) != (comma == NULL))
			abort();
		p = stop + 1;
	}

	/* boot_cmdline_append never overruns and keeps the string terminated */
	char line[32] = "";
	for (int i = 0; i < argc; i++)
		if (boot_cmdline_append(line, sizeof(line), argv[i]) == 0 && strlen(line) >= sizeof(line))
			abort();
	return 0;
}
