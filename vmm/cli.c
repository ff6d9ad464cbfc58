// SPDX-License-Identifier: MIT
/* cli.c: command-line parsing into struct vm_config. */
#include "vmm/cli.h"

#include <errno.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLI_MIN_MEM_MIB 16

static const char usage[] =
	"usage: agentvmm --kernel FILE [options] [-- CMD [ARGS...]]\n"
	"       agentvmm ctl SOCKET ping|info|pause|resume|shutdown|kill [--json]\n"
	"\n"
	"Boot FILE (a bzImage, or an ELF vmlinux with a PVH note) in a throwaway VM.\n"
	"With -- CMD, run CMD in the guest and exit with its status; without it,\n"
	"get an interactive shell on the console (Ctrl-A x quits).\n"
	"\n"
	"  --kernel FILE       kernel to boot (required)\n"
	"  --initrd FILE       initramfs to use instead of agentvmm's own\n"
	"  --modules-dir DIR   the kernel's lib/modules/<release> (default: found\n"
	"                      beside the kernel or in /lib/modules)\n"
	"  --cmdline STR       extra kernel parameters, appended to agentvmm's\n"
	"                      (the kernel's last-wins rule lets them override ours)\n"
	"  --init PATH         after mounting disks and shares, hand PID 1 to the\n"
	"                      system init at guest path PATH (e.g. a NixOS\n"
	"                      toplevel's /init); an init= in --cmdline does the\n"
	"                      same; not with -- CMD\n"
	"  --disk PATH[,ro][,direct][,mount=DIR]\n"
	"                      attach a raw image as virtio-blk (/dev/vda, vdb...);\n"
	"                      mount=DIR mounts it there (a blank image gets ext4)\n"
	"  --share ro:HOST[:GUEST], --share rw:HOST[:GUEST]\n"
	"                      share directory HOST at GUEST (default: the same\n"
	"                      path) through virtio-fs; agentvmm runs virtiofsd.\n"
	"                      ro is enforced on the host; ro:/usr and\n"
	"                      ro:/nix/store get a throwaway writable overlay\n"
	"  --fs tag=T,socket=S[,mount=DIR]\n"
	"                      attach a virtiofsd someone else runs (mount it at DIR)\n"
	"  --net tap=NAME[,mac=MAC][,ip=A.B.C.D/N][,gw=A.B.C.D][,dns=A.B.C.D]\n"
	"                      attach a virtio-net NIC on tap NAME (created, and\n"
	"                      removed at exit, when it does not exist and agentvmm\n"
	"                      has CAP_NET_ADMIN); ip= makes guest-init configure it\n"
	"  --owner UID:GID     owner of files the guest creates in rw shares\n"
	"                      (default: the invoking user, SUDO_UID under sudo)\n"
	"  --api-socket PATH   serve the JSON-lines control socket at PATH\n"
	"                      (agentvmm ctl PATH CMD; see docs/control-socket.md)\n"
	"  --api-allow-uid UID also accept control connections from UID (root\n"
	"                      and agentvmm's own uid always are); repeatable\n"
	"  --cpus N            virtual CPUs (default 1)\n"
	"  --mem MIB           guest RAM in MiB (default 512)\n"
	"  --shutdown-timeout SECONDS\n"
	"                      on SIGTERM, SIGINT or SIGHUP press the guest's power\n"
	"                      button and wait this long for a clean shutdown before\n"
	"                      stopping it by force (default 10; 0: force at once)\n"
	"  --console-log       show the kernel's messages\n"
	"  -v, --verbose       kernel messages plus agentvmm's own progress\n"
	"  --raw-image FILE    boot flat 16-bit code at 0000:1000 instead of a\n"
	"                      kernel (tiny test guests)\n"
	"  --seccomp=MODE      on (default): each thread may make only the syscalls\n"
	"                      it needs, others end agentvmm with status 1; log:\n"
	"                      report them and fail them with EPERM; off\n"
	"  --no-seccomp        the same as --seccomp=off (debugging)\n"
	"  -h, --help          this text\n"
	"  --version           print the version\n"
	"\n"
	"Exit status: the command's status; 0 after a guest poweroff or reboot;\n"
	"125 guest kernel panic or triple fault; 2 bad usage; 1 host failure;\n"
	"128+N when a signal N stopped the guest by force; after a clean shutdown\n"
	"on a signal, the command's status (143 when SIGTERM ended it).\n";

