// SPDX-License-Identifier: MIT
/*
 * session_proto.c: the pure half of a session's host endpoint (prefix avs_,
 * vmm/session.h): the job builder (SPEC), the checks of guest frames and the
 * Ctrl-A escape of host input; no I/O, so all of it can be fuzzed. Over 600
 * lines because the builder repeats every check guest-init makes of a job,
 * the container items' too (session_proto.h), where one reading sees them.
 */
#include "vmm/session.h"

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUOTE_MAX 40            /* bytes of user text a message quotes */
#define QUOTE_BUF (QUOTE_MAX + 4)

/* ---- the job ------------------------------------------------------------- */

/* At most (max) bytes of (s) for a message: QUOTE_MAX of them, controls as '?', "..." if cut. */
static const char *quote(char buf[QUOTE_BUF], const char *s, size_t max)
{
	size_t i;

	for (i = 0; i < max && s[i] && i < QUOTE_MAX; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (i < max && s[i]) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = 0;
	return buf;
}

/* Bytes item "K:(v)\0" takes, or 0 when it is over AVS_ITEM_MAX. */
static size_t item_size(const char *v)
{
	size_t n = strnlen(v, AVS_ITEM_MAX);

	return n + 3 <= AVS_ITEM_MAX ? n + 3 : 0;
}

/* A decimal id of (n) bytes at (s): 1..20 digits (as guest-init reads them), at most AVS_ID_MAX. */
static bool parse_id(const char *s, size_t n)
{
	uint64_t v = 0;

	if (n < 1 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
		if (v > AVS_ID_MAX)
			return false;
	}
	return true;
}

static bool user_ok(const char *u)
{
	const char *colon = strchr(u, ':');

	if (!colon)
		return parse_id(u, strlen(u));
	return parse_id(u, (size_t)(colon - u)) && parse_id(colon + 1, strlen(colon + 1));
}

/* A limit of (n) bytes at (s): "unlimited" (UINT64_MAX) or decimal below it. */
static bool parse_limit(const char *s, size_t n, uint64_t *v)
{
	if (n == 9 && !memcmp(s, "unlimited", 9)) {
		*v = UINT64_MAX;
		return true;
	}
	if (n < 1 || n > 20)
		return false;
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || mul_overflows(*v, 10, v) ||
		    add_overflows(*v, (uint64_t)(s[i] - '0'), v))
			return false;
	}
	return *v != UINT64_MAX;
}

/*
 * "NAME:SOFT:HARD" (session_proto.h "r:"); a NAME in (*seen) already is
 * refused, as guest-init refuses it. Return: 0 or -EINVAL with (err).
 */
static int check_rlimit(const char *s, unsigned *seen, char *err, size_t errlen)
{
	static const char *const names[] = { "core", "cpu", "data", "fsize", "memlock",
					      "nofile", "nproc", "stack", "as" };
	const char *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	char q[QUOTE_BUF];
	size_t nlen = c1 ? (size_t)(c1 - s) : 0;
	uint64_t soft, hard;
	size_t known = ARRAY_SIZE(names);

	if (!c2 || strchr(c2 + 1, ':')) {
		snprintf(err, errlen, "rlimit \"%s\": expected NAME:SOFT:HARD",
			 quote(q, s, SIZE_MAX));
		return -EINVAL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strlen(names[i]) == nlen && !memcmp(s, names[i], nlen))
			known = i;
	if (known == ARRAY_SIZE(names)) {
		snprintf(err, errlen, "rlimit \"%s\": unknown resource (core, cpu, data, fsize, "
			 "memlock, nofile, nproc, stack, as)", quote(q, s, nlen));
		return -EINVAL;
	}
	if (!parse_limit(c1 + 1, (size_t)(c2 - c1 - 1), &soft) ||
	    !parse_limit(c2 + 1, strlen(c2 + 1), &hard)) {
		snprintf(err, errlen, "rlimit %s: SOFT and HARD must be decimal numbers (below "
			 "2^64-1) or \"unlimited\"", quote(q, s, nlen));
		return -EINVAL;
	}
	if (soft > hard) {
		snprintf(err, errlen, "rlimit %s: the soft limit is over the hard limit",
			 quote(q, s, nlen));
		return -EINVAL;
	}
	if (*seen & 1U << known) {
		snprintf(err, errlen, "rlimit %s: given twice", names[known]);
		return -EINVAL;
	}
	*seen |= 1U << known;
	return 0;
}

