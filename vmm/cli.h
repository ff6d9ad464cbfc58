/* SPDX-License-Identifier: MIT */
/* cli.h: argv → struct vm_config, pure and unit-tested (no I/O besides sysconf). */
#ifndef AGENTVMM_VMM_CLI_H
#define AGENTVMM_VMM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/*
 * cli_parse_mac() - (s, n) as six ':'-separated hex pairs into (mac); a
 * multicast or all-zero address is refused. Return: 0 or -EINVAL. Context: pure.
 */
int cli_parse_mac(const char *s, size_t n, uint8_t mac[6]) __must_check;

/*
 * cli_parse_ipv4() - (s, n) as a strict dotted quad, with (prefix) followed by
 * "/N" (N 1..32), written back canonically into (out). 0.0.0.0 is refused.
 * Return: 0 or -EINVAL. Context: pure.
 */
int cli_parse_ipv4(const char *s, size_t n, bool prefix, char *out, size_t outlen) __must_check;

/* cli_default_mac() - 02:xx:..: from a hash of (tap): stable per name, locally administered. */
void cli_default_mac(const char *tap, uint8_t mac[6]);

/* cli_usage() - the --help text. */
const char *cli_usage(void);

#endif
