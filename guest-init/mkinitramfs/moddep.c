// SPDX-License-Identifier: MIT
/*
 * moddep.c: modules.dep / modules.builtin / modules.softdep parsing and
 * dependency-ordered module resolution (trees without modules.dep: modscan.c).
 */
#include "guest-init/mkinitramfs/moddep.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest-init/mkinitramfs/moddep_impl.h"
#include "guest-init/mkinitramfs/modinfo.h"
#include "guest-init/mkinitramfs/util.h"

/*
 * Softdep names that are aliases, not module names, for the modules agentvmm
 * loads (normalised: '-' read as '_'). ext4 and jbd2 say "softdep pre:
 * crypto-crc32c" (fs/ext4/super.c, fs/jbd2/journal.c; "crc32c" before Linux
 * 4.x): ext4 needs the crc32c algorithm to mount a metadata_csum filesystem,
 * which mkfs.ext4 makes by default. crc32c_generic (crypto/crc32c_generic.c)
 * provides it on every CPU; crc32c-intel serves the same alias faster but only
 * with SSE4.2, so it is not the one to rely on. Built in on Debian's cloud
 * kernel (then skipped), a module on the generic one.
 */
static const struct {
	const char *alias, *module;
} md_soft_aliases[] = {
	{ "crypto_crc32c", "crc32c_generic" },
	{ "crc32c", "crc32c_generic" },
};

