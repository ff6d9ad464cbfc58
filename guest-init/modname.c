// SPDX-License-Identifier: MIT
/* modname.c: module names from module file names (modname.h). */
#include "guest-init/modname.h"

#include <errno.h>
#include <string.h>

int gi_modname(const char *path_or_name, char *buf, size_t len)
{
	const char *base = strrchr(path_or_name, '/');
	const char *end;
	size_t n, i;

	base = base ? base + 1 : path_or_name;
	end = strstr(base, ".ko");
	n = end ? (size_t)(end - base) : strlen(base);
	if (n == 0 || n >= len)
		return -EINVAL;
	for (i = 0; i < n; i++)
		buf[i] = base[i] == '-' ? '_' : base[i];
	buf[n] = '\0';
	return 0;
}
