/* SPDX-License-Identifier: MIT */
/*
 * agentvmm.h: libagentvmm, the public C API of agentvmm: build a VM config
 * (the same options as the agentvmm command line, or a JSON file), create VMs,
 * start, pause, resume, shut down, kill and wait for them.
 *
 * Conventions
 *   - Every function that can fail returns 0 or a negative errno value and,
 *     when given a struct avm_error, fills it with the same code and one line
 *     of text. The library never calls exit() or abort().
 *   - Opaque handles; a struct avm_config may be freed right after
 *     avm_create() (the VM keeps its own copy).
 *   - No global state: any number of VMs may live in one process. The few
 *     process-wide things are listed under "Process-wide state" below.
 *
 * Threads per started VM: one per vCPU, one I/O thread (io_uring event loop),
 * one supervisor thread (waits for the stop, reads console input, joins the
 * vCPUs, publishes the exit status). They run with every signal blocked (vCPU
 * threads take only SIGUSR1), so the application's own signal handling is
 * untouched. All functions on one struct avm are thread-safe, except
 * avm_destroy(), which must be the last call on it.
 *
 * Process-wide state
 *   - SIGUSR1 is the vCPU kick signal: the library installs its handler (once,
 *     at the first avm_create()). Do not use SIGUSR1 yourself.
 *   - The log level (avm_set_log_level()); log lines go to stderr.
 *   - stdin: only one VM at a time may have console "stdio" without a command
 *     (an interactive console reading stdin); another gets -EBUSY.
 *
 * Full guide with a launcher: docs/embedding.md.
 */
#ifndef AGENTVMM_H
#define AGENTVMM_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stdbool.h>
#include <stdint.h>

#define AVM_ERROR_MSG_MAX 512

/* An error: (code) is a negative errno value, (msg) one line of text ("" when none). */
struct avm_error {
	int code;
	char msg[AVM_ERROR_MSG_MAX];
};

/* Exit statuses that are not the workload's (docs/architecture.md "Exit status"). */
#define AVM_STATUS_HOST_FAILURE 1   /* a host-side failure */
#define AVM_STATUS_USAGE 2          /* bad configuration (the CLI's bad usage) */
#define AVM_STATUS_GUEST_CRASH 125  /* guest kernel panic or triple fault */
#define AVM_STATUS_KILLED 137       /* avm_kill(), or avm_shutdown() had to force the stop */

/* ---- configuration ---------------------------------------------------- */

struct avm_config;

/* avm_config_new() - an empty config with the defaults (1 vCPU, 512 MiB,
 * console stdio, no command = interactive shell). Return: NULL when out of memory. */
struct avm_config *avm_config_new(void);

/* avm_config_free() - free (cfg); NULL is fine. */
void avm_config_free(struct avm_config *cfg);

/*
 * avm_config_set() - set option (key) to (value): the names and value syntax
 * of the agentvmm flags without "--" (docs/embedding.md lists them): "kernel",
 * "initrd", "cmdline", "modules-dir", "raw-image", "console" (stdio, none or a
 * file path), "cpus", "mem" (MiB), "owner" (UID:GID), "console-log" (true or
 * false; NULL = true), "verbose" (0..3), "vsock" (cid=N,socket=PATH), and the
 * repeatable "disk", "pmem", "share", "fs", "net", "egress", "oem-string", "set-credential",
 * "load-credential" (each call appends one; "net" with
 * fd=A[:B...] names descriptors of the calling process, which avm_create()
 * checks and duplicates and never closes). Values are validated by the same code
 * as the flags and fail with the same text. (value) is copied.
 * Return: 0; -ENOENT unknown key; -EINVAL bad value; -ENOMEM.
 */
int avm_config_set(struct avm_config *cfg, const char *key, const char *value,
		   struct avm_error *err);

/*
 * avm_config_clear_list() - empty the list of a repeatable key ("disk", "pmem",
 * "share"/"fs", "net", "egress", "oem-string", "set-credential", "load-credential").
 */
int avm_config_clear_list(struct avm_config *cfg, const char *key, struct avm_error *err);

/*
 * avm_config_set_command() - the command the guest runs (copied); argc 0
 * means none: an interactive shell on the console.
 * Return: 0, -EINVAL (argc < 0) or -ENOMEM.
 */
