// SPDX-License-Identifier: MIT
/*
 * cli.c: the VM options (one table: flags, config-file keys and avm_config_set()
 * names) and command-line parsing into struct vm_config.
 */
#include "vmm/cli.h"

#include <stddef.h>

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

#include "boot/smbios.h"
#include "vmm/cli_balloon.h"
#include "vmm/cli_egress.h"
#include "vmm/cli_net.h"
#include "vmm/cli_storage.h"
#include "vmm/config_json.h"
#include "vmm/oem.h"

#define CLI_MIN_MEM_MIB 16
#define CLI_MAX_VERBOSE 3

static const char usage[] =
	"usage: agentvmm --kernel FILE [options] [-- CMD [ARGS...]]\n"
	"       agentvmm ctl SOCKET ping|info|pause|resume|shutdown|kill|balloon [MIB]|snapshot FILE\n"
	"                    [--json]\n"
	"       agentvmm exec --api-socket SOCKET [-t] [--env K=V] [--cwd DIR]\n"
	"                     [--user UID[:GID]] -- CMD [ARGS...]\n"
	"       agentvmm template [options] --out FILE | --api-socket SOCK   (docs/snapshot.md)\n"
	"       agentvmm --restore FILE [options]\n"
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
	"  --pmem PATH[,ro][,mount=DIR][,dax]\n"
	"                      map a filesystem image (erofs or ext4) as virtio-pmem;\n"
	"                      mount=DIR mounts it there, dax without a guest page\n"
	"                      cache copy (N guests share the host's); see\n"
	"                      scripts/mkstore.sh\n"
	"  --share ro:HOST[:GUEST], --share rw:HOST[:GUEST]\n"
	"                      share directory HOST at GUEST (default: the same\n"
	"                      path) through virtio-fs; agentvmm runs virtiofsd.\n"
	"                      ro is enforced on the host; ro:/usr and\n"
	"                      ro:/nix/store get a throwaway writable overlay\n"
	"  --fs tag=T,socket=S[,mount=DIR][,wait=SECONDS]\n"
	"                      attach a virtiofsd someone else runs (mount it at DIR);\n"
	"                      waits up to SECONDS (default 60) for its socket\n"
	"  --net tap=NAME|fd=N[:N...][,queues=N][,mac=MAC][,ip=A.B.C.D/N]\n"
	"        [,gw=A.B.C.D][,dns=A.B.C.D]\n"
	"                      attach a virtio-net NIC on tap NAME (created, and\n"
	"                      removed at exit, when it does not exist and agentvmm\n"
	"                      has CAP_NET_ADMIN), or on tap/macvtap fds agentvmm\n"
	"                      inherited (one per queue pair); queues=N (1-16): N\n"
	"                      queue pairs (a multi_queue tap when N > 1); ip=\n"
	"                      makes guest-init configure it\n"
	"  --net user[,forward=tcp|udp:[ADDR:]HOSTPORT:GUESTPORT]...\n"
	"                      user-mode networking through passt, no root needed:\n"
	"                      the guest is 10.0.2.15/24, 10.0.2.2 is the host's\n"
	"                      loopback, the host's resolver is forwarded; forward=\n"
	"                      a host port (on 127.0.0.1 unless ADDR) to the guest\n"
	"  --egress allow=HOST[:PORT][,HOST[:PORT]...]|file=PATH|log[=PATH]\n"
	"                      no network card: the guest reaches only the listed\n"
	"                      hosts (*.DOMAIN: its subdomains), through a proxy\n"
	"                      agentvmm runs (HTTPS_PROXY etc. are set for CMD);\n"
	"                      file= reads entries one per line; log allows all\n"
	"                      and lists the hosts reached (to PATH); repeatable\n"
	"                      (docs/net.md)\n"
	"  --vsock cid=N,socket=PATH\n"
	"                      a virtio-vsock device with guest CID N (3 or more):\n"
	"                      host programs reach guest port P through the UNIX\n"
	"                      socket PATH (send \"CONNECT P\\n\", get \"OK ...\\n\"),\n"
	"                      the guest reaches host port P at PATH_P\n"
	"                      (docs/vsock.md)\n"
	"  --stdio vsock|console\n"
	"                      how CMD's stdin, stdout and stderr travel: vsock\n"
	"                      (default) gives CMD agentvmm's stdin and separate\n"
	"                      stdout and stderr (a terminal: a guest tty), and the\n"
	"                      console carries only kernel messages (to stderr);\n"
	"                      console: stdout and stderr on the serial console,\n"
	"                      stdin /dev/null (kernels without vsock)\n"
	"  --env NAME=VALUE    CMD's environment (repeatable)\n"
	"  --cwd DIR           CMD's working directory (default: the first rw share)\n"
	"  --user UID[:GID]    run CMD with these ids (default 0:0)\n"
	"  --owner UID:GID     owner of files the guest creates in rw shares\n"
	"                      (default: the invoking user, SUDO_UID under sudo)\n"
	"  --api-socket PATH   serve the JSON-lines control socket at PATH\n"
	"                      (agentvmm ctl PATH CMD; see docs/control-socket.md)\n"
	"  --api-allow-uid UID also accept control connections from UID (root\n"
	"                      and agentvmm's own uid always are); repeatable\n"
	"  --console stdio|none|FILE\n"
	"                      where the guest console goes (default stdio; FILE\n"
	"                      is appended to, and the console takes no input)\n"
	"  --console-limit MIB stop writing a console file (--console FILE, or a\n"
	"                      stdout that is a file) after MIB MiB (default 64;\n"
	"                      0: no limit)\n"
	"  --config FILE       read options from a JSON file (docs/embedding.md);\n"
	"                      flags override it, a repeated flag replaces its list\n"
	"  --cpus N            virtual CPUs (default 1)\n"
	"  --mem MIB           guest RAM in MiB (default 512)\n"
	"  --ksm               let the host's KSM merge identical guest pages\n"
	"                      (MADV_MERGEABLE; not with --share or --fs)\n"
	"  --balloon on|off|[reporting=on|off][,reporting-order=N][,stats=SECONDS]\n"
	"        [,deflate-on-oom=on|off]\n"
	"                      a virtio-balloon device (default on): the guest\n"
	"                      reports free memory, which goes back to the host;\n"
	"                      the control socket reads its stats and sets a\n"
	"                      balloon size (docs/balloon.md)\n"
	"  --oem-string STR    an SMBIOS type 11 OEM string for the guest\n"
	"                      (/sys/firmware/dmi/entries/11-0); repeatable\n"
	"  --set-credential NAME:VALUE\n"
	"                      a systemd credential for the guest's systemd (OEM\n"
	"                      string io.systemd.credential:NAME=VALUE); repeatable\n"
	"  --load-credential NAME:PATH\n"
	"                      the same with file PATH's bytes (base64, as\n"
	"                      io.systemd.credential.binary:NAME=...); repeatable.\n"
	"                      OEM strings: at most 255, 48 KiB together, a file\n"
	"                      at most 32 KiB\n"
	"  --shutdown-timeout SECONDS\n"
	"                      on SIGTERM, SIGINT or SIGHUP press the guest's power\n"
	"                      button and wait this long for a clean shutdown before\n"
	"                      stopping it by force (default 10; 0: force at once)\n"
	"  --console-log       show the kernel's messages\n"
	"  -v, --verbose       kernel messages plus agentvmm's own progress\n"
	"  --restore FILE      start from a template (agentvmm template --out FILE)\n"
	"                      instead of booting; docs/snapshot.md\n"
	"  --raw-image FILE    boot flat 16-bit code at 0000:1000 instead of a\n"
	"                      kernel (tiny test guests)\n"
	"  --seccomp=MODE      on (default): each thread may make only the syscalls\n"
	"                      it needs, others end agentvmm with status 1; log:\n"
	"                      report them and fail them with EPERM; off\n"
	"  --no-seccomp        the same as --seccomp=off (debugging)\n"
	"  --keep-caps         keep agentvmm's capabilities after setup (embedding)\n"
	"  -h, --help          this text\n"
	"  --version           print the version\n"
	"\n"
	"Exit status: the command's status; 0 after a guest poweroff or reboot;\n"
	"125 guest kernel panic or triple fault; 123 the guest could not set up a\n"
	"disk, share or network it was given; 2 bad usage; 1 host failure;\n"
	"128+N when a signal N stopped the guest by force; after a clean shutdown\n"
	"on a signal, the command's status (143 when SIGTERM ended it).\n";

