// SPDX-License-Identifier: MIT
/*
 * spec.c: an OCI runtime-spec 1.x config.json into struct oci_spec, by
 * tables over oci/jwalk.h (the set-up items are in spec_items.c). Over 600
 * lines: a tenth is the list below, most of the rest one table per object
 * of the spec; cutting it would split one schema across files.
 *
 * What agentvmm-oci does with each part of config.json (one VM per
 * container; docs/oci.md is made from this list):
 *
 * Supported
 *   ociVersion (required, 1.x); root.path (required), root.readonly;
 *   process (required): terminal, consoleSize, user.uid/gid/umask/
 *   additionalGids, args (at least one), env, cwd (absolute), capabilities
 *   (all five sets; the names CAP_CHOWN (0) .. CAP_CHECKPOINT_RESTORE (40)),
 *   rlimits RLIMIT_CORE CPU DATA FSIZE MEMLOCK NOFILE NPROC STACK AS,
 *   noNewPrivileges, oomScoreAdj; hostname; mounts of type proc, sysfs,
 *   tmpfs, devpts, mqueue, cgroup2 and bind ("cgroup", v1, is mounted as
 *   cgroup2, without its options' data, which names v1 controllers); bind
 *   mounts of host paths are made on the host before the VM starts, binds
 *   of paths inside root.path in the guest; hooks (all six kinds, parsed
 *   for the runtime to run); annotations; linux.namespaces' network entry
 *   (a path to join, or a new one); linux.sysctl (none refused for being
 *   host-wide: it reaches the container's own guest kernel only);
 *   linux.maskedPaths, readonlyPaths;
 *   linux.cgroupsPath; linux.resources.memory.limit, cpu.quota, cpu.period.
 *
 * Ignored (accepted; each one given is noted in oci_spec.ignored)
 *   linux.seccomp: it cannot be enforced identically (the guest kernel is
 *   the container's own), and refusing it would refuse Docker's default
 *   spec. process.apparmorProfile, selinuxLabel, scheduler, ioPriority,
 *   execCPUAffinity; domainname. linux.resources other than memory.limit
 *   and cpu.quota/period (the device allowlist: the VM has only its own
 *   devices; the rest: the VM's size bounds them). linux.rootfsPropagation,
 *   mountLabel, personality, timeOffsets, memoryPolicy. A namespace path
 *   other than network's (containers in separate VMs share no kernel), and
 *   a missing pid, ipc, uts or mount namespace (the host's: the container
 *   gets its own anyway). process.rlimits RLIMIT_RSS LOCKS SIGPENDING
 *   MSGQUEUE NICE RTPRIO RTTIME: RSS and LOCKS do nothing in Linux, and the
 *   others only bound the container's own processes inside its own VM, not
 *   the host or other containers, so not applying them is not unsafe;
 *   guest-init's r: item takes the nine supported ones only.
 *   Mount options: propagation (private, rprivate, shared, rshared, slave,
 *   rslave, unbindable, runbindable), and defaults remount mand nomand
 *   dirsync lazytime nolazytime silent loud iversion noiversion nosymfollow
 *   symfollow tmpcopyup (outside the set-up item's flags). The recursive
 *   flags (rro, rnosuid, ...) are applied as their plain flag, to the mount
 *   itself. A bind mount's non-flag options (a bind takes no data).
 *   Unknown top-level and linux keys, and unknown hook kinds.
 *
 * Refused (with a message naming the JSON path)
 *   linux.uidMappings/gidMappings non-empty, a user namespace, a mount's
 *   uidMappings/gidMappings, the idmap/ridmap mount options (no user
 *   namespaces in a VM); linux.devices non-empty (extra devices);
 *   linux.intelRdt; linux.netDevices non-empty (a host interface cannot move
 *   into a VM); an unknown or repeated namespace type; an unknown or
 *   repeated rlimit type, or soft > hard; an unknown capability name, and
 *   sets capset(2) would refuse (effective not within permitted,
 *   inheritable not within bounding, ambient not within both permitted and
 *   inheritable); a hook with a relative path or a timeout <= 0; mount
 *   types other than the above; a mount destination, masked or read-only
 *   path that is relative or has a ".." component; env entries without
 *   NAME=; a hostname over 64 bytes or of other than letters, digits, '-'
 *   and '.', and a sysctl key of other than letters, digits, '_', '-' and
 *   single inner '.' (what guest-init's h: and s: items take); out-of-range
 *   numbers; a known key given twice in one object; a NUL byte or \u0000
 *   anywhere; a string over 64 KiB; a file over 4 MiB; more entries than
 *   the OCI_MAX_* limits.
 *
 * Numbers: cJSON reads them as doubles, so a 64-bit value above 2^53 is
 * rounded; 18446744073709551615 (and anything that rounds to 2^64) reads as
 * 2^64-1, i.e. "unlimited" for an rlimit.
 */