int avm_config_set_command(struct avm_config *cfg, int argc, const char *const *argv,
			   struct avm_error *err);

/*
 * avm_config_load_json() - apply the JSON object in file (path) to (cfg):
 * the option names as keys, strings, numbers, booleans, arrays of strings
 * for the repeatable options (replacing the list) and "command": [...].
 * Unknown keys and wrong types fail naming the key:
 * `vm.json: "mem": expected a number`.
 * Return: 0, -EINVAL, -ENOMEM; on error (cfg) holds the keys before the bad one.
 */
int avm_config_load_json(struct avm_config *cfg, const char *path, struct avm_error *err);

/* avm_config_load_json_text() - the same for JSON text in memory; (name) prefixes errors. */
int avm_config_load_json_text(struct avm_config *cfg, const char *name, const char *text,
			      unsigned long len, struct avm_error *err);

/* What avm_config_parse_args() found besides options. */
enum avm_args_action { AVM_ARGS_RUN, AVM_ARGS_HELP, AVM_ARGS_VERSION };

/*
 * avm_config_parse_args() - apply an agentvmm command line (argv[0] is the
 * program name) to (cfg): --config FILE first, then every flag in order
 * (scalar flags replace, the first --disk / --share or --fs / --net replaces
 * that list, "-- CMD..." replaces the command). Strings are copied.
 * Return: 0 and (*action); -EINVAL etc. with the one-line CLI message.
 * Context: not thread-safe (getopt).
 */
int avm_config_parse_args(struct avm_config *cfg, int argc, char **argv,
			  enum avm_args_action *action, struct avm_error *err);

/*
 * avm_config_check() - the checks across options done at avm_create(): a
 * kernel (or raw image) given, no tap, MAC, shared directory, guest path or
 * tag used twice. Return: 0 or -EINVAL.
 */
int avm_config_check(const struct avm_config *cfg, struct avm_error *err);

/* avm_config_verbose() - the "verbose" level of (cfg) (-v count). */
int avm_config_verbose(const struct avm_config *cfg);

/* avm_usage() - the agentvmm --help text. */
const char *avm_usage(void);

/* avm_version() - the library version, e.g. "0.1.0". */
const char *avm_version(void);

/* ---- VMs ---------------------------------------------------------------- */

struct avm;

enum avm_state {
	AVM_STATE_CREATED,  /* avm_create() done, not started */
	AVM_STATE_RUNNING,  /* started */
	AVM_STATE_PAUSED,   /* vCPUs parked (the I/O thread still completes requests) */
	AVM_STATE_STOPPING, /* stop decided (guest exit, poweroff, kill...), threads ending */
	AVM_STATE_STOPPED,  /* exit status known (avm_wait) */
};

/*
 * avm_create() - build a VM from (cfg): check it, open /dev/kvm, allocate RAM,
 * load the kernel and initramfs, create devices (starting a virtiofsd per
 * share) and vCPUs. Nothing runs yet.
 * Return: 0 and (*out); -EINVAL and friends for a bad config (the CLI exits 2),
 * -ENOMEM/-EIO for host failures (the CLI exits 1); -EBUSY console stdio taken.
 */
int avm_create(const struct avm_config *cfg, struct avm **out, struct avm_error *err);

/*
 * avm_start() - start the vCPUs, the I/O thread and the supervisor thread, and
 * return at once. Return: 0; -EINVAL when not AVM_STATE_CREATED; -errno when a
 * thread could not start (the VM is then stopped with status 1).
 */
int avm_start(struct avm *vm, struct avm_error *err);

/*
 * avm_wait() - wait until the VM has stopped, at most (timeout_ms) ms (0: poll,
 * < 0: forever). Return: 0 with the exit status in (*status) (NULL is fine):
 * the command's status, 0 after a poweroff or reboot, 125 guest crash,
 * 1 host failure, AVM_STATUS_KILLED (137) after avm_kill() or a forced
 * avm_shutdown(), or what avm_stop() gave; -ETIMEDOUT; -EINVAL never started.
 */
int avm_wait(struct avm *vm, int timeout_ms, int *status);