const char *cli_usage(void)
{
	return usage;
}

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
static int cli_owner(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
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

static int set_cpus(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	uint64_t v;

	if (parse_u64(arg, &v) || v < 1 || v > VM_MAX_CPUS) {
		snprintf(err, errlen, "--cpus %s: must be a number from 1 to %d", arg, VM_MAX_CPUS);
		return -EINVAL;
	}
	cfg->cpus = (unsigned)v;
	cfg->cpus_set = true;
	return 0;
}

static int set_mem(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	uint64_t v, max = host_mem_mib();

	if (parse_u64(arg, &v) || v < CLI_MIN_MEM_MIB || v > max) {
		snprintf(err, errlen, "--mem %s: must be a number of MiB from %d to %" PRIu64
			 " (host RAM)", arg, CLI_MIN_MEM_MIB, max);
		return -EINVAL;
	}
	cfg->mem_mib = v;
	cfg->mem_set = true;
	return 0;
}

/* NULL (a bare flag), "true"/"1" or "false"/"0". */
static int parse_bool(const char *arg, bool *out)
{
	if (!arg || !strcmp(arg, "true") || !strcmp(arg, "1"))
		*out = true;
	else if (!strcmp(arg, "false") || !strcmp(arg, "0"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

static int set_console_log(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	if (parse_bool(arg, &cfg->console_log)) {
		snprintf(err, errlen, "--console-log %s: expected true or false", arg);
		return -EINVAL;
	}
	return 0;
}

/* -v counts up; a value (config file, avm_config_set) sets the level 0..3. */
static int set_verbose(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	uint64_t v;

	if (!arg) {
		cfg->verbose++;
		return 0;
	}
	if (parse_u64(arg, &v) || v > CLI_MAX_VERBOSE) {
		snprintf(err, errlen, "--verbose %s: must be a number from 0 to %d", arg,
			 CLI_MAX_VERBOSE);
		return -EINVAL;
	}
	cfg->verbose = (int)v;
	return 0;
}

/* --console stdio|none|PATH (the file is opened, for appending, when the VM is created) */
static int set_console(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	if (!arg[0] || strlen(arg) >= VM_PATH_MAX) {
		snprintf(err, errlen, "--console %s: expected stdio, none or a file path", arg);
		return -EINVAL;
	}
	cfg->console = arg;
	return 0;
}

/* --console-limit MIB: 0 lifts the limit (VM_CONSOLE_UNLIMITED) */
static int set_console_limit(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	uint64_t v;

	if (parse_u64(arg, &v) || v > VM_CONSOLE_LIMIT_MAX_MIB) {
		snprintf(err, errlen, "--console-limit %s: must be a number of MiB from 0 (no limit) "
			 "to %d", arg, VM_CONSOLE_LIMIT_MAX_MIB);
		return -EINVAL;
	}
	cfg->console_limit_mib = v ? v : VM_CONSOLE_UNLIMITED;
	return 0;
}

static int set_shutdown_timeout(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	uint64_t v;

	if (parse_u64(arg, &v) || v > VM_MAX_SHUTDOWN_TIMEOUT_S) {
		snprintf(err, errlen, "--shutdown-timeout %s: must be a number of seconds from 0 "
			 "to %d", arg, VM_MAX_SHUTDOWN_TIMEOUT_S);
		return -EINVAL;
	}
	cfg->shutdown_timeout_s = (unsigned)v;
	return 0;
}

static int set_api_socket(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	if (!arg[0] || strlen(arg) >= VM_SOCK_MAX) {
		snprintf(err, errlen, "--api-socket %s: path must be 1 to %d bytes", arg,
			 VM_SOCK_MAX - 1);
		return -EINVAL;
	}
	cfg->api_socket = arg;
	return 0;
}

static int set_api_uid(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	uint64_t v;

	if (parse_u64(arg, &v) || v >= UINT32_MAX || cfg->nr_api_uids >= VM_MAX_API_UIDS) {
		snprintf(err, errlen, "--api-allow-uid %s: expected a numeric uid (at most %d of "
			 "them)", arg, VM_MAX_API_UIDS);
		return -EINVAL;
	}
	cfg->api_uids[cfg->nr_api_uids++] = (unsigned)v;
	return 0;
}

static int set_seccomp(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	if (!strcmp(arg, "on") || !strcmp(arg, "log") || !strcmp(arg, "off")) {
		cfg->seccomp = !strcmp(arg, "on") ? VM_SECCOMP_ON :
			       !strcmp(arg, "log") ? VM_SECCOMP_LOG : VM_SECCOMP_OFF;
		return 0;
	}
	snprintf(err, errlen, "--seccomp %s: must be on, log or off", arg);
	return -EINVAL;
}

static int set_no_seccomp(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	bool off;

	if (parse_bool(arg, &off)) {
		snprintf(err, errlen, "--no-seccomp %s: expected true or false", arg);
		return -EINVAL;
	}
	if (off)
		cfg->seccomp = VM_SECCOMP_OFF;
	return 0;
}

static int set_keep_caps(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	if (parse_bool(arg, &cfg->keep_caps)) {
		snprintf(err, errlen, "--keep-caps %s: expected true or false", arg);
		return -EINVAL;
	}
	return 0;
}

#define CLI_KSM_SYSFS "/sys/kernel/mm/ksm/run"

static int set_ksm(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	if (parse_bool(arg, &cfg->ksm)) {
		snprintf(err, errlen, "--ksm %s: expected true or false", arg);
		return -EINVAL;
	}
	if (cfg->ksm && access(CLI_KSM_SYSFS, F_OK) < 0) {
		snprintf(err, errlen, "--ksm: this host's kernel has no KSM (no %s)",
			 CLI_KSM_SYSFS);
		return -EINVAL;
	}
	return 0;
}

#define VSOCK_USAGE "expected cid=N,socket=PATH"

/* "cid=N" of --vsock: 3 .. 2^32 - 2 (0-2 are reserved, 2^32 - 1 is VMADDR_CID_ANY). */
static int vsock_cid(const char *arg, const char *p, size_t n, uint32_t *cid, char *err,
		     size_t errlen)
{
	char num[24];
	uint64_t v;

	if (n >= sizeof(num))
		goto bad;
	memcpy(num, p, n);
	num[n] = 0;
	if (parse_u64(num, &v) || v < 3 || v > 0xfffffffeULL)
		goto bad;
	*cid = (uint32_t)v;
	return 0;
bad:
	snprintf(err, errlen, "--vsock %s: cid must be a number from 3 to %u", arg, 0xfffffffeU);
	return -EINVAL;
}

/*
 * "socket=PATH" of --vsock: PATH's directory must exist; PATH is made absolute
 * (agentvmm, the guest's PATH_P connects and the user must agree on it) and
 * must leave room for "_4294967295" in a UNIX socket address.
 */
static int vsock_path(const char *arg, const char *p, size_t n, struct vm_vsock *v, char *err,
		      size_t errlen)
{
	char path[PATH_MAX], canon[PATH_MAX];
	const char *base;
	struct stat st;

	if (n == 0 || n >= sizeof(path))
		goto bad;
	memcpy(path, p, n);
	path[n] = 0;
	char *slash = strrchr(path, '/');
	base = slash ? slash + 1 : path;
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		goto bad;
	if (slash)
		*slash = 0;
	const char *dir = slash ? (path[0] ? path : "/") : ".";
	if (!realpath(dir, canon) || stat(canon, &st) < 0) {
		snprintf(err, errlen, "--vsock %s: %s: %s", arg, dir, strerror(errno));
		return -EINVAL;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "--vsock %s: %s: not a directory", arg, dir);
		return -EINVAL;
	}
	if (strlen(canon) + 1 + strlen(base) > VM_VSOCK_PATH_MAX) {
		snprintf(err, errlen, "--vsock %s: socket path %s/%s is longer than %d bytes (PATH_"
			 "<port> must fit a UNIX socket address)", arg, canon, base,
			 VM_VSOCK_PATH_MAX);
		return -EINVAL;
	}
	size_t at = strlen(canon);

	memcpy(v->socket, canon, at);
	if (strcmp(canon, "/"))
		v->socket[at++] = '/';
	memcpy(v->socket + at, base, strlen(base) + 1); /* fits: checked above */
	return 0;
bad:
	snprintf(err, errlen, "--vsock %s: socket=PATH needs a file name", arg);
	return -EINVAL;
}

/* --vsock cid=N,socket=PATH (docs/vsock.md); given again, it replaces the first. */
static int set_vsock(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	struct vm_vsock v = { .enabled = true };
	bool cid_set = false;
	const char *p, *end;

	for (p = arg; *p; p = *end ? end + 1 : end) {
		end = p + strcspn(p, ",");
		size_t n = (size_t)(end - p);
		int r;

		if (n >= 4 && !strncmp(p, "cid=", 4)) {
			r = vsock_cid(arg, p + 4, n - 4, &v.cid, err, errlen);
			cid_set = true;
		} else if (n >= 7 && !strncmp(p, "socket=", 7)) {
			r = vsock_path(arg, p + 7, n - 7, &v, err, errlen);
		} else {
			snprintf(err, errlen, "--vsock %s: unknown option '%.*s' (" VSOCK_USAGE ")", arg,
				 (int)n, p);
			r = -EINVAL;
		}
		if (r)
			return r;
	}
	if (!cid_set || !v.socket[0]) {
		snprintf(err, errlen, "--vsock %s: " VSOCK_USAGE, arg);
		return -EINVAL;
	}
	cfg->vsock = v;
	return 0;
}

static int set_stdio(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	if (!strcmp(arg, "vsock") || !strcmp(arg, "console")) {
		cfg->stdio = !strcmp(arg, "vsock") ? VM_STDIO_VSOCK : VM_STDIO_CONSOLE;
		return 0;
	}
	snprintf(err, errlen, "--stdio %s: must be vsock or console", arg);
	return -EINVAL;
}

/* --env NAME=VALUE: NAME non-empty, without '=' (the guest's session parser checks the same). */
static int set_env(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '=');

	if (!eq || eq == arg) {
		snprintf(err, errlen, "--env %.64s: expected NAME=VALUE", arg);
		return -EINVAL;
	}
	if (cfg->nr_env >= VM_MAX_ENV) {
		snprintf(err, errlen, "--env %.64s: more than %d entries", arg, VM_MAX_ENV);
		return -EINVAL;
	}
	cfg->env[cfg->nr_env++] = arg;
	return 0;
}

static int set_cwd(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	if (arg[0] != '/' || strlen(arg) >= VM_PATH_MAX) {
		snprintf(err, errlen, "--cwd %.64s: must be an absolute guest path", arg);
		return -EINVAL;
	}
	cfg->cwd = arg;
	return 0;
}

/* --user UID[:GID], decimal ids below 2^32 - 1 */
static int set_user(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	char buf[32];
	const char *colon;
	uint64_t v;

	snprintf(buf, sizeof(buf), "%s", arg);
	colon = strchr(buf, ':');
	if (colon)
		buf[colon - buf] = '\0';
	if (strlen(arg) >= sizeof(buf) || parse_u64(buf, &v) || v >= UINT32_MAX ||
	    (colon && (parse_u64(colon + 1, &v) || v >= UINT32_MAX))) {
		snprintf(err, errlen, "--user %.64s: expected UID[:GID] (decimal ids)", arg);
		return -EINVAL;
	}
	cfg->user = arg;
	return 0;
}

static int set_init(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	return cli_init(arg, cfg, err, errlen);
}

/* --oem-string STR: a type 11 string as is (vmm/oem.h); bounds of boot/smbios.h. */
static int set_oem_string(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	if (!arg[0]) {
		snprintf(err, errlen, "--oem-string: must not be empty (SMBIOS ends its strings "
			 "at an empty one)");
		return -EINVAL;
	}
	if (strlen(arg) >= SMBIOS_OEM_MAX_BYTES) {
		snprintf(err, errlen, "--oem-string %.32s...: longer than the %d bytes all OEM "
			 "strings may have together", arg, SMBIOS_OEM_MAX_BYTES - 1);
		return -EINVAL;
	}
	if (cfg->nr_oem_strings >= VM_MAX_OEM_STRINGS) {
		snprintf(err, errlen, "--oem-string %.32s: more than %d", arg, VM_MAX_OEM_STRINGS);
		return -EINVAL;
	}
	cfg->oem_strings[cfg->nr_oem_strings++] = arg;
	return 0;
}

/*
 * NAME:REST of --set-credential or --load-credential (opt): NAME as systemd
 * takes it (oem_cred_name_valid()); (what) names REST in the message.
 */
static int cred_arg(const char *opt, const char *what, const char *arg, unsigned nr,
		    char *err, size_t errlen)
{
	size_t n = strcspn(arg, ":");

	if (!arg[n] || (!strcmp(what, "PATH") && !arg[n + 1])) {
		snprintf(err, errlen, "%s %.64s: expected NAME:%s", opt, arg, what);
		return -EINVAL;
	}
	if (!oem_cred_name_valid(arg, n)) {
		snprintf(err, errlen, "%s %.64s: credential name '%.*s' is not valid (1 to %d "
			 "printable ASCII characters, not . or .., no '/', ':' or '=')", opt, arg,
			 (int)MIN(n, (size_t)64), arg, OEM_CRED_NAME_MAX);
		return -EINVAL;
	}
	if (nr >= VM_MAX_OEM_STRINGS) {
		snprintf(err, errlen, "%s %.64s: more than %d", opt, arg, VM_MAX_OEM_STRINGS);
		return -EINVAL;
	}
	return 0;
}

/* --set-credential NAME:VALUE -> "io.systemd.credential:NAME=VALUE" (vmm/oem.h) */
static int set_credential(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	int r = cred_arg("--set-credential", "VALUE", arg, cfg->nr_set_creds, err, errlen);

	if (r)
		return r;
	/* the string is the prefix, NAME=VALUE and its NUL */
	if (strlen(OEM_CRED_PREFIX) + strlen(arg) + 1 > SMBIOS_OEM_MAX_BYTES) {
		snprintf(err, errlen, "--set-credential %.32s...: longer than the %d bytes all OEM "
			 "strings may have together", arg, SMBIOS_OEM_MAX_BYTES - 1);
		return -EINVAL;
	}
	cfg->set_creds[cfg->nr_set_creds++] = arg;
	return 0;
}

/* --load-credential NAME:PATH: PATH is read before /dev/kvm (oem_strings_build()). */
static int load_credential(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	int r = cred_arg("--load-credential", "PATH", arg, cfg->nr_load_creds, err, errlen);

	if (!r)
		cfg->load_creds[cfg->nr_load_creds++] = arg;
	return r;
}

/* agentvmm template --out FILE (main.c turns --out into this): the template's path. */
static int set_template_out(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	size_t n = strlen(arg);

	if (!n || arg[n - 1] == '/' || n + 5 > VM_PATH_MAX) {
		snprintf(err, errlen, "--out %s: must name a file", arg);
		return -EINVAL;
	}
	cfg->template_out = arg;
	cfg->template = true;
	return 0;
}

/* agentvmm template (main.c passes it): a template VM, with --out or held for a snapshot. */
static int set_template(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	if (parse_bool(arg, &cfg->template)) {
		snprintf(err, errlen, "template %s: expected true or false", arg);
		return -EINVAL;
	}
	if (!cfg->template)
		cfg->template_out = NULL;
	return 0;
}

/* --restore FILE: read before /dev/kvm (vmm/snapshot.c). */
static int set_restore(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	if (!*arg) {
		snprintf(err, errlen, "--restore: needs a template file");
		return -EINVAL;
	}
	cfg->restore = arg;
	return 0;
}

#define STR_OPT(n, field) { n, CLI_STR, NULL, offsetof(struct vm_config, field), CLI_NO_LIST }

/* Every VM option: the flag name is also the config-file key and avm_config_set() name. */
static const struct cli_opt opts[] = {
	STR_OPT("kernel", kernel),
	STR_OPT("initrd", initrd),
	STR_OPT("cmdline", cmdline),
	STR_OPT("modules-dir", modules_dir),
	STR_OPT("raw-image", raw_image),
	{ "template", CLI_BOOL, set_template, 0, CLI_NO_LIST },
	{ "template-out", CLI_STR, set_template_out, 0, CLI_NO_LIST },
	{ "restore", CLI_STR, set_restore, 0, CLI_NO_LIST },
	{ "console", CLI_STR, set_console, 0, CLI_NO_LIST },
	{ "cpus", CLI_NUM, set_cpus, 0, CLI_NO_LIST },
	{ "mem", CLI_NUM, set_mem, 0, CLI_NO_LIST },
	{ "owner", CLI_STR, cli_owner, 0, CLI_NO_LIST },
	{ "console-log", CLI_BOOL, set_console_log, 0, CLI_NO_LIST },
	{ "console-limit", CLI_NUM, set_console_limit, 0, CLI_NO_LIST },
	{ "verbose", CLI_COUNT, set_verbose, 0, CLI_NO_LIST },
	{ "disk", CLI_LIST, cli_disk, 0, CLI_LIST_DISKS },
	{ "pmem", CLI_LIST, cli_pmem, 0, CLI_LIST_PMEM },
	{ "share", CLI_LIST, cli_share, 0, CLI_LIST_SHARES },
	{ "fs", CLI_LIST, cli_fs, 0, CLI_LIST_SHARES },
	{ "net", CLI_LIST, cli_net, 0, CLI_LIST_NETS },
	{ "vsock", CLI_STR, set_vsock, 0, CLI_NO_LIST },
	{ "init", CLI_STR, set_init, 0, CLI_NO_LIST },
	{ "stdio", CLI_STR, set_stdio, 0, CLI_NO_LIST },
	{ "env", CLI_LIST, set_env, 0, CLI_LIST_ENV },
	{ "cwd", CLI_STR, set_cwd, 0, CLI_NO_LIST },
	{ "user", CLI_STR, set_user, 0, CLI_NO_LIST },
	{ "shutdown-timeout", CLI_NUM, set_shutdown_timeout, 0, CLI_NO_LIST },
	{ "api-socket", CLI_STR, set_api_socket, 0, CLI_NO_LIST },
	{ "api-allow-uid", CLI_LIST, set_api_uid, 0, CLI_LIST_API_UIDS },
	{ "seccomp", CLI_STR, set_seccomp, 0, CLI_NO_LIST },
	{ "no-seccomp", CLI_BOOL, set_no_seccomp, 0, CLI_NO_LIST },
	{ "keep-caps", CLI_BOOL, set_keep_caps, 0, CLI_NO_LIST },
	{ "ksm", CLI_BOOL, set_ksm, 0, CLI_NO_LIST },
	{ "balloon", CLI_STR, cli_balloon, 0, CLI_NO_LIST },
	{ "egress", CLI_LIST, cli_egress, 0, CLI_LIST_EGRESS },
	{ "oem-string", CLI_LIST, set_oem_string, 0, CLI_LIST_OEM_STRINGS },
	{ "set-credential", CLI_LIST, set_credential, 0, CLI_LIST_SET_CREDS },
	{ "load-credential", CLI_LIST, load_credential, 0, CLI_LIST_LOAD_CREDS },
};

const struct cli_opt *cli_opt_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
		if (!strcmp(opts[i].name, name))
			return &opts[i];
	return NULL;
}

const struct cli_opt *cli_opt_at(size_t i)
{
	return i < ARRAY_SIZE(opts) ? &opts[i] : NULL;
}

void cli_list_clear(struct vm_config *cfg, enum cli_list list)
{
	switch (list) {
	case CLI_LIST_DISKS:
		cfg->nr_disks = 0;
		break;
	case CLI_LIST_SHARES:
		cfg->nr_shares = 0;
		break;
	case CLI_LIST_PMEM:
		cfg->nr_pmems = 0;
		break;
	case CLI_LIST_NETS:
		cfg->nr_nets = 0;
		break;
	case CLI_LIST_API_UIDS:
		cfg->nr_api_uids = 0;
		break;
	case CLI_LIST_ENV:
		cfg->nr_env = 0;
		break;
	case CLI_LIST_OEM_STRINGS:
		cfg->nr_oem_strings = 0;
		break;
	case CLI_LIST_SET_CREDS:
		cfg->nr_set_creds = 0;
		break;
	case CLI_LIST_LOAD_CREDS:
		cfg->nr_load_creds = 0;
		break;
	case CLI_LIST_EGRESS:
		cfg->egress.nr_items = 0;
		cfg->egress.enabled = false;
		break;
	case CLI_NO_LIST:
	case CLI_LIST_NR:
		break;
	}
}

int cli_opt_apply(const struct cli_opt *o, struct vm_config *cfg, const char *arg, char *err,
		  size_t errlen)
{
	if (!arg && o->type != CLI_BOOL && o->type != CLI_COUNT) {
		snprintf(err, errlen, "option --%s needs a value", o->name);
		return -EINVAL;
	}
	if (!o->set) {
		*(const char **)((char *)cfg + o->offset) = arg;
		return 0;
	}
	return o->set(cfg, arg, err, errlen);
}

int cli_set(struct vm_config *cfg, const char *name, const char *arg, char *err, size_t errlen)
{
	const struct cli_opt *o = cli_opt_find(name);

	if (!o) {
		snprintf(err, errlen, "unknown option '%s'", name);
		return -ENOENT;
	}
	return cli_opt_apply(o, cfg, arg, err, errlen);
}

/* The same NAME in two credential options: systemd would keep the first silently. */
static const char *cred_dup(const struct vm_config *cfg)
{
	const char *all[2 * VM_MAX_OEM_STRINGS];
	unsigned n = 0;

	for (unsigned i = 0; i < cfg->nr_set_creds; i++)
		all[n++] = cfg->set_creds[i];
	for (unsigned i = 0; i < cfg->nr_load_creds; i++)
		all[n++] = cfg->load_creds[i];
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = 0; j < i; j++) {
			size_t len = strcspn(all[i], ":");

			if (len == strcspn(all[j], ":") && !strncmp(all[i], all[j], len))
				return all[i];
		}
	return NULL;
}