/* Add the item for (v) to (*total); (what) and (i) name it in a message. */
static int count_item(const char *v, const char *what, int i, size_t *total, char *err,
		      size_t errlen)
{
	size_t n;

	if (!v) {
		snprintf(err, errlen, "%s %d is NULL", what, i);
		return -EINVAL;
	}
	n = item_size(v);
	if (!n) {
		snprintf(err, errlen, "%s %d: longer than %u bytes", what, i, AVS_ITEM_MAX - 3);
		return -EINVAL;
	}
	*total += n;
	return 0;
}

static int check_lists(const struct avs_spec_in *in, size_t *total, char *err, size_t errlen)
{
	char q[QUOTE_BUF];
	unsigned seen = 0;
	int r;

	if (in->argc < 1 || !in->argv) {
		snprintf(err, errlen, "no command");
		return -EINVAL;
	}
	if (in->argc > AVS_MAX_ARGS || in->envc > AVS_MAX_ENV) {
		snprintf(err, errlen, "too many %s: %d (at most %d)",
			 in->argc > AVS_MAX_ARGS ? "arguments" : "environment entries",
			 in->argc > AVS_MAX_ARGS ? in->argc : in->envc,
			 in->argc > AVS_MAX_ARGS ? AVS_MAX_ARGS : AVS_MAX_ENV);
		return -EINVAL;
	}
	if (in->envc < 0 || in->nr_rlimits < 0 || (in->envc && !in->env) ||
	    (in->nr_rlimits && !in->rlimits)) {
		snprintf(err, errlen, "bad environment or rlimit count");
		return -EINVAL;
	}
	for (int i = 0; i < in->argc; i++) {
		r = count_item(in->argv[i], "argument", i, total, err, errlen);
		if (r)
			return r;
	}
	for (int i = 0; i < in->envc; i++) {
		r = count_item(in->env[i], "environment entry", i, total, err, errlen);
		if (r)
			return r;
		const char *eq = strchr(in->env[i], '=');
		if (!eq || eq == in->env[i]) {
			snprintf(err, errlen, "environment entry \"%s\": expected NAME=VALUE with "
				 "a non-empty NAME", quote(q, in->env[i], SIZE_MAX));
			return -EINVAL;
		}
	}
	for (int i = 0; i < in->nr_rlimits; i++) {
		r = count_item(in->rlimits[i], "rlimit", i, total, err, errlen);
		if (!r)
			r = check_rlimit(in->rlimits[i], &seen, err, errlen);
		if (r)
			return r;
	}
	return 0;
}

/* Everything but the lists. Return: 0 or -EINVAL with (err). */
static int check_settings(const struct avs_spec_in *in, char *tsize, size_t *total, char *err,
			  size_t errlen)
{
	char q[QUOTE_BUF];

	if (in->cwd && (in->cwd[0] != '/' || !item_size(in->cwd))) {
		snprintf(err, errlen, "working directory \"%s\": %s", quote(q, in->cwd, SIZE_MAX),
			 in->cwd[0] != '/' ? "not an absolute path" : "too long");
		return -EINVAL;
	}
	if (in->user && !user_ok(in->user)) {
		snprintf(err, errlen, "user \"%s\": expected UID or UID:GID, decimal ids from 0 "
			 "to %llu", quote(q, in->user, SIZE_MAX), AVS_ID_MAX);
		return -EINVAL;
	}
	if (in->tty && (!in->rows || !in->cols)) {
		snprintf(err, errlen, "terminal size %ux%u: rows and columns must be 1 to 65535",
			 in->rows, in->cols);
		return -EINVAL;
	}
	*total += in->cwd ? item_size(in->cwd) : 0;
	*total += in->user ? item_size(in->user) : 0;
	if (in->tty) {
		snprintf(tsize, 16, "%u:%u", in->rows, in->cols);
		*total += strlen(tsize) + 3;
	}
	return 0;
}

