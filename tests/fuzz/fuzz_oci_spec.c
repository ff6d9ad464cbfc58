// SPDX-License-Identifier: MIT
/*
 * fuzz_oci_spec.c: oci_spec_parse() and oci_spec_setup_items() (oci/spec.h)
 * on an OCI config.json. Byte 0 picks where the rest goes: the whole
 * document, or spliced into a valid spec as process or linux members,
 * top-level members, or the mounts array (relative or absolute root); in
 * the rest a byte 0x01..0x1f (not JSON white space) stands for a spec
 * fragment, so most inputs are mostly valid specs. Invariants: parse
 * returns 0, -EINVAL or -ENOMEM, an error is one non-empty printable line
 * and leaves the spec zeroed; a success is in range (counts, paths, NAME=,
 * the r: syntax) and its items follow the wire syntax of spec.h, with every
 * mount an M: item (a host bind one from its staging place); parsing twice gives the same;
 * LeakSanitizer checks the frees.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "oci/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ERR_LEN 256
#define MAX_TEXT (1 << 20)

static const char *const frags[32] = {
	[0x01] = "\"destination\":\"/dev\"",
	[0x02] = "\"type\":\"tmpfs\"",
	[0x03] = "\"type\":\"bind\"",
	[0x04] = "\"source\":\"/b/rootfs/x\"",
	[0x05] = "\"source\":\"rootfs/y\"",
	[0x06] = "\"source\":\"/host\"",
	[0x07] = "\"options\":[\"rbind\",\"ro\",\"nosuid\",\"mode=755\",\"rprivate\"]",
	[0x08] = "{\"destination\":\"/x\",\"type\":\"proc\"}",
	[0x0b] = "\"capabilities\":{\"bounding\":[\"CAP_KILL\",\"CAP_SYS_ADMIN\"]}",
	[0x0c] = "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1024,\"hard\":1024}]",
	[0x0e] = "\"namespaces\":[{\"type\":\"network\",\"path\":\"/n\"},{\"type\":\"pid\"}]",
	[0x0f] = "\"resources\":{\"memory\":{\"limit\":1048576,\"swap\":1},\"cpu\":{\"quota\":1}}",
	[0x10] = "\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"}",
	[0x11] = "\"hooks\":{\"prestart\":[{\"path\":\"/h\",\"args\":[\"h\"],\"timeout\":5}]}",
	[0x12] = "\"annotations\":{\"a\":\"b\"}",
	[0x13] = "\"user\":{\"uid\":1,\"gid\":2,\"additionalGids\":[3],\"umask\":18}",
	[0x14] = "\"env\":[\"A=1\"]",
	[0x15] = "\"maskedPaths\":[\"/proc/kcore\"]",
	[0x16] = "\"readonlyPaths\":[\"/proc/sys\"]",
	[0x17] = "\"seccomp\":{}",
	[0x18] = "\"devices\":[]",
	[0x19] = "\"uidMappings\":[]",
	[0x1a] = "18446744073709551615",
	[0x1b] = "\"options\":[\"cgroup\",\"rro\",\"strictatime\",\"size=1k\"]",
	[0x1c] = "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"options\":[\"nosuid\"]}",
	[0x1d] = "{\"destination\":\"/d\",\"type\":\"bind\",\"source\":\"/b/rootfs/d\"}",
	[0x1e] = "\"type\":\"cgroup\"",
	[0x1f] = "\"consoleSize\":{\"height\":24,\"width\":80},\"terminal\":true",
};

/* (prefix, suffix) around the spliced input; index 0 is the raw document */
static const char *const slots[][2] = {
	{ "", "" },
	{ "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
	  "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",",
	  "}}" },
	{ "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"/b/rootfs\"},"
	  "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},\"linux\":{",
	  "}}" },
	{ "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
	  "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},",
	  "}" },
	{ "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
	  "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},\"linux\":{\"sysctl\":{\"a.b\":\"1\"},"
	  "\"maskedPaths\":[\"/m\"],\"readonlyPaths\":[\"/r\"]},\"mounts\":[",
	  "]}" },
	{ "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"/b/rootfs/\"},"
	  "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},\"mounts\":[",
	  "]}" },
};

/* The text to parse, in an exact-size buffer (no NUL: ASan sees a read past the end). */
static char *build(const uint8_t *data, size_t size, size_t *len)
{
	const char *const *slot = slots[size ? data[0] % 6 : 0];
	size_t pl = strlen(slot[0]), sl = strlen(slot[1]), n = pl;
	char *text;

	for (size_t i = 1; i < size; i++)
		n += data[i] < 0x20 && frags[data[i]] ? strlen(frags[data[i]]) : 1;
	n += sl;
	text = malloc(n ? n : 1);
	if (!text || n > MAX_TEXT) {
		free(text);
		return NULL;
	}
	memcpy(text, slot[0], pl);
	*len = pl;
	for (size_t i = 1; i < size; i++) {
		const char *f = data[i] < 0x20 ? frags[data[i]] : NULL;

		if (f) {
			memcpy(text + *len, f, strlen(f));
			*len += strlen(f);
		} else {
			text[(*len)++] = (char)data[i];
		}
	}
	memcpy(text + *len, slot[1], sl);
	*len += sl;
	return text;
}

