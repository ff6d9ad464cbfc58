/* SPDX-License-Identifier: MIT */
/*
 * cli_egress.h: the --egress option (prefix cli_egress), kept in struct
 * vm_egress, and the allow list it makes for the egress proxy:
 *
 *   --egress allow=ENTRY[,ENTRY...]   hosts the guest may reach (egress/rules.h:
 *                                     NAME[:PORT], *.DOMAIN[:PORT], addresses
 *                                     and CIDRs); a bare item after allow= is
 *                                     one more entry
 *   --egress file=PATH                entries one per line, # comments
 *   --egress log[=PATH]               every host allowed, the ones reached are
 *                                     listed on stderr (and in PATH)
 *
 * Items may be mixed in one flag ("allow=a.example,file=list,log") and the
 * flag repeated; all add up. PATH may not contain a comma. docs/net.md
 * "Egress" lists every error line.
 */
#ifndef AGENTVMM_VMM_CLI_EGRESS_H
#define AGENTVMM_VMM_CLI_EGRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "vmm/compiler.h"
#include "vmm/config.h"

#define CLI_EGRESS_USAGE "expected allow=HOST[:PORT][,...], file=PATH or log[=PATH]"
#define CLI_EGRESS_FILE_MAX (1024 * 1024) /* an allow file's bytes */

/*
 * cli_egress() - check (arg) (every entry parsed, every file= readable) and
 * append it to cfg->egress; --egress is then on.
 * Return: 0 or -EINVAL with one line in (err).
 */
int cli_egress(struct vm_config *cfg, const char *arg, char *err, size_t errlen) __must_check;

/* What the proxy is started with: cli_egress_build(). */
struct cli_egress_plan {
	char *text;               /* the merged allow list, allow-file format (malloc'd) */
	size_t len;
	bool log;                 /* log mode */
	char *list;               /* log=PATH (malloc'd), or NULL */
};

/*
 * cli_egress_build() - (e)'s items into (plan): the allow= entries and each
 * file's text, checked line by line (errors name FILE:LINE). Reads the files.
 * Return: 0 (then cli_egress_plan_free()), -EINVAL with one line in (err), -ENOMEM.
 */
int cli_egress_build(const struct vm_egress *e, struct cli_egress_plan *plan, char *err,
		     size_t errlen) __must_check;

/* cli_egress_plan_free() - free what cli_egress_build() allocated; (plan) is then empty. */
void cli_egress_plan_free(struct cli_egress_plan *plan);

#endif
