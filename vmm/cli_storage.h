/* SPDX-License-Identifier: MIT */
/*
 * cli_storage.h: the options that give a VM storage (prefix cli_):
 *
 *   --disk PATH[,ro][,direct][,mount=DIR]
 *   --share ro|rw:HOST[:GUEST]
 *   --fs tag=T,socket=S[,mount=DIR][,wait=SECONDS]
 *
 * parsed into struct vm_disk and struct vm_share (vmm/config.h); docs/shares.md
 * and docs/architecture.md list the values and error lines.
 */
#ifndef AGENTVMM_VMM_CLI_STORAGE_H
#define AGENTVMM_VMM_CLI_STORAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "vmm/compiler.h"
#include "vmm/config.h"

/* cli_disk() - one --disk (arg) appended to (cfg). Return: 0 or -EINVAL, one line in (err). */
int cli_disk(struct vm_config *cfg, const char *arg, char *err, size_t errlen) __must_check;

/* cli_pmem() - parse one --pmem PATH[,ro][,mount=DIR][,dax] into cfg->pmems. */
int cli_pmem(struct vm_config *cfg, const char *arg, char *err, size_t errlen) __must_check;

/*
 * cli_share() - one --share (arg) appended to (cfg): HOST resolved with
 * realpath(3) and a directory. Return: 0 or -EINVAL, one line in (err).
 */
int cli_share(struct vm_config *cfg, const char *arg, char *err, size_t errlen) __must_check;

/*
 * cli_fs() - one --fs (arg) appended to (cfg): a socket that does not exist
 * yet is accepted while wait= is not 0 (connecting waits for it).
 * Return: 0 or -EINVAL, one line in (err).
 */
int cli_fs(struct vm_config *cfg, const char *arg, char *err, size_t errlen) __must_check;

/*
 * cli_check_shares() - after all options: no directory shared twice, no
 * guest path or tag used twice, no share on a --disk mount, no --ksm with a
 * share. Return: 0 or -EINVAL, one line in (err). Context: pure.
 */
int cli_check_shares(const struct vm_config *cfg, char *err, size_t errlen) __must_check;

#endif
