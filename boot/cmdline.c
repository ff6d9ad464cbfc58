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

/* Appends the comma-separated encoded list of (items) at (*pos). */
static int encode_list(char *buf, size_t len, size_t *pos, char *const items[], int n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (int i = 0; i < n; i++) {
		if (i && !put_bytes(buf, len, pos, ",", 1))
			return -ENOSPC;
		for (const unsigned char *p = (const unsigned char *)items[i]; *p; p++) {
			char esc[3] = { '%', hex[*p >> 4], hex[*p & 0xf] };

			if (argv_byte_literal(*p) ? !put_bytes(buf, len, pos, (const char *)p, 1)
						  : !put_bytes(buf, len, pos, esc, 3))
				return -ENOSPC;
		}
	}
	return 0;
}

/* Writes (head) then the encoded list; the common body of the two encoders. */
static int encode_with_head(char *buf, size_t len, const char *head, char *const items[], int n)
{
	size_t pos = 0;

	if (n < 0 || (n > 0 && !items))
		return -EINVAL;
	for (int i = 0; i < n; i++)
		if (!items[i])
			return -EINVAL;
	if (len == 0)
		return -ENOSPC;
	if (!put_bytes(buf, len, &pos, head, strlen(head)) ||
	    encode_list(buf, len, &pos, items, n) < 0 || pos > (size_t)INT_MAX) {
		buf[0] = '\0';
		return -ENOSPC;
	}
	buf[pos] = '\0';
	return (int)pos;
}

int boot_cmdline_encode_argv(char *buf, size_t len, char *const argv[], int argc)
{
	char head[48];

	snprintf(head, sizeof(head), "agentvmm.argc=%d agentvmm.argv=", argc);
	return encode_with_head(buf, len, head, argv, argc);
}

int boot_cmdline_encode_list(char *buf, size_t len, const char *key, char *const items[], int n)
{
	char head[64];

	if (!key || snprintf(head, sizeof(head), "%s=", key) >= (int)sizeof(head))
		return -EINVAL;
	return encode_with_head(buf, len, head, items, n);
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