const char *cli_usage(void)
{
	return usage;
}

enum {
	OPT_KERNEL = 0x100,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_CPUS,
	OPT_MEM,
	OPT_MODULES_DIR,
	OPT_CONSOLE_LOG,
	OPT_VERSION,
	OPT_RAW_IMAGE,
	OPT_DISK,
	OPT_SHARE,
	OPT_FS,
	OPT_OWNER,
	OPT_NET,
	OPT_SHUTDOWN_TIMEOUT,
	OPT_API_SOCKET,
	OPT_API_ALLOW_UID,
	OPT_SECCOMP,
	OPT_NO_SECCOMP,
	OPT_INIT,
};

static const struct option long_opts[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "mem", required_argument, NULL, OPT_MEM },
	{ "modules-dir", required_argument, NULL, OPT_MODULES_DIR },
	{ "console-log", no_argument, NULL, OPT_CONSOLE_LOG },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "raw-image", required_argument, NULL, OPT_RAW_IMAGE },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "share", required_argument, NULL, OPT_SHARE },
	{ "fs", required_argument, NULL, OPT_FS },
	{ "owner", required_argument, NULL, OPT_OWNER },
	{ "net", required_argument, NULL, OPT_NET },
	{ "shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT },
	{ "api-socket", required_argument, NULL, OPT_API_SOCKET },
	{ "api-allow-uid", required_argument, NULL, OPT_API_ALLOW_UID },
	{ "seccomp", required_argument, NULL, OPT_SECCOMP },
	{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
	{ "init", required_argument, NULL, OPT_INIT },
	{ NULL, 0, NULL, 0 },
};

/* Strict unsigned decimal: no sign, no spaces, no trailing junk, no overflow. */
static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

static uint64_t host_mem_mib(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);

	if (pages <= 0 || psz <= 0)
		return UINT64_MAX;
	return (uint64_t)pages * (uint64_t)psz >> 20;
}

/* --disk PATH[,ro][,direct][,mount=/guest/path] */
static int cli_disk(const char *arg, struct vm_config *cfg, char *err, size_t errlen)
{
	struct vm_disk *d;
	const char *p, *end;
	size_t n;

	if (cfg->nr_disks >= VM_MAX_DISKS) {
		snprintf(err, errlen, "--disk %s: at most %d disks", arg, VM_MAX_DISKS);
		return -EINVAL;
	}
	d = &cfg->disks[cfg->nr_disks];
	memset(d, 0, sizeof(*d));
	n = strcspn(arg, ",");
	if (n == 0 || n >= sizeof(d->path)) {
		snprintf(err, errlen, "--disk %s: expected PATH[,ro][,direct][,mount=DIR]", arg);
		return -EINVAL;
	}
	memcpy(d->path, arg, n);
	for (p = arg + n; *p == ','; p = end) {
		p++;
		end = p + strcspn(p, ",");
		n = (size_t)(end - p);
		if (n == 2 && !strncmp(p, "ro", 2)) {
			d->readonly = true;
		} else if (n == 6 && !strncmp(p, "direct", 6)) {
			d->direct = true;
		} else if (n > 6 && !strncmp(p, "mount=", 6) && p[6] == '/' &&
			   n - 6 < sizeof(d->mount)) {
			memcpy(d->mount, p + 6, n - 6);
		} else {
			snprintf(err, errlen, "--disk %s: unknown option '%.*s' (expected ro, direct "
				 "or mount=/absolute/path)", arg, (int)n, p);
			return -EINVAL;
		}
	}
	cfg->nr_disks++;
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
static int cli_share(const char *arg, struct vm_config *cfg, char *err, size_t errlen)
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

/* --fs tag=T,socket=S[,mount=DIR] */
static int cli_fs(const char *arg, struct vm_config *cfg, char *err, size_t errlen)
{
	struct vm_share *s = new_share("--fs", arg, cfg, err, errlen);
	const char *p, *end;
	struct stat st;

	if (!s)
		return -EINVAL;
	s->external = true;
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
		} else {
			snprintf(err, errlen, "--fs %s: unknown option '%.*s' (expected tag=T, "
				 "socket=PATH, mount=/guest/path)", arg, (int)n, p);
			return -EINVAL;
		}
	}
	if (!s->tag[0] || !s->socket[0]) {
		snprintf(err, errlen, "--fs %s: needs tag=T and socket=PATH", arg);
		return -EINVAL;
	}
	if (stat(s->socket, &st) < 0) {
		snprintf(err, errlen, "--fs %s: %s: %s", arg, s->socket, strerror(errno));
		return -EINVAL;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "--fs %s: %s: not a socket", arg, s->socket);
		return -EINVAL;
	}
	cfg->nr_shares++;
	return 0;
}