static void check_strv(char **v, int n, int max, char must_start, bool need_eq)
{
	if (n < 0 || n > max || (n && !v) || (v && v[n]))
		abort();
	for (int i = 0; i < n; i++) {
		size_t len = v[i] ? strnlen(v[i], OCI_MAX_STRING + 1) : 0;
		const char *eq = v[i] ? strchr(v[i], '=') : NULL;

		if (!v[i] || (must_start && v[i][0] != must_start) ||
		    (need_eq && (!eq || eq == v[i])))
			abort();
		if (len > (need_eq ? 2 * OCI_MAX_STRING + 1 : OCI_MAX_STRING))
			abort();
	}
}

static bool has_dotdot(const char *p)
{
	for (const char *q = p; (q = strstr(q, "..")); q += 2)
		if ((q == p || q[-1] == '/') && (q[2] == '/' || !q[2]))
			return true;
	return false;
}

static void check_spec(const struct oci_spec *s)
{
	if (!s->oci_version || strncmp(s->oci_version, "1.", 2) || !s->root_path ||
	    !s->root_path[0] || !s->cwd || s->cwd[0] != '/' || s->nargs < 1)
		abort();
	check_strv(s->args, s->nargs, OCI_MAX_ARGS, 0, false);
	check_strv(s->env, s->nenv, OCI_MAX_ENV, 0, true);
	check_strv(s->masked, s->nmasked, OCI_MAX_PATHS, '/', false);
	check_strv(s->readonly, s->nreadonly, OCI_MAX_PATHS, '/', false);
	check_strv(s->sysctl, s->nsysctl, OCI_MAX_SYSCTL, 0, true);
	check_strv(s->annotations, s->nannotations, OCI_MAX_ANNOTATIONS, 0, true);
	check_strv(s->rlimits, s->nrlimits, OCI_MAX_RLIMITS, 0, false);
	check_strv(s->ignored, s->nignored, OCI_MAX_IGNORED, 0, false);
	for (int i = 0; i < s->nrlimits; i++) {
		const char *c1 = strchr(s->rlimits[i], ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2 || strchr(c2 + 1, ':') || c1 == s->rlimits[i])
			abort();
	}
	if (s->ngroups < 0 || s->ngroups > OCI_MAX_GROUPS || (s->umask < -1 || s->umask > 0777) ||
	    (s->has_oom_score_adj && (s->oom_score_adj < -1000 || s->oom_score_adj > 1000)))
		abort();
	if ((s->hostname && strlen(s->hostname) > 64) || s->console_rows > 65535 ||
	    s->console_cols > 65535 || (s->mem_limit != -1 && s->mem_limit <= 0) ||
	    (s->cpu_quota != -1 && s->cpu_quota <= 0) || (s->new_netns && s->netns_path) ||
	    (s->netns_path && s->netns_path[0] != '/'))
		abort();
	if (s->hostname && s->hostname[strspn(s->hostname, "abcdefghijklmnopqrstuvwxyz"
							  "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
							  "0123456789-.")])
		abort();
	if ((s->cap_effective & ~s->cap_permitted) || (s->cap_inheritable & ~s->cap_bounding) ||
	    (s->cap_ambient & ~(s->cap_permitted & s->cap_inheritable)) ||
	    ((s->cap_bounding | s->cap_effective | s->cap_permitted) >> 41))
		abort();
	if (s->nmounts < 0 || s->nmounts > OCI_MAX_MOUNTS || (s->nmounts && !s->mounts))
		abort();
	for (int i = 0; i < s->nmounts; i++) {
		const struct oci_mount *m = &s->mounts[i];

		if (!m->dest || m->dest[0] != '/' || has_dotdot(m->dest))
			abort();
		check_strv(m->options, m->nopts, OCI_MAX_MOUNT_OPTS, 0, false);
	}
	for (int k = 0; k < OCI_HOOK_KINDS; k++) {
		if (s->nhooks[k] < 0 || s->nhooks[k] > OCI_MAX_HOOKS)
			abort();
		for (int i = 0; i < s->nhooks[k]; i++) {
			const struct oci_hook *h = &s->hooks[k][i];

			if (!h->path || h->path[0] != '/' || h->timeout < 0)
				abort();
			check_strv(h->args, h->nargs, OCI_MAX_ARGS, 0, false);
			check_strv(h->env, h->nenv, OCI_MAX_ENV, 0, true);
		}
	}
}