/*
 * avm_wait_ready() - wait until guest-init has started the workload (boot
 * mark 2): in session mode it takes exec sessions from then on, and a VM
 * awaiting its job (avm_config_await_job()) is ready for it; a template VM
 * (avm_snapshot()) is at its ready mark. At most
 * (timeout_ms) ms (< 0: forever). Return: 0; -ESRCH the VM stopped first (or
 * never started); -ETIMEDOUT.
 */
int avm_wait_ready(struct avm *vm, int timeout_ms);

/*
 * avm_wait_fd() - a file descriptor that becomes readable once the VM has
 * stopped (for poll/epoll loops); owned by the VM, closed by avm_destroy().
 */
int avm_wait_fd(struct avm *vm);

/* avm_pause() - park every vCPU; returns once they are. Return: 0, -EINVAL wrong state, -ESRCH stopped. */
int avm_pause(struct avm *vm, struct avm_error *err);

/* avm_resume() - let paused vCPUs run again. Return: 0, -EINVAL, -EPERM a template VM. */
int avm_resume(struct avm *vm, struct avm_error *err);

/*
 * avm_snapshot() - write a template (docs/snapshot.md) of a template VM: one
 * whose config has "template" true and no "template-out" (agentvmm template
 * --api-socket), held at its ready mark (avm_wait_ready() returns 0 then).
 * The file (path) is created 0600 by the caller's process (unnamed until
 * written and fsynced, then renamed over path); on success the VM ends with
 * status 0, on an error it stays held for another try. Blocks for the write.
 * Return: 0; -EAGAIN not at the mark yet; -EINVAL not a template VM; -ESRCH
 * stopping; -errno of the file.
 */
int avm_snapshot(struct avm *vm, const char *path, struct avm_error *err);

/*
 * avm_shutdown() - graceful stop: press the ACPI power button (resuming a
 * paused VM first) and wait up to (timeout_ms) for the guest to power off;
 * when pressing fails or the timeout passes, force the stop (exit status
 * AVM_STATUS_KILLED). Returns after the VM has stopped.
 * Return: 0 the VM stopped without being forced (the guest powered off or
 * exited, or it had stopped already); 1 the stop was forced; -EINVAL when the
 * VM was never started.
 */
int avm_shutdown(struct avm *vm, unsigned timeout_ms, struct avm_error *err);

/*
 * avm_request_shutdown() - the same graceful stop without waiting: press the
 * button, press again each second, and force the stop with exit status
 * (force_status) when (timeout_ms) pass (0: force now). A second request while
 * one is pending forces at once. Return: 0 or -EINVAL when the VM is not running.
 */
int avm_request_shutdown(struct avm *vm, unsigned timeout_ms, int force_status,
			 struct avm_error *err);

/*
 * avm_signal() - what the agentvmm CLI does when it gets (signo): SIGTERM,
 * SIGINT, SIGHUP: avm_request_shutdown() bounded by the config's
 * "shutdown-timeout", forced with 128 + signo; SIGQUIT or a second signal:
 * stop now with 128 + signo. Return: 0.
 */
int avm_signal(struct avm *vm, int signo);

/*
 * avm_confine_caller() - put the calling thread under the VM's supervisor
 * seccomp filter (docs/security.md), as the agentvmm CLI does with its main
 * thread after avm_start(). Irreversible for that thread; a no-op when the
 * config's "seccomp" is off. Return: 0 or -errno.
 */
int avm_confine_caller(struct avm *vm, struct avm_error *err);

/*
 * avm_ctl_client() - the "agentvmm ctl SOCKET CMD" client (docs/control-socket.md)
 * with (argc, argv) starting at "ctl". Return: its exit status.
 */
int avm_ctl_client(int argc, char **argv);

/*
 * avm_exec_client() - the "agentvmm exec --api-socket SOCKET [-t] ... -- CMD"
 * client (docs/control-socket.md, "exec") with (argc, argv) starting at
 * "exec": runs CMD in the guest on this process's stdin, stdout and stderr,
 * passing SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 (and SIGWINCH
 * with -t) on. Return: its exit status: CMD's; 2 bad usage; 1 the server or
 * the guest refused the session; 255 no status (connection or protocol
 * failure), each failure with one line on stderr.
 */
