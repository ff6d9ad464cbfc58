/* SPDX-License-Identifier: MIT */
/*
 * config_json.h: the JSON config file (agentvmm --config, avm_config_load_json)
 * onto struct vm_config, through the same option table and parsers as the
 * flags (vmm/cli.h). The format is in docs/embedding.md.
 */
#ifndef AGENTVMM_VMM_CONFIG_JSON_H
#define AGENTVMM_VMM_CONFIG_JSON_H

#include <stddef.h>

#include "vmm/compiler.h"
#include "vmm/config.h"

#define CONFIG_JSON_MAX (1 << 20) /* a bigger file is refused */

/*
 * config_json_parse() - apply the JSON object (text, len) to (cfg): each key
 * is an option (cli_opt_find) or "command"; a list key replaces that list.
 * Strings are copied into (cfg) (config_keep). (name) prefixes messages.
 * Return: 0; -EINVAL with one line in (err) naming the key, e.g.
 * `vm.json: "mem": expected a number`; -ENOMEM. On error (cfg) holds the keys
 * applied before the bad one.
 * Context: pure (besides what the option parsers check, e.g. --share stat()s).
 */
int config_json_parse(struct vm_config *cfg, const char *name, const char *text, size_t len,
		      char *err, size_t errlen) __must_check;

/* config_json_load() - read (path) (at most CONFIG_JSON_MAX bytes) and config_json_parse() it. */
int config_json_load(struct vm_config *cfg, const char *path, char *err,
		     size_t errlen) __must_check;

#endif
