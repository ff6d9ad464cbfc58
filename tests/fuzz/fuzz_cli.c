// SPDX-License-Identifier: MIT
/*
 * fuzz_cli.c: cli_parse on an argv split from the input at NUL bytes. A
 * one-byte argument 0x01..0x1f stands for a known option or value, so most
 * inputs are mostly valid command lines. Invariants: the result is 0 or
 * -EINVAL with a non-empty, printable one-line message; on success every string in the
 * config points into argv, the workload is the argv tail after a "--", and
 * argv is never permuted; a later parse is not affected by this one.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 64
#define ERR_LEN 160

static const char *const dict[] = {
	"--", "--kernel", "--initrd", "--cmdline", "--cpus", "--mem", "--modules-dir",
	"--console-log", "-v", "--verbose", "-h", "--help", "--version", "--raw-image",
	"bz", "16", "255", "d.img,ro,direct,mount=/var", "0", "512", "-vv", "--kernel=",
	"--mem=", "--cpus=", "-", "--c", "--ker", "-vh", "--disk", "-x", "18446744073709551616",
};

/* Does (p) point into one of the argument strings? */
static int in_args(const char *p, char *const *argv, int argc)
{
	for (int i = 0; i < argc; i++)
		if (p >= argv[i] && p <= argv[i] + strlen(argv[i]))
			return 1;
	return 0;
}

static void check_ok(const struct vm_config *cfg, enum cli_action action, char *const *argv,
		     int argc, const char *err)
{
	if (err[0])
		abort();
	if (action == CLI_HELP || action == CLI_VERSION)
		return;
	if (action != CLI_RUN || (!cfg->kernel && !cfg->raw_image))
		abort();
	if (cfg->cpus < 1 || cfg->cpus > VM_MAX_CPUS || cfg->mem_mib < 16)
		abort();
	const char *strs[] = { cfg->kernel, cfg->initrd, cfg->cmdline, cfg->modules_dir,
			       cfg->raw_image };
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (strs[i] && !in_args(strs[i], argv, argc))
			abort();
	/* SMBIOS OEM strings: at most 255 together, each pointing into argv */
	if (cfg->nr_oem_strings + cfg->nr_set_creds + cfg->nr_load_creds > VM_MAX_OEM_STRINGS)
		abort();
	for (unsigned i = 0; i < cfg->nr_oem_strings; i++)
		if (!in_args(cfg->oem_strings[i], argv, argc) || !cfg->oem_strings[i][0])
			abort();
	for (unsigned i = 0; i < cfg->nr_set_creds; i++)
		if (!in_args(cfg->set_creds[i], argv, argc) || !strchr(cfg->set_creds[i], ':'))
			abort();
	for (unsigned i = 0; i < cfg->nr_load_creds; i++)
		if (!in_args(cfg->load_creds[i], argv, argc) || !strchr(cfg->load_creds[i], ':'))
			abort();
	if (cfg->argc < 0 || cfg->argc >= argc || (cfg->argc == 0) != (cfg->argv == NULL))
		abort();
	if (cfg->argc) {
		/* the workload is exactly the tail of argv, right after a "--" */
		if (cfg->argv != argv + (argc - cfg->argc) || strcmp(cfg->argv[-1], "--"))
			abort();
		if (cfg->argv[cfg->argc])
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS + 1], *orig[MAX_ARGS + 1];
	char err[ERR_LEN];
	struct vm_config cfg;
	enum cli_action action;
	int argc = 0, r;

	if (size > 4096)
		return 0;
	/* every argument its own allocation, so ASan sees any stale or stray reference */
	argv[argc++] = strdup("agentvmm");
	for (size_t i = 0; i < size && argc < MAX_ARGS;) {
		const uint8_t *nul = memchr(data + i, 0, size - i);
		size_t n = nul ? (size_t)(nul - (data + i)) : size - i;
		char *a;

		if (n == 1 && data[i] >= 1 && data[i] <= sizeof(dict) / sizeof(dict[0])) {
			a = strdup(dict[data[i] - 1]);
		} else {
			a = malloc(n + 1);
			memcpy(a, data + i, n);
			a[n] = 0;
		}
		argv[argc++] = a;
		i += n + 1;
	}
	argv[argc] = NULL;
	memcpy(orig, argv, sizeof(argv[0]) * (size_t)(argc + 1));

	memset(err, 'X', sizeof(err));
	r = cli_parse(argc, argv, &cfg, &action, err, sizeof(err));
	if (memcmp(orig, argv, sizeof(argv[0]) * (size_t)(argc + 1)))
		abort(); /* "+": argv is never permuted */
	if (r == 0) {
		check_ok(&cfg, action, argv, argc, err);
	} else if (r == -EINVAL) {
		size_t len = strnlen(err, sizeof(err));

		if (len == 0 || len == sizeof(err))
			abort();
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)err[i] < 0x20 || err[i] == 0x7f)
				abort(); /* one printable line, whatever argv held */
	} else {
		abort();
	}
	config_fini(&cfg); /* a --config file's strings */
	for (int i = 0; i < argc; i++)
		free(argv[i]);

	/* nothing from this parse (getopt's internal state) leaks into the next */
	char a0[] = "agentvmm", a1[] = "--kernel", a2[] = "k", a3[] = "--", a4[] = "w";
	char *fixed[] = { a0, a1, a2, a3, a4, NULL };

	r = cli_parse(5, fixed, &cfg, &action, err, sizeof(err));
	if (r || action != CLI_RUN || cfg.verbose || strcmp(cfg.kernel, "k") || cfg.argc != 1 ||
	    cfg.argv != &fixed[4])
		abort();
	return 0;
}
