// SPDX-License-Identifier: MIT
/* cmdline.c: the kernel command line in guest RAM and the workload argv encoder (see cmdline.h). */
#include "boot/cmdline.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "boot/layout.h"

int boot_cmdline_write(const struct guest_mem *gm, const char *cmdline, size_t limit,
		       char *err, size_t errlen)
{
	size_t n = strlen(cmdline);

	/* Our own buffer bounds the kernel's limit too. */
	limit = MIN(limit, (size_t)BOOT_CMDLINE_MAX - 1);
	if (n > limit) {
		snprintf(err, errlen, "kernel command line too long (%zu bytes, limit %zu)", n,
			 limit);
		return -EINVAL;
	}
	return gm_write(gm, BOOT_CMDLINE_GPA, cmdline, n + 1);
}

/* Bytes that need no escaping: unreserved URI bytes plus a few shell-inert ones. */
static bool argv_byte_literal(unsigned char c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("-._~/:@+=", c) != NULL;
}

/* Appends (s, n) at (*pos); false when that would leave no room for the NUL. */
static bool put_bytes(char *buf, size_t len, size_t *pos, const char *s, size_t n)
{
	if (n >= len - *pos)
		return false;
	memcpy(buf + *pos, s, n);
	*pos += n;
	return true;
}

int boot_cmdline_encode_argv(char *buf, size_t len, char *const argv[], int argc)
{
	static const char hex[] = "0123456789ABCDEF";
	char head[48];
	size_t pos = 0;

	if (argc < 0 || (argc > 0 && !argv))
		return -EINVAL;
	for (int i = 0; i < argc; i++)
		if (!argv[i])
			return -EINVAL;
	if (len == 0)
		return -ENOSPC;

	int n = snprintf(head, sizeof(head), "agentvmm.argc=%d agentvmm.argv=", argc);
	if (!put_bytes(buf, len, &pos, head, (size_t)n))
		goto nospc;
	for (int i = 0; i < argc; i++) {
		if (i && !put_bytes(buf, len, &pos, ",", 1))
			goto nospc;
		for (const unsigned char *p = (const unsigned char *)argv[i]; *p; p++) {
			char esc[3] = { '%', hex[*p >> 4], hex[*p & 0xf] };

			if (argv_byte_literal(*p) ? !put_bytes(buf, len, &pos, (const char *)p, 1)
						  : !put_bytes(buf, len, &pos, esc, 3))
				goto nospc;
		}
	}
	buf[pos] = '\0';
	if (pos > (size_t)INT_MAX)
		goto nospc;
	return (int)pos;

nospc:
	buf[0] = '\0';
	return -ENOSPC;
}

int boot_cmdline_append(char *buf, size_t len, const char *word)
{
	size_t cur, wlen = strlen(word);

	if (!wlen)
		return 0;
	cur = strnlen(buf, len);
	if (cur == len)
		return -ENOSPC; /* not NUL-terminated: refuse rather than guess */
	size_t sep = cur ? 1 : 0;
	if (wlen + sep >= len - cur)
		return -ENOSPC;
	if (sep)
		buf[cur] = ' ';
	memcpy(buf + cur + sep, word, wlen + 1);
	return 0;
}