#include "oci/spec.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/jwalk.h"

#define OCI_HOSTNAME_MAX 64 /* HOST_NAME_MAX */
#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

/* <linux/capability.h>, 0 .. CAP_LAST_CAP of Linux 5.9+ */
static const char *const cap_names[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
};
_Static_assert(ARRAY_SIZE(cap_names) == 41, "capabilities 0..40");

/* The RLIMIT_ types of setrlimit(2); (item) NULL: ignored (see the list above). */
static const struct {
	const char *type, *item;
} rlimit_types[] = {
	{ "RLIMIT_CORE", "core" },   { "RLIMIT_CPU", "cpu" },         { "RLIMIT_DATA", "data" },
	{ "RLIMIT_FSIZE", "fsize" }, { "RLIMIT_MEMLOCK", "memlock" }, { "RLIMIT_NOFILE", "nofile" },
	{ "RLIMIT_NPROC", "nproc" }, { "RLIMIT_STACK", "stack" },     { "RLIMIT_AS", "as" },
	{ "RLIMIT_RSS", NULL },      { "RLIMIT_LOCKS", NULL },        { "RLIMIT_SIGPENDING", NULL },
	{ "RLIMIT_MSGQUEUE", NULL }, { "RLIMIT_NICE", NULL },         { "RLIMIT_RTPRIO", NULL },
	{ "RLIMIT_RTTIME", NULL },
};
_Static_assert(ARRAY_SIZE(rlimit_types) <= OCI_MAX_RLIMITS, "each type at most once");

static const char *const hook_names[OCI_HOOK_KINDS] = {
	[OCI_HOOK_PRESTART] = "prestart",
	[OCI_HOOK_CREATE_RUNTIME] = "createRuntime",
	[OCI_HOOK_CREATE_CONTAINER] = "createContainer",
	[OCI_HOOK_START_CONTAINER] = "startContainer",
	[OCI_HOOK_POSTSTART] = "poststart",
	[OCI_HOOK_POSTSTOP] = "poststop",
};

/* config-linux.md "Namespaces" */
enum { NS_PID, NS_NETWORK, NS_MOUNT, NS_IPC, NS_UTS, NS_USER, NS_CGROUP, NS_TIME };
static const char *const ns_names[] = { "pid", "network", "mount", "ipc",
					"uts", "user",    "cgroup", "time" };

/* ---- checks of single strings: NULL when fine, else the message ---- */

static bool has_dotdot(const char *p)
{
	for (const char *q = p; (q = strstr(q, "..")); q += 2)
		if ((q == p || q[-1] == '/') && (q[2] == '/' || !q[2]))
			return true;
	return false;
}

static const char *check_abs(const char *p)
{
	return p[0] == '/' ? NULL : "expected an absolute path";
}

/* absolute, without "..": the runtime and guest-init join it under the rootfs */
static const char *check_abs_clean(const char *p)
{
	if (p[0] != '/')
		return "expected an absolute path";
	return has_dotdot(p) ? "a \"..\" component is not allowed" : NULL;
}

static const char *check_env(const char *e)
{
	const char *eq = strchr(e, '=');

	return eq && eq != e ? NULL : "expected NAME=VALUE";
}

static const char *check_nonempty(const char *s)
{
	return s[0] ? NULL : "must not be empty";
}

static const char *check_version(const char *v)
{
	return strncmp(v, "1.", 2) ? "this version is not supported (1.x only)" : NULL;
}