/* --init PATH: an absolute guest path on one line, shorter than VM_INIT_MAX. */
static int cli_init(const char *arg, struct vm_config *cfg, char *err, size_t errlen)
{
	size_t n = strlen(arg);

	if (arg[0] != '/') {
		snprintf(err, errlen, "--init %s: must be an absolute path in the guest", arg);
		return -EINVAL;
	}
	if (n >= VM_INIT_MAX) {
		snprintf(err, errlen, "--init %.64s...: longer than %d bytes", arg, VM_INIT_MAX - 1);
		return -EINVAL;
	}
	for (const char *c = arg; *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			snprintf(err, errlen, "--init %s: control characters cannot be passed to the "
				 "guest", arg);
			return -EINVAL;
		}
	}
	cfg->init = arg;
	return 0;
}

/* --owner UID:GID */
static int cli_owner(const char *arg, struct vm_config *cfg, char *err, size_t errlen)
{
	char uid[32];
	const char *colon = strchr(arg, ':');
	uint64_t u, g;

	if (!colon || (size_t)(colon - arg) >= sizeof(uid))
		goto bad;
	memcpy(uid, arg, (size_t)(colon - arg));
	uid[colon - arg] = 0;
	if (parse_u64(uid, &u) || parse_u64(colon + 1, &g) || u >= UINT32_MAX || g >= UINT32_MAX)
		goto bad;
	cfg->owner_set = true;
	cfg->owner_uid = (unsigned)u;
	cfg->owner_gid = (unsigned)g;
	return 0;
bad:
	snprintf(err, errlen, "--owner %s: expected UID:GID (numbers)", arg);
	return -EINVAL;
}

/* A tap name the kernel takes: 1..15 bytes, no '/', ':' or whitespace, not "." or "..". */
static bool ifname_ok(const char *t, size_t n)
{
	if (n == 0 || n >= VM_IFNAME_MAX || (n == 1 && t[0] == '.') ||
	    (n == 2 && t[0] == '.' && t[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] <= ' ' || t[i] == '/' || t[i] == ':' || t[i] == 0x7f)
			return false;
	return true;
}

/* "02:00:00:00:00:05": six pairs of hex digits split by ':', unicast. */
int cli_parse_mac(const char *s, size_t n, uint8_t mac[6])
{
	static const char hex[] = "0123456789abcdef0123456789ABCDEF";

	if (n != 17)
		return -EINVAL;
	for (unsigned i = 0; i < 6; i++) {
		const char *h = strchr(hex, s[3 * i]), *l = strchr(hex, s[3 * i + 1]);

		if (!s[3 * i] || !s[3 * i + 1] || !h || !l || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)(((h - hex) % 16) << 4 | (l - hex) % 16);
	}
	if (mac[0] & 1)
		return -EINVAL; /* multicast / broadcast cannot be a NIC's address */
	if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return -EINVAL;
	return 0;
}

/*
 * An IPv4 address "A.B.C.D" (strict dotted quad, inet_pton) or, with
 * (prefix) non-NULL, "A.B.C.D/N" with N in 1..32, into canonical text (out).
 */
int cli_parse_ipv4(const char *s, size_t n, bool prefix, char *out, size_t outlen)
{
	char buf[32];
	const char *slash;
	struct in_addr a;
	uint64_t p = 32;

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = 0;
	slash = strchr(buf, '/');
	if (prefix != !!slash)
		return -EINVAL;
	if (slash) {
		buf[slash - buf] = 0;
		if (parse_u64(slash + 1, &p) || p < 1 || p > 32 || strlen(slash + 1) > 2)
			return -EINVAL;
	}
	if (inet_pton(AF_INET, buf, &a) != 1 || a.s_addr == 0)
		return -EINVAL;
	inet_ntop(AF_INET, &a, buf, sizeof(buf));
	if (prefix)
		snprintf(out, outlen, "%s/%u", buf, (unsigned)p);
	else
		snprintf(out, outlen, "%s", buf);
	return 0;
}

/* The default MAC: 02 (locally administered, unicast) + 40 bits of FNV-1a of the tap name. */
void cli_default_mac(const char *tap, uint8_t mac[6])
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const char *c = tap; *c; c++)
		h = (h ^ (uint8_t)*c) * 0x100000001b3ULL;
	mac[0] = 0x02;
	for (unsigned i = 1; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * (i - 1)));
}