static bool is_bind(const struct oci_mount *m)
{
	if (m->type && !strcmp(m->type, "bind"))
		return true;
	for (int i = 0; i < m->nopts; i++)
		if (!strcmp(m->options[i], "bind") || !strcmp(m->options[i], "rbind"))
			return true;
	return false;
}

/* "M:TYPE:FLAGS:DATA:DST" */
static void check_mount_item(const char *it)
{
	static const char *const types[] = { "proc",   "sysfs",   "tmpfs", "devpts",
					     "mqueue", "cgroup2", "bind" };
	const unsigned long ok = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME |
				 MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME | MS_SYNCHRONOUS |
				 MS_REC;
	const char *t = it + 2, *f = strchr(t, ':'), *d = f ? strchr(f + 1, ':') : NULL;
	const char *dst = d ? strchr(d + 1, ':') : NULL;
	unsigned long flags;
	bool known = false;
	char *end;

	if (!dst || dst[1] != '/' || dst == d + 1)
		abort();
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		known |= strlen(types[i]) == (size_t)(f - t) &&
			 !memcmp(types[i], t, (size_t)(f - t));
	flags = strtoul(f + 1, &end, 16);
	if (!known || end != d || end == f + 1 || (flags & ~ok))
		abort();
	if (!memcmp(t, "bind:", 5) && d[1] != '/')
		abort();
}

/* guest-init's s: key: [A-Za-z0-9_.-], not starting or ending in '.', no ".." */
static void check_sysctl_item(const char *kv)
{
	const char *eq = strchr(kv, '=');

	if (!eq || eq == kv || kv[0] == '.' || eq[-1] == '.')
		abort();
	for (const char *p = kv; p < eq; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
		      (*p == '.' && p[1] != '.')))
			abort();
}

static void check_items(const struct oci_spec *s, char **items, int n, const int *binds, int nb)
{
	static const char order[] = "sMDPOY";
	int nm = 0, rank = 0, nd = 0;

	if (!items || items[n] || !binds || nb < 0 || nb > s->nmounts)
		abort();
	for (int i = 0; i < nb; i++)
		if (binds[i] < 0 || binds[i] >= s->nmounts || (i && binds[i] <= binds[i - 1]) ||
		    !is_bind(&s->mounts[binds[i]]))
			abort();
	for (int i = 0; i < n; i++) {
		const char *it = items[i];

		if (!it || strlen(it) + 1 > 256 * 1024 || strlen(it) < 3 || it[1] != ':' ||
		    !strchr(order, it[0]))
			abort();
		/* guest-init's order, and D: and Y: once */
		if ((int)(strchr(order, it[0]) - order) < rank)
			abort();
		rank = (int)(strchr(order, it[0]) - order);
		nd += it[0] == 'D';
		switch (it[0]) {
		case 'M':
			check_mount_item(it);
			nm++;
			break;
		case 'D':
		case 'Y':
			if (strcmp(it + 2, "1") || (it[0] == 'Y' && i != n - 1))
				abort();
			break;
		case 's':
			check_sysctl_item(it + 2);
			break;
		case 'O':
		case 'P':
			if (it[2] != '/')
				abort();
			break;
		default:
			abort();
		}
	}
	if (nm != s->nmounts || nd > 1)
		abort(); /* every mount is an item (host binds from their staging place) */
}

static void check_err(const char *err)
{
	size_t len = strnlen(err, ERR_LEN);

	if (len == 0 || len == ERR_LEN)
		abort();
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)err[i] < 0x20 || err[i] == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct oci_spec zero;
	struct oci_spec s, s2;
	char err[ERR_LEN], err2[ERR_LEN], **items;
	size_t len;
	char *text = size <= 65536 ? build(data, size, &len) : NULL;
	int r, r2, n, nb, *binds;

	if (!text)
		return 0;
	memset(err, 'X', sizeof(err));
	r = oci_spec_parse(text, len, &s, err, sizeof(err));
	r2 = oci_spec_parse(text, len, &s2, err2, sizeof(err2));
	free(text);
	if (r2 != r || (r && strcmp(err, err2)))
		abort();
	oci_spec_free(&s2);
	if (r) {
		if ((r != -EINVAL && r != -ENOMEM) || memcmp(&s, &zero, sizeof(s)))
			abort();
		check_err(err);
		return 0;
	}
	check_spec(&s);
	memset(err, 'X', sizeof(err));
	r = oci_spec_setup_items(&s, &items, &n, &binds, &nb, err, sizeof(err));
	if (r == 0) {
		check_items(&s, items, n, binds, nb);
	} else {
		if ((r != -EINVAL && r != -ENOMEM) || items || binds || n || nb)
			abort();
		check_err(err);
	}
	oci_items_free(items);
	free(binds);
	oci_spec_free(&s);
	return 0;
}