/* guest-init's h: (session_proto.h) takes letters, digits, '-' and '.'; "" is no hostname */
static const char *check_hostname(const char *h)
{
	if (strlen(h) > OCI_HOSTNAME_MAX)
		return "longer than 64 bytes";
	return h[strspn(h, ALNUM "-.")] ? "expected letters, digits, '-' and '.'" : NULL;
}

static const char *check_annotation_key(const char *k)
{
	return k[0] && !strchr(k, '=') ? NULL : "a key must be non-empty without '='";
}

/*
 * guest-init's s: (session_proto.h) makes the key a path under /proc/sys,
 * '.' read as '/': [A-Za-z0-9_.-], not starting or ending in '.', no "..".
 */
static const char *check_sysctl_key(const char *k)
{
	size_t n = strlen(k);

	if (!n || k[strspn(k, ALNUM "_-.")] || k[0] == '.' || k[n - 1] == '.' || strstr(k, ".."))
		return "not a sysctl name (letters, digits, '_', '-' and single inner '.')";
	return NULL;
}

/* ---- process ---- */

static int take_umask(struct jw *w, const cJSON *v, void *base)
{
	uint32_t m = 0;
	int r = jw_u32(w, v, 0777, &m);

	((struct oci_spec *)base)->umask = r ? -1 : (int)m;
	return r;
}

/* ids: (uid_t)-1 means "unchanged" to setresuid(2), so it is no id */
static int take_groups(struct jw *w, const cJSON *v, void *base)
{
	struct oci_spec *s = base;
	const cJSON *e;

	if (!cJSON_IsArray(v))
		return jw_fail(w, "expected an array of numbers");
	if (cJSON_GetArraySize(v) > OCI_MAX_GROUPS)
		return jw_fail(w, "more than %d entries", OCI_MAX_GROUPS);
	s->groups = calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(*s->groups));
	if (!s->groups)
		return jw_nomem(w);
	cJSON_ArrayForEach(e, v) {
		size_t old = jw_push(w, "[%d]", s->ngroups);
		int r = jw_u32(w, e, UINT32_MAX - 1, &s->groups[s->ngroups]);

		jw_pop(w, old);
		if (r)
			return r;
		s->ngroups++;
	}
	return 0;
}

static const struct jw_field user_fields[] = {
	JW_U32("uid", struct oci_spec, uid, UINT32_MAX - 1),
	JW_U32("gid", struct oci_spec, gid, UINT32_MAX - 1),
	JW_FN("umask", take_umask, false),
	JW_FN("additionalGids", take_groups, false),
};

/* struct winsize has unsigned short rows and columns */
static const struct jw_field console_fields[] = {
	JW_U32("height", struct oci_spec, console_rows, 65535),
	JW_U32("width", struct oci_spec, console_cols, 65535),
};

/* One capability set: the names into the bits of (*mask). */
static int take_capset(struct jw *w, const cJSON *v, uint64_t *mask)
{
	const cJSON *e;
	int i = 0;

	if (!cJSON_IsArray(v))
		return jw_fail(w, "expected an array of strings");
	cJSON_ArrayForEach(e, v) {
		size_t old = jw_push(w, "[%d]", i++), bit = 0;
		int r = cJSON_IsString(e) ? 0 : jw_fail(w, "expected a string");

		while (!r && bit < ARRAY_SIZE(cap_names) && strcmp(e->valuestring, cap_names[bit]))
			bit++;
		if (!r && bit == ARRAY_SIZE(cap_names))
			r = jw_fail(w, "unknown capability \"%.64s\"", e->valuestring);
		jw_pop(w, old);
		if (r)
			return r;
		*mask |= 1ULL << bit;
	}
	return 0;
}

