// SPDX-License-Identifier: MIT
/* cli_balloon.c: the --balloon option (vmm/cli_balloon.h) into struct vm_balloon. */
#include "vmm/cli_balloon.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* "on" or "off" of (p, n) into (*out). */
static int on_off(const char *p, size_t n, bool *out)
{
	if (n == 2 && !strncmp(p, "on", 2))
		*out = true;
	else if (n == 3 && !strncmp(p, "off", 3))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

/* A number 0 .. (max) (at most 9999) of (p, n), decimal digits only. */
static int small_number(const char *p, size_t n, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (!n || n > 4)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* One KEY=VALUE item (p, n) into (b). */
static int balloon_item(const char *arg, const char *p, size_t n, struct vm_balloon *b, char *err,
			size_t errlen)
{
	const char *eq = memchr(p, '=', n);
	size_t k = eq ? (size_t)(eq - p) : n, vn = eq ? n - k - 1 : 0;
	const char *v = eq ? eq + 1 : p + n;

	if (k == 9 && !strncmp(p, "reporting", 9)) {
		if (eq && !on_off(v, vn, &b->reporting))
			return 0;
		snprintf(err, errlen, "--balloon %s: reporting must be on or off", arg);
		return -EINVAL;
	}
	if (k == 14 && !strncmp(p, "deflate-on-oom", 14)) {
		if (eq && !on_off(v, vn, &b->deflate_on_oom))
			return 0;
		snprintf(err, errlen, "--balloon %s: deflate-on-oom must be on or off", arg);
		return -EINVAL;
	}
	if (k == 15 && !strncmp(p, "reporting-order", 15)) {
		if (eq && !small_number(v, vn, VM_BALLOON_REPORTING_ORDER_MAX, &b->reporting_order))
			return 0;
		snprintf(err, errlen, "--balloon %s: reporting-order must be a number from 0 to %d",
			 arg, VM_BALLOON_REPORTING_ORDER_MAX);
		return -EINVAL;
	}
	if (k == 5 && !strncmp(p, "stats", 5)) {
		if (eq && !small_number(v, vn, VM_BALLOON_STATS_MAX_S, &b->stats_s))
			return 0;
		snprintf(err, errlen,
			 "--balloon %s: stats must be a number of seconds from 0 to %d", arg,
			 VM_BALLOON_STATS_MAX_S);
		return -EINVAL;
	}
	snprintf(err, errlen, "--balloon %s: unknown option '%.*s' (" CLI_BALLOON_USAGE ")", arg,
		 (int)MIN(k, (size_t)32), p);
	return -EINVAL;
}

int cli_balloon(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	struct vm_balloon b = { .enabled = true, .reporting = true, .deflate_on_oom = true,
				.reporting_order = VM_BALLOON_REPORTING_ORDER };
	const char *p, *end;

	if (!strcmp(arg, "on") || !strcmp(arg, "off")) {
		b.enabled = !strcmp(arg, "on");
		cfg->balloon = b;
		return 0;
	}
	if (!*arg) {
		snprintf(err, errlen, "--balloon: " CLI_BALLOON_USAGE);
		return -EINVAL;
	}
	for (p = arg;; p = end + 1) {
		end = p + strcspn(p, ",");
		if (end == p) {
			snprintf(err, errlen, "--balloon %s: empty option (" CLI_BALLOON_USAGE ")",
				 arg);
			return -EINVAL;
		}
		if (balloon_item(arg, p, (size_t)(end - p), &b, err, errlen))
			return -EINVAL;
		if (!*end)
			break;
	}
	cfg->balloon = b;
	return 0;
}
