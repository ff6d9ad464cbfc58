/* SPDX-License-Identifier: MIT */
/*
 * runtime.h: agentvmm-oci, an OCI runtime (docs/oci.md): the commands a
 * container engine calls (create, start, state, kill, delete, ps, pause,
 * resume, exec, features), each one process, over libagentvmm
 * (include/agentvmm.h) and oci/spec.h.
 *
 * One container is one VM, run by one host process, the *monitor*: forked by
 * `create`, it creates and boots the VM (which waits for its job:
 * avm_config_await_job()), and is the process whose pid `create` writes to
 * the pid file, so the engine (containerd's runc shim, a subreaper) reaps it
 * and takes its exit status, the container process's. The monitor's own
 * socket (STATE/m.sock) takes "start", "pause" and "resume"; `kill` is a
 * signal to the monitor, which passes it to the container process; `exec` is
 * a session through the VM's control socket (STATE/api.sock).
 *
 * State directory ROOT/ID (0700), written by `create`, read by everyone:
 *   state.json   id, pid, pid's start time, bundle, creation time, annotations
 *   status       "created", "running" or "paused": written by the monitor
 *   m.sock       the monitor's socket; api.sock the VM's control socket
 *   vmm.log      the monitor's stderr: agentvmm's own lines, the console
 * A container whose monitor is gone (pid dead, or reused: start time differs)
 * is "stopped".
 */
#ifndef AGENTVMM_OCI_RUNTIME_H
#define AGENTVMM_OCI_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "oci/spec.h"

#define OCI_DEFAULT_ROOT "/run/agentvmm-oci"
#define OCI_DEFAULT_CONFIG "/etc/agentvmm/oci.json"
#define OCI_DEFAULT_KERNEL "/var/cache/agentvmm/kernel/bzImage"
#define OCI_GUEST_ROOT "/run/oci-rootfs"  /* where the guest mounts the bundle's rootfs */
#define OCI_DEFAULT_MEM_MIB 512
#define OCI_MIN_MEM_MIB 128
#define OCI_ID_MAX 128
#define OCI_BOOT_WAIT_MS 100000           /* monitor: the guest ready for its process */
#define OCI_CREATE_WAIT_MS 120000         /* create: the monitor's answer */
#define OCI_STOP_WAIT_MS 5000            /* create's failure: the monitor's own stop */
#define OCI_KILL_WAIT_MS 10000            /* delete --force: the monitor is gone */
#define OCI_VERSION "1.0.2"

#define __oci_printf(a, b) __attribute__((format(printf, a, b)))

/* Global flags (runc's): --root, --log, --log-format, --debug. */
struct oci_global {
	const char *root;
	const char *log;       /* NULL: stderr only */
	bool log_json;
	bool debug;
};

/* log.c: lines to the --log file (JSON {"level","msg","time"} or text). */
void oci_log(const struct oci_global *g, const char *level, const char *fmt, ...) __oci_printf(3, 4);
/* oci_error() - log at "error" and print "agentvmm-oci: MSG" on stderr. Return: 1. */
int oci_error(const struct oci_global *g, const char *fmt, ...) __oci_printf(2, 3);

/* state.c */
struct oci_state {
	char id[OCI_ID_MAX + 1];
	pid_t pid;                  /* the monitor; 0 before create finished */
	unsigned long long start;   /* its start time (/proc/PID/stat field 22) */
	char *bundle;
	char *created;              /* RFC 3339 */
	char *annotations;          /* JSON object text, or NULL */
};

/* oci_id_ok() - a container ID: [A-Za-z0-9_.+-], 1..OCI_ID_MAX, not "." or "..". */
bool oci_id_ok(const char *id);
/* oci_state_dir() - ROOT/ID in (out). Return: 0, or -ENAMETOOLONG. */
int oci_state_dir(const struct oci_global *g, const char *id, char *out, size_t len);
int oci_state_write(const char *dir, const struct oci_state *st);
/* oci_state_read() - Return: 0, -ENOENT (no such container), -EINVAL damaged. */
int oci_state_read(const char *dir, struct oci_state *st);
void oci_state_fini(struct oci_state *st);
/* oci_pid_start() - /proc/PID/stat's start time, 0 when gone. */
unsigned long long oci_pid_start(pid_t pid);
/* oci_alive() - is the monitor of (st) still the process it was? */
bool oci_alive(const struct oci_state *st);
/* oci_status() - "creating", "created", "running", "paused" or "stopped". */
const char *oci_status(const char *dir, const struct oci_state *st);
/* oci_write_status() - the monitor's "status" file, atomically. */
int oci_write_status(const char *dir, const char *status);
/* oci_write_file() - (text) into (path) atomically (PATH.tmp, rename), mode 0600. */
int oci_write_file(const char *path, const char *text);
/* oci_read_file() - a whole file (at most max bytes), NUL-terminated, malloc()ed. */
int oci_read_file(const char *path, size_t max, char **out, size_t *len);
/*
 * oci_bundle_spec() - (bundle)/config.json read (at most OCI_MAX_FILE bytes)
 * and parsed into (spec); on error one message in (msg) that starts with the
 * file's path. Return: 0 or -errno (the reader's or the parser's).
 */