static int key_cmp(const void *a, const void *b)
{
	const struct md_key *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

size_t gi_md_key_find(const struct md_key *keys, size_t n, const char *key)
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

int gi_md_grow(void **arr, size_t *cap, size_t need, size_t elem)
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

int gi_md_add_dep(struct gi_moddep *md, const char *path, size_t idx)
{
	size_t cap = md->md_dep_cap;
	void *p;

	if (gi_md_grow((void **)&md->md_dep_paths, &cap, md->md_ndep + 1,
		       sizeof(*md->md_dep_paths)))
		return -ENOMEM;
	if (cap != md->md_dep_cap) {
		p = realloc(md->md_dep_idx, cap * sizeof(*md->md_dep_idx));
		if (!p)
			return -ENOMEM; /* md_dep_cap unchanged: the next call grows both again */
		md->md_dep_idx = p;
		md->md_dep_cap = cap;
	}
	md->md_dep_paths[md->md_ndep] = path;
	md->md_dep_idx[md->md_ndep++] = idx;
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
	if (gi_md_grow((void **)&md->md_ent, &md->md_cap, md->md_nent + 1, sizeof(*md->md_ent)))
		return -ENOMEM;
	e = &md->md_ent[md->md_nent];
	memset(e, 0, sizeof(*e));
	e->path = path;
	e->known = true;
	e->name = strdup(name);
	if (!e->name)
		return -ENOMEM;
	e->first_dep = md->md_ndep;
	md->md_nent++;
	rest = colon + 1;
	while ((tok = next_token(&rest)) != NULL) {
		if (!path_ok(tok)) {
			snprintf(err, errlen, "modules.dep line %zu: bad dependency path", lineno);
			return -EINVAL;
		}
		/* the index is filled in by gi_md_index(), once every line is in */
		if (gi_md_add_dep(md, tok, MD_NO_ENTRY))
			return -ENOMEM;
		e->ndeps++;
	}
	return 0;
}

/* Sorted look-up tables and (modules.dep) dependency indices, once every line is in. */
int gi_md_index(struct gi_moddep *md)
{
	size_t i, n = md->md_nent ? md->md_nent : 1;

	md->md_by_name = calloc(n, sizeof(*md->md_by_name));
	md->md_by_path = calloc(n, sizeof(*md->md_by_path));
	if (!md->md_by_name || !md->md_by_path)
		return -ENOMEM;
	for (i = 0; i < md->md_nent; i++) {
		md->md_by_name[i] = (struct md_key){ md->md_ent[i].name, i };
		md->md_by_path[i] = (struct md_key){ md->md_ent[i].path, i };
	}
	qsort(md->md_by_name, md->md_nent, sizeof(struct md_key), key_cmp);
	qsort(md->md_by_path, md->md_nent, sizeof(struct md_key), key_cmp);
	for (i = 0; i < md->md_ndep; i++)
		if (md->md_dep_idx[i] == MD_NO_ENTRY)
			md->md_dep_idx[i] = gi_md_key_find(md->md_by_path, md->md_nent,
							   md->md_dep_paths[i]);
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
		if (gi_md_grow((void **)&md->md_builtin, &cap, md->md_nbuiltin + 1,
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
	ret = gi_md_index(md);
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

int gi_md_add_soft(struct md_entry *e, const char *name)
{
	char norm[GI_MODNAME_MAX], **grown;
	size_t i;

	if (gi_modname(name, norm, sizeof(norm)) || e->nsoft >= GI_MODINFO_MAX_NAMES)
		return 0;
	for (i = 0; i < e->nsoft; i++)
		if (!strcmp(e->soft[i], norm))
			return 0;
	grown = realloc(e->soft, (e->nsoft + 1) * sizeof(*e->soft));
	if (!grown)
		return -ENOMEM;
	e->soft = grown;
	e->soft[e->nsoft] = strdup(norm);
	if (!e->soft[e->nsoft])
		return -ENOMEM;
	e->nsoft++;
	return 0;
}

/* One modules.softdep line (NUL-terminated, modified in place). */
static int softdep_line(struct gi_moddep *md, char *line)
{
	char name[GI_MODNAME_MAX], *tok;
	bool pre = false;
	size_t idx;
	int ret;

	tok = next_token(&line);
	if (!tok || strcmp(tok, "softdep") != 0)
		return 0;
	tok = next_token(&line);
	if (!tok || gi_modname(tok, name, sizeof(name)))
		return 0;
	idx = gi_md_key_find(md->md_by_name, md->md_nent, name);
	if (idx == MD_NO_ENTRY)
		return 0;
	while ((tok = next_token(&line)) != NULL) {
		if (!strcmp(tok, "pre:") || !strcmp(tok, "post:")) {
			pre = !strcmp(tok, "pre:");
			continue;
		}
		if (pre) {
			ret = gi_md_add_soft(&md->md_ent[idx], tok);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int gi_moddep_add_softdeps(struct gi_moddep *md, const char *text, size_t len)
{
	char *copy = malloc(len + 1), *line, *nl;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	for (line = copy; !ret && line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		line[strcspn(line, "#")] = '\0';
		ret = softdep_line(md, line);
	}
	free(copy);
	return ret;
}

/* (dir)/(name) into a malloc'd buffer (*text, *len); a missing file is no text. */
static int read_optional(const char *dir, const char *name, char **text, size_t *len)
{
	char path[4096];
	int ret;

	*text = NULL;
	*len = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ret = gi_read_file(path, GI_MODDEP_MAX_FILE, text, len);
	if (ret)
		*text = NULL;
	return ret == -ENOMEM ? ret : 0;
}

/* No modules.dep: walk (modules_dir), then modules.builtin as usual. */
static int load_scanned(const char *modules_dir, struct gi_moddep **out, char *err,
			size_t errlen)
{
	char *builtin;
	size_t len;
	int ret;

	ret = gi_md_scan(modules_dir, out, err, errlen);
	if (ret)
		return ret;
	ret = read_optional(modules_dir, "modules.builtin", &builtin, &len);
	if (!ret && builtin)
		ret = parse_builtin(*out, builtin, len);
	free(builtin);
	if (ret) {
		snprintf(err, errlen, "out of memory");
		gi_moddep_free(*out);
		*out = NULL;
	}
	return ret;
}

int gi_moddep_load(const char *modules_dir, struct gi_moddep **out, char *err, size_t errlen)
{
	char path[4096], *dep, *builtin = NULL, *soft = NULL;
	size_t dep_len, builtin_len = 0, soft_len = 0;
	int ret;

	*out = NULL;
	snprintf(path, sizeof(path), "%s/modules.dep", modules_dir);
	ret = gi_read_file(path, GI_MODDEP_MAX_FILE, &dep, &dep_len);
	if (ret == -ENOENT)
		return load_scanned(modules_dir, out, err, errlen);
	if (ret) {
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	ret = read_optional(modules_dir, "modules.builtin", &builtin, &builtin_len);
	if (!ret)
		ret = read_optional(modules_dir, "modules.softdep", &soft, &soft_len);
	if (!ret)
		ret = gi_moddep_parse(dep, dep_len, builtin, builtin_len, out, err, errlen);
	else
		snprintf(err, errlen, "out of memory");
	if (!ret && soft && gi_moddep_add_softdeps(*out, soft, soft_len)) {
		snprintf(err, errlen, "out of memory");
		gi_moddep_free(*out);
		*out = NULL;
		ret = -ENOMEM;
	}
	free(soft);
	free(builtin);
	free(dep);
	return ret;
}

bool gi_moddep_scanned(const struct gi_moddep *md)
{
	return md && md->md_scanned;
}

void gi_moddep_scan_stats(const struct gi_moddep *md, size_t *files, size_t *read)
{
	*files = md && md->md_scanned ? md->md_nfiles : 0;
	*read = md && md->md_scanned ? md->md_nread : 0;
}

void gi_moddep_set_note(struct gi_moddep *md, gi_moddep_note_fn fn, void *opaque)
{
	md->md_note = fn;
	md->md_note_opaque = opaque;
}

void gi_moddep_free(struct gi_moddep *md)
{
	size_t i, j;

	if (!md)
		return;
	for (i = 0; i < md->md_nent; i++) {
		free(md->md_ent[i].name);
		if (md->md_scanned)
			free(md->md_ent[i].path);
		for (j = 0; j < md->md_ent[i].nsoft; j++)
			free(md->md_ent[i].soft[j]);
		free(md->md_ent[i].soft);
	}
	for (i = 0; i < md->md_nbuiltin; i++)
		free((void *)(uintptr_t)md->md_builtin[i].key);
	free(md->md_builtin);
	free(md->md_by_name);
	free(md->md_by_path);
	free(md->md_dep_idx);
	free(md->md_dep_paths);
	free(md->md_ent);
	free(md->md_text);
	free(md->md_dir);
	free(md);
}

enum { MD_NEW, MD_ACTIVE, MD_DONE };

struct md_walk {
	struct gi_moddep *md;
	unsigned char *state;
	const char **out;
	size_t n;
	char *err;
	size_t errlen;
};

static bool is_builtin(const struct gi_moddep *md, const char *name)
{
	return gi_md_key_find(md->md_builtin, md->md_nbuiltin, name) != MD_NO_ENTRY;
}

static int visit(struct md_walk *w, size_t idx, unsigned int depth);

/* Softdep (name) of (e): load it first when it is a module here; optional otherwise. */
static int visit_soft(struct md_walk *w, const struct md_entry *e, const char *name,
		      unsigned int depth)
{
	const char *target = name;
	char note[GI_MODNAME_MAX * 3];
	size_t i, idx;

	for (i = 0; i < GI_ARRAY_SIZE(md_soft_aliases); i++)
		if (!strcmp(name, md_soft_aliases[i].alias))
			target = md_soft_aliases[i].module;
	idx = gi_md_key_find(w->md->md_by_name, w->md->md_nent, target);
	if (idx == MD_NO_ENTRY) {
		if (!is_builtin(w->md, target) && w->md->md_note) {
			snprintf(note, sizeof(note), "module %s: soft dependency %s%s%s is not a "
				 "module here nor built in: skipped", e->name, name,
				 target == name ? "" : " = ", target == name ? "" : target);
			w->md->md_note(w->md->md_note_opaque, note);
		}
		return 0;
	}
	/* a softdep back to a module being loaded is no ordering constraint (modprobe agrees) */
	if (w->state[idx] == MD_ACTIVE)
		return 0;
	return visit(w, idx, depth);
}

/* Depth-first: softdeps, then dependencies last to first (kmod's order), then (idx) itself. */
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
	ret = gi_md_read_modinfo(w->md, idx, w->err, w->errlen);
	for (j = 0; !ret && j < e->nsoft; j++)
		ret = visit_soft(w, e, e->soft[j], depth + 1);
	for (j = e->ndeps; !ret && j > 0; j--) {
		d = w->md->md_dep_idx[e->first_dep + j - 1];
		if (d == MD_NO_ENTRY) {
			snprintf(w->err, w->errlen, "module %s needs %s, which modules.dep does not list",
				 e->name, w->md->md_dep_paths[e->first_dep + j - 1]);
			return -ENOENT;
		}
		ret = visit(w, d, depth + 1);
	}
	if (ret)
		return ret;
	w->state[idx] = MD_DONE;
	w->out[w->n++] = e->path;
	return 0;
}

int gi_moddep_resolve(struct gi_moddep *md, const char *const *names, const char ***paths,
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
		idx = gi_md_key_find(md->md_by_name, md->md_nent, name);
		if (idx == MD_NO_ENTRY) {
			if (is_builtin(md, name))
				continue;
			if (md->md_scanned)
				snprintf(err, errlen, "unknown module %s (no %s.ko in %s, not in "
					 "modules.builtin)", name, name, md->md_dir);
			else
				snprintf(err, errlen, "unknown module %s (not in modules.dep or "
					 "modules.builtin)", name);
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