/* ---- container items (session_proto.h "Container items") ------------------ */

#define CT_SETUP_KEYS "sMDPOY"  /* set-up keys, in the order they go on the wire */

/* (n) bytes at (p), a path inside the container's root: absolute, no ".." component. */
static bool ct_path_ok_n(const char *p, size_t n)
{
	if (n < 1 || p[0] != '/')
		return false;
	for (size_t i = 0; i + 2 < n; i++)
		if (p[i] == '/' && p[i + 1] == '.' && p[i + 2] == '.' &&
		    (i + 3 == n || p[i + 3] == '/'))
			return false;
	return true;
}

static bool ct_path_ok(const char *p)
{
	return ct_path_ok_n(p, strlen(p));
}

/* Hex of (n) bytes at (s), 1..(digits) digits, into (*v). */
static bool parse_hex(const char *s, size_t n, size_t digits, uint64_t *v)
{
	if (n < 1 || n > digits)
		return false;
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			*v = *v << 4 | (uint64_t)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			*v = *v << 4 | (uint64_t)((c | 0x20) - 'a' + 10);
		else
			return false;
	}
	return true;
}

/* (n) bytes at (s) are letters, digits or one of (extra). */
static bool chars_ok(const char *s, size_t n, const char *extra)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || (s[i] && strchr(extra, s[i]))))
			return false;
	return true;
}

static bool umask_ok(const char *m)
{
	size_t n = strlen(m);
	unsigned v = 0;

	if (n < 1 || n > 4)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (m[i] < '0' || m[i] > '7')
			return false;
		v = v << 3 | (unsigned)(m[i] - '0');
	}
	return v <= 0777;
}

/* "BND:EFF:PRM:INH:AMB": NULL when fine, else why not. */
static const char *caps_fault(const char *k)
{
	uint64_t v[5];
	const char *p = k;

	for (int i = 0; i < 5; i++) {
		const char *end = i < 4 ? strchr(p, ':') : p + strlen(p);

		if (!end || !parse_hex(p, (size_t)(end - p), 16, &v[i]))
			return "expected BND:EFF:PRM:INH:AMB, five hex masks of 1 to 16 digits";
		p = end + 1;
	}
	if (v[1] & ~v[2])
		return "effective capabilities not all permitted";
	if (v[3] & ~v[0])
		return "inheritable capabilities outside the bounding set";
	if (v[4] & ~(v[2] & v[3]))
		return "ambient capabilities not both permitted and inheritable";
	return NULL;
}

/* "KEY=VALUE" of s: (v): NULL when fine, else why not. */
static const char *sysctl_fault(const char *v)
{
	const char *eq = strchr(v, '=');
	size_t n = eq ? (size_t)(eq - v) : 0;

	if (!n || v[0] == '.' || v[n - 1] == '.' || !chars_ok(v, n, "_-.") ||
	    memmem(v, n, "..", 2))
		return "expected KEY=VALUE, KEY of letters, digits, '_', '-' and single inner '.'";
	return NULL;
}