int avm_exec_client(int argc, char **argv);

/* What avm_exec() runs, and on which fds. */
struct avm_exec_opts {
	int argc;                  /* >= 1; argv[0] is looked up in the guest's PATH */
	const char *const *argv;
	int envc;
	const char *const *env;    /* "NAME=VALUE", over the guest's base environment */
	const char *cwd;           /* absolute; NULL: the guest's default */
	const char *user;          /* "UID[:GID]"; NULL: 0:0 */
	bool tty;                  /* on a pseudo-terminal (in_fd's size, else 24x80) */
	int in_fd, out_fd, err_fd; /* the caller's; in -1: empty stdin; out/err -1: discarded */
	/*
	 * avm_exec() only: pass SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2
	 * (and SIGWINCH, as a window size, with tty) sent to the process on to the
	 * command while it runs, as `agentvmm exec` does (they are blocked in the
	 * calling thread meanwhile; block them in every other thread).
	 */
	bool signals;
	/*
	 * A container's process (agentvmm-oci, docs/oci.md); zero/NULL: none.
	 * The items' syntax is guest-init/session_proto.h's.
	 */
	int nr_rlimits;
	const char *const *rlimits;  /* "NAME:SOFT:HARD" (r: items) */
	const char *root;            /* chroot into this guest directory first */
	const char *hostname;        /* the guest's hostname */
	int nr_groups;
	const unsigned *groups;      /* supplementary groups (default: none) */
	const char *umask;           /* octal, e.g. "022"; NULL: guest-init's */
	bool no_new_privs;
	const char *caps;            /* "BND:EFF:PRM:INH:AMB" hex masks; NULL: unchanged */
	int nr_setup;
	const char *const *setup;    /* one-time set-up items (mounts, masked paths...) */
};

/*
 * avm_exec() - run a command in the guest of the agentvmm serving the control
 * socket (api_socket) and wait for it: the "exec" request, then a session
 * (guest-init/session_proto.h) relayed on the calling thread between the
 * caller's fds and the guest. The fds' flags are not changed (outputs are
 * reopened or duplicated); with (o->tty) a terminal in_fd is raw meanwhile.
 * No signal is passed on unless (o->signals); SIGPIPE is blocked in the
 * calling thread while it runs (a closed out_fd is EPIPE, dropped). Blocking.
 * Return: 0 with the command's exit status in (*status) (0..255; 2 bad job,
 * 125 could not be set up, 126 not executable, 127 not found, 128 + N killed
 * by signal N); -EINVAL or -E2BIG a bad job (the message names the item);
 * -ENOENT, -ECONNREFUSED... the control socket could not be reached;
 * -EACCES denied, -EBUSY busy, -EOPNOTSUPP an agentvmm without "exec",
 * -ECONNREFUSED the VM or the guest did not take the session;
 * -ETIMEDOUT no answer within 30 s; -EPIPE the session ended before the exit
 * status; -EPROTO a protocol error; -ENOMEM.
 */
int avm_exec(const char *api_socket, const struct avm_exec_opts *o, int *status,
	     struct avm_error *err);

/*
 * avm_config_await_job() - (on): the VM boots with no command and guest-init
 * waits, however long, for the workload's job, which avm_start_job() gives
 * once the VM runs (agentvmm-oci boots at "create" and runs the container's
 * process at "start"). Needs agentvmm's own guest-init (no initrd, init or
 * raw image, --stdio vsock) and no command (avm_create() checks).
 * Return: 0.
 */
int avm_config_await_job(struct avm_config *cfg, bool on, struct avm_error *err);

/*
 * avm_start_job() - give a VM created with avm_config_await_job() its
 * workload (o): run as its session on the VM's own thread, relayed between
 * (o)'s fds (duplicated: the caller may close its own) and the guest, once.
 * The VM stops when the job has exited and its status is the VM's exit
 * status, as for a command given at creation. Does not wait.
 * Return: 0; -EINVAL not an awaiting VM, or a bad job (the message names the
 * item); -EBUSY a job was given already; -ESRCH the VM has stopped; -ENOMEM.
 */
