/* SPDX-License-Identifier: MIT */
/*
 * cli_balloon.h: the --balloon option (prefix cli_), parsed into struct
 * vm_balloon:
 *
 *   --balloon on|off
 *   --balloon [reporting=on|off][,reporting-order=N][,stats=SECONDS][,deflate-on-oom=on|off]
 *
 * A list of options turns the balloon on, starting from the defaults
 * (reporting on from order 9, deflate-on-oom on, stats 0 = only when asked). docs/balloon.md
 * lists every value and error line.
 */
#ifndef AGENTVMM_VMM_CLI_BALLOON_H
#define AGENTVMM_VMM_CLI_BALLOON_H

#include <stddef.h>

#include "vmm/compiler.h"
#include "vmm/config.h"

#define CLI_BALLOON_USAGE "expected on, off or reporting=on|off,reporting-order=N,stats=SECONDS," \
	"deflate-on-oom=on|off"

/*
 * cli_balloon() - (arg) into cfg->balloon, replacing what was there.
 * Return: 0 or -EINVAL with one line in (err). Context: pure.
 */
int cli_balloon(struct vm_config *cfg, const char *arg, char *err, size_t errlen) __must_check;

#endif