#define NET_USAGE "expected tap=NAME[,mac=MAC][,ip=A.B.C.D/N][,gw=A.B.C.D][,dns=A.B.C.D]"

/* One "key=value" of --net (p, n) into (d). */
static int cli_net_item(const char *arg, const char *p, size_t n, struct vm_net *d,
			bool *mac_set, char *err, size_t errlen)
{
	if (n >= 4 && !strncmp(p, "tap=", 4)) {
		if (!ifname_ok(p + 4, n - 4)) {
			snprintf(err, errlen, "--net %s: tap name must be 1 to %d bytes without '/', "
				 "':' or spaces", arg, VM_IFNAME_MAX - 1);
			return -EINVAL;
		}
		memcpy(d->tap, p + 4, n - 4);
		d->tap[n - 4] = 0;
	} else if (n >= 4 && !strncmp(p, "mac=", 4)) {
		if (cli_parse_mac(p + 4, n - 4, d->mac)) {
			snprintf(err, errlen, "--net %s: malformed MAC address '%.*s' (expected a "
				 "unicast address like 02:00:00:00:00:01)", arg, (int)(n - 4), p + 4);
			return -EINVAL;
		}
		*mac_set = true;
	} else if (n >= 3 && !strncmp(p, "ip=", 3)) {
		if (cli_parse_ipv4(p + 3, n - 3, true, d->ip, sizeof(d->ip))) {
			snprintf(err, errlen, "--net %s: malformed address '%.*s' (expected "
				 "A.B.C.D/N, N from 1 to 32)", arg, (int)(n - 3), p + 3);
			return -EINVAL;
		}
	} else if (n >= 3 && (!strncmp(p, "gw=", 3) || !strncmp(p, "dns=", 4))) {
		bool gw = p[0] == 'g';
		size_t k = gw ? 3 : 4;

		if (cli_parse_ipv4(p + k, n - k, false, gw ? d->gw : d->dns, sizeof(d->gw))) {
			snprintf(err, errlen, "--net %s: malformed address '%.*s' (expected A.B.C.D)",
				 arg, (int)(n - k), p + k);
			return -EINVAL;
		}
	} else {
		snprintf(err, errlen, "--net %s: unknown option '%.*s' (" NET_USAGE ")", arg, (int)n, p);
		return -EINVAL;
	}
	return 0;
}

/* --net tap=NAME[,mac=MAC][,ip=A.B.C.D/N][,gw=A.B.C.D][,dns=A.B.C.D] */
static int cli_net(const char *arg, struct vm_config *cfg, char *err, size_t errlen)
{
	struct vm_net *d;
	bool mac_set = false;
	const char *p, *end;

	if (cfg->nr_nets >= VM_MAX_NETS) {
		snprintf(err, errlen, "--net %s: at most %d network devices", arg, VM_MAX_NETS);
		return -EINVAL;
	}
	d = &cfg->nets[cfg->nr_nets];
	memset(d, 0, sizeof(*d));
	for (p = arg; *p; p = *end ? end + 1 : end) {
		end = p + strcspn(p, ",");
		int r = cli_net_item(arg, p, (size_t)(end - p), d, &mac_set, err, errlen);

		if (r)
			return r;
	}
	if (!d->tap[0]) {
		snprintf(err, errlen, "--net %s: " NET_USAGE, arg);
		return -EINVAL;
	}
	if ((d->gw[0] || d->dns[0]) && !d->ip[0]) {
		snprintf(err, errlen, "--net %s: gw= and dns= need ip=", arg);
		return -EINVAL;
	}
	if (!mac_set)
		cli_default_mac(d->tap, d->mac);
	cfg->nr_nets++;
	return 0;
}