/* SMBIOS OEM strings (vmm/oem.h): their number, unique credential names, a kernel. */
static int cli_check_oem(const struct vm_config *cfg, char *err, size_t errlen)
{
	unsigned n = cfg->nr_oem_strings + cfg->nr_set_creds + cfg->nr_load_creds;
	const char *dup = cred_dup(cfg);

	if (n && cfg->raw_image) {
		snprintf(err, errlen, "--oem-string, --set-credential and --load-credential need "
			 "a kernel (not with --raw-image)");
		return -EINVAL;
	}
	if (n > VM_MAX_OEM_STRINGS) {
		snprintf(err, errlen, "--oem-string, --set-credential, --load-credential: %u SMBIOS "
			 "OEM strings, more than %d", n, VM_MAX_OEM_STRINGS);
		return -EINVAL;
	}
	if (dup) {
		snprintf(err, errlen, "credential '%.*s' given twice (--set-credential, "
			 "--load-credential)", (int)MIN(strcspn(dup, ":"), (size_t)64), dup);
		return -EINVAL;
	}
	return 0;
}

/*
 * agentvmm template --kernel: the template is the booted kernel and guest-init
 * waiting at the ready mark; the devices, the command and the rest are each
 * restored VM's own (docs/snapshot.md).
 */
static int cli_check_template(const struct vm_config *cfg, char *err, size_t errlen)
{
	const char *opt = cfg->nr_shares ? "--share" : cfg->nr_disks ? "--disk" :
			  cfg->nr_pmems ? "--pmem" : cfg->nr_nets ? "--net" :
			  cfg->vsock.enabled ? "--vsock" : cfg->egress.enabled ? "--egress" :
			  cfg->argc > 0 ? "a command" : cfg->init ? "--init" : NULL;

	if (!cfg->template || cfg->raw_image || !opt)
		return 0;
	snprintf(err, errlen, "agentvmm template: %s is for the VMs restored from the "
		 "template (agentvmm --restore FILE %s), not for the template", opt,
		 opt[0] == '-' ? "[options]" : "-- CMD");
	return -EINVAL;
}

