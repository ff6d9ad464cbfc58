/* SPDX-License-Identifier: MIT */
/*
 * ctl.h: the control socket (--api-socket): a JSON-lines protocol on a unix
 * stream socket, served by its own thread, driving a VM through callbacks.
 *
 * Protocol (docs/control-socket.md is the reference): each request is one line
 * holding one JSON object, each reply is one line:
 *
 *   → {"cmd":"info","id":7}
 *   ← {"ok":true,"id":7,"result":{"state":"running","pid":1234,...}}
 *   → {"cmd":"shutdown","timeout_ms":5000}
 *   ← {"ok":false,"error":{"code":"failed","message":"shutdown: ..."}}
 *
 * Commands: ping, info, pause, resume, shutdown [timeout_ms], kill, exec,
 * balloon [size_mib] (docs/balloon.md), snapshot (with an open file sent
 * along, SCM_RIGHTS; docs/snapshot.md). "id" (an
 * integer or a string) is echoed back. Error codes: bad-request (not one JSON
 * object, oversized line), unknown-command, bad-field (a field of the wrong
 * type or value, an unknown or duplicated key; the message names it), busy (too
 * many connections, or the VM cannot do it now), denied (peer uid not allowed),
 * failed (the VM refused or could not do it).
 *
 * The parser (ctl_parse_request) is pure so it can be fuzzed; the server
 * (ctl_server_*) owns the socket, its thread and every limit below.
 */
#ifndef AGENTVMM_VMM_CTL_H
#define AGENTVMM_VMM_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "vmm/compiler.h"

#define CTL_LINE_MAX 4096           /* request bytes before '\n'; longer: error + close */
#define CTL_MAX_CLIENTS 8           /* more: a "busy" reply, then close */
#define CTL_IDLE_TIMEOUT_MS 10000   /* a connection with no complete request for this long is closed */
#define CTL_OUT_MAX 65536           /* unread reply bytes per client; past this the client is closed */
#define CTL_REPLY_MAX 8192          /* one reply line; a longer result becomes a "failed" error */
#define CTL_MAX_ALLOWED_UIDS 16     /* --api-allow-uid */
#define CTL_SHUTDOWN_TIMEOUT_DEFAULT_MS 30000
#define CTL_SHUTDOWN_TIMEOUT_MAX_MS 3600000
#define CTL_ID_MAX 128              /* string id bytes */
#define CTL_MSG_MAX 256             /* error message bytes */
#define CTL_BALLOON_MAX_MIB (1024 * 1024) /* balloon size_mib: --mem's own bound, 1 TiB */

enum ctl_cmd {
	CTL_CMD_NONE = 0,
	CTL_CMD_PING,
	CTL_CMD_INFO,
	CTL_CMD_PAUSE,
	CTL_CMD_RESUME,
	CTL_CMD_SHUTDOWN,
	CTL_CMD_KILL,
	CTL_CMD_EXEC,
	CTL_CMD_BALLOON,
	CTL_CMD_SNAPSHOT,
};

enum ctl_errcode {
	CTL_OK = 0,
	CTL_E_BAD_REQUEST,
	CTL_E_UNKNOWN_COMMAND,
	CTL_E_BAD_FIELD,
	CTL_E_BUSY,
	CTL_E_DENIED,
	CTL_E_FAILED,
};

struct ctl_request {
	enum ctl_cmd cmd;
	uint32_t timeout_ms;        /* shutdown: graceful stop budget, then forced */
	bool has_size;              /* balloon: size_mib was given */
	uint64_t size_mib;          /* balloon: the size to ask the guest for, MiB */
	cJSON *id;                  /* a copy of "id" (number or string) or NULL; ctl_request_free() */
};

struct ctl_error {
	enum ctl_errcode code;
	char message[CTL_MSG_MAX];
};

/*
 * ctl_parse_request() - parse one request line (line, len), without its '\n',
 * into (req). (req)->id is filled as soon as the line is an object with a valid
 * "id", also when a later field is wrong, so an error reply can echo it.
 * Return: 0; -EINVAL with (err) set: CTL_E_BAD_REQUEST (longer than
 * CTL_LINE_MAX, a NUL byte, not JSON, not an object, no "cmd"),
 * CTL_E_UNKNOWN_COMMAND, CTL_E_BAD_FIELD (message names the field).
 * Context: any thread; no I/O (a process-wide lock guards cJSON's error global).
 * The caller calls ctl_request_free() either way.
 * Guest: no; the peer (a local user) controls every byte.
 */
