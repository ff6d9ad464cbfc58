// SPDX-License-Identifier: MIT
/* cli.c: command-line parsing into struct vm_config. */
#include "vmm/cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLI_MIN_MEM_MIB 16

static const char usage[] =
	"usage: agentvmm --kernel FILE [options] [-- CMD [ARGS...]]\n"
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
	"  --disk PATH[,ro][,direct][,mount=DIR]\n"
	"                      attach a raw image as virtio-blk (/dev/vda, vdb...);\n"
	"                      mount=DIR mounts it there (a blank image gets ext4)\n"
	"  --cpus N            virtual CPUs (default 1)\n"
	"  --mem MIB           guest RAM in MiB (default 512)\n"
	"  --console-log       show the kernel's messages\n"
	"  -v, --verbose       kernel messages plus agentvmm's own progress\n"
	"  --raw-image FILE    boot flat 16-bit code at 0000:1000 instead of a\n"
	"                      kernel (tiny test guests)\n"
	"  -h, --help          this text\n"
	"  --version           print the version\n"
	"\n"
	"Exit status: the command's status; 0 after a guest poweroff or reboot;\n"
	"125 guest kernel panic or triple fault; 2 bad usage; 1 host failure;\n"
	"128+N when agentvmm is killed by signal N.\n";

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
	case OPT_CONSOLE_LOG:
		cfg->console_log = true;
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
	if (!cfg->kernel && !cfg->raw_image) {
		snprintf(err, errlen, "--kernel is required (see --help)");
		return -EINVAL;
	}
	return 0;
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
