/* SPDX-License-Identifier: MIT */
/*
 * initramfs.h: building the guest's initramfs (an uncompressed newc cpio)
 * from guest-init, an optional static busybox and a kernel's modules, and a
 * content-addressed cache of built images.
 *
 * Image layout:
 *   /init                    guest-init, 0755
 *   /bin/busybox, /bin/<applet> -> busybox (applets from running
 *                            "busybox --list" on the build host), /bin/sh
 *   /sbin -> bin, /usr/bin -> ../bin, /usr/sbin -> ../bin
 *   /lib/modules/<path>      each resolved module, path as in modules.dep (or as
 *                            found in the modules directory without one);
 *                            .ko.xz/.ko.zst/.ko.gz stored decompressed as .ko
 *   /etc/agentvmm/modules    their load order, one path per line
 *   /etc/passwd, /etc/group, /etc/hosts   root (and group tty = 5) only
 *   /dev/console (c 5 1), /proc /sys /dev /tmp /run /root /mnt (empty)
 */
#ifndef AGENTVMM_GUEST_INIT_MKINITRAMFS_INITRAMFS_H
#define AGENTVMM_GUEST_INIT_MKINITRAMFS_INITRAMFS_H

#include <stddef.h>

#include "guest-init/compiler.h"
#include "guest-init/mkinitramfs/moddep.h"

struct gi_initramfs_config {
	const char *modules_dir;	/* .../lib/modules/<release>, NULL: no modules */
	const char *const *modules;	/* NULL-terminated module names, e.g. "pvpanic_mmio" */
	const void *init_bin;		/* guest-init binary (gi_init_blob) */
	size_t init_len;
	const char *busybox_path;	/* NULL or a static busybox: /bin/busybox + applet links */
	/*
	 * NULL, or called with remarks worth a -v line: the modules directory has
	 * no modules.dep (dependencies read from the modules' .modinfo), a soft
	 * dependency was skipped. Called during gi_initramfs_build/_cached, in
	 * the caller's thread.
	 */
	gi_moddep_note_fn note;
	void *note_opaque;
};

/*
 * gi_initramfs_build() - write the image for (cfg) to (out_path) atomically:
 * a temporary file in the same directory, fsync, then rename.
 *
 * Return: 0, or -errno with one line in (err): -EINVAL for a config without
 * init; -ENOENT for an unknown module (a name that is neither a module nor
 * in modules.builtin; built-in names are skipped) or a missing module file,
 * naming it; -EBADMSG for a corrupt compressed module (or, without
 * modules.dep, a module whose ELF .modinfo is bad) and -EFBIG for one
 * that decompresses to more than GI_DECOMP_MAX_MODULE, naming the file;
 * -ENOEXEC for a module file that is not an ELF relocatable object (read
 * only without modules.dep); -ELOOP for a dependency cycle; the errors of
 * gi_moddep_load(); errors of running busybox --list or of writing
 * (out_path). Nothing is left behind on failure.
 * Context: any thread; runs busybox as a child process when busybox_path is set.
 */
int __must_check gi_initramfs_build(const struct gi_initramfs_config *cfg, const char *out_path,
				    char *err, size_t errlen);

/*
 * gi_initramfs_cached() - the path of the image for (cfg) in (cache_dir),
 * "<cache_dir>/initramfs-<sha256>.cpio", building it first when missing. The
 * hash covers a format version, the init bytes, busybox's path, size, mtime
 * and inode, modules.dep's (or, without one, the fact that there is none) and
 * every resolved module file's path, size and mtime, in load order, and the
 * requested names. (cache_dir) is created 0700 if needed;
 * concurrent builders are safe (each renames its own complete file in place).
 *
 * Return: 0 with the path in (path_out); -ENAMETOOLONG when (path_len) is too
 * small; otherwise as gi_initramfs_build(), or the -errno of creating (cache_dir).
 * Context: any thread.
 */
int __must_check gi_initramfs_cached(const struct gi_initramfs_config *cfg,
				     const char *cache_dir, char *path_out, size_t path_len,
				     char *err, size_t errlen);

#endif