int cli_check(const struct vm_config *cfg, char *err, size_t errlen)
{
	int r;

	if (cfg->restore && cfg->template) {
		snprintf(err, errlen, "--restore: not with agentvmm template (make a template from "
			 "a boot)");
		return -EINVAL;
	}
	if (cfg->restore && cfg->kernel && cfg->raw_image) {
		snprintf(err, errlen, "--restore: give the template's --kernel or --raw-image, "
			 "not both");
		return -EINVAL;
	}
	if (!cfg->kernel && !cfg->raw_image && !cfg->restore) {
		snprintf(err, errlen, "--kernel is required (see --help)");
		return -EINVAL;
	}
	r = cli_check_template(cfg, err, errlen);
	if (r)
		return r;
	if ((cfg->nr_env || cfg->cwd || cfg->user) && !config_session(cfg)) {
		snprintf(err, errlen, "--%s needs a command after -- run as a session (not with "
			 "--stdio console, --init, --initrd or --raw-image)",
			 cfg->nr_env ? "env" : cfg->cwd ? "cwd" : "user");
		return -EINVAL;
	}
	if (cfg->await_job && (cfg->argc > 0 || !config_session(cfg))) {
		/* avm_config_await_job(): the job comes over vsock to agentvmm's guest-init */
		snprintf(err, errlen, "a VM awaiting its job takes no command and needs agentvmm's "
			 "guest-init (not --stdio console, --init, --initrd or --raw-image)");
		return -EINVAL;
	}
	if (cfg->egress.enabled && (cfg->nr_nets || cfg->initrd || cfg->raw_image)) {
		/* guest-init runs the forwarder; a NIC would be a way around the proxy */
		snprintf(err, errlen, "--egress: the guest gets no network card and needs "
			 "agentvmm's guest-init: not with %s", cfg->nr_nets ? "--net" :
			 cfg->initrd ? "--initrd" : "--raw-image");
		return -EINVAL;
	}
	r = cli_check_nets(cfg, err, errlen);
	if (!r)
		r = cli_check_oem(cfg, err, errlen);
	if (r)
		return r;
	return cli_check_shares(cfg, err, errlen);
}

