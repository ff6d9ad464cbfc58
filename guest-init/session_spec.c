// SPDX-License-Identifier: MIT
/*
 * session_spec.c: the job of a session (session_proto.h "SPEC payload"),
 * parsed defensively: guest-init runs as root and the bytes come from the
 * host side of a vsock stream. Pure, so the unit tests and the fuzzer run it
 * on the host.
 */
#include "guest-init/session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	int resource;
} rl_names[] = {
	{ "core", RLIMIT_CORE },     { "cpu", RLIMIT_CPU },       { "data", RLIMIT_DATA },
	{ "fsize", RLIMIT_FSIZE },   { "memlock", RLIMIT_MEMLOCK }, { "nofile", RLIMIT_NOFILE },
	{ "nproc", RLIMIT_NPROC },   { "stack", RLIMIT_STACK },   { "as", RLIMIT_AS },
};

/* Decimal (s, n) <= max into (*out): 1 to 20 digits, nothing else. */
static bool parse_dec(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return false;
		d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static bool parse_rlim(const char *s, size_t n, rlim_t *out)
{
	uint64_t v;

	if (n == 9 && !memcmp(s, "unlimited", 9)) {
		*out = RLIM_INFINITY;
		return true;
	}
	if (!parse_dec(s, n, UINT64_MAX - 1, &v) || (rlim_t)v == RLIM_INFINITY)
		return false;
	*out = (rlim_t)v;
	return true;
}

/* "UID[:GID]" */
static int parse_user(struct gi_spec *s, const char *v, char *err, size_t errlen)
{
	const char *colon = strchr(v, ':');
	size_t n = colon ? (size_t)(colon - v) : strlen(v);
	uint64_t uid, gid;

	if (!parse_dec(v, n, UINT32_MAX - 1, &uid) ||
	    (colon && !parse_dec(colon + 1, strlen(colon + 1), UINT32_MAX - 1, &gid))) {
		snprintf(err, errlen, "u:%.32s: expected UID[:GID] in decimal", v);
		return -EINVAL;
	}
	s->has_user = true;
	s->uid = (uint32_t)uid;
	s->gid = colon ? (uint32_t)gid : (uint32_t)uid;
	return 0;
}

/* "ROWS:COLS" */
static int parse_tty(struct gi_spec *s, const char *v, char *err, size_t errlen)
{
	const char *colon = strchr(v, ':');
	uint64_t r, c;

	if (!colon || !parse_dec(v, (size_t)(colon - v), 65535, &r) ||
	    !parse_dec(colon + 1, strlen(colon + 1), 65535, &c) || !r || !c) {
		snprintf(err, errlen, "t:%.32s: expected ROWS:COLS, each 1 to 65535", v);
		return -EINVAL;
	}
	s->tty = true;
	s->rows = (uint16_t)r;
	s->cols = (uint16_t)c;
	return 0;
}

/* "NAME:SOFT:HARD" */
static int parse_rlimit(struct gi_spec *s, const char *v, char *err, size_t errlen)
{
	const char *c1 = strchr(v, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	struct gi_spec_rlimit r = { .resource = -1 };

	for (size_t i = 0; c1 && i < GI_ARRAY_SIZE(rl_names); i++)
		if (strlen(rl_names[i].name) == (size_t)(c1 - v) &&
		    !memcmp(rl_names[i].name, v, (size_t)(c1 - v)))
			r.resource = rl_names[i].resource;
	if (r.resource < 0 || !c2 || !parse_rlim(c1 + 1, (size_t)(c2 - c1 - 1), &r.rl.rlim_cur) ||
	    !parse_rlim(c2 + 1, strlen(c2 + 1), &r.rl.rlim_max) || r.rl.rlim_cur > r.rl.rlim_max) {
		snprintf(err, errlen, "r:%.48s: expected NAME:SOFT:HARD (a known limit, SOFT <= HARD)",
			 v);
		return -EINVAL;
	}
	for (size_t i = 0; i < s->nr_rlimits; i++) {
		if (s->rlimits[i].resource == r.resource) {
			snprintf(err, errlen, "r:%.48s: that limit is given twice", v);
			return -EINVAL;
		}
	}
	if (s->nr_rlimits == GI_SPEC_MAX_RLIMITS) {
		snprintf(err, errlen, "more than %d limits", GI_SPEC_MAX_RLIMITS);
		return -EINVAL;
	}
	s->rlimits[s->nr_rlimits++] = r;
	return 0;
}

/* One item "K:VALUE" (NUL-terminated), second pass: store it. */
static int take_item(struct gi_spec *s, char *item, char *err, size_t errlen)
{
	char *v = item + 2;

	switch (item[0]) {
	case 'a':
		s->argv[s->argc++] = v;
		return 0;
	case 'e':
		s->env[s->envc++] = v;
		return 0;
	case 'c':
		s->cwd = v;
		return 0;
	case 'u':
		return parse_user(s, v, err, errlen);
	case 't':
		return parse_tty(s, v, err, errlen);
	case 'r':
		return parse_rlimit(s, v, err, errlen);
	}
	return -EINVAL; /* the first pass let only these through */
}

/* First pass: every item well-formed, counted; single keys given once. */
static int check_items(const char *p, size_t len, size_t *nargs, size_t *nenv, char *err,
		       size_t errlen)
{
	bool seen_c = false, seen_u = false, seen_t = false;
	size_t off = 0, idx = 0;

	*nargs = *nenv = 0;
	while (off < len) {
		const char *item = p + off, *nul = memchr(item, '\0', len - off);
		size_t n;

		if (!nul) {
			snprintf(err, errlen, "item %zu does not end in NUL", idx);
			return -EINVAL;
		}
		n = (size_t)(nul - item);
		if (n + 1 > AVS_ITEM_MAX || n < 2 || item[1] != ':') {
			snprintf(err, errlen, "item %zu: %s", idx,
				 n + 1 > AVS_ITEM_MAX ? "longer than the limit" : "not K:VALUE");
			return -EINVAL;
		}
		switch (item[0]) {
		case 'a':
			if (++*nargs > AVS_MAX_ARGS) {
				snprintf(err, errlen, "more than %d arguments", AVS_MAX_ARGS);
				return -EINVAL;
			}
			break;
		case 'e': {
			const char *eq = memchr(item + 2, '=', n - 2);

			if (!eq || eq == item + 2) {
				snprintf(err, errlen, "e:%.32s: expected NAME=VALUE", item + 2);
				return -EINVAL;
			}
			if (++*nenv > AVS_MAX_ENV) {
				snprintf(err, errlen, "more than %d environment entries", AVS_MAX_ENV);
				return -EINVAL;
			}
			break;
		}
		case 'c':
			if (seen_c || item[2] != '/') {
				snprintf(err, errlen, "c:%.32s: %s", item + 2,
					 seen_c ? "given twice" : "not an absolute path");
				return -EINVAL;
			}
			seen_c = true;
			break;
		case 'u':
		case 't': {
			bool *seen = item[0] == 'u' ? &seen_u : &seen_t;

			if (*seen) {
				snprintf(err, errlen, "%c: given twice", item[0]);
				return -EINVAL;
			}
			*seen = true;
			break;
		}
		case 'r':
			break;
		default:
			snprintf(err, errlen, "item %zu: unknown key '%c'", idx,
				 item[0] >= 0x20 && item[0] < 0x7f ? item[0] : '?');
			return -EINVAL;
		}
		off += n + 1;
		idx++;
	}
	if (*nargs == 0) {
		snprintf(err, errlen, "no command (no a: item)");
		return -EINVAL;
	}
	return 0;
}

int gi_spec_parse(const uint8_t *p, size_t len, struct gi_spec *s, char *err, size_t errlen)
{
	size_t nargs, nenv, off = 0;
	int ret;

	memset(s, 0, sizeof(*s));
	if (errlen)
		err[0] = '\0';
	if (len > AVS_SPEC_MAX) {
		snprintf(err, errlen, "the job is over %u bytes", AVS_SPEC_MAX);
		return -EINVAL;
	}
	ret = check_items((const char *)p, len, &nargs, &nenv, err, errlen);
	if (ret)
		return ret;
	s->buf = malloc(len);
	s->argv = calloc(nargs + 1, sizeof(*s->argv));
	s->env = calloc(nenv + 1, sizeof(*s->env));
	if (!s->buf || !s->argv || !s->env) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memcpy(s->buf, p, len);
	while (off < len) {
		char *item = s->buf + off;

		ret = take_item(s, item, err, errlen);
		if (ret)
			return ret;
		off += strlen(item) + 1;
	}
	return 0;
}

void gi_spec_fini(struct gi_spec *s)
{
	free(s->buf);
	free(s->argv);
	free(s->env);
	memset(s, 0, sizeof(*s));
}

int gi_session_frame_check(const struct avs_hdr *h)
{
	if (h->flags || h->zero)
		return -EPROTO;
	switch (h->type) {
	case AVS_SPEC:
		return h->len <= AVS_SPEC_MAX ? 0 : -EPROTO;
	case AVS_STDIN:
		return h->len <= AVS_DATA_MAX ? 0 : -EPROTO;
	case AVS_WINSIZE:
	case AVS_SIGNAL:
		return h->len == 4 ? 0 : -EPROTO;
	case AVS_EXIT_ACK:
		return h->len == 0 ? 0 : -EPROTO;
	}
	return -EPROTO;
}
