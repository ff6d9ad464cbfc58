/* SPDX-License-Identifier: MIT */
/* cli.h: argv → struct vm_config, pure and unit-tested (no I/O besides sysconf). */
#ifndef AGENTVMM_VMM_CLI_H
#define AGENTVMM_VMM_CLI_H

#include <stddef.h>

#include "vmm/compiler.h"
#include "vmm/config.h"

enum cli_action { CLI_RUN, CLI_HELP, CLI_VERSION };

/*
 * cli_parse() - parse (argc, argv) into (cfg). Everything after "--" is the
 * workload argv (pointers into argv, not copied).
 * Return: 0 and (*action); -EINVAL with one line in (err), e.g.
 * "--mem 0: must be between 16 and N MiB".
 * Context: main thread.
 */
int cli_parse(int argc, char **argv, struct vm_config *cfg, enum cli_action *action, char *err,
	      size_t errlen) __must_check;

/* cli_usage() - the --help text. */
const char *cli_usage(void);

#endif
