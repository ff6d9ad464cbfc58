// SPDX-License-Identifier: MIT
/* initramfs.c: assembling the guest initramfs image and the content-addressed image cache. */
#include "guest-init/mkinitramfs/initramfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest-init/fsutil.h"
#include "guest-init/mkinitramfs/cpio.h"
#include "guest-init/mkinitramfs/decompress.h"
#include "guest-init/mkinitramfs/moddep.h"
#include "guest-init/mkinitramfs/sha256.h"
#include "guest-init/mkinitramfs/util.h"

/* Bump when the image layout changes, so cached images are rebuilt (2: modules decompressed). */
#define IR_FORMAT "agentvmm-initramfs-2"
#define IR_APPLETS_MAX (1u << 20)
#define IR_MODLIST "etc/agentvmm/modules"

static const char ir_passwd[] = "root:x:0:0:root:/root:/bin/sh\n";
static const char ir_group[] = "root:x:0:\ntty:x:5:\n";
static const char ir_hosts[] = "127.0.0.1\tlocalhost\n::1\tlocalhost\n";

static const struct {
	const char *name;
	mode_t mode;
} ir_dirs[] = {
	{ "bin", 0755 },  { "dev", 0755 }, { "etc", 0755 },  { "etc/agentvmm", 0755 },
	{ "lib", 0755 },  { "mnt", 0755 }, { "proc", 0555 }, { "root", 0700 },
	{ "run", 0755 },  { "sys", 0555 }, { "tmp", 01777 }, { "usr", 0755 },
};

static const struct {
	const char *name, *target;
} ir_links[] = {
	{ "sbin", "bin" },
	{ "usr/bin", "../bin" },
	{ "usr/sbin", "../bin" },
};

/* What an image is made of, resolved once for both hashing and writing. */
struct ir_plan {
	struct gi_moddep *md;
	const char **mod_paths;		/* load order, relative to modules_dir */
	size_t nmods;
};

static void plan_fini(struct ir_plan *p)
{
	free(p->mod_paths);
	gi_moddep_free(p->md);
	memset(p, 0, sizeof(*p));
}

/* Say that (p) came without modules.dep, and what that cost. */
static void note_scanned(const struct gi_initramfs_config *cfg, const struct ir_plan *p)
{
	char msg[PATH_MAX + 256];
	size_t files, read;

	gi_moddep_scan_stats(p->md, &files, &read);
	snprintf(msg, sizeof(msg), "%s has no modules.dep (depmod never ran): %zu module "
		 "files found, dependencies read from the .modinfo of %zu of them",
		 cfg->modules_dir, files, read);
	cfg->note(cfg->note_opaque, msg);
}

static int plan_init(struct ir_plan *p, const struct gi_initramfs_config *cfg, char *err,
		     size_t errlen)
{
	int ret;

	memset(p, 0, sizeof(*p));
	if (!cfg->init_bin || !cfg->init_len) {
		snprintf(err, errlen, "initramfs: no init binary");
		return -EINVAL;
	}
	if (!cfg->modules_dir || !cfg->modules || !cfg->modules[0])
		return 0;
	ret = gi_moddep_load(cfg->modules_dir, &p->md, err, errlen);
	if (ret)
		return ret;
	if (cfg->note)
		gi_moddep_set_note(p->md, cfg->note, cfg->note_opaque);
	ret = gi_moddep_resolve(p->md, cfg->modules, &p->mod_paths, &p->nmods, err, errlen);
	if (ret) {
		plan_fini(p);
		return ret;
	}
	if (cfg->note && gi_moddep_scanned(p->md))
		note_scanned(cfg, p);
	return 0;
}

