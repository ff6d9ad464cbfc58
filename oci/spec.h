/* SPDX-License-Identifier: MIT */
/*
 * spec.h: an OCI runtime-spec bundle's config.json (runtime-spec config.md
 * and config-linux.md) parsed and validated into struct oci_spec, and turned
 * into the guest set-up items guest-init applies inside the container's VM.
 * What is supported, ignored and refused is listed at the top of oci/spec.c.
 */
#ifndef AGENTVMM_OCI_SPEC_H
#define AGENTVMM_OCI_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/compiler.h"

#define OCI_MAX_ARGS 4096    /* process.args, a hook's args */
#define OCI_MAX_ENV 4096     /* process.env, a hook's env */
#define OCI_MAX_MOUNTS 128
#define OCI_MAX_PATHS 128    /* linux.maskedPaths, linux.readonlyPaths (each) */
#define OCI_MAX_GROUPS 256   /* process.user.additionalGids */
#define OCI_MAX_HOOKS 32     /* of each kind */
#define OCI_MAX_SYSCTL 128
#define OCI_MAX_RLIMITS 16
#define OCI_MAX_MOUNT_OPTS 64 /* mounts[].options */
#define OCI_MAX_ANNOTATIONS 1024
#define OCI_MAX_IGNORED 64   /* notes kept in oci_spec.ignored; more are dropped */
#define OCI_MAX_STRING (64 * 1024) /* any one string, and one set-up item */
#define OCI_MAX_FILE (4 * 1024 * 1024)
#define OCI_STAGE_DIR "/.agentvmm-binds" /* host binds' staging place in the rootfs */

struct oci_hook {
	char *path;             /* absolute */
	char **args;            /* NULL-terminated; may be empty (nargs 0) */
	int nargs;
	char **env;             /* "NAME=VALUE", NULL-terminated */
	int nenv;
	int timeout;            /* seconds, 0 none */
};

struct oci_mount {
	char *type;             /* as given, NULL when absent */
	char *source;           /* as given, NULL when absent */
	char *dest;             /* absolute, no ".." component */
	char **options;         /* as given, NULL-terminated */
	int nopts;
};

enum oci_hook_kind {
	OCI_HOOK_PRESTART,
	OCI_HOOK_CREATE_RUNTIME,
	OCI_HOOK_CREATE_CONTAINER,
	OCI_HOOK_START_CONTAINER,
	OCI_HOOK_POSTSTART,
	OCI_HOOK_POSTSTOP,
	OCI_HOOK_KINDS
};

/*
 * One parsed config.json. Every string is owned (oci_spec_free frees it);
 * every char ** array is NULL-terminated as well as counted.
 */
struct oci_spec {
	char *oci_version;
	char *root_path;            /* as given ("rootfs" or absolute) */
	bool root_readonly;
	/* process (required) */
	bool terminal;
	unsigned console_rows, console_cols; /* consoleSize, 0 when absent */
	char **args;                /* >= 1 */
	int nargs;
	char **env;                 /* "NAME=VALUE" */
	int nenv;
	char *cwd;                  /* absolute */
	uint32_t uid, gid;          /* 0 when process.user is absent (as runc) */
	uint32_t *groups;           /* additionalGids */
	int ngroups;
	int umask;                  /* -1: absent, else 0..0777 */
	bool no_new_privs;
	bool has_caps;              /* process.capabilities given */
	uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
	/*
	 * "NAME:SOFT:HARD", guest-init's r: item syntax: NAME one of core cpu
	 * data fsize memlock nofile nproc stack as; SOFT and HARD decimal, or
	 * "unlimited" for 2^64-1. Other RLIMIT_ types are ignored (spec.c).
	 */
	char **rlimits;
	int nrlimits;
	int oom_score_adj;          /* -1000..1000 */
	bool has_oom_score_adj;
	char *hostname;             /* NULL when absent or ""; else 1..64 of [A-Za-z0-9.-] */
	struct oci_mount *mounts;
	int nmounts;
	char **masked;              /* absolute */
	int nmasked;
	char **readonly;            /* absolute */
	int nreadonly;
	char **sysctl;              /* "KEY=VALUE", KEY of [A-Za-z0-9_.-] (dots, no slashes) */
	int nsysctl;
	/*
	 * linux.namespaces' network entry: a path to join (netns_path) or a new
	 * one (new_netns). Neither: no network namespace was asked for, which
	 * under runc means the host's network.
	 */
	char *netns_path;
	bool new_netns;
	char *cgroups_path;         /* linux.cgroupsPath or NULL */
	int64_t mem_limit;          /* linux.resources.memory.limit, -1 none (also for 0 and -1) */
	int64_t cpu_quota;          /* linux.resources.cpu.quota, -1 none (also for 0) */
	uint64_t cpu_period;        /* linux.resources.cpu.period, 0 none */
	struct oci_hook *hooks[OCI_HOOK_KINDS]; /* index enum oci_hook_kind */
	int nhooks[OCI_HOOK_KINDS];
	char **annotations;         /* "KEY=VALUE", KEY non-empty without '=' */
	int nannotations;
	/*
	 * One note per setting that was given but is not honoured, naming its
	 * JSON path, e.g. "linux.seccomp" or "process.rlimits[2] (RLIMIT_RTPRIO)",
	 * for the runtime to log as warnings. At most OCI_MAX_IGNORED.
	 */
	char **ignored;
	int nignored;
};

