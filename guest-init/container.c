// SPDX-License-Identifier: MIT
/*
 * container.c: the container items of a session applied (container.h): the
 * set-up of a container's root by the session handler, and the capability
 * sets of the command's process. Everything inside the root is reached
 * through openat2(RESOLVE_IN_ROOT) and mounted through /proc/self/fd, as runc
 * does, so the root's own symbolic links cannot point a mount outside it.
 */
#include "guest-init/container.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/*
 * The kernel ABI pieces musl does not ship (no Linux uapi headers in its include
 * path), copied as vsock_addr.h copies <linux/vm_sockets.h>.
 */

/* <linux/openat2.h>: struct open_how (OPEN_HOW_SIZE_VER0) and RESOLVE_* */
struct gi_open_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};
_Static_assert(sizeof(struct gi_open_how) == 24, "struct open_how");
#define GI_RESOLVE_NO_MAGICLINKS 0x02
#define GI_RESOLVE_IN_ROOT 0x10
#ifndef SYS_openat2
#define SYS_openat2 437 /* the same number on every architecture (Linux 5.6) */
#endif

/* <linux/capability.h>: capget/capset with version 3, two 32-bit halves per set */
#define GI_CAP_VERSION_3 0x20080522
struct gi_cap_header {
	uint32_t version;
	int pid;
};
struct gi_cap_data {
	uint32_t effective;
	uint32_t permitted;
	uint32_t inheritable;
};
_Static_assert(sizeof(struct gi_cap_data) == 12, "struct __user_cap_data_struct");
#define GI_CAP_MAX 63 /* bits in a k: mask */

/* <linux/stat.h>: struct statx up to stx_attributes_mask, padded to its 256 bytes */
struct gi_statx {
	uint32_t mask, blksize;
	uint64_t attributes;
	uint32_t nlink, uid, gid;
	uint16_t mode, pad0;
	uint64_t ino, size, blocks, attributes_mask;
	uint8_t rest[192];
};
_Static_assert(sizeof(struct gi_statx) == 256, "struct statx");
#define GI_STATX_ATTR_MOUNT_ROOT 0x2000 /* Linux 5.8 */

#define CT_ORDER "sMDPOY"       /* set-up keys, in the order they are applied */
#define CT_FD_PATH 32           /* "/proc/self/fd/N" */
#define CT_MAX_LINKS 40         /* dangling links followed making one path (MAXSYMLINKS) */

/* The set-up under way. */
struct ct {
	const struct gi_spec *sp;
	int root;               /* O_PATH fd of sp->root */
	const char *what;       /* the step that failed, for the message */
};

static void fd_path(char buf[CT_FD_PATH], int fd)
{
	snprintf(buf, CT_FD_PATH, "/proc/self/fd/%d", fd);
}

/*
 * (path), absolute as seen in the container, opened O_PATH inside the root
 * (plus (flags), e.g. O_DIRECTORY): ".." and symbolic links, absolute ones
 * too, stay inside it. Return: the fd or -errno (-ENOSYS before Linux 5.6).
 */