/* "TYPE:FLAGS:DATA:DST" of M: (v): NULL when fine, else why not. */
static const char *mount_fault(const char *v)
{
	static const char *const types[] = { "proc", "sysfs", "tmpfs", "devpts", "mqueue",
					     "cgroup2", "bind" };
	const char *c1 = strchr(v, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	const char *c3 = c2 ? strchr(c2 + 1, ':') : NULL;
	size_t tlen = c1 ? (size_t)(c1 - v) : 0;
	bool known = false, bind = tlen == 4 && !memcmp(v, "bind", 4);
	uint64_t flags;

	if (!c3)
		return "expected TYPE:FLAGS:DATA:DST";
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		known |= strlen(types[i]) == tlen && !memcmp(v, types[i], tlen);
	if (!known)
		return "unknown TYPE (proc sysfs tmpfs devpts mqueue cgroup2 bind)";
	if (!parse_hex(c1 + 1, (size_t)(c2 - c1 - 1), 8, &flags) || (flags & ~AVS_MOUNT_FLAGS))
		return "FLAGS: expected hex MS_* bits out of AVS_MOUNT_FLAGS";
	if (c3 == c2 + 1)
		return "DATA is empty (\"-\" for none)";
	if (bind && !ct_path_ok_n(c2 + 1, (size_t)(c3 - c2 - 1)))
		return "the bind source is not an absolute path without \"..\"";
	if (!ct_path_ok(c3 + 1))
		return "DST is not an absolute path without \"..\"";
	return NULL;
}

/* Set-up item (i) (verbatim "K:..."); (*once): D: and Y: seen. Return: 0 or -EINVAL. */
static int check_setup_item(const char *it, int i, unsigned *once, size_t *total, char *err,
			    size_t errlen)
{
	char q[QUOTE_BUF];
	const char *why = NULL;
	size_t n;

	if (!it) {
		snprintf(err, errlen, "set-up item %d is NULL", i);
		return -EINVAL;
	}
	n = strnlen(it, AVS_ITEM_MAX);
	if (n + 1 > AVS_ITEM_MAX) {
		snprintf(err, errlen, "set-up item %d: longer than %u bytes", i, AVS_ITEM_MAX - 1);
		return -EINVAL;
	}
	if (n < 2 || it[1] != ':' || !strchr(CT_SETUP_KEYS, it[0]))
		why = "not a set-up item (s:, M:, D:1, P:, O:, Y:1)";
	else if (it[0] == 's')
		why = sysctl_fault(it + 2);
	else if (it[0] == 'M')
		why = mount_fault(it + 2);
	else if ((it[0] == 'D' || it[0] == 'Y') && strcmp(it + 2, "1"))
		why = "expected D:1 or Y:1";
	else if ((it[0] == 'D' || it[0] == 'Y') && (*once & (it[0] == 'D' ? 1U : 2U)))
		why = "given twice";
	else if ((it[0] == 'P' || it[0] == 'O') && !ct_path_ok(it + 2))
		why = "not an absolute path without \"..\"";
	if (why) {
		snprintf(err, errlen, "set-up item %d \"%s\": %s", i, quote(q, it, SIZE_MAX), why);
		return -EINVAL;
	}
	if (it[0] == 'D' || it[0] == 'Y')
		*once |= it[0] == 'D' ? 1U : 2U;
	*total += n + 1;
	return 0;
}

/* The container items (session_proto.h). Return: 0 or -EINVAL with (err). */
static int check_container(const struct avs_spec_in *in, size_t *total, char *err,
			   size_t errlen)
{
	char q[QUOTE_BUF];
	const char *why;
	unsigned once = 0;
	int r;

	if (in->nr_groups < 0 || in->nr_setup < 0 || (in->nr_groups && !in->groups) ||
	    (in->nr_setup && !in->setup)) {
		snprintf(err, errlen, "bad group or set-up count");
		return -EINVAL;
	}
	if (in->nr_groups > AVS_MAX_GROUPS || in->nr_setup > AVS_MAX_SETUP) {
		snprintf(err, errlen, "too many %s: %d (at most %d)",
			 in->nr_groups > AVS_MAX_GROUPS ? "groups" : "set-up items",
			 in->nr_groups > AVS_MAX_GROUPS ? in->nr_groups : in->nr_setup,
			 in->nr_groups > AVS_MAX_GROUPS ? AVS_MAX_GROUPS : AVS_MAX_SETUP);
		return -EINVAL;
	}
	if (in->root && (in->root[0] != '/' || !item_size(in->root))) {
		snprintf(err, errlen, "root \"%s\": %s", quote(q, in->root, SIZE_MAX),
			 in->root[0] != '/' ? "not an absolute path" : "too long");
		return -EINVAL;
	}
	if (in->nr_setup && !in->root) {
		snprintf(err, errlen, "set-up items need a root (no R: item)");
		return -EINVAL;
	}
	if (in->hostname && (!in->hostname[0] ||
			     strnlen(in->hostname, AVS_HOSTNAME_MAX + 1) > AVS_HOSTNAME_MAX ||
			     !chars_ok(in->hostname, strlen(in->hostname), "-."))) {
		snprintf(err, errlen, "hostname \"%s\": expected 1 to %d letters, digits, '-' or "
			 "'.'", quote(q, in->hostname, SIZE_MAX), AVS_HOSTNAME_MAX);
		return -EINVAL;
	}
	if (in->umask && !umask_ok(in->umask)) {
		snprintf(err, errlen, "umask \"%s\": expected 1 to 4 octal digits, at most 0777",
			 quote(q, in->umask, SIZE_MAX));
		return -EINVAL;
	}
	why = in->caps ? caps_fault(in->caps) : NULL;
	if (why) {
		snprintf(err, errlen, "capabilities \"%s\": %s", quote(q, in->caps, SIZE_MAX), why);
		return -EINVAL;
	}
	for (int i = 0; i < in->nr_groups; i++) {
		r = count_item(in->groups[i], "group", i, total, err, errlen);
		if (r)
			return r;
		if (!parse_id(in->groups[i], strlen(in->groups[i]))) {
			snprintf(err, errlen, "group \"%s\": expected a decimal id from 0 to %llu",
				 quote(q, in->groups[i], SIZE_MAX), AVS_ID_MAX);
			return -EINVAL;
		}
	}
	for (int i = 0; i < in->nr_setup; i++) {
		r = check_setup_item(in->setup[i], i, &once, total, err, errlen);
		if (r)
			return r;
	}
	*total += in->root ? item_size(in->root) : 0;
	*total += in->hostname ? item_size(in->hostname) : 0;
	*total += in->umask ? item_size(in->umask) : 0;
	*total += in->no_new_privs ? 4 : 0; /* "n:1" */
	*total += in->caps ? item_size(in->caps) : 0;
	return 0;
}

static uint8_t *put_item(uint8_t *p, char key, const char *v)
{
	size_t n = strlen(v);

	*p++ = (uint8_t)key;
	*p++ = ':';
	memcpy(p, v, n);
	p += n;
	*p++ = 0;
	return p;
}

/* R h m n k, then the set-up items key by key in CT_SETUP_KEYS order. */
static uint8_t *put_container(uint8_t *p, const struct avs_spec_in *in)
{
	if (in->root)
		p = put_item(p, 'R', in->root);
	if (in->hostname)
		p = put_item(p, 'h', in->hostname);
	if (in->umask)
		p = put_item(p, 'm', in->umask);
	if (in->no_new_privs)
		p = put_item(p, 'n', "1");
	if (in->caps)
		p = put_item(p, 'k', in->caps);
	for (const char *k = CT_SETUP_KEYS; *k; k++) {
		for (int i = 0; i < in->nr_setup; i++) {
			size_t n = strlen(in->setup[i]) + 1;

			if (in->setup[i][0] != *k)
				continue;
			memcpy(p, in->setup[i], n);
			p += n;
		}
	}
	return p;
}

int avs_spec_build(const struct avs_spec_in *in, uint8_t **out, size_t *len, char *err,
		   size_t errlen)
{
	char tsize[16];
	size_t total = 0;
	uint8_t *p;
	int r;

	*out = NULL;
	*len = 0;
	r = check_lists(in, &total, err, errlen);
	if (!r)
		r = check_settings(in, tsize, &total, err, errlen);
	if (!r)
		r = check_container(in, &total, err, errlen);
	if (r)
		return r;
	if (total > AVS_SPEC_MAX) {
		snprintf(err, errlen, "the job is too big: %zu bytes of arguments, environment and "
			 "settings, over the session limit of %u (1 MiB)", total, AVS_SPEC_MAX);
		return -E2BIG;
	}
	*out = p = malloc(total ? total : 1);
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < in->argc; i++)
		p = put_item(p, 'a', in->argv[i]);
	for (int i = 0; i < in->envc; i++)
		p = put_item(p, 'e', in->env[i]);
	if (in->cwd)
		p = put_item(p, 'c', in->cwd);
	if (in->user)
		p = put_item(p, 'u', in->user);
	for (int i = 0; i < in->nr_groups; i++)
		p = put_item(p, 'g', in->groups[i]);
	if (in->tty)
		p = put_item(p, 't', tsize);
	for (int i = 0; i < in->nr_rlimits; i++)
		p = put_item(p, 'r', in->rlimits[i]);
	p = put_container(p, in);
	assert((size_t)(p - *out) == total);
	*len = total;
	return 0;
}

