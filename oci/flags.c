// SPDX-License-Identifier: MIT
/*
 * flags.c: the Go-style flags of runc's command line (oci/runtime.h,
 * oci_flags_parse()): -f, --flag, --flag=V, --flag V, -flag V; booleans also
 * --flag=true|false.
 */
#include <stdio.h>
#include <string.h>

#include "oci/runtime.h"

/* Does (arg) name flag (f)? Sets (*val) to the text after '=' if any. */
static bool flag_match(const char *arg, const struct oci_flag *f, const char **val)
{
	const char *p = arg + 1;
	size_t n;

	*val = NULL;
	if (f->short_name && arg[1] == f->short_name && (!arg[2] || arg[2] == '=')) {
		*val = arg[2] ? arg + 3 : NULL;
		return true;
	}
	if (*p == '-')
		p++;
	n = strlen(f->name);
	if (strncmp(p, f->name, n))
		return false;
	if (p[n] == '=') {
		*val = p + n + 1;
		return true;
	}
	return !p[n];
}

int oci_flags_parse(int argc, char **argv, const struct oci_flag *flags, size_t nflags,
		    char *msg, size_t msglen)
{
	int i;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *v = NULL;
		size_t k;

		if (!strcmp(a, "--"))
			return i + 1;
		if (a[0] != '-' || !a[1])
			return i;
		for (k = 0; k < nflags && !flag_match(a, &flags[k], &v); k++)
			;
		if (k == nflags) {
			snprintf(msg, msglen, "flag provided but not defined: %s", a);
			return -1;
		}
		if (!flags[k].has_arg) {
			if (v && strcmp(v, "true") && strcmp(v, "false")) {
				snprintf(msg, msglen, "%s: expected true or false", a);
				return -1;
			}
			*flags[k].set = !v || !strcmp(v, "true");
			continue;
		}
		if (!v) {
			if (i + 1 >= argc) {
				snprintf(msg, msglen, "flag needs an argument: %s", a);
				return -1;
			}
			v = argv[++i];
		}
		*flags[k].val = v;
	}
	return i;
}
