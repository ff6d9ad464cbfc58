/* SPDX-License-Identifier: MIT */
/*
 * moddep.h: reading a kernel's modules.dep and modules.builtin and turning a
 * list of module names into a load order, dependencies first.
 *
 * modules.dep (depmod(8)) has one line per module: "PATH: DEP DEP ...", PATH
 * relative to /lib/modules/<release>, DEP the full transitive closure. A
 * module's name is the file name up to ".ko" with '-' read as '_'
 * ("kernel/drivers/misc/pvpanic/pvpanic-mmio.ko" is "pvpanic_mmio"); names
 * given to gi_moddep_resolve() are normalised the same way. Like kmod, each
 * dependency list is walked last to first, depth first, so
 * "virtio_blk.ko: virtio.ko virtio_ring.ko" loads virtio_ring, virtio, virtio_blk.
 */
#ifndef AGENTVMM_GUEST_INIT_MKINITRAMFS_MODDEP_H
#define AGENTVMM_GUEST_INIT_MKINITRAMFS_MODDEP_H

#include <stddef.h>

#include "guest-init/compiler.h"

#define GI_MODDEP_MAX_FILE (64u << 20)	/* bigger than any real modules.dep */
#define GI_MODDEP_MAX_DEPTH 64		/* real chains are under 10 deep */
#define GI_MODNAME_MAX 256

struct gi_moddep;

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
 * gi_moddep_load() - gi_moddep_parse() of (modules_dir)/modules.dep and, when
 * it exists, (modules_dir)/modules.builtin.
 * Return: as gi_moddep_parse(), or the -errno of reading modules.dep.
 */
int __must_check gi_moddep_load(const char *modules_dir, struct gi_moddep **out, char *err,
				size_t errlen);

/* gi_moddep_free() - release (md); NULL is fine. */
void gi_moddep_free(struct gi_moddep *md);

/*
 * gi_moddep_resolve() - the load order for the NULL-terminated (names):
 * every module after its dependencies, each once. Names that are only in
 * modules.builtin are skipped. *paths (free() the array; the strings belong
 * to md) receives *n paths relative to the modules directory.
 *
 * Return: 0; -ENOENT for a name in neither file, or a dependency without a
 * line of its own; -ELOOP for a dependency cycle or a chain deeper than
 * GI_MODDEP_MAX_DEPTH; -EINVAL for an empty or over-long name; -ENOMEM. The
 * message in (err) names the module.
 * Context: pure; any thread.
 */
int __must_check gi_moddep_resolve(const struct gi_moddep *md, const char *const *names,
				   const char ***paths, size_t *n, char *err, size_t errlen);

/*
 * gi_modname() - the normalised module name of (path_or_name) into (buf).
 * Return: 0, or -EINVAL when it is empty or does not fit.
 */
int __must_check gi_modname(const char *path_or_name, char *buf, size_t len);

#endif
