// SPDX-License-Identifier: MIT
/* moddep.c: modules.dep / modules.builtin parsing and dependency-ordered module resolution. */
#include "guest-init/mkinitramfs/moddep.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest-init/mkinitramfs/util.h"

#define MD_NO_ENTRY SIZE_MAX

/* A sortable (key, entry index) pair for name and path look-ups. */
struct md_key {
	const char *key;
	size_t idx;
};

struct md_entry {
	char *path;		/* into md_text */
	char *name;		/* malloc'd, normalised */
	size_t first_dep;	/* range in md_dep_paths / md_dep_idx */
	size_t ndeps;
};

struct gi_moddep {
	char *md_text;			/* modules.dep copy, NUL-split in place */
	struct md_entry *md_ent;
	size_t md_nent, md_cap;
	char **md_dep_paths;		/* every line's dependencies, in order */
	size_t *md_dep_idx;		/* the same, as entry indices (MD_NO_ENTRY: no line) */
	size_t md_ndep, md_dep_cap;
	struct md_key *md_by_name, *md_by_path, *md_builtin;
	size_t md_nbuiltin;
};

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

static int key_cmp(const void *a, const void *b)
{
	const struct md_key *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The first entry index whose key equals (key), or MD_NO_ENTRY. */
static size_t key_find(const struct md_key *keys, size_t n, const char *key)
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(keys[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && strcmp(keys[lo].key, key) == 0 ? keys[lo].idx : MD_NO_ENTRY;
}

static bool path_ok(const char *p)
{
	const char *s;

	if (!*p || *p == '/' || !strstr(p, ".ko"))
		return false;
	for (s = p; (s = strstr(s, "..")) != NULL; s += 2)
		if ((s == p || s[-1] == '/') && (s[2] == '/' || s[2] == '\0'))
			return false;
	return true;
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 64;
	void *p;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static char *next_token(char **s)
{
	char *t = *s + strspn(*s, " \t\r");
	char *e;

	if (!*t)
		return NULL;
	e = t + strcspn(t, " \t\r");
	if (*e)
		*e++ = '\0';
	*s = e;
	return t;
}

/* One "PATH: DEP ..." line (NUL-terminated, modified in place). */
static int parse_line(struct gi_moddep *md, char *line, size_t lineno, char *err, size_t errlen)
{
	char name[GI_MODNAME_MAX], *colon, *path, *tok, *rest;
	struct md_entry *e;

	colon = strchr(line, ':');
	if (!colon) {
		snprintf(err, errlen, "modules.dep line %zu: no ':'", lineno);
		return -EINVAL;
	}
	*colon = '\0';
	rest = line;
	path = next_token(&rest);
	if (!path || next_token(&rest) || !path_ok(path) || gi_modname(path, name, sizeof(name))) {
		snprintf(err, errlen, "modules.dep line %zu: bad module path", lineno);
		return -EINVAL;
	}
	if (grow((void **)&md->md_ent, &md->md_cap, md->md_nent + 1, sizeof(*md->md_ent)))
		return -ENOMEM;
	e = &md->md_ent[md->md_nent];
	e->path = path;
	e->name = strdup(name);
	if (!e->name)
		return -ENOMEM;
	e->first_dep = md->md_ndep;
	e->ndeps = 0;
	md->md_nent++;
	rest = colon + 1;
	while ((tok = next_token(&rest)) != NULL) {
		if (!path_ok(tok)) {
			snprintf(err, errlen, "modules.dep line %zu: bad dependency path", lineno);
			return -EINVAL;
		}
		if (grow((void **)&md->md_dep_paths, &md->md_dep_cap, md->md_ndep + 1,
			 sizeof(*md->md_dep_paths)))
			return -ENOMEM;
		md->md_dep_paths[md->md_ndep++] = tok;
		e->ndeps++;
	}
	return 0;
}

/* Sorted look-up tables and dependency indices, once every line is in. */
static int index_entries(struct gi_moddep *md)
{
	size_t i, n = md->md_nent ? md->md_nent : 1;

	md->md_by_name = calloc(n, sizeof(*md->md_by_name));
	md->md_by_path = calloc(n, sizeof(*md->md_by_path));
	md->md_dep_idx = calloc(md->md_ndep ? md->md_ndep : 1, sizeof(*md->md_dep_idx));
	if (!md->md_by_name || !md->md_by_path || !md->md_dep_idx)
		return -ENOMEM;
	for (i = 0; i < md->md_nent; i++) {
		md->md_by_name[i] = (struct md_key){ md->md_ent[i].name, i };
		md->md_by_path[i] = (struct md_key){ md->md_ent[i].path, i };
	}
	qsort(md->md_by_name, md->md_nent, sizeof(struct md_key), key_cmp);
	qsort(md->md_by_path, md->md_nent, sizeof(struct md_key), key_cmp);
	for (i = 0; i < md->md_ndep; i++)
		md->md_dep_idx[i] = key_find(md->md_by_path, md->md_nent, md->md_dep_paths[i]);
	return 0;
}

/* modules.builtin: one path per line; keep the normalised names, sorted. */
static int parse_builtin(struct gi_moddep *md, const char *text, size_t len)
{
	char name[GI_MODNAME_MAX], line[1024];
	size_t cap = 0, i = 0, n;

	while (i < len) {
		n = 0;
		while (i < len && text[i] != '\n') {
			if (n < sizeof(line) - 1)
				line[n++] = text[i];
			i++;
		}
		i++;
		line[n] = '\0';
		line[strcspn(line, " \t\r")] = '\0';
		if (gi_modname(line, name, sizeof(name)))
			continue;
		if (grow((void **)&md->md_builtin, &cap, md->md_nbuiltin + 1,
			 sizeof(*md->md_builtin)))
			return -ENOMEM;
		md->md_builtin[md->md_nbuiltin].idx = md->md_nbuiltin;
		md->md_builtin[md->md_nbuiltin].key = strdup(name);
		if (!md->md_builtin[md->md_nbuiltin].key)
			return -ENOMEM;
		md->md_nbuiltin++;
	}
	if (md->md_nbuiltin)
		qsort(md->md_builtin, md->md_nbuiltin, sizeof(struct md_key), key_cmp);
	return 0;
}

int gi_moddep_parse(const char *dep, size_t dep_len, const char *builtin, size_t builtin_len,
		    struct gi_moddep **out, char *err, size_t errlen)
{
	struct gi_moddep *md;
	char *line, *nl;
	size_t lineno = 0;
	int ret = -ENOMEM;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	md = calloc(1, sizeof(*md));
	if (!md || !(md->md_text = malloc(dep_len + 1)))
		goto err_free;
	memcpy(md->md_text, dep, dep_len);
	md->md_text[dep_len] = '\0';
	/* an embedded NUL ends the text, as it would for any C tool */
	for (line = md->md_text; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		lineno++;
		if (line[strspn(line, " \t\r")] == '\0')
			continue;
		ret = parse_line(md, line, lineno, err, errlen);
		if (ret)
			goto err_free;
	}
	ret = index_entries(md);
	if (!ret && builtin)
		ret = parse_builtin(md, builtin, builtin_len);
	if (ret)
		goto err_free;
	*out = md;
	return 0;

err_free:
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	gi_moddep_free(md);
	return ret;
}

int gi_moddep_load(const char *modules_dir, struct gi_moddep **out, char *err, size_t errlen)
{
	char path[4096], *dep, *builtin = NULL;
	size_t dep_len, builtin_len = 0;
	int ret;

	*out = NULL;
	snprintf(path, sizeof(path), "%s/modules.dep", modules_dir);
	ret = gi_read_file(path, GI_MODDEP_MAX_FILE, &dep, &dep_len);
	if (ret) {
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	snprintf(path, sizeof(path), "%s/modules.builtin", modules_dir);
	if (gi_read_file(path, GI_MODDEP_MAX_FILE, &builtin, &builtin_len))
		builtin = NULL;
	ret = gi_moddep_parse(dep, dep_len, builtin, builtin_len, out, err, errlen);
	free(builtin);
	free(dep);
	return ret;
}

void gi_moddep_free(struct gi_moddep *md)
{
	size_t i;

	if (!md)
		return;
	for (i = 0; i < md->md_nent; i++)
		free(md->md_ent[i].name);
	for (i = 0; i < md->md_nbuiltin; i++)
		free((void *)(uintptr_t)md->md_builtin[i].key);
	free(md->md_builtin);
	free(md->md_by_name);
	free(md->md_by_path);
	free(md->md_dep_idx);
	free(md->md_dep_paths);
	free(md->md_ent);
	free(md->md_text);
	free(md);
}

enum { MD_NEW, MD_ACTIVE, MD_DONE };

struct md_walk {
	const struct gi_moddep *md;
	unsigned char *state;
	const char **out;
	size_t n;
	char *err;
	size_t errlen;
};

/* Depth-first, dependencies last to first (kmod's order), then (idx) itself. */
static int visit(struct md_walk *w, size_t idx, unsigned int depth)
{
	const struct md_entry *e = &w->md->md_ent[idx];
	size_t j, d;
	int ret;

	if (w->state[idx] == MD_DONE)
		return 0;
	if (w->state[idx] == MD_ACTIVE || depth > GI_MODDEP_MAX_DEPTH) {
		snprintf(w->err, w->errlen, "module %s: dependency %s", e->name,
			 w->state[idx] == MD_ACTIVE ? "cycle" : "chain too deep");
		return -ELOOP;
	}
	w->state[idx] = MD_ACTIVE;
	for (j = e->ndeps; j > 0; j--) {
		d = w->md->md_dep_idx[e->first_dep + j - 1];
		if (d == MD_NO_ENTRY) {
			snprintf(w->err, w->errlen, "module %s needs %s, which modules.dep does not list",
				 e->name, w->md->md_dep_paths[e->first_dep + j - 1]);
			return -ENOENT;
		}
		ret = visit(w, d, depth + 1);
		if (ret)
			return ret;
	}
	w->state[idx] = MD_DONE;
	w->out[w->n++] = e->path;
	return 0;
}

int gi_moddep_resolve(const struct gi_moddep *md, const char *const *names, const char ***paths,
		      size_t *n, char *err, size_t errlen)
{
	struct md_walk w = { .md = md, .err = err, .errlen = errlen };
	char name[GI_MODNAME_MAX];
	size_t idx;
	int ret = -ENOMEM;

	*paths = NULL;
	*n = 0;
	w.state = calloc(md->md_nent + 1, 1);
	w.out = calloc(md->md_nent + 1, sizeof(*w.out));
	if (!w.state || !w.out) {
		snprintf(err, errlen, "out of memory");
		goto err_free;
	}
	for (; names && *names; names++) {
		ret = -EINVAL;
		if (gi_modname(*names, name, sizeof(name))) {
			snprintf(err, errlen, "bad module name '%.64s'", *names);
			goto err_free;
		}
		idx = key_find(md->md_by_name, md->md_nent, name);
		if (idx == MD_NO_ENTRY) {
			if (key_find(md->md_builtin, md->md_nbuiltin, name) != MD_NO_ENTRY)
				continue;
			snprintf(err, errlen, "unknown module %s (not in modules.dep or modules.builtin)",
				 name);
			ret = -ENOENT;
			goto err_free;
		}
		ret = visit(&w, idx, 0);
		if (ret)
			goto err_free;
	}
	free(w.state);
	*paths = w.out;
	*n = w.n;
	return 0;

err_free:
	free(w.state);
	free(w.out);
	return ret;
}
