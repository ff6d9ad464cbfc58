// SPDX-License-Identifier: MIT
/*
 * fuzz_config_json.c: config_json_parse() (the --config file, avm_config_load_json)
 * on arbitrary bytes. Invariants: the result is 0, -EINVAL or -ENOMEM; an
 * error is one non-empty printable line starting with the file's name; a
 * success leaves a config whose values are in range and whose strings are
 * all owned by it (config_fini frees them: LeakSanitizer checks); the same
 * input parsed twice gives the same result.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ERR_LEN 512

static int parse_once(const uint8_t *data, size_t size, struct vm_config *cfg, char *err)
{
	/* an exact-size copy without a NUL, so ASan catches any read past the end */
	char *text = malloc(size ? size : 1);
	int r;

	memcpy(text, data, size);
	config_init(cfg);
	memset(err, 'X', ERR_LEN);
	r = config_json_parse(cfg, "f.json", text, size, err, ERR_LEN);
	free(text);
	return r;
}

static void check_ok(const struct vm_config *cfg)
{
	if (cfg->cpus < 1 || cfg->cpus > VM_MAX_CPUS || cfg->mem_mib < 16 || cfg->verbose < 0 ||
	    cfg->verbose > 3)
		abort();
	if (cfg->nr_disks > VM_MAX_DISKS || cfg->nr_shares > VM_MAX_SHARES ||
	    cfg->nr_nets > VM_MAX_NETS || cfg->nr_oem_strings > VM_MAX_OEM_STRINGS ||
	    cfg->nr_set_creds > VM_MAX_OEM_STRINGS || cfg->nr_load_creds > VM_MAX_OEM_STRINGS)
		abort();
	if (cfg->argc < 0 || (cfg->argc == 0) != (cfg->argv == NULL))
		abort();
	for (int i = 0; i < cfg->argc; i++)
		if (!cfg->argv[i])
			abort();
	if (cfg->argc && cfg->argv[cfg->argc])
		abort();
}

static void check_err(const char *err)
{
	size_t len = strnlen(err, ERR_LEN);

	if (len == 0 || len == ERR_LEN || strncmp(err, "f.json: ", 8))
		abort();
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)err[i] < 0x20 || err[i] == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_config cfg;
	char err[ERR_LEN], err2[ERR_LEN];
	int r, r2;

	if (size > 65536)
		return 0;
	r = parse_once(data, size, &cfg, err);
	if (r == 0)
		check_ok(&cfg);
	else if (r == -EINVAL || r == -ENOMEM)
		check_err(err);
	else
		abort();
	config_fini(&cfg);
	r2 = parse_once(data, size, &cfg, err2);
	if (r2 != r || (r && strcmp(err, err2)))
		abort();
	config_fini(&cfg);
	return 0;
}