static int take_caps(struct jw *w, const cJSON *caps, void *base)
{
	static const char *const sets[] = { "bounding", "effective", "permitted", "inheritable",
					    "ambient" };
	struct oci_spec *s = base;
	uint64_t *masks[] = { &s->cap_bounding, &s->cap_effective, &s->cap_permitted,
			      &s->cap_inheritable, &s->cap_ambient };
	int r = cJSON_IsObject(caps) ? 0 : jw_fail(w, "expected an object");

	s->has_caps = true;
	for (size_t k = 0; !r && k < ARRAY_SIZE(sets); k++) {
		const cJSON *v;
		size_t old;

		if ((r = jw_member(w, caps, sets[k], &v)) || !v)
			continue;
		old = jw_push_key(w, sets[k]);
		r = take_capset(w, v, masks[k]);
		jw_pop(w, old);
	}
	/* what capset(2) and PR_CAP_AMBIENT_RAISE refuse, and guest-init's k: with them */
	if (!r && (s->cap_effective & ~s->cap_permitted))
		r = jw_fail(w, "effective capabilities not all permitted");
	else if (!r && (s->cap_inheritable & ~s->cap_bounding))
		r = jw_fail(w, "inheritable capabilities outside the bounding set");
	else if (!r && (s->cap_ambient & ~(s->cap_permitted & s->cap_inheritable)))
		r = jw_fail(w, "ambient capabilities not both permitted and inheritable");
	return r;
}

/* The required u64 (key) of rlimit (o), and its r: item text in (buf). */
static int rlimit_value(struct jw *w, const cJSON *o, const char *key, uint64_t *val,
			char buf[24])
{
	const cJSON *v;
	size_t old;
	int r = jw_member(w, o, key, &v);

	if (r || !v)
		return r ? r : jw_fail_at(w, key, "required");
	old = jw_push_key(w, key);
	r = jw_u64(w, v, val);
	jw_pop(w, old);
	if (*val == UINT64_MAX)
		snprintf(buf, 24, "unlimited");
	else
		snprintf(buf, 24, "%" PRIu64, *val);
	return r;
}

/* config.md "POSIX process": a type given twice MUST be an error */
static int take_rlimit(struct jw *w, struct oci_spec *s, const cJSON *o, unsigned *seen)
{
	const cJSON *tv;
	char soft[24], hard[24], item[64];
	uint64_t vs = 0, vh = 0;
	size_t t = 0;
	int r = cJSON_IsObject(o) ? jw_member(w, o, "type", &tv) : jw_fail(w, "expected an object");

	if (!r && !cJSON_IsString(tv))
		r = jw_fail_at(w, "type", tv ? "expected a string" : "required");
	while (!r && t < ARRAY_SIZE(rlimit_types) && strcmp(tv->valuestring, rlimit_types[t].type))
		t++;
	if (!r && t == ARRAY_SIZE(rlimit_types))
		r = jw_fail(w, "unknown rlimit type \"%.64s\"", tv->valuestring);
	else if (!r && (*seen & 1U << t))
		r = jw_fail(w, "%s given twice", rlimit_types[t].type);
	if (!r)
		r = rlimit_value(w, o, "soft", &vs, soft);
	if (!r)
		r = rlimit_value(w, o, "hard", &vh, hard);
	if (!r && vs > vh)
		r = jw_fail(w, "soft limit above the hard limit");
	if (r)
		return r;
	*seen |= 1U << t;
	if (!rlimit_types[t].item)
		return jw_note(w, "%s (%s)", w->path, rlimit_types[t].type);
	snprintf(item, sizeof(item), "%s:%s:%s", rlimit_types[t].item, soft, hard);
	s->rlimits[s->nrlimits] = strdup(item);
	if (!s->rlimits[s->nrlimits])
		return jw_nomem(w);
	s->nrlimits++;
	return 0;
}

static int take_rlimits(struct jw *w, const cJSON *v, void *base)
{
	struct oci_spec *s = base;
	const cJSON *e;
	unsigned seen = 0;
	int i = 0;

	if (!cJSON_IsArray(v))
		return jw_fail(w, "expected an array of objects");
	if (cJSON_GetArraySize(v) > OCI_MAX_RLIMITS)
		return jw_fail(w, "more than %d entries", OCI_MAX_RLIMITS);
	s->rlimits = calloc(OCI_MAX_RLIMITS + 1, sizeof(*s->rlimits));
	if (!s->rlimits)
		return jw_nomem(w);
	cJSON_ArrayForEach(e, v) {
		size_t old = jw_push(w, "[%d]", i++);
		int r = take_rlimit(w, s, e, &seen);

		jw_pop(w, old);
		if (r)
			return r;
	}
	return 0;
}