/* After all options: no tap or MAC given twice. */
static int cli_check_nets(const struct vm_config *cfg, char *err, size_t errlen)
{
	for (unsigned i = 0; i < cfg->nr_nets; i++) {
		for (unsigned j = 0; j < i; j++) {
			const struct vm_net *a = &cfg->nets[i], *b = &cfg->nets[j];

			if (!strcmp(a->tap, b->tap)) {
				snprintf(err, errlen, "--net tap=%s: tap used twice", a->tap);
				return -EINVAL;
			}
			if (!memcmp(a->mac, b->mac, sizeof(a->mac))) {
				snprintf(err, errlen, "--net tap=%s: MAC address used twice", a->tap);
				return -EINVAL;
			}
		}
	}
	return 0;
}

/* After all options: no share directory or guest path given twice, none on a --disk mount. */
static int cli_check_shares(const struct vm_config *cfg, char *err, size_t errlen)
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
	return 0;
}

static int cli_option(int opt, const char *arg, struct vm_config *cfg, char *err, size_t errlen)
{
	uint64_t v;

	switch (opt) {
	case OPT_KERNEL:
		cfg->kernel = arg;
		return 0;
	case OPT_INITRD:
		cfg->initrd = arg;
		return 0;
	case OPT_CMDLINE:
		cfg->cmdline = arg;
		return 0;
	case OPT_MODULES_DIR:
		cfg->modules_dir = arg;
		return 0;
	case OPT_RAW_IMAGE:
		cfg->raw_image = arg;
		return 0;
	case OPT_DISK:
		return cli_disk(arg, cfg, err, errlen);
	case OPT_SHARE:
		return cli_share(arg, cfg, err, errlen);
	case OPT_FS:
		return cli_fs(arg, cfg, err, errlen);
	case OPT_OWNER:
		return cli_owner(arg, cfg, err, errlen);
	case OPT_NET:
		return cli_net(arg, cfg, err, errlen);
	case OPT_API_SOCKET:
		if (!arg[0] || strlen(arg) >= VM_SOCK_MAX) {
			snprintf(err, errlen, "--api-socket %s: path must be 1 to %d bytes", arg,
				 VM_SOCK_MAX - 1);
			return -EINVAL;
		}
		cfg->api_socket = arg;
		return 0;
	case OPT_API_ALLOW_UID:
		if (parse_u64(arg, &v) || v >= UINT32_MAX || cfg->nr_api_uids >= VM_MAX_API_UIDS) {
			snprintf(err, errlen, "--api-allow-uid %s: expected a numeric uid (at most %d "
				 "of them)", arg, VM_MAX_API_UIDS);
			return -EINVAL;
		}
		cfg->api_uids[cfg->nr_api_uids++] = (unsigned)v;
		return 0;
	case OPT_INIT:
		return cli_init(arg, cfg, err, errlen);
	case OPT_CONSOLE_LOG:
		cfg->console_log = true;
		return 0;
	case OPT_SECCOMP:
		if (!strcmp(arg, "on") || !strcmp(arg, "log") || !strcmp(arg, "off")) {
			cfg->seccomp = !strcmp(arg, "on") ? VM_SECCOMP_ON :
				       !strcmp(arg, "log") ? VM_SECCOMP_LOG : VM_SECCOMP_OFF;
			return 0;
		}
		snprintf(err, errlen, "--seccomp %s: must be on, log or off", arg);
		return -EINVAL;
	case OPT_NO_SECCOMP:
		cfg->seccomp = VM_SECCOMP_OFF;
		return 0;
	case 'v':
		cfg->verbose++;
		return 0;
	case OPT_CPUS:
		if (parse_u64(arg, &v) || v < 1 || v > VM_MAX_CPUS) {
			snprintf(err, errlen, "--cpus %s: must be a number from 1 to %d", arg,
				 VM_MAX_CPUS);
			return -EINVAL;
		}
		cfg->cpus = (unsigned)v;
		return 0;
	case OPT_SHUTDOWN_TIMEOUT:
		if (parse_u64(arg, &v) || v > VM_MAX_SHUTDOWN_TIMEOUT_S) {
			snprintf(err, errlen, "--shutdown-timeout %s: must be a number of seconds "
				 "from 0 to %d", arg, VM_MAX_SHUTDOWN_TIMEOUT_S);
			return -EINVAL;
		}
		cfg->shutdown_timeout_s = (unsigned)v;
		return 0;
	case OPT_MEM: {
		uint64_t max = host_mem_mib();

		if (parse_u64(arg, &v) || v < CLI_MIN_MEM_MIB || v > max) {
			snprintf(err, errlen, "--mem %s: must be a number of MiB from %d to %" PRIu64
				 " (host RAM)", arg, CLI_MIN_MEM_MIB, max);
			return -EINVAL;
		}
		cfg->mem_mib = v;
		return 0;
	}
	default:
		return -EINVAL;
	}
}