enum { OPT_HELP = 'h', OPT_VERBOSE = 'v', OPT_VERSION = 0x80, OPT_CONFIG, OPT_TABLE = 0x100 };

/* getopt's table: every VM option (val OPT_TABLE + index), then the CLI-only ones. */
static void cli_long_opts(struct option *lo)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(opts); i++) {
		bool flag = opts[i].type == CLI_BOOL || opts[i].type == CLI_COUNT;

		lo[i] = (struct option){ opts[i].name, flag ? no_argument : required_argument, NULL,
					 OPT_TABLE + (int)i };
	}
	lo[i++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	lo[i++] = (struct option){ "version", no_argument, NULL, OPT_VERSION };
	lo[i++] = (struct option){ "config", required_argument, NULL, OPT_CONFIG };
	lo[i] = (struct option){ NULL, 0, NULL, 0 };
}

/*
 * Pass 1: only look for --config, -h and --version (every error is left to
 * pass 2, which reports it in argv order). Return: the --config path or NULL.
 */
static const char *cli_scan(int argc, char **argv, const struct option *lo, bool *action)
{
	const char *config = NULL;
	int opt;

	*action = false;
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:vh", lo, NULL)) != -1) {
		if (opt == OPT_CONFIG)
			config = optarg;
		else if (opt == OPT_HELP || opt == OPT_VERSION)
			*action = true;
	}
	return config;
}