int ctl_parse_request(const char *line, size_t len, struct ctl_request *req,
		      struct ctl_error *err) __must_check;

/* ctl_request_free() - free what ctl_parse_request() allocated; idempotent. */
void ctl_request_free(struct ctl_request *req);

/* ctl_cmd_name() / ctl_errcode_name() - protocol strings ("shutdown", "bad-field"). */
const char *ctl_cmd_name(enum ctl_cmd cmd);
const char *ctl_errcode_name(enum ctl_errcode code);

/*
 * ctl_format_reply() - one reply line with its '\n' into (buf, len): ok with
 * (result) (may be NULL: an empty object; ownership stays with the caller) when
 * (err) is NULL or CTL_OK, else the error. (id) may be NULL.
 * Return: the line length; -ENOSPC when it does not fit (then a "failed"
 * error line, which always fits CTL_REPLY_MAX, is written instead if possible);
 * -ENOMEM.
 * Context: pure.
 */
int ctl_format_reply(const cJSON *id, const cJSON *result, const struct ctl_error *err, char *buf,
		     size_t len);

/*
 * What the server drives. Each callback runs on the control thread, must not
 * block (shutdown starts a graceful stop and returns), and returns 0 or -errno
 * with a one-line reason in (msg, msglen). -EBUSY becomes a "busy" reply, any
 * other error "failed". (opaque) is ctl_server_start()'s.
 */
struct ctl_ops {
	/*
	 * thread_enter() - optional: run first on the control thread (confine
	 * it). On an error the thread serves nothing and ends.
	 */
	int (*thread_enter)(void *opaque);
	/* info() - add fields (state, pid, ...) to the object (result). */
	int (*info)(void *opaque, cJSON *result, char *msg, size_t msglen);
	int (*pause)(void *opaque, char *msg, size_t msglen);
	int (*resume)(void *opaque, char *msg, size_t msglen);
	/* shutdown() - ask the guest to power off; force it after (timeout_ms). */
	int (*shutdown)(void *opaque, uint32_t timeout_ms, char *msg, size_t msglen);
	int (*kill)(void *opaque, char *msg, size_t msglen);
	/*
	 * exec() - hand the client's connection (fd; the callee dups what it
	 * keeps) to a new exec session (guest-init/session_proto.h). On 0 the
	 * server forgets the connection without a reply: the session's
	 * "OK <port>" line or its closing is the answer.
	 */
	int (*exec)(void *opaque, int fd, char *msg, size_t msglen);
	/*
	 * balloon() - add the balloon's state and the guest's memory stats to
	 * (result); with (set), first ask for a balloon of (size_mib) MiB.
	 */
	int (*balloon)(void *opaque, bool set, uint64_t size_mib, cJSON *result, char *msg,
		       size_t msglen);
	/*
	 * snapshot() - write a template into (fd), the file that came with the
	 * request (closed by the server afterwards); add its size to (result).
	 * The one callback that blocks: for the write (seconds).
	 */
	int (*snapshot)(void *opaque, int fd, cJSON *result, char *msg, size_t msglen);
};

struct ctl_server;

/*
 * ctl_server_start() - create the socket (path) (mode 0600; a stale socket
 * there is replaced; a live one, or anything that is not a socket, is an
 * error), and start the control thread. Connections are accepted from root,
 * from this process's effective uid, and from the (n) uids in (allowed_uids).
 * Return: 0 and (*out); -errno with one line in (err): -ENAMETOOLONG,
 * -EEXIST (not a socket), -EADDRINUSE (a live server), -EINVAL, or the
 * failing system call's error.
 * Context: any thread. (ops) and (opaque) must outlive the server.
 */
int ctl_server_start(struct ctl_server **out, const char *path, const struct ctl_ops *ops,
		     void *opaque, const uid_t *allowed_uids, unsigned n, char *err,
		     size_t errlen) __must_check;

/*
 * ctl_server_stop() - stop the thread, close every connection, unlink the
 * socket (only if the path still names the socket this server created), free
 * (srv). NULL is a no-op. After it returns no callback runs.
 * Context: any thread but the control thread.
 */
void ctl_server_stop(struct ctl_server *srv);

/*
 * ctl_client_main() - "agentvmm ctl SOCKET CMD [--timeout-ms N] [--json]"
 * (argv[0] is "ctl"). Return: the exit status: 0 ok, 1 an error reply, 2 bad
 * usage or no answer from the socket. Context: main thread.
 */
int ctl_client_main(int argc, char **argv);

#endif