int avm_start_job(struct avm *vm, const struct avm_exec_opts *o, struct avm_error *err);

/*
 * avm_job_signal() - send (signo) (1..64) to the process group of the job
 * avm_start_job() gave (a SIGNAL frame); SIGWINCH in a tty job sends the
 * size of its in_fd's terminal instead. Does not wait.
 * Return: 0; -ESRCH no job running; -EINVAL bad signal; -EAGAIN too many
 * signals queued.
 */
int avm_job_signal(struct avm *vm, int signo, struct avm_error *err);

/* avm_kill() - stop the VM now, exit status AVM_STATUS_KILLED. Return: 0. Does not wait. */
int avm_kill(struct avm *vm);

/* avm_stop() - like avm_kill() with exit status (status) (0..255), e.g. 128 + a signal number. */
int avm_stop(struct avm *vm, int status);

/* avm_state() - the current state. */
enum avm_state avm_state(struct avm *vm);

/* avm_state_name() - "created", "running", "paused", "stopping", "stopped" ("unknown"). */
const char *avm_state_name(enum avm_state state);

struct avm_info {
	enum avm_state state;
	uint64_t uptime_ms;        /* since avm_start() (0 before); frozen once stopped */
	int pid;                   /* the process the VM runs in */
	unsigned cpus;
	uint64_t mem_mib;
	unsigned nr_disks, nr_shares, nr_nets;
	int exit_status;           /* once AVM_STATE_STOPPED, else -1 */
	uint64_t vcpu_exits;       /* KVM_RUN returns, all vCPUs */
	uint64_t console_bytes;    /* bytes the guest wrote to its console */
	/*
	 * the status the guest reported (exit port, 0..255), -1 if none: equal
	 * to exit_status exactly when that is the guest's own, which tells a
	 * guest's 1, 125 or 137 from agentvmm's (docs/architecture.md "Exit status")
	 */
	int guest_status;
};

/* avm_info() - a snapshot of (vm). Return: 0. */
int avm_info(struct avm *vm, struct avm_info *info);

/*
 * The guest's memory as the virtio-balloon sees it (--balloon, on by default;
 * docs/balloon.md). Memory figures are bytes, from the guest's last stats
 * (stats_age_ms old); a figure the guest did not send is UINT64_MAX.
 */
struct avm_balloon_info {
	uint64_t target_mib;       /* the balloon size asked for (avm_balloon_set) */
	uint64_t actual_mib;       /* what the guest's driver says it holds */
	int driver;                /* 1 once the guest's driver runs the device */
	int reporting;             /* 1 when free page reporting was negotiated */
	int stats_valid;           /* 1 when the figures below came from the guest */
	uint64_t stats_age_ms;
	uint64_t free_bytes, total_bytes, available_bytes, cache_bytes;
	uint64_t swap_in, swap_out, major_faults, minor_faults;
	uint64_t reported_bytes;   /* free memory the guest reported and the host took back */
	uint64_t inflated_pages;   /* 4 KiB pages the guest put in the balloon, all told */
};

/*
 * avm_balloon_set() - ask the guest to give (size_mib) MiB to the balloon (0:
 * give it all back); the guest gets there in its own time (actual_mib).
 * Return: 0; -ENODEV (--balloon off); -EINVAL (more than the guest's RAM).
 * Context: any thread; does not block.
 */
int avm_balloon_set(struct avm *vm, uint64_t size_mib, struct avm_error *err);

/*
 * avm_balloon_info() - the balloon's state and the guest's last memory stats
 * into (info), and a request for fresh stats (a later call sees them).
 * Return: 0 or -ENODEV (--balloon off). Context: any thread; does not block.
 */
int avm_balloon_info(struct avm *vm, struct avm_balloon_info *info, struct avm_error *err);

/* avm_destroy() - kill the VM if it runs, join its threads, free everything; NULL is fine. */
void avm_destroy(struct avm *vm);

/*
 * avm_set_log_level() - process-wide: 0 errors, 1 warnings (default), 2 info
 * (-v), 3 debug (-vv). Lines go to stderr, prefixed "agentvmm: ".
 */
void avm_set_log_level(int level);

#ifdef __cplusplus
}
#endif

#endif
