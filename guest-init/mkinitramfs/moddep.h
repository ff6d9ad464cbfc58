/* SPDX-License-Identifier: MIT */
/*
 * moddep.h: reading a kernel's module dependencies (modules.dep, or the
 * modules' own .modinfo when there is none), modules.builtin and soft
 * dependencies, and turning a list of module names into a load order,
 * dependencies first.
 *
 * modules.dep (depmod(8)) has one line per module: "PATH: DEP DEP ...", PATH
 * relative to /lib/modules/<release>, DEP the full transitive closure. A
 * module's name is the file name up to ".ko" with '-' read as '_'
 * ("kernel/drivers/misc/pvpanic/pvpanic-mmio.ko" is "pvpanic_mmio"); names
 * given to gi_moddep_resolve() are normalised the same way. Like kmod, each
 * dependency list is walked last to first, depth first, so
 * "virtio_blk.ko: virtio.ko virtio_ring.ko" loads virtio_ring, virtio, virtio_blk.
 *
 * Trees without modules.dep (a kernel package unpacked with dpkg -x; depmod
 * runs only in its postinst): gi_moddep_load() walks the directory instead
 * (modscan.c): every *.ko, *.ko.xz, *.ko.zst and *.ko.gz below it, symbolic
 * links to files included, symbolic links to directories (build, source) not
 * followed, at most GI_MODSCAN_MAX_DEPTH levels and GI_MODSCAN_MAX_FILES
 * entries. Two files with one name: the one under updates/ wins (depmod's
 * default "search updates built-in"), else the first path in byte order.
 * gi_moddep_resolve() then reads the .modinfo (modinfo.h) of only the modules
 * it reaches, following depends= (first to last) and softdep= "pre:" names.
 * The order is a valid load order over the same modules modules.dep would
 * give; where two modules do not depend on each other it may differ from
 * depmod's, which comes from a sort over the whole tree.
 *
 * Soft dependencies ("pre:" only; modules.softdep with modules.dep, the
 * softdep= fields without) are loaded before the module and are optional: a
 * name that is neither a module here nor built in is skipped (and noted).
 * A name may be an alias: the few that modules agentvmm loads ask for are
 * mapped explicitly (moddep.c md_soft_aliases: "crypto-crc32c", for ext4 and
 * jbd2, is crc32c_generic); modules.alias is not read. A softdep cycle is
 * ignored, as modprobe ignores it.
 */
#ifndef AGENTVMM_GUEST_INIT_MKINITRAMFS_MODDEP_H
#define AGENTVMM_GUEST_INIT_MKINITRAMFS_MODDEP_H

#include <stdbool.h>
#include <stddef.h>

#include "guest-init/compiler.h"
#include "guest-init/modname.h"

#define GI_MODDEP_MAX_FILE (64u << 20)	/* bigger than any real modules.dep */
#define GI_MODDEP_MAX_DEPTH 64		/* real chains are under 10 deep */
#define GI_MODSCAN_MAX_DEPTH 16		/* directory levels below the modules dir; real: 8 */
#define GI_MODSCAN_MAX_FILES (1u << 20)	/* directory entries walked; Debian 6.1: ~4,600 */

struct gi_moddep;

/* gi_moddep_note_fn - a remark worth showing with -v (msg, one line, no newline). */
typedef void (*gi_moddep_note_fn)(void *opaque, const char *msg);

/*
 * gi_moddep_parse() - parse modules.dep text (dep, dep_len) and, optionally,
 * modules.builtin text (builtin, builtin_len; NULL for none) into *out, to be
 * released with gi_moddep_free(). Neither text needs a NUL terminator.
 *
 * Return: 0; -EINVAL for a line without ':', or a path that is empty,
 * absolute, has a ".." component or no ".ko", with the line number in (err);
 * -ENOMEM.
 * Context: pure; any thread.
 */
int __must_check gi_moddep_parse(const char *dep, size_t dep_len, const char *builtin,
				 size_t builtin_len, struct gi_moddep **out, char *err,
				 size_t errlen);

/*
 * gi_moddep_add_softdeps() - add the "pre:" names of modules.softdep text
 * (text, len; "softdep MODULE pre: A B post: C" lines, '#' comments) to the
 * modules (md) knows. Lines for unknown modules and malformed lines are
 * ignored, as kmod's config parser ignores them.
 * Return: 0 or -ENOMEM.
 * Context: pure; any thread.
 */
int __must_check gi_moddep_add_softdeps(struct gi_moddep *md, const char *text, size_t len);

/*
 * gi_moddep_load() - gi_moddep_parse() of (modules_dir)/modules.dep plus,
 * when they exist, modules.builtin and modules.softdep. Without modules.dep
 * (ENOENT): a walk of (modules_dir) as described above, plus modules.builtin.
 * Return: as gi_moddep_parse(); the -errno of reading modules.dep, or of
 * walking (modules_dir) when modules.dep does not exist (-ENOENT when the
 * directory does not exist either); -E2BIG for more than GI_MODSCAN_MAX_FILES
 * entries. (err) names the file or directory.
 */
int __must_check gi_moddep_load(const char *modules_dir, struct gi_moddep **out, char *err,
				size_t errlen);

/* gi_moddep_scanned() - true when (md) came from a directory walk (no modules.dep). */
bool gi_moddep_scanned(const struct gi_moddep *md);

/*
 * gi_moddep_scan_stats() - for a walked tree: (files) module files found,
 * (read) .modinfo sections read so far by gi_moddep_resolve(). Both 0 otherwise.
 */
void gi_moddep_scan_stats(const struct gi_moddep *md, size_t *files, size_t *read);

/* gi_moddep_set_note() - where gi_moddep_resolve() sends its remarks (skipped softdeps). */
void gi_moddep_set_note(struct gi_moddep *md, gi_moddep_note_fn fn, void *opaque);

/* gi_moddep_free() - release (md); NULL is fine. */
void gi_moddep_free(struct gi_moddep *md);

/*
 * gi_moddep_resolve() - the load order for the NULL-terminated (names):
 * every module after its dependencies and its softdep "pre:" modules, each
 * once. Names that are only in modules.builtin are skipped. *paths (free()
 * the array; the strings belong to md) receives *n paths relative to the
 * modules directory. For a walked tree it reads the .modinfo of each module
 * it reaches, once (md remembers them).
 *
 * Return: 0; -ENOENT for a name that is neither a module nor built in, or a
 * dependency that is neither a module nor built in (modules.dep: without a
 * line of its own); -ELOOP for a dependency cycle or a chain deeper than
 * GI_MODDEP_MAX_DEPTH; -EINVAL for an empty or over-long name; -ENOMEM; for
 * a walked tree also the errors of gi_modinfo_file() (-ENOEXEC, -EBADMSG,
 * -EFBIG, -errno of reading). The message in (err) names the module, and the
 * file when the file is at fault.
 * Context: any thread; reads files for a walked tree.
 */
int __must_check gi_moddep_resolve(struct gi_moddep *md, const char *const *names,
				   const char ***paths, size_t *n, char *err, size_t errlen);

#endif
