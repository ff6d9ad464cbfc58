// SPDX-License-Identifier: MIT
/*
 * agentvmm-bench.c: command-line entry of the benchmark harness (boot and
 * density modes, docs/bench.md); the only file of the bench that exits.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/modes.h"
#include "bench/vmms.h"

#define EXIT_USAGE 2

static const char usage_text[] =
	"usage: agentvmm-bench boot --kernel K [--initrd F] [--runs 20] [--warmup 1]\n"
	"                           [--cpus 1] [--mem 512] [--against qemu-microvm,qemu-q35]\n"
	"                           [--json out.json] [--plot out.svg]\n"
	"       agentvmm-bench density --kernel K [--initrd F] [--count 4] [--budget MiB]\n"
	"                           [--cpus 1] [--mem 512] [--against ...] [--json out.json]\n"
	"common: [--timeout 120] [--agentvmm PATH] [--qemu PATH] [--q35-bios PATH] [--console-log]\n"
	"        [--keep-tmp] [--verbose]\n"
	"Boot runs are interleaved across VMMs; every VMM boots the same kernel,\n"
	"initramfs (agentvmm's own, built once) and kernel command line.\n"
	"See docs/bench.md for what each phase measures.\n";

enum {
	OPT_KERNEL = 256, OPT_INITRD, OPT_RUNS, OPT_WARMUP, OPT_CPUS, OPT_MEM, OPT_AGAINST,
	OPT_JSON, OPT_PLOT, OPT_COUNT, OPT_BUDGET, OPT_TIMEOUT, OPT_AGENTVMM, OPT_QEMU, OPT_Q35_BIOS,
	OPT_CONSOLE_LOG, OPT_KEEP_TMP,
};

static const struct option long_opts[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "runs", required_argument, NULL, OPT_RUNS },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "mem", required_argument, NULL, OPT_MEM },
	{ "against", required_argument, NULL, OPT_AGAINST },
	{ "json", required_argument, NULL, OPT_JSON },
	{ "plot", required_argument, NULL, OPT_PLOT },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "budget", required_argument, NULL, OPT_BUDGET },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "agentvmm", required_argument, NULL, OPT_AGENTVMM },
	{ "qemu", required_argument, NULL, OPT_QEMU },
	{ "q35-bios", required_argument, NULL, OPT_Q35_BIOS },
	{ "console-log", no_argument, NULL, OPT_CONSOLE_LOG },
	{ "keep-tmp", no_argument, NULL, OPT_KEEP_TMP },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static __attribute__((noreturn, format(printf, 1, 2))) void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("agentvmm-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
	fputs(usage_text, stderr);
	exit(EXIT_USAGE);
}

static unsigned parse_uint(const char *opt, const char *s, unsigned lo, unsigned hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < lo || v > hi)
		usage_error("bad number for %s: %s", opt, s);
	return (unsigned)v;
}

/* agentvmm from the same build tree (build/bench/.. -> build/agentvmm), else PATH. */
static const char *default_agentvmm(void)
{
	static char path[PATH_MAX];
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		snprintf(path, sizeof(path), "%s/../agentvmm", dirname(self));
		if (access(path, X_OK) == 0)
			return path;
	}
	return "agentvmm";
}

static void parse_args(int argc, char **argv, struct bench_opts *o)
{
	char err[256];
	int c;

	while ((c = getopt_long(argc, argv, "vh", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_KERNEL: o->kernel = optarg; break;
		case OPT_INITRD: o->initrd = optarg; break;
		case OPT_RUNS: o->runs = parse_uint("--runs", optarg, 1, 10000); break;
		case OPT_WARMUP: o->warmup = parse_uint("--warmup", optarg, 0, 100); break;
		case OPT_CPUS: o->cpus = parse_uint("--cpus", optarg, 1, 255); break;
		case OPT_MEM: o->mem_mib = parse_uint("--mem", optarg, 64, 1 << 20); break;
		case OPT_AGAINST:
			if (bench_parse_vmm_list(o, optarg, err, sizeof(err)))
				usage_error("%s", err);
			break;
		case OPT_JSON: o->json = optarg; break;
		case OPT_PLOT: o->plot = optarg; break;
		case OPT_COUNT: o->count = parse_uint("--count", optarg, 1, 60); break;
		case OPT_BUDGET: o->budget_mib = parse_uint("--budget", optarg, 1, UINT_MAX); break;
		case OPT_TIMEOUT: o->timeout_s = parse_uint("--timeout", optarg, 1, 86400); break;
		case OPT_AGENTVMM: o->agentvmm = optarg; break;
		case OPT_QEMU: o->qemu = optarg; break;
		case OPT_Q35_BIOS: o->q35_bios = optarg; break;
		case OPT_CONSOLE_LOG: o->console_log = true; break;
		case OPT_KEEP_TMP: o->keep_tmp = true; break;
		case 'v': o->verbose = true; break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			usage_error("%s", "unknown option");
		}
	}
	if (optind != argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (!o->kernel)
		usage_error("%s", "--kernel is required");
	if (access(o->kernel, R_OK) < 0)
		usage_error("--kernel %s: cannot read it", o->kernel);
	if (o->initrd && access(o->initrd, R_OK) < 0)
		usage_error("--initrd %s: cannot read it", o->initrd);
	if (o->q35_bios && access(o->q35_bios, R_OK) < 0)
		usage_error("--q35-bios %s: cannot read it", o->q35_bios);
}

int main(int argc, char **argv)
{
	struct bench_opts o = {
		.runs = 20, .warmup = 1, .cpus = 1, .mem_mib = 512, .count = 4, .timeout_s = 120,
		.qemu = "qemu-system-x86_64",
		.vmms = { BENCH_VMM_AGENTVMM }, .nr_vmms = 1,
	};
	char err[512];
	const char *mode;
	int r;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		exit(argc < 2 ? EXIT_USAGE : 0);
	}
	mode = argv[1];
	if (strcmp(mode, "boot") && strcmp(mode, "density"))
		usage_error("unknown mode '%s' (boot or density)", mode);
	o.agentvmm = default_agentvmm();
	parse_args(argc - 1, argv + 1, &o);
	/* line-buffered, so a tee'd log interleaves progress and results sensibly */
	setvbuf(stdout, NULL, _IOLBF, 0);

	r = bench_prepare(&o, err, sizeof(err));
	if (r) {
		fprintf(stderr, "agentvmm-bench: %s\n", err);
		bench_cleanup(&o);
		exit(1);
	}
	r = strcmp(mode, "boot") == 0 ? bench_boot(&o) : bench_density(&o);
	bench_cleanup(&o);
	exit(r == 0 ? 0 : r == -EINVAL ? EXIT_USAGE : 1);
}
