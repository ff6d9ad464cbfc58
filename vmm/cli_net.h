/* SPDX-License-Identifier: MIT */
/*
 * cli_net.h: the --net option (prefix cli_), parsed into struct vm_net:
 *
 *   --net tap=NAME|fd=A[:B...][,queues=N][,mac=MAC][,ip=A.B.C.D/N][,gw=A.B.C.D][,dns=A.B.C.D]
 *
 * docs/net.md lists every value and error line.
 */
#ifndef AGENTVMM_VMM_CLI_NET_H
#define AGENTVMM_VMM_CLI_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/compiler.h"
#include "vmm/config.h"

#define VM_NET_LABEL_MAX 96 /* "tap=NAME" or "fd=A:B:..." of 16 descriptors, NUL included */

/*
 * cli_net() - one --net (arg) appended to (cfg): exactly one of tap= and fd=,
 * queues= 1..VM_NET_MAX_QUEUES (equal to the fd count when both are given),
 * fds of 3 or more and none twice. Return: 0 or -EINVAL with one line in (err).
 * Context: pure.
 */
int cli_net(struct vm_config *cfg, const char *arg, char *err, size_t errlen) __must_check;

/*
 * cli_check_nets() - after all options: no tap, fd or MAC in two --net, at
 * most VM_NET_MAX_ALL_QUEUES queue pairs in all.
 * Return: 0 or -EINVAL with one line in (err). Context: pure.
 */
int cli_check_nets(const struct vm_config *cfg, char *err, size_t errlen) __must_check;

/* cli_net_label() - "tap=NAME" or "fd=A:B..." of (d), for messages, into (buf). */
void cli_net_label(const struct vm_net *d, char *buf, size_t len);

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

/*
 * cli_default_mac() - 02:xx:..: from a hash of (name), the tap name or the
 * fd= label: stable per name, locally administered.
 */
void cli_default_mac(const char *name, uint8_t mac[6]);

#endif