static int parse_argv(int argc, char **argv, struct vm_config *cfg, enum cli_action *action,
		      char *err, size_t errlen)
{
	int opt, r, cur;

	memset(cfg, 0, sizeof(*cfg));
	cfg->cpus = VM_DEFAULT_CPUS;
	cfg->mem_mib = VM_DEFAULT_MEM_MIB;
	cfg->shutdown_timeout_s = VM_DEFAULT_SHUTDOWN_TIMEOUT_S;
	*action = CLI_RUN;
	err[0] = 0;

	/*
	 * 0, not 1: glibc then also drops the rest of a "-hv" group left over
	 * from an earlier call, which would otherwise be parsed from a stale argv.
	 */
	optind = 0;
	opterr = 0;
	for (;;) {
		/* the argument getopt examines next: "--name[=value]" or a "-abc" group */
		cur = optind ? optind : 1;
		/* "+": stop at the first non-option so "--" and the workload stay intact */
		opt = getopt_long(argc, argv, "+:vh", long_opts, NULL);
		if (opt == -1)
			break;
		switch (opt) {
		case 'h':
			*action = CLI_HELP;
			return 0;
		case OPT_VERSION:
			*action = CLI_VERSION;
			return 0;
		case '?':
			/* optopt is the val of a long option given a value it does not take */
			if (strncmp(argv[cur], "--", 2) == 0)
				snprintf(err, errlen, "unknown option %s (see --help)", argv[cur]);
			else
				snprintf(err, errlen, "unknown option -%c (see --help)", optopt);
			return -EINVAL;
		case ':':
			snprintf(err, errlen, "option %s needs a value", argv[cur]);
			return -EINVAL;
		default:
			r = cli_option(opt, optarg, cfg, err, errlen);
			if (r)
				return r;
		}
	}
	/* anything left is the workload, but only after a "--" getopt consumed as such */
	bool ddash = optind == cur + 1 && strcmp(argv[cur], "--") == 0;

	if (optind < argc && !ddash) {
		snprintf(err, errlen, "unexpected argument '%s' (put the command after --)",
			 argv[optind]);
		return -EINVAL;
	}
	cfg->argc = argc - optind;
	cfg->argv = argc > optind ? &argv[optind] : NULL;
	if (cfg->init && cfg->argc > 0) {
		snprintf(err, errlen, "--init %s: not with a command after -- (the command runs "
			 "under agentvmm's init)", cfg->init);
		return -EINVAL;
	}
	if (!cfg->kernel && !cfg->raw_image) {
		snprintf(err, errlen, "--kernel is required (see --help)");
		return -EINVAL;
	}
	r = cli_check_nets(cfg, err, errlen);
	if (r)
		return r;
	return cli_check_shares(cfg, err, errlen);
}

int cli_parse(int argc, char **argv, struct vm_config *cfg, enum cli_action *action, char *err,
	      size_t errlen)
{
	int r = parse_argv(argc, argv, cfg, action, err, errlen);

	/* messages quote argv: keep them one printable line (no newline, no escapes) */
	for (char *p = err; r && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return r;
}
