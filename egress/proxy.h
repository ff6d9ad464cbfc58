/* SPDX-License-Identifier: MIT */
/*
 * proxy.h: the interface of the agentvmm-egress program (proxy.c), the
 * per-VM HTTP proxy through which a guest without a network card reaches
 * the allowed hosts; vmm/egress.c starts it (docs/net.md "Egress proxy").
 *
 *   agentvmm-egress [--log] [--list-fd N]
 *   fd 0, 1  /dev/null
 *   fd 2     agentvmm's stderr: lines "agentvmm: egress: ..." (egress/log.h)
 *   fd 3     control socket, AF_UNIX SOCK_SEQPACKET
 *   fd 4     the rules text, allow-file format (egress/rules.h), read from offset 0
 *   fd N     with --log --list-fd N: one line "HOST:PORT" per destination reached
 *
 * Start-up: parse the rules; as root, change to uid/gid EGRESS_UID with no
 * supplementary groups; no_new_privs; parent-death signal SIGKILL; then one
 * message on fd 3: "ok", or "error: <one line>" and exit status 2.
 * After that each message on fd 3 is one byte carrying one fd (SCM_RIGHTS):
 * a connected AF_UNIX SOCK_STREAM socket, one guest connection, served by
 * a thread of its own. A message with no fd, or more than one, is ignored
 * (its fds closed). EOF on fd 3 ends the program at once, status 0.
 */
#ifndef AGENTVMM_EGRESS_PROXY_H
#define AGENTVMM_EGRESS_PROXY_H

#define EGRESS_FD_CTL 3
#define EGRESS_FD_RULES 4

#define EGRESS_MAX_CONNS 256              /* served at once; more get 503 */
#define EGRESS_HEAD_TIMEOUT_MS 10000      /* from the accept to the blank line (408) */
#define EGRESS_CONNECT_TIMEOUT_MS 10000   /* all addresses of one name together (504) */
#define EGRESS_STACK_SIZE (256 * 1024)    /* per connection thread (getaddrinfo needs some) */
#define EGRESS_ADDRS_MAX 16               /* addresses of one name tried */
#define EGRESS_RULES_TEXT_MAX (16 << 20)  /* bytes of fd 4 read */
#define EGRESS_UID 65534                  /* nobody / nogroup */

/* Test hooks: the two timeouts above in ms (1..600000), read at start-up. */
#define EGRESS_ENV_HEAD_TIMEOUT "AGENTVMM_EGRESS_HEAD_TIMEOUT_MS"
#define EGRESS_ENV_CONNECT_TIMEOUT "AGENTVMM_EGRESS_CONNECT_TIMEOUT_MS"

#endif