static int take_oom(struct jw *w, const cJSON *v, void *base)
{
	struct oci_spec *s = base;
	double d = 0;
	int r = jw_whole(w, v, -1000, 1000, "from -1000 to 1000", &d);

	s->oom_score_adj = r ? 0 : (int)d;
	s->has_oom_score_adj = !r;
	return r;
}

static const struct jw_field process_fields[] = {
	JW_BOOL("terminal", struct oci_spec, terminal),
	JW_OBJ("consoleSize", console_fields, false, false),
	JW_OBJ("user", user_fields, false, false),
	JW_STRV("args", struct oci_spec, args, nargs, OCI_MAX_ARGS, NULL, true),
	JW_STRV("env", struct oci_spec, env, nenv, OCI_MAX_ENV, check_env, false),
	JW_STR("cwd", struct oci_spec, cwd, check_abs, true),
	JW_FN("capabilities", take_caps, false),
	JW_FN("rlimits", take_rlimits, false),
	JW_BOOL("noNewPrivileges", struct oci_spec, no_new_privs),
	JW_FN("oomScoreAdj", take_oom, false),
	JW_NOTE("apparmorProfile"),
	JW_NOTE("selinuxLabel"),
	JW_NOTE("scheduler"),
	JW_NOTE("ioPriority"),
	JW_NOTE("execCPUAffinity"),
};

/* ---- mounts, hooks, annotations ---- */

static const struct jw_field mount_fields[] = {
	JW_STR("destination", struct oci_mount, dest, check_abs_clean, true),
	JW_STR("type", struct oci_mount, type, NULL, false),
	JW_STR("source", struct oci_mount, source, NULL, false),
	JW_STRV("options", struct oci_mount, options, nopts, OCI_MAX_MOUNT_OPTS, NULL, false),
	JW_REFUSE("uidMappings", "idmapped mounts are not supported in a VM"),
	JW_REFUSE("gidMappings", "idmapped mounts are not supported in a VM"),
};

static int take_mounts(struct jw *w, const cJSON *v, void *base)
{
	struct oci_spec *s = base;
	void *arr = NULL;
	int r = jw_objv(w, v, OCI_MAX_MOUNTS, sizeof(*s->mounts), mount_fields,
			ARRAY_SIZE(mount_fields), &arr, &s->nmounts);

	s->mounts = arr;
	return r;
}

/* config.md "POSIX-platform Hooks": a timeout MUST be greater than zero */
static int take_timeout(struct jw *w, const cJSON *v, void *base)
{
	double d = 0;
	int r = jw_whole(w, v, 1, INT_MAX, "from 1 to 2147483647", &d);

	((struct oci_hook *)base)->timeout = r ? 0 : (int)d;
	return r;
}

static const struct jw_field hook_fields[] = {
	JW_STR("path", struct oci_hook, path, check_abs, true),
	JW_STRV("args", struct oci_hook, args, nargs, OCI_MAX_ARGS, NULL, false),
	JW_STRV("env", struct oci_hook, env, nenv, OCI_MAX_ENV, check_env, false),
	JW_FN("timeout", take_timeout, false),
};

/* One kind of hook: the array (v) into s->hooks[k]. */
static int take_hook_kind(struct jw *w, const cJSON *v, struct oci_spec *s, int k)
{
	void *arr = NULL;
	int r = jw_objv(w, v, OCI_MAX_HOOKS, sizeof(*s->hooks[k]), hook_fields,
			ARRAY_SIZE(hook_fields), &arr, &s->nhooks[k]);

	s->hooks[k] = arr;
	return r;
}

static int take_hooks(struct jw *w, const cJSON *hooks, void *base)
{
	int r = cJSON_IsObject(hooks) ? 0 : jw_fail(w, "expected an object");

	for (int k = 0; !r && k < OCI_HOOK_KINDS; k++) {
		const cJSON *v;
		size_t old;

		if ((r = jw_member(w, hooks, hook_names[k], &v)) || !v)
			continue;
		old = jw_push_key(w, hook_names[k]);
		r = take_hook_kind(w, v, base, k);
		jw_pop(w, old);
	}
	return r;
}

static int take_annotations(struct jw *w, const cJSON *v, void *base)
{
	struct oci_spec *s = base;

	return jw_kv(w, v, OCI_MAX_ANNOTATIONS, check_annotation_key, &s->annotations,
		     &s->nannotations);
}

