/* SPDX-License-Identifier: MIT */
/*
 * session.h: guest-init's side of the session protocol (session_proto.h):
 * the job a session carries (gi_spec_parse(), pure, fuzzed) and the handler
 * process that runs one session's command and relays its stdio.
 *
 * PID 1 (init.c) connects the workload's session (gi_session_connect_job())
 * or accepts exec sessions (gi_session_listen()/gi_session_accept()), forks,
 * and the child calls gi_session_serve(): that child is the session handler;
 * it forks the command itself and exits with the command's status once the
 * host has acknowledged it, so for the workload's session PID 1 supervises
 * the handler exactly as it supervised the command before.
 */
#ifndef AGENTVMM_GUEST_INIT_SESSION_H
#define AGENTVMM_GUEST_INIT_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#include "guest-init/compiler.h"
#include "guest-init/session_proto.h"

#define GI_SPEC_MAX_RLIMITS 16
#define GI_SESSION_CONNECT_MS 5000  /* the job connection: retry while the transport comes up */
#define GI_SESSION_SPEC_MS 30000    /* accept -> the whole SPEC frame, or the session ends */
#define GI_SESSION_MAX_EXEC 64      /* exec sessions at once; more are closed at once */

struct gi_spec_rlimit {
	int resource;           /* RLIMIT_* */
	struct rlimit rl;
};

/* One set-up item (session_proto.h "Set-up items"); strings point into the job's buffer. */
struct gi_spec_setup {
	char key;               /* 's' 'M' 'D' 'P' 'O' 'Y' */
	const char *path;       /* s: KEY; M: DST; P:, O: PATH (inside the root); else NULL */
	const char *value;      /* s: VALUE; M: DATA, NULL for "-" (bind: the source) */
	const char *fstype;     /* M: TYPE ("bind" for a bind mount) */
	unsigned long flags;    /* M: FLAGS, within AVS_MOUNT_FLAGS */
};

/* A job's capability sets (k:), bit N for capability N. */
struct gi_spec_caps {
	uint64_t bnd, eff, prm, inh, amb;
};

/* A parsed job; the strings point into (buf). */
struct gi_spec {
	char *buf;              /* owned copy of the payload */
	char **argv;            /* argc strings + NULL */
	size_t argc;
	char **env;             /* envc "NAME=VALUE" strings + NULL */
	size_t envc;
	const char *cwd;        /* NULL: the handler's own (with root: "/" inside it) */
	bool has_user;
	uint32_t uid, gid;
	uint32_t groups[AVS_MAX_GROUPS];        /* g: items */
	size_t nr_groups;
	bool tty;
	uint16_t rows, cols;
	struct gi_spec_rlimit rlimits[GI_SPEC_MAX_RLIMITS];
	size_t nr_rlimits;
	/* container items */
	const char *root;       /* R: NULL none */
	const char *hostname;   /* h: NULL none */
	bool has_umask;
	uint32_t umask;         /* m: 0..0777 */
	bool no_new_privs;      /* n:1 */
	bool has_caps;
	struct gi_spec_caps caps; /* k: */
	struct gi_spec_setup *setup; /* nr_setup items, wire order (applied by key: container.h) */
	size_t nr_setup;
};

/*
 * gi_spec_parse() - decode a SPEC payload (p, len) into (s) (released with
 * gi_spec_fini() whatever the result), per session_proto.h.
 * Return: 0; -EINVAL with one line in (err); -ENOMEM.
 * Context: pure. Guest: n/a; the peer (host side of the session): all of it.
 */
int __must_check gi_spec_parse(const uint8_t *p, size_t len, struct gi_spec *s, char *err,
			       size_t errlen);

/* gi_spec_fini() - free what gi_spec_parse() allocated; idempotent. */
void gi_spec_fini(struct gi_spec *s);

/*
 * gi_session_frame_check() - whether a frame header (host -> guest) may be
 * accepted: a host type, flags and zero 0, and a length its type allows
 * (SPEC <= AVS_SPEC_MAX, STDIN <= AVS_DATA_MAX, WINSIZE/SIGNAL exactly 4,
 * EXIT_ACK 0). (h->len) is already in host byte order.
 * Return: 0 or -EPROTO. Context: pure.
 */
int __must_check gi_session_frame_check(const struct avs_hdr *h);

/* gi_child_signals_reset() - in a child before exec: default handlers, nothing blocked, no ports. */
void gi_child_signals_reset(void);

/*
 * gi_session_connect_job() - connect to the host's AVS_PORT_JOB (CID 2),
 * retrying for GI_SESSION_CONNECT_MS while the vsock transport comes up.
 * Return: the stream's fd or -errno. Context: PID 1.
 */
int gi_session_connect_job(void);

/* gi_session_listen() - listen on AVS_PORT_EXEC. Return: fd (non-blocking) or -errno. */
int gi_session_listen(void);

/*
 * gi_session_accept() - accept one exec connection from (lfd); a peer that is
 * not the host (CID 2) is closed. Return: fd, -EAGAIN (none, or refused), -errno.
 */
int gi_session_accept(int lfd);

/*
 * gi_session_serve() - the session handler, in a process forked by PID 1
 * (which closed its own fds first): read the SPEC, start the command, relay
 * until the host acknowledges EXIT (or the stream ends: the command's process
 * group is killed), then _exit() with the command's status. The SPEC must
 * come within GI_SESSION_SPEC_MS, unless (await) (the workload's job with
 * agentvmm.session=await: the host gives it when it wants).
 */
__attribute__((noreturn)) void gi_session_serve(int sock, bool await);

#endif
