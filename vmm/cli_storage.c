// SPDX-License-Identifier: MIT
/*
 * cli_storage.c: the --disk, --share and --fs options (vmm/cli_storage.h),
 * parsed into struct vm_disk and struct vm_share, and their checks across
 * options.
 */
#include "vmm/cli_storage.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * An image option's flags: "ro", a (second) flag of its own ("direct" for
 * --disk, "dax" for --pmem) and "mount=/path" (a later one replaces an
 * earlier one).
 */
struct image_opts {
	char *path;
	size_t path_size;
	char *mount;
	size_t mount_size;
	bool *readonly;
	const char *flag; /* the option's own flag word */
	bool *flag_set;
};

/* "--OPT PATH[,ro][,FLAG][,mount=DIR]" into (o); one message naming (opt) otherwise. */
static int image_opts_parse(const char *opt, const char *arg, const struct image_opts *o,
			    char *err, size_t errlen)
{
	size_t n = strcspn(arg, ","), flag_len = strlen(o->flag);
	const char *p, *end;

	if (n == 0 || n >= o->path_size) {
		snprintf(err, errlen, "%s %s: expected PATH[,ro][,%s][,mount=DIR]", opt, arg,
			 o->flag);
		return -EINVAL;
	}
	memcpy(o->path, arg, n);
	for (p = arg + n; *p == ','; p = end) {
		p++;
		end = p + strcspn(p, ",");
		n = (size_t)(end - p);
		if (n == 2 && !strncmp(p, "ro", 2)) {
			*o->readonly = true;
		} else if (n == flag_len && !strncmp(p, o->flag, n)) {
			*o->flag_set = true;
		} else if (n > 6 && !strncmp(p, "mount=", 6) && p[6] == '/' &&
			   n - 6 < o->mount_size) {
			memcpy(o->mount, p + 6, n - 6);
			o->mount[n - 6] = 0;
		} else {
			snprintf(err, errlen, "%s %s: unknown option '%.*s' (expected ro, %s or "
				 "mount=/absolute/path)", opt, arg, (int)n, p, o->flag);
			return -EINVAL;
		}
	}
	return 0;
}

/* --disk PATH[,ro][,direct][,mount=/guest/path] */
int cli_disk(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	struct vm_disk *d;

	if (cfg->nr_disks >= VM_MAX_DISKS) {
		snprintf(err, errlen, "--disk %s: at most %d disks", arg, VM_MAX_DISKS);
		return -EINVAL;
	}
	d = &cfg->disks[cfg->nr_disks];
	memset(d, 0, sizeof(*d));
	struct image_opts o = { d->path, sizeof(d->path), d->mount, sizeof(d->mount),
				&d->readonly, "direct", &d->direct };
	if (image_opts_parse("--disk", arg, &o, err, errlen))
		return -EINVAL;
	cfg->nr_disks++;
	return 0;
}

static bool guest_path_ok(const char *p);

/* --pmem PATH[,ro][,mount=/guest/path][,dax] */
int cli_pmem(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	struct vm_pmem *d;

	if (cfg->nr_pmems >= VM_MAX_PMEM) {
		snprintf(err, errlen, "--pmem %s: at most %d pmem devices", arg, VM_MAX_PMEM);
		return -EINVAL;
	}
	d = &cfg->pmems[cfg->nr_pmems];
	memset(d, 0, sizeof(*d));
	struct image_opts o = { d->path, sizeof(d->path), d->mount, sizeof(d->mount),
				&d->readonly, "dax", &d->dax };
	if (image_opts_parse("--pmem", arg, &o, err, errlen))
		return -EINVAL;
	if (d->mount[0] && !guest_path_ok(d->mount)) {
		snprintf(err, errlen, "--pmem %s: mount=%s is not a clean absolute path", arg,
			 d->mount);
		return -EINVAL;
	}
	if (d->dax && !d->mount[0]) {
		snprintf(err, errlen, "--pmem %s: dax is a mount option: it needs mount=DIR", arg);
		return -EINVAL;
	}
	cfg->nr_pmems++;
	return 0;
}

/*
 * A guest mount point: absolute, not "/", no empty, "." or ".." component,
 * no trailing '/', and bytes guest-init can take (no control characters).
 */
static bool guest_path_ok(const char *p)
{
	if (p[0] != '/' || !p[1] || strlen(p) >= VM_PATH_MAX)
		return false;
	for (const char *c = p; *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return false;
		if (*c != '/')
			continue;
		if (c[1] == '/' || c[1] == 0 ||
		    (c[1] == '.' && (c[2] == '/' || c[2] == 0 ||
				     (c[2] == '.' && (c[3] == '/' || c[3] == 0)))))
			return false;
	}
	return true;
}