/* ---- linux ---- */

static int take_namespace(struct jw *w, struct oci_spec *s, const cJSON *o, unsigned *seen)
{
	const cJSON *tv, *pv = NULL;
	size_t t = 0;
	int r = cJSON_IsObject(o) ? jw_member(w, o, "type", &tv) : jw_fail(w, "expected an object");

	if (!r && !cJSON_IsString(tv))
		r = jw_fail_at(w, "type", tv ? "expected a string" : "required");
	if (!r && !(r = jw_member(w, o, "path", &pv)) && pv && !cJSON_IsString(pv))
		r = jw_fail_at(w, "path", "expected a string");
	if (!r && pv && check_abs(pv->valuestring))
		r = jw_fail_at(w, "path", check_abs(pv->valuestring));
	while (!r && t < ARRAY_SIZE(ns_names) && strcmp(tv->valuestring, ns_names[t]))
		t++;
	if (r)
		return r;
	/* config-linux.md: a duplicated type MUST be an error */
	if (t == ARRAY_SIZE(ns_names))
		return jw_fail(w, "unknown namespace type \"%.64s\"", tv->valuestring);
	if (*seen & 1U << t)
		return jw_fail(w, "namespace type \"%s\" given twice", ns_names[t]);
	if (t == NS_USER)
		return jw_fail(w, "user namespaces are not supported in a VM");
	*seen |= 1U << t;
	if (t != NS_NETWORK)
		return pv ? jw_note(w, "%s (%s namespace path)", w->path, ns_names[t]) : 0;
	s->new_netns = !pv;
	return pv ? jw_str(w, pv, &s->netns_path) : 0;
}

static int take_namespaces(struct jw *w, const cJSON *v, void *base)
{
	const cJSON *e;
	unsigned seen = 0;
	int r = 0, i = 0;

	if (!cJSON_IsArray(v))
		return jw_fail(w, "expected an array of objects");
	cJSON_ArrayForEach(e, v) {
		size_t old = jw_push(w, "[%d]", i++);

		r = take_namespace(w, base, e, &seen);
		jw_pop(w, old);
		if (r)
			return r;
	}
	/* the host's pid, ipc, uts or mount namespace cannot be shared with a VM */
	for (unsigned t = NS_PID; !r && t <= NS_UTS; t++)
		if (t != NS_NETWORK && !(seen & 1U << t))
			r = jw_note(w, "%s (no %s namespace: the VM has its own)", w->path,
				    ns_names[t]);
	return r;
}

static const struct jw_field memory_fields[] = {
	JW_LIMIT("limit", struct oci_spec, mem_limit),
};
static const struct jw_field cpu_fields[] = {
	JW_LIMIT("quota", struct oci_spec, cpu_quota),
	JW_U64("period", struct oci_spec, cpu_period),
};
/* (rest): every other resource is noted as ignored */
static const struct jw_field resource_fields[] = {
	JW_OBJ("memory", memory_fields, false, true),
	JW_OBJ("cpu", cpu_fields, false, true),
};

static int take_sysctl(struct jw *w, const cJSON *v, void *base)
{
	struct oci_spec *s = base;

	return jw_kv(w, v, OCI_MAX_SYSCTL, check_sysctl_key, &s->sysctl, &s->nsysctl);
}

static int refuse_rdt(struct jw *w, const cJSON *v, void *base)
{
	return jw_fail(w, "Intel RDT is not supported in a VM");
}

static const struct jw_field linux_fields[] = {
	JW_REFUSE("uidMappings", "user namespace mappings are not supported in a VM"),
	JW_REFUSE("gidMappings", "user namespace mappings are not supported in a VM"),
	JW_REFUSE("devices", "extra devices are not supported in a VM"),
	JW_REFUSE("netDevices", "moving host network devices into a VM is not supported"),
	JW_FN("intelRdt", refuse_rdt, false),
	JW_FN("namespaces", take_namespaces, false),
	JW_STR("cgroupsPath", struct oci_spec, cgroups_path, NULL, false),
	JW_OBJ("resources", resource_fields, false, true),
	JW_FN("sysctl", take_sysctl, false),
	JW_STRV("maskedPaths", struct oci_spec, masked, nmasked, OCI_MAX_PATHS, check_abs_clean,
		false),
	JW_STRV("readonlyPaths", struct oci_spec, readonly, nreadonly, OCI_MAX_PATHS,
		check_abs_clean, false),
	JW_NOTE("seccomp"),
	JW_NOTE("rootfsPropagation"),
	JW_NOTE("mountLabel"),
	JW_NOTE("personality"),
	JW_NOTE("timeOffsets"),
	JW_NOTE("memoryPolicy"),
};

