/* SPDX-License-Identifier: MIT */
/*
 * cmdline.h: the agentvmm.* keys of the kernel command line, tokenised as the
 * kernel does and decoded into the workload's argv and settings.
 *
 * Keys (everything else on the command line is ignored; parsing stops at a
 * bare "--", as the kernel's parse_args() does; for a repeated key the last
 * one wins):
 *
 *   agentvmm.argc=N       number of workload arguments, 1..GI_CMDLINE_MAX_ARGS.
 *                         Present: command mode. Absent: interactive shell.
 *   agentvmm.argv=ENC     the arguments, each percent-encoded, joined by ','.
 *   agentvmm.session[=1]  command mode with the job, stdin, stdout and stderr on
 *                         a vsock session (session_proto.h), not on this line;
 *                         not with agentvmm.argc. "await": the host gives the
 *                         job when it wants (avm_start_job()): no time limit
 *                         for the SPEC frame.
 *   agentvmm.verbose[=1]  progress lines on the console ("0" turns it off).
 *   agentvmm.egress[=1]   start the egress forwarder (egress.h) on 127.0.0.1:3128
 *                         before the workload, and point the *_PROXY variables at
 *                         it; "0" turns it off, any other value is an error.
 *   agentvmm.term=ENC     TERM for the workload (one encoded value), default "linux".
 *   agentvmm.env=ENC      extra NAME=VALUE environment entries, same encoding.
 *   agentvmm.disks=ENC    "SERIAL:ro|rw:/path" per disk to mount (disks.h).
 *   agentvmm.pmem=ENC     "GPA:erofs|ext4:ro|rw:dax|nodax:/path" per virtio-pmem
 *                         device, GPA its region's start as lowercase 0x hex, non-zero
 *                         and 2 MiB aligned; at most GI_CMDLINE_MAX_PMEM (pmem.h).
 *   agentvmm.shares=ENC   "TAG:ro|rw|store:/path" per virtio-fs share (shares.h).
 *   agentvmm.nets=ENC     "MAC|A.B.C.D/N|GW|DNS" per NIC, fields may be empty (net.h).
 *   agentvmm.init=ENC     the system init to hand PID 1 to (--init), one value.
 *   agentvmm.template[=1] stop at the template mark before any module loads,
 *                         then take the configuration from the restore port
 *                         (ports.h, restore.h); "0" turns it off.
 *   agentvmm.seed=HEX     GI_CMDLINE_SEED_BYTES bytes (lowercase hex) from the host
 *                         to reseed the kernel's RNG with (a restored VM: its
 *                         clones must not share the template's random state).
 *   agentvmm.time=S.N     the host's CLOCK_REALTIME, seconds and nanoseconds
 *                         (9 digits): the clock is set to it (a restored VM).
 *   agentvmm.page_reporting_order=N  free page reporting order, 0..10 (a
 *                         restored VM's --balloon reporting-order, set once PCI is
 *                         rescanned; a cold boot has the kernel's own
 *                         page_reporting.page_reporting_order).
 *   init=PATH             the same, the kernel's own key (raw, as microvm.nix
 *                         passes it); agentvmm.init wins when both are given.
 *                         Both are ignored in command mode (cl_init_ignored).
 *
 * ENC, shared with the host side byte for byte: bytes in [A-Za-z0-9] and
 * "-._~/:@+=" stand for themselves; every other byte is "%XX" with two
 * UPPERCASE hex digits; values are joined with ','. So "a b,c" encodes as
 * "a%20b%2Cc". An empty ENC with argc=1 is one empty argument. The decoder is
 * strict: lowercase hex, a truncated escape, "%00", a raw byte outside the
 * literal set and a count that differs from agentvmm.argc are all rejected.
 */
#ifndef AGENTVMM_GUEST_INIT_CMDLINE_H
#define AGENTVMM_GUEST_INIT_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

#include "guest-init/compiler.h"

#define GI_CMDLINE_MAX_ARGS 4096
#define GI_CMDLINE_MAX_ENV 1024
#define GI_CMDLINE_DEFAULT_TERM "linux"
#define GI_CMDLINE_MAX_DISKS 64
#define GI_CMDLINE_MAX_PMEM 8
#define GI_CMDLINE_MAX_SHARES 64
#define GI_CMDLINE_MAX_NETS 16
#define GI_CMDLINE_INIT_MAX 1024	/* bytes of an init path, NUL included */
#define GI_CMDLINE_SEED_BYTES 32
#define GI_CMDLINE_REPORTING_ORDER_MAX 10	/* below Linux's MAX_ORDER (11) */