static int in_root(const struct ct *c, const char *path, int flags)
{
	struct gi_open_how how = { .flags = (uint64_t)(O_PATH | O_CLOEXEC | flags),
				   .resolve = GI_RESOLVE_IN_ROOT | GI_RESOLVE_NO_MAGICLINKS };
	long fd;

	while (*path == '/')
		path++;
	fd = syscall(SYS_openat2, c->root, *path ? path : ".", &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

/*
 * The last component of (prefix) (absolute, NUL-terminated, in a writable
 * buffer) created inside the root unless it exists: a directory (0755), or
 * an empty file (0644) when (file), in the directory its parent resolves to
 * inside the root. A symbolic link whose target is missing is not created
 * through: its text goes to (link) for the caller to follow.
 * Return: 0 it exists or was made; 1 a dangling link, in (link); -errno.
 */
static int make_one(const struct ct *c, char *prefix, bool file, char link[PATH_MAX])
{
	char *slash = strrchr(prefix, '/');
	int fd = in_root(c, prefix, 0), dir, r = 0;
	struct stat st;
	ssize_t n;

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (fd != -ENOENT)
		return fd;
	*slash = '\0';
	dir = in_root(c, prefix, O_DIRECTORY);
	*slash = '/';
	if (dir < 0)
		return dir;
	if (fstatat(dir, slash + 1, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
		n = readlinkat(dir, slash + 1, link, PATH_MAX - 1);
		r = n < 0 ? -errno : n == 0 ? -ENOENT : 1;
		if (n > 0)
			link[n] = '\0';
	} else if (file) {
		/* O_EXCL: whatever appeared meanwhile is not opened, the reopen decides */
		fd = openat(dir, slash + 1, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0644);
		if (fd >= 0)
			close(fd);
		else if (errno != EEXIST)
			r = -errno;
	} else if (mkdirat(dir, slash + 1, 0755) < 0 && errno != EEXIST) {
		r = -errno;
	}
	close(dir);
	return r;
}

/*
 * (buf) with its first (i) bytes, a path ending in a dangling link, replaced
 * by where (link) points: (link) when absolute, else beside the link.
 */
static int splice_link(char buf[PATH_MAX], size_t i, const char *link)
{
	char tmp[PATH_MAX];
	size_t dir = 0;
	int n;

	if (link[0] != '/')
		for (size_t k = 0; k < i; k++)
			if (buf[k] == '/')
				dir = k + 1; /* the parent's path and its '/' */
	n = snprintf(tmp, sizeof(tmp), "%.*s%s%s", (int)dir, buf, link, buf + i);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(buf, tmp, (size_t)n + 1);
	return 0;
}

/* One walk of (buf) from the root, making what is missing. Return: 0, 1 (buf respliced), -errno. */
static int make_along(const struct ct *c, char buf[PATH_MAX], bool file)
{
	char link[PATH_MAX];
	size_t n = strlen(buf), last;

	for (last = n; last > 1 && buf[last - 1] == '/'; last--)
		;
	/* each prefix "/a", "/a/b", ... ending before a '/' or at the end */
	for (size_t i = 1; i <= last; i++) {
		char save = buf[i];
		int r;

		if ((i < last && buf[i] != '/') || buf[i - 1] == '/')
			continue;
		buf[i] = '\0';
		r = make_one(c, buf, file && i == last, link);
		buf[i] = save;
		if (r == 1)
			r = splice_link(buf, i, link) ? -ENAMETOOLONG : 1;
		if (r)
			return r;
	}
	return 0;
}

/*
 * (path) opened O_PATH inside the root, what is missing of it created first
 * (mkdir -p; the last component an empty file when (file)). A dangling link
 * on the way is followed and its target created, inside the root, as runc
 * (securejoin) does: a /etc/resolv.conf pointing into an empty /run works.
 * Return: the fd or -errno (-ELOOP after CT_MAX_LINKS links).
 */
static int open_creating(const struct ct *c, const char *path, bool file)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);
	int fd = in_root(c, path, 0);

	if (fd != -ENOENT)
		return fd;
	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (int hops = 0; hops <= CT_MAX_LINKS; hops++) {
		int r = make_along(c, buf, file);

		if (r < 0)
			return r;
		if (r == 0)
			return in_root(c, path, 0);
	}
	return -ELOOP;
}

/* The flags a bind remount must keep of the mount (fd) is on (statfs f_flags, ST_*). */
static unsigned long kept_flags(int fd)
{
	static const struct {
		unsigned long st, ms;
	} map[] = {
		{ ST_NOSUID, MS_NOSUID },     { ST_NODEV, MS_NODEV },
		{ ST_NOEXEC, MS_NOEXEC },     { ST_NOATIME, MS_NOATIME },
		{ ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
	};
	struct statfs sfs;
	unsigned long ms = 0;

	if (fstatfs(fd, &sfs) < 0)
		return 0;
	for (size_t i = 0; i < GI_ARRAY_SIZE(map); i++)
		if ((unsigned long)sfs.f_flags & map[i].st)
			ms |= map[i].ms;
	return ms;
}

/*
 * Remount the bind mount now on (path) inside the root with (flags) (MS_*
 * without MS_BIND/MS_REMOUNT), reopened so that the fd names the new mount's
 * root, not the directory under it; (keep): and the flags it has.
 */
static int remount_in_root(struct ct *c, const char *path, unsigned long flags, bool keep)
{
	char p[CT_FD_PATH];
	int fd = in_root(c, path, 0), r = 0;

	if (fd < 0) {
		c->what = "reopen";
		return fd;
	}
	fd_path(p, fd);
	if (keep)
		flags |= kept_flags(fd);
	if (mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | flags, NULL) < 0) {
		c->what = "remount";
		r = -errno;
	}
	close(fd);
	return r;
}

/* s:KEY=VALUE: VALUE written to /proc/sys/KEY ('.' as '/'). */
static int do_sysctl(struct ct *c, const struct gi_spec_setup *m)
{
	char path[PATH_MAX];
	size_t len = strlen(m->value);
	int n = snprintf(path, sizeof(path), "/proc/sys/%s", m->path), fd;
	ssize_t w;

	if (n < 0 || (size_t)n >= sizeof(path)) {
		c->what = "open";
		return -ENAMETOOLONG;
	}
	for (char *p = path + 10; *p; p++) /* after "/proc/sys/" */
		if (*p == '.')
			*p = '/';
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		c->what = "open";
		return -errno;
	}
	do
		w = write(fd, m->value, len);
	while (w < 0 && errno == EINTR);
	n = w < 0 ? -errno : (size_t)w != len ? -EIO : 0;
	close(fd);
	c->what = "write";
	return n;
}