/* ---- top level ---- */

static const struct jw_field root_fields[] = {
	JW_STR("path", struct oci_spec, root_path, check_nonempty, true),
	JW_BOOL("readonly", struct oci_spec, root_readonly),
};

static const struct jw_field top_fields[] = {
	JW_STR("ociVersion", struct oci_spec, oci_version, check_version, true),
	JW_OBJ("root", root_fields, true, false),
	JW_OBJ("process", process_fields, true, false),
	JW_STR("hostname", struct oci_spec, hostname, check_hostname, false),
	JW_NOTE("domainname"),
	JW_FN("mounts", take_mounts, false),
	JW_FN("hooks", take_hooks, false),
	JW_FN("annotations", take_annotations, false),
	JW_OBJ("linux", linux_fields, false, false),
};

int oci_spec_parse(const char *text, size_t len, struct oci_spec *out, char *err, size_t errlen)
{
	struct jw w = { .err = err, .errlen = errlen, .doc = "config.json",
			.max_str = OCI_MAX_STRING, .notes = &out->ignored,
			.nnotes = &out->nignored, .max_notes = OCI_MAX_IGNORED };
	const cJSON *lx;
	cJSON *top;
	int r;

	memset(out, 0, sizeof(*out));
	out->umask = -1;
	out->mem_limit = -1;
	out->cpu_quota = -1;
	if (errlen)
		err[0] = '\0';
	top = jw_parse(&w, text, len, OCI_MAX_FILE);
	r = top ? jw_fields(&w, top, top_fields, ARRAY_SIZE(top_fields), out, false) : -EINVAL;
	/* no linux object: every namespace would be the host's */
	if (!r && !(r = jw_member(&w, top, "linux", &lx)) && !lx)
		r = jw_note(&w, "linux (no namespaces: the VM has its own)");
	cJSON_Delete(top);
	/* "" is no hostname: guest-init's h: takes 1 to 64 bytes */
	if (!r && out->hostname && !out->hostname[0]) {
		free(out->hostname);
		out->hostname = NULL;
	}
	if (r) {
		oci_spec_free(out);
		jw_printable(err, errlen);
	}
	return r;
}

static void strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

void oci_spec_free(struct oci_spec *s)
{
	if (!s)
		return;
	free(s->oci_version);
	free(s->root_path);
	strv_free(s->args);
	strv_free(s->env);
	free(s->cwd);
	free(s->groups);
	strv_free(s->rlimits);
	free(s->hostname);
	for (int i = 0; s->mounts && i < s->nmounts; i++) {
		free(s->mounts[i].type);
		free(s->mounts[i].source);
		free(s->mounts[i].dest);
		strv_free(s->mounts[i].options);
	}
	free(s->mounts);
	strv_free(s->masked);
	strv_free(s->readonly);
	strv_free(s->sysctl);
	free(s->netns_path);
	free(s->cgroups_path);
	for (int k = 0; k < OCI_HOOK_KINDS; k++) {
		for (int i = 0; s->hooks[k] && i < s->nhooks[k]; i++) {
			free(s->hooks[k][i].path);
			strv_free(s->hooks[k][i].args);
			strv_free(s->hooks[k][i].env);
		}
		free(s->hooks[k]);
	}
	strv_free(s->annotations);
	strv_free(s->ignored);
	memset(s, 0, sizeof(*s));
}

const char *oci_spec_annotation(const struct oci_spec *s, const char *key)
{
	size_t n = strlen(key);

	for (int i = 0; i < s->nannotations; i++)
		if (!strncmp(s->annotations[i], key, n) && s->annotations[i][n] == '=')
			return s->annotations[i] + n + 1;
	return NULL;
}
