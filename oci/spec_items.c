// SPDX-License-Identifier: MIT
/*
 * spec_items.c: a parsed config.json's mounts, sysctls, masked and read-only
 * paths and read-only root as guest-init set-up items, and the bind mounts
 * the runtime makes on the host (oci_spec_setup_items in spec.h).
 */
#include "oci/spec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "oci/jwalk.h"

#define OCI_MAX_ITEM (256 * 1024) /* guest-init's AVS_ITEM_MAX: one item, "K:" and NUL included */

/* Mount options that are flags of the M: item: (set) or (clear) them. */
static const struct {
	const char *name;
	unsigned long set, clear;
} mount_flags[] = {
	{ "ro", MS_RDONLY, 0 },               { "rw", 0, MS_RDONLY },
	{ "nosuid", MS_NOSUID, 0 },           { "suid", 0, MS_NOSUID },
	{ "nodev", MS_NODEV, 0 },             { "dev", 0, MS_NODEV },
	{ "noexec", MS_NOEXEC, 0 },           { "exec", 0, MS_NOEXEC },
	{ "sync", MS_SYNCHRONOUS, 0 },        { "async", 0, MS_SYNCHRONOUS },
	{ "noatime", MS_NOATIME, 0 },         { "atime", 0, MS_NOATIME },
	{ "nodiratime", MS_NODIRATIME, 0 },   { "diratime", 0, MS_NODIRATIME },
	{ "relatime", MS_RELATIME, 0 },       { "norelatime", 0, MS_RELATIME },
	{ "strictatime", MS_STRICTATIME, 0 }, { "nostrictatime", 0, MS_STRICTATIME },
	{ "bind", 0, 0 },                     { "rbind", MS_REC, 0 },
};

/* Options accepted and dropped (the list at the top of spec.c). */
static const char *const mount_ignored[] = {
	"private",    "rprivate",    "shared",    "rshared",  "slave",    "rslave",
	"unbindable", "runbindable", "defaults",  "remount",  "mand",     "nomand",
	"dirsync",    "lazytime",    "nolazytime", "silent",  "loud",     "iversion",
	"noiversion", "nosymfollow", "symfollow", "tmpcopyup",
};

static const char *const mount_types[] = { "proc",   "sysfs",  "tmpfs",
					   "devpts", "mqueue", "cgroup2" };

static int flag_index(const char *o)
{
	for (size_t i = 0; i < ARRAY_SIZE(mount_flags); i++)
		if (!strcmp(o, mount_flags[i].name))
			return (int)i;
	return -1;
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, list[i]))
			return true;
	return false;
}

/* Whether path (p) has a "." or ".." component. */
static bool has_dot_component(const char *p)
{
	while (*p) {
		size_t n = strcspn(p, "/");

		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return true;
		p += n + (p[n] == '/');
	}
	return false;
}

/*
 * The path of bind source (src) inside the container when it lies lexically
 * inside (root) (spec.h), else NULL: a host bind. A "." or ".." component,
 * or a ':' (DATA cannot hold one), also leaves it to the host.
 */
static const char *bind_inside(const char *root, const char *src)
{
	size_t rl = strlen(root);
	const char *rest;

	while (rl > 0 && root[rl - 1] == '/')
		rl--;
	if ((root[0] == '/') != (src[0] == '/') || strncmp(src, root, rl) ||
	    (src[rl] && src[rl] != '/'))
		return NULL;
	rest = src + rl;
	if (has_dot_component(rest) || strchr(rest, ':'))
		return NULL;
	return rest[0] ? rest : "/";
}

/* (dst) is /dev, give or take trailing slashes */
static bool is_dev(const char *dst)
{
	size_t n = strlen(dst);

	while (n > 1 && dst[n - 1] == '/')
		n--;
	return n == 4 && !memcmp(dst, "/dev", 4);
}

/*
 * The flags of mount (m)'s options into (*flags), the other options
 * comma-joined into (data) (OCI_MAX_ITEM bytes; (*dl) long) when
 * (keep_data); (*bind) set by a bind or rbind option.
 */
static int mount_options(struct jw *w, const struct oci_mount *m, bool keep_data,
			 unsigned long *flags, bool *bind, char *data, size_t *dl)
{
	for (int k = 0; k < m->nopts; k++) {
		const char *o = m->options[k];
		int f = flag_index(o);

		if (f < 0 && o[0] == 'r')
			f = flag_index(o + 1); /* rro, rnosuid, ...: the plain flag */
		if (!strcmp(o, "idmap") || !strcmp(o, "ridmap"))
			return jw_fail(w, "idmapped mounts are not supported in a VM");
		if (f >= 0) {
			*flags = (*flags | mount_flags[f].set) & ~mount_flags[f].clear;
			*bind |= !strcmp(o, "bind") || !strcmp(o, "rbind");
			continue;
		}
		if (!o[0] || !keep_data || in_list(o, mount_ignored, ARRAY_SIZE(mount_ignored)))
			continue;
		if (strchr(o, ':'))
			return jw_fail(w, "mount option \"%.64s\" holds ':'", o);
		if (*dl + strlen(o) + 2 > OCI_MAX_ITEM)
			return jw_fail(w, "mount options longer than %d bytes", OCI_MAX_ITEM);
		*dl += (size_t)sprintf(data + *dl, "%s%s", *dl ? "," : "", o);
	}
	return 0;
}