static int parse_argv(int argc, char **argv, struct vm_config *cfg, enum cli_action *action,
		      char *err, size_t errlen)
{
	struct option lo[ARRAY_SIZE(opts) + 4];
	bool cleared[CLI_LIST_NR] = { false }, early;
	const char *config;
	int opt, r, cur;

	*action = CLI_RUN;
	err[0] = 0;
	cli_long_opts(lo);
	config = cli_scan(argc, argv, lo, &early);
	if (config && !early) {
		/* the file first: every flag then overrides it, wherever it stands */
		r = config_json_load(cfg, config, err, errlen);
		if (r)
			return r;
	}

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
		opt = getopt_long(argc, argv, "+:vh", lo, NULL);
		if (opt == -1)
			break;
		switch (opt) {
		case OPT_HELP:
			*action = CLI_HELP;
			return 0;
		case OPT_VERSION:
			*action = CLI_VERSION;
			return 0;
		case OPT_CONFIG:
			break; /* loaded above */
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
		default: {
			const struct cli_opt *o = opt == OPT_VERBOSE ? cli_opt_find("verbose") :
								       &opts[opt - OPT_TABLE];

			/* a repeatable flag replaces the list (of the config file) as a whole */
			if (o->list != CLI_NO_LIST && !cleared[o->list]) {
				cli_list_clear(cfg, o->list);
				cleared[o->list] = true;
			}
			r = cli_opt_apply(o, cfg, optarg, err, errlen);
			if (r)
				return r;
		}
		}
	}
	/* anything left is the workload, but only after a "--" getopt consumed as such */
	bool ddash = optind == cur + 1 && strcmp(argv[cur], "--") == 0;

	if (optind < argc && !ddash) {
		snprintf(err, errlen, "unexpected argument '%s' (put the command after --)",
			 argv[optind]);
		return -EINVAL;
	}
	if (argc > optind) {
		cfg->argc = argc - optind;
		cfg->argv = &argv[optind];
	if (cfg->init && cfg->argc > 0) {
		snprintf(err, errlen, "--init %s: not with a command after -- (the command runs "
			 "under agentvmm's init)", cfg->init);
		return -EINVAL;
	}
	}
	return cli_check(cfg, err, errlen);
}

/* Messages quote argv and files: keep them one printable line (no newline, no escapes). */
static void cli_sanitize(char *err)
{
	for (char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

int cli_parse_args(int argc, char **argv, struct vm_config *cfg, enum cli_action *action,
		   char *err, size_t errlen)
{
	int r = parse_argv(argc, argv, cfg, action, err, errlen);

	if (r)
		cli_sanitize(err);
	return r;
}

int cli_parse(int argc, char **argv, struct vm_config *cfg, enum cli_action *action, char *err,
	      size_t errlen)
{
	config_init(cfg);
	return cli_parse_args(argc, argv, cfg, action, err, errlen);
}
