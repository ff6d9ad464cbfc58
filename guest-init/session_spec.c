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

/* Hex (s, n) into (*out): 1 to (max_digits) digits, nothing else. */
static bool parse_hex(const char *s, size_t n, size_t max_digits, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > max_digits)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned d;

		if (s[i] >= '0' && s[i] <= '9')
			d = (unsigned)(s[i] - '0');
		else if ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f')
			d = (unsigned)((s[i] | 0x20) - 'a' + 10);
		else
			return false;
		v = v << 4 | d;
	}
	*out = v;
	return true;
}

/* A path inside the root: absolute, no ".." component. */
static bool ct_path_ok(const char *p)
{
	if (p[0] != '/')
		return false;
	for (const char *c = p; (c = strstr(c, "..")); c += 2)
		if (c[-1] == '/' && (c[2] == '/' || c[2] == '\0'))
			return false;
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

/* "GID", one more supplementary group (the first pass counted them). */
static int parse_group(struct gi_spec *s, const char *v, char *err, size_t errlen)
{
	uint64_t gid;

	if (!parse_dec(v, strlen(v), UINT32_MAX - 1, &gid) || s->nr_groups == AVS_MAX_GROUPS) {
		snprintf(err, errlen, "g:%.32s: expected a decimal GID", v);
		return -EINVAL;
	}
	s->groups[s->nr_groups++] = (uint32_t)gid;
	return 0;
}

/* "NAME": 1..AVS_HOSTNAME_MAX letters, digits, '-', '.'. */
static int parse_hostname(struct gi_spec *s, const char *v, char *err, size_t errlen)
{
	size_t n = strlen(v);
	bool ok = n >= 1 && n <= AVS_HOSTNAME_MAX;

	for (size_t i = 0; ok && i < n; i++)
		ok = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
		     (v[i] >= '0' && v[i] <= '9') || v[i] == '-' || v[i] == '.';
	if (!ok) {
		snprintf(err, errlen, "h:%.32s: expected 1 to %d letters, digits, '-' or '.'", v,
			 AVS_HOSTNAME_MAX);
		return -EINVAL;
	}
	s->hostname = v;
	return 0;
}

/* "OCT": 1..4 octal digits, at most 0777. */
static int parse_umask(struct gi_spec *s, const char *v, char *err, size_t errlen)
{
	size_t n = strlen(v);
	uint32_t m = 0;
	bool ok = n >= 1 && n <= 4;

	for (size_t i = 0; ok && i < n; i++) {
		ok = v[i] >= '0' && v[i] <= '7';
		m = m << 3 | (uint32_t)(v[i] - '0');
	}
	if (!ok || m > 0777) {
		snprintf(err, errlen, "m:%.32s: expected an octal umask from 0 to 0777", v);
		return -EINVAL;
	}
	s->has_umask = true;
	s->umask = m;
	return 0;
}

/* "BND:EFF:PRM:INH:AMB", hex; the sets the kernel would refuse are refused here. */
static int parse_caps(struct gi_spec *s, const char *v, char *err, size_t errlen)
{
	uint64_t *set[5] = { &s->caps.bnd, &s->caps.eff, &s->caps.prm, &s->caps.inh,
			     &s->caps.amb };
	const char *p = v, *why = NULL;

	for (int i = 0; i < 5; i++) {
		const char *end = i < 4 ? strchr(p, ':') : p + strlen(p);

		if (!end || !parse_hex(p, (size_t)(end - p), 16, set[i])) {
			snprintf(err, errlen, "k:%.96s: expected BND:EFF:PRM:INH:AMB, five hex "
				 "masks of 1 to 16 digits", v);
			return -EINVAL;
		}
		p = end + 1;
	}
	if (s->caps.eff & ~s->caps.prm)
		why = "effective capabilities not all permitted";
	else if (s->caps.inh & ~s->caps.bnd)
		why = "inheritable capabilities outside the bounding set";
	else if (s->caps.amb & ~(s->caps.prm & s->caps.inh))
		why = "ambient capabilities not both permitted and inheritable";
	if (why) {
		snprintf(err, errlen, "k:%.96s: %s", v, why);
		return -EINVAL;
	}
	s->has_caps = true;
	return 0;
}

static const char *const mount_types[] = { "proc", "sysfs", "tmpfs", "devpts", "mqueue",
					    "cgroup2", "bind" };

/* "TYPE:FLAGS:DATA:DST" into (m), split in place. */
static int parse_mount(struct gi_spec_setup *m, char *v, char *err, size_t errlen)
{
	char *c1 = strchr(v, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	char *c3 = c2 ? strchr(c2 + 1, ':') : NULL;
	uint64_t flags = 0;
	const char *why = NULL;

	if (!c3) {
		why = "expected TYPE:FLAGS:DATA:DST";
	} else {
		*c1 = *c2 = *c3 = '\0';
		for (size_t i = 0; i < GI_ARRAY_SIZE(mount_types); i++)
			if (!strcmp(v, mount_types[i]))
				m->fstype = mount_types[i];
		if (!m->fstype)
			why = "unknown TYPE (proc sysfs tmpfs devpts mqueue cgroup2 bind)";
		else if (!parse_hex(c1 + 1, strlen(c1 + 1), 8, &flags) ||
			 (flags & ~AVS_MOUNT_FLAGS))
			why = "FLAGS: expected hex MS_* bits out of AVS_MOUNT_FLAGS";
		else if (!c2[1])
			why = "DATA is empty (\"-\" for none)";
		else if (!strcmp(m->fstype, "bind") && !ct_path_ok(c2 + 1))
			why = "the bind source is not an absolute path without \"..\"";
		else if (!ct_path_ok(c3 + 1))
			why = "DST is not an absolute path without \"..\"";
		if (why) /* the item whole again, for the message */
			*c1 = *c2 = *c3 = ':';
	}
	if (why) {
		snprintf(err, errlen, "M:%.96s: %s", v, why);
		return -EINVAL;
	}
	m->flags = (unsigned long)flags;
	m->value = strcmp(c2 + 1, "-") ? c2 + 1 : NULL;
	m->path = c3 + 1;
	return 0;
}

/* "KEY=VALUE" into (m), split in place. */
static int parse_sysctl(struct gi_spec_setup *m, char *v, char *err, size_t errlen)
{
	char *eq = strchr(v, '=');
	size_t n = eq ? (size_t)(eq - v) : 0;
	bool ok = n >= 1 && v[0] != '.' && v[n - 1] != '.';

	for (size_t i = 0; ok && i < n; i++)
		ok = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
		     (v[i] >= '0' && v[i] <= '9') || v[i] == '_' || v[i] == '-' ||
		     (v[i] == '.' && v[i + 1] != '.');
	if (!ok) {
		snprintf(err, errlen, "s:%.64s: expected KEY=VALUE, KEY of letters, digits, '_', "
			 "'-' and single inner '.'", v);
		return -EINVAL;
	}
	*eq = '\0';
	m->path = v;
	m->value = eq + 1;
	return 0;
}

/* A set-up item (session_proto.h), stored after the others. */
static int parse_setup(struct gi_spec *s, char *item, char *err, size_t errlen)
{
	struct gi_spec_setup *m = &s->setup[s->nr_setup];
	char *v = item + 2;

	*m = (struct gi_spec_setup){ .key = item[0] };
	switch (item[0]) {
	case 's':
		if (parse_sysctl(m, v, err, errlen))
			return -EINVAL;
		break;
	case 'M':
		if (parse_mount(m, v, err, errlen))
			return -EINVAL;
		break;
	case 'D':
	case 'Y':
		if (strcmp(v, "1")) {
			snprintf(err, errlen, "%c:%.32s: expected %c:1", item[0], v, item[0]);
			return -EINVAL;
		}
		break;
	default: /* P, O */
		if (!ct_path_ok(v)) {
			snprintf(err, errlen, "%c:%.64s: not an absolute path without \"..\"",
				 item[0], v);
			return -EINVAL;
		}
		m->path = v;
		break;
	}
	s->nr_setup++;
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
	case 'g':
		return parse_group(s, v, err, errlen);
	case 'R':
		s->root = v;
		return 0;
	case 'h':
		return parse_hostname(s, v, err, errlen);
	case 'm':
		return parse_umask(s, v, err, errlen);
	case 'n':
		if (strcmp(v, "1")) {
			snprintf(err, errlen, "n:%.32s: expected n:1", v);
			return -EINVAL;
		}
		s->no_new_privs = true;
		return 0;
	case 'k':
		return parse_caps(s, v, err, errlen);
	case 's':
	case 'M':
	case 'D':
	case 'P':
	case 'O':
	case 'Y':
		return parse_setup(s, item, err, errlen);
	}
	return -EINVAL; /* the first pass let only these through */
}

/* What the first pass counted: sizes to allocate before the second. */
struct spec_counts {
	size_t nargs, nenv, ngroups, nsetup;
	bool root;
};

/* Keys that may be given once only, and the set-up items. */
#define SPEC_SINGLE_KEYS "cutRhmnkDY"
#define SPEC_SETUP_KEYS "sMDPOY"

/* First pass for one item (item, n) of key item[0]: known, counted, single keys once. */
static int check_key(const char *item, size_t n, size_t idx, struct spec_counts *c,
		     bool seen[128], char *err, size_t errlen)
{
	char k = item[0];

	if (k > 0 && strchr(SPEC_SINGLE_KEYS, k)) {
		if (seen[(int)k]) {
			snprintf(err, errlen, "%c: given twice", k);
			return -EINVAL;
		}
		seen[(int)k] = true;
	}
	if (k > 0 && strchr(SPEC_SETUP_KEYS, k) && ++c->nsetup > AVS_MAX_SETUP) {
		snprintf(err, errlen, "more than %d set-up items", AVS_MAX_SETUP);
		return -EINVAL;
	}
	switch (k) {
	case 'a':
		if (++c->nargs > AVS_MAX_ARGS) {
			snprintf(err, errlen, "more than %d arguments", AVS_MAX_ARGS);
			return -EINVAL;
		}
		return 0;
	case 'e': {
		const char *eq = memchr(item + 2, '=', n - 2);

		if (!eq || eq == item + 2) {
			snprintf(err, errlen, "e:%.32s: expected NAME=VALUE", item + 2);
			return -EINVAL;
		}
		if (++c->nenv > AVS_MAX_ENV) {
			snprintf(err, errlen, "more than %d environment entries", AVS_MAX_ENV);
			return -EINVAL;
		}
		return 0;
	}
	case 'c':
	case 'R':
		if (item[2] != '/') {
			snprintf(err, errlen, "%c:%.32s: not an absolute path", k, item + 2);
			return -EINVAL;
		}
		c->root |= k == 'R';
		return 0;
	case 'g':
		if (++c->ngroups > AVS_MAX_GROUPS) {
			snprintf(err, errlen, "more than %d groups", AVS_MAX_GROUPS);
			return -EINVAL;
		}
		return 0;
	}
	if (k > 0 && strchr("utrhmnk" SPEC_SETUP_KEYS, k))
		return 0;
	snprintf(err, errlen, "item %zu: unknown key '%c'", idx, k >= 0x20 && k < 0x7f ? k : '?');
	return -EINVAL;
}

/* First pass: every item well-formed, counted; single keys given once. */
static int check_items(const char *p, size_t len, struct spec_counts *c, char *err,
		       size_t errlen)
{
	bool seen[128] = { false };
	size_t off = 0, idx = 0;

	memset(c, 0, sizeof(*c));
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
		if (check_key(item, n, idx, c, seen, err, errlen))
			return -EINVAL;
		off += n + 1;
		idx++;
	}
	if (c->nargs == 0) {
		snprintf(err, errlen, "no command (no a: item)");
		return -EINVAL;
	}
	if (c->nsetup && !c->root) {
		snprintf(err, errlen, "set-up items without a root (no R: item)");
		return -EINVAL;
	}
	return 0;
}

int gi_spec_parse(const uint8_t *p, size_t len, struct gi_spec *s, char *err, size_t errlen)
{
	struct spec_counts c;
	size_t off = 0;
	int ret;

	memset(s, 0, sizeof(*s));
	if (errlen)
		err[0] = '\0';
	if (len > AVS_SPEC_MAX) {
		snprintf(err, errlen, "the job is over %u bytes", AVS_SPEC_MAX);
		return -EINVAL;
	}
	ret = check_items((const char *)p, len, &c, err, errlen);
	if (ret)
		return ret;
	s->buf = malloc(len);
	s->argv = calloc(c.nargs + 1, sizeof(*s->argv));
	s->env = calloc(c.nenv + 1, sizeof(*s->env));
	s->setup = calloc(c.nsetup + 1, sizeof(*s->setup));
	if (!s->buf || !s->argv || !s->env || !s->setup) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memcpy(s->buf, p, len);
	while (off < len) {
		char *item = s->buf + off;

		off += strlen(item) + 1; /* before parse_*() split (item) in place */
		ret = take_item(s, item, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

void gi_spec_fini(struct gi_spec *s)
{
	free(s->buf);
	free(s->argv);
	free(s->env);
	free(s->setup);
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
