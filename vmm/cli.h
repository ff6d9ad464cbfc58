/* SPDX-License-Identifier: MIT */
/*
 * cli.h: the VM option table and argv → struct vm_config, unit-tested (no I/O
 * besides sysconf, stat of --share/--fs paths and reading a --config file).
 */
#ifndef AGENTVMM_VMM_CLI_H
#define AGENTVMM_VMM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/compiler.h"
#include "vmm/config.h"
#include "vmm/cli_net.h" /* --net: cli_parse_mac(), cli_parse_ipv4()... */

enum cli_action { CLI_RUN, CLI_HELP, CLI_VERSION };

/* What a VM option's value is, in a config file. */
enum cli_type {
	CLI_STR,   /* a string */
	CLI_NUM,   /* a number (given to the parser as decimal text) */
	CLI_BOOL,  /* a flag; true/false */
	CLI_COUNT, /* -v: counts up on the command line, a number 0..3 elsewhere */
	CLI_LIST,  /* repeatable: each value appends; a file gives an array of strings */
};

/* The list a repeatable option appends to (--share and --fs fill one list). */
enum cli_list { CLI_NO_LIST, CLI_LIST_DISKS, CLI_LIST_SHARES, CLI_LIST_NETS, CLI_LIST_API_UIDS,
		CLI_LIST_ENV, CLI_LIST_OEM_STRINGS, CLI_LIST_SET_CREDS, CLI_LIST_LOAD_CREDS,
		CLI_LIST_EGRESS, CLI_LIST_PMEM,
		CLI_LIST_NR /* the count, not a list */ };

/*
 * One VM option. (name) is the long flag without "--", the config-file key and
 * the avm_config_set() name. (set) validates and stores a value (NULL: a plain
 * string stored at (offset)); it keeps the pointer, so the value must live as
 * long as the config (cli_parse: argv; the library and the file: config_keep).
 */
struct cli_opt {
	const char *name;
	enum cli_type type;
	int (*set)(struct vm_config *cfg, const char *arg, char *err, size_t errlen);
	size_t offset;
	enum cli_list list;
};

/* cli_opt_find() - the option called (name), or NULL. */
const struct cli_opt *cli_opt_find(const char *name);

/* cli_opt_at() - the (i)th option of the table, NULL past its end (for iterating). */
const struct cli_opt *cli_opt_at(size_t i);

/*
 * cli_opt_apply() - validate and store (arg) for (o) (a bool or count takes
 * NULL as "set"/"count up"). Return: 0 or -EINVAL with one line in (err),
 * the same text for a flag, a config-file value and avm_config_set().
 */
int cli_opt_apply(const struct cli_opt *o, struct vm_config *cfg, const char *arg, char *err,
		  size_t errlen) __must_check;

/* cli_set() - cli_opt_apply() by name; -ENOENT for an unknown name. */
int cli_set(struct vm_config *cfg, const char *name, const char *arg, char *err,
	    size_t errlen) __must_check;

/* cli_list_clear() - empty (list) of (cfg). */
void cli_list_clear(struct vm_config *cfg, enum cli_list list);

/*
 * cli_check() - the checks across options, once all are in: a kernel (or raw
 * image) is given, no tap/MAC/share directory/guest path/tag used twice.
 * Return: 0 or -EINVAL with one line in (err).
 */
int cli_check(const struct vm_config *cfg, char *err, size_t errlen) __must_check;

/*
 * cli_parse_args() - parse (argc, argv) on top of (cfg) (which may hold
 * values already). --config FILE is loaded first (config_json_load), then
 * every flag applies in order: a scalar flag replaces the value, the first
 * --disk (--share/--fs, --net) replaces that whole list, a "-- CMD" replaces
 * the command. Strings point into argv (not copied) or into (cfg)'s own.
 * Return: 0 and (*action); -EINVAL (or -ENOENT, -ENOMEM from the file) with
 * one printable line in (err).
 * Context: one thread at a time (getopt).
 */
int cli_parse_args(int argc, char **argv, struct vm_config *cfg, enum cli_action *action,
		   char *err, size_t errlen) __must_check;

/*
 * cli_parse() - config_init(cfg), then cli_parse_args(). Everything after
 * "--" is the workload argv (pointers into argv, not copied).
 * Return: 0 and (*action); -EINVAL with one line in (err), e.g.
 * "--mem 0: must be between 16 and N MiB".
 * Context: main thread.
 */
int cli_parse(int argc, char **argv, struct vm_config *cfg, enum cli_action *action, char *err,
	      size_t errlen) __must_check;

/* cli_usage() - the --help text. */
const char *cli_usage(void);

#endif
