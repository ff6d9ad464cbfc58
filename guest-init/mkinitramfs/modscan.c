// SPDX-License-Identifier: MIT
/*
 * modscan.c: module dependencies for a modules directory without modules.dep
 * (moddep.h, "Trees without modules.dep"): a bounded walk that maps module
 * names to files, and the .modinfo of each module the resolver reaches.
 *
 * Why not libkmod (Debian's libkmod-dev, kmod 30)? Weighed and rejected:
 * - its name look-up (kmod_module_new_from_lookup) and dependency lists
 *   (kmod_module_get_dependencies) come from modules.dep.bin and
 *   modules.alias.bin, which are missing in exactly the case this file
 *   serves (depmod never ran). What would be left to use is
 *   kmod_module_new_from_path() + kmod_module_get_info() for one file's
 *   .modinfo; the directory walk and the name map would still be ours;
 * - Debian 12's libkmod.so.2 links liblzma and libzstd but not zlib, so it
 *   cannot read the .ko.gz modules we accept, and it also pulls in libcrypto
 *   (ldd, measured here);
 * - the project already decompresses all three formats (decompress.c, with
 *   its size and memory bounds) and must hand the guest decompressed files
 *   anyway; the .modinfo reader is ~150 lines (modinfo.c) whose every offset
 *   check is ours, fuzzed (fuzz_gi_modinfo) and unit-tested on crafted files;
 * - one more runtime library for agentvmm and libagentvmm's users, for a
 *   fallback path.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "guest-init/mkinitramfs/moddep_impl.h"
#include "guest-init/mkinitramfs/modinfo.h"

/* What a module file may be called (decompress.h knows the three formats). */
static const char *const ms_suffixes[] = { ".ko", ".ko.xz", ".ko.zst", ".ko.gz" };

struct ms_file {
	char *path;		/* relative to the modules directory */
	char *name;
	int prio;		/* 0 under updates/, 1 elsewhere: lower wins */
};

struct ms_walk {
	const char *dir;
	struct ms_file *files;
	size_t nfiles, cap, nentries;
	char *err;
	size_t errlen;
};

static bool module_file_name(const char *name)
{
	size_t n = strlen(name), m, i;

	for (i = 0; i < GI_ARRAY_SIZE(ms_suffixes); i++) {
		m = strlen(ms_suffixes[i]);
		if (n > m && !strcmp(name + n - m, ms_suffixes[i]))
			return true;
	}
	return false;
}

static int add_file(struct ms_walk *w, const char *rel)
{
	char name[GI_MODNAME_MAX];
	struct ms_file *f;

	/* a name too long for any module is not one */
	if (gi_modname(rel, name, sizeof(name)))
		return 0;
	if (gi_md_grow((void **)&w->files, &w->cap, w->nfiles + 1, sizeof(*w->files)))
		return -ENOMEM;
	f = &w->files[w->nfiles];
	f->path = strdup(rel);
	f->name = strdup(name);
	f->prio = strncmp(rel, "updates/", 8) != 0;
	if (!f->path || !f->name) {
		free(f->path);
		free(f->name);
		return -ENOMEM;
	}
	w->nfiles++;
	return 0;
}

/*
 * The type of (de) in (d): DT_DIR, DT_REG, or DT_UNKNOWN for anything to skip.
 * A symbolic link named like a module counts as a module file without a
 * stat() (a tree of links, as "cp -rs" makes, has thousands); should it
 * dangle, using it fails later naming it. Other links are skipped, so links
 * to directories (Debian's build and source, leading out of the tree) are
 * never followed.
 */
static unsigned char entry_type(DIR *d, const struct dirent *de)
{
	unsigned char t = de->d_type;
	struct stat st;

	if (t == DT_UNKNOWN) {
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return DT_UNKNOWN;
		t = S_ISLNK(st.st_mode) ? DT_LNK : S_ISDIR(st.st_mode) ? DT_DIR :
		    S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
	}
	if (t == DT_LNK)
		return module_file_name(de->d_name) ? DT_REG : DT_UNKNOWN;
	return t == DT_DIR || t == DT_REG ? t : DT_UNKNOWN;
}