static struct vm_share *new_share(const char *opt, const char *arg, struct vm_config *cfg,
				  char *err, size_t errlen)
{
	struct vm_share *s;

	if (cfg->nr_shares >= VM_MAX_SHARES) {
		snprintf(err, errlen, "%s %s: at most %d shares", opt, arg, VM_MAX_SHARES);
		return NULL;
	}
	s = &cfg->shares[cfg->nr_shares];
	memset(s, 0, sizeof(*s));
	return s;
}

/* --share ro|rw:HOST[:GUEST]; the last ':' separates GUEST (so HOST may hold ':' with GUEST). */
int cli_share(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	char host[VM_PATH_MAX], canon[PATH_MAX];
	struct vm_share *s = new_share("--share", arg, cfg, err, errlen);
	const char *rest, *colon;
	struct stat st;

	if (!s)
		return -EINVAL;
	if (strncmp(arg, "ro:", 3) && strncmp(arg, "rw:", 3)) {
		snprintf(err, errlen, "--share %s: expected ro:HOST[:GUEST] or rw:HOST[:GUEST]", arg);
		return -EINVAL;
	}
	s->readonly = arg[1] == 'o';
	rest = arg + 3;
	colon = strrchr(rest, ':');
	size_t n = colon ? (size_t)(colon - rest) : strlen(rest);
	if (n == 0 || n >= sizeof(host)) {
		snprintf(err, errlen, "--share %s: expected ro:HOST[:GUEST] or rw:HOST[:GUEST]", arg);
		return -EINVAL;
	}
	memcpy(host, rest, n);
	host[n] = 0;
	if (stat(host, &st) < 0) {
		snprintf(err, errlen, "--share %s: %s: %s", arg, host, strerror(errno));
		return -EINVAL;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "--share %s: %s: not a directory", arg, host);
		return -EINVAL;
	}
	if (!realpath(host, canon) || strlen(canon) >= sizeof(s->host)) {
		snprintf(err, errlen, "--share %s: %s: cannot resolve the path", arg, host);
		return -EINVAL;
	}
	strcpy(s->host, canon);
	snprintf(s->guest, sizeof(s->guest), "%s", colon ? colon + 1 : s->host);
	if (!guest_path_ok(s->guest)) {
		snprintf(err, errlen, "--share %s: guest path '%s' must be absolute, not /, without "
			 "'.', '..' or empty parts", arg, s->guest);
		return -EINVAL;
	}
	snprintf(s->tag, sizeof(s->tag), "share%u", cfg->nr_shares);
	cfg->nr_shares++;
	return 0;
}

/* A virtio-fs tag guest-init can pass around unencoded: [A-Za-z0-9._-], 1..36 bytes. */
static bool tag_ok(const char *t, size_t n)
{
	if (n == 0 || n > VM_TAG_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
		      (t[i] >= '0' && t[i] <= '9') || strchr("._-", t[i])))
			return false;
	return true;
}

/* wait=SECONDS of --fs: 0..VM_FS_WAIT_MAX_S, digits only. */
static bool fs_wait_parse(const char *p, size_t n, unsigned *out)
{
	unsigned v = 0;

	if (n == 0 || n > 4)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	*out = v;
	return v <= VM_FS_WAIT_MAX_S;
}