int oci_bundle_spec(const char *bundle, struct oci_spec *spec, char *msg, size_t msglen);
/* oci_state_json() - the OCI state object for `state` and hooks (malloc()ed). */
char *oci_state_json(const struct oci_state *st, const char *status);
/* oci_annotations_json() - "KEY=VALUE" strings as a JSON object's text (malloc()ed; NULL none). */
char *oci_annotations_json(char **kv, int n);
/* oci_remove_state() - remove a state directory's files, itself and its lock. */
void oci_remove_state(const struct oci_global *g, const char *dir, const char *id);
/* oci_lock() - an exclusive flock on ROOT/ID.lock (created); -errno. */
int oci_lock(const struct oci_global *g, const char *id);

/* hooks.c: run (n) hooks on the host with the state JSON on stdin. Return 0 or -errno + msg. */
int oci_run_hooks(const struct oci_hook *h, int n, const char *state_json, char *msg,
		  size_t msglen);

/* job.c: the container's process as a session job (avm_exec_opts). */
struct avm_exec_opts;
struct oci_job {
	char user[32];
	char umask[8];
	char caps[96];
	unsigned *groups;
};
/* oci_job_opts() - (o) for spec (s)'s process; (first): with hostname and the set-up (items). */
int oci_job_opts(const struct oci_spec *s, struct oci_job *j, struct avm_exec_opts *o,
		 bool first, char **items, int nitems);
void oci_job_fini(struct oci_job *j);

/* podnet.c: the pod's network namespace and interface (docs/oci.md "Network"). */
struct oci_podnet {
	bool active;                /* an addressed interface: the VM gets a NIC */
	char ifname[16];
	char tap[16];               /* the VM's: avm + 8 hex digits of the container ID's hash */
	uint32_t addr, gw;          /* network order; gw 0: none */
	unsigned prefix;
	unsigned char mac[6];
};
/* oci_podnet_join() - setns() into the spec's network namespace path and find its interface. */
int oci_podnet_join(const struct oci_spec *s, const char *id, struct oci_podnet *pn, char *msg,
		    size_t msglen);
/* oci_podnet_net_option() - the --net value for (pn): the tap, its MAC, address, gateway. */
int oci_podnet_net_option(const struct oci_podnet *pn, char *buf, size_t len);
/* oci_podnet_connect() - tc redirects between the interface and the VM's tap (after avm_create()). */
int oci_podnet_connect(const struct oci_podnet *pn, char *msg, size_t msglen);
void oci_podnet_disconnect(const struct oci_podnet *pn);

/* monitor.c: the monitor process's half of create (never returns). */
struct oci_create {
	const struct oci_global *g;
	const char *id;
	const char *dir;            /* state directory */
	const char *bundle;         /* absolute */
	const char *console_socket; /* NULL */
	struct oci_spec *spec;
	char *rootfs;               /* absolute host path */
	int ready_fd;               /* write end: "ok\n" or "error MSG\n" */
	int pty_slave;              /* terminal: the slave; else -1 */
};
__attribute__((noreturn)) void oci_monitor(struct oci_create *c);

/* send a request to the monitor's socket; reply "ok" or the error in (msg). */
int oci_monitor_request(const char *dir, const char *req, char *msg, size_t msglen);

/* commands (cmd_*.c) */
int oci_cmd_create(const struct oci_global *g, int argc, char **argv);
int oci_cmd_start(const struct oci_global *g, int argc, char **argv);
int oci_cmd_state(const struct oci_global *g, int argc, char **argv);
int oci_cmd_kill(const struct oci_global *g, int argc, char **argv);
int oci_cmd_delete(const struct oci_global *g, int argc, char **argv);
int oci_cmd_ps(const struct oci_global *g, int argc, char **argv);
int oci_cmd_pause(const struct oci_global *g, int argc, char **argv);
int oci_cmd_resume(const struct oci_global *g, int argc, char **argv);
int oci_cmd_exec(const struct oci_global *g, int argc, char **argv);
int oci_cmd_features(const struct oci_global *g, int argc, char **argv);

/* Command-line flags, Go style: -f, --flag, --flag=V, --flag V, -flag V. */
struct oci_flag {
	const char *name;       /* long name */
	char short_name;        /* 0: none */
	bool has_arg;
	const char **val;       /* has_arg: where the value goes (last wins) */
	bool *set;              /* !has_arg: set true */
};
/*
 * oci_flags_parse() - parse (argv) from index 0 (the command's own arguments);
 * stops at the first non-flag or "--". Return: index of the first positional,
 * or -1 with a message in (msg).
 */
int oci_flags_parse(int argc, char **argv, const struct oci_flag *flags, size_t nflags,
		    char *msg, size_t msglen);

/* pty.c: a new pty; the master goes to (console_socket) over SCM_RIGHTS. Return: slave fd. */
int oci_pty_to_socket(const char *console_socket, unsigned rows, unsigned cols, char *msg,
		      size_t msglen);

#endif