/*
 * oci_spec_parse() - parse and validate config.json (text, len) (no NUL
 * needed at the end) into (out), which is zeroed first and freed again on
 * error. Unknown keys are ignored (the spec allows extensions); a known key
 * given twice in one object is an error; a null value counts as absent.
 * Return: 0; -EINVAL with one printable line in (err) naming the JSON path,
 * e.g. `process.user.uid: expected a number` or `linux.uidMappings: user
 * namespace mappings are not supported in a VM` (whole-file errors start
 * with `config.json:`); -ENOMEM.
 * Context: pure; any thread.
 * Guest: none (the bundle comes from the container manager).
 */
int oci_spec_parse(const char *text, size_t len, struct oci_spec *out, char *err,
		   size_t errlen) __must_check;

/* oci_spec_free() - free what (s) holds and zero it; idempotent; (s) may be NULL. */
void oci_spec_free(struct oci_spec *s);

/* oci_spec_annotation() - the value of annotation (key), or NULL when not given. */
const char *oci_spec_annotation(const struct oci_spec *s, const char *key);

/*
 * oci_spec_setup_items() - the guest set-up items for the container's first
 * session, in guest-init's SPEC item syntax (guest-init/session_proto.h),
 * in its order s M D P O Y (which is also the order it applies them in):
 *
 *   "s:KEY=VALUE"  a sysctl, KEY as session_proto.h takes it (spec.c checks).
 *   "M:TYPE:FLAGS:DATA:DST"  one per mount, in the spec's order. TYPE is one
 *       of proc sysfs tmpfs devpts mqueue cgroup2 bind; FLAGS lowercase hex
 *       without "0x" of MS_RDONLY MS_NOSUID MS_NODEV MS_NOEXEC MS_NOATIME
 *       MS_NODIRATIME MS_RELATIME MS_STRICTATIME MS_SYNCHRONOUS MS_REC;
 *       DATA the comma-joined non-flag options (mode=755,size=65536k) or
 *       "-" for none, never holding ':'; for bind, DATA is the source path
 *       as seen inside the container. DST is the rest of the item (absolute,
 *       may hold ':'): split the item at its first four colons only.
 *   "D:1"        populate /dev; once, when a tmpfs is mounted at /dev.
 *   "P:PATH"     a masked path; "O:PATH" a read-only path.
 *   "Y:1"        the root read-only; last, when root.readonly.
 *
 * A bind mount (type "bind", or a "bind"/"rbind" option) whose source is a
 * host path becomes "M:bind:FLAGS:OCI_STAGE_DIR/N:DST" (N its index into
 * s->mounts, which also goes into (host_binds)): the runtime bind-mounts the
 * host path at OCI_STAGE_DIR/N in the rootfs on the host before the VM
 * starts, the guest binds it from there to DST in the spec's order (so a
 * later tmpfs on /dev does not hide /dev/termination-log, as it would if
 * the host mounted it at DST), and "P:OCI_STAGE_DIR" after the mounts hides
 * the staging place. A bind source counts as inside the container (its own
 * path in the item) only when it lies lexically inside root.path: both
 * absolute (root.path "/b/rootfs", source "/b/rootfs/x" -> "/x"), or both
 * relative to the bundle ("rootfs", "rootfs/x"); with no "." or ".."
 * component.
 *
 * (items) is NULL-terminated and freed with oci_items_free(); (host_binds)
 * with free(). Both are NULL with 0 counts on error.
 * Return: 0; -EINVAL with (err) naming the mount, e.g. `mounts[3] (/foo):
 * mount type "xyz" is not supported`; -ENOMEM.
 * Context: pure; any thread.
 */
int oci_spec_setup_items(const struct oci_spec *s, char ***items, int *nitems, int **host_binds,
			 int *nbinds, char *err, size_t errlen) __must_check;

/* oci_items_free() - free a NULL-terminated item array (NULL is fine). */
void oci_items_free(char **items);

#endif