/* ---- frames -------------------------------------------------------------- */

static const struct frame_rule {
	uint8_t type;
	bool from_guest;
	uint32_t min, max;
} frame_rules[] = {
	{ AVS_SPEC, false, 0, AVS_SPEC_MAX },
	{ AVS_STDIN, false, 0, AVS_DATA_MAX },
	{ AVS_WINSIZE, false, 4, 4 },
	{ AVS_SIGNAL, false, 4, 4 },
	{ AVS_EXIT_ACK, false, 0, 0 },
	{ AVS_STDOUT, true, 0, AVS_DATA_MAX },
	{ AVS_STDERR, true, 0, AVS_DATA_MAX },
	{ AVS_ERROR, true, 0, AVS_ERROR_MAX },
	{ AVS_EXIT, true, 4, 4 },
};

int avs_frame_check(const struct avs_hdr *h, bool from_guest)
{
	uint32_t len = le32toh(h->len);

	if (h->flags || h->zero)
		return -EPROTO;
	for (size_t i = 0; i < ARRAY_SIZE(frame_rules); i++) {
		const struct frame_rule *f = &frame_rules[i];

		if (f->type == h->type)
			return f->from_guest == from_guest && len >= f->min && len <= f->max ?
				       0 : -EPROTO;
	}
	return -EPROTO;
}