struct gi_cmdline {
	bool cl_command;	/* agentvmm.argc was given: run cl_argv, not a shell */
	bool cl_session;	/* agentvmm.session: the job comes over vsock (session.h) */
	bool cl_session_await;	/* agentvmm.session=await: whenever the host has it */
	bool cl_verbose;
	bool cl_egress;		/* agentvmm.egress: run the egress forwarder (egress.h) */
	size_t cl_argc;
	char **cl_argv;		/* cl_argc strings + NULL; NULL in interactive mode */
	char *cl_term;		/* decoded agentvmm.term; NULL when not given */
	size_t cl_envc;
	char **cl_env;		/* cl_envc "NAME=VALUE" strings + NULL; NULL when none */
	size_t cl_ndisks;
	char **cl_disks;	/* "SERIAL:ro|rw:/path" + NULL; NULL when none */
	size_t cl_npmem;
	char **cl_pmem;		/* "GPA:FSTYPE:ro|rw:dax|nodax:/path" + NULL; NULL when none */
	size_t cl_nshares;
	char **cl_shares;	/* "TAG:ro|rw|store:/path" + NULL; NULL when none */
	size_t cl_nnets;
	char **cl_nets;		/* "MAC|A.B.C.D/N|GW|DNS" + NULL; NULL when none */
	char *cl_init;		/* absolute init path to hand off to; NULL: none */
	bool cl_init_ignored;	/* an init was given but command mode overrides it */
	bool cl_template;	/* agentvmm.template: wait for a restore (restore.h) */
	bool cl_has_seed;	/* agentvmm.seed given: cl_seed holds it */
	unsigned char cl_seed[GI_CMDLINE_SEED_BYTES];
	bool cl_has_time;	/* agentvmm.time given: cl_time_sec/cl_time_nsec */
	long long cl_time_sec;
	long cl_time_nsec;
	bool cl_has_reporting_order;	/* agentvmm.page_reporting_order given */
	unsigned int cl_reporting_order;
};

/*
 * gi_cmdline_next() - split the next parameter off (args), exactly as the
 * kernel's next_arg() (lib/cmdline.c) does: whitespace separates parameters
 * except inside double quotes; the value starts after the first '=' (not at
 * index 0); one pair of quotes around the value, or around the whole
 * parameter, is removed. (args) is modified in place; *param and *val point
 * into it, *val is NULL when there is no '='.
 *
 * Return: where the following parameter starts (leading spaces skipped).
 * Context: pure; any thread.
 * Guest: n/a (the host controls the command line).
 */
char *gi_cmdline_next(char *args, char **param, char **val);

/*
 * gi_cmdline_parse() - parse (len) bytes of /proc/cmdline (text need not be
 * NUL-terminated) into (cl), which the caller later releases with
 * gi_cmdline_fini() whether or not parsing succeeded.
 *
 * Return: 0; -EINVAL for a malformed agentvmm.* value, with one line naming
 * the key and the fault in (err); -ENOMEM.
 * Context: pure; any thread.
 */
int __must_check gi_cmdline_parse(const char *text, size_t len, struct gi_cmdline *cl,
				  char *err, size_t errlen);

/* gi_cmdline_fini() - free what gi_cmdline_parse() allocated; idempotent. */
void gi_cmdline_fini(struct gi_cmdline *cl);

/*
 * gi_cmdline_decode() - decode a ','-joined ENC value (enc, len) into a
 * NULL-terminated vector (*out, one malloc block: free(*out) releases it)
 * of *n strings. An empty value decodes to one empty string.
 *
 * Return: 0; -EINVAL with the offset and fault in (err); -E2BIG for more than
 * (max) values; -ENOMEM.
 * Context: pure; any thread.
 */
int __must_check gi_cmdline_decode(const char *enc, size_t len, size_t max, char ***out,
				   size_t *n, char *err, size_t errlen);

/*
 * gi_cmdline_encode() - the inverse of gi_cmdline_decode() for (argc) strings
 * (argv): writes the NUL-terminated encoding into (buf) when it fits and
 * stores its length (without the NUL) in *len either way. Provided for tests
 * and for host code that wants the reference encoder.
 *
 * Return: 0; -ENOSPC when (buflen) is too small (buf then holds nothing useful).
 * Context: pure; any thread.
 */
int __must_check gi_cmdline_encode(const char *const *argv, size_t argc, char *buf,
				   size_t buflen, size_t *len);

#endif