/*
 * The M: item of mount (m) of a spec whose root is (root), or none with
 * (*host) set for a host bind; (*dev_tmpfs) set for a tmpfs at /dev.
 * (data) is scratch of OCI_MAX_ITEM bytes.
 */
static int mount_item(struct jw *w, const char *root, const struct oci_mount *m, int index,
		      char **item, bool *host, bool *dev_tmpfs, char *data)
{
	const char *type = m->type ? m->type : "";
	bool bind = !strcmp(type, "bind"), v1 = !strcmp(type, "cgroup");
	unsigned long flags = 0;
	size_t dl = 0, need;
	/* cgroup v1 options name v1 controllers: cgroup2 takes none of them */
	int r = mount_options(w, m, !v1, &flags, &bind, data, &dl);

	if (r)
		return r;
	if (bind) {
		const char *in;

		if (!m->source)
			return jw_fail(w, "a bind mount needs a source");
		in = bind_inside(root, m->source);
		*host = !in;
		type = "bind";
		if (in) {
			dl = strlen(in);
			memcpy(data, in, dl);
		} else {
			/* the runtime binds the host path at its staging place first */
			dl = (size_t)snprintf(data, OCI_MAX_ITEM, "%s/%d", OCI_STAGE_DIR, index);
		}
	} else if (v1) {
		type = "cgroup2";
	} else if (!in_list(type, mount_types, ARRAY_SIZE(mount_types))) {
		return jw_fail(w, "mount type \"%.32s\" is not supported", type);
	}
	if (!dl)
		data[dl++] = '-';
	data[dl] = '\0';
	*dev_tmpfs = !strcmp(type, "tmpfs") && is_dev(m->dest);
	need = 2 + strlen(type) + 1 + 16 + 1 + dl + 1 + strlen(m->dest) + 1;
	if (need > OCI_MAX_ITEM)
		return jw_fail(w, "mount item longer than %d bytes", OCI_MAX_ITEM);
	*item = malloc(need);
	if (!*item)
		return jw_nomem(w);
	snprintf(*item, need, "M:%s:%lx:%s:%s", type, flags, data, m->dest);
	return 0;
}

/* Append "(k)(v)" to (items) at (*n). */
static int add_item(struct jw *w, char **items, int *n, const char *k, const char *v)
{
	size_t len = strlen(k) + strlen(v) + 1;

	items[*n] = malloc(len);
	if (!items[*n])
		return jw_nomem(w);
	snprintf(items[*n], len, "%s%s", k, v);
	(*n)++;
	return 0;
}

/* The M: items and host binds of every mount; (*dev) set when one is a tmpfs at /dev. */
static int mount_items(struct jw *w, const struct oci_spec *s, char **items, int *n, int *binds,
		       int *nb, bool *dev)
{
	char *data = malloc(OCI_MAX_ITEM);
	int r = data ? 0 : jw_nomem(w);

	for (int i = 0; !r && i < s->nmounts; i++) {
		size_t old = jw_push(w, "mounts[%d] (%.64s)", i, s->mounts[i].dest);
		bool host = false, tmpfs_dev = false;

		r = mount_item(w, s->root_path, &s->mounts[i], i, &items[*n], &host, &tmpfs_dev,
			       data);
		jw_pop(w, old);
		if (r)
			break;
		if (host)
			binds[(*nb)++] = i;
		(*n)++;
		*dev |= tmpfs_dev;
	}
	free(data);
	return r;
}

int oci_spec_setup_items(const struct oci_spec *s, char ***items, int *nitems, int **host_binds,
			 int *nbinds, char *err, size_t errlen)
{
	struct jw w = { .err = err, .errlen = errlen, .doc = "config.json" };
	/* an M: per mount, the others, "D:1", the staging P:, "Y:1" and the NULL */
	size_t max = (size_t)s->nmounts + (size_t)s->nsysctl + (size_t)s->nmasked +
		     (size_t)s->nreadonly + 4;
	char **it = calloc(max, sizeof(*it));
	int *binds = calloc((size_t)s->nmounts + 1, sizeof(*binds));
	int n = 0, nb = 0, r = it && binds ? 0 : jw_nomem(&w);
	bool dev = false;

	*items = NULL;
	*host_binds = NULL;
	*nitems = *nbinds = 0;
	if (!r && errlen)
		err[0] = '\0';
	/* guest-init's order (session_proto.h), which is also the order it applies them in */
	for (int i = 0; !r && i < s->nsysctl; i++)
		r = add_item(&w, it, &n, "s:", s->sysctl[i]);
	if (!r)
		r = mount_items(&w, s, it, &n, binds, &nb, &dev);
	if (!r && dev) /* once: D: is a single key */
		r = add_item(&w, it, &n, "D:", "1");
	if (!r && nb) /* the staged host binds are in place: their staging place is hidden */
		r = add_item(&w, it, &n, "P:", OCI_STAGE_DIR);
	for (int i = 0; !r && i < s->nmasked; i++)
		r = add_item(&w, it, &n, "P:", s->masked[i]);
	for (int i = 0; !r && i < s->nreadonly; i++)
		r = add_item(&w, it, &n, "O:", s->readonly[i]);
	if (!r && s->root_readonly)
		r = add_item(&w, it, &n, "Y:", "1");
	if (r) {
		oci_items_free(it);
		free(binds);
		jw_printable(err, errlen);
		return r;
	}
	*items = it;
	*nitems = n;
	*host_binds = binds;
	*nbinds = nb;
	return 0;
}

void oci_items_free(char **items)
{
	for (char **p = items; p && *p; p++)
		free(*p);
	free(items);
}