/* --fs tag=T,socket=S[,mount=DIR][,wait=SECONDS] */
int cli_fs(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	struct vm_share *s = new_share("--fs", arg, cfg, err, errlen);
	const char *p, *end;
	struct stat st;

	if (!s)
		return -EINVAL;
	s->external = true;
	s->wait_s = VM_FS_WAIT_DEFAULT_S;
	for (p = arg; *p; p = *end ? end + 1 : end) {
		end = p + strcspn(p, ",");
		size_t n = (size_t)(end - p);

		if (n > 4 && !strncmp(p, "tag=", 4) && tag_ok(p + 4, n - 4)) {
			memcpy(s->tag, p + 4, n - 4);
			s->tag[n - 4] = 0;
		} else if (n > 4 && !strncmp(p, "tag=", 4)) {
			snprintf(err, errlen, "--fs %s: tag must be 1 to %d bytes of A-Z a-z 0-9 . _ -",
				 arg, VM_TAG_MAX);
			return -EINVAL;
		} else if (n > 7 && !strncmp(p, "socket=", 7) && n - 7 < sizeof(s->socket)) {
			memcpy(s->socket, p + 7, n - 7);
			s->socket[n - 7] = 0;
		} else if (n > 6 && !strncmp(p, "mount=", 6) && n - 6 < sizeof(s->guest)) {
			memcpy(s->guest, p + 6, n - 6);
			s->guest[n - 6] = 0;
			if (!guest_path_ok(s->guest)) {
				snprintf(err, errlen, "--fs %s: mount path '%s' must be absolute, not /, "
					 "without '.', '..' or empty parts", arg, s->guest);
				return -EINVAL;
			}
		} else if (n >= 5 && !strncmp(p, "wait=", 5)) {
			if (!fs_wait_parse(p + 5, n - 5, &s->wait_s)) {
				snprintf(err, errlen, "--fs %s: wait must be 0 to %u seconds", arg,
					 VM_FS_WAIT_MAX_S);
				return -EINVAL;
			}
		} else {
			snprintf(err, errlen, "--fs %s: unknown option '%.*s' (expected tag=T, "
				 "socket=PATH, mount=/guest/path, wait=SECONDS)", arg, (int)n, p);
			return -EINVAL;
		}
	}
	if (!s->tag[0] || !s->socket[0]) {
		snprintf(err, errlen, "--fs %s: needs tag=T and socket=PATH", arg);
		return -EINVAL;
	}
	/* a back end started beside us may create its socket later: connecting waits */
	bool exists = stat(s->socket, &st) == 0;

	if (!exists && (errno != ENOENT || !s->wait_s)) {
		snprintf(err, errlen, "--fs %s: %s: %s", arg, s->socket, strerror(errno));
		return -EINVAL;
	}
	if (exists && !S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "--fs %s: %s: not a socket", arg, s->socket);
		return -EINVAL;
	}
	cfg->nr_shares++;
	return 0;
}

/* After all options: no share directory or guest path given twice, none on a --disk mount. */
int cli_check_shares(const struct vm_config *cfg, char *err, size_t errlen)
{
	for (unsigned i = 0; i < cfg->nr_shares; i++) {
		const struct vm_share *a = &cfg->shares[i];
		const char *what = a->external ? "--fs" : "--share";
		const char *name = a->external ? a->tag : a->host;

		for (unsigned j = 0; j < i; j++) {
			const struct vm_share *b = &cfg->shares[j];

			if (!a->external && !b->external && !strcmp(a->host, b->host)) {
				snprintf(err, errlen, "--share %s: directory shared twice", a->host);
				return -EINVAL;
			}
			if (a->guest[0] && !strcmp(a->guest, b->guest)) {
				snprintf(err, errlen, "%s %s: guest path %s is used twice", what, name,
					 a->guest);
				return -EINVAL;
			}
			if (!strcmp(a->tag, b->tag)) {
				snprintf(err, errlen, "--fs %s: tag used twice", a->tag);
				return -EINVAL;
			}
		}
		for (unsigned j = 0; j < cfg->nr_disks; j++) {
			if (a->guest[0] && !strcmp(a->guest, cfg->disks[j].mount)) {
				snprintf(err, errlen, "%s %s: guest path %s is also a --disk mount", what,
					 name, a->guest);
				return -EINVAL;
			}
		}
	}
	for (unsigned i = 0; i < cfg->nr_pmems; i++) {
		const char *m = cfg->pmems[i].mount;
		const char *clash = NULL;

		for (unsigned j = 0; m[0] && j < i; j++)
			if (!strcmp(m, cfg->pmems[j].mount))
				clash = "another --pmem";
		for (unsigned j = 0; m[0] && !clash && j < cfg->nr_disks; j++)
			if (!strcmp(m, cfg->disks[j].mount))
				clash = "a --disk";
		for (unsigned j = 0; m[0] && !clash && j < cfg->nr_shares; j++)
			if (!strcmp(m, cfg->shares[j].guest))
				clash = "a --share or --fs";
		if (clash) {
			snprintf(err, errlen, "--pmem %s: guest path %s is also %s mount",
				 cfg->pmems[i].path, m, clash);
			return -EINVAL;
		}
	}
	/* a share's back end maps guest RAM: shared pages, which KSM never merges */
	if (cfg->ksm && cfg->nr_shares) {
		snprintf(err, errlen, "--ksm: not with --share or --fs (their back ends need shared "
			 "guest RAM, which the host's KSM does not merge)");
		return -EINVAL;
	}
	return 0;
}