/* M:TYPE:FLAGS:DATA:DST. */
static int do_mount(struct ct *c, const struct gi_spec_setup *m)
{
	bool bind = !strcmp(m->fstype, "bind");
	char sp[CT_FD_PATH], dp[CT_FD_PATH];
	int src = -1, dst = -1, r = 0;
	struct stat st = { .st_mode = S_IFDIR };

	if (bind) {
		src = in_root(c, m->value, 0);
		if (src < 0 || fstat(src, &st) < 0) {
			c->what = "bind source";
			r = src < 0 ? src : -errno;
			goto out;
		}
		fd_path(sp, src);
	}
	dst = open_creating(c, m->path, !S_ISDIR(st.st_mode));
	if (dst < 0) {
		c->what = "mount point";
		r = dst;
		goto out;
	}
	fd_path(dp, dst);
	c->what = "mount";
	if (!bind) {
		if (mount(m->fstype, dp, m->fstype, m->flags, m->value) < 0)
			r = -errno;
	} else if (mount(sp, dp, NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0) {
		r = -errno;
	} else if (m->flags & ~(unsigned long)MS_REC) {
		/* a bind takes no flags of its own: they come with a remount (mount(8)) */
		r = remount_in_root(c, m->path, m->flags & ~(unsigned long)MS_REC, false);
	}
out:
	if (dst >= 0)
		close(dst);
	if (src >= 0)
		close(src);
	return r;
}

/* D:1: the nodes and links of a container's /dev (the OCI runtime spec's default devices). */
static int do_dev(struct ct *c)
{
	static const struct {
		const char *name;
		unsigned int major, minor;
	} nodes[] = {
		/* Documentation/admin-guide/devices.txt */
		{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
		{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
	};
	static const char *const links[][2] = {
		{ "fd", "/proc/self/fd" },      { "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
		{ "ptmx", "pts/ptmx" },          { "core", "/proc/kcore" },
	};
	int dev = open_creating(c, "/dev", false), r = 0;

	if (dev < 0) {
		c->what = "/dev";
		return dev;
	}
	for (size_t i = 0; !r && i < GI_ARRAY_SIZE(nodes); i++) {
		c->what = nodes[i].name;
		if (mknodat(dev, nodes[i].name, S_IFCHR | 0666,
			    makedev(nodes[i].major, nodes[i].minor)) < 0 && errno != EEXIST)
			r = -errno;
	}
	for (size_t i = 0; !r && i < GI_ARRAY_SIZE(links); i++) {
		c->what = links[i][0];
		if (symlinkat(links[i][1], dev, links[i][0]) < 0 && errno != EEXIST)
			r = -errno;
	}
	if (!r) {
		c->what = "pts";
		if (mkdirat(dev, "pts", 0755) < 0 && errno != EEXIST)
			r = -errno;
	}
	if (!r) {
		c->what = "shm";
		if (mkdirat(dev, "shm", 01777) < 0 && errno != EEXIST)
			r = -errno;
	}
	close(dev);
	return r;
}

/* P:PATH (mask) and O:PATH (read-only); a PATH that is not there is left alone. */
static int do_path(struct ct *c, const struct gi_spec_setup *m)
{
	char p[CT_FD_PATH];
	struct stat st;
	int fd = in_root(c, m->path, 0), r = 0;

	if (fd == -ENOENT || fd == -ENOTDIR)
		return 0;
	if (fd < 0 || fstat(fd, &st) < 0) {
		c->what = "open";
		return fd < 0 ? fd : -errno;
	}
	fd_path(p, fd);
	c->what = "mount";
	if (m->key == 'P' && S_ISDIR(st.st_mode))
		r = mount("tmpfs", p, "tmpfs", MS_RDONLY, NULL) < 0 ? -errno : 0;
	else if (m->key == 'P')
		r = mount("/dev/null", p, NULL, MS_BIND, NULL) < 0 ? -errno : 0;
	else if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0)
		r = -errno;
	else /* O: read-only; the nosuid, nodev, noexec it had stay */
		r = remount_in_root(c, m->path, MS_RDONLY, true);
	close(fd);
	return r;
}

/* Y:1: the root itself read-only, bound onto itself first unless it is a mount point. */
static int do_root_ro(struct ct *c)
{
	const char *dir = c->sp->root;
	struct gi_statx stx;
	char p[CT_FD_PATH];
	bool mnt_root = false;
	int fd, r = 0;

	/* before Linux 5.8 statx cannot tell: a second bind on a mount point does no harm */
	if (syscall(SYS_statx, c->root, "", AT_EMPTY_PATH, 0, &stx) == 0 &&
	    (stx.attributes_mask & GI_STATX_ATTR_MOUNT_ROOT))
		mnt_root = stx.attributes & GI_STATX_ATTR_MOUNT_ROOT;
	c->what = "bind";
	if (!mnt_root && mount(dir, dir, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -errno;
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		c->what = "reopen";
		return -errno;
	}
	fd_path(p, fd);
	c->what = "remount";
	if (mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | kept_flags(fd), NULL) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int do_item(struct ct *c, const struct gi_spec_setup *m)
{
	switch (m->key) {
	case 's':
		return do_sysctl(c, m);
	case 'M':
		return do_mount(c, m);
	case 'D':
		return do_dev(c);
	case 'P':
	case 'O':
		return do_path(c, m);
	}
	return do_root_ro(c);
}

/* "set-up ITEM: what: strerror" (paths and values cut, the item recognisable). */
static void item_msg(char *msg, size_t len, const struct gi_spec_setup *m, const char *what,
		     int err)
{
	char item[640];

	switch (m->key) {
	case 's':
		snprintf(item, sizeof(item), "s:%.256s=%.64s", m->path, m->value);
		break;
	case 'M':
		snprintf(item, sizeof(item), "M:%s:%lx:%.160s:%.256s", m->fstype, m->flags,
			 m->value ? m->value : "-", m->path);
		break;
	case 'P':
	case 'O':
		snprintf(item, sizeof(item), "%c:%.256s", m->key, m->path);
		break;
	default:
		snprintf(item, sizeof(item), "%c:1", m->key);
		break;
	}
	snprintf(msg, len, "set-up %s: %s: %s", item, what, strerror(err));
}

int gi_ct_setup(const struct gi_spec *sp, char *msg, size_t msglen)
{
	struct ct c = { .sp = sp, .root = -1 };
	mode_t old = umask(0);
	int r = 0;

	c.root = open(sp->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c.root < 0) {
		r = -errno;
		snprintf(msg, msglen, "set-up: root %.256s: %s", sp->root, strerror(-r));
		goto out;
	}
	for (const char *k = CT_ORDER; !r && *k; k++) {
		for (size_t i = 0; !r && i < sp->nr_setup; i++) {
			const struct gi_spec_setup *m = &sp->setup[i];

			if (m->key != *k)
				continue;
			c.what = "?";
			r = do_item(&c, m);
			if (r)
				item_msg(msg, msglen, m, c.what, -r);
		}
	}
	close(c.root);
out:
	umask(old);
	return r;
}

/* ---- capabilities -------------------------------------------------------- */

/* The kernel's last capability (/proc/sys/kernel/cap_last_cap, without /proc). */
static int cap_last(void)
{
	int last = 0;

	while (last < GI_CAP_MAX && prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0)
		last++;
	return last;
}

int gi_ct_caps_bound(const struct gi_spec_caps *caps)
{
	int last = cap_last();

	for (int cap = 0; cap <= last; cap++)
		if (!(caps->bnd >> cap & 1) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return -errno;
	return prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 ? -errno : 0;
}

int gi_ct_caps_apply(const struct gi_spec_caps *caps)
{
	struct gi_cap_header h = { .version = GI_CAP_VERSION_3, .pid = 0 };
	struct gi_cap_data d[2] = {
		{ (uint32_t)caps->eff, (uint32_t)caps->prm, (uint32_t)caps->inh },
		{ (uint32_t)(caps->eff >> 32), (uint32_t)(caps->prm >> 32),
		  (uint32_t)(caps->inh >> 32) },
	};
	int last = cap_last();

	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
	/* ambient capabilities: Linux 4.3; without them there is nothing to clear */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && (errno != EINVAL ||
									  caps->amb))
		return -errno;
	for (int cap = 0; cap <= last; cap++)
		if ((caps->amb >> cap & 1) &&
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			return -errno;
	return prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 ? -errno : 0;
}
