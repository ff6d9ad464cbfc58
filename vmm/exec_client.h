/* SPDX-License-Identifier: MIT */
/*
 * exec_client.h: `agentvmm exec` and avm_exec() (prefix exec_): run a command
 * in a running VM through its control socket (docs/control-socket.md, "exec").
 *
 * The client connects to the control socket, sends the one line
 * {"cmd":"exec"}, and reads one line back, never a byte past it: "OK <port>"
 * means the connection is now a session stream to guest-init
 * (guest-init/session_proto.h), and vmm/session.c's relay runs on it; a JSON
 * line is the server's error reply; an end of file without a line means the
 * guest did not take the session. The wait for the line is bounded
 * (EXEC_REPLY_WAIT_MS).
 */
#ifndef AGENTVMM_VMM_EXEC_CLIENT_H
#define AGENTVMM_VMM_EXEC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "vmm/compiler.h"

#define EXEC_REPLY_WAIT_MS 30000 /* for the control socket's one line */
#define EXEC_REQUEST "{\"cmd\":\"exec\"}\n"
#define EXEC_DEFAULT_ROWS 24     /* a tty session's size when stdin has none */
#define EXEC_DEFAULT_COLS 80

/* exit statuses of `agentvmm exec` that are not the command's */
#define EXEC_STATUS_REFUSED 1    /* the server or the guest refused the session */
#define EXEC_STATUS_USAGE 2
#define EXEC_STATUS_FAILED 255   /* no status: connection, protocol or host failure */

/* `agentvmm exec` options; strings point into argv except (rlimits). */
struct exec_args {
	const char *sock;          /* --api-socket */
	bool tty;                  /* -t */
	int envc;
	const char **env;          /* --env NAME=VALUE, in order */
	const char *cwd, *user;    /* --cwd, --user */
	int nr_rlimits;
	char **rlimits;            /* --rlimit NAME=SOFT:HARD, stored as NAME:SOFT:HARD */
	int argc;
	char **argv;               /* the command */
};

/*
 * exec_parse_args() - parse `agentvmm exec` options, (argv) starting at "exec"
 * (getopt_long, stopping at the first non-option or "--", so the command's
 * own options stay its own). Checks the shape of each option; the values'
 * meaning is avs_spec_build()'s to check. Free with exec_args_fini().
 * Return: 0; 1 for --help; -EINVAL with one line in (err) (no "agentvmm exec:"
 * prefix); -ENOMEM.
 * Context: not thread-safe (getopt).
 */
int exec_parse_args(int argc, char **argv, struct exec_args *a, char *err,
		    size_t errlen) __must_check;

/* exec_args_fini() - free what exec_parse_args() allocated; idempotent. */
void exec_args_fini(struct exec_args *a);

struct avm_exec_opts;
struct avs_spec_in;

/*
 * exec_opts_spec() - the job (avs_spec_build()'s input) for the public
 * struct avm_exec_opts (o): every field copied by reference, the groups
 * formatted into (*groups) (free with free(), NULL when none), a tty's size
 * from o->in_fd's terminal, else 24x80.
 * Return: 0, -EINVAL (negative counts, NULL arrays with a count), -ENOMEM.
 */
int exec_opts_spec(const struct avm_exec_opts *o, struct avs_spec_in *in,
		   char **groups) __must_check;

/* exec_usage() - the `agentvmm exec --help` text. */
const char *exec_usage(void);

#endif
