/* SPDX-License-Identifier: MIT */
/*
 * moddep_impl.h: the inside of struct gi_moddep, shared by moddep.c (modules.dep,
 * modules.softdep, resolution) and modscan.c (trees without modules.dep).
 * Nothing outside those two files includes it.
 */
#ifndef AGENTVMM_GUEST_INIT_MKINITRAMFS_MODDEP_IMPL_H
#define AGENTVMM_GUEST_INIT_MKINITRAMFS_MODDEP_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest-init/mkinitramfs/moddep.h"

#define MD_NO_ENTRY SIZE_MAX

/* A sortable (key, entry index) pair for name and path look-ups. */
struct md_key {
	const char *key;
	size_t idx;
};

struct md_entry {
	char *path;		/* into md_text (modules.dep), or malloc'd (scanned) */
	char *name;		/* malloc'd, normalised */
	size_t first_dep;	/* range in md_dep_paths / md_dep_idx */
	size_t ndeps;
	char **soft;		/* softdep "pre:" names (malloc'd, normalised), maybe aliases */
	size_t nsoft;
	bool known;		/* deps and softdeps filled in (always with modules.dep) */
};

struct gi_moddep {
	char *md_text;			/* modules.dep copy, NUL-split in place */
	char *md_dir;			/* scanned: the modules directory, for .modinfo */
	bool md_scanned;		/* no modules.dep: entries from a directory walk */
	struct md_entry *md_ent;
	size_t md_nent, md_cap;
	const char **md_dep_paths;	/* every entry's dependencies, as paths */
	size_t *md_dep_idx;		/* the same, as entry indices (MD_NO_ENTRY: no line) */
	size_t md_ndep, md_dep_cap;
	struct md_key *md_by_name, *md_by_path, *md_builtin;
	size_t md_nbuiltin;
	size_t md_nfiles;		/* scanned: module files found (duplicates included) */
	size_t md_nread;		/* scanned: .modinfo sections read so far */
	gi_moddep_note_fn md_note;
	void *md_note_opaque;
};

/* gi_md_grow() - make (*arr) hold (need) elements of (elem) bytes. Return: 0 or -ENOMEM. */
int gi_md_grow(void **arr, size_t *cap, size_t need, size_t elem);

/* gi_md_key_find() - the first entry index whose key is (key) in sorted (keys), or MD_NO_ENTRY. */
size_t gi_md_key_find(const struct md_key *keys, size_t n, const char *key);

/* gi_md_index() - sorted name and path tables once every entry is in. Return: 0 or -ENOMEM. */
int gi_md_index(struct gi_moddep *md);

/* gi_md_add_dep() - append dependency (path, idx) to the shared arrays. Return: 0 or -ENOMEM. */
int gi_md_add_dep(struct gi_moddep *md, const char *path, size_t idx);

/*
 * gi_md_add_soft() - add softdep (name), normalised, to (e) once; names past
 * GI_MODINFO_MAX_NAMES and empty ones are dropped. Return: 0 or -ENOMEM.
 */
int gi_md_add_soft(struct md_entry *e, const char *name);

/*
 * gi_md_scan() - a gi_moddep for (dir) without modules.dep: every module
 * file under it (moddep.h, "Trees without modules.dep"), none of them read yet.
 * Return: 0; -errno of opening (dir) or one of its subdirectories; -E2BIG for
 * too many files; -ENOMEM. (err) names the directory.
 */
int gi_md_scan(const char *dir, struct gi_moddep **out, char *err, size_t errlen);

/*
 * gi_md_read_modinfo() - fill in entry (idx)'s dependencies and softdeps
 * from its file's .modinfo (scanned trees; a no-op once known).
 * Return: 0; -ENOENT for a dependency that is neither a module here nor
 * built in; the errors of gi_modinfo_file(). (err) names the module and file.
 */
int gi_md_read_modinfo(struct gi_moddep *md, size_t idx, char *err, size_t errlen);

#endif