/* The applet names printed by "busybox --list", NUL-separated in a malloc'd buffer. */
static int busybox_applets(const char *busybox, char **out, size_t *len, char *err,
			   size_t errlen)
{
	char *const argv[] = { (char *)(uintptr_t)busybox, (char *)(uintptr_t)"--list", NULL };
	char *const envp[] = { NULL };
	posix_spawn_file_actions_t fa;
	char *buf = NULL;
	size_t n = 0;
	int pipefd[2], st, ret;
	ssize_t r;
	pid_t pid;

	*out = NULL;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	ret = -posix_spawn(&pid, busybox, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (ret) {
		snprintf(err, errlen, "%s --list: %s", busybox, strerror(-ret));
		close(pipefd[0]);
		return ret;
	}
	buf = malloc(IR_APPLETS_MAX + 1);
	while (buf && n < IR_APPLETS_MAX &&
	       ((r = read(pipefd[0], buf + n, IR_APPLETS_MAX - n)) > 0 || (r < 0 && errno == EINTR)))
		n += r > 0 ? (size_t)r : 0;
	close(pipefd[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!buf || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || n == 0) {
		snprintf(err, errlen, "%s --list failed: is it a busybox for this machine?",
			 busybox);
		free(buf);
		return buf ? -ENOEXEC : -ENOMEM;
	}
	buf[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\n')
			buf[i] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

static bool applet_name_ok(const char *a)
{
	return *a && !strchr(a, '/') && strcmp(a, ".") != 0 && strcmp(a, "..") != 0 &&
	       strcmp(a, "busybox") != 0 && strlen(a) < 64;
}

static int add_busybox(struct gi_cpio *c, const char *busybox, char *err, size_t errlen)
{
	char *applets, *a, name[80];
	bool have_sh = false;
	struct stat st;
	size_t len = 0;
	int fd, ret;

	ret = busybox_applets(busybox, &applets, &len, err, errlen);
	if (ret)
		return ret;
	fd = open(busybox, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", busybox, strerror(-ret));
		goto out;
	}
	ret = gi_cpio_add_file_fd(c, "bin/busybox", 0755, fd, (uint64_t)st.st_size);
	for (a = applets; !ret && a < applets + len; a += strlen(a) + 1) {
		if (!applet_name_ok(a))
			continue;
		have_sh |= strcmp(a, "sh") == 0;
		snprintf(name, sizeof(name), "bin/%s", a);
		ret = gi_cpio_add_symlink(c, name, "busybox");
	}
	if (!ret && !have_sh)
		ret = gi_cpio_add_symlink(c, "bin/sh", "busybox");
	if (ret)
		snprintf(err, errlen, "initramfs: adding busybox: %s", strerror(-ret));
out:
	if (fd >= 0)
		close(fd);
	free(applets);
	return ret;
}

/* lib/modules/<dirs of path>, each once; (done) remembers what was added. */
static int add_parent_dirs(struct gi_cpio *c, const char *path, char ***done, size_t *ndone)
{
	char dir[PATH_MAX], **grown;
	char *slash;
	size_t i;
	int ret;

	snprintf(dir, sizeof(dir), "lib/modules/%s", path);
	for (slash = strchr(dir + strlen("lib/modules/"), '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		for (i = 0; i < *ndone && strcmp((*done)[i], dir) != 0; i++)
			;
		if (i == *ndone) {
			ret = gi_cpio_add_dir(c, dir, 0755);
			grown = realloc(*done, (*ndone + 1) * sizeof(**done));
			if (ret || !grown)
				return ret ? ret : -ENOMEM;
			*done = grown;
			(*done)[*ndone] = strdup(dir);
			if (!(*done)[*ndone])
				return -ENOMEM;
			(*ndone)++;
		}
		*slash = '/';
	}
	return 0;
}

/* A .ko.xz/.zst/.gz module, stored decompressed as (dst) (its path without the suffix). */
static int add_compressed_module(struct gi_cpio *c, const char *src, const char *dst, char *err,
				 size_t errlen)
{
	size_t len;
	void *buf;
	int ret;

	ret = gi_decompress_file(src, GI_DECOMP_MAX_MODULE, &buf, &len, err, errlen);
	if (ret)
		return ret;
	ret = gi_cpio_add_file(c, dst, 0644, buf, len);
	free(buf);
	if (ret)
		snprintf(err, errlen, "initramfs: adding %s: %s", src, strerror(-ret));
	return ret;
}

static int add_one_module(struct gi_cpio *c, const char *modules_dir, const char *path,
			  char *err, size_t errlen)
{
	char src[PATH_MAX], dst[PATH_MAX];
	struct stat st;
	int fd, ret;

	snprintf(src, sizeof(src), "%s/%s", modules_dir, path);
	snprintf(dst, sizeof(dst), "lib/modules/%.*s", (int)gi_comp_strip_len(path), path);
	fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		ret = -errno;
	else if (fstat(fd, &st) < 0)
		ret = -errno;
	else
		ret = S_ISREG(st.st_mode) ? 0 : -EINVAL;
	if (ret) {
		snprintf(err, errlen, "missing module %s: %s", src, strerror(-ret));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	if (gi_comp_of(path) != GI_COMP_NONE) {
		close(fd);
		return add_compressed_module(c, src, dst, err, errlen);
	}
	ret = gi_cpio_add_file_fd(c, dst, 0644, fd, (uint64_t)st.st_size);
	close(fd);
	if (ret)
		snprintf(err, errlen, "initramfs: adding %s: %s", src, strerror(-ret));
	return ret;
}

static int add_modules(struct gi_cpio *c, const struct gi_initramfs_config *cfg,
		       const struct ir_plan *p, char *err, size_t errlen)
{
	char **done = NULL, *list = NULL;
	size_t ndone = 0, listlen = 0, i, n;
	int ret = 0;

	if (p->nmods)
		ret = gi_cpio_add_dir(c, "lib/modules", 0755);
	for (i = 0; !ret && i < p->nmods; i++) {
		ret = add_parent_dirs(c, p->mod_paths[i], &done, &ndone);
		if (!ret)
			ret = add_one_module(c, cfg->modules_dir, p->mod_paths[i], err, errlen);
		else
			snprintf(err, errlen, "initramfs: %s", strerror(-ret));
	}
	for (i = 0; i < ndone; i++)
		free(done[i]);
	free(done);
	if (ret)
		return ret;
	/* the load order for guest-init, one path per line, as stored (no compression suffix) */
	for (i = 0; i < p->nmods; i++)
		listlen += gi_comp_strip_len(p->mod_paths[i]) + 1;
	list = malloc(listlen + 1);
	if (!list)
		return -ENOMEM;
	for (i = 0, n = 0; i < p->nmods; i++) {
		n += (size_t)sprintf(list + n, "%.*s\n", (int)gi_comp_strip_len(p->mod_paths[i]),
				     p->mod_paths[i]);
	}
	ret = gi_cpio_add_file(c, IR_MODLIST, 0644, list, listlen);
	free(list);
	if (ret)
		snprintf(err, errlen, "initramfs: %s: %s", IR_MODLIST, strerror(-ret));
	return ret;
}

static int add_skeleton(struct gi_cpio *c, const struct gi_initramfs_config *cfg)
{
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < GI_ARRAY_SIZE(ir_dirs); i++)
		ret = gi_cpio_add_dir(c, ir_dirs[i].name, ir_dirs[i].mode);
	for (i = 0; !ret && i < GI_ARRAY_SIZE(ir_links); i++)
		ret = gi_cpio_add_symlink(c, ir_links[i].name, ir_links[i].target);
	/* devices.txt: 5,1 is /dev/console, opened by the kernel before /init runs */
	if (!ret)
		ret = gi_cpio_add_chardev(c, "dev/console", 0600, 5, 1);
	if (!ret)
		ret = gi_cpio_add_file(c, "etc/passwd", 0644, ir_passwd, strlen(ir_passwd));
	if (!ret)
		ret = gi_cpio_add_file(c, "etc/group", 0644, ir_group, strlen(ir_group));
	if (!ret)
		ret = gi_cpio_add_file(c, "etc/hosts", 0644, ir_hosts, strlen(ir_hosts));
	if (!ret)
		ret = gi_cpio_add_file(c, "init", 0755, cfg->init_bin, cfg->init_len);
	return ret;
}

static int write_image(int fd, const struct gi_initramfs_config *cfg, const struct ir_plan *p,
		       char *err, size_t errlen)
{
	struct gi_cpio *c = malloc(sizeof(*c));
	int ret;

	if (!c)
		return -ENOMEM;
	gi_cpio_init(c, fd);
	ret = add_skeleton(c, cfg);
	if (ret)
		snprintf(err, errlen, "initramfs: writing: %s", strerror(-ret));
	if (!ret && cfg->busybox_path)
		ret = add_busybox(c, cfg->busybox_path, err, errlen);
	if (!ret)
		ret = add_modules(c, cfg, p, err, errlen);
	if (!ret) {
		ret = gi_cpio_finish(c);
		if (ret)
			snprintf(err, errlen, "initramfs: writing: %s", strerror(-ret));
	}
	free(c);
	return ret;
}

/*
 * An unnamed file in the directory of (out_path) (O_TMPFILE), so a build
 * killed half way, even by SIGKILL, leaves nothing behind; (tmp) is "" then.
 * Where the file system has no O_TMPFILE: a named temporary file in (tmp).
 */
static int open_unnamed(const char *out_path, char *tmp, size_t len)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(out_path, '/');
	int fd;

	tmp[0] = 0;
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == out_path ? 1 : (int)(slash - out_path),
			 out_path);
	fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	if (fd >= 0)
		return fd;
	if (snprintf(tmp, len, "%s.tmp.XXXXXX", out_path) >= (int)len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return mkostemp(tmp, O_CLOEXEC);
}

/* Give the finished (fd) the name (out_path), replacing any file there. */
static int name_file(int fd, char *tmp, size_t len, const char *out_path)
{
	char proc[64];

	if (tmp[0])
		return rename(tmp, out_path) < 0 ? -errno : 0;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	/* the usual case (a cache miss): the name is free, no window at all */
	if (linkat(AT_FDCWD, proc, AT_FDCWD, out_path, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	if (errno != EEXIST || snprintf(tmp, len, "%s.tmp.%d", out_path, (int)getpid()) >= (int)len)
		return -errno;
	unlink(tmp);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) < 0)
		return -errno;
	return rename(tmp, out_path) < 0 ? -errno : 0;
}

static int build_plan(const struct gi_initramfs_config *cfg, const struct ir_plan *p,
		      const char *out_path, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	int fd, ret;

	fd = open_unnamed(out_path, tmp, sizeof(tmp));
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", tmp[0] ? tmp : out_path, strerror(-ret));
		return ret;
	}
	ret = write_image(fd, cfg, p, err, errlen);
	if (!ret && (fchmod(fd, 0644) < 0 || fsync(fd) < 0)) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", out_path, strerror(-ret));
	}
	if (!ret) {
		ret = name_file(fd, tmp, sizeof(tmp), out_path);
		if (ret)
			snprintf(err, errlen, "%s: %s", out_path, strerror(-ret));
	}
	if (close(fd) < 0 && !ret) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", out_path, strerror(-ret));
	}
	if (ret && tmp[0])
		unlink(tmp);
	return ret;
}

int gi_initramfs_build(const struct gi_initramfs_config *cfg, const char *out_path, char *err,
		       size_t errlen)
{
	struct ir_plan p;
	int ret;

	if (errlen)
		err[0] = '\0';
	ret = plan_init(&p, cfg, err, errlen);
	if (ret)
		return ret;
	ret = build_plan(cfg, &p, out_path, err, errlen);
	plan_fini(&p);
	return ret;
}

/* Length-prefixed, so no two different input lists hash the same byte stream. */
static void hash_field(struct gi_sha256 *h, const void *data, size_t len)
{
	uint64_t n = len;

	gi_sha256_update(h, &n, sizeof(n));
	gi_sha256_update(h, data, len);
}

static void hash_str(struct gi_sha256 *h, const char *s)
{
	hash_field(h, s ? s : "", s ? strlen(s) + 1 : 0);
}

/* A file's identity: path, size, mtime (ns), device and inode. */
static int hash_file_id(struct gi_sha256 *h, const char *path, char *err, size_t errlen)
{
	struct stat st;
	uint64_t id[5];

	if (stat(path, &st) < 0) {
		int e = errno;

		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	id[0] = (uint64_t)st.st_size;
	id[1] = (uint64_t)st.st_mtim.tv_sec;
	id[2] = (uint64_t)st.st_mtim.tv_nsec;
	id[3] = (uint64_t)st.st_dev;
	id[4] = (uint64_t)st.st_ino;
	hash_str(h, path);
	hash_field(h, id, sizeof(id));
	return 0;
}

static int plan_hash(const struct gi_initramfs_config *cfg, const struct ir_plan *p,
		     unsigned char out[GI_SHA256_LEN], char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct gi_sha256 h;
	size_t i;
	int ret = 0;

	gi_sha256_init(&h);
	hash_str(&h, IR_FORMAT);
	hash_field(&h, cfg->init_bin, cfg->init_len);
	hash_str(&h, cfg->busybox_path);
	if (cfg->busybox_path)
		ret = hash_file_id(&h, cfg->busybox_path, err, errlen);
	for (i = 0; !ret && cfg->modules && cfg->modules[i]; i++)
		hash_str(&h, cfg->modules[i]);
	if (!ret && p->nmods) {
		hash_str(&h, cfg->modules_dir);
		snprintf(path, sizeof(path), "%s/modules.dep", cfg->modules_dir);
		/* without one the resolved paths and files below are the whole story */
		if (gi_moddep_scanned(p->md))
			hash_str(&h, "no modules.dep");
		else
			ret = hash_file_id(&h, path, err, errlen);
	}
	for (i = 0; !ret && i < p->nmods; i++) {
		snprintf(path, sizeof(path), "%s/%s", cfg->modules_dir, p->mod_paths[i]);
		ret = hash_file_id(&h, path, err, errlen);
		if (ret)
			snprintf(err, errlen, "missing module %s: %s", path, strerror(-ret));
	}
	gi_sha256_final(&h, out);
	return ret;
}

int gi_initramfs_cached(const struct gi_initramfs_config *cfg, const char *cache_dir,
			char *path_out, size_t path_len, char *err, size_t errlen)
{
	unsigned char sum[GI_SHA256_LEN];
	char hex[2 * GI_SHA256_LEN + 1];
	struct ir_plan p;
	struct stat st;
	size_t i;
	int ret;

	if (errlen)
		err[0] = '\0';
	ret = plan_init(&p, cfg, err, errlen);
	if (ret)
		return ret;
	ret = plan_hash(cfg, &p, sum, err, errlen);
	if (ret)
		goto out;
	for (i = 0; i < GI_SHA256_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", sum[i]);
	if (snprintf(path_out, path_len, "%s/initramfs-%s.cpio", cache_dir, hex) >=
	    (int)path_len) {
		ret = -ENAMETOOLONG;
		snprintf(err, errlen, "%s: cache path too long", cache_dir);
		goto out;
	}
	if (stat(path_out, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		goto out; /* hit */
	ret = gi_mkdir_p(cache_dir, 0700);
	if (ret) {
		snprintf(err, errlen, "%s: %s", cache_dir, strerror(-ret));
		goto out;
	}
	ret = build_plan(cfg, &p, path_out, err, errlen);
out:
	plan_fini(&p);
	return ret;
}