static uint32_t get_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint16_t get_le16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return le16toh(v);
}

int avs_payload_check(uint8_t type, const uint8_t *p, uint32_t len)
{
	switch (type) {
	case AVS_EXIT:
		return len == 4 && get_le32(p) <= 255 ? 0 : -EPROTO;
	case AVS_SIGNAL:
		return len == 4 && get_le32(p) >= 1 && get_le32(p) <= 64 ? 0 : -EPROTO;
	case AVS_WINSIZE:
		return len == 4 && get_le16(p) && get_le16(p + 2) ? 0 : -EPROTO;
	case AVS_ERROR:
		return len && memchr(p, 0, len) ? -EPROTO : 0;
	default:
		return 0;
	}
}

int avs_rx_seq_next(struct avs_rx_seq *s, const struct avs_hdr *h)
{
	bool eof = le32toh(h->len) == 0;

	if (s->exited)
		return -EPROTO;
	switch (h->type) {
	case AVS_STDOUT:
		if (s->out_eof)
			return -EPROTO;
		s->out_eof = eof;
		break;
	case AVS_STDERR:
		if (s->err_eof)
			return -EPROTO;
		s->err_eof = eof;
		break;
	case AVS_EXIT:
		s->exited = true;
		break;
	default:
		break;
	}
	return 0;
}

/* ---- host input ---------------------------------------------------------- */

size_t avs_escape_feed(bool *pending, const uint8_t *in, size_t len, uint8_t *out, bool *quit)
{
	size_t n = 0;

	*quit = false;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = in[i];

		if (*pending) {
			*pending = false;
			if (c == 'x' || c == 'X') {
				*quit = true;
				break;
			}
			if (c != AVS_ESCAPE)
				continue;
		} else if (c == AVS_ESCAPE) {
			*pending = true;
			continue;
		}
		out[n++] = c; /* n <= i: (out) may be (in) */
	}
	return n;
}