/* Walk (rel) ("" for the top), (depth) levels down. */
static int walk(struct ms_walk *w, const char *rel, unsigned int depth)
{
	char full[PATH_MAX], sub[PATH_MAX];
	struct dirent *de;
	unsigned char t;
	DIR *d;
	int ret = 0;

	snprintf(full, sizeof(full), "%s%s%s", w->dir, *rel ? "/" : "", rel);
	d = opendir(full);
	if (!d) {
		ret = -errno;
		snprintf(w->err, w->errlen, "%s: %s", full, strerror(-ret));
		return ret;
	}
	while (!ret && (de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (++w->nentries > GI_MODSCAN_MAX_FILES) {
			snprintf(w->err, w->errlen,
				 "%s: more than %u files: not a modules directory", w->dir,
				 GI_MODSCAN_MAX_FILES);
			ret = -E2BIG;
			break;
		}
		t = entry_type(d, de);
		if (t == DT_UNKNOWN || (t == DT_REG && !module_file_name(de->d_name)))
			continue;
		if (snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", de->d_name) >=
		    (int)sizeof(sub) - (int)strlen(w->dir) - 1)
			continue; /* no module lives that deep in a path */
		if (t == DT_REG)
			ret = add_file(w, sub);
		else if (depth < GI_MODSCAN_MAX_DEPTH)
			ret = walk(w, sub, depth + 1);
		if (ret == -ENOMEM)
			snprintf(w->err, w->errlen, "out of memory");
	}
	closedir(d);
	return ret;
}

/* By name, then updates/ first, then path: the first of each name is the one kept. */
static int file_cmp(const void *a, const void *b)
{
	const struct ms_file *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	if (x->prio != y->prio)
		return x->prio - y->prio;
	return strcmp(x->path, y->path);
}

/* The walked files into (md)'s entries, one per name; (w)'s strings move or are freed. */
static int fill_entries(struct gi_moddep *md, struct ms_walk *w)
{
	struct md_entry *e;
	size_t i;

	qsort(w->files, w->nfiles, sizeof(*w->files), file_cmp);
	md->md_ent = calloc(w->nfiles ? w->nfiles : 1, sizeof(*md->md_ent));
	if (!md->md_ent)
		return -ENOMEM;
	md->md_cap = w->nfiles ? w->nfiles : 1;
	for (i = 0; i < w->nfiles; i++) {
		if (md->md_nent && !strcmp(md->md_ent[md->md_nent - 1].name, w->files[i].name)) {
			free(w->files[i].path);
			free(w->files[i].name);
			continue;
		}
		e = &md->md_ent[md->md_nent++];
		e->path = w->files[i].path;
		e->name = w->files[i].name;
	}
	w->nfiles = 0;
	return 0;
}

int gi_md_scan(const char *dir, struct gi_moddep **out, char *err, size_t errlen)
{
	struct ms_walk w = { .dir = dir, .err = err, .errlen = errlen };
	struct gi_moddep *md;
	size_t i;
	int ret = -ENOMEM;

	*out = NULL;
	md = calloc(1, sizeof(*md));
	if (!md || !(md->md_dir = strdup(dir))) {
		snprintf(err, errlen, "out of memory");
		goto err_free;
	}
	md->md_scanned = true;
	ret = walk(&w, "", 0);
	if (!ret) {
		md->md_nfiles = w.nfiles;
		ret = fill_entries(md, &w);
	}
	if (!ret)
		ret = gi_md_index(md);
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (ret)
		goto err_free;
	free(w.files);
	*out = md;
	return 0;

err_free:
	for (i = 0; i < w.nfiles; i++) {
		free(w.files[i].path);
		free(w.files[i].name);
	}
	free(w.files);
	gi_moddep_free(md);
	return ret;
}

struct mr_ctx {
	struct gi_moddep *md;
	struct md_entry *e;
	size_t deps[GI_MODINFO_MAX_NAMES];
	size_t ndeps;
	char *err;
	size_t errlen;
};

/* gi_modinfo_name_fn: one depends= or softdep name of c->e. */
static int on_name(void *opaque, const char *name, bool soft)
{
	struct mr_ctx *c = opaque;
	size_t idx, i;

	if (soft)
		return gi_md_add_soft(c->e, name) ? -ENOMEM : 0;
	idx = gi_md_key_find(c->md->md_by_name, c->md->md_nent, name);
	if (idx == MD_NO_ENTRY) {
		/* depends= never names a built-in module, but that would be harmless */
		if (gi_md_key_find(c->md->md_builtin, c->md->md_nbuiltin, name) != MD_NO_ENTRY)
			return 0;
		snprintf(c->err, c->errlen, "module %s needs %s, which is neither a module in %s "
			 "nor built in", c->e->name, name, c->md->md_dir);
		return -ENOENT;
	}
	for (i = 0; i < c->ndeps; i++)
		if (c->deps[i] == idx)
			return 0;
	/* gi_modinfo_deps() stops at GI_MODINFO_MAX_NAMES names */
	c->deps[c->ndeps++] = idx;
	return 0;
}

int gi_md_read_modinfo(struct gi_moddep *md, size_t idx, char *err, size_t errlen)
{
	struct md_entry *e = &md->md_ent[idx];
	char path[PATH_MAX];
	struct mr_ctx *c;
	size_t i;
	int ret;

	if (e->known)
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	*c = (struct mr_ctx){ .md = md, .e = e, .err = err, .errlen = errlen };
	snprintf(path, sizeof(path), "%s/%s", md->md_dir, e->path);
	ret = gi_modinfo_file(path, on_name, c, err, errlen);
	/* last first: visit() walks each list last to first, so depends= is loaded in order */
	e->first_dep = md->md_ndep;
	e->ndeps = 0;
	for (i = c->ndeps; !ret && i > 0; i--) {
		ret = gi_md_add_dep(md, md->md_ent[c->deps[i - 1]].path, c->deps[i - 1]);
		e->ndeps += !ret;
	}
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (!ret) {
		e->known = true;
		md->md_nread++;
	} else {
		e->ndeps = 0;
	}
	free(c);
	return ret;
}
